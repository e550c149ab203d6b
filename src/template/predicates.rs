//! Ansible's Jinja tests: task results (`succeeded`, `failed`, `changed`, `skipped`, ...),
//! regular expressions (`match`, `search`, `regex`), `version` with LooseVersion ordering,
//! `subset`/`superset`/`contains`, `any`/`all`, `truthy`/`falsy`, and controller paths.
//! minijinja's builtins give `defined`, `none`, `string`, `number`, `mapping`, `in`, ...

use super::filters::{fail, text};
use minijinja::value::{Kwargs, ValueKind};
use minijinja::{Environment, Error, Value};
use std::cmp::Ordering;

pub fn register(env: &mut Environment<'static>) {
    for name in ["failed", "failure"] {
        env.add_test(name, |v: &Value| result_flag(v, "failed", "failed"));
    }
    for name in ["succeeded", "success", "successful"] {
        env.add_test(name, |v: &Value| {
            result_flag(v, "failed", "succeeded").map(|b| !b)
        });
    }
    env.add_test("unreachable", |v: &Value| {
        result_flag(v, "unreachable", "unreachable")
    });
    env.add_test("reachable", |v: &Value| {
        result_flag(v, "unreachable", "reachable").map(|b| !b)
    });
    for name in ["skipped", "skip"] {
        env.add_test(name, |v: &Value| result_flag(v, "skipped", "skipped"));
    }
    for name in ["changed", "change"] {
        env.add_test(name, changed);
    }
    env.add_test("finished", |v: &Value| async_flag(v, "finished"));
    env.add_test("started", |v: &Value| async_flag(v, "started"));
    env.add_test("undefined", |v: &Value| v.is_undefined());
    // Jinja's `sequence` is anything with a length and items: strings and dicts too.
    env.add_test("sequence", |v: &Value| {
        matches!(
            v.kind(),
            ValueKind::String | ValueKind::Seq | ValueKind::Map
        )
    });
    env.add_test("match", |v: Value, p: String, kw: Kwargs| {
        regex_test(&v, &p, kw, "match")
    });
    env.add_test("search", |v: Value, p: String, kw: Kwargs| {
        regex_test(&v, &p, kw, "search")
    });
    env.add_test("regex", |v: Value, p: String, kw: Kwargs| {
        regex_test(&v, &p, kw, "search")
    });
    env.add_test("version", version);
    env.add_test("version_compare", version);
    env.add_test("subset", |a: Value, b: Value| {
        Ok::<_, Error>(
            items(&a)?
                .iter()
                .all(|x| items(&b).is_ok_and(|b| b.contains(x))),
        )
    });
    env.add_test("superset", |a: Value, b: Value| {
        Ok::<_, Error>(
            items(&b)?
                .iter()
                .all(|x| items(&a).is_ok_and(|a| a.contains(x))),
        )
    });
    env.add_test("contains", |a: Value, x: Value| {
        Ok::<_, Error>(items(&a)?.contains(&x))
    });
    env.add_test("any", |a: Value| {
        Ok::<_, Error>(items(&a)?.iter().any(Value::is_true))
    });
    env.add_test("all", |a: Value| {
        Ok::<_, Error>(items(&a)?.iter().all(Value::is_true))
    });
    env.add_test("truthy", |v: &Value| v.is_true());
    env.add_test("falsy", |v: &Value| !v.is_true());
    env.add_test("abs", |p: String| p.starts_with('/'));
    env.add_test("exists", |p: String| std::path::Path::new(&p).exists());
    env.add_test("file", |p: String| std::path::Path::new(&p).is_file());
    env.add_test("directory", |p: String| std::path::Path::new(&p).is_dir());
    env.add_test("link", |p: String| std::path::Path::new(&p).is_symlink());
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    Ok(v.try_iter()?.collect())
}

fn expect_dict(v: &Value, test: &str) -> Result<(), Error> {
    if v.kind() == ValueKind::Map {
        Ok(())
    } else {
        Err(fail(format!("The '{test}' test expects a dictionary")))
    }
}

/// The truth of `key` in a registered result.
fn result_flag(v: &Value, key: &str, test: &str) -> Result<bool, Error> {
    expect_dict(v, test)?;
    Ok(v.get_attr(key).is_ok_and(|f| f.is_true()))
}

fn async_flag(v: &Value, key: &str) -> Result<bool, Error> {
    expect_dict(v, key)?;
    let flag = v.get_attr(key)?;
    Ok(flag.is_undefined() || flag.is_true())
}

