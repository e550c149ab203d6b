//! `horde apply` from the command line: load errors with positions, listings, the local
//! connection, the demo playbook on the embedded lab (twice: the second run changes
//! nothing). Parity with ansible-playbook on the sshd fleet is in `apply_parity.rs`.

use crate::support::{horde, root};
use std::path::Path;

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write a playbook");
    p
}

#[test]
fn a_misspelt_module_is_refused_with_its_position_and_the_near_miss() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- hosts: all\n  tasks:\n    - name: list\n      comand: ls\n",
    );
    let run = horde(["apply", "-i", "localhost,"])
        .arg(&pb)
        .run()
        .expect_code(4);
    let want = format!("{}:4:7", pb.display());
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean \"command\""),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty(), "nothing ran: {}", run.stdout);
}

#[test]
fn a_wrong_argument_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch {}\n    - copy: {{dest: /tmp/x, contnet: a}}\n",
            marker.display()
        ),
    );
    let run = horde(["apply"]).arg(&pb).run().expect_code(4);
    assert!(run.stderr.contains(":5:"), "{}", run.stderr);
    assert!(run.stderr.contains("\"contnet\""), "{}", run.stderr);
    assert!(!marker.exists(), "the first task must not have run");
}

#[test]
fn an_undefined_variable_names_the_variable_and_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: use it\n      debug:\n        msg: \"{{ nosuchvar }}\"\n",
    );
    let run = horde(["apply"]).arg(&pb).run().expect_code(2);
    assert!(run.stdout.contains("nosuchvar"), "{}", run.stdout);
    assert!(run.stdout.contains("use it"), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "localhost                  : ok=0    changed=0    unreachable=0    failed=1"
        ),
        "{}",
        run.stdout
    );
}

/// Non-ASCII templates render, and a template error or a size too large to build fails
/// its task: the run goes on and reports both (these used to end the run with a panic or
/// an abort).
#[test]
fn malformed_templates_fail_their_task_not_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: \"{{ 'café' | upper }} {{ \\\"‘x’\\\" }}\"\n    - debug:\n        msg: \"{{ 'a' | center(10**17) }}\"\n      ignore_errors: true\n    - name: quotes\n      debug:\n        msg: \"{{ ‘hi’ }}\"\n",
    );
    let run = horde(["apply"]).arg(&pb).run().expect_code(2);
    assert!(run.stdout.contains("CAFÉ ‘x’"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("center width 100000000000000000 is too large"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("{{ ‘hi’ }}"), "{}", run.stdout);
    assert!(
        run.stdout.contains("localhost                  : ok=2 "),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("failed=1"), "{}", run.stdout);
}

#[test]
fn local_tasks_change_files_and_the_recap_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.txt");
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: localhost
  gather_facts: false
  vars:
    dest: {}
  tasks:
    - name: write
      copy:
        content: "v={{{{ value }}}}\n"
        dest: "{{{{ dest }}}}"
        mode: "0600"
      notify: done
    - name: read back
      command: cat {{{{ dest }}}}
      register: out
      changed_when: false
    - assert:
        that: out.stdout == 'v=42'
  handlers:
    - name: done
      command: "true"
"#,
            target.display()
        ),
    );
    let run = horde(["apply", "-e", "value=42"])
        .arg(&pb)
        .run()
        .expect_code(0);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "v=42\n");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        run.stdout.contains("RUNNING HANDLER [done]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("localhost                  : ok=4    changed=2 "),
        "{}",
        run.stdout
    );
    // The second run changes nothing and notifies nobody.
    let again = horde(["apply", "-e", "value=42"])
        .arg(&pb)
        .run()
        .expect_code(0);
    assert!(
        !again.stdout.contains("RUNNING HANDLER"),
        "{}",
        again.stdout
    );
    assert!(
        again
            .stdout
            .contains("localhost                  : ok=3    changed=0 "),
        "{}",
        again.stdout
    );
}

/// Facts that cannot be gathered (here su refuses nobody, whose shell is nologin) fail the
/// setup task; they used to come back empty and `when:` on them skipped tasks silently.
#[test]
fn facts_that_cannot_be_gathered_fail_the_host() {
    if !std::fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("nobody:") && l.ends_with("nologin"))
        || !std::process::Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout == b"0\n")
    {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- hosts: localhost\n  become: true\n  become_method: su\n  become_user: nobody\n  tasks:\n    - name: on linux\n      debug:\n        msg: linux\n      when: ansible_system == 'Linux'\n",
    );
    let run = horde(["apply"]).arg(&pb).run().expect_code(2);
    assert!(
        run.stdout
            .contains("cannot gather facts on localhost: the facts script exited with rc 1"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("skipping"), "{}", run.stdout);
}

