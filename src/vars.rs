//! Variables as Ansible keeps them: [`Vars`] is an ordered map of JSON values, combined with
//! Ansible's default `hash_behaviour=replace` (a later key replaces the whole value).

use serde_json::{Map, Value};

/// An ordered set of variables.
pub type Vars = Map<String, Value>;

/// Adds `over` on top of `base`: each key of `over` replaces the one in `base`.
pub fn combine(base: &mut Vars, over: &Vars) {
    for (k, v) in over {
        base.insert(k.clone(), v.clone());
    }
}

/// A mapping key as Ansible's JSON shows a non-string key (Python's `json.dumps` of an int,
/// float, bool or None key): `1`, `1.5`, `true`, `null`.
pub fn key_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => python_float_repr(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

/// Formats a float as Python's `repr` does (`1.0`, `1e+16`, `1.5e-05`, `inf`).
pub fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits; Python switches to exponent
    // notation below 1e-4 and from 1e16 on.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let plain = format!("{f}");
        if plain.contains('.') {
            plain
        } else {
            format!("{plain}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Python's name for the type of a JSON value (`str`, `int`, `dict` ...), for messages.
pub fn python_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// The options of Python's `json.dumps` that Ansible's output and filters use.
#[derive(Debug, Clone, Copy)]
pub struct PyJson {
    /// `indent=N` (newlines and N spaces a level, `,` between items); `None`: one line
    /// with `, ` and `: ` separators.
    pub indent: Option<usize>,
    pub sort_keys: bool,
    /// Escape every character beyond ASCII as `\uXXXX`.
    pub ensure_ascii: bool,
}

/// Writes a value as Ansible's `json.dumps(v, sort_keys=True, indent=4, ensure_ascii=False)`
/// does, byte for byte: sorted keys, four-space indent, control characters escaped.
pub fn python_json(value: &Value) -> String {
    python_json_with(
        value,
        PyJson {
            indent: Some(4),
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

/// Writes a value on one line as Python's `json.dumps(v, sort_keys=True)` does (`, ` and
/// `: ` separators), as Ansible prints failed results.
pub fn python_json_line(value: &Value) -> String {
    python_json_with(
        value,
        PyJson {
            indent: None,
            sort_keys: true,
            ensure_ascii: false,
        },
    )
}

/// Writes a value as Python's `json.dumps` does with these options.
pub fn python_json_with(value: &Value, opts: PyJson) -> String {
    let mut out = String::new();
    write_json(&mut out, value, opts, 0);
    out
}

fn write_json(out: &mut String, value: &Value, opts: PyJson, depth: usize) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = opts.indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * depth));
        }
    };
    let sep = if opts.indent.is_some() { "," } else { ", " };
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (_, Some(u)) => out.push_str(&u.to_string()),
            _ => {
                let f = n.as_f64().unwrap_or(f64::NAN);
                out.push_str(&match python_float_repr(f).as_str() {
                    "inf" => "Infinity".to_string(),
                    "-inf" => "-Infinity".to_string(),
                    "nan" => "NaN".to_string(),
                    s => s.to_string(),
                });
            }
        },
        Value::String(s) => write_str(out, s, opts.ensure_ascii),
        Value::Array(items) if items.is_empty() => out.push_str("[]"),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                write_json(out, item, opts, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) if map.is_empty() => out.push_str("{}"),
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if opts.sort_keys {
                keys.sort();
            }
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                write_str(out, key, opts.ensure_ascii);
                out.push_str(": ");
                write_json(out, &map[key.as_str()], opts, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str, ensure_ascii: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ensure_ascii && (c as u32) > 0x7e) => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_like_python() {
        assert_eq!(python_float_repr(1.0), "1.0");
        assert_eq!(python_float_repr(1.5), "1.5");
        assert_eq!(python_float_repr(1e16), "1e+16");
        assert_eq!(python_float_repr(1.5e-5), "1.5e-05");
        assert_eq!(python_float_repr(0.0001), "0.0001");
        assert_eq!(python_float_repr(123456789.125), "123456789.125");
        assert_eq!(python_float_repr(-0.5), "-0.5");
    }

    #[test]
    fn json_matches_python_dumps() {
        let v = json!({"b": [1, 2.0, {}], "a": "é\u{1F600}\u{1}", "c": []});
        assert_eq!(
            python_json(&v),
            "{\n    \"a\": \"é\u{1F600}\\u0001\",\n    \"b\": [\n        1,\n        2.0,\n        {}\n    ],\n    \"c\": []\n}"
        );
    }

    #[test]
    fn combine_replaces_whole_values() {
        let mut base = json!({"a": {"x": 1}, "b": 1}).as_object().unwrap().clone();
        let over = json!({"a": {"y": 2}}).as_object().unwrap().clone();
        combine(&mut base, &over);
        assert_eq!(Value::Object(base), json!({"a": {"y": 2}, "b": 1}));
    }
}

/// Parses one `-e` argument as Ansible does: `@file` (YAML or JSON), a JSON or YAML
/// mapping (`{"a": 1}`), or `k=v k2='v 2'` pairs (values stay strings).
pub fn parse_extra_vars(arg: &str) -> Result<Vars, String> {
    let arg = arg.trim();
    if let Some(file) = arg.strip_prefix('@') {
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        let text = crate::yaml::decode_source(bytes).map_err(|e| format!("{file}:{e}"))?;
        return match crate::yaml::load_data(&text) {
            Ok(Some(node)) => match node.to_value() {
                Value::Object(m) => Ok(m),
                Value::Null => Ok(Vars::new()),
                _ => Err(format!("{file}: extra vars must be a mapping")),
            },
            Ok(None) => Ok(Vars::new()),
            Err(e) => Err(format!("{file}:{e}")),
        };
    }
    if arg.starts_with('{') || arg.starts_with('[') {
        return match crate::yaml::load_data(arg) {
            Ok(Some(node)) => match node.to_value() {
                Value::Object(m) => Ok(m),
                _ => Err(format!("extra vars {arg:?} must be a mapping")),
            },
            Ok(None) => Ok(Vars::new()),
            Err(e) => Err(format!("extra vars {arg:?}: {e}")),
        };
    }
    let mut vars = Vars::new();
    for word in crate::shell::split(arg).map_err(|e| format!("cannot split {arg:?}: {e}"))? {
        let (k, v) = word.split_once('=').ok_or_else(|| {
            format!("extra var {word:?} is not key=value (use -e 'key=value', -e JSON or -e @file)")
        })?;
        vars.insert(k.to_string(), Value::String(v.to_string()));
    }
    Ok(vars)
}

#[cfg(test)]
mod extra_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extra_vars_forms() {
        assert_eq!(
            Value::Object(parse_extra_vars("a=1 b='x y'").unwrap()),
            json!({"a": "1", "b": "x y"})
        );
        assert_eq!(
            Value::Object(parse_extra_vars("{\"a\": 1}").unwrap()),
            json!({"a": 1})
        );
        assert!(parse_extra_vars("novalue").is_err());
    }

    #[test]
    fn a_non_utf8_extra_vars_file_names_the_byte() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("vars.yml");
        std::fs::write(&file, b"a: \xff\n").unwrap();
        let e = parse_extra_vars(&format!("@{}", file.display())).unwrap_err();
        assert_eq!(
            e,
            format!(
                "{}:1:4: the file is not valid UTF-8 (byte 0xff)",
                file.display()
            )
        );
    }
}
