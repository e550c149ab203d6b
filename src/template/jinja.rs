//! Jinja2's built-in filters that minijinja lacks (`center`, `wordcount`, `truncate`,
//! `filesizeformat`, `striptags`) or writes differently from Jinja2 (`indent` keeps a
//! trailing newline, `pprint` is Python's `repr`, `dictsort`, `items` and `zip` give lists
//! where Python has tuples, which Ansible shows as lists), registered over minijinja's.
//! `format` is minijinja's, behind a check of its widths and precisions.

use super::filters::{check_added, fail, text};
use minijinja::value::{Kwargs, Rest, ValueOrKwargs};
use minijinja::{Environment, Error, State, Value};
use regex::Regex;
use std::sync::LazyLock;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("center", |s: Value, width: Option<usize>| {
        center(&text(&s), width.unwrap_or(80))
    });
    env.add_filter("format", printf);
    env.add_filter("wordcount", |s: Value| WORD.find_iter(&text(&s)).count());
    env.add_filter("truncate", truncate);
    env.add_filter("indent", indent);
    env.add_filter("filesizeformat", filesizeformat);
    env.add_filter("striptags", |s: Value| striptags(&text(&s)));
    env.add_filter("pprint", |v: Value| text(&v));
    // Ansible shows Python tuples as lists: `dictsort` gives `[['a', 1]]`, not `[('a', 1)]`.
    env.add_filter("dictsort", |v: &Value, kwargs: Kwargs| {
        pairs_as_lists(minijinja::filters::dictsort(v, kwargs)?)
    });
    env.add_filter("items", |v: &Value| {
        pairs_as_lists(minijinja::filters::items(v)?)
    });
    env.add_filter("zip", |state: &State, v: Value, others: Rest<Value>| {
        pairs_as_lists(minijinja::filters::zip(state, v, others)?)
    });
}

/// A sequence of tuples as a list of lists.
fn pairs_as_lists(v: Value) -> Result<Value, Error> {
    v.try_iter()?
        .map(|t| Ok(Value::from(t.try_iter()?.collect::<Vec<_>>())))
        .collect::<Result<Vec<_>, Error>>()
        .map(Value::from)
}

static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\w+").expect("static regex"));

/// Python's `str.center`: the odd space goes left when the width is odd.
fn center(s: &str, width: usize) -> Result<String, Error> {
    let len = s.chars().count();
    if width <= len {
        return Ok(s.to_string());
    }
    let marg = width - len;
    check_added(Some(marg), || format!("center width {width}"))?;
    let left = marg / 2 + (marg & width & 1);
    Ok(format!(
        "{}{s}{}",
        " ".repeat(left),
        " ".repeat(marg - left)
    ))
}

/// minijinja's printf-style `format`, after checking that no field's width or precision
/// would pad the text past [`super::filters::MAX_ADDED_TEXT`] (minijinja pads without a
/// limit).
fn printf(state: &mut State, format: &Value, args: Rest<ValueOrKwargs>) -> Result<Value, Error> {
    if let Some(spec) = format.as_str() {
        let b = spec.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] != b'%' {
                i += 1;
                continue;
            }
            i += 1;
            if b.get(i) == Some(&b'(') {
                while i < b.len() && b[i] != b')' {
                    i += 1;
                }
                i += 1;
            }
            while matches!(b.get(i), Some(b'#' | b'0' | b'-' | b' ' | b'+')) {
                i += 1;
            }
            for part in ["width", "precision"] {
                let start = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i > start {
                    let n = &spec[start..i];
                    check_added(n.parse().ok(), || format!("format {part} {n}"))?;
                }
                if part == "width" && b.get(i) == Some(&b'.') {
                    i += 1;
                } else {
                    break;
                }
            }
            // The conversion type, or the second `%` of `%%`.
            i += 1;
        }
    }
    minijinja::filters::format(state, format, args)
}

/// `truncate(length=255, killwords=False, end='...', leeway=5)`.
fn truncate(
    s: Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = match length {
        Some(l) => l,
        None => kwargs.get::<Option<usize>>("length")?.unwrap_or(255),
    };
    let killwords = match killwords {
        Some(k) => k,
        None => kwargs.get::<Option<bool>>("killwords")?.unwrap_or(false),
    };
    let end = match end {
        Some(e) => e,
        None => kwargs
            .get::<Option<String>>("end")?
            .unwrap_or_else(|| "...".into()),
    };
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let s = text(&s);
    let end_len = end.chars().count();
    if length < end_len {
        return Err(fail(format!("expected length >= {end_len}, got {length}")));
    }
    if s.chars().count() <= length + leeway {
        return Ok(s);
    }
    let head: String = s.chars().take(length - end_len).collect();
    if killwords {
        return Ok(head + &end);
    }
    let head = head.rsplit_once(' ').map_or(head.as_str(), |(h, _)| h);
    Ok(format!("{head}{end}"))
}

