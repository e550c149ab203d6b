//! Fleet-test orchestration (docs/orchestration.md) against the real sshd fleet: setup once,
//! teardown on every path out, barriers, matrix cases, events, shuffle with a seed. Each
//! test checks the effect on the hosts (files) or the controller (counter files).

use crate::fleet::Fleet;
use crate::support::{horde, interrupt, processes_running, wait_until};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A scratch directory the fleet's user can write in (every fleet host is this machine,
/// so paths carry the host's name).
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .expect("chmod");
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write the playbook");
    p
}

fn apply(fleet: &Fleet, pb: &Path) -> crate::support::Horde {
    horde(["apply", "-i"])
        .arg(fleet.inventory_ini())
        .arg("--known-hosts")
        .arg(fleet.known_hosts())
        .arg(pb)
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn names(fleet: &Fleet) -> Vec<String> {
    fleet.hosts.iter().map(|h| h.name.clone()).collect()
}

#[test]
fn setup_runs_once_and_teardown_runs_after_a_failing_task() {
    let fleet = Fleet::start(3);
    let dir = scratch();
    let d = dir.path().display();
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  setup:
    - name: create the resource
      shell: echo created >> {d}/counter; echo tenant-7
      delegate_to: localhost
      register: tenant
  tasks:
    - name: use it
      shell: echo {{{{ setup.tenant.stdout }}}} > {d}/{{{{ inventory_hostname }}}}.used
    - name: fail on the second host
      fail: msg=broken
      when: inventory_hostname == "host002"
    - name: after the failure
      shell: touch {d}/{{{{ inventory_hostname }}}}.after
  teardown:
    - name: a failing teardown task does not stop the next
      command: /bin/false
    - name: clean up
      shell: echo {{{{ setup.tenant.stdout }}}} > {d}/{{{{ inventory_hostname }}}}.teardown
"#
        ),
    );
    let run = apply(&fleet, &pb).run().expect_code(2);
    assert_eq!(
        lines(&dir.path().join("counter")),
        ["created"],
        "{}",
        run.stdout
    );
    for h in names(&fleet) {
        let used = std::fs::read_to_string(dir.path().join(format!("{h}.used")));
        assert_eq!(
            used.ok().as_deref(),
            Some("tenant-7\n"),
            "{h}: {}",
            run.stdout
        );
        let td = std::fs::read_to_string(dir.path().join(format!("{h}.teardown")));
        assert_eq!(
            td.ok().as_deref(),
            Some("tenant-7\n"),
            "{h}: {}",
            run.stdout
        );
        let after = dir.path().join(format!("{h}.after")).exists();
        assert_eq!(after, h != "host002", "{h}");
    }
    assert!(run.stdout.contains("TEARDOWN RECAP"), "{}", run.stdout);
    assert!(
        run.stdout.contains("SETUP [create the resource]"),
        "{}",
        run.stdout
    );
}

#[test]
fn setup_is_read_only_and_a_failed_setup_runs_no_task_but_teardown() {
    let dir = scratch();
    let pb = write(
        dir.path(),
        "bad.yml",
        "- hosts: all\n  tasks:\n    - command: echo\n      register: setup\n",
    );
    let run = horde(["apply", "-i", "lab:1"])
        .arg(&pb)
        .run()
        .expect_code(4);
    assert!(run.stderr.contains("bad.yml:3:7"), "{}", run.stderr);
    assert!(
        run.stderr.contains("\"setup\" is read-only"),
        "{}",
        run.stderr
    );

    let fleet = Fleet::start(2);
    let d = dir.path().display();
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  setup:
    - command: /bin/false
  tasks:
    - shell: touch {d}/{{{{ inventory_hostname }}}}.task
  teardown:
    - shell: touch {d}/{{{{ inventory_hostname }}}}.teardown
"#
        ),
    );
    let run = apply(&fleet, &pb).run().expect_code(2);
    assert!(
        run.stderr.contains("setup failed on host001"),
        "{}",
        run.stderr
    );
    for h in names(&fleet) {
        assert!(!dir.path().join(format!("{h}.task")).exists(), "{h}");
        assert!(dir.path().join(format!("{h}.teardown")).exists(), "{h}");
    }
}

