//! What the engine tells the reporters: [`Event`]s, in the order things happen, and the
//! per-host tallies of the recap ([`HostStats`]).

use crate::vars::Vars;
use indexmap::IndexMap;

/// How one task ended on one host (or one loop item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

/// One host's result of one task, or of one loop item.
#[derive(Debug, Clone)]
pub struct HostResult {
    pub host: String,
    /// The host the task ran on, when delegated.
    pub delegated_to: Option<String>,
    pub status: Status,
    /// The result dictionary (as registered).
    pub result: Vars,
    /// The loop item's label, for an item result.
    pub item: Option<String>,
    /// A failure that `ignore_errors` let pass.
    pub ignored: bool,
    /// The task's action (`debug`, `command` ...), for display rules.
    pub action: String,
    pub no_log: bool,
    /// The task ran into the block's rescue after this failure.
    pub rescued: bool,
}

/// The events of a run.
#[derive(Debug, Clone)]
pub enum Event {
    PlayStart {
        name: String,
    },
    /// The play's pattern matched no host.
    NoHostsMatched,
    TaskStart {
        name: String,
        handler: bool,
    },
    /// A loop item finished (the task's own result follows as [`Event::Host`]).
    Item(HostResult),
    Host(HostResult),
    /// `include_tasks` loaded a file for these hosts (for one loop item).
    Included {
        file: String,
        hosts: Vec<String>,
        item: Option<String>,
    },
    /// Every host of the play failed: the rest is skipped.
    NoMoreHosts,
    /// A message for the user (a warning).
    Warning(String),
    /// The run is over; the tallies per host.
    Recap(IndexMap<String, HostStats>),
}

/// The columns of `PLAY RECAP`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}
