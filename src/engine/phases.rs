//! A play's `setup:` (once, before any host starts; what it registers becomes `setup.NAME`)
//! and `teardown:` (on every path out: success, failure, unreachable hosts, Ctrl-C,
//! SIGTERM, `--timeout`; each task tried; its own timeout; tallied apart).

use super::event::{HostStats, Status, TaskKind};
use super::host::{HostState, Iters, TaskOutcome};
use super::{PlayCtx, RunCtx};
use crate::playbook::{Action, Common, Play, Task};
use crate::vars::Vars;
use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Teardown's bound when the play does not set `teardown_timeout`.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(600);

impl RunCtx {
    /// Runs the play's setup once, on the first host (or where its tasks delegate to).
    /// Returns whether it succeeded; what it set is in `pctx.setup` either way.
    pub(super) async fn run_setup(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        scope: &Arc<Common>,
        hosts: &mut HashMap<String, HostState>,
    ) -> bool {
        let Some(first) = pctx.all_hosts.first() else {
            return false;
        };
        let facts = hosts
            .get(first)
            .map(|s| s.facts.clone())
            .unwrap_or_default();
        let before = facts.clone();
        let mut hs = self.host_state(first, facts, Arc::new(play.setup.clone()), scope.clone());
        // `setup` fills as setup runs: later setup tasks see what earlier ones registered.
        let publish = |hs: &HostState| {
            let set: Vars = hs
                .facts
                .iter()
                .filter(|(k, v)| before.get(k.as_str()) != Some(v))
                .filter(|(k, _)| !k.starts_with("ansible_failed_"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            *super::lock(&pctx.setup) = Some(Value::Object(set));
        };
        publish(&hs);
        self.walk(pctx, &mut hs, TaskKind::Setup, None, publish)
            .await;
        if hs.unreachable {
            pctx.host_down(first);
            hosts.insert(hs.name.clone(), hs);
            self.warn(format!(
                "{}: setup could not reach {first}: no host runs the play's tasks; teardown runs",
                play.origin
            ));
            return false;
        }
        let ok = !hs.failed && !pctx.cancel.is_cancelled();
        if !ok && !pctx.cancel.is_cancelled() {
            self.warn(format!(
                "{}: setup failed on {first}: no host runs the play's tasks; teardown runs",
                play.origin
            ));
        }
        ok
    }

    /// Walks one host's cursor to its end, one task after the other (setup, an event's
    /// run): meta tasks passed over, includes loaded; it stops when the host fails or
    /// becomes unreachable, or the play stops. Tasks are announced by their templated
    /// name, or as `PREFIX: NAME`; `after` sees the host after each task.
    pub(super) async fn walk(
        &self,
        pctx: &PlayCtx,
        hs: &mut HostState,
        kind: TaskKind,
        prefix: Option<&str>,
        mut after: impl FnMut(&HostState),
    ) {
        while let Some(next) = hs.cursor.next() {
            if pctx.cancel.is_cancelled() || hs.failed || hs.unreachable {
                break;
            }
            match &next.task().action {
                Action::Module { name, .. } if name == "meta" => hs.cursor.advance(),
                Action::Include { .. } => {
                    let included = self.include(pctx, hs, &next);
                    let host = hs.name.clone();
                    self.report_included(
                        included
                            .into_iter()
                            .map(|e| (e, vec![host.clone()]))
                            .collect(),
                    );
                }
                _ => {
                    let task = next.task();
                    match prefix {
                        Some(p) => {
                            let title = format!("{p}: {}", task.display_name());
                            self.task_start_named(pctx, task, title, kind);
                        }
                        None => {
                            let full = task.common.inherit(&next.scope);
                            self.task_start(pctx, hs, task, &full, kind);
                        }
                    }
                    self.step(pctx, hs, &next, kind).await;
                    after(hs);
                }
            }
        }
    }

    /// Runs the play's teardown (and its `at_teardown` events) on every host that can be
    /// reached, each task tried whatever happened before; bounded by `teardown_timeout`,
    /// stopped early only by a second Ctrl-C.
    pub(super) async fn run_teardown(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        scope: &Arc<Common>,
        hosts: &mut HashMap<String, HostState>,
    ) {
        let token = self.stop.hard.child_token();
        let limit = play.teardown_timeout.unwrap_or(TEARDOWN_TIMEOUT);
        let timer = {
            let token = token.clone();
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                token.cancel();
            })
        };
        let tctx = pctx.with_cancel(token.clone());
        if self.cancel.is_cancelled() {
            self.warn(
                "interrupted: running teardown (press Ctrl-C again to skip what is still running of it)"
                    .into(),
            );
        }
        let targets: Vec<String> = pctx
            .all_hosts
            .iter()
            .filter(|h| hosts.get(*h).is_none_or(|s| !s.unreachable))
            .cloned()
            .collect();
        if let Some(ev) = &play.events {
            let snapshot = self.snapshot(&targets, hosts);
            for entry in ev.schedule.iter().filter(|e| e.at_teardown) {
                if token.is_cancelled() {
                    break;
                }
                self.event_run(&tctx, entry, scope, &snapshot).await;
            }
        }
        let tasks = flatten(&play.teardown, &Common::default());
        let mut states: Vec<HostState> = targets
            .iter()
            .map(|h| {
                let facts = hosts.get(h).map(|s| s.facts.clone()).unwrap_or_default();
                self.host_state(h, facts, Arc::new(vec![]), scope.clone())
            })
            .collect();
        let mut not_run = Vec::new();
        for task in &tasks {
            if token.is_cancelled() {
                not_run.push(task.display_name());
                continue;
            }
            states.retain(|s| !s.unreachable);
            if states.is_empty() {
                break;
            }
            self.teardown_task(&tctx, &mut states, task, scope).await;
        }
        timer.abort();
        if token.is_cancelled() {
            let why = if self.stop.hard.is_cancelled() {
                "a second interrupt".to_string()
            } else {
                format!("teardown_timeout ({}s)", limit.as_secs_f64())
            };
            let mut msg = format!("{}: teardown stopped by {why}", play.origin);
            if !not_run.is_empty() {
                msg.push_str(&format!("; not run: {}", not_run.join(", ")));
            }
            self.warn(msg);
        }
        for s in states {
            if let Some(h) = hosts.get_mut(&s.name) {
                h.unreachable |= s.unreachable;
            }
        }
    }

