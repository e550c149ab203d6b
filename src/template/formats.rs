//! Serialisation filters shaped like Ansible's Python output: `to_json` (`json.dumps`:
//! `", "` and `": "` separators, ASCII escapes), `to_nice_json` (sorted, indent 4),
//! `to_yaml` (PyYAML, flow style for collections of scalars), `to_nice_yaml` (block style,
//! indent 4), and the `from_json`, `from_yaml`, `from_yaml_all` parsers.

use super::collections::{from_json, to_json};
use super::filters::{fail, text};
use crate::vars::python_float_repr;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, Value};
use serde_json::Value as Json;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", |v: Value, kwargs: Kwargs| {
        let indent = kwargs.get::<Option<usize>>("indent")?;
        let sort = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
        kwargs.assert_all_used()?;
        Ok::<_, Error>(json_text(&to_json(&v)?, indent, sort))
    });
    env.add_filter("to_nice_json", |v: Value, kwargs: Kwargs| {
        let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
        let sort = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
        kwargs.assert_all_used()?;
        Ok::<_, Error>(json_text(&to_json(&v)?, Some(indent), sort))
    });
    env.add_filter("from_json", |v: Value| {
        serde_json::from_str::<Json>(&text(&v))
            .map(from_json)
            .map_err(|e| fail(format!("from_json: {e}")))
    });
    env.add_filter("to_yaml", |v: Value, kwargs: Kwargs| {
        let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(2).max(2);
        kwargs.assert_all_used()?;
        Ok::<_, Error>(yaml_text(&to_json(&v)?, indent, true))
    });
    env.add_filter("to_nice_yaml", |v: Value, kwargs: Kwargs| {
        let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4).max(2);
        kwargs.assert_all_used()?;
        Ok::<_, Error>(yaml_text(&to_json(&v)?, indent, false))
    });
    env.add_filter("from_yaml", |v: Value| {
        let node =
            crate::yaml::load_data(&text(&v)).map_err(|e| fail(format!("from_yaml: {e}")))?;
        Ok::<_, Error>(from_json(node.map_or(Json::Null, |n| n.to_value())))
    });
    env.add_filter("from_yaml_all", |v: Value| {
        let mut docs = Vec::new();
        for doc in split_documents(&text(&v)) {
            let node =
                crate::yaml::load_data(doc).map_err(|e| fail(format!("from_yaml_all: {e}")))?;
            if let Some(n) = node {
                docs.push(n.to_value());
            }
        }
        Ok::<_, Error>(from_json(Json::Array(docs)))
    });
}

fn split_documents(s: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut at = 0;
    for line in s.split_inclusive('\n') {
        if line.trim_end() == "---" || line.starts_with("--- ") {
            if at > start {
                docs.push(&s[start..at]);
            }
            start = if line.trim_end() == "---" {
                at + line.len()
            } else {
                at + 4
            };
        }
        at += line.len();
    }
    if s.len() > start {
        docs.push(&s[start..]);
    }
    docs
}

/// `json.dumps(v, indent=indent, sort_keys=sort)` with `ensure_ascii=True`.
pub fn json_text(v: &Json, indent: Option<usize>, sort: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, indent, sort, 0);
    out
}

