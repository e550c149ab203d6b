//! The actions that run on the controller with the engine's state: debug, assert, fail,
//! set_fact, pause, ping-free meta, include_vars, and fact gathering (`setup`).

use crate::modules::{Args, failed, ok};
use crate::template::Templar;
use crate::vars::Vars;
use serde_json::{Value, json};

/// Runs a controller action; `None` if `name` is not one.
pub fn run(
    name: &str,
    args: &Args,
    raw_args: &Vars,
    templar: &Templar,
    vars: &Vars,
) -> Option<Vars> {
    Some(match name {
        "debug" => debug(args, raw_args, templar, vars),
        "fail" => {
            let msg = args
                .get("msg")
                .map(display)
                .unwrap_or_else(|| "Failed as requested from task".into());
            failed(msg)
        }
        "assert" => assert(args, raw_args, templar, vars),
        "set_fact" => {
            let mut facts = args.map.clone();
            facts.shift_remove("cacheable");
            let mut r = ok(false);
            r.insert("ansible_facts".into(), Value::Object(facts));
            r
        }
        "include_vars" => include_vars(args),
        _ => return None,
    })
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn debug(args: &Args, raw_args: &Vars, templar: &Templar, vars: &Vars) -> Vars {
    let mut r = ok(false);
    if let Some(Value::String(var)) = raw_args.get("var") {
        // `var` names an expression, rendered here (not as a template string).
        let expr = format!("{{{{ {var} }}}}");
        let value = match templar.render(&Value::String(expr), vars) {
            Ok(v) => v,
            Err(_) => Value::String("VARIABLE IS NOT DEFINED!".into()),
        };
        r.insert(var.clone(), value);
    } else {
        let msg = args
            .get("msg")
            .cloned()
            .unwrap_or(Value::String("Hello world!".into()));
        r.insert("msg".into(), msg);
    }
    r
}

fn assert(args: &Args, raw_args: &Vars, templar: &Templar, vars: &Vars) -> Vars {
    // `that` holds bare expressions: evaluate the raw text, not a rendered string.
    let that = match raw_args.get("that") {
        Some(Value::Array(items)) => items.clone(),
        Some(v) => vec![v.clone()],
        None => return failed("missing required arguments: that"),
    };
    for cond in &that {
        match templar.condition(cond, vars) {
            Ok(true) => {}
            Ok(false) => {
                let mut r = failed(
                    args.get("fail_msg")
                        .or(args.get("msg"))
                        .map(display)
                        .unwrap_or_else(|| "Assertion failed".into()),
                );
                r.insert("assertion".into(), cond.clone());
                r.insert("evaluated_to".into(), Value::Bool(false));
                r.insert("changed".into(), Value::Bool(false));
                return r;
            }
            Err(e) => {
                let mut r = failed(format!(
                    "The conditional check '{}' failed. The error was: {e}",
                    display(cond)
                ));
                r.insert("changed".into(), Value::Bool(false));
                return r;
            }
        }
    }
    let mut r = ok(false);
    if !args.bool_or("quiet", false).unwrap_or(false) {
        r.insert("_ansible_verbose_always".into(), Value::Bool(true));
    }
    r.insert(
        "msg".into(),
        args.get("success_msg")
            .cloned()
            .unwrap_or(Value::String("All assertions passed".into())),
    );
    r
}

fn include_vars(args: &Args) -> Vars {
    let file = match args
        .str("file")
        .ok()
        .flatten()
        .or(args.str("_raw_params").ok().flatten())
    {
        Some(f) => f,
        None => return failed("include_vars needs a file"),
    };
    let loaded = match crate::inventory::read_vars_file(std::path::Path::new(&file)) {
        Ok(v) => v,
        Err(e) => return failed(e.to_string()),
    };
    let facts = match args.str("name").ok().flatten() {
        Some(name) => {
            let mut m = Vars::new();
            m.insert(name, Value::Object(loaded));
            m
        }
        None => loaded,
    };
    let mut r = ok(false);
    r.insert("ansible_facts".into(), Value::Object(facts));
    r
}

/// The shell script behind `gather_facts`: one command, `key=value` lines.
pub const FACTS_SCRIPT: &str = r#"
echo "hostname=$(hostname 2>/dev/null || uname -n)"
echo "fqdn=$(hostname -f 2>/dev/null || hostname)"
echo "system=$(uname -s)"
echo "kernel=$(uname -r)"
echo "machine=$(uname -m)"
echo "user_id=$(id -un)"
echo "user_uid=$(id -u)"
echo "user_gid=$(id -g)"
echo "user_dir=$HOME"
echo "nproc=$(nproc 2>/dev/null || echo 1)"
echo "memtotal_kb=$(awk '/^MemTotal/ {print $2}' /proc/meminfo 2>/dev/null)"
echo "epoch=$(date +%s)"
echo "python=$(command -v python3 2>/dev/null) $(python3 --version 2>/dev/null)"
if [ -r /etc/os-release ]; then . /etc/os-release; echo "os_id=$ID"; echo "os_like=$ID_LIKE"; echo "os_version=$VERSION_ID"; echo "os_codename=$VERSION_CODENAME"; echo "os_name=$NAME"; fi
echo "end=1"
"#;

/// Why the facts script's output cannot be trusted, if it cannot: it exited non-zero (`sudo`
/// refused, no `/bin/sh`, a broken /etc/os-release), or its first or last line is missing
/// (output cut short). Empty facts would make every `when:` on them false and skip tasks
/// silently; Ansible fails the setup task instead.
pub fn facts_failure(host: &str, rc: i64, stdout: &str, stderr: &str) -> Option<String> {
    let stderr = stderr.trim();
    let detail = if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    };
    if rc != 0 {
        return Some(format!(
            "cannot gather facts on {host}: the facts script exited with rc {rc}{detail}"
        ));
    }
    let has = |key: &str| stdout.lines().any(|l| l.starts_with(key));
    ["hostname=", "system=", "end="]
        .into_iter()
        .find(|key| !has(key))
        .map(|key| {
            format!(
                "cannot gather facts on {host}: the facts script's output has no {key} line{detail}"
            )
        })
}

