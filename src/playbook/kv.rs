//! Ansible's `key=value` argument strings (`copy: src=a dest=b`, `command: ls chdir=/tmp`):
//! split on spaces outside quotes and Jinja blocks, as Ansible's `split_args`/`parse_kv`.

use crate::vars::Vars;
use serde_json::Value;

/// Splits an argument string into words, keeping quotes and `{{ }}` blocks inside a word.
pub fn split_args(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0usize;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if let Some(q) = quote {
            cur.push(c);
            if c == '\\' && next.is_some() {
                cur.push(chars[i + 1]);
                i += 2;
                continue;
            }
            if c == q {
                quote = None;
            }
        } else if (c == '{' && matches!(next, Some('{' | '%' | '#'))) && depth < 64 {
            depth += 1;
            cur.push(c);
            cur.push(chars[i + 1]);
            i += 2;
            continue;
        } else if depth > 0 && matches!(c, '}' | '%' | '#') && next == Some('}') {
            depth -= 1;
            cur.push(c);
            cur.push('}');
            i += 2;
            continue;
        } else if depth == 0 && (c == '"' || c == '\'') {
            quote = Some(c);
            cur.push(c);
        } else if depth == 0 && c.is_whitespace() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
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
    let mut raw: Vec<String> = Vec::new();
    for word in split_args(text) {
        let pair = word.split_once('=').filter(|(k, _)| {
            !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        match pair {
            Some((k, v)) if !free_form || free_form_keys.contains(&k) => {
                out.insert(k.to_string(), Value::String(unquote(v)));
            }
            _ => raw.push(word),
        }
    }
    if free_form {
        if !raw.is_empty() {
            out.insert("_raw_params".into(), Value::String(raw.join(" ")));
        }
    } else if !raw.is_empty() {
        // Not pairs: keep the text so validation can name it.
        out.insert("_raw_params".into(), Value::String(raw.join(" ")));
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
    }
}
