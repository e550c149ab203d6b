//! The files in `examples/` do what their comments say.

use crate::support::{horde, root};

#[test]
fn dynamic_inventory_example_lists_groups_and_vars() {
    let run = horde(["inventory", "-i", "examples/dynamic-inventory.py", "--list"])
        .current_dir(root())
        .run()
        .expect_code(0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(v["workers"]["hosts"].as_array().map(Vec::len), Some(8));
    assert_eq!(v["_meta"]["hostvars"]["worker03"]["ansible_user"], "runner");
    assert_eq!(v["_meta"]["hostvars"]["broker"]["port"], 5672);
    let run = horde([
        "hosts",
        "-i",
        "examples/dynamic-inventory.py",
        "workers:&zone_b",
    ])
    .current_dir(root())
    .run()
    .expect_code(0);
    assert!(
        run.stdout.starts_with("  hosts (4):\n    worker02\n"),
        "{}",
        run.stdout
    );
}

/// The statistics row of a task: its cells after the name (`n`, `fail`, ...).
fn stats_row<'a>(stdout: &'a str, task: &str) -> Vec<&'a str> {
    stdout
        .split("STATISTICS")
        .nth(1)
        .and_then(|t| t.lines().find(|l| l.starts_with(&format!("{task} "))))
        .map(|l| l[task.len()..].split_whitespace().collect())
        .unwrap_or_default()
}

#[test]
fn fleet_test_example_sets_up_tests_100_times_and_tears_down() {
    let run = horde(["apply", "-i", "lab:20", "-v", "examples/fleet-test.yaml"])
        .current_dir(root())
        .run()
        .expect_code(0);
    let probe = stats_row(&run.stdout, "probe");
    assert_eq!(probe.get(..2), Some(&["2000", "0"][..]), "{}", run.stdout);
    // setup's resource is gone after teardown.
    let tenant = run
        .stdout
        .split("\"stdout\": \"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("setup's result is shown with -v");
    assert!(tenant.starts_with("/tmp/horde-tenant."), "{tenant}");
    assert!(
        !std::path::Path::new(tenant).exists(),
        "teardown left {tenant}"
    );
    assert!(run.stdout.contains("TEARDOWN RECAP"));
}

#[test]
fn matrix_example_runs_five_cases_with_one_reconfiguration_each() {
    let run = horde(["apply", "-i", "lab:20", "examples/matrix.yaml"])
        .current_dir(root())
        .run()
        .expect_code(0);
    assert!(
        run.stdout.contains("MATRIX [storage options]: 5 cases"),
        "{}",
        run.stdout
    );
    let reconfigured = run
        .stdout
        .matches("TASK [reconfigure once for everyone]")
        .count();
    assert_eq!(reconfigured, 5, "{}", run.stdout);
    assert!(!run.stdout.contains("case block=1m,mode=sync"));
    let one = horde([
        "apply",
        "-i",
        "lab:3",
        "examples/matrix.yaml",
        "--case",
        "block=64k,mode=async",
    ])
    .current_dir(root())
    .run()
    .expect_code(0);
    assert!(
        one.stdout
            .contains("PLAY [storage options] case block=64k,mode=async")
    );
    assert!(one.stdout.contains("MATRIX [storage options]: 1 case "));
}

#[test]
fn events_example_keeps_its_schedule_beside_the_workload() {
    let run = horde(["apply", "-i", "lab:20", "examples/events.yaml"])
        .current_dir(root())
        .run()
        .expect_code(0);
    let health = stats_row(&run.stdout, "event: health: shell");
    // every 1 s for 4 s from the start: 4 runs per host, or 5 at the edge.
    let n: usize = health.first().and_then(|n| n.parse().ok()).unwrap_or(0);
    assert!((80..=100).contains(&n), "{}", run.stdout);
    let report = stats_row(&run.stdout, "event: report: shell");
    assert_eq!(report.first(), Some(&"40"), "at startup and at teardown");
    assert_eq!(
        stats_row(&run.stdout, "teardown: archive the logs").get(..2),
        Some(&["20", "0"][..])
    );
}