#[test]
fn ctrl_c_stops_the_tasks_and_teardown_still_runs() {
    let fleet = Fleet::start(3);
    let dir = scratch();
    let d = dir.path().display();
    let marker = format!("sleep {}", 30000 + std::process::id() % 10000);
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  tasks:
    - command: {marker}
  teardown:
    - shell: sleep 0.5; touch {d}/{{{{ inventory_hostname }}}}.teardown
"#
        ),
    );
    let mut child = apply(&fleet, &pb).spawn();
    wait_until(15, "the remote commands did not start", || {
        processes_running(&marker) == 3
    });
    assert_eq!(interrupt(&mut child, 20), Some(99));
    for h in names(&fleet) {
        assert!(
            dir.path().join(format!("{h}.teardown")).exists(),
            "no teardown on {h}"
        );
    }
    assert_eq!(processes_running(&marker), 0);
}

#[test]
fn a_second_ctrl_c_skips_what_is_left_of_teardown() {
    let fleet = Fleet::start(1);
    let dir = scratch();
    let d = dir.path().display();
    let marker = format!("sleep {}", 20000 + std::process::id() % 10000);
    let task = format!("sleep {}", 60000 + std::process::id() % 10000);
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  tasks:
    - command: {task}
  teardown:
    - command: {marker}
    - shell: touch {d}/never
"#
        ),
    );
    let mut child = apply(&fleet, &pb).spawn();
    wait_until(15, "the task did not start", || {
        processes_running(&task) == 1
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    wait_until(15, "teardown did not start", || {
        processes_running(&marker) == 1
    });
    let out = interrupt(&mut child, 20);
    assert_eq!(out, Some(99));
    assert!(!dir.path().join("never").exists());
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    assert!(
        stderr.contains("teardown stopped by a second interrupt"),
        "{stderr}"
    );
}

#[test]
fn sigterm_and_run_timeout_run_teardown_too() {
    let fleet = Fleet::start(2);
    let dir = scratch();
    let d = dir.path().display();
    let task = format!("sleep {}", 50000 + std::process::id() % 10000);
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  tasks:
    - command: {task}
  teardown:
    - shell: echo {{{{ tag }}}} >> {d}/{{{{ inventory_hostname }}}}.teardown
"#
        ),
    );
    let t0 = Instant::now();
    let run = apply(&fleet, &pb)
        .args(["--run-timeout", "1s", "-e", "tag=timeout"])
        .run()
        .expect_code(2);
    assert!(t0.elapsed() < Duration::from_secs(20));
    assert!(run.stderr.contains("--run-timeout"), "{}", run.stderr);
    let mut child = apply(&fleet, &pb).args(["-e", "tag=term"]).spawn();
    wait_until(15, "the tasks did not start", || {
        processes_running(&task) == 2
    });
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t0 = Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "horde ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(code, Some(99));
    for h in names(&fleet) {
        let text = lines(&dir.path().join(format!("{h}.teardown")));
        assert_eq!(text, ["timeout", "term"], "{h}");
    }
}

#[test]
fn a_host_killed_mid_run_is_unreachable_and_the_others_get_teardown() {
    let fleet = Fleet::start(3);
    let dir = scratch();
    let d = dir.path().display();
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  tasks:
    - shell: touch {d}/{{{{ inventory_hostname }}}}.started; sleep 4
  teardown:
    - shell: touch {d}/{{{{ inventory_hostname }}}}.teardown
"#
        ),
    );
    let child = apply(&fleet, &pb).spawn();
    wait_until(15, "the tasks did not start", || {
        names(&fleet)
            .iter()
            .all(|h| dir.path().join(format!("{h}.started")).exists())
    });
    fleet.kill("host002");
    let out = child.wait_with_output().expect("horde ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}");
    assert!(
        stdout.contains("fatal: [host002]: UNREACHABLE!"),
        "{stdout}"
    );
    for h in ["host001", "host003"] {
        assert!(
            dir.path().join(format!("{h}.teardown")).exists(),
            "{h}: {stdout}"
        );
    }
    assert!(!dir.path().join("host002.teardown").exists());
}

