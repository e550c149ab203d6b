//! Source rewrites applied before minijinja compiles a template: Ansible's backslash escaping
//! of string literals inside `{{ }}`, and undefined-tolerant attribute chains in front of
//! `is defined`, `is undefined` and `| default`, which minijinja's strict mode rejects.

/// The filter that walks an attribute chain, yielding undefined at the first missing step.
pub const CHAIN_FILTER: &str = "__horde_chain";

/// A `{{ }}`, `{% %}` or `{# #}` block found in template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// Byte range of the whole block, delimiters included.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockKind {
    Expr,
    Stmt,
    Comment,
    Raw,
}

/// True if the text has Jinja syntax at all (the fast path skips everything else).
pub fn has_jinja(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// Splits template text into blocks (text between them is literal).
pub fn blocks(src: &str) -> Vec<Block> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i + 1 < b.len() {
        if b[i] != b'{' || !matches!(b[i + 1], b'{' | b'%' | b'#') {
            i += 1;
            continue;
        }
        let start = i;
        let end = match b[i + 1] {
            b'#' => find(src, i + 2, "#}").map_or(b.len(), |e| e + 2),
            b'%' if is_raw_start(&src[i + 2..]) => raw_end(src, i + 2),
            _ => code_end(src, i + 2, if b[i + 1] == b'{' { "}}" } else { "%}" }),
        };
        let kind = match b[i + 1] {
            b'#' => BlockKind::Comment,
            b'%' if is_raw_start(&src[i + 2..]) => BlockKind::Raw,
            b'%' => BlockKind::Stmt,
            _ => BlockKind::Expr,
        };
        out.push(Block { kind, start, end });
        i = end.max(i + 2);
    }
    out
}

fn find(src: &str, from: usize, pat: &str) -> Option<usize> {
    src.get(from..)?.find(pat).map(|p| p + from)
}

fn is_raw_start(rest: &str) -> bool {
    let rest = rest.trim_start_matches(['-', '+']).trim_start();
    rest.starts_with("raw")
        && rest[3..]
            .trim_start()
            .trim_start_matches(['-', '+'])
            .starts_with("%}")
}

fn raw_end(src: &str, from: usize) -> usize {
    let mut at = from;
    while let Some(p) = find(src, at, "{%") {
        let rest = src[p + 2..].trim_start_matches(['-', '+']).trim_start();
        if rest.starts_with("endraw") {
            return find(src, p, "%}").map_or(src.len(), |e| e + 2);
        }
        at = p + 2;
    }
    src.len()
}

/// The end of a code block: the first `close` outside strings and brackets. Steps over
/// bytes, so it compares bytes too: `i` may sit inside a multi-byte character.
fn code_end(src: &str, from: usize, close: &str) -> usize {
    let b = src.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => i = skip_string(b, i, q),
            b'(' | b'[' | b'{' => {
                depth += 1;
                i += 1;
            }
            b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'}' if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            _ if depth == 0 && b[i..].starts_with(close.as_bytes()) => return i + close.len(),
            _ => i += 1,
        }
    }
    b.len()
}

/// Index just past the string literal starting at `i` (quote `q`).
fn skip_string(b: &[u8], mut i: usize, q: u8) -> usize {
    i += 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == q => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// Rewrites template text: `escape` doubles backslashes in `{{ }}` string literals (Ansible
/// does this for templates read from YAML, not for template files or conditionals).
pub fn template(src: &str, escape: bool) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut at = 0;
    for block in blocks(src) {
        out.push_str(&src[at..block.start]);
        let text = &src[block.start..block.end];
        match block.kind {
            BlockKind::Expr => out.push_str(&code(text, escape)),
            BlockKind::Stmt => out.push_str(&code(text, false)),
            BlockKind::Comment | BlockKind::Raw => out.push_str(text),
        }
        at = block.end;
    }
    out.push_str(&src[at..]);
    out
}

/// Rewrites a bare expression (a condition, or the inside of a lone `{{ }}`).
pub fn expression(src: &str, escape: bool) -> String {
    code(src, escape)
}

