//! Python methods that playbooks call on values, which minijinja does not have: on strings
//! `startswith`, `endswith`, `split`, `strip`, `replace`, `join`, `format`, ...; on dicts
//! `get`, `items`, `keys`, `values`; on lists `index` and `count`.

use super::filters::{check_added, fail, text};
use minijinja::value::ValueKind;
use minijinja::{Error, ErrorKind, State, Value};

/// The environment's unknown-method callback.
pub fn call(
    _state: &mut State,
    value: &Value,
    method: &str,
    args: &[Value],
) -> Result<Value, Error> {
    if args.iter().any(Value::is_kwargs) {
        return Err(fail(format!(
            "keyword arguments to .{method}() are not supported"
        )));
    }
    match value.kind() {
        ValueKind::String => string_method(value.as_str().unwrap_or(""), method, args),
        ValueKind::Map => map_method(value, method, args),
        ValueKind::Seq => seq_method(value, method, args),
        _ => Err(unknown(value, method)),
    }
}

fn unknown(value: &Value, method: &str) -> Error {
    Error::new(
        ErrorKind::UnknownMethod,
        format!(
            "object of type '{}' has no attribute '{method}'",
            super::filters::python_type(value)
        ),
    )
}

fn arg(args: &[Value], i: usize) -> Option<&Value> {
    args.get(i).filter(|v| !v.is_none())
}

fn str_arg(args: &[Value], i: usize, method: &str) -> Result<String, Error> {
    match arg(args, i) {
        Some(v) if v.kind() == ValueKind::String => Ok(text(v)),
        Some(v) => Err(fail(format!(
            ".{method}() expects a string, got {}",
            super::filters::python_type(v)
        ))),
        None => Err(fail(format!(".{method}() is missing an argument"))),
    }
}

fn limit(args: &[Value], i: usize) -> Option<usize> {
    arg(args, i)
        .and_then(Value::as_i64)
        .and_then(|n| usize::try_from(n).ok())
}

