//! Between modules and the network: a [`Transport`] runs a command on a host, over its SSH
//! [`Session`] or on the controller (`ansible_connection: local`, `delegate_to: localhost`),
//! with privilege escalation ([`Become`]) wrapped around the command.

use crate::shell::quote;
use crate::ssh::{ExecOutput, ExecRequest, ExitStatus, Session, SshError, SshErrorKind};
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// How to become another user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    pub method: BecomeMethod,
    pub user: String,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BecomeMethod {
    Sudo,
    Su,
}

/// The prompt horde gives sudo, removed again from the command's stderr.
const SUDO_PROMPT: &str = "[horde-sudo-password]";

impl Become {
    /// Wraps a command. sudo and su both read the password (if any) as the first line of
    /// stdin, before the command's own input; their prompts are removed from the output.
    pub fn wrap(&self, command: &str, stdin: Option<Vec<u8>>) -> (String, Option<Vec<u8>>) {
        let inner = format!("/bin/sh -c {}", quote(command));
        let with_password = |pw: &str| {
            let mut input = format!("{pw}\n").into_bytes();
            input.extend(stdin.clone().unwrap_or_default());
            Some(input)
        };
        match (self.method, &self.password) {
            (BecomeMethod::Sudo, None) => (
                format!("sudo -H -S -n -u {} {inner}", quote(&self.user)),
                stdin,
            ),
            (BecomeMethod::Sudo, Some(pw)) => (
                format!(
                    "sudo -H -S -p {} -u {} {inner}",
                    quote(SUDO_PROMPT),
                    quote(&self.user)
                ),
                with_password(pw),
            ),
            (BecomeMethod::Su, None) => (
                format!("su {} -c {}", quote(&self.user), quote(&inner)),
                stdin,
            ),
            (BecomeMethod::Su, Some(pw)) => (
                format!("su {} -c {}", quote(&self.user), quote(&inner)),
                with_password(pw),
            ),
        }
    }

    fn strip_prompts(&self, out: &mut ExecOutput) {
        match self.method {
            BecomeMethod::Sudo => strip_first(&mut out.stderr, SUDO_PROMPT.as_bytes()),
            BecomeMethod::Su => {
                strip_first(&mut out.stdout, SU_PROMPT.as_bytes());
                strip_first(&mut out.stderr, SU_PROMPT.as_bytes());
            }
        }
    }
}

/// What su prints when it asks for the password.
const SU_PROMPT: &str = "Password: ";

/// Where a host's commands run.
#[derive(Debug, Clone)]
pub enum Transport {
    Ssh(Arc<Session>),
    Local,
}

impl Transport {
    /// Runs a command (as another user with `become`) and collects its output.
    pub async fn exec(
        &self,
        req: &ExecRequest,
        become_: Option<&Become>,
        cancel: &CancellationToken,
    ) -> Result<ExecOutput, SshError> {
        let wrapped;
        let req = match become_ {
            Some(b) => {
                let (command, stdin) = b.wrap(&req.command, req.stdin.clone());
                wrapped = ExecRequest {
                    command,
                    stdin,
                    timeout: req.timeout,
                };
                &wrapped
            }
            None => req,
        };
        let mut out = match self {
            Transport::Ssh(session) => session.run(req, cancel).await?,
            Transport::Local => exec_local(req, cancel).await?,
        };
        if let Some(b) = become_.filter(|b| b.password.is_some()) {
            b.strip_prompts(&mut out);
        }
        Ok(out)
    }
}

fn strip_first(bytes: &mut Vec<u8>, prompt: &[u8]) {
    if let Some(pos) = bytes.windows(prompt.len()).position(|w| w == prompt) {
        bytes.drain(pos..pos + prompt.len());
    }
}

/// Runs a command on the controller with `/bin/sh -c`.
async fn exec_local(req: &ExecRequest, cancel: &CancellationToken) -> Result<ExecOutput, SshError> {
    let err = |kind| SshError::new("localhost", kind);
    let started = std::time::SystemTime::now();
    let t0 = Instant::now();
    let mut child = tokio::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&req.command)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| err(SshErrorKind::Io(e)))?;
    let mut stdin = child.stdin.take();
    let input = req.stdin.clone().unwrap_or_default();
    let feed = async move {
        if let Some(s) = stdin.as_mut() {
            let _ = s.write_all(&input).await;
        }
        drop(stdin);
    };
    let mut so = child.stdout.take();
    let mut se = child.stderr.take();
    let collect = async {
        let (mut out, mut errb) = (Vec::new(), Vec::new());
        let r1 = async {
            if let Some(s) = so.as_mut() {
                let _ = s.read_to_end(&mut out).await;
            }
        };
        let r2 = async {
            if let Some(s) = se.as_mut() {
                let _ = s.read_to_end(&mut errb).await;
            }
        };
        tokio::join!(feed, r1, r2);
        let status = child.wait().await;
        (out, errb, status)
    };
    let timeout = async {
        match req.timeout {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        (stdout, stderr, status) = collect => {
            let status = match status {
                Ok(s) => match (s.code(), s.signal()) {
                    (Some(c), _) => ExitStatus::Code(c as u32),
                    (None, Some(sig)) => ExitStatus::Signal(sig.to_string()),
                    _ => ExitStatus::Unknown,
                },
                Err(e) => return Err(err(SshErrorKind::Io(e))),
            };
            Ok(ExecOutput { stdout, stderr, status, started, duration: t0.elapsed() })
        }
        _ = cancel.cancelled() => Err(err(SshErrorKind::Closed(Some("cancelled".into())))),
        _ = timeout => Err(err(SshErrorKind::Timeout { phase: crate::ssh::Phase::Command, after: req.timeout.unwrap_or_default() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sudo_wraps_with_and_without_password() {
        let b = Become {
            method: BecomeMethod::Sudo,
            user: "root".into(),
            password: None,
        };
        let (cmd, stdin) = b.wrap("id -u", None);
        assert_eq!(cmd, "sudo -H -S -n -u root /bin/sh -c 'id -u'");
        assert!(stdin.is_none());
        let b = Become {
            password: Some("pw".into()),
            ..b
        };
        let (cmd, stdin) = b.wrap("cat", Some(b"data".to_vec()));
        assert!(cmd.starts_with("sudo -H -S -p"));
        assert_eq!(stdin.unwrap(), b"pw\ndata");
    }

    #[tokio::test]
    async fn local_commands_report_output_and_status() {
        let out = Transport::Local
            .exec(
                &ExecRequest {
                    command: "cat; echo err >&2; exit 3".into(),
                    stdin: Some(b"in".to_vec()),
                    timeout: None,
                },
                None,
                &CancellationToken::new(),
            )
            .await
            .unwrap();
        assert_eq!(out.stdout, b"in");
        assert_eq!(out.stderr, b"err\n");
        assert_eq!(out.status, ExitStatus::Code(3));
    }
}
