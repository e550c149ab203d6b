//! Ansible's filters on scalars: type conversions with Ansible's rules (`bool`, `int`,
//! `float`), Python-flavoured regular expressions, paths, encodings, hashes and shell quoting.
//! minijinja's builtins cover the Jinja2 filters (`lower`, `join`, `map`, `default`, ...);
//! list and dict filters are in [`super::collections`], serialisations in [`super::formats`].

use super::collections;
use super::formats;
use super::rewrite::CHAIN_FILTER;
use data_encoding::BASE64;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State, Value};
use sha1::Digest;

/// Adds the filters of this module and of `collections` and `formats` to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_filter(CHAIN_FILTER, chain);
    env.add_filter("bool", to_bool);
    env.add_filter("int", to_int);
    env.add_filter("float", to_float);
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", |s: String| regex::escape(&s));
    env.add_filter("basename", |s: String| split_path(&s).1.to_string());
    env.add_filter("dirname", |s: String| split_path(&s).0.to_string());
    env.add_filter("expanduser", expanduser);
    env.add_filter("splitext", splitext);
    env.add_filter("path_join", path_join);
    env.add_filter("quote", |s: Value| shlex_quote(&text(&s)));
    env.add_filter("ternary", ternary);
    env.add_filter("mandatory", mandatory);
    env.add_filter("hash", hash);
    env.add_filter("checksum", |s: Value| hex_digest::<sha1::Sha1>(&text(&s)));
    env.add_filter("sha1", |s: Value| hex_digest::<sha1::Sha1>(&text(&s)));
    env.add_filter("md5", |s: Value| hex_digest::<md5::Md5>(&text(&s)));
    env.add_filter("b64encode", |s: Value| BASE64.encode(text(&s).as_bytes()));
    env.add_filter("b64decode", b64decode);
    env.add_filter("type_debug", |v: Value| python_type(&v));
    collections::register(env);
    super::jinja::register(env);
    super::urls::register(env);
    formats::register(env);
}

pub(crate) fn fail(msg: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorKind::InvalidOperation, msg)
}

/// The most text a filter may add from a size the template gives (a width, an indent).
/// Python goes on until MemoryError, which Ansible reports as a task failure; an allocation
/// that fails in Rust aborts the whole process instead.
pub(crate) const MAX_ADDED_TEXT: usize = 64 << 20;

/// Fails unless `added` bytes (`None` when the size overflowed) fit in [`MAX_ADDED_TEXT`];
/// `what` names the argument in the message.
pub(crate) fn check_added(
    added: Option<usize>,
    what: impl FnOnce() -> String,
) -> Result<(), Error> {
    match added {
        Some(n) if n <= MAX_ADDED_TEXT => Ok(()),
        _ => Err(fail(format!(
            "{} is too large: it would add more than 64 MiB of text",
            what()
        ))),
    }
}

/// A value as Python's `str()` shows it (strings without quotes).
pub(crate) fn text(v: &Value) -> String {
    match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    }
}

