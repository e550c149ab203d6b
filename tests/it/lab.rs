//! The embedded lab fleet (`-i lab:N`): works with no sshd, each host in its own sandbox.

use crate::support::horde;

#[test]
fn lab_hosts_run_commands_in_their_sandboxes() {
    let run = horde([
        "run",
        "-i",
        "lab:20",
        "all",
        "-m",
        "shell",
        "-a",
        "pwd; test \"$HOME\" = \"$(pwd)\" && echo sandboxed",
    ])
    .run()
    .expect_code(0);
    let blocks: Vec<&str> = run.stdout.split("| CHANGED | rc=0 >>\n").skip(1).collect();
    assert_eq!(blocks.len(), 20, "{}", run.stdout);
    let mut homes: Vec<String> = blocks
        .iter()
        .map(|b| b.lines().next().unwrap_or_default().to_string())
        .collect();
    homes.sort();
    homes.dedup();
    assert_eq!(
        homes.len(),
        20,
        "every lab host has its own home: {homes:?}"
    );
    assert!(
        homes.iter().all(|h| !std::path::Path::new(h).exists()),
        "sandboxes are removed when horde exits"
    );
    assert_eq!(run.stdout.matches("sandboxed").count(), 20);
}

#[test]
fn lab_hosts_can_be_selected_and_fail_like_real_ones() {
    let run = horde([
        "run",
        "-i",
        "lab:5",
        "lab[1:2]",
        "-m",
        "shell",
        "-a",
        "echo partial >&2; exit 7",
    ])
    .run()
    .expect_code(2);
    assert_eq!(
        run.stdout
            .matches("| FAILED | rc=7 >>\npartialnon-zero return code\n")
            .count(),
        2,
        "{}",
        run.stdout
    );
    let run = horde(["run", "-i", "lab:0", "all", "-a", "true"])
        .run()
        .expect_code(1);
    assert!(run.stderr.contains("lab"), "{}", run.stderr);
}
