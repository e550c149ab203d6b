//! Malformed inventories: each gets exit code 1 and a message naming the input (the EXPECT
//! file of each fixture holds substrings the message must contain, one a line), never a
//! panic.

use crate::support::{fixture_args, fixture_dirs, horde};

#[test]
fn every_malformed_inventory_is_a_clear_error() {
    let mut failures = Vec::new();
    let dirs = fixture_dirs("inventory-bad");
    assert!(
        dirs.len() >= 12,
        "expected at least 12 malformed fixtures, found {}",
        dirs.len()
    );
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let expect = std::fs::read_to_string(dir.join("EXPECT")).unwrap_or_default();
        let run = horde(["inventory", "--list"])
            .args(fixture_args(&dir))
            .current_dir(&dir)
            .run();
        if run.code != Some(1) {
            failures.push(format!(
                "{name}: exit {:?}, expected 1\n{}",
                run.code, run.stderr
            ));
            continue;
        }
        if run.stderr.contains("panicked") {
            failures.push(format!("{name}: panicked\n{}", run.stderr));
        }
        if !run.stdout.is_empty() {
            failures.push(format!("{name}: printed an inventory despite the error"));
        }
        for needle in expect.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if !run.stderr.contains(needle) {
                failures.push(format!("{name}: message lacks {needle:?}:\n{}", run.stderr));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn a_missing_inventory_option_is_a_usage_error() {
    let run = horde(["hosts", "all"]).run().expect_code(5);
    assert!(run.stderr.contains("-i"), "{}", run.stderr);
}

#[test]
fn an_unmatched_pattern_warns_like_ansible() {
    let run = horde(["hosts", "-i", "a,b", "nosuch"]).run().expect_code(0);
    assert!(
        run.stderr
            .contains("[WARNING]: Could not match supplied host pattern, ignoring: nosuch")
    );
    assert_eq!(run.stdout, "  hosts (0):\n");
}

#[test]
fn an_out_of_range_subscript_is_an_error() {
    let run = horde(["hosts", "-i", "a,b", "ungrouped[5]"])
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("ungrouped[5]"), "{}", run.stderr);
}

#[test]
fn a_script_whose_background_process_holds_its_output_is_read_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("inv.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nsleep 30 &\necho $! > sleep.pid\necho '{\"web\": {\"hosts\": [\"w1\"]}, \"_meta\": {\"hostvars\": {}}}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let started = std::time::Instant::now();
    let run = horde(["inventory", "-i", "inv.sh", "--graph"])
        .current_dir(dir.path())
        .run();
    let elapsed = started.elapsed();
    let pid = std::fs::read_to_string(dir.path().join("sleep.pid")).unwrap();
    let _ = std::process::Command::new("kill").arg(pid.trim()).status();
    let run = run.expect_code(0);
    assert!(elapsed.as_secs() < 10, "took {elapsed:?}");
    assert!(run.stdout.contains("|--w1"), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("inv.sh: the script exited but a background process still holds its output"),
        "{}",
        run.stderr
    );
}