/// Python's name for a value's type.
pub(crate) fn python_type(v: &Value) -> &'static str {
    match v.kind() {
        ValueKind::Undefined => "AnsibleUndefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if v.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq | ValueKind::Iterable => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// Walks `value` through `keys`, yielding undefined at the first step that is missing.
fn chain(value: &Value, keys: Rest<Value>) -> Value {
    let mut cur = value.clone();
    for key in keys.iter() {
        if cur.is_undefined() || cur.is_none() {
            return Value::UNDEFINED;
        }
        cur = match cur.get_item(key) {
            Ok(v) => v,
            Err(_) => return Value::UNDEFINED,
        };
    }
    cur
}

/// Ansible's `bool`: `yes`, `on`, `1`, `true` (any case) and 1 are true, all else false.
fn to_bool(v: &Value) -> Result<bool, Error> {
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(match v.kind() {
        ValueKind::Bool => v.is_true(),
        ValueKind::Number => v.as_i64() == Some(1) || f64::try_from(v.clone()).ok() == Some(1.0),
        ValueKind::String => {
            matches!(
                v.as_str().map(|s| s.to_lowercase()).as_deref(),
                Some("yes" | "on" | "1" | "true")
            )
        }
        _ => false,
    })
}

/// Jinja's `int(default=0, base=10)`: numbers truncate, unparsable input gives the default.
fn to_int(v: &Value, default: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let default = match default {
        Some(d) => d,
        None => kwargs
            .get::<Option<Value>>("default")?
            .unwrap_or(Value::from(0)),
    };
    let base: u32 = kwargs.get::<Option<u32>>("base")?.unwrap_or(10);
    kwargs.assert_all_used()?;
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(v.is_true() as i64),
        ValueKind::Number if v.is_integer() => v.clone(),
        ValueKind::Number => {
            f64::try_from(v.clone()).map_or(default, |f| Value::from(f.trunc() as i64))
        }
        ValueKind::String => {
            let s = v.as_str().unwrap_or("").trim().replace('_', "");
            let digits = match base {
                16 => s.trim_start_matches("0x").trim_start_matches("0X"),
                8 => s.trim_start_matches("0o").trim_start_matches("0O"),
                2 => s.trim_start_matches("0b").trim_start_matches("0B"),
                _ => &s,
            };
            if let Ok(i) = i64::from_str_radix(digits, base) {
                Value::from(i)
            } else if let (10, Ok(f)) = (base, s.parse::<f64>()) {
                Value::from(f.trunc() as i64)
            } else {
                default
            }
        }
        _ => default,
    })
}

/// Jinja's `float(default=0.0)`.
fn to_float(v: &Value, default: Option<Value>) -> Result<Value, Error> {
    let default = default.unwrap_or(Value::from(0.0));
    if v.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    Ok(match v.kind() {
        ValueKind::Bool => Value::from(if v.is_true() { 1.0 } else { 0.0 }),
        ValueKind::Number => f64::try_from(v.clone()).map_or(default, Value::from),
        ValueKind::String => v
            .as_str()
            .unwrap_or("")
            .trim()
            .parse::<f64>()
            .map_or(default, Value::from),
        _ => default,
    })
}

/// Compiles a Python regular expression with Ansible's `ignorecase`/`multiline` flags.
fn compile(pattern: &str, kwargs: &Kwargs) -> Result<regex::Regex, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    regex::RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(format!("invalid regular expression {pattern:?}: {e}")))
}

/// Python's replacement syntax (`\1`, `\g<1>`, `\g<name>`) in Rust's (`${1}`, `${name}`).
fn replacement(py: &str) -> String {
    let mut out = String::with_capacity(py.len());
    let mut chars = py.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '$' => out.push_str("$$"),
            '\\' => match chars.peek().copied() {
                Some(d) if d.is_ascii_digit() => {
                    let mut num = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        num.push(d);
                        chars.next();
                    }
                    out.push_str(&format!("${{{num}}}"));
                }
                Some('g') => {
                    chars.next();
                    if chars.peek() == Some(&'<') {
                        chars.next();
                        let name: String = chars.by_ref().take_while(|&c| c != '>').collect();
                        out.push_str(&format!("${{{name}}}"));
                    } else {
                        out.push_str("\\g");
                    }
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                Some('t') => {
                    chars.next();
                    out.push('\t');
                }
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                _ => out.push('\\'),
            },
            c => out.push(c),
        }
    }
    out
}

fn regex_replace(
    v: Value,
    pattern: String,
    repl: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let re = compile(&pattern, &kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let repl = replacement(&repl.unwrap_or_default());
    Ok(re.replacen(&text(&v), count, repl.as_str()).into_owned())
}

fn regex_search(
    v: Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let re = compile(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let subject = text(&v);
    let Some(caps) = re.captures(&subject) else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(caps.get(0).map_or("", |m| m.as_str())));
    }
    let mut out = Vec::new();
    for g in groups.iter() {
        let m = if let Some(n) = g.strip_prefix('\\').and_then(|n| n.parse::<usize>().ok()) {
            caps.get(n)
        } else if let Some(name) = g.strip_prefix("\\g<").and_then(|n| n.strip_suffix('>')) {
            caps.name(name)
        } else {
            return Err(fail(format!("unknown regex_search group argument {g:?}")));
        };
        out.push(m.map_or(Value::from(()), |m| Value::from(m.as_str())));
    }
    Ok(Value::from(out))
}