    /// One teardown task on every target (once, with `run_once`), whatever its result.
    async fn teardown_task(
        &self,
        tctx: &PlayCtx,
        states: &mut [HostState],
        task: &Task,
        scope: &Arc<Common>,
    ) {
        let full = task.common.inherit(scope);
        let id = self.task_start(tctx, &states[0], task, &full, TaskKind::Teardown);
        let once = match &full.run_once {
            None => false,
            Some(v) => {
                let vars = self.task_vars(tctx, &states[0], &full);
                self.templar.condition(v, &vars).unwrap_or(false)
            }
        };
        let count = if once { 1 } else { states.len() };
        let mut work = FuturesUnordered::new();
        for hs in states.iter_mut().take(count) {
            work.push(async move {
                let _permit = self.forks.clone().acquire_owned().await;
                let outcome = self.run_task(tctx, hs, task, scope, id, Iters::Task).await;
                self.apply_apart(hs, task, outcome, id);
            });
        }
        while work.next().await.is_some() {}
    }

    /// Tallies a teardown result apart from the tasks' and reports it.
    fn apply_apart(&self, hs: &mut HostState, task: &Task, outcome: TaskOutcome, task_id: u32) {
        {
            let mut all = super::lock(&self.teardown_stats);
            let s: &mut HostStats = all.entry(hs.name.clone()).or_default();
            match outcome.status {
                Status::Ok => s.ok += 1,
                Status::Changed => {
                    s.ok += 1;
                    s.changed += 1;
                }
                Status::Skipped => s.skipped += 1,
                Status::Failed if outcome.ignored => {
                    s.ok += 1;
                    s.ignored += 1;
                }
                Status::Failed => s.failed += 1,
                Status::Unreachable => s.unreachable += 1,
            }
        }
        if outcome.status == Status::Unreachable {
            hs.unreachable = true;
        }
        let action = match &task.action {
            Action::Module { name, .. } => name.clone(),
            _ => String::new(),
        };
        self.report(&hs.name, task_id, action, outcome, false);
    }
}

/// Teardown's tasks as one list: blocks opened (their rescue and always after their
/// tasks: in teardown every task is tried anyway), block keywords inherited.
fn flatten(tasks: &[Task], outer: &Common) -> Vec<Task> {
    let mut out = Vec::new();
    for t in tasks {
        match &t.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                let scope = t.common.inherit(outer);
                for list in [block, rescue, always] {
                    out.extend(flatten(list, &scope));
                }
            }
            _ => {
                let mut t = t.clone();
                t.common = t.common.inherit(outer);
                out.push(t);
            }
        }
    }
    out
}
