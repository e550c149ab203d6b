//! Ad-hoc runs (`horde run`): one command module on every selected host, each host on its
//! own task, at most `forks` at once, results sent over a channel as hosts finish. The
//! main entry is [`run`]; a host's end is a [`HostResult`].

use crate::engine::{self, Status};
use crate::inventory::Inventory;
use crate::modules::command;
use crate::ssh::{ExecOutput, ExecRequest, Session, SshContext, SshError, resolve};
use crate::transport::{Become, Transport};
use crate::vars::{Vars, combine};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// The modules `horde run` takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdhocModule {
    /// Runs a program with its arguments, no shell (environment variables still expand).
    Command,
    /// Runs the text with `/bin/sh -c`.
    Shell,
    /// Sends the text as it is.
    Raw,
}

impl std::str::FromStr for AdhocModule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s
            .trim_start_matches("ansible.builtin.")
            .trim_start_matches("ansible.legacy.")
        {
            "command" => Ok(AdhocModule::Command),
            "shell" => Ok(AdhocModule::Shell),
            "raw" => Ok(AdhocModule::Raw),
            other => Err(format!(
                "module {other:?} is not available in horde run (use command, shell or raw; playbooks get the others)"
            )),
        }
    }
}

impl AdhocModule {
    pub fn name(self) -> &'static str {
        match self {
            AdhocModule::Command => "command",
            AdhocModule::Shell => "shell",
            AdhocModule::Raw => "raw",
        }
    }
}

/// What to run on each host.
#[derive(Debug, Clone)]
pub struct AdhocTask {
    pub module: AdhocModule,
    pub args: String,
    pub become_: Option<Become>,
    pub timeout: Option<Duration>,
}

impl AdhocTask {
    /// The shell command line sent to the host; `chdir=DIR` in the arguments applies to
    /// command and shell.
    pub fn command_line(&self) -> Result<String, String> {
        match self.module {
            AdhocModule::Raw => Ok(self.args.clone()),
            AdhocModule::Command => command::adhoc_line(command::Kind::Command, &self.args),
            AdhocModule::Shell => command::adhoc_line(command::Kind::Shell, &self.args),
        }
    }
}

/// How a host ended.
#[derive(Debug)]
pub enum Outcome {
    /// The command ran; its exit status decides ok or failed.
    Ran { command: String, output: ExecOutput },
    /// The host could not be reached (connect, host key, authentication, lost connection).
    Unreachable(SshError),
    /// horde could not run the task on this host (bad settings, command timeout).
    Failed(String),
    /// Interrupted before it finished.
    Cancelled,
}

/// One host's result.
#[derive(Debug)]
pub struct HostResult {
    pub host: String,
    pub outcome: Outcome,
}

/// The task id of an ad-hoc run's one task in its events.
pub const TASK_ID: u32 = 1;

impl HostResult {
    /// The result as the engine reports one (task [`TASK_ID`]), for the results directory
    /// and `--json`; `None` for a host interrupted before it finished.
    pub fn to_engine(&self, module: AdhocModule) -> Option<engine::HostResult> {
        let mut result = Vars::new();
        let end = std::time::SystemTime::now();
        let (status, start, duration) = match &self.outcome {
            Outcome::Cancelled => return None,
            Outcome::Unreachable(e) => {
                result.insert("unreachable".into(), Value::Bool(true));
                result.insert("changed".into(), Value::Bool(false));
                let msg = format!("Failed to connect to the host via ssh: {}", e.reason());
                result.insert("msg".into(), Value::String(msg));
                (Status::Unreachable, end, 0.0)
            }
            Outcome::Failed(msg) => {
                result.insert("failed".into(), Value::Bool(true));
                result.insert("changed".into(), Value::Bool(false));
                result.insert("msg".into(), Value::String(msg.clone()));
                (Status::Failed, end, 0.0)
            }
            Outcome::Ran { command, output } => {
                let text = |b: &[u8]| {
                    let t = String::from_utf8_lossy(b).into_owned();
                    if module == AdhocModule::Raw {
                        t
                    } else {
                        t.trim_end_matches(['\r', '\n']).to_string()
                    }
                };
                let rc = output.status.rc();
                result.insert("changed".into(), Value::Bool(true));
                result.insert("cmd".into(), Value::String(command.clone()));
                result.insert("rc".into(), rc.into());
                result.insert("stdout".into(), Value::String(text(&output.stdout)));
                result.insert("stderr".into(), Value::String(text(&output.stderr)));
                let secs = output.duration.as_secs_f64();
                result.insert("delta".into(), Value::String(format!("{secs:.6}s")));
                let status = if rc == 0 {
                    Status::Changed
                } else {
                    result.insert("failed".into(), Value::Bool(true));
                    result.insert("msg".into(), Value::String("non-zero return code".into()));
                    Status::Failed
                };
                (status, output.started, secs)
            }
        };
        let start = start
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        Some(engine::HostResult::new(
            &self.host,
            TASK_ID,
            status,
            result,
            module.name(),
            start,
            duration,
        ))
    }
}