fn regex_findall(v: Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let re = compile(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let subject = text(&v);
    let groups = re.captures_len() - 1;
    let found: Vec<Value> = re
        .captures_iter(&subject)
        .map(|caps| {
            let group = |i: usize| caps.get(i).map_or("", |m| m.as_str());
            match groups {
                0 => Value::from(group(0)),
                1 => Value::from(group(1)),
                n => Value::from((1..=n).map(|i| Value::from(group(i))).collect::<Vec<_>>()),
            }
        })
        .collect();
    Ok(Value::from(found))
}

/// `(dirname, basename)` as Python's `os.path` splits them.
fn split_path(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(i) => {
            let dir = &p[..i + 1];
            let trimmed = dir.trim_end_matches('/');
            (
                if trimmed.is_empty() {
                    &dir[..1]
                } else {
                    trimmed
                },
                &p[i + 1..],
            )
        }
        None => ("", p),
    }
}

fn expanduser(p: String) -> String {
    let home = std::env::var("HOME").unwrap_or_default();
    if p == "~" {
        home
    } else if let Some(rest) = p.strip_prefix("~/") {
        format!("{}/{rest}", home.trim_end_matches('/'))
    } else {
        p
    }
}

fn splitext(p: String) -> Value {
    let (_, base) = split_path(&p);
    let stem_len = base.trim_start_matches('.').len();
    let dot = base[base.len() - stem_len..]
        .rfind('.')
        .map(|i| i + base.len() - stem_len);
    match dot {
        Some(i) => {
            let at = p.len() - base.len() + i;
            Value::from(vec![Value::from(&p[..at]), Value::from(&p[at..])])
        }
        None => Value::from(vec![Value::from(p.as_str()), Value::from("")]),
    }
}

fn path_join(parts: Value) -> Result<String, Error> {
    let mut out = String::new();
    for part in parts.try_iter()? {
        let part = text(&part);
        if part.starts_with('/') {
            out = part;
        } else if out.is_empty() || out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// Python's `shlex.quote`, which Ansible's `quote` uses.
fn shlex_quote(s: &str) -> String {
    let safe = |c: char| c.is_alphanumeric() || "@%+=:,./-_".contains(c);
    if s.is_empty() {
        "''".to_string()
    } else if s.chars().all(safe) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

fn ternary(v: &Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(n) if v.is_none() => n,
        _ if v.is_true() => yes,
        _ => no,
    }
}

fn mandatory(state: &State, v: &Value, msg: Option<String>) -> Result<Value, Error> {
    if v.is_undefined() {
        let _ = state;
        return Err(Error::new(
            ErrorKind::UndefinedError,
            msg.unwrap_or_else(|| "Mandatory variable not defined.".to_string()),
        ));
    }
    Ok(v.clone())
}

fn hex_digest<D: Digest>(s: &str) -> String {
    data_encoding::HEXLOWER.encode(&D::digest(s.as_bytes()))
}

fn hash(v: Value, algorithm: Option<String>) -> Result<String, Error> {
    let s = text(&v);
    Ok(match algorithm.as_deref().unwrap_or("sha1") {
        "sha1" => hex_digest::<sha1::Sha1>(&s),
        "md5" => hex_digest::<md5::Md5>(&s),
        "sha224" => hex_digest::<sha2::Sha224>(&s),
        "sha256" => hex_digest::<sha2::Sha256>(&s),
        "sha384" => hex_digest::<sha2::Sha384>(&s),
        "sha512" => hex_digest::<sha2::Sha512>(&s),
        other => return Err(fail(format!("unsupported hash algorithm {other:?}"))),
    })
}

fn b64decode(v: Value) -> Result<String, Error> {
    let s = text(&v);
    let bytes = BASE64
        .decode(s.trim().as_bytes())
        .map_err(|e| fail(format!("b64decode: invalid base64: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
