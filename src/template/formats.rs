//! Serialisation filters shaped like Ansible's Python output: `to_json` (`json.dumps`:
//! `", "` and `": "` separators, ASCII escapes), `to_nice_json` (sorted, indent 4),
//! `to_yaml` (PyYAML, flow style for collections of scalars), `to_nice_yaml` (block style,
//! indent 4), both written by [`crate::yaml::Dumper`], and the `from_json`, `from_yaml`, `from_yaml_all` parsers.

use super::collections::{from_json, to_json};
use super::filters::{check_added, fail, text};
use crate::yaml::Dumper;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error, Value};
use serde_json::Value as Json;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", |v: Value, kwargs: Kwargs| {
        let indent = kwargs.get::<Option<usize>>("indent")?;
        let sort = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
        kwargs.assert_all_used()?;
        let v = to_json(&v)?;
        if let Some(n) = indent {
            check_added(indentation(&v, n), || format!("to_json indent={n}"))?;
        }
        Ok::<_, Error>(json_text(&v, indent, sort))
    });
    env.add_filter("to_nice_json", |v: Value, kwargs: Kwargs| {
        let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(4);
        let sort = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
        kwargs.assert_all_used()?;
        let v = to_json(&v)?;
        check_added(indentation(&v, indent), || {
            format!("to_nice_json indent={indent}")
        })?;
        Ok::<_, Error>(json_text(&v, Some(indent), sort))
    });
    env.add_filter("from_json", |v: Value| {
        serde_json::from_str::<Json>(&text(&v))
            .map(from_json)
            .map_err(|e| fail(format!("from_json: {e}")))
    });
    env.add_filter(
        "to_yaml",
        |v: Value, indent: Option<usize>, kwargs: Kwargs| yaml_text(&v, indent, 2, None, kwargs),
    );
    env.add_filter(
        "to_nice_yaml",
        |v: Value, indent: Option<usize>, kwargs: Kwargs| {
            yaml_text(&v, indent, 4, Some(false), kwargs)
        },
    );
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

/// The spaces `json.dumps(v, indent=indent)` writes: `indent` per level on each line of a
/// collection's items and closing bracket. `None` if that overflows.
fn indentation(v: &Json, indent: usize) -> Option<usize> {
    fn levels(v: &Json, depth: usize) -> Option<usize> {
        let items: Vec<&Json> = match v {
            Json::Array(a) => a.iter().collect(),
            Json::Object(m) => m.values().collect(),
            _ => return Some(0),
        };
        if items.is_empty() {
            return Some(0);
        }
        let mut sum = depth;
        for item in items {
            sum = sum
                .checked_add(depth + 1)?
                .checked_add(levels(item, depth + 1)?)?;
        }
        Some(sum)
    }
    levels(v, 0)?.checked_mul(indent)
}

/// `json.dumps(v, indent=indent, sort_keys=sort)` with `ensure_ascii=True`.
pub fn json_text(v: &Json, indent: Option<usize>, sort: bool) -> String {
    crate::vars::python_json_with(
        v,
        crate::vars::PyJson {
            indent,
            sort_keys: sort,
            ensure_ascii: true,
        },
    )
}

/// `yaml.dump(v, Dumper=AnsibleDumper, allow_unicode=True, ...)` with the options Ansible's
/// `to_yaml` and `to_nice_yaml` pass on (`indent`, `width`, `default_flow_style`,
/// `sort_keys`).
fn yaml_text(
    v: &Value,
    indent: Option<usize>,
    default_indent: usize,
    flow: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let defaults = Dumper::default();
    let indent = match indent {
        Some(i) => i,
        None => kwargs
            .get::<Option<usize>>("indent")?
            .unwrap_or(default_indent),
    };
    let flow = match kwargs.get::<Option<Value>>("default_flow_style")? {
        Some(f) if f.is_none() => None,
        Some(f) => Some(f.is_true()),
        None => flow,
    };
    let dumper = Dumper {
        indent,
        width: kwargs
            .get::<Option<usize>>("width")?
            .unwrap_or(defaults.width),
        default_flow_style: flow,
        sort_keys: kwargs
            .get::<Option<bool>>("sort_keys")?
            .unwrap_or(defaults.sort_keys),
    };
    kwargs.assert_all_used()?;
    Ok(dumper.dump(&to_json(v)?))
}
