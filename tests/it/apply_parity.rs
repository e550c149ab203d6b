//! Playbook parity with Ansible: every playbook under `tests/parity/playbooks/` runs with
//! the real ansible-playbook and with `horde apply` on the same real-sshd fleet, and the exit
//! code, the recap of every run and the files left on every host must be equal
//! (`tests/parity/playbook_parity.py compare`; see tests/parity/README.md).
//!
//! Needs ansible-core in `target/parity-venv` (made by `scripts/test`).

use crate::fleet::Fleet;
use crate::support::root;
use std::path::PathBuf;
use std::process::Command;

fn playbooks(range: std::ops::RangeInclusive<u32>) -> Vec<PathBuf> {
    let dir = root().join("tests/parity/playbooks");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/parity/playbooks")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.get(..2)
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| range.contains(&n))
        })
        .collect();
    out.sort();
    out
}

/// Runs the comparison for the playbooks numbered in `range` on a fleet of its own.
fn compare(range: std::ops::RangeInclusive<u32>) {
    let venv = root().join("target/parity-venv");
    assert!(
        venv.join("bin/ansible-playbook").exists(),
        "ansible-core is needed for the parity suite: run scripts/test (it makes {})",
        venv.display()
    );
    let books = playbooks(range.clone());
    assert!(!books.is_empty(), "no parity playbooks numbered {range:?}");
    let fleet = Fleet::start(3);
    let out = Command::new("python3")
        .arg(root().join("tests/parity/playbook_parity.py"))
        .arg("compare")
        .arg("--fleet")
        .arg(&fleet.dir)
        .arg("--venv")
        .arg(&venv)
        .arg("--horde")
        .arg(env!("CARGO_BIN_EXE_horde"))
        .args(&books)
        // horde's results directories go under target/, never into the repository.
        .env(
            "HORDE_RESULTS_ROOT",
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("horde-results"),
        )
        .output()
        .expect("python3 runs the parity driver");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "horde and ansible-playbook differ ({:?}):\n{stdout}\n{stderr}",
        out.status
    );
}

#[test]
fn playbooks_01_to_12_match_ansible() {
    compare(1..=12);
}

#[test]
fn playbooks_13_to_24_match_ansible() {
    compare(13..=24);
}

#[test]
fn playbooks_25_to_36_match_ansible() {
    compare(25..=36);
}

#[test]
fn playbooks_37_to_99_match_ansible() {
    compare(37..=99);
}