#[test]
fn list_tasks_and_syntax_check_do_not_run_anything() {
    let dir = tempfile::tempdir().unwrap();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- name: p\n  hosts: all\n  tasks:\n    - name: one\n      command: 'false'\n      tags: [a]\n    - block:\n        - name: two\n          command: 'false'\n      tags: [b]\n",
    );
    let run = horde(["apply", "-i", "h1,h2,", "--list-tasks"])
        .arg(&pb)
        .run()
        .expect_code(0);
    assert!(run.stdout.contains("play #1 (all): p"), "{}", run.stdout);
    assert!(
        run.stdout.contains("      one\tTAGS: [a]"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("      two\tTAGS: [b]"),
        "{}",
        run.stdout
    );
    let run = horde(["apply", "-i", "h1,h2,", "--list-hosts"])
        .arg(&pb)
        .run()
        .expect_code(0);
    assert!(run.stdout.contains("hosts (2):"), "{}", run.stdout);
    horde(["apply", "--syntax-check"])
        .arg(&pb)
        .run()
        .expect_code(0);
}

#[test]
fn the_demo_playbook_configures_the_lab_and_a_second_run_changes_nothing() {
    let demo = root().join("playbooks/demo.yaml");
    // Each horde process gets a fresh lab, so idempotence is checked by applying the
    // playbook twice in one run (its plays keep their own directory for templates/).
    let dir = tempfile::tempdir().unwrap();
    let twice = write(
        dir.path(),
        "twice.yml",
        &format!(
            "- import_playbook: {}\n- import_playbook: {}\n",
            demo.display(),
            demo.display()
        ),
    );
    let run = horde(["apply", "-i", "lab:3"])
        .arg(&twice)
        .run()
        .expect_code(0);
    // The first pass changes 4 things per host (directory, template, script, handler).
    for h in ["lab01", "lab02", "lab03"] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.starts_with(h) && l.contains("ok="))
            .unwrap_or_else(|| panic!("no recap line for {h}: {}", run.stdout));
        assert!(line.contains("failed=0"), "{line}");
        assert!(line.contains("changed=4 "), "{line}");
    }
    // The second pass shows no change at all.
    let second = run
        .stdout
        .rsplit("PLAY [Configure and verify the demo service]")
        .next()
        .unwrap();
    assert!(!second.contains("changed: ["), "{second}");
}

/// `file recurse` on a fleet host as a user who may not chown to root, nor read every
/// directory: the task fails with the command's message, as Ansible's does (it said
/// changed, every run).
#[test]
fn file_recurse_fails_when_a_chown_or_the_listing_fails() {
    use std::os::unix::fs::PermissionsExt;
    let fleet = crate::fleet::Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id")
            .args([flag, &fleet.user])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    };
    // The top directory is root's already; a file under it is the login user's.
    let top = tempfile::Builder::new()
        .prefix("horde-recurse-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = top.path().join("f");
    std::fs::write(&file, "x").unwrap();
    std::os::unix::fs::chown(&file, Some(id("-u")), Some(id("-g"))).unwrap();
    let apply = |args: &str| {
        let pb = write(
            dir.path(),
            "pb.yml",
            &format!(
                "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - file: {{path: {}, recurse: true, {args}}}\n",
                top.path().display()
            ),
        );
        horde(["apply", "-i"])
            .arg(fleet.inventory_ini())
            .arg("--known-hosts")
            .arg(fleet.known_hosts())
            .arg(&pb)
            .run()
            .expect_code(2)
    };
    let run = apply("owner: root");
    assert!(run.stdout.contains("chown failed: "), "{}", run.stdout);
    assert!(
        run.stdout.contains("Operation not permitted"),
        "{}",
        run.stdout
    );
    // A directory the user cannot read: the modes under it cannot be listed.
    let sub = top.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
    let run = apply("mode: u+r");
    assert!(
        run.stdout.contains("cannot list the modes under"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Permission denied"), "{}", run.stdout);
}

#[test]
fn ctrl_c_stops_the_remote_commands_and_exits_99() {
    let fleet = crate::fleet::Fleet::start(2);
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("sleep {}", 40000 + std::process::id() % 10000);
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!("- hosts: fleet\n  gather_facts: false\n  tasks:\n    - command: {marker}\n"),
    );
    let mut child = horde(["apply", "-i"])
        .arg(fleet.inventory_ini())
        .arg("--known-hosts")
        .arg(fleet.known_hosts())
        .arg(&pb)
        .spawn();
    crate::support::wait_until(15, "the remote commands did not start", || {
        crate::support::processes_running(&marker) == 2
    });
    assert_eq!(crate::support::interrupt(&mut child, 8), Some(99));
    crate::support::wait_until(5, "the remote command still runs after Ctrl-C", || {
        crate::support::processes_running(&marker) == 0
    });
}