/// What an ad-hoc run reports, as it happens.
#[derive(Debug)]
pub enum AdhocEvent {
    /// The host got a fork and starts (its result follows).
    Started(String),
    Finished(HostResult),
}

/// The variables of a host as the run sees them: inventory vars, then extra vars.
pub fn host_vars(inv: &Inventory, host: &str, extra: &Vars) -> Vars {
    let mut vars = match inv.host_id(host) {
        Some(h) => inv.host_vars(h),
        None => {
            // The implicit localhost.
            let mut v = Vars::new();
            v.insert("ansible_connection".into(), Value::String("local".into()));
            v
        }
    };
    combine(&mut vars, extra);
    vars
}

/// `ansible_connection: local` (the implicit localhost has it; an inventory host named
/// localhost without it is reached over SSH, as in Ansible).
fn is_local(vars: &Vars) -> bool {
    vars.get("ansible_connection").and_then(Value::as_str) == Some("local")
}

/// An ad-hoc run: the task, the hosts and how to reach them.
pub struct AdhocRun {
    pub inventory: Arc<Inventory>,
    pub hosts: Vec<String>,
    pub task: Arc<AdhocTask>,
    pub extra_vars: Arc<Vars>,
    pub ssh: Arc<SshContext>,
    pub forks: usize,
}

/// Runs the task on every host, at most `forks` at once, sending when each host starts and
/// its result as it ends. A panicking host task becomes that host's internal-error result,
/// never a hang.
pub async fn run(
    spec: AdhocRun,
    cancel: CancellationToken,
    results: mpsc::UnboundedSender<AdhocEvent>,
) {
    let AdhocRun {
        inventory,
        hosts,
        task,
        extra_vars,
        ssh,
        forks,
    } = spec;
    fan_out(hosts, forks, cancel, results, move |host, cancel| {
        let (inv, task, extra, ctx) = (
            inventory.clone(),
            task.clone(),
            extra_vars.clone(),
            ssh.clone(),
        );
        async move { run_host(&inv, &host, &task, &extra, &ctx, &cancel).await }
    })
    .await;
}

/// [`run`]'s fan-out: `work` for each host on its own task, at most `forks` at once.
async fn fan_out<F, W>(
    hosts: Vec<String>,
    forks: usize,
    cancel: CancellationToken,
    results: mpsc::UnboundedSender<AdhocEvent>,
    work: W,
) where
    W: Fn(String, CancellationToken) -> F,
    F: Future<Output = Outcome> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(forks.clamp(1, Semaphore::MAX_PERMITS)));
    let mut set = JoinSet::new();
    // Which host each task is for: a panicked task's result still names its host.
    let mut task_hosts = HashMap::new();
    for host in hosts {
        let (cancel, results, slots) = (cancel.clone(), results.clone(), slots.clone());
        let job = work(host.clone(), cancel.clone());
        let name = host.clone();
        let handle = set.spawn(async move {
            let outcome = tokio::select! {
                permit = slots.acquire_owned() => match permit {
                    Ok(_permit) => {
                        let _ = results.send(AdhocEvent::Started(host.clone()));
                        job.await
                    }
                    Err(_) => Outcome::Cancelled,
                },
                _ = cancel.cancelled() => Outcome::Cancelled,
            };
            let _ = results.send(AdhocEvent::Finished(HostResult { host, outcome }));
        });
        task_hosts.insert(handle.id(), name);
    }
    while let Some(joined) = set.join_next_with_id().await {
        match joined {
            Ok((id, ())) => {
                task_hosts.remove(&id);
            }
            Err(e) => {
                let host = task_hosts.remove(&e.id()).unwrap_or_else(|| "?".into());
                if let Ok(payload) = e.try_into_panic() {
                    let _ = results.send(AdhocEvent::Finished(HostResult {
                        outcome: Outcome::Failed(format!(
                            "internal error: horde panicked running the task on {host}: {}",
                            engine::panic_message(payload.as_ref())
                        )),
                        host,
                    }));
                }
            }
        }
    }
}

