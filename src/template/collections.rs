//! Ansible's list and dict filters: `dict2items`, `items2dict`, `combine`, `flatten`, set
//! operations (`difference`, `intersect`, `union`, `symmetric_difference`), `product`,
//! `zip_longest`, `random`/`shuffle` (see [`super::pyrandom`]), `subelements`, `extract`, and the `dict()` global taking pairs.

use super::filters::fail;
use minijinja::value::{Kwargs, Rest, ValueKind};
use minijinja::{Environment, Error, Value};
use serde_json::Value as Json;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("combine", combine);
    env.add_filter("flatten", flatten);
    env.add_filter("difference", |a: Value, b: Value| {
        set_op(a, b, SetOp::Difference)
    });
    env.add_filter("intersect", |a: Value, b: Value| {
        set_op(a, b, SetOp::Intersect)
    });
    env.add_filter("union", |a: Value, b: Value| set_op(a, b, SetOp::Union));
    env.add_filter("symmetric_difference", |a: Value, b: Value| {
        set_op(a, b, SetOp::Symmetric)
    });
    env.add_filter("product", product);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("random", super::pyrandom::random);
    env.add_filter("shuffle", super::pyrandom::shuffle);
    env.add_filter("subelements", subelements);
    env.add_filter("extract", extract);
    env.add_function("dict", dict);
}

pub(crate) fn to_json(v: &Value) -> Result<Json, Error> {
    serde_json::to_value(v).map_err(|e| fail(format!("cannot convert value: {e}")))
}

pub(crate) fn from_json(v: Json) -> Value {
    Value::from(minijinja::value::Serde(v))
}

fn items(v: &Value) -> Result<Vec<Value>, Error> {
    if v.is_undefined() {
        return Err(Error::from(minijinja::ErrorKind::UndefinedError));
    }
    Ok(v.try_iter()?.collect())
}

fn dict2items(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: String = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".into());
    let value_name: String = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".into());
    kwargs.assert_all_used()?;
    if v.kind() != ValueKind::Map {
        return Err(fail(format!(
            "dict2items requires a dictionary, got {}",
            v.kind()
        )));
    }
    let mut out = Vec::new();
    for k in v.try_iter()? {
        let val = v.get_item(&k)?;
        let mut pair = serde_json::Map::new();
        pair.insert(key_name.clone(), to_json(&k)?);
        pair.insert(value_name.clone(), to_json(&val)?);
        out.push(Json::Object(pair));
    }
    Ok(from_json(Json::Array(out)))
}

fn items2dict(v: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name: Value = kwargs
        .get::<Option<Value>>("key_name")?
        .unwrap_or(Value::from("key"));
    let value_name: Value = kwargs
        .get::<Option<Value>>("value_name")?
        .unwrap_or(Value::from("value"));
    kwargs.assert_all_used()?;
    let mut out = serde_json::Map::new();
    for item in items(&v)? {
        let k = item.get_item(&key_name)?;
        let val = item.get_item(&value_name)?;
        if k.is_undefined() || val.is_undefined() {
            return Err(fail(format!(
                "items2dict requires each item to have {key_name} and {value_name}"
            )));
        }
        out.insert(crate::vars::key_string(&to_json(&k)?), to_json(&val)?);
    }
    Ok(from_json(Json::Object(out)))
}

fn combine(v: Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge: String = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".into());
    kwargs.assert_all_used()?;
    if !matches!(
        list_merge.as_str(),
        "replace" | "keep" | "append" | "prepend" | "append_rp" | "prepend_rp"
    ) {
        return Err(fail(format!("combine: unknown list_merge {list_merge:?}")));
    }
    // `[a, b] | combine` merges the list's dicts.
    let mut dicts = Vec::new();
    for d in std::iter::once(v).chain(others.0) {
        match to_json(&d)? {
            Json::Array(list) => dicts.extend(list),
            other => dicts.push(other),
        }
    }
    let mut acc = serde_json::Map::new();
    for d in dicts {
        let Json::Object(d) = d else {
            return Err(fail(format!(
                "combine expects dictionaries, got {}",
                crate::vars::python_type_name(&d)
            )));
        };
        merge(&mut acc, d, recursive, &list_merge);
    }
    Ok(from_json(Json::Object(acc)))
}

