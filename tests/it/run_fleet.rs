//! `horde run` against real OpenSSH sshd hosts: output and exit codes as Ansible's, and
//! every failure said plainly (refused, timed out, host key, authentication, jump).

use crate::fleet::Fleet;
use crate::support::{Horde, horde};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// `horde run` on a fleet, with strict host key checking against the fleet's known_hosts
/// and a home directory of its own (no ~/.ssh keys or config of the test runner).
fn run_on(fleet: &Fleet, home: &Path, pattern: &str, args: &[&str]) -> Horde {
    horde(["run", "-i"])
        .args([fleet.inventory_ini().as_os_str(), pattern.as_ref()])
        .args(["--known-hosts".as_ref(), fleet.known_hosts().as_os_str()])
        .args(["--host-key-checking", "strict"])
        .args(args)
        .env("HOME", home)
        .env_remove("SSH_AUTH_SOCK")
}

/// Splits `horde run` output into host blocks, keyed by host name.
fn blocks(stdout: &str) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in stdout.split_inclusive('\n') {
        let starts_block = line.contains(" | ")
            && line.split(" | ").nth(1).is_some_and(|c| {
                ["CHANGED", "FAILED", "SUCCESS", "UNREACHABLE!", "FAILED!"]
                    .iter()
                    .any(|k| c.starts_with(k))
            });
        if starts_block {
            if let Some((h, b)) = current.take() {
                out.insert(h, b);
            }
            let host = line.split(" | ").next().unwrap_or_default().to_string();
            current = Some((host, line.to_string()));
        } else if let Some((_, b)) = current.as_mut() {
            b.push_str(line);
        }
    }
    if let Some((h, b)) = current {
        out.insert(h, b);
    }
    out
}

/// The run's single host succeeded and printed `text` (the end of its block).
#[track_caller]
fn assert_ok_output(run: &crate::support::Run, text: &str) {
    assert!(
        run.stdout.ends_with(&format!("rc=0 >>\n{text}\n")),
        "{}",
        run.stdout
    );
}

/// Connection variables of a fleet host, as an inventory would give them.
fn host_vars(h: &crate::fleet::FleetHost) -> horde::vars::Vars {
    let mut vars = horde::vars::Vars::new();
    vars.insert("ansible_host".into(), h.address.clone().into());
    vars.insert("ansible_port".into(), h.port.into());
    vars
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

#[test]
fn output_and_exit_codes_match_ansible() {
    let fleet = Fleet::start(3);
    let home = tmp();
    let run = run_on(&fleet, home.path(), "all", &["-a", "id -un"])
        .run()
        .expect_code(0);
    let b = blocks(&run.stdout);
    assert_eq!(b.len(), 3, "{}", run.stdout);
    for h in &fleet.hosts {
        assert_eq!(
            b[&h.name],
            format!("{} | CHANGED | rc=0 >>\nhordetest\n", h.name)
        );
    }
    let run = run_on(
        &fleet,
        home.path(),
        "all",
        &["-m", "shell", "-a", "echo out; echo err >&2; exit 3"],
    )
    .run()
    .expect_code(2);
    for h in &fleet.hosts {
        assert_eq!(
            blocks(&run.stdout)[&h.name],
            format!(
                "{} | FAILED | rc=3 >>\nouterrnon-zero return code\n",
                h.name
            )
        );
    }
    let run = run_on(
        &fleet,
        home.path(),
        "host002",
        &["-o", "-m", "shell", "-a", "printf 'a\\nb'"],
    )
    .run()
    .expect_code(0);
    assert_eq!(run.stdout, "host002 | CHANGED | rc=0 | (stdout) a\\nb\n");
}

#[test]
fn commands_change_the_targets() {
    let fleet = Fleet::start(2);
    let home = tmp();
    let out = tempfile::Builder::new()
        .prefix("horde-effect-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(
        out.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    // Each host writes a file named after the address it was reached on.
    let script = format!(
        "set -- $SSH_CONNECTION; printf 'hello %s' \"$3\" > {0}/$3; chmod 640 {0}/$3",
        out.path().display()
    );
    run_on(&fleet, home.path(), "all", &["-m", "shell", "-a", &script])
        .run()
        .expect_code(0);
    for h in &fleet.hosts {
        let path = out.path().join(&h.address);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("hello {}", h.address)
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o640);
    }
}

#[test]
fn a_command_killed_by_a_signal_reports_it() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let run = run_on(
        &fleet,
        home.path(),
        "all",
        &["-m", "shell", "-a", "kill -TERM $$"],
    )
    .run()
    .expect_code(2);
    assert_eq!(
        run.stdout,
        "host001 | FAILED | rc=-15 >>\nkilled by signal TERM\n"
    );
}