async fn run_host(
    inv: &Inventory,
    host: &str,
    task: &AdhocTask,
    extra: &Vars,
    ctx: &SshContext,
    cancel: &CancellationToken,
) -> Outcome {
    let vars = host_vars(inv, host, extra);
    let command = match task.command_line() {
        Ok(c) => c,
        Err(e) => return Outcome::Failed(e),
    };
    let transport = if is_local(&vars) {
        Transport::Local
    } else {
        let target = match resolve(host, &vars, &ctx.defaults) {
            Ok(t) => t,
            Err(e) => return Outcome::Failed(e.message),
        };
        let connected = tokio::select! {
            s = Session::connect(&target, ctx) => s,
            _ = cancel.cancelled() => return Outcome::Cancelled,
        };
        match connected {
            Ok(s) => Transport::Ssh(Arc::new(s)),
            Err(e) => return Outcome::Unreachable(e),
        }
    };
    let req = ExecRequest {
        command: command.clone(),
        stdin: None,
        timeout: task.timeout,
        password: None,
        output_limit: None,
    };
    // The become password may also come from the host's variables, as in Ansible.
    let become_ = task.become_.clone().map(|mut b| {
        if b.password.is_none() {
            b.password = ["ansible_become_password", "ansible_become_pass"]
                .iter()
                .find_map(|k| vars.get(*k).and_then(Value::as_str).map(str::to_string));
        }
        b
    });
    let result = transport.exec(&req, become_.as_ref(), cancel).await;
    if let Transport::Ssh(s) = &transport {
        s.close().await;
    }
    match result {
        Ok(output) => Outcome::Ran { command, output },
        Err(_) if cancel.is_cancelled() => Outcome::Cancelled,
        Err(e) => match e.kind {
            crate::ssh::SshErrorKind::Timeout { .. }
            | crate::ssh::SshErrorKind::OutputLimit { .. } => Outcome::Failed(e.reason()),
            _ => Outcome::Unreachable(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(module: AdhocModule, args: &str) -> String {
        AdhocTask {
            module,
            args: args.into(),
            become_: None,
            timeout: None,
        }
        .command_line()
        .unwrap()
    }

    #[test]
    fn command_lines() {
        let cases = [
            (AdhocModule::Command, "uname -a", "exec uname -a"),
            (
                AdhocModule::Command,
                "echo 'a b' $HOME",
                // Set variables expand, unset ones stay as written (Ansible's expandvars).
                "exec echo 'a b' \"${HOME-\\$HOME}\"",
            ),
            (AdhocModule::Command, "ls ~/x 'a b'", "exec ls ~/x 'a b'"),
            (AdhocModule::Command, "echo a;b", "exec echo 'a;b'"),
            (
                AdhocModule::Shell,
                "echo $((1+2)) | cat",
                "exec /bin/sh -c 'echo $((1+2)) | cat'",
            ),
            (AdhocModule::Raw, "echo hi", "echo hi"),
            (
                AdhocModule::Command,
                "chdir=/tmp pwd",
                "cd /tmp && exec pwd",
            ),
        ];
        for (module, args, expected) in cases {
            assert_eq!(line(module, args), expected, "{args}");
        }
    }

    #[tokio::test]
    async fn a_panicking_host_task_is_that_hosts_failure_and_the_others_finish() {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let hosts = ["web1", "web2", "web3"].map(String::from).to_vec();
        fan_out(
            hosts,
            2,
            CancellationToken::new(),
            tx,
            |host, _| async move {
                if host == "web2" {
                    panic!("boom on {host}");
                }
                Outcome::Failed(format!("{host} ran"))
            },
        )
        .await;
        let mut ends = Vec::new();
        while let Some(event) = rx.recv().await {
            if let AdhocEvent::Finished(HostResult {
                host,
                outcome: Outcome::Failed(msg),
            }) = event
            {
                ends.push((host, msg));
            }
        }
        ends.sort();
        assert_eq!(
            ends,
            [
                ("web1".to_string(), "web1 ran".to_string()),
                (
                    "web2".to_string(),
                    "internal error: horde panicked running the task on web2: boom on web2"
                        .to_string()
                ),
                ("web3".to_string(), "web3 ran".to_string()),
            ]
        );
    }
}
