//! SSH failures a user can act on: [`SshError`] names the host and says what went wrong and
//! in which phase (resolve, connect, handshake, host key, authentication, command).

use std::path::PathBuf;
use std::time::Duration;

/// Where in the life of a connection something failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connect,
    Handshake,
    Auth,
    Command,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::Handshake => "waiting for the SSH banner and key exchange",
            Phase::Auth => "authenticating",
            Phase::Command => "running the command",
        })
    }
}

/// What went wrong with an SSH connection or command.
#[derive(Debug, thiserror::Error)]
pub enum SshErrorKind {
    #[error("the name {0:?} does not resolve")]
    Resolve(String),
    #[error("connection refused")]
    Refused,
    #[error("no route to the host")]
    Unroutable,
    #[error("timed out after {}s while {phase}", .after.as_secs_f64())]
    Timeout { phase: Phase, after: Duration },
    #[error(
        "host key {fingerprint} is not known and host key checking is strict (known hosts files: {files})"
    )]
    UnknownHostKey { fingerprint: String, files: String },
    #[error(
        "HOST KEY CHANGED: the host offered {new} but {} line {line} records {old}; if this change is expected, remove that line",
        .path.display()
    )]
    HostKeyChanged {
        new: String,
        old: String,
        path: PathBuf,
        line: usize,
    },
    #[error("host key {fingerprint} is marked @revoked in {} line {line}", .path.display())]
    HostKeyRevoked {
        fingerprint: String,
        path: PathBuf,
        line: usize,
    },
    #[error("cannot record the host key in {}: {source}", .path.display())]
    KnownHostsWrite {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("authentication as {user:?} rejected; tried {tried}; the server accepts: {accepts}")]
    AuthRejected {
        user: String,
        tried: String,
        accepts: String,
    },
    #[error("cannot use key {}: {reason}", .path.display())]
    Key { path: PathBuf, reason: String },
    #[error("through jump host {hop}: {source}")]
    Jump {
        hop: String,
        #[source]
        source: Box<SshError>,
    },
    #[error("the connection was closed{}", .0.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
    Closed(Option<String>),
    #[error("cannot open a session channel: {0}")]
    Channel(String),
    #[error("{0}")]
    Io(#[source] std::io::Error),
    #[error("SSH protocol error: {0}")]
    Protocol(String),
    #[error("output exceeds {limit} bytes on {stream}; the command was stopped")]
    OutputLimit { stream: &'static str, limit: usize },
}

/// An SSH failure on one host.
#[derive(Debug, thiserror::Error)]
#[error("{target}: {kind}")]
pub struct SshError {
    /// `user@address:port`, as connected to.
    pub target: String,
    #[source]
    pub kind: SshErrorKind,
}

impl SshError {
    pub fn new(target: impl Into<String>, kind: SshErrorKind) -> Self {
        SshError {
            target: target.into(),
            kind,
        }
    }

    /// The message without the target, for Ansible-style output that names the host itself.
    pub fn reason(&self) -> String {
        let mut text = self.kind.to_string();
        let mut source = std::error::Error::source(&self.kind);
        while let Some(s) = source {
            let t = s.to_string();
            if !text.contains(&t) {
                text.push_str(": ");
                text.push_str(&t);
            }
            source = s.source();
        }
        text
    }
}