#[test]
fn ten_megabytes_of_output_arrive_intact() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let run = run_on(
        &fleet,
        home.path(),
        "all",
        &[
            "-m",
            "shell",
            "-a",
            "head -c 10485760 /dev/zero | tr '\\0' x; echo; echo done",
        ],
    )
    .run()
    .expect_code(0);
    let body = run
        .stdout
        .strip_prefix("host001 | CHANGED | rc=0 >>\n")
        .expect("header");
    assert_eq!(body.len(), 10485760 + "\ndone\n".len());
    assert!(body.starts_with("xxxx") && body.ends_with("x\ndone\n"));
    assert_eq!(body.bytes().filter(|b| *b == b'x').count(), 10485760);
}

#[test]
fn two_hundred_concurrent_commands_on_one_connection() {
    let fleet = Fleet::start(1);
    let h = &fleet.hosts[0];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = horde::ssh::SshContext::new(horde::ssh::TargetDefaults {
            known_hosts_file: Some(fleet.known_hosts()),
            host_key_policy: Some(horde::ssh::HostKeyPolicy::Strict),
            ..Default::default()
        });
        let mut vars = host_vars(h);
        vars.insert("ansible_user".into(), fleet.user.clone().into());
        vars.insert(
            "ansible_ssh_private_key_file".into(),
            fleet.key().display().to_string().into(),
        );
        let target = horde::ssh::resolve(&h.name, &vars, &ctx.defaults).unwrap();
        let session =
            std::sync::Arc::new(horde::ssh::Session::connect(&target, &ctx).await.unwrap());
        let cancel = tokio_util::sync::CancellationToken::new();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..200 {
            let (session, cancel) = (session.clone(), cancel.clone());
            set.spawn(async move {
                let req = horde::ssh::ExecRequest {
                    command: format!("echo {i}; echo e{i} >&2"),
                    ..Default::default()
                };
                (i, session.exec(&req, &cancel).await)
            });
        }
        let mut done = 0;
        while let Some(r) = set.join_next().await {
            let (i, out) = r.unwrap();
            let out = out.unwrap_or_else(|e| panic!("command {i}: {e}"));
            assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{i}\n"));
            assert_eq!(String::from_utf8_lossy(&out.stderr), format!("e{i}\n"));
            assert_eq!(out.status, horde::ssh::ExitStatus::Code(0));
            done += 1;
        }
        assert_eq!(done, 200);
    });
}

#[test]
fn a_closed_port_is_unreachable_at_once() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let addr = &fleet.hosts[0].address;
    let t0 = Instant::now();
    let run = horde([
        "run",
        "-i",
        &format!("{addr}:1,"),
        "all",
        "-a",
        "true",
        "-u",
        "hordetest",
    ])
    .env("HOME", home.path())
    .run()
    .expect_code(4);
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t0.elapsed()
    );
    assert!(
        run.stdout.contains(&format!("{addr} | UNREACHABLE! =>")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("connection refused"), "{}", run.stdout);
}

