//! Python's `ast.literal_eval` ([`literal_eval`]), which types Ansible's INI values.

use serde_json::{Map, Value};

/// How deep brackets may nest: CPython's tokenizer refuses a 201st level ("too many nested
/// parentheses"), and Ansible then keeps the text.
const MAX_NESTING: usize = 200;

/// Types an INI value as Ansible does: `ast.literal_eval` when the text is a Python
/// literal (numbers, quoted strings, True/False/None, lists, tuples, dicts, sets), the
/// text itself otherwise.
pub fn literal_eval(text: &str) -> Value {
    let mut p = Lit {
        s: text.as_bytes(),
        src: text,
        i: 0,
        depth: 0,
    };
    match p.expr_top() {
        Some(v) => v,
        None => Value::String(text.to_string()),
    }
}

struct Lit<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    /// Brackets open around the current position.
    depth: usize,
}

impl Lit<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips spaces, tabs, line continuations and a trailing comment.
    fn ws(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\x0c' => self.i += 1,
                b'#' => self.i = self.s.len(),
                _ => break,
            }
        }
    }

    fn expr_top(&mut self) -> Option<Value> {
        self.ws();
        let first = self.expr()?;
        self.ws();
        let v = if self.peek() == Some(b',') {
            // A bare tuple: `1, 2`.
            let mut items = vec![first];
            while self.peek() == Some(b',') {
                self.i += 1;
                self.ws();
                if self.peek().is_none() {
                    break;
                }
                items.push(self.expr()?);
                self.ws();
            }
            Value::Array(items)
        } else {
            first
        };
        self.ws();
        if self.i == self.s.len() {
            Some(v)
        } else {
            None
        }
    }

    fn expr(&mut self) -> Option<Value> {
        self.ws();
        let c = self.peek()?;
        let v = match c {
            b'[' => self.nested(|p| p.seq(b']'))?,
            b'(' => self.nested(|p| p.seq(b')'))?,
            b'{' => self.nested(Self::brace)?,
            b'\'' | b'"' => self.strings()?,
            b'+' | b'-' => {
                self.i += 1;
                self.ws();
                // A sign applies to a number only: `--1` and `-(-1)` are malformed.
                let operand = self.s[self.i..]
                    .iter()
                    .find(|c| !matches!(c, b'(' | b' ' | b'\t' | b'\x0c'));
                if matches!(operand, Some(b'+' | b'-')) {
                    return None;
                }
                let v = self.expr()?;
                let neg = c == b'-';
                match v {
                    Value::Number(n) if !neg => Value::Number(n),
                    Value::Number(n) => match n.as_i64() {
                        Some(i) => Value::from(-i),
                        None => Value::from(-n.as_f64()?),
                    },
                    _ => return None,
                }
            }
            b'0'..=b'9' | b'.' => {
                let v = self.number()?;
                self.maybe_complex(v)
            }
            c if c.is_ascii_alphabetic() || c == b'_' => self.name()?,
            _ => return None,
        };
        Some(v)
    }

    /// Parses a bracketed literal one level deeper, or fails past [`MAX_NESTING`].
    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> Option<Value>) -> Option<Value> {
        if self.depth == MAX_NESTING {
            return None;
        }
        self.depth += 1;
        let v = parse(self);
        self.depth -= 1;
        v
    }

    /// `1+2j`: Ansible keeps complex numbers as their Python `str()`, `(1+2j)`.
    fn maybe_complex(&mut self, real: Value) -> Value {
        let save = self.i;
        self.ws();
        let Some(op @ (b'+' | b'-')) = self.peek() else {
            self.i = save;
            return real;
        };
        self.i += 1;
        self.ws();
        let imag = match self.peek() {
            Some(b'0'..=b'9' | b'.') => self.number(),
            _ => None,
        };
        match (real.as_f64(), imag) {
            (Some(re), Some(Value::String(im))) if im.ends_with(['j', 'J']) => {
                let im: f64 = im[..im.len() - 1].replace('_', "").parse().unwrap_or(0.0);
                let fmt = |x: f64| {
                    let r = crate::vars::python_float_repr(x);
                    r.strip_suffix(".0").map(str::to_string).unwrap_or(r)
                };
                Value::String(format!("({}{}{}j)", fmt(re), op as char, fmt(im)))
            }
            _ => {
                self.i = save;
                real
            }
        }
    }

    fn seq(&mut self, close: u8) -> Option<Value> {
        let open = self.i;
        self.i += 1;
        let mut items = Vec::new();
        let mut saw_comma = false;
        loop {
            self.ws();
            if self.peek()? == close {
                self.i += 1;
                break;
            }
            items.push(self.expr()?);
            self.ws();
            match self.peek()? {
                b',' => {
                    saw_comma = true;
                    self.i += 1;
                }
                c if c == close => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        // `(x)` is just x; `(x,)` and `()` are tuples.
        if close == b')' && items.len() == 1 && !saw_comma && self.s[open] == b'(' {
            return items.pop();
        }
        Some(Value::Array(items))
    }

    fn brace(&mut self) -> Option<Value> {
        self.i += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr()?;
        self.ws();
        if self.peek()? == b':' {
            let mut map = Map::new();
            let mut key = first;
            loop {
                self.ws();
                if self.peek()? != b':' {
                    return None;
                }
                self.i += 1;
                let value = self.expr()?;
                map.insert(crate::vars::key_string(&key), value);
                self.ws();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.ws();
                        if self.peek()? == b'}' {
                            self.i += 1;
                            return Some(Value::Object(map));
                        }
                        key = self.expr()?;
                    }
                    b'}' => {
                        self.i += 1;
                        return Some(Value::Object(map));
                    }
                    _ => return None,
                }
            }
        }
        // A set literal: Ansible turns it into a list.
        let mut items = vec![first];
        loop {
            self.ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    self.ws();
                    if self.peek()? == b'}' {
                        self.i += 1;
                        break;
                    }
                    items.push(self.expr()?);
                }
                b'}' => {
                    self.i += 1;
                    break;
                }
                _ => return None,
            }
        }
        let mut unique: Vec<Value> = Vec::new();
        for item in items {
            if !unique.contains(&item) {
                unique.push(item);
            }
        }
        // Small ints iterate in value order in a Python set; other orders depend on hashing.
        if unique.iter().all(Value::is_i64) {
            unique.sort_by_key(|v| v.as_i64());
        }
        Some(Value::Array(unique))
    }

    fn name(&mut self) -> Option<Value> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_') {
            self.i += 1;
        }
        let word = &self.src[start..self.i];
        match word {
            "True" => Some(Value::Bool(true)),
            "False" => Some(Value::Bool(false)),
            "None" => Some(Value::Null),
            _ => {
                // String prefixes: r, b, u, rb, br (f-strings are not literals).
                let lower = word.to_ascii_lowercase();
                if matches!(lower.as_str(), "r" | "b" | "u" | "rb" | "br")
                    && matches!(self.peek(), Some(b'\'' | b'"'))
                {
                    self.strings_with_prefix(lower.contains('r'))
                } else {
                    None
                }
            }
        }
    }

    /// One or more adjacent string literals (Python concatenates them).
    fn strings(&mut self) -> Option<Value> {
        self.strings_with_prefix(false)
    }

    fn strings_with_prefix(&mut self, raw: bool) -> Option<Value> {
        let mut out = self.string(raw)?;
        loop {
            let save = self.i;
            self.ws();
            match self.peek() {
                Some(b'\'' | b'"') => out.push_str(&self.string(false)?),
                Some(c) if c.is_ascii_alphabetic() => {
                    let start = self.i;
                    while matches!(self.peek(), Some(c) if c.is_ascii_alphabetic()) {
                        self.i += 1;
                    }
                    let prefix = self.src[start..self.i].to_ascii_lowercase();
                    if matches!(prefix.as_str(), "r" | "b" | "u" | "rb" | "br")
                        && matches!(self.peek(), Some(b'\'' | b'"'))
                    {
                        out.push_str(&self.string(prefix.contains('r'))?);
                    } else {
                        self.i = save;
                        break;
                    }
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        Some(Value::String(out))
    }

    fn string(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        let triple = self.s[self.i..].starts_with(&[q, q, q]);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let rest = &self.src[self.i..];
            let c = rest.chars().next()?;
            if triple && rest.as_bytes().starts_with(&[q, q, q]) {
                self.i += 3;
                return Some(out);
            }
            if !triple && c as u32 == q as u32 {
                self.i += 1;
                return Some(out);
            }
            if !triple && c == '\n' {
                return None;
            }
            self.i += c.len_utf8();
            if c != '\\' {
                out.push(c);
                continue;
            }
            let e = self.src[self.i..].chars().next()?;
            if raw {
                out.push('\\');
                out.push(e);
                self.i += e.len_utf8();
                continue;
            }
            self.i += e.len_utf8();
            match e {
                '\n' => {}
                '\\' => out.push('\\'),
                '\'' => out.push('\''),
                '"' => out.push('"'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\u{b}'),
                '0'..='7' => {
                    let mut n = e.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek() {
                            Some(d @ b'0'..=b'7') => {
                                n = n * 8 + (d - b'0') as u32;
                                self.i += 1;
                            }
                            _ => break,
                        }
                    }
                    out.push(char::from_u32(n)?);
                }
                'x' | 'u' | 'U' => {
                    let len = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let hex = self.src.get(self.i..self.i + len)?;
                    let n = u32::from_str_radix(hex, 16).ok()?;
                    self.i += len;
                    out.push(char::from_u32(n)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while matches!(self.peek(), Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'.')
            || (matches!(self.peek(), Some(b'+' | b'-'))
                && matches!(self.s.get(self.i.wrapping_sub(1)), Some(b'e' | b'E'))
                && !self.src[start..self.i].starts_with("0x")
                && !self.src[start..self.i].starts_with("0X"))
        {
            self.i += 1;
        }
        let text = &self.src[start..self.i];
        if text.ends_with(['j', 'J']) {
            // A complex literal: Ansible keeps its text.
            return Some(Value::String(text.to_string()));
        }
        if text.contains("__") || text.ends_with('_') || text.starts_with('_') {
            return None;
        }
        let clean: String = text.chars().filter(|c| *c != '_').collect();
        let lower = clean.to_ascii_lowercase();
        let int = |digits: &str, radix: u32| {
            i64::from_str_radix(digits, radix)
                .ok()
                .map(Value::from)
                .or_else(|| u64::from_str_radix(digits, radix).ok().map(Value::from))
                .or_else(|| {
                    u128::from_str_radix(digits, radix)
                        .ok()
                        .map(|v| Value::from(v as f64))
                })
        };
        if let Some(d) = lower.strip_prefix("0x") {
            return int(d, 16);
        }
        if let Some(d) = lower.strip_prefix("0o") {
            return int(d, 8);
        }
        if let Some(d) = lower.strip_prefix("0b") {
            return int(d, 2);
        }
        if lower.bytes().all(|c| c.is_ascii_digit()) {
            // Python 3 rejects leading zeros in decimal integers, but allows "00".
            if lower.len() > 1 && lower.starts_with('0') && lower.bytes().any(|c| c != b'0') {
                return None;
            }
            return int(&lower, 10);
        }
        let valid_float = {
            let (mant, exp) = match lower.split_once('e') {
                Some((m, e)) => (m, Some(e)),
                None => (lower.as_str(), None),
            };
            let mant_ok = !mant.is_empty()
                && mant != "."
                && mant.bytes().all(|c| c.is_ascii_digit() || c == b'.')
                && mant.matches('.').count() <= 1;
            let exp_ok = exp.is_none_or(|e| {
                let e = e.strip_prefix(['+', '-']).unwrap_or(e);
                !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit())
            });
            mant_ok && exp_ok
        };
        if !valid_float {
            return None;
        }
        lower.parse::<f64>().ok().map(Value::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_eval_like_python() {
        assert_eq!(literal_eval("5"), json!(5));
        assert_eq!(literal_eval("-5"), json!(-5));
        assert_eq!(literal_eval("1_000"), json!(1000));
        assert_eq!(literal_eval("0x1F"), json!(31));
        assert_eq!(literal_eval("1.5"), json!(1.5));
        assert_eq!(literal_eval("1e3"), json!(1000.0));
        assert_eq!(literal_eval("True"), json!(true));
        assert_eq!(literal_eval("true"), json!("true"));
        assert_eq!(literal_eval("yes"), json!("yes"));
        assert_eq!(literal_eval("None"), json!(null));
        assert_eq!(literal_eval("'a b'"), json!("a b"));
        assert_eq!(literal_eval("\"x\\ty\""), json!("x\ty"));
        assert_eq!(literal_eval("[1, 'a', [2]]"), json!([1, "a", [2]]));
        assert_eq!(literal_eval("(1, 2)"), json!([1, 2]));
        assert_eq!(literal_eval("1, 2"), json!([1, 2]));
        assert_eq!(literal_eval("{'a': 1, 2: 'b'}"), json!({"a": 1, "2": "b"}));
        assert_eq!(literal_eval("0755"), json!("0755"));
        assert_eq!(literal_eval("5 # five"), json!(5));
        assert_eq!(literal_eval("hello # x"), json!("hello # x"));
        assert_eq!(literal_eval("1.2.3"), json!("1.2.3"));
        assert_eq!(literal_eval("192.168.0.1"), json!("192.168.0.1"));
        assert_eq!(literal_eval("'a' 'b'"), json!("ab"));
        assert_eq!(literal_eval("[1,"), json!("[1,"));
        assert_eq!(literal_eval(""), json!(""));
        assert_eq!(literal_eval("(5)"), json!(5));
        assert_eq!(literal_eval("1+2j"), json!("(1+2j)"));
        assert_eq!(literal_eval("{3, 1, 2}"), json!([1, 2, 3]));
    }

    /// Nesting as deep as Python allows parses; deeper nesting, or a sign on a sign, keeps
    /// the text (`ast.literal_eval` raises and Ansible's INI plugin keeps the string), and
    /// neither recurses without bound.
    #[test]
    fn deep_nesting_and_repeated_signs_keep_the_text() {
        let nested = |n: usize, open: &str, close: &str| open.repeat(n) + "0" + &close.repeat(n);
        let mut want = json!(0);
        for _ in 0..MAX_NESTING {
            want = json!([want]);
        }
        assert_eq!(literal_eval(&nested(MAX_NESTING, "[", "]")), want);
        assert_eq!(literal_eval(&nested(MAX_NESTING, "(", ",)")), want);
        assert!(literal_eval(&nested(MAX_NESTING, "{1: ", "}")).is_object());
        for text in [
            nested(MAX_NESTING + 1, "[", "]"),
            nested(MAX_NESTING + 1, "{1: ", "}"),
            nested(MAX_NESTING + 1, "(", ",)"),
            "[".repeat(300_000),
            "-".repeat(300_000) + "1",
            "-(".repeat(300_000),
        ] {
            assert_eq!(literal_eval(&text), Value::String(text.clone()));
        }
        assert_eq!(literal_eval("--1"), json!("--1"));
        assert_eq!(literal_eval("+-1"), json!("+-1"));
        assert_eq!(literal_eval("-(-1)"), json!("-(-1)"));
        assert_eq!(literal_eval("-(1)"), json!(-1));
        assert_eq!(literal_eval("[-1, +2]"), json!([-1, 2]));
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = literal_eval(&s);
        }
    }
}