fn write_json(out: &mut String, v: &Json, indent: Option<usize>, sort: bool, depth: usize) {
    let newline = |out: &mut String, depth: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', n * depth));
        }
    };
    let sep = if indent.is_some() { "," } else { ", " };
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) if n.is_f64() => out.push_str(&match n.as_f64().map(python_float_repr) {
            Some(s) if s == "inf" => "Infinity".into(),
            Some(s) if s == "-inf" => "-Infinity".into(),
            Some(s) if s == "nan" => "NaN".into(),
            Some(s) => s,
            None => n.to_string(),
        }),
        Json::Number(n) => out.push_str(&n.to_string()),
        Json::String(s) => write_json_str(out, s),
        Json::Array(items) if items.is_empty() => out.push_str("[]"),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                write_json(out, item, indent, sort, depth + 1);
            }
            newline(out, depth);
            out.push(']');
        }
        Json::Object(map) if map.is_empty() => out.push_str("{}"),
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            if sort {
                keys.sort();
            }
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                write_json_str(out, k);
                out.push_str(": ");
                write_json(out, &map[k.as_str()], indent, sort, depth + 1);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn write_json_str(out: &mut String, s: &str) {
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
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
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

/// PyYAML's `yaml.dump(v, indent=indent, allow_unicode=True, default_flow_style=flow)`:
/// with `flow`, collections holding only scalars are written inline.
pub fn yaml_text(v: &Json, indent: usize, flow: bool) -> String {
    let mut out = String::new();
    if is_block(v, flow) {
        write_block(&mut out, v, indent, flow, 0);
    } else {
        out.push_str(&inline(v));
        out.push('\n');
    }
    out
}

/// True if the value is written as block lines rather than inline.
fn is_block(v: &Json, flow: bool) -> bool {
    match v {
        Json::Array(items) if !items.is_empty() => !flow || items.iter().any(is_collection),
        Json::Object(map) if !map.is_empty() => !flow || map.values().any(is_collection),
        _ => false,
    }
}

fn is_collection(v: &Json) -> bool {
    matches!(v, Json::Array(_) | Json::Object(_))
}

fn sorted(map: &serde_json::Map<String, Json>) -> Vec<(&String, &Json)> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// Writes a block collection whose first line starts at the current position and whose
/// other lines are indented by `col`.
fn write_block(out: &mut String, v: &Json, indent: usize, flow: bool, col: usize) {
    let pad = |out: &mut String, first: bool| {
        if !first {
            out.extend(std::iter::repeat_n(' ', col));
        }
    };
    match v {
        Json::Object(map) => {
            for (i, (k, val)) in sorted(map).into_iter().enumerate() {
                pad(out, i == 0);
                out.push_str(&scalar(&Json::String(k.clone()), false));
                out.push(':');
                match val {
                    Json::Object(_) if is_block(val, flow) => {
                        out.push('\n');
                        out.extend(std::iter::repeat_n(' ', col + indent));
                        write_block(out, val, indent, flow, col + indent);
                    }
                    // PyYAML writes a mapping's sequences without indenting the dashes.
                    Json::Array(_) if is_block(val, flow) => {
                        out.push('\n');
                        out.extend(std::iter::repeat_n(' ', col));
                        write_block(out, val, indent, flow, col);
                    }
                    _ => {
                        out.push(' ');
                        out.push_str(&inline(val));
                        out.push('\n');
                    }
                }
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pad(out, i == 0);
                if is_block(item, flow) {
                    out.push('-');
                    out.extend(std::iter::repeat_n(' ', indent - 1));
                    write_block(out, item, indent, flow, col + indent);
                } else {
                    out.push_str("- ");
                    out.push_str(&inline(item));
                    out.push('\n');
                }
            }
        }
        other => {
            out.push_str(&inline(other));
            out.push('\n');
        }
    }
}

fn inline(v: &Json) -> String {
    match v {
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(inline_item).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(map) => {
            let parts: Vec<String> = sorted(map)
                .into_iter()
                .map(|(k, v)| {
                    format!(
                        "{}: {}",
                        scalar(&Json::String(k.clone()), true),
                        inline_item(v)
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => scalar(other, false),
    }
}

fn inline_item(v: &Json) -> String {
    match v {
        Json::Array(_) | Json::Object(_) => inline(v),
        other => scalar(other, true),
    }
}

/// A scalar as PyYAML writes it; `in_flow` also quotes flow indicators.
fn scalar(v: &Json, in_flow: bool) -> String {
    let text = crate::yaml::to_yaml_string(v);
    let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
    match v {
        Json::String(s) if in_flow && text == *s && s.contains([',', '[', ']', '{', '}']) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        _ => text,
    }
}