fn merge(
    acc: &mut serde_json::Map<String, Json>,
    over: serde_json::Map<String, Json>,
    recursive: bool,
    lists: &str,
) {
    for (k, v) in over {
        // A key already there keeps its place, as in a Python dict.
        let Some(slot) = acc.get_mut(&k) else {
            acc.insert(k, v);
            continue;
        };
        *slot = match (std::mem::take(slot), v) {
            (Json::Object(mut a), Json::Object(b)) if recursive => {
                merge(&mut a, b, recursive, lists);
                Json::Object(a)
            }
            (Json::Array(a), Json::Array(b)) => Json::Array(merge_lists(a, b, lists)),
            (_, v) => v,
        };
    }
}

fn merge_lists(a: Vec<Json>, b: Vec<Json>, how: &str) -> Vec<Json> {
    match how {
        "keep" => a,
        "append" => a.into_iter().chain(b).collect(),
        "prepend" => b.into_iter().chain(a).collect(),
        "append_rp" => {
            let mut kept: Vec<Json> = a.into_iter().filter(|x| !b.contains(x)).collect();
            kept.extend(b);
            kept
        }
        "prepend_rp" => {
            let rest: Vec<Json> = a.into_iter().filter(|x| !b.contains(x)).collect();
            b.into_iter().chain(rest).collect()
        }
        _ => b,
    }
}

fn flatten(v: Value, levels: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = match levels {
        Some(l) => Some(l),
        None => kwargs.get::<Option<Value>>("levels")?,
    };
    let levels = levels.filter(|l| !l.is_none()).and_then(|l| l.as_i64());
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let mut out = Vec::new();
    flatten_into(&mut out, items(&v)?, levels, skip_nulls)?;
    Ok(Value::from(out))
}

fn flatten_into(
    out: &mut Vec<Value>,
    list: Vec<Value>,
    levels: Option<i64>,
    skip_nulls: bool,
) -> Result<(), Error> {
    for item in list {
        match item.kind() {
            ValueKind::None | ValueKind::Undefined if skip_nulls => {}
            ValueKind::Seq | ValueKind::Iterable if levels.is_none_or(|l| l > 0) => {
                flatten_into(
                    out,
                    item.try_iter()?.collect(),
                    levels.map(|l| l - 1),
                    skip_nulls,
                )?;
            }
            _ => out.push(item),
        }
    }
    Ok(())
}

#[derive(Clone, Copy)]
enum SetOp {
    Difference,
    Intersect,
    Union,
    Symmetric,
}

