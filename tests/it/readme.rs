//! The README's `horde ...` commands work as written, from the repository root.

use crate::support::root;
use std::process::Command;

#[test]
fn readme_commands_succeed() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut in_sh = false;
    let mut commands = Vec::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if in_sh && line.starts_with("horde ") {
            commands.push(line.to_string());
        }
    }
    assert!(
        commands.len() >= 3,
        "README shows horde commands: {commands:?}"
    );
    for command in commands {
        let script = format!(
            "horde() {{ \"{}\" \"$@\"; }}\n{command}",
            env!("CARGO_BIN_EXE_horde")
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&script)
            .current_dir(root())
            // Their results directories go under target/, not into the repository.
            .env(
                "HORDE_RESULTS_ROOT",
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("horde-results"),
            )
            .output()
            .expect("bash");
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "README command failed: {command}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