#[test]
fn a_barrier_waits_for_live_hosts_only_and_run_once_runs_once() {
    let fleet = Fleet::start(3);
    let dir = scratch();
    let d = dir.path().display();
    for strategy in ["free", "linear"] {
        let pb = write(
            dir.path(),
            "pb.yml",
            &format!(
                r#"- hosts: fleet
  gather_facts: false
  strategy: {strategy}
  tasks:
    - shell: sleep {{{{ 1 if inventory_hostname == 'host003' else 0 }}}}; date +%s.%N > {d}/{{{{ inventory_hostname }}}}.arrived
    - name: flip once
      barrier: true
      run_once: true
      shell: date +%s.%N >> {d}/flips-{strategy}
      delegate_to: localhost
    - shell: date +%s.%N > {d}/{{{{ inventory_hostname }}}}.after
"#
            ),
        );
        let run = apply(&fleet, &pb).run().expect_code(0);
        let flips = lines(&dir.path().join(format!("flips-{strategy}")));
        assert_eq!(flips.len(), 1, "{strategy}: {}", run.stdout);
        let flip: f64 = flips[0].parse().expect("a time");
        for h in names(&fleet) {
            let t = |s: &str| -> f64 {
                std::fs::read_to_string(dir.path().join(format!("{h}.{s}")))
                    .expect("written")
                    .trim()
                    .parse()
                    .expect("a time")
            };
            assert!(
                t("arrived") <= flip,
                "{strategy}: {h} arrived after the flip"
            );
            assert!(
                t("after") >= flip,
                "{strategy}: {h} went on before the flip"
            );
        }
    }

    // One host dies while the others wait at the barrier: they go on without it.
    let pb = write(
        dir.path(),
        "dead.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  strategy: free
  tasks:
    - shell: touch {d}/{{{{ inventory_hostname }}}}.waiting; sleep {{{{ 30 if inventory_hostname == 'host002' else 0 }}}}
    - name: wait for everyone
      barrier: true
      shell: touch {d}/{{{{ inventory_hostname }}}}.released
"#
        ),
    );
    let child = apply(&fleet, &pb).spawn();
    wait_until(15, "the hosts did not start", || {
        names(&fleet)
            .iter()
            .all(|h| dir.path().join(format!("{h}.waiting")).exists())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !dir.path().join("host001.released").exists(),
        "released before host002 arrived"
    );
    let killed = Instant::now();
    fleet.kill("host002");
    let out = child.wait_with_output().expect("horde ends");
    assert!(
        killed.elapsed() < Duration::from_secs(15),
        "the barrier stalled"
    );
    assert_eq!(out.status.code(), Some(4));
    for h in ["host001", "host003"] {
        assert!(dir.path().join(format!("{h}.released")).exists(), "{h}");
    }
}

#[test]
fn a_matrix_runs_every_case_with_stable_ids_and_case_picks_one() {
    let fleet = Fleet::start(2);
    let dir = scratch();
    let d = dir.path().display();
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- name: combos
  hosts: fleet
  gather_facts: false
  matrix:
    fs: [ext4, xfs, btrfs]
    mode: [sync, async]
  tasks:
    - shell: echo {{{{ matrix_case }}}} >> {d}/{{{{ inventory_hostname }}}}.cases
    - set_fact: {{ seen: "{{{{ fs }}}}" }}
      when: seen is not defined
    - shell: echo {{{{ seen }}}} >> {d}/{{{{ inventory_hostname }}}}.seen
"#
        ),
    );
    let run = apply(&fleet, &pb).run().expect_code(0);
    let ids = [
        "fs=ext4,mode=sync",
        "fs=ext4,mode=async",
        "fs=xfs,mode=sync",
        "fs=xfs,mode=async",
        "fs=btrfs,mode=sync",
        "fs=btrfs,mode=async",
    ];
    assert!(
        run.stdout.contains("MATRIX [combos]: 6 cases"),
        "{}",
        run.stdout
    );
    for h in names(&fleet) {
        assert_eq!(lines(&dir.path().join(format!("{h}.cases"))), ids, "{h}");
        // Each case has its own copy of the variables: a fact set in one is gone in the next.
        assert_eq!(
            lines(&dir.path().join(format!("{h}.seen"))),
            ["ext4", "ext4", "xfs", "xfs", "btrfs", "btrfs"],
            "{h}"
        );
    }
    for id in ids {
        assert!(
            run.stdout.contains(&format!("PLAY [combos] case {id} ")),
            "{id}"
        );
    }
    let run = apply(&fleet, &pb)
        .args(["--case", "fs=xfs,mode=async"])
        .run()
        .expect_code(0);
    assert!(
        run.stdout.contains("MATRIX [combos]: 1 case "),
        "{}",
        run.stdout
    );
    let h = "host001";
    assert_eq!(
        lines(&dir.path().join(format!("{h}.cases")))
            .last()
            .map(String::as_str),
        Some("fs=xfs,mode=async")
    );
    assert_eq!(lines(&dir.path().join(format!("{h}.cases"))).len(), 7);
    let run = apply(&fleet, &pb).args(["--case", "fs=zfs"]).run();
    assert!(run.stderr.contains("has no such case"), "{}", run.stderr);
}

