//! The engine: runs a [`Playbook`] over an inventory and reports [`Event`]s. One dispatcher
//! (`play.rs`) owns the run; each host's position is a [`cursor::Cursor`]; `host.rs` runs
//! one task on one host; `pool.rs` keeps one connection per host. See README.md.

mod actions;
mod cursor;
mod event;
mod host;
mod play;
mod pool;

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
use std::collections::HashMap;
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
}

/// How the run ended.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    pub stats: IndexMap<String, HostStats>,
    pub interrupted: bool,
}

/// What makes a task's id (see [`Event::TaskStart`]): its origin, kind and matrix case.
pub(crate) type TaskIdKey = (String, TaskKind, Option<String>);

/// The run's shared state, read by every host's work.
pub(crate) struct RunCtx {
    pub spec: RunSpec,
    pub templar: Templar,
    pub pool: pool::Pool,
    pub events: mpsc::UnboundedSender<Event>,
    pub cancel: CancellationToken,
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

/// One play (or one serial batch of it) being run.
pub(crate) struct PlayCtx {
    pub dir: PathBuf,
    pub dir_str: String,
    pub all_hosts: Vec<String>,
    pub batch: Vec<String>,
    /// Hosts of the batch still running (for `ansible_play_hosts`).
    pub live: Mutex<Vec<String>>,
    /// The play's handlers, flattened, in definition order.
    pub handlers: Vec<crate::playbook::Task>,
    /// The matrix case being run, if any.
    pub case: Option<String>,
}

impl PlayCtx {
    pub fn live_hosts(&self) -> Vec<String> {
        self.live.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
