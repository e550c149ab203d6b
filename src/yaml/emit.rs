//! A block-style YAML writer for JSON values, shaped like PyYAML's `yaml.dump(...,
//! default_flow_style=False)`: sorted keys, indentless lists, quotes only where needed.

use super::resolve;
use crate::vars::python_float_repr;
use serde_json::Value;
use std::fmt::Write;

/// Renders a value as a YAML document (ending in a newline).
pub fn to_yaml_string(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, value, 0),
        Value::Array(items) if !items.is_empty() => write_seq(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, value: &Value, indent: usize) {
    let Value::Object(map) = value else { return };
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort();
    for key in keys {
        let v = &map[key.as_str()];
        let _ = write!(out, "{:indent$}{}:", "", quote(key));
        write_child(out, v, indent, indent + 2);
    }
}

fn write_seq(out: &mut String, items: &[Value], indent: usize) {
    for item in items {
        let _ = write!(out, "{:indent$}-", "");
        match item {
            Value::Object(map) if !map.is_empty() => {
                // The first key goes on the dash line, the rest align under it.
                let mut first = String::new();
                write_map(&mut first, item, indent + 2);
                out.push(' ');
                out.push_str(first.trim_start());
            }
            _ => write_child(out, item, indent, indent + 2),
        }
    }
}

fn write_child(out: &mut String, v: &Value, indent: usize, nested: usize) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_map(out, v, nested);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, indent);
        }
        scalar => {
            out.push(' ');
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if !n.is_i64() && !n.is_u64() => python_float_repr(f),
            _ => n.to_string(),
        },
        Value::String(s) => quote(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

/// Quotes a string when reading it back plain would change it (a number, a boolean, a
/// leading indicator, a `: ` or ` #` inside, surrounding spaces, control characters).
fn quote(s: &str) -> String {
    let needs = s.is_empty()
        || !matches!(resolve::plain(s), super::NodeKind::Str(_))
        || s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%',
            '@', '`', ' ',
        ])
        || s.ends_with([' ', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.chars().any(|c| c.is_control());
    if !needs {
        return s.to_string();
    }
    if s.chars().any(|c| c.is_control()) {
        return serde_json::to_string(s).unwrap_or_default();
    }
    format!("'{}'", s.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_the_loader() {
        let v = json!({"b": [1, "yes", {"x": "a: b", "y": []}], "a": {"k": null, "f": 1.5, "s": "0755"}});
        let text = to_yaml_string(&v);
        let back = super::super::load(&text).unwrap().unwrap().to_value();
        assert_eq!(back, v, "{text}");
    }
}
