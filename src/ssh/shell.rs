//! A long-lived `/bin/sh` per connection that runs commands one after the other, for the
//! playbook engine's many small commands. A command as its own channel costs the host a
//! new sshd session process and a shell (about 2.6 ms of sshd CPU each, measured on this
//! machine); in the shell it costs a fork (about 0.3 ms). See docs/benchmarks.md.
//!
//! Protocol, one command at a time (a random nonce marks horde's lines):
//! - start: `echo __HORDE_SHELL_<nonce> $$ <a if head -c works>; exec /bin/sh` - the shell's
//!   pid, which is also its process group (sshd makes every session a new session), for
//!   cancellation;
//! - each command begins with `__HORDE_BEGIN_<nonce>` on stdout and stderr: what came
//!   before is stray output from an earlier command's background process, and is dropped;
//! - a command without input: `( eval 'CMD' ) </dev/null`; with input:
//!   `{ head -c N || kill -9 $$; } | { ( eval 'CMD' ); while read -r _; do :; done; }` -
//!   horde sends the N bytes only once it read the begin line, so the shell (which reads
//!   its script ahead) cannot swallow them, and the input the command leaves is drained,
//!   never run;
//! - then `printf '\n__HORDE_END_<nonce> %d\n' $?` on stdout and the same marker without
//!   the status on stderr: the output is what came between the markers; whatever follows
//!   an end marker on its stream is dropped.
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
    /// Whether commands with input can run in it (see [`Shell::start`]).
    reads_input: bool,
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

/// One output stream of a command in the shell. Bytes before the command's begin line are
/// stray (written late by a process an earlier command left in the background), and so are
/// bytes after its end marker's line: neither belongs to this command.
#[derive(Default)]
struct Stream {
    /// The bytes from the begin line on (before it: everything received).
    buf: Vec<u8>,
    began: bool,
    /// Where the search for the current marker goes on (it may straddle two reads).
    scanned: usize,
    /// Once the end marker's line is complete: where the output ends, and the rest of that
    /// line (after the marker).
    ended: Option<(usize, std::ops::Range<usize>)>,
}

/// Where `needle` first occurs in `buf` at or after `*from`; when it does not (yet), moves
/// `*from` on to where it could still begin.
fn find_from(buf: &[u8], needle: &[u8], from: &mut usize) -> Option<usize> {
    let found = memchr::memmem::find(buf.get(*from..)?, needle).map(|p| *from + p);
    match found {
        Some(p) => *from = p,
        None => *from = buf.len().saturating_sub(needle.len() - 1).max(*from),
    }
    found
}

impl Stream {
    fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Whether the begin line came; what came before it is dropped.
    fn begun(&mut self, begin: &[u8]) -> bool {
        if !self.began {
            let Some(p) = find_from(&self.buf, begin, &mut self.scanned) else {
                return false;
            };
            self.buf.drain(..p + begin.len());
            self.began = true;
            self.scanned = 0;
        }
        true
    }

    /// Whether the end marker's line (`<end><rest>\n`, `end` starting with the newline
    /// horde printed before it) came after the begin line.
    fn done(&mut self, end: &[u8]) -> bool {
        if self.ended.is_some() {
            return true;
        }
        let Some(at) = find_from(&self.buf, end, &mut self.scanned) else {
            return false;
        };
        let rest = at + end.len();
        let Some(nl) = self.buf[rest..].iter().position(|&c| c == b'\n') else {
            return false;
        };
        self.ended = Some((at, rest..rest + nl));
        true
    }

    /// The command's output and the rest of the end marker's line.
    fn into_parts(mut self) -> (Vec<u8>, Vec<u8>) {
        let Some((at, rest)) = self.ended else {
            return (self.buf, Vec::new());
        };
        let rest = self.buf[rest].to_vec();
        self.buf.truncate(at);
        (self.buf, rest)
    }
}

