//! A long-lived `/bin/sh` per connection that runs commands one after the other, for the
//! playbook engine's many small commands. A command as its own channel costs the host a
//! new sshd session process and a shell (about 2.6 ms of sshd CPU each, measured on this
//! machine); in the shell it costs a fork (about 0.3 ms). See docs/benchmarks.md.
//!
//! Protocol, one command at a time (a random nonce marks horde's lines):
//! - start: `echo __HORDE_SHELL_<nonce> $$; exec /bin/sh` - the shell's pid, which is also
//!   its process group (sshd makes every session a new session), for cancellation;
//! - a command without input: `( eval 'CMD' ) </dev/null`; with input: a `GO` line first,
//!   then `head -c N | ( eval 'CMD' )` - horde sends the N bytes only once it read `GO`, so
//!   the shell (which reads its script ahead) cannot swallow them;
//! - then `printf '\n__HORDE_END_<nonce> %d\n' $?` on stdout and the same marker without
//!   the status on stderr: the output is what came before the markers.
//!
//! Each command runs in a subshell, so `cd`, `exit`, variables and traps stay inside it. A
//! cancelled or timed-out command is stopped by killing the shell's process group (from
//! a channel of its own); the shell is then started again for the next command.
//! Commands that may leave a process in the background holding the output (`&`) get a
//! channel of their own instead (see [`may_background`]).

use super::error::{SshError, SshErrorKind};
use super::session::{ExecOutput, ExecRequest, ExitStatus, Session};
use crate::shell::quote;
use russh::ChannelMsg;
use russh::client;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How long starting the shell may take before horde falls back to channels.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running shell on the host.
pub(crate) struct Shell {
    channel: russh::Channel<client::Msg>,
    /// The shell's pid (and process group).
    pid: u32,
    nonce: String,
}

/// Whether a command may start something in the background that keeps writing to its
/// output after it returns (a lone `&`): such a command gets its own channel, as Ansible
/// runs it.
pub(crate) fn may_background(command: &str) -> bool {
    let b = command.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'&'
            && b.get(i + 1) != Some(&b'&')
            && b.get(i + 1) != Some(&b'>')
            && (i == 0 || (b[i - 1] != b'&' && b[i - 1] != b'>' && b[i - 1] != b'<'))
    })
}

fn nonce() -> String {
    use rand::RngExt;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}

/// Where `marker` ends a buffer: `...\n<marker><rest>\n` with the marker's line last.
/// Returns (the output before the marker's newline, the rest of the marker's line).
fn split_marker<'a>(buf: &'a [u8], marker: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if buf.last() != Some(&b'\n') {
        return None;
    }
    let line_start = buf[..buf.len() - 1]
        .iter()
        .rposition(|&c| c == b'\n')
        .map(|p| p + 1)?;
    let line = &buf[line_start..buf.len() - 1];
    if !line.starts_with(marker) {
        return None;
    }
    // The newline horde printed before the marker is not the command's.
    Some((&buf[..line_start - 1], &line[marker.len()..]))
}