#[test]
fn a_silent_host_times_out_without_holding_up_the_others() {
    let fleet = Fleet::start(2);
    let home = tmp();
    let (tar_addr, tar_port) = fleet.tarpit();
    let inventory = home.path().join("inv.ini");
    std::fs::write(
        &inventory,
        format!(
            "[fleet]\nhost001 ansible_host={} ansible_port={}\nhost002 ansible_host={} ansible_port={}\ntarpit ansible_host={tar_addr} ansible_port={tar_port}\n[fleet:vars]\nansible_user=hordetest\nansible_ssh_private_key_file={}\n",
            fleet.hosts[0].address,
            fleet.hosts[0].port,
            fleet.hosts[1].address,
            fleet.hosts[1].port,
            fleet.key().display()
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    let run = horde(["run", "-i"])
        .args([
            inventory.as_os_str(),
            "all".as_ref(),
            "-a".as_ref(),
            "echo up".as_ref(),
            "-T".as_ref(),
            "2".as_ref(),
        ])
        .args(["--known-hosts".as_ref(), fleet.known_hosts().as_os_str()])
        .env("HOME", home.path())
        .run()
        .expect_code(4);
    let elapsed = t0.elapsed();
    // -T 2 against the default 10 s: well under 10 s shows the timeout held, even on a busy machine.
    assert!(elapsed < Duration::from_secs(7), "took {elapsed:?}");
    let b = blocks(&run.stdout);
    assert_eq!(b["host001"], "host001 | CHANGED | rc=0 >>\nup\n");
    assert_eq!(b["host002"], "host002 | CHANGED | rc=0 >>\nup\n");
    assert!(
        b["tarpit"]
            .contains("timed out after 2s while waiting for the SSH banner and key exchange"),
        "{}",
        b["tarpit"]
    );
}

#[test]
fn a_changed_host_key_is_refused_with_both_fingerprints() {
    let fleet = Fleet::start(2);
    let home = tmp();
    // known_hosts claims host001 has host002's key.
    let known = home.path().join("known_hosts");
    let (h1, h2) = (&fleet.hosts[0], &fleet.hosts[1]);
    std::fs::write(
        &known,
        format!(
            "# recorded earlier\n[{}]:{} {}\n",
            h1.address, h1.port, h2.host_key
        ),
    )
    .unwrap();
    for mode in ["strict", "accept-new", "off"] {
        let run = horde(["run", "-i"])
            .args([
                fleet.inventory_ini().as_os_str(),
                "host001".as_ref(),
                "-a".as_ref(),
                "true".as_ref(),
            ])
            .args([
                "--known-hosts".as_ref(),
                known.as_os_str(),
                "--host-key-checking".as_ref(),
                mode.as_ref(),
            ])
            .env("HOME", home.path())
            .run()
            .expect_code(4);
        assert!(
            run.stdout.contains("HOST KEY CHANGED"),
            "{mode}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&h1.fingerprint) && run.stdout.contains(&h2.fingerprint),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("{} line 2", known.display())),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn unknown_host_keys_follow_the_policy_and_are_recorded_safely() {
    // A hundred hosts learn their keys at once into one file.
    let fleet = Fleet::start(100);
    let home = tmp();
    let known = home.path().join("kh/known_hosts");
    let go = |mode: &str| {
        horde(["run", "-i"])
            .args([
                fleet.inventory_ini().as_os_str(),
                "all".as_ref(),
                "-a".as_ref(),
                "true".as_ref(),
            ])
            .args([
                "--known-hosts".as_ref(),
                known.as_os_str(),
                "--host-key-checking".as_ref(),
                mode.as_ref(),
            ])
            .env("HOME", home.path())
            .run()
    };
    let run = go("strict").expect_code(4);
    assert!(
        run.stdout
            .contains("is not known and host key checking is strict"),
        "{}",
        run.stdout
    );
    go("accept-new").expect_code(0);
    let text = std::fs::read_to_string(&known).unwrap();
    assert_eq!(text.lines().count(), 100, "{text}");
    for h in &fleet.hosts {
        let line = format!("[{}]:{} {}", h.address, h.port, h.host_key);
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    go("strict").expect_code(0);
}

#[test]
fn rejected_authentication_says_what_was_tried() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let key = keygen(home.path(), "stranger", "");
    let run = horde([
        "run",
        "-i",
        &format!("{}:{},", fleet.hosts[0].address, fleet.hosts[0].port),
        "all",
        "-a",
        "true",
    ])
    .args([
        "-u",
        "hordetest",
        "--host-key-checking",
        "strict",
        "--known-hosts",
    ])
    .args([
        fleet.known_hosts().as_os_str(),
        "--private-key".as_ref(),
        key.as_os_str(),
    ])
    .env("HOME", home.path())
    .env_remove("SSH_AUTH_SOCK")
    .run()
    .expect_code(4);
    assert!(
        run.stdout
            .contains("authentication as \\\"hordetest\\\" rejected"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(&format!("publickey {}", key.display())),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("the server accepts: publickey"),
        "{}",
        run.stdout
    );
}

/// Makes an ed25519 key with ssh-keygen; returns the private key's path.
fn keygen(dir: &Path, name: &str, passphrase: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f"])
        .arg(&path)
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success());
    path
}

/// Lets a key in on every fleet host.
fn authorize(fleet: &Fleet, key: &Path) {
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(fleet.dir.join("authorized_keys"))
        .unwrap();
    std::io::Write::write_all(&mut f, public.as_bytes()).unwrap();
}

fn direct(fleet: &Fleet, home: &Path, args: &[&str]) -> Horde {
    let h = &fleet.hosts[0];
    horde([
        "run",
        "-i",
        &format!("{}:{},", h.address, h.port),
        "all",
        "-u",
        "hordetest",
    ])
    .args(["--host-key-checking", "strict", "--known-hosts"])
    .args([fleet.known_hosts()])
    .args(args)
    .env("HOME", home)
    .env_remove("SSH_AUTH_SOCK")
}

#[test]
fn an_encrypted_key_is_opened_with_the_passphrase() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let key = keygen(home.path(), "locked", "open sesame");
    authorize(&fleet, &key);
    let key_arg = key.display().to_string();
    let run = direct(
        &fleet,
        home.path(),
        &["-a", "echo opened", "--private-key", &key_arg],
    )
    .env("HORDE_SSH_PASSPHRASE", "open sesame")
    .run()
    .expect_code(0);
    assert_ok_output(&run, "opened");
    let run = direct(
        &fleet,
        home.path(),
        &["-a", "true", "--private-key", &key_arg],
    )
    .env("HORDE_SSH_PASSPHRASE", "wrong")
    .run()
    .expect_code(4);
    assert!(
        run.stdout
            .contains("cannot decrypt it with the given passphrase"),
        "{}",
        run.stdout
    );
    let run = direct(
        &fleet,
        home.path(),
        &["-a", "true", "--private-key", &key_arg],
    )
    .run()
    .expect_code(4);
    assert!(
        run.stdout.contains("HORDE_SSH_PASSPHRASE"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_ssh_agent_provides_keys() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let sock = home.path().join("agent.sock");
    let agent = Command::new("ssh-agent")
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .spawn()
        .expect("ssh-agent");
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let _agent = Stop(agent);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sock.exists() {
        assert!(Instant::now() < deadline, "ssh-agent did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let added = Command::new("ssh-add")
        .arg(fleet.key())
        .env("SSH_AUTH_SOCK", &sock)
        .output()
        .unwrap();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let run = direct(&fleet, home.path(), &["-a", "echo via agent"])
        .env("SSH_AUTH_SOCK", &sock)
        .run()
        .expect_code(0);
    assert_ok_output(&run, "via agent");
    // Without the agent there is nothing to offer.
    let run = direct(&fleet, home.path(), &["-a", "true"])
        .run()
        .expect_code(4);
    assert!(run.stdout.contains("tried nothing"), "{}", run.stdout);
}

#[test]
fn a_password_logs_in() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let run = direct(
        &fleet,
        home.path(),
        &[
            "-a",
            "echo with password",
            "-e",
            "ansible_password=hordetest-pw",
        ],
    )
    .run()
    .expect_code(0);
    assert_ok_output(&run, "with password");
}

#[test]
fn hosts_are_reached_through_a_jump_host() {
    let fleet = Fleet::start(4);
    let home = tmp();
    let b = &fleet.hosts[0];
    let jump = format!("hordetest@{}:{}", b.address, b.port);
    let run = run_on(
        &fleet,
        home.path(),
        "all:!host001",
        &["-a", "echo behind", "-J", &jump],
    )
    .run()
    .expect_code(0);
    assert_eq!(blocks(&run.stdout).len(), 3, "{}", run.stdout);
    assert!(
        blocks(&run.stdout)
            .values()
            .all(|b| b.ends_with("rc=0 >>\nbehind\n")),
        "{}",
        run.stdout
    );
    // Two hops: host004 through host001 then host002.
    let b2 = &fleet.hosts[1];
    let two = format!("{jump},hordetest@{}:{}", b2.address, b2.port);
    let run = run_on(
        &fleet,
        home.path(),
        "host004",
        &["-a", "echo two hops", "-J", &two],
    )
    .run()
    .expect_code(0);
    assert_ok_output(&run, "two hops");
    // The same hosts through a dead bastion: the failure names the hop.
    fleet.kill("host001");
    let run = run_on(&fleet, home.path(), "host002", &["-a", "true", "-J", &jump])
        .run()
        .expect_code(4);
    assert!(
        run.stdout.contains(&format!("through jump host {jump}: ")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("connection refused"), "{}", run.stdout);
    // ... while they are still reachable directly.
    run_on(&fleet, home.path(), "host002", &["-a", "true"])
        .run()
        .expect_code(0);
}

#[test]
fn become_runs_commands_as_another_user() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let run = run_on(&fleet, home.path(), "all", &["-b", "-a", "id -u"])
        .run()
        .expect_code(0);
    assert_ok_output(&run, "0");
    let run = run_on(
        &fleet,
        home.path(),
        "all",
        &[
            "-b",
            "--become-user",
            "nobody",
            "-e",
            "ansible_become_password=hordetest-pw",
            "-a",
            "id -un",
        ],
    )
    .run()
    .expect_code(0);
    assert_ok_output(&run, "nobody");
    // sudo remembers a password for its parent's pid and start time, read from /proc: in
    // the fleet's PID namespaces (the host's /proc) those repeat from one run, or test, to
    // the next. Forget it, so that sudo asks and the wrong password is refused.
    run_on(&fleet, home.path(), "all", &["-a", "sudo -K"])
        .run()
        .expect_code(0);
    let run = run_on(
        &fleet,
        home.path(),
        "all",
        &[
            "-b",
            "--become-user",
            "nobody",
            "-e",
            "ansible_become_password=wrong",
            "-a",
            "id -un",
        ],
    )
    .run()
    .expect_code(2);
    assert!(run.stdout.contains("FAILED"), "{}", run.stdout);
    // su reads the password the same way.
    let run = run_on(
        &fleet,
        home.path(),
        "all",
        &[
            "-b",
            "--become-method",
            "su",
            "--become-user",
            "hordetest",
            "-e",
            "ansible_become_password=hordetest-pw",
            "-a",
            "id -un",
        ],
    )
    .run()
    .expect_code(0);
    assert_ok_output(&run, "hordetest");
    run_on(
        &fleet,
        home.path(),
        "all",
        &[
            "-b",
            "--become-method",
            "su",
            "--become-user",
            "hordetest",
            "-e",
            "ansible_become_password=wrong",
            "-a",
            "id -un",
        ],
    )
    .run()
    .expect_code(2);
}

#[test]
fn ctrl_c_stops_the_remote_commands_and_exits_99() {
    let fleet = Fleet::start(2);
    let home = tmp();
    let marker = format!("sleep {}", 30000 + std::process::id() % 10000);
    let mut child = run_on(&fleet, home.path(), "all", &["-a", &marker]).spawn();
    crate::support::wait_until(10, "the remote commands did not start", || {
        crate::support::processes_running(&marker) == 2
    });
    assert_eq!(crate::support::interrupt(&mut child, 5), Some(99));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(stderr.contains("User interrupted execution"), "{stderr}");
    crate::support::wait_until(5, "the remote command still runs after Ctrl-C", || {
        crate::support::processes_running(&marker) == 0
    });
}

#[test]
fn ssh_config_and_hashed_known_hosts_are_honoured() {
    let fleet = Fleet::start(2);
    let home = tmp();
    // Inventory names only: HostName, Port, User and IdentityFile come from the ssh_config.
    let run = horde([
        "run",
        "-i",
        "host001,host002,",
        "all",
        "-a",
        "echo configured",
    ])
    .args(["-F".as_ref(), fleet.ssh_config().as_os_str()])
    .args([
        "--known-hosts".as_ref(),
        fleet.known_hosts_hashed().as_os_str(),
    ])
    .args(["--host-key-checking", "strict"])
    .env("HOME", home.path())
    .env_remove("SSH_AUTH_SOCK")
    .run()
    .expect_code(0);
    let b = blocks(&run.stdout);
    assert_eq!(
        b["host001"], "host001 | CHANGED | rc=0 >>\nconfigured\n",
        "{}",
        run.stdout
    );
    assert_eq!(
        b["host002"], "host002 | CHANGED | rc=0 >>\nconfigured\n",
        "{}",
        run.stdout
    );
}

#[test]
fn a_name_that_does_not_resolve_says_so() {
    let home = tmp();
    let run = horde(["run", "-i", "no-such-host.invalid,", "all", "-a", "true"])
        .env("HOME", home.path())
        .run()
        .expect_code(4);
    assert!(
        run.stdout
            .contains("the name \\\"no-such-host.invalid\\\" does not resolve"),
        "{}",
        run.stdout
    );
}

#[test]
fn hosts_behind_one_bastion_share_one_connection_to_it() {
    let fleet = Fleet::start(5);
    let bastion = &fleet.hosts[0];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let ctx = horde::ssh::SshContext::new(horde::ssh::TargetDefaults {
            known_hosts_file: Some(fleet.known_hosts()),
            host_key_policy: Some(horde::ssh::HostKeyPolicy::Strict),
            jump: Some(format!(
                "{}@{}:{}",
                fleet.user, bastion.address, bastion.port
            )),
            private_key: Some(fleet.key()),
            user: Some(fleet.user.clone()),
            ..Default::default()
        });
        let mut sessions = Vec::new();
        for h in &fleet.hosts[1..] {
            let vars = host_vars(h);
            let target = horde::ssh::resolve(&h.name, &vars, &ctx.defaults).unwrap();
            sessions.push(horde::ssh::Session::connect(&target, &ctx).await.unwrap());
        }
        // While the four sessions are open, this process holds one TCP connection to the
        // bastion and none to the hosts behind it.
        let count = |addr: &str, port: u16| {
            let out = Command::new("ss")
                .args(["-Htnp", "state", "established"])
                .output()
                .unwrap();
            let me = format!("pid={},", std::process::id());
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| {
                    l.contains(&me)
                        && l.split_whitespace().nth(3) == Some(&format!("{addr}:{port}"))
                })
                .count()
        };
        assert_eq!(count(&bastion.address, bastion.port), 1);
        for h in &fleet.hosts[1..] {
            assert_eq!(count(&h.address, h.port), 0);
        }
        let cancel = tokio_util::sync::CancellationToken::new();
        for s in &sessions {
            let out = s
                .exec(
                    &horde::ssh::ExecRequest {
                        command: "echo ok".into(),
                        ..Default::default()
                    },
                    &cancel,
                )
                .await
                .unwrap();
            assert_eq!(out.stdout, b"ok\n");
        }
    });
}

#[test]
fn every_key_type_and_format_authenticates() {
    let fleet = Fleet::start(1);
    let home = tmp();
    // ECDSA and RSA (SHA-2 signatures), in OpenSSH and PEM formats.
    for (kind, format) in [
        ("ecdsa", "RFC4716"),
        ("ecdsa", "PEM"),
        ("rsa", "RFC4716"),
        ("rsa", "PEM"),
    ] {
        let path = home.path().join(format!("{kind}-{format}"));
        let mut cmd = Command::new("ssh-keygen");
        cmd.args(["-q", "-t", kind, "-N", "", "-f"]).arg(&path);
        if kind == "rsa" {
            cmd.args(["-b", "2048"]);
        }
        if format == "PEM" {
            cmd.args(["-m", "PEM"]);
        }
        assert!(cmd.status().unwrap().success());
        authorize(&fleet, &path);
        let key = path.display().to_string();
        let run = direct(
            &fleet,
            home.path(),
            &["-a", "echo signed", "--private-key", &key],
        )
        .run();
        assert_eq!(run.code, Some(0), "{kind} {format}: {}", run.stdout);
        assert!(
            run.stdout.ends_with("rc=0 >>\nsigned\n"),
            "{kind} {format}: {}",
            run.stdout
        );
    }
}

#[test]
fn default_identities_in_home_are_used() {
    let fleet = Fleet::start(1);
    let home = tmp();
    let ssh_dir = home.path().join(".ssh");
    std::fs::create_dir_all(&ssh_dir).unwrap();
    std::fs::copy(fleet.key(), ssh_dir.join("id_ed25519")).unwrap();
    let run = direct(&fleet, home.path(), &["-a", "echo default key"])
        .run()
        .expect_code(0);
    assert_ok_output(&run, "default key");
}

/// Rewrites one host's sshd_config with `edit` and restarts that host.
fn reconfigure(fleet: &Fleet, name: &str, edit: impl Fn(String) -> String) {
    let path = fleet.dir.join("hosts").join(name).join("sshd_config");
    let config = std::fs::read_to_string(&path).expect("sshd_config");
    std::fs::write(&path, edit(config)).expect("write sshd_config");
    fleet.kill(name);
    fleet.restart(name);
}

#[test]
fn the_key_exchange_prefers_p256_and_follows_kex_algorithms() {
    let fleet = Fleet::start(2);
    let home = tmp();
    // sshd logs the key exchange it agreed on at DEBUG ("kex: algorithm: NAME").
    reconfigure(&fleet, "host001", |c| {
        c.replace("LogLevel ERROR", "LogLevel DEBUG")
    });
    reconfigure(&fleet, "host002", |c| {
        c.replace("LogLevel ERROR", "LogLevel DEBUG") + "KexAlgorithms curve25519-sha256\n"
    });
    let kex = |name: &str| {
        let log = std::fs::read_to_string(fleet.log(name)).unwrap_or_default();
        log.lines()
            .filter_map(|l| l.split("kex: algorithm: ").nth(1))
            .map(|a| a.split(' ').next().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    run_on(&fleet, home.path(), "all", &["-a", "true"])
        .run()
        .expect_code(0);
    // P-256 first (OpenSSL's, cheap for sshd); a host without it gets curve25519.
    assert_eq!(kex("host001"), ["ecdh-sha2-nistp256"]);
    assert_eq!(kex("host002"), ["curve25519-sha256"]);

    // ssh_config's KexAlgorithms is honoured, with OpenSSH's `^` (put first) rule.
    let config = home.path().join("ssh_config");
    std::fs::write(&config, "Host *\n  KexAlgorithms ^curve25519-sha256\n").unwrap();
    run_on(&fleet, home.path(), "host001", &["-a", "true"])
        .args(["-F".as_ref(), config.as_os_str()])
        .run()
        .expect_code(0);
    assert_eq!(kex("host001"), ["ecdh-sha2-nistp256", "curve25519-sha256"]);

    // A list the host shares nothing with: unreachable, saying what each side offered.
    let run = run_on(&fleet, home.path(), "host002", &["-a", "true"])
        .args([
            "-e",
            "ansible_ssh_common_args='-o KexAlgorithms=ecdh-sha2-nistp256'",
        ])
        .run()
        .expect_code(4);
    assert!(
        run.stdout.contains("host002 | UNREACHABLE!"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("No common Kex algorithm")
            && run.stdout.contains("theirs: [\\\"curve25519-sha256\\\""),
        "{}",
        run.stdout
    );
    // An algorithm horde does not know is refused before connecting, naming the setting.
    let run = run_on(&fleet, home.path(), "host001", &["-a", "true"])
        .args([
            "-e",
            "ansible_ssh_common_args='-o KexAlgorithms=sntrup761x25519-sha512@openssh.com'",
        ])
        .run()
        .expect_code(2);
    assert!(
        run.stdout.contains(
            "KexAlgorithms: unknown algorithm \\\"sntrup761x25519-sha512@openssh.com\\\""
        ),
        "{}",
        run.stdout
    );
    assert_eq!(kex("host001").len(), 2, "no connection was made");
}
