//! The SSH client on russh: [`Session`] (one connection per host, commands as channels),
//! [`Target`] (how to reach a host), known_hosts, ssh_config, and errors that say what went
//! wrong. See README.md in this folder for the data flow.

mod config;
mod error;
mod known_hosts;
mod prompt;
mod session;
mod shell;
mod target;

pub use config::{ConfigError, SshConfig, config_path};
pub use error::{Phase, SshError, SshErrorKind};
pub use known_hosts::{KnownHosts, Verdict, fingerprint, host_key_name};
pub use prompt::PasswordPrompt;
pub(crate) use prompt::{Answering, Step};
pub use session::{ExecOutput, ExecRequest, ExitStatus, Session, SshContext};
pub use target::{
    Hop, HostKeyPolicy, Target, TargetDefaults, TargetError, current_user, resolve, resolve_hop,
};
