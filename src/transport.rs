//! Between modules and the network: a [`Transport`] runs a command on a host, over its SSH
//! [`Session`] or on the controller (`ansible_connection: local`, `delegate_to: localhost`),
//! with privilege escalation ([`Become`]) wrapped around the command.

use crate::shell::quote;
use crate::ssh::{
    Answering, ExecOutput, ExecRequest, ExitStatus, PasswordPrompt, Session, SshError,
    SshErrorKind, Step,
};
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

/// What su prints when it asks for the password (PAM's prompt, in the C locale).
const SU_PROMPT: &str = "Password: ";

impl Become {
    /// Wraps a command. With a password, the wrapped command prints a ready line with a
    /// nonce as its first act as the other user, and sudo asks with a prompt of its own
    /// (with the same nonce), as Ansible's become does: the password is typed only when
    /// asked (see [`PasswordPrompt`]), never fed to a command that sudo or su let run
    /// without one.
    pub fn wrap(&self, command: &str) -> (String, Option<PasswordPrompt>) {
        let Some(password) = &self.password else {
            let inner = format!("/bin/sh -c {}", quote(command));
            let line = match self.method {
                BecomeMethod::Sudo => format!("sudo -H -S -n -u {} {inner}", quote(&self.user)),
                BecomeMethod::Su => format!("su {} -c {}", quote(&self.user), quote(&inner)),
            };
            return (line, None);
        };
        let nonce = crate::shell::nonce(8);
        let ready = format!("__HORDE_BECOME_{nonce}");
        let inner = format!(
            "/bin/sh -c {}",
            quote(&format!("printf '%s\\n' {ready}\n{command}"))
        );
        let (line, prompt) = match self.method {
            BecomeMethod::Sudo => {
                let prompt = format!("[sudo via horde, key={nonce}] password:");
                (
                    format!(
                        "sudo -H -S -p {} -u {} {inner}",
                        quote(&prompt),
                        quote(&self.user)
                    ),
                    prompt,
                )
            }
            BecomeMethod::Su => (
                format!("su {} -c {}", quote(&self.user), quote(&inner)),
                SU_PROMPT.to_string(),
            ),
        };
        let prompt = PasswordPrompt {
            prompt,
            ready,
            password: password.clone(),
        };
        (line, Some(prompt))
    }
}

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
                let (command, password) = b.wrap(&req.command);
                wrapped = ExecRequest {
                    command,
                    password,
                    ..req.clone()
                };
                &wrapped
            }
            None => req,
        };
        match self {
            Transport::Ssh(session) => session.run(req, cancel).await,
            Transport::Local => exec_local(req, cancel).await,
        }
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
    let (Some(mut stdin), Some(mut so), Some(mut se)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(err(SshErrorKind::Io(std::io::Error::other(
            "the command's pipes are missing",
        ))));
    };
    // What to write to the command, in order; `None` ends its input.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<Vec<u8>>>();
    let feed = async move {
        while let Some(Some(bytes)) = rx.recv().await {
            if stdin.write_all(&bytes).await.is_err() {
                break;
            }
        }
        drop(stdin);
    };
    let input = req.stdin.clone().unwrap_or_default();
    let send_input = |tx: &tokio::sync::mpsc::UnboundedSender<Option<Vec<u8>>>| {
        let _ = tx.send(Some(input.clone()));
        let _ = tx.send(None);
    };
    let collect = async {
        let (mut out, mut errb) = (Vec::new(), Vec::new());
        let mut answering = req.password.as_ref().map(Answering::new);
        if answering.is_none() {
            send_input(&tx);
        }
        let read = async {
            let (mut bo, mut be) = (vec![0u8; 16384], vec![0u8; 16384]);
            let mut limited = Ok(());
            let (mut out_open, mut err_open) = (true, true);
            while out_open || err_open {
                tokio::select! {
                    n = so.read(&mut bo), if out_open => match n {
                        Ok(n) if n > 0 => out.extend_from_slice(&bo[..n]),
                        _ => out_open = false,
                    },
                    n = se.read(&mut be), if err_open => match n {
                        Ok(n) if n > 0 => errb.extend_from_slice(&be[..n]),
                        _ => err_open = false,
                    },
                }
                limited = req.check_output(&out, &errb);
                if limited.is_err() {
                    break;
                }
                let Some(a) = answering.as_mut().filter(|a| a.waiting()) else {
                    continue;
                };
                match a.step(&out, &errb) {
                    Step::Wait => {}
                    Step::Type(pw) => {
                        let _ = tx.send(Some(pw));
                    }
                    Step::Ready => send_input(&tx),
                    // sudo gives up at the end of its input.
                    Step::Refused => {
                        let _ = tx.send(None);
                    }
                }
            }
            drop(tx);
            if let Some(a) = &answering {
                a.strip(&mut out, &mut errb);
            }
            limited
        };
        // The input goes on by itself: a command that stops reading must not hold up the
        // output, nor its end.
        let feeding = tokio::spawn(feed);
        let limited = read.await;
        let status = match limited {
            // Stopped: the command is killed when `child` is dropped.
            Err(kind) => Err(kind),
            Ok(()) => child.wait().await.map_err(SshErrorKind::Io),
        };
        feeding.abort();
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
                Err(kind) => return Err(err(kind)),
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
        let (cmd, prompt) = b.wrap("id -u");
        assert_eq!(cmd, "sudo -H -S -n -u root /bin/sh -c 'id -u'");
        assert!(prompt.is_none());
        let b = Become {
            password: Some("pw".into()),
            ..b
        };
        let (cmd, prompt) = b.wrap("cat");
        let p = prompt.unwrap();
        assert_eq!(p.password, "pw");
        assert!(
            p.prompt.starts_with("[sudo via horde, key="),
            "{}",
            p.prompt
        );
        let script = format!("printf '%s\\n' {}\ncat", p.ready);
        assert_eq!(
            cmd,
            format!(
                "sudo -H -S -p {} -u root /bin/sh -c {}",
                quote(&p.prompt),
                quote(&script)
            )
        );
    }

    /// A stand-in for sudo: asks with the prompt unless `nopasswd`, then prints the ready
    /// line and runs `cat`, as a wrapped command does.
    fn fake_sudo(nopasswd: bool) -> ExecRequest {
        let ask = if nopasswd {
            ""
        } else {
            "printf 'key=1 password:' >&2; IFS= read -r pw; [ \"$pw\" = pw ] || exit 1; "
        };
        ExecRequest {
            command: format!("{ask}printf '%s\\n' READY_1; echo out; cat"),
            stdin: Some(b"data".to_vec()),
            timeout: None,
            password: Some(PasswordPrompt {
                prompt: "key=1 password:".into(),
                ready: "READY_1".into(),
                password: "pw".into(),
            }),
            output_limit: None,
        }
    }

    #[tokio::test]
    async fn the_become_password_goes_only_to_a_prompt() {
        for nopasswd in [false, true] {
            let out = Transport::Local
                .exec(&fake_sudo(nopasswd), None, &CancellationToken::new())
                .await
                .unwrap();
            assert_eq!(out.status, ExitStatus::Code(0), "{out:?}");
            assert_eq!(out.stdout, b"out\ndata", "nopasswd: {nopasswd}");
            assert_eq!(out.stderr, b"", "nopasswd: {nopasswd}");
        }
    }

    #[tokio::test]
    async fn output_past_the_limit_stops_a_local_command() {
        let req = ExecRequest {
            command: "yes".into(),
            output_limit: Some(1 << 20),
            ..Default::default()
        };
        let e = Transport::Local
            .exec(&req, None, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(
            matches!(e.kind, SshErrorKind::OutputLimit { stream: "stdout", limit } if limit == 1 << 20),
            "{e}"
        );
        assert_eq!(
            e.reason(),
            "output exceeds 1048576 bytes on stdout; the command was stopped"
        );
    }

    #[tokio::test]
    async fn local_commands_report_output_and_status() {
        let out = Transport::Local
            .exec(
                &ExecRequest {
                    command: "cat; echo err >&2; exit 3".into(),
                    stdin: Some(b"in".to_vec()),
                    ..Default::default()
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