/// `changed`, or for a loop's result any item's `changed`.
fn changed(v: &Value) -> Result<bool, Error> {
    expect_dict(v, "changed")?;
    let flag = v.get_attr("changed")?;
    if !flag.is_undefined() {
        return Ok(flag.is_true());
    }
    let results = v.get_attr("results")?;
    if results.kind() != ValueKind::Seq {
        return Ok(false);
    }
    Ok(results
        .try_iter()?
        .any(|r| r.kind() == ValueKind::Map && r.get_attr("changed").is_ok_and(|c| c.is_true())))
}

fn regex_test(v: &Value, pattern: &str, kwargs: Kwargs, default_type: &str) -> Result<bool, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    let match_type: String = kwargs
        .get::<Option<String>>("match_type")?
        .unwrap_or_else(|| default_type.into());
    kwargs.assert_all_used()?;
    let anchored = match match_type.as_str() {
        "match" => format!(r"\A(?:{pattern})"),
        "fullmatch" => format!(r"\A(?:{pattern})\z"),
        _ => pattern.to_string(),
    };
    let re = regex::RegexBuilder::new(&anchored)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| fail(format!("invalid regular expression {pattern:?}: {e}")))?;
    Ok(re.is_match(&text(v)))
}

/// A LooseVersion component: numbers compare as numbers, words as text.
#[derive(Debug, PartialEq, Eq)]
enum Part {
    Num(u64),
    Word(String),
}

/// Python's `LooseVersion` split: runs of digits, runs of letters, and anything else
/// between them, dropping the dots.
fn loose(v: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut cur = String::new();
    let class = |c: char| {
        if c.is_ascii_digit() {
            0
        } else if c.is_ascii_lowercase() {
            1
        } else {
            2
        }
    };
    let flush = |cur: &mut String, parts: &mut Vec<Part>| {
        if !cur.is_empty() && cur != "." {
            parts.push(match cur.parse() {
                Ok(n) => Part::Num(n),
                Err(_) => Part::Word(cur.clone()),
            });
        }
        cur.clear();
    };
    for c in v.chars() {
        let starts_new = match cur.chars().last() {
            None => false,
            Some(prev) => class(prev) != class(c) || c == '.' || prev == '.',
        };
        if starts_new {
            flush(&mut cur, &mut parts);
        }
        cur.push(c);
    }
    flush(&mut cur, &mut parts);
    parts
}

fn compare_versions(a: &str, b: &str) -> Result<Ordering, Error> {
    let (a, b) = (loose(a), loose(b));
    for (x, y) in a.iter().zip(b.iter()) {
        let ord = match (x, y) {
            (Part::Num(x), Part::Num(y)) => x.cmp(y),
            (Part::Word(x), Part::Word(y)) => x.cmp(y),
            _ => {
                return Err(fail(
                    "Version comparison failed: cannot compare a number with text",
                ));
            }
        };
        if ord != Ordering::Equal {
            return Ok(ord);
        }
    }
    Ok(a.len().cmp(&b.len()))
}

/// `version(other, operator='eq')`; `strict` and `version_type` are accepted, and compare
/// as LooseVersion does.
fn version(v: Value, other: Value, op: Option<String>, kwargs: Kwargs) -> Result<bool, Error> {
    let op = match op {
        Some(op) => op,
        None => kwargs
            .get::<Option<String>>("operator")?
            .unwrap_or_else(|| "eq".into()),
    };
    let _: Option<Value> = kwargs.get("strict")?;
    let _: Option<String> = kwargs.get("version_type")?;
    kwargs.assert_all_used()?;
    let (a, b) = (text(&v), text(&other));
    if a.is_empty() {
        return Err(fail("Input version value cannot be empty"));
    }
    if b.is_empty() {
        return Err(fail("Version parameter to compare against cannot be empty"));
    }
    let ord = compare_versions(&a, &b)?;
    Ok(match op.as_str() {
        "==" | "=" | "eq" => ord == Ordering::Equal,
        "<" | "lt" => ord == Ordering::Less,
        "<=" | "le" => ord != Ordering::Greater,
        ">" | "gt" => ord == Ordering::Greater,
        ">=" | "ge" => ord != Ordering::Less,
        "!=" | "<>" | "ne" => ord != Ordering::Equal,
        other => return Err(fail(format!("Invalid operator type ({other})"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_version_splits_like_python() {
        assert_eq!(
            loose("1.0.0-rc1"),
            vec![
                Part::Num(1),
                Part::Num(0),
                Part::Num(0),
                Part::Word("-".into()),
                Part::Word("rc".into()),
                Part::Num(1)
            ]
        );
        assert_eq!(
            compare_versions("1.10", "1.9").ok(),
            Some(Ordering::Greater)
        );
        assert_eq!(compare_versions("2.0", "2.0.0").ok(), Some(Ordering::Less));
    }
}