/// The names a template may read as variables: identifiers in its code that are not
/// attributes, filters or tests (a superset; names that are not variables are harmless).
pub fn names(src: &str, whole_is_code: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |code: &str| {
        let toks = tokenize(code);
        for (i, &(kind, start, end)) in toks.iter().enumerate() {
            let name = &code[start..end];
            let after = i.checked_sub(1).map_or("", |j| &code[toks[j].1..toks[j].2]);
            if kind == Tok::Ident
                && !matches!(after, "." | "|" | "is")
                && !out.iter().any(|n| n == name)
            {
                out.push(name.to_string());
            }
        }
    };
    if whole_is_code {
        add(src);
    } else {
        for block in blocks(src) {
            if matches!(block.kind, BlockKind::Expr | BlockKind::Stmt) {
                add(&src[block.start..block.end]);
            }
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Str,
    Num,
    Punct,
}

fn tokenize(src: &str) -> Vec<(Tok, usize, usize)> {
    let b = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        let kind = if c.is_ascii_whitespace() {
            i += 1;
            continue;
        } else if c == b'\'' || c == b'"' {
            i = skip_string(b, i, c);
            Tok::Str
        } else if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
            Tok::Ident
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            Tok::Num
        } else {
            i += 1;
            Tok::Punct
        };
        toks.push((kind, start, i.min(b.len())));
    }
    toks
}

const KEYWORDS: &[&str] = &[
    "not",
    "and",
    "or",
    "is",
    "in",
    "if",
    "else",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "for",
    "recursive",
    "set",
    "endset",
    "with",
    "as",
    "import",
    "from",
];

fn code(src: &str, escape: bool) -> String {
    let toks = tokenize(src);
    let text = |i: usize| toks.get(i).map_or("", |t| &src[t.1..t.2]);
    let mut out = String::with_capacity(src.len() + 16);
    let mut at = 0;
    let mut i = 0;
    while i < toks.len() {
        let (kind, start, end) = toks[i];
        if kind == Tok::Str && escape && src[start..end].contains('\\') {
            out.push_str(&src[at..start]);
            out.push_str(&src[start..end].replace('\\', "\\\\"));
            at = end;
        } else if kind == Tok::Ident
            && !KEYWORDS.contains(&text(i))
            && !(i > 0 && matches!(text(i - 1), "." | "|" | "is"))
            && let Some((keys, next)) = chain(src, &toks, i)
            && tolerant_use(&toks, src, next)
        {
            out.push_str(&src[at..start]);
            out.push_str(&format!(
                "({}|{CHAIN_FILTER}({}))",
                text(i),
                keys.join(", ")
            ));
            at = toks[next - 1].2;
            i = next;
            continue;
        }
        i += 1;
    }
    out.push_str(&src[at..]);
    out
}

/// Parses `name(.attr | [key])+` from token `i`: the keys as expressions and the next token.
fn chain(src: &str, toks: &[(Tok, usize, usize)], i: usize) -> Option<(Vec<String>, usize)> {
    let text = |j: usize| toks.get(j).map_or("", |t| &src[t.1..t.2]);
    let mut keys = Vec::new();
    let mut j = i + 1;
    loop {
        match text(j) {
            "." if matches!(toks.get(j + 1), Some((Tok::Ident, ..))) => {
                keys.push(format!("'{}'", text(j + 1)));
                j += 2;
            }
            "." if matches!(toks.get(j + 1), Some((Tok::Num, ..))) => {
                keys.push(text(j + 1).to_string());
                j += 2;
            }
            "[" => {
                let mut depth = 0usize;
                let mut k = j;
                loop {
                    match text(k) {
                        "" => return None,
                        "[" | "(" | "{" => depth += 1,
                        "]" | ")" | "}" => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        ":" if depth == 1 => return None,
                        _ => {}
                    }
                    k += 1;
                }
                if k == j + 1 {
                    return None;
                }
                keys.push(src[toks[j + 1].1..toks[k - 1].2].to_string());
                j = k + 1;
            }
            _ => break,
        }
    }
    (!keys.is_empty()).then_some((keys, j))
}

