//! Exit codes, as Ansible's: 0 ok, 1 error, 2 a host failed, 4 unreachable or unparsable,
//! 5 bad options, 99 interrupted, 250 unexpected.

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(dead_code)] // the run-time codes are used as the commands that need them land
pub enum Exit {
    Ok = 0,
    Error = 1,
    HostFailed = 2,
    Unreachable = 4,
    BadOptions = 5,
    Interrupted = 99,
    Unexpected = 250,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// The exit code for an error that stopped a command.
pub fn code_for(err: &anyhow::Error) -> Exit {
    if err.downcast_ref::<UsageError>().is_some() {
        Exit::BadOptions
    } else {
        Exit::Error
    }
}

/// The message for an error and its causes, one line each.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut text = format!("error: {err}");
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(&format!("\n  caused by: {c}"));
        }
    }
    text
}

/// Options that make no sense together or are missing.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