fn strings(v: Vec<&str>) -> Value {
    Value::from(v.into_iter().map(Value::from).collect::<Vec<_>>())
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let affix = |args: &[Value]| -> Result<Vec<String>, Error> {
        match arg(args, 0) {
            Some(v) if v.kind() == ValueKind::Seq => Ok(v.try_iter()?.map(|x| text(&x)).collect()),
            _ => Ok(vec![str_arg(args, 0, method)?]),
        }
    };
    Ok(match method {
        "startswith" => Value::from(affix(args)?.iter().any(|p| s.starts_with(p.as_str()))),
        "endswith" => Value::from(affix(args)?.iter().any(|p| s.ends_with(p.as_str()))),
        "split" | "rsplit" => {
            let max = limit(args, 1);
            let parts: Vec<&str> = match (arg(args, 0), max, method) {
                (None, None, _) => s.split_whitespace().collect(),
                (None, Some(n), "split") => split_ws_n(s, n),
                (None, Some(_), _) => s.split_whitespace().collect(),
                (Some(_), None, _) => {
                    let sep = str_arg(args, 0, method)?;
                    if sep.is_empty() {
                        return Err(fail("empty separator"));
                    }
                    return Ok(strings(s.split(sep.as_str()).collect()));
                }
                (Some(_), Some(n), "split") => {
                    return Ok(strings(
                        s.splitn(n + 1, str_arg(args, 0, method)?.as_str())
                            .collect(),
                    ));
                }
                (Some(_), Some(n), _) => {
                    let sep = str_arg(args, 0, method)?;
                    let mut parts: Vec<&str> = s.rsplitn(n + 1, sep.as_str()).collect();
                    parts.reverse();
                    return Ok(strings(parts));
                }
            };
            strings(parts)
        }
        "strip" | "lstrip" | "rstrip" => {
            let chars: Option<Vec<char>> = arg(args, 0).map(|c| text(c).chars().collect());
            let pred = |c: char| {
                chars
                    .as_ref()
                    .map_or(c.is_whitespace(), |set| set.contains(&c))
            };
            Value::from(match method {
                "strip" => s.trim_matches(pred),
                "lstrip" => s.trim_start_matches(pred),
                _ => s.trim_end_matches(pred),
            })
        }
        "lower" => Value::from(s.to_lowercase()),
        "upper" => Value::from(s.to_uppercase()),
        "replace" => {
            let (old, new) = (str_arg(args, 0, method)?, str_arg(args, 1, method)?);
            match limit(args, 2) {
                Some(n) => Value::from(s.replacen(old.as_str(), &new, n)),
                None => Value::from(s.replace(old.as_str(), &new)),
            }
        }
        "find" => Value::from(
            s.find(str_arg(args, 0, method)?.as_str())
                .map_or(-1, |i| s[..i].chars().count() as i64),
        ),
        "index" => match s.find(str_arg(args, 0, method)?.as_str()) {
            Some(i) => Value::from(s[..i].chars().count()),
            None => return Err(fail("substring not found")),
        },
        "count" => Value::from(s.matches(str_arg(args, 0, method)?.as_str()).count()),
        "join" => {
            let items: Vec<String> = arg(args, 0).map_or(Ok(Vec::new()), |v| {
                v.try_iter().map(|it| it.map(|x| text(&x)).collect())
            })?;
            Value::from(items.join(s))
        }
        "splitlines" => strings(s.lines().collect()),
        "isdigit" => Value::from(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
        "isalpha" => Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isalnum" => Value::from(!s.is_empty() && s.chars().all(char::is_alphanumeric)),
        "isspace" => Value::from(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "islower" => {
            Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "isupper" => {
            Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        "zfill" => {
            let width = limit(args, 0).unwrap_or(0);
            let pad = width.saturating_sub(s.chars().count());
            check_added(Some(pad), || format!(".zfill() width {width}"))?;
            let (sign, digits) = match s.strip_prefix(['-', '+']) {
                Some(rest) => (&s[..1], rest),
                None => ("", s),
            };
            Value::from(format!("{sign}{}{digits}", "0".repeat(pad)))
        }
        "format" => Value::from(format(s, args)?),
        _ => return Err(unknown(&Value::from(s), method)),
    })
}

/// Python's `str.split(None, n)`: at most `n` splits on whitespace runs.
fn split_ws_n(s: &str, n: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if parts.len() == n {
            parts.push(rest);
            break;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        parts.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    parts
}

/// `'{} and {0}'.format(...)` with positional fields only.
fn format(s: &str, args: &[Value]) -> Result<String, Error> {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let field: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let (field, spec) = field.split_once(':').unwrap_or((&field, ""));
                let (field, conversion) = field.split_once('!').unwrap_or((field, ""));
                let index = if field.is_empty() {
                    next += 1;
                    next - 1
                } else {
                    field
                        .parse()
                        .map_err(|_| fail(format!("format field {{{field}}} is not supported")))?
                };
                let v = args
                    .get(index)
                    .ok_or_else(|| fail("format: not enough arguments"))?;
                let v = match conversion {
                    "r" | "a" => Value::from(repr(v)),
                    _ => v.clone(),
                };
                out.push_str(&format_spec(&v, spec)?);
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// Python's `repr` of a value (strings quoted).
fn repr(v: &Value) -> String {
    let list = text(&Value::from(vec![v.clone()]));
    list[1..list.len() - 1].to_string()
}

/// Python's format mini-language (`[[fill]align][sign][0][width][,][.precision][type]`) for
/// strings, ints and floats.
fn format_spec(v: &Value, spec: &str) -> Result<String, Error> {
    if spec.is_empty() {
        return Ok(text(v));
    }
    let bad = || fail(format!("invalid format specifier {spec:?} for {v}"));
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let (mut fill, mut align) = (' ', None);
    if chars.len() > 1 && "<>^=".contains(chars[1]) {
        (fill, align) = (chars[0], Some(chars[1]));
        i = 2;
    } else if !chars.is_empty() && "<>^=".contains(chars[0]) {
        align = Some(chars[0]);
        i = 1;
    }
    let mut sign = '-';
    if i < chars.len() && "+- ".contains(chars[i]) {
        sign = chars[i];
        i += 1;
    }
    if i < chars.len() && chars[i] == '0' {
        if align.is_none() {
            (fill, align) = ('0', Some('='));
        }
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < chars.len() && chars[*i].is_ascii_digit() {
            *i += 1;
        }
        chars[start..*i]
            .iter()
            .collect::<String>()
            .parse::<usize>()
            .ok()
    };
    let width = digits(&mut i).unwrap_or(0);
    let grouping = i < chars.len() && chars[i] == ',';
    if grouping {
        i += 1;
    }
    let precision = if i < chars.len() && chars[i] == '.' {
        i += 1;
        Some(digits(&mut i).ok_or_else(bad)?)
    } else {
        None
    };
    let kind = chars[i..].iter().collect::<String>();
    let number = v.kind() == minijinja::value::ValueKind::Number;
    let float = f64::try_from(v.clone()).ok();
    let (negative, body) = match kind.as_str() {
        "" | "s" if !number => {
            let s = text(v);
            (
                false,
                match precision {
                    Some(p) => s.chars().take(p).collect(),
                    None => s,
                },
            )
        }
        "" | "d" | "n" if v.is_integer() => {
            let n = v.as_i64().ok_or_else(bad)?;
            let digits = n.unsigned_abs().to_string();
            (n < 0, if grouping { group(&digits) } else { digits })
        }
        "x" | "X" | "o" | "b" if v.is_integer() => {
            let n = v.as_i64().ok_or_else(bad)?;
            let m = n.unsigned_abs();
            let body = match kind.as_str() {
                "x" => format!("{m:x}"),
                "X" => format!("{m:X}"),
                "o" => format!("{m:o}"),
                _ => format!("{m:b}"),
            };
            (n < 0, body)
        }
        "" | "f" | "F" | "e" | "E" | "%" | "g" if number => {
            let f = float.ok_or_else(bad)?;
            let p = precision.unwrap_or(6);
            // Rust's float formatting panics past this precision (Python pads with zeros).
            if p > u16::MAX as usize {
                return Err(fail(format!(
                    "format precision {p} is too large (at most {})",
                    u16::MAX
                )));
            }
            let body = match kind.as_str() {
                "" if precision.is_none() => crate::vars::python_float_repr(f.abs()),
                "f" | "F" => format!("{:.p$}", f.abs()),
                "%" => format!("{:.p$}%", f.abs() * 100.0),
                "e" | "E" => {
                    let s = format!("{:.p$e}", f.abs());
                    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
                    let e: i32 = e.parse().unwrap_or(0);
                    let s = format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
                    if kind == "E" { s.to_uppercase() } else { s }
                }
                _ => format!("{}", f.abs()),
            };
            let body = if grouping {
                match body.split_once('.') {
                    Some((int, frac)) => format!("{}.{frac}", group(int)),
                    None => group(&body),
                }
            } else {
                body
            };
            (f.is_sign_negative() && f != 0.0, body)
        }
        _ => return Err(bad()),
    };
    let sign = match (negative, sign) {
        (true, _) => "-",
        (false, '+') => "+",
        (false, ' ') => " ",
        _ => "",
    };
    let len = sign.chars().count() + body.chars().count();
    let pad = width.saturating_sub(len);
    check_added(pad.checked_mul(fill.len_utf8()), || {
        format!("format width {width}")
    })?;
    let fill_n = |n: usize| fill.to_string().repeat(n);
    let align = align.unwrap_or(if number { '>' } else { '<' });
    Ok(match align {
        '<' => format!("{sign}{body}{}", fill_n(pad)),
        '^' => format!("{}{sign}{body}{}", fill_n(pad / 2), fill_n(pad - pad / 2)),
        '=' => format!("{sign}{}{body}", fill_n(pad)),
        _ => format!("{}{sign}{body}", fill_n(pad)),
    })
}

/// Digits in groups of three, comma separated.
fn group(digits: &str) -> String {
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn map_method(map: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    let keys = || -> Result<Vec<Value>, Error> { Ok(map.try_iter()?.collect()) };
    Ok(match method {
        "get" => {
            let key = args
                .first()
                .ok_or_else(|| fail(".get() is missing the key"))?;
            match map.get_item(key)? {
                v if v.is_undefined() => args.get(1).cloned().unwrap_or(Value::from(())),
                v => v,
            }
        }
        "keys" => Value::from(keys()?),
        "values" => Value::from(
            keys()?
                .iter()
                .map(|k| map.get_item(k))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        "items" => Value::from(
            keys()?
                .into_iter()
                .map(|k| map.get_item(&k).map(|v| Value::from(vec![k, v])))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        "copy" => map.clone(),
        _ => return Err(unknown(map, method)),
    })
}

fn seq_method(seq: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    let needle = args
        .first()
        .ok_or_else(|| fail(format!(".{method}() is missing an argument")))?;
    let mut items = seq.try_iter()?;
    Ok(match method {
        "index" => match items.position(|x| &x == needle) {
            Some(i) => Value::from(i),
            None => return Err(fail(format!("{needle} is not in list"))),
        },
        "count" => Value::from(items.filter(|x| x == needle).count()),
        _ => return Err(unknown(seq, method)),
    })
}
