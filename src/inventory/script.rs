//! Dynamic inventory scripts: an executable run with `--list` that prints Ansible's
//! inventory JSON, with `_meta.hostvars`, or answering `--host NAME` for each host when
//! `_meta` is absent.

use super::error::{ErrorKind, InventoryError, Origin};
use super::model::Inventory;
use serde_json::Value;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a script may run before it is killed and reported.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// How long to wait for the end of the output once the script has exited. All it wrote is in
/// the pipes by then; only a background process it left behind can keep them open longer.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Why the output of a script may be cut short: see [`EXIT_GRACE`].
const HELD_OUTPUT: &str = "the script exited but a background process still holds its output";

struct Output {
    stdout: String,
    stderr: String,
    /// A background process still held the pipes after the script exited, so the output is
    /// what had arrived by then.
    held: bool,
}

/// One output pipe, read on its own thread into a buffer that can be taken before EOF.
/// Once taken (`None`), the thread stops at its next read.
struct Capture(Arc<Mutex<Option<Vec<u8>>>>);

impl Capture {
    /// Reads `pipe` until EOF, then sends on `eof`.
    fn start(pipe: Option<impl Read + Send + 'static>, eof: mpsc::Sender<()>) -> Capture {
        let buf = Arc::new(Mutex::new(Some(Vec::new())));
        let shared = Arc::clone(&buf);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            if let Some(mut pipe) = pipe {
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) => break,
                        Ok(n) => match shared
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .as_mut()
                        {
                            Some(buf) => buf.extend_from_slice(&chunk[..n]),
                            None => return,
                        },
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                        Err(_) => break,
                    }
                }
            }
            let _ = eof.send(());
        });
        Capture(buf)
    }

    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .unwrap_or_default()
    }
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
        .map_err(|e| InventoryError::read(path, "inventory source", e))?;
    let (eof, eofs) = mpsc::channel();
    let out_capture = Capture::start(child.stdout.take(), eof.clone());
    let err_capture = Capture::start(child.stderr.take(), eof);
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
            Err(e) => return Err(InventoryError::read(path, "inventory source", e)),
        }
    };
    // Both pipes at EOF, or the grace is over: then a background process holds them, and it
    // is not waited for (Ansible would wait for it; a hang helps no one).
    let grace_end = Instant::now() + EXIT_GRACE;
    let mut open = 2;
    while open > 0 {
        match eofs.recv_timeout(grace_end.saturating_duration_since(Instant::now())) {
            Ok(()) => open -= 1,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => break,
        }
    }
    let held = open > 0;
    let stdout = out_capture.take();
    let stderr = String::from_utf8_lossy(&err_capture.take()).into_owned();
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
    Ok(Output {
        stdout,
        stderr,
        held,
    })
}

fn parse_json(path: &Path, out: &Output, what: &str) -> Result<Value, InventoryError> {
    serde_json::from_str(&out.stdout).map_err(|e| {
        InventoryError::new(
            Origin::file(path),
            ErrorKind::ScriptJson {
                message: format!(
                    "{what}: line {} column {}: {e}{}",
                    e.line(),
                    e.column(),
                    if out.held {
                        format!(" ({HELD_OUTPUT})")
                    } else {
                        String::new()
                    }
                ),
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

/// Runs the script and adds what it prints to `inv`; `warn` receives a warning when a
/// background process the script left still held its output.
pub fn parse(
    inv: &mut Inventory,
    path: &Path,
    warn: &mut dyn FnMut(String),
) -> Result<(), InventoryError> {
    let mut call = |args: &[&str]| {
        let out = run(path, args)?;
        if out.held {
            warn(format!(
                "{}: {HELD_OUTPUT}; using what `{} {}` printed before it exited",
                path.display(),
                path.display(),
                args.join(" ")
            ));
        }
        Ok::<_, InventoryError>(out)
    };
    let out = call(&["--list"])?;
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
                let out = call(&["--host", &name])?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_background_process_holding_the_output_does_not_hang() {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("inv.sh");
        let pid_file = dir.path().join("sleep.pid");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nsleep 30 &\necho $! > '{}'\necho '{{\"web\": [\"w1\"], \"_meta\": {{\"hostvars\": {{}}}}}}'\n",
                pid_file.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut inv = Inventory::new();
        let mut warnings = Vec::new();
        let started = Instant::now();
        let result = parse(&mut inv, &script, &mut |w| warnings.push(w));
        let elapsed = started.elapsed();
        let pid = std::fs::read_to_string(&pid_file).unwrap();
        let _ = Command::new("kill").arg(pid.trim()).status();
        result.unwrap();
        assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
        assert!(inv.host_id("w1").is_some());
        assert_eq!(
            warnings,
            [format!(
                "{0}: the script exited but a background process still holds its output; using what `{0} --list` printed before it exited",
                script.display()
            )]
        );
    }
}