impl Shell {
    /// Starts the shell on a new channel.
    pub(crate) async fn start(session: &Session) -> Result<Shell, SshError> {
        let err = |kind| SshError::new(session.label().to_string(), kind);
        let mut channel = session.open_channel().await?;
        let nonce = crate::shell::nonce(16);
        let hello = format!("__HORDE_SHELL_{nonce} ");
        // `head -c` feeds a command its input: tried once here (one fork and exec, no
        // command substitution), since a head without `-c` would leave the input to the
        // shell to run (commands with input then get channels).
        let command =
            format!("r=; head -c 0 </dev/null 2>/dev/null && r=a; echo {hello}$$ $r; exec /bin/sh");
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
                            let mut words = line.strip_prefix(&hello)?.split_whitespace();
                            let pid = words.next()?.parse::<u32>().ok()?;
                            return Some((pid, words.next() == Some("a")));
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
            Ok(Some((pid, reads_input))) => Ok(Shell {
                channel,
                pid,
                nonce,
                reads_input,
            }),
            _ => {
                let _ = channel.close().await;
                Err(err(SshErrorKind::Channel(
                    "the host's /bin/sh did not start as a command shell".into(),
                )))
            }
        }
    }

    /// Whether the shell can feed a command input (the host's `head` takes `-c`).
    pub(crate) fn reads_input(&self) -> bool {
        self.reads_input
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
        let begin = format!("__HORDE_BEGIN_{}", self.nonce);
        let end = format!("__HORDE_END_{}", self.nonce);
        let command = quote(&req.command);
        // The begin lines tell this command's output from stray bytes before it.
        let mut line = format!("printf '%s\\n' {begin}; printf '%s\\n' {begin} >&2; ");
        let input = req.stdin.as_deref().filter(|i| !i.is_empty());
        match input {
            None => line.push_str(&format!(
                "( eval {command} ) </dev/null; printf '\\n%s %d\\n' {end} \"$?\"",
            )),
            // The input is sent once the begin line shows that the shell waits for the
            // pipeline (it reads its script ahead). A `read` loop (a builtin: no fork, and
            // nothing to read in the common case) takes what the command leaves unread, and
            // a head that dies early kills the shell: either way no byte of the input is
            // left for the shell to run.
            Some(i) => line.push_str(&format!(
                "{{ head -c {n} || kill -9 $$; }} | {{ ( eval {command} ); __horde_rc=$?; while read -r _; do :; done; printf '\\n%s %d\\n' {end} \"$__horde_rc\"; }}",
                n = i.len()
            )),
        }
        line.push_str(&format!("; printf '\\n%s\\n' {end} >&2\n"));
        self.channel
            .data_bytes(line.into_bytes())
            .await
            .map_err(proto)?;
        let (begin, end) = (format!("{begin}\n"), format!("\n{end}"));
        let (mut out, mut errs) = (Stream::default(), Stream::default());
        let mut input = input;
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
                ChannelMsg::Data { data } => out.push(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => errs.push(&data),
                ChannelMsg::Eof | ChannelMsg::Close | ChannelMsg::ExitStatus { .. } => {
                    return Err(closed());
                }
                _ => continue,
            }
            // The markers' bytes may count: they are far fewer than the limit.
            req.check_output(&out.buf, &errs.buf).map_err(err)?;
            if !out.begun(begin.as_bytes()) {
                continue;
            }
            if let Some(i) = input.take() {
                self.channel.data_bytes(i.to_vec()).await.map_err(proto)?;
            }
            if !(errs.begun(begin.as_bytes())
                && out.done(end.as_bytes())
                && errs.done(end.as_bytes()))
            {
                continue;
            }
            let (stdout, status) = out.into_parts();
            let (stderr, _) = errs.into_parts();
            let code: u32 = String::from_utf8_lossy(&status)
                .trim()
                .parse()
                .unwrap_or(255);
            return Ok(ExecOutput {
                stdout,
                stderr,
                status: ExitStatus::Code(code),
                started,
                duration: t0.elapsed(),
            });
        }
    }

    /// Stops whatever the shell runs (its whole process group) and the shell itself.
    pub(crate) async fn kill(self, session: &Session) {
        // The shell's channel goes first: output it keeps sending (a command printing
        // without end) would otherwise fill the channel's buffer, unread, and hold up the
        // whole connection, the kill command's channel with it.
        let Shell { channel, pid, .. } = self;
        let _ = channel.close().await;
        drop(channel);
        let req = ExecRequest {
            // `kill -TERM -PID` is the form bash, dash and zsh all take (dash refuses `--`).
            command: format!(
                "kill -TERM -{pid} 2>/dev/null || kill -s TERM -- -{pid} 2>/dev/null; kill -TERM {pid} 2>/dev/null; true",
                pid = pid
            ),
            stdin: None,
            timeout: Some(Duration::from_secs(5)),
            password: None,
            output_limit: None,
        };
        let _ = session.exec(&req, &CancellationToken::new()).await;
    }

    pub(crate) async fn close(self) {
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a stream in chunks of `n` bytes; its output and status once both markers came.
    fn parse(input: &[u8], n: usize) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut s = Stream::default();
        let mut done = false;
        for chunk in input.chunks(n) {
            s.push(chunk);
            done = s.begun(b"__B_ab\n") && s.done(b"\n__E_ab");
        }
        done.then(|| s.into_parts())
    }

    #[test]
    fn markers_split_the_output() {
        for n in [1, 2, 3, 7, 1000] {
            let ok = |out: &[u8], status: &[u8]| Some((out.to_vec(), status.to_vec()));
            assert_eq!(
                parse(b"__B_ab\nhello\n\n__E_ab 0\n", n),
                ok(b"hello\n", b" 0")
            );
            assert_eq!(
                parse(b"__B_ab\nno newline\n__E_ab 3\n", n),
                ok(b"no newline", b" 3")
            );
            assert_eq!(parse(b"__B_ab\n\n__E_ab\n", n), ok(b"", b""));
            // Stray output before the begin line and after the end marker's line.
            assert_eq!(
                parse(b"late\nno nl__B_ab\nout\n__E_ab 1\nlater\n", n),
                ok(b"out", b" 1")
            );
            assert_eq!(parse(b"__B_ab\n\n__E_ab 0", n), None);
            assert_eq!(parse(b"__E_ab 0\n__B_ab\nx\n", n), None);
            assert_eq!(parse(b"__B_ab\nx\n__E_zz 0\n", n), None);
            assert_eq!(parse(b"__B_zz\nx\n__E_ab 0\n", n), None);
        }
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
