//! Test support: a [`TestHost`] runs modules with `Transport::Local` in a temporary
//! directory (also the `src:` search dir), so tests check real effects on disk.

use super::{Args, Ctx, run};
use crate::template::Templar;
use crate::transport::Transport;
use crate::vars::Vars;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// A temporary directory on "the host" (this machine).
pub struct TestHost {
    dir: tempfile::TempDir,
    templar: Templar,
    pub vars: Vars,
    /// The task's `environment:`.
    pub environment: Vec<(String, String)>,
}

/// Check and diff flags for one run.
pub struct Flags<'a> {
    host: &'a TestHost,
    check: bool,
    diff: bool,
}

impl Flags<'_> {
    pub async fn run(&self, module: &str, args: Value) -> Vars {
        self.host
            .run_with(module, args, self.check, self.diff)
            .await
    }
}

impl TestHost {
    pub fn new() -> Self {
        TestHost {
            dir: tempfile::tempdir().unwrap(),
            templar: Templar::new(),
            vars: Vars::new(),
            environment: Vec::new(),
        }
    }

    /// A path in the directory.
    pub fn path(&self, rel: &str) -> String {
        self.dir.path().join(rel).display().to_string()
    }

    pub fn dir(&self) -> String {
        self.dir.path().display().to_string()
    }

    /// The umask the shell runs with.
    pub fn umask(&self) -> u32 {
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", "umask"])
            .output()
            .unwrap();
        u32::from_str_radix(String::from_utf8_lossy(&out.stdout).trim(), 8).unwrap()
    }

    pub fn check(&self) -> Flags<'_> {
        Flags {
            host: self,
            check: true,
            diff: false,
        }
    }

    pub fn diff(&self) -> Flags<'_> {
        Flags {
            host: self,
            check: false,
            diff: true,
        }
    }

    pub fn check_diff(&self) -> Flags<'_> {
        Flags {
            host: self,
            check: true,
            diff: true,
        }
    }

    pub async fn run(&self, module: &str, args: Value) -> Vars {
        self.run_with(module, args, false, false).await
    }

    pub async fn run_with(&self, module: &str, args: Value, check: bool, diff: bool) -> Vars {
        let map = args.as_object().cloned().unwrap_or_default();
        let search: Vec<PathBuf> = vec![self.dir.path().to_path_buf()];
        let cancel = CancellationToken::new();
        let ctx = Ctx {
            host: "testhost",
            transport: &Transport::Local,
            become_: None,
            cancel: &cancel,
            check,
            diff,
            timeout: None,
            environment: &self.environment,
            search_dirs: &search,
            templar: &self.templar,
            vars: &self.vars,
        };
        run(module, &Args::new(module, map), &ctx)
            .await
            .expect("a remote module")
            .expect("the local transport works")
    }
}

/// The permission bits of a path (not following a symlink).
pub fn mode_of(path: &str) -> u32 {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}