#[test]
fn events_run_on_schedule_without_drift_with_startup_and_teardown_entries() {
    let fleet = Fleet::start(2);
    let dir = scratch();
    let d = dir.path().display();
    let pb = write(
        dir.path(),
        "pb.yml",
        &format!(
            r#"- hosts: fleet
  gather_facts: false
  events:
    duration: 5s
    schedule:
      - name: tick
        every: 1s
        tasks:
          - shell: date +%s.%N >> {d}/{{{{ inventory_hostname }}}}.ticks
      - name: slow
        every: 1s
        tasks:
          - shell: sleep 1.5; echo x >> {d}/{{{{ inventory_hostname }}}}.slow
      - name: report
        at_startup: false
        at_teardown: true
        tasks:
          - shell: echo report >> {d}/{{{{ inventory_hostname }}}}.final
  tasks:
    - shell: sleep 1
  teardown:
    - shell: echo teardown >> {d}/{{{{ inventory_hostname }}}}.final
"#
        ),
    );
    let t0 = Instant::now();
    let run = apply(&fleet, &pb).run().expect_code(0);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(5),
        "ended before the duration: {took:?}"
    );
    for h in names(&fleet) {
        let ticks: Vec<f64> = lines(&dir.path().join(format!("{h}.ticks")))
            .iter()
            .map(|l| l.parse().expect("a time"))
            .collect();
        assert!((5..=6).contains(&ticks.len()), "{h}: {} ticks", ticks.len());
        // Scheduled from the start: tick k is near start + k seconds, not drifting.
        for (k, t) in ticks.iter().enumerate() {
            let offset = t - ticks[0] - k as f64;
            assert!(offset.abs() < 0.4, "{h}: tick {k} is {offset:.3}s off");
        }
        // The slow entry (1.5 s every 1 s) never runs twice at once: runs at 0, 2, 4.
        assert_eq!(lines(&dir.path().join(format!("{h}.slow"))).len(), 3, "{h}");
        assert_eq!(
            lines(&dir.path().join(format!("{h}.final"))),
            ["report", "teardown"],
            "{h}"
        );
    }
    assert!(
        run.stdout.contains("event [slow] was due at +1.0s"),
        "{}",
        run.stdout
    );
}

/// The (host, iteration) order of a shuffled run's results.
fn job_order(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| l.starts_with("changed: [") || l.starts_with("ok: ["))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_shuffled_run_is_replayed_by_its_seed() {
    let fleet = Fleet::start(3);
    let dir = scratch();
    let pb = write(
        dir.path(),
        "pb.yml",
        r#"- hosts: fleet
  gather_facts: false
  strategy: shuffle
  tasks:
    - name: a
      command: echo a
      iterations: 3
    - name: b
      command: echo b
"#,
    );
    let first = apply(&fleet, &pb).args(["-f", "1"]).run().expect_code(0);
    let seed: String = first
        .stdout
        .split("in the order of seed ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("the seed is printed")
        .to_string();
    let order = job_order(&first.stdout);
    assert_eq!(order.len(), 12, "{}", first.stdout);
    let again = apply(&fleet, &pb)
        .args(["-f", "1", "--seed", &seed])
        .run()
        .expect_code(0);
    assert_eq!(job_order(&again.stdout), order);
    let other = apply(&fleet, &pb)
        .args(["-f", "1", "--seed"])
        .arg((seed.parse::<u64>().expect("a number") ^ 1).to_string())
        .run()
        .expect_code(0);
    assert_ne!(job_order(&other.stdout), order);
    let mut sorted = job_order(&other.stdout);
    sorted.sort();
    let mut want = order.clone();
    want.sort();
    assert_eq!(sorted, want, "the same jobs, in another order");
}

#[test]
fn the_examples_run_against_the_fleet_too() {
    let fleet = Fleet::start(3);
    for (example, extra) in [
        // The fleet's hosts share one home directory, where this example keeps a file per
        // host: one host at a time, or one host's teardown removes it under another's.
        (
            "examples/fleet-test.yaml",
            vec!["--iterations", "10", "-f", "1"],
        ),
        ("examples/matrix.yaml", vec![]),
        ("examples/events.yaml", vec!["--duration", "2s"]),
    ] {
        let run = apply(&fleet, &crate::support::root().join(example))
            .args(extra)
            .run();
        assert_eq!(run.code, Some(0), "{example}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stdout.contains("STATISTICS"),
            "{example}: {}",
            run.stdout
        );
    }
}

/// Nearest-rank percentile of sorted values.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank - 1]
}

