//! [`Fail`]: how a module step ends early, either as a failed result (data for the report)
//! or as a transport error (the host is unreachable); [`finish`] turns a module's outcome
//! into its [`ModResult`].

use super::{ArgError, ModResult, failed};
use crate::ssh::SshError;
use crate::vars::Vars;
use serde_json::Value;

/// Why a module stopped before its normal end.
#[derive(Debug)]
pub enum Fail {
    /// A failed result (`failed: true`, `msg`, and any keys the module adds).
    Module(Vars),
    /// The command could not run: the engine reports the host unreachable or timed out.
    Ssh(SshError),
}

impl From<SshError> for Fail {
    fn from(e: SshError) -> Self {
        Fail::Ssh(e)
    }
}

impl From<ArgError> for Fail {
    fn from(e: ArgError) -> Self {
        Fail::Module(failed(e.0))
    }
}

/// A failed result with this message.
pub fn fail<T>(msg: impl Into<String>) -> Result<T, Fail> {
    Err(Fail::Module(failed(msg)))
}

/// A failed result with this message and extra keys.
pub fn fail_with<T>(msg: impl Into<String>, extra: Vars) -> Result<T, Fail> {
    let mut r = failed(msg);
    for (k, v) in extra {
        r.entry(k).or_insert(v);
    }
    r.entry("changed").or_insert(Value::Bool(false));
    Err(Fail::Module(r))
}

/// The module's result: a failed result stays data, a transport error stays an error.
pub fn finish(r: Result<Vars, Fail>) -> ModResult {
    match r {
        Ok(v) => Ok(v),
        Err(Fail::Module(mut v)) => {
            v.entry("changed").or_insert(Value::Bool(false));
            Ok(v)
        }
        Err(Fail::Ssh(e)) => Err(e),
    }
}
