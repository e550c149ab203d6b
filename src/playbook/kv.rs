//! Ansible's `key=value` argument strings (`copy: src=a dest=b`, `command: ls chdir=/tmp`):
//! split on spaces outside quotes and Jinja blocks, as Ansible's `split_args`/`parse_kv`.

use crate::vars::Vars;
use serde_json::Value;

/// Splits an argument string into words, keeping quotes and `{{ }}` blocks inside a word.
pub fn split_args(text: &str) -> Vec<String> {
    split_spans(text)
        .into_iter()
        .map(|(a, b)| text[a..b].to_string())
        .collect()
}

/// The byte ranges of the words of an argument string.
fn split_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        let mut step = 1;
        if let Some(q) = quote {
            if c == '\\' && next.is_some() {
                step = 2;
            } else if c == q {
                quote = None;
            }
        } else if c == '{' && matches!(next, Some('{' | '%' | '#')) && depth < 64 {
            depth += 1;
            step = 2;
        } else if depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}') {
            depth -= 1;
            step = 2;
        } else if depth == 0 && (c == '"' || c == '\'') {
            quote = Some(c);
        } else if depth == 0 && c.is_whitespace() {
            if let Some(s) = start.take() {
                spans.push((s, pos));
            }
            i += 1;
            continue;
        }
        if start.is_none() {
            start = Some(pos);
        }
        i += step;
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

fn unquote(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        s[1..s.len() - 1].to_string()
    } else {
        s.to_string()
    }
}

/// The `key=value` pairs of an argument string. With `free_form`, words that are not
/// pairs (and pairs whose key is not in `free_form_keys`) make up `_raw_params`.
pub fn parse_kv(text: &str, free_form: bool, free_form_keys: &[&str]) -> Vars {
    let mut out = Vars::new();
    // The text between the words is kept, so a multi-line shell script keeps its lines.
    let mut raw = String::new();
    let mut prev_end: Option<usize> = None;
    for (a, b) in split_spans(text) {
        let gap = prev_end.map_or("", |e| &text[e..a]);
        prev_end = Some(b);
        let word = &text[a..b];
        let pair = word.split_once('=').filter(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match pair {
            Some((k, v)) if !free_form || free_form_keys.contains(&k) => {
                out.insert(k.to_string(), Value::String(unquote(v)));
            }
            _ => {
                if !raw.is_empty() {
                    raw.push_str(gap);
                }
                raw.push_str(word);
            }
        }
    }
    if !raw.is_empty() {
        // Not pairs (or a free-form command): kept as text.
        out.insert("_raw_params".into(), Value::String(raw));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pairs_and_free_form() {
        assert_eq!(
            Value::Object(parse_kv("src=a dest='b c' mode=0644", false, &[])),
            json!({"src": "a", "dest": "b c", "mode": "0644"})
        );
        assert_eq!(
            Value::Object(parse_kv(
                "echo {{ x | default('a b') }} chdir=/tmp x=1",
                true,
                &["chdir"]
            )),
            json!({"chdir": "/tmp", "_raw_params": "echo {{ x | default('a b') }} x=1"})
        );
        assert_eq!(split_args("a 'b c' \"d e\""), vec!["a", "'b c'", "\"d e\""]);
        assert_eq!(
            Value::Object(parse_kv("a=1\nx\n  y z\n", true, &["a"])),
            json!({"a": "1", "_raw_params": "x\n  y z"})
        );
    }
}
