//! `matrix:` on a play: every combination of the axes' values (the full product, axes in
//! the order written, the last axis changing fastest), minus the `exclude:` entries. Each
//! combination is a case with a stable id made of its values: `fs=ext4,mode=sync`.

use super::host::value_text;
use crate::playbook::Matrix;
use crate::template::Templar;
use crate::vars::Vars;
use serde_json::Value;

/// One combination.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub id: String,
    /// The axes' values, as variables.
    pub vars: Vars,
}

/// The cases of a matrix; axes given as templates are rendered with `vars`.
pub fn cases(m: &Matrix, templar: &Templar, vars: &Vars) -> Result<Vec<Case>, String> {
    let mut axes: Vec<(String, Vec<Value>)> = Vec::new();
    for (name, values) in &m.axes {
        let values = match values {
            Value::Array(a) => a.clone(),
            other => match templar.render(other, vars) {
                Ok(Value::Array(a)) if !a.is_empty() => a,
                Ok(v) => {
                    return Err(format!(
                        "matrix axis \"{name}\" must give a non-empty list, not {v}"
                    ));
                }
                Err(e) => return Err(format!("matrix axis \"{name}\": {e}")),
            },
        };
        axes.push((name.clone(), values));
    }
    let mut combos: Vec<Vars> = vec![Vars::new()];
    for (name, values) in &axes {
        let mut next = Vec::with_capacity(combos.len() * values.len());
        for c in &combos {
            for v in values {
                let mut c = c.clone();
                c.insert(name.clone(), v.clone());
                next.push(c);
            }
        }
        combos = next;
    }
    let excluded = |c: &Vars| {
        m.exclude
            .iter()
            .any(|ex| ex.iter().all(|(k, v)| c.get(k) == Some(v)))
    };
    Ok(combos
        .into_iter()
        .filter(|c| !excluded(c))
        .map(|vars| Case {
            id: case_id(&vars),
            vars,
        })
        .collect())
}

/// `axis=value,axis=value`, with characters a file name or a shell would trip on replaced
/// by `_`.
pub fn case_id(vars: &Vars) -> String {
    vars.iter()
        .map(|(k, v)| format!("{}={}", clean(k), clean(&value_text(v))))
        .collect::<Vec<_>>()
        .join(",")
}

fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | ':' | '@') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn matrix(axes: Value, exclude: Value) -> Matrix {
        Matrix {
            axes: axes
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            exclude: exclude
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_object().cloned())
                .collect(),
        }
    }

    #[test]
    fn full_product_with_stable_ids() {
        let m = matrix(
            json!({"fs": ["ext4", "xfs", "btrfs"], "mode": ["sync", "async"]}),
            json!([]),
        );
        let c = cases(&m, &Templar::new(), &Vars::new()).expect("cases");
        let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "fs=ext4,mode=sync",
                "fs=ext4,mode=async",
                "fs=xfs,mode=sync",
                "fs=xfs,mode=async",
                "fs=btrfs,mode=sync",
                "fs=btrfs,mode=async"
            ]
        );
        assert_eq!(c[3].vars.get("mode"), Some(&json!("async")));
    }

    #[test]
    fn exclude_drops_combinations() {
        let m = matrix(
            json!({"fs": ["ext4", "xfs"], "mode": ["sync", "async"], "n": [1, 2]}),
            json!([{"fs": "xfs", "mode": "async"}, {"n": 2, "fs": "ext4", "mode": "sync"}]),
        );
        let c = cases(&m, &Templar::new(), &Vars::new()).expect("cases");
        assert_eq!(c.len(), 8 - 2 - 1);
        assert!(c.iter().all(|c| c.id != "fs=ext4,mode=sync,n=2"));
    }

    #[test]
    fn templated_axis_and_odd_values() {
        let m = matrix(json!({"size": "{{ sizes }}", "path": ["/a b"]}), json!([]));
        let mut vars = Vars::new();
        vars.insert("sizes".into(), json!([1, 10]));
        let c = cases(&m, &Templar::new(), &vars).expect("cases");
        assert_eq!(c[1].id, "size=10,path=_a_b");
        vars.insert("sizes".into(), json!("x"));
        assert!(cases(&m, &Templar::new(), &vars).is_err());
    }
}