/// Ansible's set filters: results are unique and keep the first list's order.
fn set_op(a: Value, b: Value, op: SetOp) -> Result<Value, Error> {
    let a = items(&a)?;
    let b = items(&b)?;
    let candidates: Vec<Value> = match op {
        SetOp::Difference => a.iter().filter(|x| !b.contains(x)).cloned().collect(),
        SetOp::Intersect => a.iter().filter(|x| b.contains(x)).cloned().collect(),
        SetOp::Union => a.iter().chain(b.iter()).cloned().collect(),
        SetOp::Symmetric => a
            .iter()
            .filter(|x| !b.contains(x))
            .chain(b.iter().filter(|x| !a.contains(x)))
            .cloned()
            .collect(),
    };
    let mut out: Vec<Value> = Vec::with_capacity(candidates.len());
    for c in candidates {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(Value::from(out))
}

/// The most values `product` may build (combinations times their length).
const MAX_PRODUCT_VALUES: usize = 1 << 24;

fn product(first: Value, rest: Rest<Value>) -> Result<Value, Error> {
    let first = items(&first)?;
    let rest = rest.iter().map(items).collect::<Result<Vec<_>, Error>>()?;
    let lens: Vec<usize> = std::iter::once(&first).chain(&rest).map(Vec::len).collect();
    let values = lens
        .iter()
        .try_fold(1usize, |n, &len| n.checked_mul(len))
        .and_then(|n| n.checked_mul(lens.len()));
    if values.is_none_or(|n| n > MAX_PRODUCT_VALUES) {
        return Err(fail(format!(
            "product of lists of {lens:?} items is too large (over {MAX_PRODUCT_VALUES} values)"
        )));
    }
    let mut acc: Vec<Vec<Value>> = first.into_iter().map(|x| vec![x]).collect();
    for other in rest {
        acc = acc
            .into_iter()
            .flat_map(|prefix| {
                other.iter().map(move |x| {
                    let mut p = prefix.clone();
                    p.push(x.clone());
                    p
                })
            })
            .collect();
    }
    Ok(Value::from(
        acc.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

fn zip_longest(first: Value, rest: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill: Value = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let mut lists = vec![items(&first)?];
    for r in rest.iter() {
        lists.push(items(r)?);
    }
    let len = lists.iter().map(Vec::len).max().unwrap_or(0);
    let rows: Vec<Value> = (0..len)
        .map(|i| {
            Value::from(
                lists
                    .iter()
                    .map(|l| l.get(i).cloned().unwrap_or(fill.clone()))
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    Ok(Value::from(rows))
}

fn extract(key: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let mut v = container.get_item(&key)?;
    if let Some(more) = morekeys {
        let keys = if more.kind() == ValueKind::Seq {
            items(&more)?
        } else {
            vec![more]
        };
        for k in keys {
            v = v.get_item(&k)?;
        }
    }
    Ok(v)
}

/// `dict(a=1)` as in Jinja, and `dict([[k, v], ...])` as in Python.
fn dict(pairs: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut out = serde_json::Map::new();
    if let Some(pairs) = pairs {
        if pairs.kind() == ValueKind::Map {
            if let Json::Object(m) = to_json(&pairs)? {
                out = m;
            }
        } else {
            for pair in items(&pairs)? {
                let kv = items(&pair)?;
                let [k, v] = kv.as_slice() else {
                    return Err(fail("dict() expects pairs of key and value"));
                };
                out.insert(crate::vars::key_string(&to_json(k)?), to_json(v)?);
            }
        }
    }
    for k in kwargs.args() {
        let v: Value = kwargs.get(k)?;
        out.insert(k.to_string(), to_json(&v)?);
    }
    Ok(from_json(Json::Object(out)))
}

/// `subelements(key, skip_missing=False)`: `[item, sub]` pairs for each item of the list (or
/// dict values) and each element of the list at `key` (a dotted path or a list of keys).
fn subelements(obj: Value, key: Value, skip: Option<bool>, kwargs: Kwargs) -> Result<Value, Error> {
    let skip_missing = match skip {
        Some(s) => s,
        None => kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false),
    };
    kwargs.assert_all_used()?;
    let elements: Vec<Value> = match obj.kind() {
        ValueKind::Map => obj
            .try_iter()?
            .map(|k| obj.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq | ValueKind::Iterable => items(&obj)?,
        _ => return Err(fail("obj must be a list of dicts or a nested dict")),
    };
    let path: Vec<Value> = match key.as_str() {
        Some(s) => s.split('.').map(Value::from).collect(),
        None if key.kind() == ValueKind::Seq => items(&key)?,
        None => return Err(fail("subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    for element in elements {
        let mut values = element.clone();
        for k in &path {
            match values.get_item(k) {
                Ok(v) if !v.is_undefined() => values = v,
                _ if skip_missing => {
                    values = Value::from(Vec::<Value>::new());
                    break;
                }
                _ => {
                    return Err(fail(format!(
                        "could not find {} key in iterated item {}",
                        super::filters::text(&Value::from(vec![k.clone()]))
                            .trim_start_matches('[')
                            .trim_end_matches(']'),
                        values
                    )));
                }
            }
        }
        if values.kind() != ValueKind::Seq {
            return Err(fail(format!(
                "the key {key} should point to a list, got {values}"
            )));
        }
        for v in values.try_iter()? {
            out.push(Value::from(vec![element.clone(), v]));
        }
    }
    Ok(Value::from(out))
}
