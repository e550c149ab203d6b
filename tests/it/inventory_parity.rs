//! Parity with Ansible: for every fixture under `tests/fixtures/inventory/`, the real
//! `ansible-inventory` (--list, --list --export, --graph, --host) and Ansible's own pattern
//! evaluation (through `tests/parity/ansible_oracle.py`) against `horde inventory` and
//! `horde hosts`.
//!
//! Needs ansible-core in a virtualenv: `scripts/test` makes one at `target/parity-venv`;
//! `HORDE_ANSIBLE_PYTHON` points at another interpreter.

use crate::support::{fixture, fixture_args, fixture_dirs, horde, root};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ansible_python() -> PathBuf {
    let path = std::env::var_os("HORDE_ANSIBLE_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/parity-venv/bin/python"));
    assert!(
        path.exists(),
        "ansible-core is needed for the parity suite: run scripts/test (it makes {}), or set HORDE_ANSIBLE_PYTHON",
        path.display()
    );
    path
}

/// Patterns to try on each fixture, from tests/fixtures/inventory/PATTERNS and
/// PATTERNS-ERRORS (`FIXTURE<TAB>PATTERN` lines).
fn patterns(file: &str) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(fixture("inventory").join(file)).expect("patterns file");
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let (fixture, pattern) = line.split_once('\t').expect("FIXTURE<TAB>PATTERN");
        map.entry(fixture.to_string())
            .or_default()
            .push(pattern.to_string());
    }
    map
}

/// Equality of loaded values, allowing the one documented difference: integers beyond 64
/// bits, which horde keeps as floats.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) if x != y => {
            let big = |n: &serde_json::Number| {
                n.is_f64() && n.as_f64().is_some_and(|f| f.abs() >= 1.8e19)
            };
            (big(x) || big(y)) && x.as_f64() == y.as_f64()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| Value::String(format!("not JSON ({e}): {text}")))
}

struct Outcome {
    mismatches: Vec<String>,
    checks: usize,
    patterns: usize,
}

fn check_fixture(dir: &Path, pats: &[String], python: &Path) -> Outcome {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut out = Outcome {
        mismatches: vec![],
        checks: 0,
        patterns: pats.len(),
    };
    let oracle = Command::new(python)
        .arg(root().join("tests/parity/ansible_oracle.py"))
        .arg(dir)
        .args(pats)
        .output()
        .expect("oracle runs");
    assert!(
        oracle.status.success(),
        "{name}: oracle failed: {}",
        String::from_utf8_lossy(&oracle.stderr)
    );
    let oracle: Value = serde_json::from_slice(&oracle.stdout).expect("oracle prints JSON");
    let args = fixture_args(dir);
    let mut fail = |what: &str, ours: &dyn std::fmt::Debug, theirs: &dyn std::fmt::Debug| {
        out.mismatches.push(format!(
            "{name}: {what}\n  horde:   {ours:?}\n  ansible: {theirs:?}"
        ));
    };

    for (what, extra) in [
        ("list", vec!["--list"]),
        ("list_export", vec!["--list", "--export"]),
    ] {
        let run = horde(["inventory"])
            .args(&args)
            .args(&extra)
            .current_dir(dir)
            .run();
        out.checks += 1;
        let ours = json(&run.stdout);
        if !same(&ours, &oracle[what]) {
            fail(what, &ours, &oracle[what]);
        }
    }
    let run = horde(["inventory", "--list", "--yaml"])
        .args(&args)
        .current_dir(dir)
        .run();
    out.checks += 1;
    let ours = horde::yaml::load(&run.stdout)
        .ok()
        .flatten()
        .map_or(Value::Null, |n| n.to_value());
    if !same(&ours, &oracle["list_yaml"]) {
        fail("list --yaml", &ours, &oracle["list_yaml"]);
    }
    let run = horde(["inventory", "--graph"])
        .args(&args)
        .current_dir(dir)
        .run();
    out.checks += 1;
    if Some(run.stdout.as_str()) != oracle["graph"].as_str() {
        fail("graph", &run.stdout, &oracle["graph"]);
    }
    for (host, theirs) in oracle["host"].as_object().into_iter().flatten() {
        let run = horde(["inventory", "--host", host])
            .args(&args)
            .current_dir(dir)
            .run();
        out.checks += 1;
        let ours = json(&run.stdout);
        if !same(&ours, theirs) {
            fail(&format!("--host {host}"), &ours, theirs);
        }
    }
    let unstable: Vec<&str> = oracle["patterns_order_unstable"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for pattern in pats {
        let theirs = &oracle["patterns"][pattern];
        let run = horde(["hosts"])
            .args(&args)
            .args([pattern])
            .current_dir(dir)
            .run();
        out.checks += 1;
        if theirs.get("error").is_some() {
            if run.code != Some(1) {
                fail(
                    &format!("pattern {pattern:?} (Ansible: error)"),
                    &run.stdout,
                    theirs,
                );
            }
            continue;
        }
        let mut ours: Vec<String> = run
            .stdout
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .collect();
        let mut expected: Vec<String> = theirs
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        if unstable.contains(&pattern.as_str()) {
            ours.sort();
            expected.sort();
        }
        let header_ok = run
            .stdout
            .starts_with(&format!("  hosts ({}):\n", expected.len()));
        if ours != expected || !header_ok || run.code != Some(0) {
            fail(&format!("pattern {pattern:?}"), &ours, &expected);
        }
    }
    out
}

#[test]
fn horde_reads_every_fixture_as_ansible_does() {
    let python = ansible_python();
    let mut pats = patterns("PATTERNS");
    for (k, v) in patterns("PATTERNS-ERRORS") {
        pats.entry(k).or_default().extend(v);
    }
    let dirs = fixture_dirs("inventory");
    assert!(
        dirs.len() >= 30,
        "at least 30 inventory fixtures, found {}",
        dirs.len()
    );
    let total_patterns: usize = pats.values().map(Vec::len).sum();
    assert!(
        total_patterns >= 100,
        "at least 100 patterns, found {total_patterns}"
    );
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(dir) = dirs.get(i) else { break };
                    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
                    let p = pats.get(&name).cloned().unwrap_or_default();
                    let outcome = check_fixture(dir, &p, &python);
                    results.lock().unwrap().push(outcome);
                }
            });
        }
    });
    let results = results.into_inner().unwrap();
    let checks: usize = results.iter().map(|o| o.checks).sum();
    let patterns_run: usize = results.iter().map(|o| o.patterns).sum();
    let mismatches: Vec<&String> = results.iter().flat_map(|o| &o.mismatches).collect();
    eprintln!(
        "parity: {} fixtures, {patterns_run} patterns, {checks} comparisons, {} mismatches",
        dirs.len(),
        mismatches.len()
    );
    assert!(
        patterns_run >= 100,
        "only {patterns_run} patterns ran: fixture names in PATTERNS must match"
    );
    assert!(
        mismatches.is_empty(),
        "{}",
        mismatches
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}
