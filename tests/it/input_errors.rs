//! Malformed numbers in flags, playbooks, inventories and template results: a message that
//! names the input (the flag; file:line:column and key; host and variable; the task's key),
//! never a panic.

use crate::support::horde;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a test file");
    p
}

const RANGE: &str = "is not a number of seconds from 0 to 3153600000 (100 years)";

#[test]
fn seconds_flags_out_of_range_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(dir.path(), "pb.yml", "- hosts: all\n  tasks: []\n");
    let pb = pb.to_str().unwrap();
    let adhoc: &[&str] = &["run", "-i", "lab:1", "all", "-a", "true"];
    let apply: &[&str] = &["apply", "-i", "lab:1", pb];
    for (command, flag, value) in [
        (adhoc, "--timeout", "1e20"),
        (adhoc, "--timeout", "0"),
        (adhoc, "--command-timeout", "inf"),
        (adhoc, "--command-timeout", "-1"),
        (apply, "--run-timeout", "1e20"),
        (apply, "--duration", "99999999999d"),
    ] {
        let run = horde(command)
            .arg(format!("{flag}={value}"))
            .run()
            .expect_code(5);
        let want = format!("invalid value '{value}' for '");
        assert!(
            run.stderr.contains(&want) && run.stderr.contains(flag),
            "{flag} {value}: {}",
            run.stderr
        );
    }
}

#[test]
fn a_playbook_duration_past_100_years_is_refused_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- hosts: all\n  teardown_timeout: 1e20\n  tasks: []\n",
    );
    let run = horde(["apply", "--syntax-check"])
        .arg(&pb)
        .run()
        .expect_code(4);
    let want = format!(
        "{}:2:21: teardown_timeout: \"1e20\": 1e20 {RANGE}",
        pb.display()
    );
    assert!(run.stderr.contains(&want), "{}", run.stderr);
}

#[test]
fn an_inventory_timeout_out_of_range_names_the_host_and_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(
        dir.path(),
        "hosts.ini",
        "h1 ansible_host=127.0.0.1 ansible_timeout=-1\nh2 ansible_host=127.0.0.1 ansible_ssh_timeout=1e20\n",
    );
    let run = horde(["run", "-i"])
        .arg(&inv)
        .args(["all", "-a", "true"])
        .run()
        .expect_code(2);
    // Each host's own message, under its name.
    for (host, msg) in [
        ("h1", format!("ansible_timeout: -1 {RANGE}")),
        ("h2", format!("ansible_ssh_timeout: 1e20 {RANGE}")),
    ] {
        let block = run
            .stdout
            .split(&format!("{host} | FAILED! =>"))
            .nth(1)
            .and_then(|b| b.split("\n}").next())
            .unwrap_or_default();
        assert!(
            block.contains(&msg),
            "{host}: {}\n{}",
            run.stdout,
            run.stderr
        );
    }
}

#[test]
fn waits_from_task_keys_past_100_years_fail_the_task_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: pause module
      pause: seconds=1e20
      ignore_errors: true
    - name: loop pause
      debug: msg={{ item }}
      loop: [1, 2]
      loop_control: {pause: 1e20}
      ignore_errors: true
    - name: until delay
      command: "true"
      until: false
      retries: 1
      delay: 1e20
      ignore_errors: true
    - name: task timeout
      command: "true"
      timeout: inf
      ignore_errors: true
    - name: after them
      debug: {msg: still running}
"#,
    );
    let run = horde(["apply", "-i", "lab:1"])
        .arg(&pb)
        .run()
        .expect_code(0);
    for msg in [
        format!("pause: 1e20 {RANGE}"),
        format!("loop_control.pause: 1e20 {RANGE}"),
        format!("delay: 1e20 {RANGE}"),
        format!("timeout: inf {RANGE}"),
        "still running".to_string(),
    ] {
        assert!(run.stdout.contains(&msg), "{msg}\n{}", run.stdout);
    }
    assert!(run.stdout.contains("ignored=4"), "{}", run.stdout);
}

#[test]
fn a_huge_retries_retries_until_the_condition_holds_and_a_non_int_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        r#"- hosts: all
  gather_facts: false
  tasks:
    - name: counts to 3
      shell: echo x >> count; wc -l < count
      register: out
      until: out.stdout | int >= 3
      retries: 1.0e+30
      delay: 0
    - debug: var=out.attempts
    - name: not a whole number
      command: "true"
      until: false
      retries: "{{ item }}"
      loop: [many, 1e30]
      ignore_errors: true
"#,
    );
    let run = horde(["apply", "-i", "lab:1"])
        .arg(&pb)
        .run()
        .expect_code(0);
    assert!(
        run.stdout.contains("\"out.attempts\": 3"),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
    // As Python's int(): "1e30" (a string in YAML 1.1, as in Ansible) is no int.
    for word in ["many", "1e30"] {
        let msg = format!(r#""msg": "retries: \"{word}\" is not a whole number""#);
        assert!(run.stdout.contains(&msg), "{msg}\n{}", run.stdout);
    }
}

#[test]
fn iterations_past_u32_are_refused_and_u32_max_runs_without_preallocating() {
    let dir = tempfile::tempdir().unwrap();
    let run = horde(["apply", "-i", "lab:1", "--iterations=4294967296", "pb.yml"])
        .run()
        .expect_code(5);
    assert!(
        run.stderr
            .contains("invalid value '4294967296' for '--iterations <N>'"),
        "{}",
        run.stderr
    );
    let templated = write(
        dir.path(),
        "templated.yml",
        "- hosts: all\n  gather_facts: false\n  tasks:\n    - command: \"true\"\n      iterations: \"{{ 2 ** 32 }}\"\n",
    );
    let run = horde(["apply", "-i", "lab:1"])
        .arg(&templated)
        .run()
        .expect_code(2);
    assert!(
        run.stdout
            .contains("iterations must be a whole number from 1 to 4294967295, not 4294967296"),
        "{}",
        run.stdout
    );
    // u32::MAX iterations: they start (nothing is sized by the count) and run until
    // --run-timeout, in either strategy.
    for strategy in ["linear", "shuffle"] {
        let pb = write(
            dir.path(),
            &format!("{strategy}.yml"),
            &format!(
                "- hosts: all\n  gather_facts: false\n  strategy: {strategy}\n  tasks:\n    - command: \"true\"\n      iterations: 3\n"
            ),
        );
        let run = horde(["apply", "-i", "lab:1", "--iterations", "4294967295"])
            .args(["--run-timeout", "1s"])
            .arg(&pb)
            .run()
            .expect_code(2);
        assert!(
            run.stderr.contains("the run reached --run-timeout"),
            "{strategy}: {}",
            run.stderr
        );
        if strategy == "shuffle" {
            assert!(
                run.stderr
                    .contains("4294967295 iterations would make more than"),
                "{}",
                run.stderr
            );
        }
    }
}

#[test]
fn forks_out_of_range_are_refused_naming_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(dir.path(), "pb.yml", "- hosts: all\n  tasks: []\n");
    for value in ["3000000000000000000", "1000001", "0"] {
        for command in [
            vec!["run", "-i", "lab:1", "all", "-a", "true"],
            vec!["apply", "-i", "lab:1", pb.to_str().unwrap()],
        ] {
            let run = horde(&command).args(["-f", value]).run().expect_code(5);
            let want = format!("invalid value '{value}' for '--forks <FORKS>': ");
            assert!(run.stderr.contains(&want), "{}", run.stderr);
            assert!(run.stderr.contains("1..=1000000"), "{}", run.stderr);
        }
    }
}
