//! Commands on the sshd fleet that do not follow horde's framing: input they leave unread,
//! output a background process writes late, a become password sudo does not ask for,
//! output without end. Nothing of one task may run as a command, show up in the next
//! task's output, reach a command as its input, or grow horde's memory without limit.

use crate::fleet::Fleet;
use crate::support::{Run, horde};
use std::path::{Path, PathBuf};

/// `horde apply` of `playbook` on the fleet (its hosts are the group `fleet`).
fn apply(fleet: &Fleet, dir: &Path, playbook: &str) -> Run {
    let pb = dir.join("pb.yml");
    std::fs::write(&pb, playbook).expect("write the playbook");
    horde(["apply", "-i"])
        .arg(fleet.inventory_ini())
        .arg("--known-hosts")
        .arg(fleet.known_hosts())
        .arg(&pb)
        .run()
}

/// A path under /tmp that the fleet's login user can write (the hosts are this machine),
/// removed now and when dropped.
struct HostPath(PathBuf);

impl HostPath {
    fn new(name: &str) -> HostPath {
        let p = PathBuf::from(format!("/tmp/horde-it-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&p);
        HostPath(p)
    }

    fn show(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for HostPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn input_a_command_does_not_read_is_never_run_by_the_shell() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let pwned = HostPath::new("pwned");
    // 200 KiB, far more than a pipe holds: `true` reads none of it.
    let line = format!("      touch {}\n", pwned.show());
    let payload = line.repeat(200 * 1024 / line.len() + 1);
    let run = apply(
        &fleet,
        dir.path(),
        &format!(
            "- hosts: fleet\n  gather_facts: false\n  vars:\n    payload: |\n{payload}  tasks:\n    - command:\n        cmd: \"true\"\n        stdin: \"{{{{ payload }}}}\"\n    - command: echo next\n      register: r\n    - assert:\n        that:\n          - r.stdout == 'next'\n          - r.stderr == ''\n"
        ),
    );
    let run = run.expect_code(0);
    assert!(
        !pwned.0.exists(),
        "the shell ran the input `true` left: {}",
        run.stdout
    );
}

#[test]
fn output_a_background_process_writes_late_stays_out_of_the_next_task() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let script = HostPath::new("late.sh");
    // No `&` in the command text: horde cannot tell that it leaves a writer behind.
    let run = apply(
        &fleet,
        dir.path(),
        &format!(
            "- hosts: fleet\n  gather_facts: false\n  tasks:\n    - copy:\n        dest: {s}\n        mode: '0755'\n        content: |\n          #!/bin/sh\n          (sleep 0.3; echo late; echo late >&2) &\n          echo early\n    - command: {s}\n      register: a\n      timeout: 20\n    - pause:\n        seconds: 1\n    - command: echo next\n      register: b\n      timeout: 20\n    - assert:\n        that:\n          - a.stdout == 'early'\n          - b.stdout == 'next'\n          - b.stderr == ''\n",
            s = script.show()
        ),
    );
    run.expect_code(0);
}

/// The fleet's sudoers: `hordetest ALL=(root) NOPASSWD: ALL` and `hordetest ALL=(nobody)
/// ALL` (with a password). A become password set for a host whose sudo does not ask must
/// not end up in the command's input (once, copy wrote it into the file).
#[test]
fn a_become_password_sudo_does_not_ask_for_stays_out_of_the_command() {
    let fleet = Fleet::start(1);
    let dir = tempfile::tempdir().unwrap();
    let file = HostPath::new("become");
    let run = apply(
        &fleet,
        dir.path(),
        &format!(
            "- hosts: fleet\n  gather_facts: false\n  become: true\n  vars:\n    ansible_become_password: hordetest-pw\n  tasks:\n    - copy:\n        dest: {f}\n        content: \"exact content\\n\"\n    - command:\n        cmd: cat\n        stdin: as root\n      register: root\n    - command:\n        cmd: cat\n        stdin: as nobody\n      become_user: nobody\n      register: nobody\n    - shell: \"printf 'Password: kept'\"\n      register: kept\n    - assert:\n        that:\n          - root.stdout == 'as root'\n          - nobody.stdout == 'as nobody'\n          - nobody.stderr == ''\n          - \"kept.stdout == 'Password: kept'\"\n",
            f = file.show()
        ),
    );
    run.expect_code(0);
    assert_eq!(std::fs::read_to_string(&file.0).unwrap(), "exact content\n");
}

/// A command that prints more than the output limit (lowered here to 1 MiB) is stopped and
/// reported, in the long-lived shell and on a channel of its own; the connection goes on.
#[test]
fn output_past_the_limit_stops_the_command() {
    let fleet = Fleet::start(1);
    let h = &fleet.hosts[0];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = horde::ssh::SshContext::new(horde::ssh::TargetDefaults {
            known_hosts_file: Some(fleet.known_hosts()),
            host_key_policy: Some(horde::ssh::HostKeyPolicy::Strict),
            ..Default::default()
        });
        let mut vars = horde::vars::Vars::new();
        vars.insert("ansible_host".into(), h.address.clone().into());
        vars.insert("ansible_port".into(), h.port.into());
        vars.insert("ansible_user".into(), fleet.user.clone().into());
        vars.insert(
            "ansible_ssh_private_key_file".into(),
            fleet.key().display().to_string().into(),
        );
        let target = horde::ssh::resolve(&h.name, &vars, &ctx.defaults).unwrap();
        let session = horde::ssh::Session::connect(&target, &ctx).await.unwrap();
        session.use_shell();
        let cancel = tokio_util::sync::CancellationToken::new();
        let writer = format!("yes horde-limit-{}", std::process::id());
        for in_shell in [true, false] {
            let req = horde::ssh::ExecRequest {
                command: writer.clone(),
                output_limit: Some(1 << 20),
                timeout: Some(std::time::Duration::from_secs(20)),
                ..Default::default()
            };
            let run = if in_shell {
                session.run(&req, &cancel).await
            } else {
                session.exec(&req, &cancel).await
            };
            match run {
                Err(e) => assert!(
                    matches!(e.kind, horde::ssh::SshErrorKind::OutputLimit { .. }),
                    "{e}"
                ),
                Ok(out) => panic!("not stopped: {} bytes", out.stdout.len()),
            }
            crate::support::wait_until(10, "the writer still runs", || {
                crate::support::processes_running(&writer) == 0
            });
            let next = horde::ssh::ExecRequest {
                command: "echo next".into(),
                ..Default::default()
            };
            let out = session.run(&next, &cancel).await.unwrap();
            assert_eq!(out.stdout, b"next\n");
        }
        session.close().await;
    });
}
