//! Dynamic inventory scripts: an executable run with `--list` that prints Ansible's
//! inventory JSON, with `_meta.hostvars`, or answering `--host NAME` for each host when
//! `_meta` is absent.

use super::error::{ErrorKind, InventoryError, Origin};
use super::model::Inventory;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a script may run before it is killed and reported.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

struct Output {
    stdout: String,
    stderr: String,
}

fn run(path: &Path, args: &[&str]) -> Result<Output, InventoryError> {
    let origin = || Origin::file(path);
    // A bare relative name must not be looked up in $PATH.
    let program = if path.is_relative() {
        Path::new(".").join(path)
    } else {
        path.to_path_buf()
    };
    let mut child = Command::new(&program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| InventoryError::new(origin(), ErrorKind::Read(e)))?;
    let mut out_pipe = child.stdout.take();
    let mut err_pipe = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = out_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = err_pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() > SCRIPT_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(InventoryError::new(
                    origin(),
                    ErrorKind::ScriptFailed {
                        status: format!(
                            "`{} {}` did not finish within {}s",
                            path.display(),
                            args.join(" "),
                            SCRIPT_TIMEOUT.as_secs()
                        ),
                        stderr: String::new(),
                    },
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(InventoryError::new(origin(), ErrorKind::Read(e))),
        }
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if !status.success() {
        let status = match status.code() {
            Some(code) => format!(
                "`{} {}` exited with status {code}",
                path.display(),
                args.join(" ")
            ),
            None => format!(
                "`{} {}` was killed by a signal",
                path.display(),
                args.join(" ")
            ),
        };
        return Err(InventoryError::new(
            origin(),
            ErrorKind::ScriptFailed { status, stderr },
        ));
    }
    let stdout = String::from_utf8(stdout).map_err(|_| {
        InventoryError::new(
            origin(),
            ErrorKind::ScriptJson {
                message: "the output is not UTF-8".into(),
                stderr: stderr.clone(),
            },
        )
    })?;
    Ok(Output { stdout, stderr })
}

fn parse_json(path: &Path, out: &Output, what: &str) -> Result<Value, InventoryError> {
    serde_json::from_str(&out.stdout).map_err(|e| {
        InventoryError::new(
            Origin::file(path),
            ErrorKind::ScriptJson {
                message: format!("{what}: line {} column {}: {e}", e.line(), e.column()),
                stderr: out.stderr.clone(),
            },
        )
    })
}

fn shape_error(path: &Path, message: String) -> InventoryError {
    InventoryError::new(
        Origin::file(path),
        ErrorKind::ScriptJson {
            message,
            stderr: String::new(),
        },
    )
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "object",
    }
}

/// Runs the script and adds what it prints to `inv`.
pub fn parse(inv: &mut Inventory, path: &Path) -> Result<(), InventoryError> {
    let out = run(path, &["--list"])?;
    let data = parse_json(path, &out, "the output of --list")?;
    let Value::Object(top) = data else {
        return Err(shape_error(
            path,
            format!(
                "--list printed a {}, expected an object of groups",
                type_name(&data)
            ),
        ));
    };
    let source = path.display().to_string();
    let mut meta: Option<serde_json::Map<String, Value>> = None;
    let mut seen_hosts: indexmap::IndexSet<String> = indexmap::IndexSet::new();
    for (group_name, gdata) in &top {
        if group_name == "_meta" {
            match gdata.get("hostvars") {
                Some(Value::Object(hv)) => meta = Some(hv.clone()),
                Some(other) => {
                    return Err(shape_error(
                        path,
                        format!(
                            "_meta.hostvars is a {}, expected an object",
                            type_name(other)
                        ),
                    ));
                }
                None => {}
            }
            continue;
        }
        let group = inv.add_group(group_name);
        let gdata = match gdata {
            Value::Object(m)
                if ["hosts", "vars", "children"]
                    .iter()
                    .any(|k| m.contains_key(*k)) =>
            {
                gdata.clone()
            }
            // Ansible's legacy shapes: a bare list of hosts, or a mapping of vars that makes
            // the group its own sole host.
            Value::Object(m) => serde_json::json!({"hosts": [group_name], "vars": m}),
            other => serde_json::json!({"hosts": other}),
        };
        if let Some(hosts) = gdata.get("hosts") {
            let Value::Array(hosts) = hosts else {
                return Err(shape_error(
                    path,
                    format!(
                        "{group_name}.hosts is a {}, expected a list",
                        type_name(hosts)
                    ),
                ));
            };
            for h in hosts {
                let Value::String(name) = h else {
                    return Err(shape_error(
                        path,
                        format!(
                            "{group_name}.hosts has a {}, expected host name strings",
                            type_name(h)
                        ),
                    ));
                };
                seen_hosts.insert(name.clone());
                inv.add_host(name, Some(group), None, Some(&source));
            }
        }
        if let Some(vars) = gdata.get("vars") {
            let Value::Object(vars) = vars else {
                return Err(shape_error(
                    path,
                    format!(
                        "{group_name}.vars is a {}, expected an object",
                        type_name(vars)
                    ),
                ));
            };
            for (k, v) in vars {
                inv.set_group_var(group, k, v.clone());
            }
        }
        if let Some(children) = gdata.get("children") {
            let Value::Array(children) = children else {
                return Err(shape_error(
                    path,
                    format!(
                        "{group_name}.children is a {}, expected a list",
                        type_name(children)
                    ),
                ));
            };
            for c in children {
                let Value::String(child_name) = c else {
                    return Err(shape_error(
                        path,
                        format!(
                            "{group_name}.children has a {}, expected group names",
                            type_name(c)
                        ),
                    ));
                };
                let child = inv.add_group(child_name);
                inv.add_child(group, child, &Origin::file(path))?;
            }
        }
    }
    for name in seen_hosts {
        let vars = match &meta {
            Some(hv) => hv
                .get(&name)
                .cloned()
                .unwrap_or(Value::Object(Default::default())),
            None => {
                let out = run(path, &["--host", &name])?;
                if out.stdout.trim().is_empty() {
                    Value::Object(Default::default())
                } else {
                    parse_json(path, &out, &format!("the output of --host {name}"))?
                }
            }
        };
        let Value::Object(vars) = vars else {
            return Err(shape_error(
                path,
                format!(
                    "the variables of host {name} are a {}, expected an object",
                    type_name(&vars)
                ),
            ));
        };
        if let Some(h) = inv.host_id(&name) {
            for (k, v) in vars {
                inv.set_var_by_name(h, &k, v);
            }
        }
    }
    Ok(())
}