impl Shell {
    /// Starts the shell on a new channel.
    pub(crate) async fn start(session: &Session) -> Result<Shell, SshError> {
        let err = |kind| SshError::new(session.label().to_string(), kind);
        let mut channel = session.open_channel().await?;
        let nonce = nonce();
        let hello = format!("__HORDE_SHELL_{nonce} ");
        let command = format!("echo {hello}$$; exec /bin/sh");
        channel
            .exec(true, command.as_bytes())
            .await
            .map_err(|e| err(SshErrorKind::Protocol(e.to_string())))?;
        let mut out = Vec::new();
        let started = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => {
                        out.extend_from_slice(&data);
                        if let Some(end) = out.iter().position(|&c| c == b'\n') {
                            let line = String::from_utf8_lossy(&out[..end]).into_owned();
                            return line
                                .strip_prefix(&hello)
                                .and_then(|pid| pid.trim().parse::<u32>().ok());
                        }
                    }
                    ChannelMsg::Failure
                    | ChannelMsg::Eof
                    | ChannelMsg::Close
                    | ChannelMsg::ExitStatus { .. } => return None,
                    _ => {}
                }
            }
            None
        })
        .await;
        match started {
            Ok(Some(pid)) => Ok(Shell {
                channel,
                pid,
                nonce,
            }),
            _ => {
                let _ = channel.close().await;
                Err(err(SshErrorKind::Channel(
                    "the host's /bin/sh did not start as a command shell".into(),
                )))
            }
        }
    }

    /// Runs one command; an error means the shell is unusable (drop it).
    pub(crate) async fn run(
        &mut self,
        session: &Session,
        req: &ExecRequest,
    ) -> Result<ExecOutput, SshError> {
        let err = |kind| SshError::new(session.label().to_string(), kind);
        let proto = |e: russh::Error| err(SshErrorKind::Protocol(e.to_string()));
        let started = std::time::SystemTime::now();
        let t0 = Instant::now();
        let end = format!("__HORDE_END_{}", self.nonce);
        let go = format!("__HORDE_GO_{}\n", self.nonce);
        let tail = format!(
            "; printf '\\n%s %d\\n' {end} \"$?\"; printf '\\n%s\\n' {end} >&2\n",
            end = end
        );
        let input = req.stdin.as_deref().filter(|i| !i.is_empty());
        let line = match input {
            None => format!("( eval {} ) </dev/null{tail}", quote(&req.command)),
            Some(i) => format!(
                "printf '%s\\n' __HORDE_GO_{}; head -c {} | ( eval {} ){tail}",
                self.nonce,
                i.len(),
                quote(&req.command)
            ),
        };
        self.channel
            .data_bytes(line.into_bytes())
            .await
            .map_err(proto)?;
        let (mut out, mut errb) = (Vec::new(), Vec::new());
        let mut waiting_go = input.is_some();
        let closed = || {
            if session.is_closed() {
                err(SshErrorKind::Closed(Some("while the command ran".into())))
            } else {
                err(SshErrorKind::Channel(
                    "the command shell ended while the command ran".into(),
                ))
            }
        };
        loop {
            let Some(msg) = self.channel.wait().await else {
                return Err(closed());
            };
            match msg {
                ChannelMsg::Data { data } => out.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => errb.extend_from_slice(&data),
                ChannelMsg::Eof | ChannelMsg::Close | ChannelMsg::ExitStatus { .. } => {
                    return Err(closed());
                }
                _ => continue,
            }
            if waiting_go {
                if out.len() < go.len() {
                    continue;
                }
                if !out.starts_with(go.as_bytes()) {
                    return Err(err(SshErrorKind::Protocol(
                        "the command shell answered out of turn".into(),
                    )));
                }
                out.drain(..go.len());
                waiting_go = false;
                if let Some(i) = input {
                    self.channel.data_bytes(i.to_vec()).await.map_err(proto)?;
                }
            }
            let Some((stdout, status)) = split_marker(&out, end.as_bytes()) else {
                continue;
            };
            let Some((stderr, _)) = split_marker(&errb, end.as_bytes()) else {
                continue;
            };
            let code: u32 = String::from_utf8_lossy(status)
                .trim()
                .parse()
                .unwrap_or(255);
            return Ok(ExecOutput {
                stdout: stdout.to_vec(),
                stderr: stderr.to_vec(),
                status: ExitStatus::Code(code),
                started,
                duration: t0.elapsed(),
            });
        }
    }

    /// Stops whatever the shell runs (its whole process group) and the shell itself.
    pub(crate) async fn kill(self, session: &Session) {
        let req = ExecRequest {
            // `kill -TERM -PID` is the form bash, dash and zsh all take (dash refuses `--`).
            command: format!(
                "kill -TERM -{pid} 2>/dev/null || kill -s TERM -- -{pid} 2>/dev/null; kill -TERM {pid} 2>/dev/null; true",
                pid = self.pid
            ),
            stdin: None,
            timeout: Some(Duration::from_secs(5)),
        };
        let _ = session.exec(&req, &CancellationToken::new()).await;
        let _ = self.channel.close().await;
    }

    pub(crate) async fn close(self) {
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_split_the_output() {
        let m = b"__HORDE_END_ab";
        assert_eq!(
            split_marker(b"hello\n\n__HORDE_END_ab 0\n", m),
            Some((&b"hello\n"[..], &b" 0"[..]))
        );
        assert_eq!(
            split_marker(b"no newline\n__HORDE_END_ab 3\n", m),
            Some((&b"no newline"[..], &b" 3"[..]))
        );
        assert_eq!(
            split_marker(b"\n__HORDE_END_ab\n", m),
            Some((&b""[..], &b""[..]))
        );
        assert_eq!(split_marker(b"\n__HORDE_END_ab 0", m), None);
        assert_eq!(split_marker(b"__HORDE_END_ab 0\n", m), None);
        assert_eq!(split_marker(b"x\n__HORDE_END_zz 0\n", m), None);
    }

    #[test]
    fn background_commands_are_spotted() {
        assert!(may_background("nohup ./server &"));
        assert!(may_background("a & b"));
        assert!(!may_background("a && b"));
        assert!(!may_background("cmd 2>&1 >/dev/null"));
        assert!(!may_background("cmd &>/dev/null"));
        assert!(!may_background("cmd <&3"));
        assert!(!may_background("echo hi"));
    }
}