#[test]
fn iterations_are_kept_and_the_statistics_match_the_samples() {
    let fleet = Fleet::start(3);
    let dir = scratch();
    let pb = write(
        dir.path(),
        "pb.yml",
        r#"- hosts: fleet
  gather_facts: false
  tasks:
    - name: probe
      shell: "sleep {{ '0.25' if inventory_hostname == 'host003' else '0.01' }}; echo ok; exit {{ 1 if inventory_hostname == 'host002' else 0 }}"
      iterations: "{{ n }}"
      expect: { rc: [0, 1], stdout: "ok" }
    - name: strict
      command: sleep 0.05
      iterations: 4
      expect: { max_duration: 10ms }
      ignore_errors: true
"#,
    );
    let results = dir.path().join("results");
    let run = apply(&fleet, &pb)
        .args(["-e", "n=20", "--results"])
        .arg(&results)
        .run()
        .expect_code(0);
    let events: Vec<serde_json::Value> = std::fs::read_to_string(results.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    let probe_id = events
        .iter()
        .find(|e| e["event"] == "task_start" && e["name"] == "probe")
        .and_then(|e| e["id"].as_u64())
        .expect("the probe task started");
    let samples: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "sample" && e["task_id"].as_u64() == Some(probe_id))
        .collect();
    assert_eq!(samples.len(), 60, "20 iterations on 3 hosts");
    for h in names(&fleet) {
        let mut its: Vec<u64> = samples
            .iter()
            .filter(|s| s["host"] == h.as_str())
            .filter_map(|s| s["iteration"].as_u64())
            .collect();
        its.sort();
        assert_eq!(its, (1..=20).collect::<Vec<u64>>(), "{h}");
        let rc = if h == "host002" { 1 } else { 0 };
        assert!(
            samples
                .iter()
                .filter(|s| s["host"] == h.as_str())
                .all(|s| s["rc"] == rc
                    && s["status"] == "changed"
                    && s["start"].as_f64().unwrap_or(0.0) > 1.6e9)
        );
    }
    let mut d: Vec<f64> = samples
        .iter()
        .map(|s| s["duration"].as_f64().expect("a duration"))
        .collect();
    d.sort_by(f64::total_cmp);
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let stddev = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let median = (d[29] + d[30]) / 2.0;
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(results.join("summary.json")).expect("summary.json"),
    )
    .expect("JSON");
    let row = summary["statistics"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["task"] == "probe"))
        .expect("a row for probe");
    let s = &row["summary"];
    let close = |k: &str, want: f64| {
        let got = s[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() <= 1e-9 + 1e-6 * want.abs(),
            "{k}: {got} != {want}"
        );
    };
    assert_eq!(s["count"], 60);
    assert_eq!(s["failures"], 0);
    close("min", d[0]);
    close("max", d[59]);
    close("mean", mean);
    close("median", median);
    close("stddev", stddev);
    close("p90", nearest_rank(&d, 90.0));
    close("p95", nearest_rank(&d, 95.0));
    close("p99", nearest_rank(&d, 99.0));
    assert!(s["p99"].as_f64() <= s["max"].as_f64());
    let first = samples
        .iter()
        .filter_map(|s| s["start"].as_f64())
        .fold(f64::MAX, f64::min);
    let last = samples
        .iter()
        .filter_map(|s| Some(s["start"].as_f64()? + s["duration"].as_f64()?))
        .fold(0.0, f64::max);
    close("rate", 60.0 / (last - first));
    assert_eq!(row["outliers"], serde_json::json!(["host003"]));
    assert!(run.stdout.contains("outliers: host003"), "{}", run.stdout);
    assert!(run.stdout.contains("STATISTICS"));
    // max_duration 10ms cannot hold for a 50 ms sleep: every run fails, each says why.
    let strict = summary["statistics"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["task"] == "strict"))
        .expect("a row for strict");
    assert_eq!(strict["summary"]["failures"], 12);
    assert!(
        run.stdout.contains("(4 iterations, 4 failed)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("more than max_duration"),
        "{}",
        run.stdout
    );
}

#[test]
fn order_shuffle_follows_the_seed_too() {
    let dir = scratch();
    let pb = write(
        dir.path(),
        "pb.yml",
        "- hosts: all\n  gather_facts: false\n  order: shuffle\n  tasks:\n    - command: \"true\"\n",
    );
    let order = |seed: &str| {
        let run = horde(["apply", "-i", "lab:8", "-f", "1", "--seed", seed])
            .arg(&pb)
            .run()
            .expect_code(0);
        job_order(&run.stdout)
    };
    let a = order("11");
    assert_eq!(a.len(), 8);
    assert_eq!(order("11"), a);
    assert_ne!(order("12"), a);
}
