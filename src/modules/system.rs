//! Dispatch for the system modules (`wait_for`, `uri`, `get_url`, `package`/`apt`/`dnf`,
//! `service`/`systemd`, `user`, `group`) and the [`Reply`] their one-script-per-task
//! protocol shares: a script prints `@@horde key=value` lines for horde among whatever its
//! commands print.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use super::{Args, Ctx, ModResult, package, service, uri, user, wait_for};
use crate::ssh::ExecOutput;
use crate::vars::Vars;
use serde_json::Value;

/// Runs a system module. Returns `None` when `name` is not one of them.
pub(crate) async fn run_system(name: &str, args: &Args, ctx: &Ctx<'_>) -> Option<ModResult> {
    Some(match name {
        "wait_for" => wait_for::run(args, ctx).await,
        "uri" => uri::uri(args, ctx).await,
        "get_url" => uri::get_url(args, ctx).await,
        "package" | "apt" | "dnf" => package::run(name, args, ctx).await,
        "service" | "systemd" => service::run(name, args, ctx).await,
        "user" => user::user(args, ctx).await,
        "group" => user::group(args, ctx).await,
        _ => return None,
    })
}

/// The prefix of the lines a module script prints for horde.
pub(crate) const TAG: &str = "@@horde ";

/// What a module script reported: its tagged `key=value` lines, the rest of its stdout, its
/// stderr and exit code.
#[derive(Debug, Default)]
pub(crate) struct Reply {
    pub kv: Vec<(String, String)>,
    pub stdout: String,
    pub stderr: String,
    pub rc: i64,
}

impl Reply {
    pub fn parse(out: &ExecOutput) -> Reply {
        let text = String::from_utf8_lossy(&out.stdout);
        let mut reply = Reply {
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            rc: out.status.rc(),
            ..Reply::default()
        };
        for line in text.split_inclusive('\n') {
            match line.strip_prefix(TAG) {
                Some(kv) => {
                    let kv = kv.trim_end_matches('\n');
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    reply.kv.push((k.to_string(), v.to_string()));
                }
                None => reply.stdout.push_str(line),
            }
        }
        reply
    }

    /// The last value reported for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.kv
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value reported for `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.kv
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// A failed result when the script itself failed (a non-zero exit: it could not make a
    /// temporary file, or the host's shell rejected it); module scripts end with 0 otherwise.
    pub fn script_failure(&self, module: &str) -> Option<Vars> {
        (self.rc != 0).then(|| {
            let mut r = super::failed(format!(
                "the {module} script failed on the host (rc {}): {}",
                self.rc,
                self.stderr.trim()
            ));
            r.insert("rc".into(), Value::from(self.rc));
            r
        })
    }

    pub fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v == "1")
    }

    pub fn int(&self, key: &str) -> Option<i64> {
        self.get(key).and_then(|v| v.trim().parse().ok())
    }

    /// Adds `stdout`, `stderr` and their `_lines` to a result, as Ansible's modules do.
    pub fn add_output(&self, r: &mut Vars) {
        for (key, text) in [("stdout", &self.stdout), ("stderr", &self.stderr)] {
            r.insert(key.into(), Value::String(text.clone()));
            r.insert(
                format!("{key}_lines"),
                Value::Array(text.lines().map(|l| Value::String(l.into())).collect()),
            );
        }
    }
}

/// Runs a module script and parses its reply. The script ends with `exit 0`, so a non-zero
/// exit means it stopped early (see [`Reply::script_failure`]).
pub(crate) async fn run_script(
    ctx: &Ctx<'_>,
    script: &str,
    stdin: Option<Vec<u8>>,
) -> Result<Reply, crate::ssh::SshError> {
    Ok(Reply::parse(
        &ctx.sh(&format!("{script}\nexit 0\n"), stdin).await?,
    ))
}

/// Shell functions every module script may use: `say key value` prints a tagged line.
pub(crate) const PRELUDE: &str = "say() { printf '@@horde %s=%s\\n' \"$1\" \"$2\"; }\n";

/// Turns an argument error into a failed result, as Ansible reports a bad argument.
macro_rules! try_arg {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return Ok($crate::modules::failed(e.0)),
        }
    };
}
pub(crate) use try_arg;

#[cfg(test)]
pub(crate) mod testing {
    //! A [`Ctx`] on the local machine for the modules' tests.
    use super::*;
    use crate::template::Templar;
    use crate::transport::Transport;
    use std::time::Duration;
    use tokio_util::sync::CancellationToken;

    pub struct Local {
        pub transport: Transport,
        pub cancel: CancellationToken,
        pub templar: Templar,
        pub vars: Vars,
        pub env: Vec<(String, String)>,
        pub check: bool,
    }

    impl Local {
        pub fn new() -> Local {
            Local {
                transport: Transport::Local,
                cancel: CancellationToken::new(),
                templar: Templar::new(),
                vars: Vars::new(),
                env: Vec::new(),
                check: false,
            }
        }

        pub fn ctx(&self) -> Ctx<'_> {
            Ctx {
                host: "localhost",
                transport: &self.transport,
                become_: None,
                cancel: &self.cancel,
                check: self.check,
                diff: false,
                timeout: Some(Duration::from_secs(60)),
                environment: &self.env,
                search_dirs: &[],
                templar: &self.templar,
                vars: &self.vars,
            }
        }

        /// Runs a module with JSON arguments.
        pub async fn run(&self, module: &str, args: Value) -> Vars {
            let map = args.as_object().cloned().unwrap_or_default();
            let args = Args::new(module, map);
            run_system(module, &args, &self.ctx())
                .await
                .expect("a system module")
                .expect("the local shell runs")
        }
    }

    /// Runs a shell command locally (test setup and assertions).
    pub fn sh(cmd: &str) -> String {
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd)
            .output()
            .expect("sh runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssh::ExitStatus;

    #[test]
    fn replies_split_tags_from_output() {
        let out = ExecOutput {
            stdout: b"hello\n@@horde a=1\n@@horde b=x=y\nworld".to_vec(),
            stderr: b"oops\n".to_vec(),
            status: ExitStatus::Code(2),
            started: std::time::SystemTime::now(),
            duration: Default::default(),
        };
        let r = Reply::parse(&out);
        assert_eq!(r.get("a"), Some("1"));
        assert_eq!(r.get("b"), Some("x=y"));
        assert_eq!(r.stdout, "hello\nworld");
        assert_eq!(r.rc, 2);
        assert!(r.flag("a"));
    }

    #[tokio::test]
    async fn unknown_modules_are_not_system_modules() {
        let local = testing::Local::new();
        let args = Args::new("copy", Vars::new());
        assert!(run_system("copy", &args, &local.ctx()).await.is_none());
    }
}
