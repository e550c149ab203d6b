//! Running the `horde` binary from tests: [`horde`] builds a command, [`Run`] is what it did.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fixture directory under `tests/fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

/// What a finished `horde` run left behind.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Fails the test, showing the output, unless the run exited with `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

/// A `horde` command line.
pub struct Horde {
    cmd: Command,
}

/// Starts a `horde` command with these arguments, with no Ansible settings leaking in.
pub fn horde<I, S>(args: I) -> Horde
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_horde"));
    cmd.args(args);
    cmd.env_remove("ANSIBLE_INVENTORY");
    cmd.env("NO_COLOR", "1");
    // Runs without --results write under target/, never into the repository.
    cmd.env(
        "HORDE_RESULTS_ROOT",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("horde-results"),
    );
    Horde { cmd }
}

impl Horde {
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    /// Starts the command without waiting, its output piped.
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("horde binary starts")
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    pub fn run(mut self) -> Run {
        let out = self.cmd.output().expect("horde binary runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The `-i` arguments a fixture's ARGS file names.
pub fn fixture_args(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("ARGS")).expect("fixture has ARGS");
    text.split_whitespace()
        .flat_map(|s| ["-i".to_string(), s.to_string()])
        .collect()
}

/// Subdirectories of a fixtures folder, sorted.
pub fn fixture_dirs(folder: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture(folder))
        .expect("fixture folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// How many processes run exactly this command line.
pub fn processes_running(cmdline: &str) -> usize {
    let out = Command::new("pgrep")
        .args(["-x", "-f", cmdline])
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

/// Waits until `cond` holds, failing with `what` after `secs` seconds.
#[track_caller]
pub fn wait_until(secs: u64, what: &str, cond: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !cond() {
        assert!(std::time::Instant::now() < deadline, "{what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Sends Ctrl-C (SIGINT) to a spawned horde and waits (at most `secs`) for it to end;
/// returns its exit code.
#[track_caller]
pub fn interrupt(child: &mut std::process::Child, secs: u64) -> Option<i32> {
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let t0 = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().expect("wait for horde") {
            return s.code();
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(secs),
            "horde did not stop after Ctrl-C"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