/// Jinja2's `indent(width=4, first=False, blank=False)`: a trailing newline is kept.
fn indent(
    s: Value,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = match width {
        Some(w) => Some(w),
        None => kwargs.get::<Option<Value>>("width")?,
    };
    let first = match first {
        Some(f) => f,
        None => kwargs.get::<Option<bool>>("first")?.unwrap_or(false),
    };
    let blank = match blank {
        Some(b) => b,
        None => kwargs.get::<Option<bool>>("blank")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let s = text(&s) + "\n";
    let lines = splitlines(&s);
    let prefix_len = match &width {
        None => 4,
        Some(w) if w.as_str().is_some() => text(w).len(),
        Some(w) => {
            usize::try_from(w.clone()).map_err(|_| fail(format!("indent: bad width {w}")))?
        }
    };
    check_added(prefix_len.checked_mul(lines.len()), || {
        format!("indent width {}", width.as_ref().map_or("4".into(), text))
    })?;
    let prefix = match &width {
        Some(w) if w.as_str().is_some() => text(w),
        _ => " ".repeat(prefix_len),
    };
    let mut out = String::new();
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push('\n');
            if blank || !line.is_empty() {
                out.push_str(&prefix);
            }
        }
        out.push_str(line);
    }
    if first {
        out.insert_str(0, &prefix);
    }
    Ok(out)
}

/// Python's `str.splitlines()` for the common line ends.
fn splitlines(s: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                lines.push(&rest[..i]);
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                lines.push(rest);
                rest = "";
            }
        }
    }
    lines
}

/// `filesizeformat(binary=False)`: `1 Byte`, `12 Bytes`, `1.5 kB`, `1.0 KiB`.
fn filesizeformat(v: Value, binary: Option<bool>, kwargs: Kwargs) -> Result<String, Error> {
    let binary = match binary {
        Some(b) => b,
        None => kwargs.get::<Option<bool>>("binary")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let bytes = match v.as_str() {
        Some(s) => s
            .trim()
            .parse::<f64>()
            .map_err(|_| fail(format!("could not convert string to float: '{s}'")))?,
        None => f64::try_from(v.clone())
            .map_err(|_| fail(format!("filesizeformat: not a number: {v}")))?,
    };
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes = if binary {
        ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
    } else {
        ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
    };
    if bytes == 1.0 {
        return Ok("1 Byte".into());
    }
    if bytes < base {
        return Ok(format!("{} Bytes", bytes.trunc() as i64));
    }
    let mut unit = base;
    for (i, prefix) in prefixes.iter().enumerate() {
        unit = base.powi(i as i32 + 2);
        if bytes < unit || i + 1 == prefixes.len() {
            return Ok(format!("{:.1} {prefix}", base * bytes / unit));
        }
    }
    Ok(format!("{:.1} YB", base * bytes / unit))
}

/// MarkupSafe's `striptags`: comments and tags removed, whitespace collapsed, entities
/// unescaped.
fn striptags(s: &str) -> String {
    let mut value = s.to_string();
    for (open, close) in [("<!--", "-->"), ("<", ">")] {
        while let Some(start) = value.find(open) {
            let Some(end) = value[start..].find(close) else {
                break;
            };
            value.replace_range(start..start + end + close.len(), "");
        }
    }
    let collapsed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    unescape(&collapsed)
}

/// Python's `html.unescape` for the named entities templates meet and numeric references.
fn unescape(s: &str) -> String {
    static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);").expect("static regex")
    });
    ENTITY
        .replace_all(s, |c: &regex::Captures| {
            let name = &c[1];
            let code = if let Some(hex) = name.strip_prefix("#x").or(name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse().ok()
            } else {
                match name {
                    "amp" => Some(0x26),
                    "lt" => Some(0x3c),
                    "gt" => Some(0x3e),
                    "quot" => Some(0x22),
                    "apos" => Some(0x27),
                    "nbsp" => Some(0xa0),
                    _ => None,
                }
            };
            code.and_then(char::from_u32)
                .map_or_else(|| c[0].to_string(), |ch| ch.to_string())
        })
        .into_owned()
}
