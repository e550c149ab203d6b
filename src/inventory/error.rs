//! Inventory errors: [`InventoryError`] names the input (file, line, column) and what was
//! expected.

use crate::yaml::Pos;
use std::fmt;
use std::path::Path;

/// Where in the inputs something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub source: String,
    pub pos: Option<Pos>,
}

impl Origin {
    pub fn file(path: &Path) -> Self {
        Origin {
            source: path.display().to_string(),
            pos: None,
        }
    }

    pub fn at(path: &Path, pos: Pos) -> Self {
        Origin {
            source: path.display().to_string(),
            pos: Some(pos),
        }
    }

    pub fn line(path: &Path, line: usize, col: usize) -> Self {
        Self::at(path, Pos { line, col })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(pos) => write!(f, "{}:{}", self.source, pos),
            None => f.write_str(&self.source),
        }
    }
}

/// An inventory that cannot be used, and where.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {kind}")]
pub struct InventoryError {
    pub origin: Origin,
    #[source]
    pub kind: ErrorKind,
}

/// What was wrong with an inventory input.
#[derive(Debug, thiserror::Error)]
pub enum ErrorKind {
    /// `what` says which file it is: "inventory source", "variables file", "limit file".
    #[error("cannot read {what}")]
    Read {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the inventory source does not exist")]
    Missing,
    #[error("{0}")]
    Syntax(String),
    #[error("invalid host range {text:?}: {reason}")]
    Range { text: String, reason: String },
    #[error(
        "group {parent}: adding {child} as a child creates a recursive dependency loop ({loop_})"
    )]
    Cycle {
        parent: String,
        child: String,
        /// The loop the new link would close, e.g. `a -> b -> a`.
        loop_: String,
    },
    #[error("inventory script {status}{}", stderr_suffix(.stderr))]
    ScriptFailed { status: String, stderr: String },
    #[error("inventory script printed invalid JSON: {message}{}", stderr_suffix(.stderr))]
    ScriptJson { message: String, stderr: String },
    #[error("no hosts matched the subscripted pattern {0:?}")]
    Subscript(String),
    #[error("invalid host pattern {pattern:?}: {reason}")]
    Pattern { pattern: String, reason: String },
}

fn stderr_suffix(stderr: &str) -> String {
    let trimmed = stderr.trim_end();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("; its stderr:\n{trimmed}")
    }
}

impl InventoryError {
    pub fn new(origin: Origin, kind: ErrorKind) -> Self {
        InventoryError { origin, kind }
    }

    pub fn syntax(origin: Origin, message: impl Into<String>) -> Self {
        Self::new(origin, ErrorKind::Syntax(message.into()))
    }

    /// A file that cannot be read; `what` as in [`ErrorKind::Read`].
    pub fn read(path: &Path, what: &'static str, source: std::io::Error) -> Self {
        Self::new(Origin::file(path), ErrorKind::Read { what, source })
    }
}
