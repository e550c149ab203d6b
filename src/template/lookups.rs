//! `lookup()` and `query()`/`q()` with the controller-side plugins playbooks use most:
//! `env`, `file`, `items`/`list`. A `lookup` of several terms joins them with commas, as
//! Ansible does without `wantlist=True`.

use super::filters::{fail, text};
use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, Value};

pub fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |name: String, terms: Rest<Value>, kwargs: Kwargs| {
            let wantlist = kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
            let values = run(&name, &terms, &kwargs)?;
            Ok::<_, Error>(if wantlist {
                Value::from(values)
            } else if values.len() == 1 {
                values.into_iter().next().unwrap_or_default()
            } else {
                Value::from(values.iter().map(text).collect::<Vec<_>>().join(","))
            })
        },
    );
    for name in ["query", "q"] {
        env.add_function(name, |name: String, terms: Rest<Value>, kwargs: Kwargs| {
            run(&name, &terms, &kwargs).map(Value::from)
        });
    }
}

fn run(plugin: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let plugin = plugin.strip_prefix("ansible.builtin.").unwrap_or(plugin);
    let out = match plugin {
        "env" => {
            let default: Option<String> = kwargs.get("default")?;
            terms
                .iter()
                .map(|t| {
                    let value = std::env::var(text(t))
                        .ok()
                        .or_else(|| default.clone())
                        .unwrap_or_default();
                    Value::from(value)
                })
                .collect()
        }
        "file" => {
            let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
            let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
            let mut out = Vec::new();
            for t in terms {
                let path = text(t);
                let mut content = std::fs::read_to_string(&path)
                    .map_err(|e| fail(format!("could not read file for lookup: {path}: {e}")))?;
                if rstrip {
                    content.truncate(content.trim_end().len());
                }
                if lstrip {
                    content = content.trim_start().to_string();
                }
                out.push(Value::from(content));
            }
            out
        }
        "items" | "list" => {
            let mut out = Vec::new();
            for t in terms {
                match t.try_iter() {
                    Ok(it) if t.as_str().is_none() && plugin == "items" => out.extend(it),
                    _ => out.push(t.clone()),
                }
            }
            out
        }
        other => return Err(fail(format!("lookup plugin '{other}' not found"))),
    };
    kwargs.assert_all_used()?;
    Ok(out)
}