/// True if the token at `next` makes an undefined chain legal: `is [not] defined|undefined`,
/// `| default`, `| d`.
fn tolerant_use(toks: &[(Tok, usize, usize)], src: &str, next: usize) -> bool {
    let text = |j: usize| toks.get(j).map_or("", |t| &src[t.1..t.2]);
    match text(next) {
        "is" => {
            let t = if text(next + 1) == "not" {
                next + 2
            } else {
                next + 1
            };
            matches!(text(t), "defined" | "undefined")
        }
        "|" => matches!(text(next + 1), "default" | "d"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chains_before_defined_and_default_are_rewritten() {
        assert_eq!(
            code(" x.y is defined ", false),
            " (x|__horde_chain('y')) is defined "
        );
        assert_eq!(
            code("a.b['c'][0] | default(1)", false),
            "(a|__horde_chain('b', 'c', 0)) | default(1)"
        );
        assert_eq!(
            code("x.y is not undefined", false),
            "(x|__horde_chain('y')) is not undefined"
        );
        // Only in front of a tolerant use, and never a filter or method name.
        assert_eq!(code("x.y == 1", false), "x.y == 1");
        assert_eq!(code("v | b.c is defined", false), "v | b.c is defined");
        assert_eq!(code("x[1:2] is defined", false), "x[1:2] is defined");
    }

    #[test]
    fn backslashes_are_doubled_only_in_expression_strings() {
        assert_eq!(
            template(r"{{ '\d' }} \n {% set a = '\d' %}", true),
            r"{{ '\\d' }} \n {% set a = '\d' %}"
        );
        assert_eq!(template(r"{{ '\d' }}", false), r"{{ '\d' }}");
    }

    #[test]
    fn non_ascii_text_is_split_at_char_boundaries() {
        let src = "é {{ ‘hi’ }} ü {% if café %}ß{% endif %} {{ 'ü}}' }} {{ x }ü";
        let got: Vec<_> = blocks(src)
            .iter()
            .map(|b| (b.kind, &src[b.start..b.end]))
            .collect();
        assert_eq!(
            got,
            vec![
                (BlockKind::Expr, "{{ ‘hi’ }}"),
                (BlockKind::Stmt, "{% if café %}"),
                (BlockKind::Stmt, "{% endif %}"),
                (BlockKind::Expr, "{{ 'ü}}' }}"),
                (BlockKind::Expr, "{{ x }ü"),
            ]
        );
        assert_eq!(template(src, true), src);
        assert_eq!(names(src, false), ["‘hi’", "if", "café", "endif", "x", "ü"]);
        assert_eq!(
            code("é.ü is defined", false),
            "(é|__horde_chain('ü')) is defined"
        );
    }

    /// Every string of up to five characters from an alphabet of delimiters, quotes,
    /// backslashes and multi-byte characters: no rewrite panics, blocks end on character
    /// boundaries, and text without backslashes or attribute chains comes back unchanged.
    #[test]
    fn every_short_string_of_tricky_characters_is_handled() {
        const ALPHABET: [char; 10] = ['{', '}', '%', '#', '\'', '"', '\\', 'é', '‘', ' '];
        let mut src = String::new();
        let mut digits = Vec::new();
        loop {
            src.clear();
            src.extend(digits.iter().map(|&d: &usize| ALPHABET[d]));
            for b in blocks(&src) {
                assert!(
                    src.is_char_boundary(b.start) && src.is_char_boundary(b.end),
                    "{src:?}"
                );
            }
            let rewritten = template(&src, true);
            if !src.contains('\\') {
                assert_eq!(rewritten, src);
            }
            assert_eq!(template(&src, false), src);
            let _ = expression(&src, true);
            let _ = names(&src, false);
            let _ = names(&src, true);
            // The next string: count in base ALPHABET.len(), growing one digit at a time.
            let mut i = 0;
            loop {
                if i == digits.len() {
                    digits.push(0);
                    break;
                }
                digits[i] += 1;
                if digits[i] < ALPHABET.len() {
                    break;
                }
                digits[i] = 0;
                i += 1;
            }
            if digits.len() > 5 {
                break;
            }
        }
    }

    #[test]
    fn blocks_respect_strings_brackets_and_raw() {
        let src = "a {{ {'k': {'j': '}}'}} }} b {% raw %}{{ x }}{% endraw %}{# c #}";
        let kinds: Vec<_> = blocks(src)
            .iter()
            .map(|b| (b.kind, &src[b.start..b.end]))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (BlockKind::Expr, "{{ {'k': {'j': '}}'}} }}"),
                (BlockKind::Raw, "{% raw %}{{ x }}{% endraw %}"),
                (BlockKind::Comment, "{# c #}"),
            ]
        );
    }
}
