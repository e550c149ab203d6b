//! The built-in modules. Each turns a task's (templated) arguments into shell commands on a
//! [`Transport`] and returns Ansible's result dictionary (`changed`, `failed`, `msg`, `rc`,
//! `stdout`, `stderr`, `diff`, module data). No Python on the target: a POSIX shell is all
//! a module needs.
//!
//! Remote failures are data (`failed: true` in the result), never `Err`; `Err` means the
//! host could not be reached or the command could not run (the engine reports the host
//! UNREACHABLE, or failed for a command timeout).
//!
//! Controller-side actions that need the engine's state (`debug`, `set_fact`, `assert`,
//! `fail`, `pause`, `meta`, `include_tasks` ...) live in the engine, not here; their
//! argument specs are here so every task is validated the same way before anything runs.

// Remote and input paths must not panic.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod args;
pub mod command;
mod copy;
mod fetch;
mod file;
mod lineinfile;
mod outcome;
mod package;
mod ping;
mod raw;
mod remote_file;
mod script;
mod service;
mod spec;
mod stat;
mod system;
mod template;
#[cfg(test)]
mod testing;
mod uri;
mod user;
mod wait_for;

pub use args::{ArgError, Args, to_bool};
pub use spec::{ModuleSpec, Param, ParamKind, canonical_name, names, spec};

use crate::ssh::{ExecOutput, ExecRequest, SshError};
use crate::template::Templar;
use crate::transport::{Become, Transport};
use crate::vars::Vars;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Everything a module needs to run on one host.
pub struct Ctx<'a> {
    /// The inventory name of the host (for messages).
    pub host: &'a str,
    pub transport: &'a Transport,
    pub become_: Option<&'a Become>,
    pub cancel: &'a CancellationToken,
    /// `--check`: report what would change, change nothing.
    pub check: bool,
    /// `--diff`: put a `diff` (`before`, `after`, `before_header`, `after_header`) in results.
    pub diff: bool,
    /// The task's `timeout:` (or none).
    pub timeout: Option<Duration>,
    /// The task's `environment:`, exported before each command.
    pub environment: &'a [(String, String)],
    /// Where a relative `src:` (copy, template, script) is looked for on the controller, in
    /// order: the playbook's `files/` or `templates/`, then the playbook's directory.
    pub search_dirs: &'a [PathBuf],
    /// The template engine and the task's variables (for `template`).
    pub templar: &'a Templar,
    pub vars: &'a Vars,
}

impl Ctx<'_> {
    /// Runs a shell script on the host with `/bin/sh -c`, with the task's environment,
    /// become and timeout.
    pub async fn sh(&self, script: &str, stdin: Option<Vec<u8>>) -> Result<ExecOutput, SshError> {
        let mut command = String::new();
        for (k, v) in self.environment {
            command.push_str(&format!("export {}={}; ", k, crate::shell::quote(v)));
        }
        command.push_str(script);
        self.sh_bare(command, stdin).await
    }

    /// Runs a shell script as it is: the task's environment is not exported first (the
    /// script puts [`Ctx::env_assignments`] where it needs them).
    pub async fn sh_bare(
        &self,
        command: String,
        stdin: Option<Vec<u8>>,
    ) -> Result<ExecOutput, SshError> {
        let req = ExecRequest {
            command,
            stdin,
            timeout: self.timeout,
            password: None,
            output_limit: None,
        };
        self.transport.exec(&req, self.become_, self.cancel).await
    }

    /// The task's environment as `K=V ` assignments to put before one command, as Ansible
    /// runs `script`: the command sees them, its arguments are expanded without them.
    pub fn env_assignments(&self) -> String {
        self.environment
            .iter()
            .map(|(k, v)| format!("{}={} ", k, crate::shell::quote(v)))
            .collect()
    }

    /// Finds a controller-side source file: absolute paths as given, relative ones in
    /// `search_dirs` under `sub` (`files`, `templates`) first, then in the dirs themselves.
    pub fn find_source(&self, src: &str, sub: &str) -> Option<PathBuf> {
        let p = PathBuf::from(src);
        if p.is_absolute() {
            return p.exists().then_some(p);
        }
        for dir in self.search_dirs {
            for cand in [dir.join(sub).join(&p), dir.join(&p)] {
                if cand.exists() {
                    return Some(cand);
                }
            }
        }
        None
    }
}

/// A module's result: Ansible's result dictionary.
pub type ModResult = Result<Vars, SshError>;

/// A failed result with a message.
pub fn failed(msg: impl Into<String>) -> Vars {
    let mut r = Vars::new();
    r.insert("failed".into(), Value::Bool(true));
    r.insert("msg".into(), Value::String(msg.into()));
    r
}

/// An ok result, changed or not.
pub fn ok(changed: bool) -> Vars {
    let mut r = Vars::new();
    r.insert("changed".into(), Value::Bool(changed));
    r
}

/// Runs a remote module (one that acts on the host). `name` is the canonical short name.
/// Returns `None` when `name` is not a remote module (an engine action, or unknown).
pub async fn run(name: &str, args: &Args, ctx: &Ctx<'_>) -> Option<ModResult> {
    Some(match name {
        "command" => command::run(command::Kind::Command, args, ctx).await,
        "shell" => command::run(command::Kind::Shell, args, ctx).await,
        "raw" => raw::run(args, ctx).await,
        "script" => script::run(args, ctx).await,
        "copy" => copy::run(args, ctx).await,
        "template" => template::run(args, ctx).await,
        "file" => file::run(args, ctx).await,
        "lineinfile" => lineinfile::run(args, ctx).await,
        "stat" => stat::run(args, ctx).await,
        "fetch" => fetch::run(args, ctx).await,
        "ping" => ping::run(args, ctx).await,
        _ => return system::run_system(name, args, ctx).await,
    })
}
