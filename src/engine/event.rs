//! What the engine tells the reporters: [`Event`]s, in the order things happen, and the
//! per-host tallies of the recap ([`HostStats`]). Every event serializes to one JSON object
//! (`{"event": "host", ...}`), the line format of `events.jsonl` and `--json`, and reads
//! back from it (`horde report`).

use crate::vars::Vars;
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// How one task ended on one host (or one loop item, or one iteration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Changed,
    Skipped,
    Failed,
    Unreachable,
}

impl Status {
    /// A failure or an unreachable host.
    pub fn is_failure(self) -> bool {
        matches!(self, Status::Failed | Status::Unreachable)
    }
}

/// Which part of a play a task belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskKind {
    /// `pre_tasks`, `tasks`, `post_tasks` (and gathering facts).
    Task,
    Handler,
    /// The play's `setup:` (once, before any host starts).
    Setup,
    /// The play's `teardown:` (on every path out).
    Teardown,
    /// A task of an `events:` schedule entry.
    Event,
}

/// One host's result of one task, or of one loop item.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HostResult {
    pub host: String,
    /// The task it belongs to ([`Event::TaskStart`]'s `id`).
    pub task_id: u32,
    /// The host the task ran on, when delegated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated_to: Option<String>,
    pub status: Status,
    /// The result dictionary (as registered).
    pub result: Vars,
    /// The loop item's label, for an item result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// A failure that `ignore_errors` let pass.
    pub ignored: bool,
    /// The task's action (`debug`, `command` ...), for display rules.
    pub action: String,
    pub no_log: bool,
    /// The task ran into the block's rescue after this failure.
    pub rescued: bool,
    /// When the task started on the host (seconds since the Unix epoch) and how long it
    /// took (seconds), all iterations and loop items included.
    pub start: f64,
    pub duration: f64,
}

impl HostResult {
    /// A plain result: not delegated, no loop item, not ignored, hidden or rescued.
    pub fn new(
        host: impl Into<String>,
        task_id: u32,
        status: Status,
        result: Vars,
        action: impl Into<String>,
        start: f64,
        duration: f64,
    ) -> HostResult {
        HostResult {
            host: host.into(),
            task_id,
            delegated_to: None,
            status,
            result,
            item: None,
            ignored: false,
            action: action.into(),
            no_log: false,
            rescued: false,
            start,
            duration,
        }
    }
}

/// One timed run of a task on a host: the unit of the statistics. A task with
/// `iterations: N` gives N samples per host; any other task gives one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    pub task_id: u32,
    pub host: String,
    /// 1-based, for tasks with `iterations`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iteration: Option<u32>,
    /// Seconds since the Unix epoch.
    pub start: f64,
    /// Seconds.
    pub duration: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rc: Option<i64>,
    pub status: Status,
    /// The iteration's own result (for tasks with `iterations`; the task's result is in
    /// [`Event::Host`] otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Vars>,
}

/// The events of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The first event. `seed` drives every random order of the run (`--seed`).
    RunStart {
        seed: u64,
    },
    /// A play with `matrix:` is about to run these cases (ids in order).
    Cases {
        play: String,
        ids: Vec<String>,
    },
    PlayStart {
        name: String,
        /// The matrix case, for a play with `matrix:`.
        #[serde(skip_serializing_if = "Option::is_none")]
        case: Option<String>,
    },
    /// A `strategy: shuffle` play runs `jobs` (host, task, iteration) jobs in the order
    /// given by `seed`.
    Shuffle {
        seed: u64,
        jobs: usize,
    },
    /// The play's pattern matched no host.
    NoHostsMatched,
    /// A serial batch of the play starts on these hosts (all of the play's hosts without
    /// `serial`): the hosts its tasks are for, until they fail.
    Batch {
        hosts: Vec<String>,
    },
    TaskStart {
        /// Stable within the run: the same task (same place in the same file, same kind,
        /// same matrix case) always has the same id; ids count up from 1 as tasks are met.
        id: u32,
        name: String,
        kind: TaskKind,
        /// file:line:column of the task.
        origin: String,
    },
    /// A host starts running a task (its [`Event::Host`] result follows when it ends); it
    /// tells the hosts still running a task from those waiting for a fork.
    HostStart {
        task_id: u32,
        host: String,
    },
    /// A loop item finished (the task's own result follows as [`Event::Host`]).
    Item(HostResult),
    Host(HostResult),
    /// One timed run (see [`Sample`]).
    Sample(Sample),
    /// `include_tasks` loaded a file for these hosts (for one loop item).
    Included {
        file: String,
        hosts: Vec<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        item: Option<String>,
    },
    /// An `events:` entry was due while its previous run was still going: not started twice.
    EventOverlap {
        entry: String,
        /// Seconds since the schedule started.
        due: f64,
    },
    /// Every host of the play failed: the rest is skipped.
    NoMoreHosts,
    /// A message for the user (a warning).
    Warning {
        message: String,
    },
    /// The run is over; the tallies per host (teardown's apart).
    Recap {
        stats: IndexMap<String, HostStats>,
        teardown: IndexMap<String, HostStats>,
    },
}

/// The columns of `PLAY RECAP`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostStats {
    pub ok: u32,
    pub changed: u32,
    pub unreachable: u32,
    pub failed: u32,
    pub skipped: u32,
    pub rescued: u32,
    pub ignored: u32,
}