/// Turns the facts script's output into Ansible's fact names.
pub fn parse_facts(stdout: &str) -> Vars {
    let mut kv = std::collections::HashMap::new();
    for line in stdout.lines() {
        if let Some((k, v)) = line.split_once('=') {
            kv.insert(k.to_string(), v.trim_matches('"').to_string());
        }
    }
    let get = |k: &str| kv.get(k).cloned().unwrap_or_default();
    let os_id = get("os_id");
    let family = match (os_id.as_str(), get("os_like")) {
        ("debian" | "ubuntu", _) => "Debian",
        ("rhel" | "centos" | "fedora" | "rocky" | "almalinux", _) => "RedHat",
        ("alpine", _) => "Alpine",
        ("arch", _) => "Archlinux",
        (_, like) if like.contains("debian") => "Debian",
        (_, like) if like.contains("rhel") || like.contains("fedora") => "RedHat",
        _ => "",
    };
    let distribution = match os_id.as_str() {
        "debian" => "Debian".to_string(),
        "ubuntu" => "Ubuntu".to_string(),
        "centos" => "CentOS".to_string(),
        "rhel" => "RedHat".to_string(),
        "fedora" => "Fedora".to_string(),
        "rocky" => "Rocky".to_string(),
        "alpine" => "Alpine".to_string(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        }
    };
    let version = get("os_version");
    let num = |k: &str| {
        get(k)
            .parse::<u64>()
            .map(Value::from)
            .unwrap_or(Value::Null)
    };
    let hostname = get("hostname");
    json!({
        "hostname": hostname.split('.').next().unwrap_or(""),
        "nodename": hostname,
        "fqdn": get("fqdn"),
        "system": get("system"),
        "kernel": get("kernel"),
        "architecture": get("machine"),
        "machine": get("machine"),
        "user_id": get("user_id"),
        "user_uid": num("user_uid"),
        "user_gid": num("user_gid"),
        "user_dir": get("user_dir"),
        "processor_vcpus": num("nproc"),
        "processor_nproc": num("nproc"),
        "memtotal_mb": get("memtotal_kb").parse::<u64>().map(|k| Value::from(k / 1024)).unwrap_or(Value::Null),
        "os_family": family,
        "distribution": distribution,
        "distribution_version": version,
        "distribution_major_version": version.split('.').next().unwrap_or(""),
        "distribution_release": get("os_codename"),
        "date_time": {"epoch": get("epoch")},
        "python": python_fact(&get("python")),
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// `ansible_python` from `PATH Python X.Y.Z` (empty when the host has no Python).
fn python_fact(line: &str) -> Value {
    let mut words = line.split_whitespace();
    let (Some(path), Some(_), Some(version)) = (words.next(), words.next(), words.next()) else {
        return json!({"executable": Value::Null});
    };
    let parts: Vec<u64> = version.split('.').filter_map(|p| p.parse().ok()).collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or(0);
    json!({
        "executable": path,
        "version": {"major": part(0), "minor": part(1), "micro": part(2),
                    "releaselevel": "final", "serial": 0},
        "type": "cpython",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_from_a_failed_or_cut_short_script_are_refused() {
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", FACTS_SCRIPT])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(facts_failure("h1", 0, &stdout, ""), None, "{stdout}");
        assert!(
            parse_facts(&stdout)["system"]
                .as_str()
                .is_some_and(|s| !s.is_empty())
        );

        let sudo = facts_failure("h1", 1, "", "sudo: a password is required\n").unwrap();
        assert_eq!(
            sudo,
            "cannot gather facts on h1: the facts script exited with rc 1: sudo: a password is required"
        );
        assert_eq!(
            facts_failure("h2", 0, "", "").unwrap(),
            "cannot gather facts on h2: the facts script's output has no hostname= line"
        );
        // Cut short after the os-release part began: no end line.
        let cut = stdout
            .lines()
            .take_while(|l| !l.starts_with("end="))
            .collect::<Vec<_>>()
            .join("\n");
        let msg = facts_failure("h3", 0, &cut, "boom").unwrap();
        assert!(msg.ends_with("has no end= line: boom"), "{msg}");
    }
}
