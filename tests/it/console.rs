//! What `horde apply` and `horde run` print: snapshots of the Ansible-style lines and the
//! recap (default and `-q`), the statistics table's shape, `--color`, `NO_COLOR`, `-vv`.
//! Times are redacted; the progress display is never drawn here (stderr is not a terminal).

use crate::support::{horde, root};
use std::path::Path;

/// A playbook that shows every kind of line on `-i lab:3`: ok, changed, skipped, an ignored
/// failure, a loop, a failure (lab02), and the recap.
const PLAYBOOK: &str = r#"- name: every kind of line
  hosts: all
  gather_facts: false
  tasks:
    - name: ok everywhere
      command: "true"
      changed_when: false
    - name: changed on lab01
      command: "true"
      changed_when: inventory_hostname == 'lab01'
    - name: skipped on lab02
      debug:
        msg: "hello {{ inventory_hostname }}"
      when: inventory_hostname != 'lab02'
    - name: an ignored failure
      command: "false"
      ignore_errors: true
      when: inventory_hostname == 'lab03'
    - name: a loop
      command: "echo {{ item }}"
      loop: [a, b]
      changed_when: false
    - name: lab02 fails
      fail:
        msg: lab02 is broken
      when: inventory_hostname == 'lab02'
    - name: after the failure
      ping:
"#;

fn playbook(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("pb.yml");
    std::fs::write(&p, PLAYBOOK).expect("write the playbook");
    p
}

/// The times in command results (`start`, `end`, `delta`) vary from run to run.
fn redact_times() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r#""(start|end|delta)": "[^"]*""#, r#""$1": "[TIME]""#);
    s
}

// One fork: the hosts run each task one after the other, so their lines come in inventory
// order (with more forks the order is the order they finish in).
#[test]
fn apply_prints_ansible_lines_and_the_recap() {
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(dir.path());
    let run = horde(["apply", "-i", "lab:3", "-f", "1"])
        .arg(&pb)
        .run()
        .expect_code(2);
    redact_times().bind(|| insta::assert_snapshot!("apply_default", run.stdout));
}

#[test]
fn quiet_apply_prints_failures_under_their_task_and_the_recap() {
    let dir = tempfile::tempdir().unwrap();
    let pb = playbook(dir.path());
    let run = horde(["apply", "-i", "lab:3", "-f", "1", "-q"])
        .arg(&pb)
        .run()
        .expect_code(2);
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    redact_times().bind(|| insta::assert_snapshot!("apply_quiet", run.stdout));
}

#[test]
fn the_statistics_table_of_a_fleet_test_has_a_row_per_task() {
    let run = horde([
        "apply",
        "-i",
        "lab:3",
        "-q",
        "--iterations",
        "5",
        "examples/fleet-test.yaml",
    ])
    .current_dir(root())
    .run()
    .expect_code(0);
    let mut s = insta::Settings::clone_current();
    // Each duration is right-aligned in 8 columns, the rate in 9: the placeholders keep them.
    s.add_filter(r" +[0-9][0-9.]*(ns|µs|ms|s)\b", "  [time]");
    s.add_filter(r" +([0-9][0-9.]*|-)\n", "   [rate]\n");
    // Outliers among 3 identical lab hosts are noise, when any.
    s.add_filter(r"  outliers: .*\n", "");
    s.bind(|| insta::assert_snapshot!("fleet_test_quiet", run.stdout));
}

const OK_TASK: &str =
    "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: fine\n      ping:\n";

#[test]
fn color_always_colors_the_lines_as_ansible_does() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yml");
    std::fs::write(&pb, OK_TASK).unwrap();
    let run = horde(["apply", "--color", "always"])
        .arg(&pb)
        .run()
        .expect_code(0);
    assert!(
        run.stdout.contains("\x1b[0;32mok: [localhost]\x1b[0m\n"),
        "{:?}",
        run.stdout
    );
    // The recap: the host by how it did, counts that are not 0.
    assert!(
        run.stdout.contains(
            "\x1b[0;32mlocalhost\x1b[0m                  : \x1b[0;32mok=1   \x1b[0m changed=0    "
        ),
        "{:?}",
        run.stdout
    );
}

#[test]
fn no_color_and_color_never_print_plain_text() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yml");
    std::fs::write(&pb, OK_TASK).unwrap();
    // support::horde sets NO_COLOR=1.
    for extra in [&[][..], &["--color", "never"][..], &["--color", "auto"][..]] {
        let run = horde(["apply"]).args(extra).arg(&pb).run().expect_code(0);
        assert!(run.stdout.contains("ok: [localhost]\n"), "{}", run.stdout);
        assert!(!run.stdout.contains('\x1b'), "{extra:?}: {:?}", run.stdout);
    }
    let run = horde(["apply", "--color", "never"])
        .env_remove("NO_COLOR")
        .arg(&pb)
        .run()
        .expect_code(0);
    assert!(!run.stdout.contains('\x1b'), "{:?}", run.stdout);
}

#[test]
fn very_verbose_shows_each_tasks_path_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let pb = dir.path().join("pb.yml");
    std::fs::write(&pb, OK_TASK).unwrap();
    let run = horde(["apply", "-vv"]).arg(&pb).run().expect_code(0);
    let want = format!("*\ntask path: {}:4\nok: [localhost] => {{", pb.display());
    assert!(run.stdout.contains(&want), "{}", run.stdout);
    let run = horde(["apply", "-v"]).arg(&pb).run().expect_code(0);
    assert!(!run.stdout.contains("task path:"), "{}", run.stdout);
    horde(["apply", "-q", "-v"]).arg(&pb).run().expect_code(5);
}

#[test]
fn quiet_run_prints_only_the_hosts_that_failed() {
    let run = horde(["run", "-i", "lab:2", "all", "-a", "true", "-q"])
        .run()
        .expect_code(0);
    assert_eq!(run.stdout, "");
    let run = horde(["run", "-i", "lab:2", "all", "-a", "false", "-q", "-o"])
        .run()
        .expect_code(2);
    let mut lines: Vec<&str> = run.stdout.lines().filter(|l| l.contains(" | ")).collect();
    lines.sort();
    assert_eq!(lines.len(), 4, "{}", run.stdout);
    assert!(
        lines[0].starts_with("lab01 | FAILED | rc=1 |"),
        "{}",
        run.stdout
    );
    let run = horde([
        "run", "-i", "lab:1", "all", "-a", "echo hi", "--color", "always",
    ])
    .run()
    .expect_code(0);
    assert_eq!(
        run.stdout,
        "\x1b[0;33mlab01 | CHANGED | rc=0 >>\x1b[0m\n\x1b[0;33mhi\x1b[0m\n"
    );
}
