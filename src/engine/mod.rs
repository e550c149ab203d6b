//! The engine: runs a [`Playbook`] over an inventory and reports [`Event`]s. One dispatcher
//! (`play.rs`) owns the run; each host's position is a [`cursor::Cursor`]; `host.rs` runs
//! one task on one host; `pool.rs` keeps one connection per host. See README.md.

mod actions;
mod barrier;
mod cursor;
mod event;
mod host;
mod matrix;
mod phases;
mod play;
mod pool;
mod schedule;
mod shuffle;

pub use event::{Event, HostResult, HostStats, Sample, Status, TaskKind};
pub use play::run;

use crate::inventory::Inventory;
use crate::playbook::Playbook;
use crate::ssh::SshContext;
use crate::template::Templar;
use crate::transport::Become;
use crate::vars::Vars;
use indexmap::IndexMap;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// What to run and how: the settings of `horde apply`.
pub struct RunSpec {
    pub playbooks: Vec<Playbook>,
    pub inventory: Arc<Inventory>,
    pub limit: Option<String>,
    pub extra_vars: Vars,
    pub ssh: Arc<SshContext>,
    pub forks: usize,
    pub check: bool,
    pub diff: bool,
    /// `-t`: run only tasks with these tags (empty: all).
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub start_at_task: Option<String>,
    /// `-b` (with `--become-user`, `--become-method`, `-K`): become for every task.
    pub become_: Option<Become>,
    pub force_handlers: bool,
    pub verbosity: u8,
    /// `--iterations`: overrides every task's `iterations:`.
    pub iterations: Option<u64>,
    /// `--seed`: the seed of every random order (shuffle); random when not given.
    pub seed: Option<u64>,
    /// `--case`: run only this matrix case.
    pub case: Option<String>,
    /// `--duration`: overrides `events: duration`.
    pub duration: Option<std::time::Duration>,
}

/// How a run is stopped: `soft` (first Ctrl-C, SIGTERM, `--timeout`) stops the tasks and
/// lets teardown run; `hard` (a second Ctrl-C) stops teardown too. `soft` is a child of
/// `hard`.
#[derive(Clone, Debug)]
pub struct Stop {
    pub soft: CancellationToken,
    pub hard: CancellationToken,
}

impl Stop {
    pub fn new() -> Stop {
        let hard = CancellationToken::new();
        Stop {
            soft: hard.child_token(),
            hard,
        }
    }
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

/// How the run ended.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub stats: IndexMap<String, HostStats>,
    /// Teardown's tallies (apart from the tasks').
    pub teardown: IndexMap<String, HostStats>,
    pub interrupted: bool,
}

/// The message of a panic's payload (`panic!` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// What makes a task's id (see [`Event::TaskStart`]): its origin, kind and matrix case.
pub(crate) type TaskIdKey = (String, TaskKind, Option<String>);

/// The run's shared state, read by every host's work.
pub(crate) struct RunCtx {
    pub spec: RunSpec,
    pub templar: Templar,
    pub pool: pool::Pool,
    pub events: mpsc::UnboundedSender<Event>,
    /// The run's soft stop (see [`Stop`]).
    pub cancel: CancellationToken,
    pub stop: Stop,
    /// The seed of the run's random orders.
    pub seed: u64,
    pub stats: Mutex<IndexMap<String, HostStats>>,
    /// Teardown's tallies, kept apart from the tasks'.
    pub teardown_stats: Mutex<IndexMap<String, HostStats>>,
    /// Task ids by (origin, kind, matrix case).
    pub task_ids: Mutex<HashMap<TaskIdKey, u32>>,
    /// Every inventory host's variables (for `hostvars` and delegation).
    pub inventory_vars: IndexMap<String, Vars>,
    /// `groups`: group name to host names.
    pub groups: Value,
    pub uses_host_lists: bool,
    /// Each host's facts as other hosts see them through `hostvars`.
    pub facts_snapshot: Mutex<HashMap<String, Vars>>,
    /// `--start-at-task` found its task.
    pub started: AtomicBool,
    pub forks: Arc<Semaphore>,
}

/// One play (one matrix case of it) being run; shared by its tasks, its events and its
/// teardown.
pub(crate) struct PlayCtx {
    pub dir: PathBuf,
    pub dir_str: String,
    pub all_hosts: Vec<String>,
    /// The serial batch being run.
    pub batch: Mutex<Vec<String>>,
    /// Hosts of the batch still running (for `ansible_play_hosts`).
    pub live: Mutex<Vec<String>>,
    /// Hosts of the play that failed or became unreachable (events skip them).
    pub down: Mutex<HashSet<String>>,
    /// The play's handlers, flattened, in definition order.
    pub handlers: Vec<crate::playbook::Task>,
    /// The matrix case being run, if any.
    pub case: Option<String>,
    /// What the play's setup registered (`setup.NAME`), for a play with setup.
    pub setup: Mutex<Option<Value>>,
    /// Stops this part of the play (the run's soft stop, or teardown's own).
    pub cancel: CancellationToken,
    pub barriers: barrier::Barriers,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl PlayCtx {
    pub fn new(
        dir: PathBuf,
        all_hosts: Vec<String>,
        handlers: Vec<crate::playbook::Task>,
        case: Option<String>,
        cancel: CancellationToken,
    ) -> PlayCtx {
        PlayCtx {
            dir_str: dir.display().to_string(),
            dir,
            batch: Mutex::new(all_hosts.clone()),
            live: Mutex::new(all_hosts.clone()),
            barriers: barrier::Barriers::new(&all_hosts),
            all_hosts,
            down: Mutex::new(HashSet::new()),
            handlers,
            case,
            setup: Mutex::new(None),
            cancel,
        }
    }

    /// The same play with another stop (for teardown).
    pub fn with_cancel(&self, cancel: CancellationToken) -> PlayCtx {
        let p = PlayCtx::new(
            self.dir.clone(),
            self.all_hosts.clone(),
            self.handlers.clone(),
            self.case.clone(),
            cancel,
        );
        *lock(&p.setup) = lock(&self.setup).clone();
        *lock(&p.down) = lock(&self.down).clone();
        p
    }

    pub fn live_hosts(&self) -> Vec<String> {
        lock(&self.live).clone()
    }

    pub fn batch_hosts(&self) -> Vec<String> {
        lock(&self.batch).clone()
    }

    /// Starts a serial batch.
    pub fn start_batch(&self, hosts: &[String]) {
        *lock(&self.batch) = hosts.to_vec();
        *lock(&self.live) = hosts.to_vec();
        self.barriers.reset(hosts);
    }

    /// A host failed or became unreachable: it no longer counts.
    pub fn host_down(&self, host: &str) {
        lock(&self.live).retain(|h| h != host);
        lock(&self.down).insert(host.to_string());
        self.barriers.leave(host);
    }

    pub fn is_down(&self, host: &str) -> bool {
        lock(&self.down).contains(host)
    }
}
