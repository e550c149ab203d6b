//! One task on one host: its variables, `when`, loop, retries, the module call (on the host,
//! a delegate, or the controller), `changed_when`/`failed_when`, `register`.

use super::actions;
use super::cursor::Cursor;
use super::event::{Event, HostResult, Status};
use super::{PlayCtx, RunCtx};
use crate::modules::{self, Args, Ctx, to_bool};
use crate::playbook::{Action, Common, Loop, LoopKind, Task};
use crate::transport::{Become, BecomeMethod, Transport};
use crate::vars::{Vars, combine};
use futures_util::FutureExt;
use serde_json::{Value, json};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::time::Duration;

/// How many times a task runs on a host.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Iters {
    /// As the task says (`iterations:`, else once).
    Task,
    /// Once, as iteration N (a job of the shuffle strategy).
    One(u32),
}

/// A host's state over the run.
pub(crate) struct HostState {
    pub name: String,
    /// Inventory variables (group and host vars, playbook-dir vars).
    pub inv_vars: Vars,
    /// Facts: gathered, `set_fact`, registered results. They outlive the play.
    pub facts: Vars,
    pub cursor: Cursor,
    /// Handlers notified and not yet run, by their index in the play's handler list.
    pub notified: Vec<usize>,
    pub failed: bool,
    pub unreachable: bool,
}

/// How one task ended on one host.
#[derive(Clone)]
pub(crate) struct TaskOutcome {
    pub status: Status,
    /// When it started (seconds since the Unix epoch) and how long it took (seconds).
    pub start: f64,
    pub duration: f64,
    pub result: Vars,
    pub ignored: bool,
    pub delegated_to: Option<String>,
    pub no_log: bool,
    /// Its samples were sent already (one per iteration).
    pub sampled: bool,
}

impl TaskOutcome {
    fn failed(msg: String) -> Self {
        TaskOutcome {
            status: Status::Failed,
            start: 0.0,
            duration: 0.0,
            result: modules::failed(msg),
            ignored: false,
            delegated_to: None,
            no_log: false,
            sampled: false,
        }
    }
}

/// One attempt's result, or the host being unreachable.
enum Attempt {
    Done(Vars),
    Unreachable(String),
}

fn is_true(v: Option<&Value>) -> bool {
    v.and_then(to_bool).unwrap_or(false)
}

fn result_failed(r: &Vars) -> bool {
    is_true(r.get("failed"))
}

fn result_changed(r: &Vars) -> bool {
    is_true(r.get("changed"))
}

impl RunCtx {
    /// The variables a task sees on a host, lowest precedence first.
    pub(crate) fn task_vars(&self, play: &PlayCtx, hs: &HostState, scope: &Common) -> Vars {
        let mut v = Vars::new();
        v.insert("inventory_hostname".into(), json!(hs.name));
        v.insert(
            "inventory_hostname_short".into(),
            json!(hs.name.split('.').next().unwrap_or(&hs.name)),
        );
        v.insert("playbook_dir".into(), json!(play.dir_str));
        v.insert("ansible_check_mode".into(), json!(self.spec.check));
        v.insert("ansible_diff_mode".into(), json!(self.spec.diff));
        v.insert("ansible_verbosity".into(), json!(self.spec.verbosity));
        v.insert("omit".into(), json!(crate::template::OMIT));
        v.insert("ansible_managed".into(), json!("Ansible managed"));
        v.insert("group_names".into(), json!(self.group_names(&hs.name)));
        if self.uses_host_lists {
            v.insert("groups".into(), self.groups.clone());
            v.insert("ansible_play_hosts_all".into(), json!(play.all_hosts));
            v.insert("ansible_play_hosts".into(), json!(play.live_hosts()));
            v.insert("play_hosts".into(), json!(play.live_hosts()));
            v.insert("ansible_play_batch".into(), json!(play.batch_hosts()));
            v.insert("hostvars".into(), Value::Object(self.hostvars()));
        }
        combine(&mut v, &hs.inv_vars);
        combine(&mut v, &scope.vars);
        combine(&mut v, &hs.facts);
        combine(&mut v, &self.spec.extra_vars);
        if let Some(setup) = super::lock(&play.setup).clone() {
            v.insert("setup".into(), setup);
        }
        v
    }

    fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self
            .groups
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(g, hosts)| {
                g.as_str() != "all"
                    && g.as_str() != "ungrouped"
                    && hosts
                        .as_array()
                        .is_some_and(|h| h.iter().any(|x| x.as_str() == Some(host)))
            })
            .map(|(g, _)| g.clone())
            .collect();
        names.sort();
        names
    }

    fn hostvars(&self) -> Vars {
        let facts = self
            .facts_snapshot
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut out = Vars::new();
        for (name, inv) in &self.inventory_vars {
            let mut v = inv.clone();
            if let Some(f) = facts.get(name) {
                combine(&mut v, f);
            }
            v.insert("inventory_hostname".into(), json!(name));
            out.insert(name.clone(), Value::Object(v));
        }
        out
    }

    /// Runs a module task on a host, with its loop, conditions and retries; emits
    /// [`Event::HostStart`] and the per-item events; registers the result. A panic on the
    /// way is this host's failed result, naming the host and the task, so the other hosts,
    /// the recap and teardown still happen.
    pub(crate) async fn run_task(
        &self,
        play: &PlayCtx,
        hs: &mut HostState,
        task: &Task,
        scope: &Common,
        task_id: u32,
        iters: Iters,
    ) -> TaskOutcome {
        let host = hs.name.clone();
        let started = (now_epoch(), std::time::Instant::now());
        // Unwind safety: what a panic may leave half-updated is this host's own state (its
        // facts), and the run's shared locks ignore poisoning.
        let run = AssertUnwindSafe(self.run_task_caught(play, hs, task, scope, task_id, iters));
        match run.catch_unwind().await {
            Ok(outcome) => outcome,
            Err(payload) => TaskOutcome {
                start: started.0,
                duration: started.1.elapsed().as_secs_f64(),
                ..TaskOutcome::failed(format!(
                    "internal error: horde panicked running task \"{}\" ({}) on {host}: {}",
                    task.display_name(),
                    task.origin,
                    super::panic_message(payload.as_ref())
                ))
            },
        }
    }

    /// [`RunCtx::run_task`] inside its panic guard.
    async fn run_task_caught(
        &self,
        play: &PlayCtx,
        hs: &mut HostState,
        task: &Task,
        scope: &Common,
        task_id: u32,
        iters: Iters,
    ) -> TaskOutcome {
        #[cfg(test)]
        tests::panic_hook(task, &hs.name);
        let _ = self.events.send(Event::HostStart {
            task_id,
            host: hs.name.clone(),
        });
        let started = (now_epoch(), std::time::Instant::now());
        let full = task.common.inherit(scope);
        let vars = self.task_vars(play, hs, &full);
        let runs = match iters {
            Iters::One(i) => Some((i, 1)),
            Iters::Task => match self.iterations(task, &vars) {
                Ok(n) => n.map(|n| (1, n)),
                Err(e) => return TaskOutcome::failed(e),
            },
        };
        let no_log = match self.render_bool(full.no_log.as_ref(), &vars) {
            Ok(b) => b,
            Err(e) => return TaskOutcome::failed(e),
        };
        let ignore_errors = match self.render_bool(full.ignore_errors.as_ref(), &vars) {
            Ok(b) => b,
            Err(e) => return TaskOutcome::failed(e),
        };
        let delegated_to = match &full.delegate_to {
            None => None,
            Some(d) => match self.templar.render(d, &vars) {
                Ok(Value::String(s)) if !s.is_empty() => Some(s),
                Ok(Value::Null) => None,
                Ok(other) => Some(other.to_string()),
                Err(e) => return TaskOutcome::failed(format!("delegate_to: {e}")),
            },
        };
        let mut outcome = match runs {
            None => {
                self.run_body(
                    play,
                    hs,
                    task,
                    &full,
                    &vars,
                    delegated_to.as_deref(),
                    no_log,
                    task_id,
                )
                .await
            }
            Some((first, count)) => {
                // Grown as the runs end: `count` may be up to u32::MAX.
                let mut outcomes = Vec::with_capacity(count.min(1024) as usize);
                let last = first.saturating_add(count.saturating_sub(1));
                for i in first..=last {
                    if play.cancel.is_cancelled() {
                        break;
                    }
                    let t = (now_epoch(), std::time::Instant::now());
                    let mut o = self
                        .run_body(
                            play,
                            hs,
                            task,
                            &full,
                            &vars,
                            delegated_to.as_deref(),
                            no_log,
                            task_id,
                        )
                        .await;
                    o.start = t.0;
                    o.duration = t.1.elapsed().as_secs_f64();
                    self.sample(task_id, &hs.name, Some(i), &o);
                    let stop = o.status == Status::Unreachable;
                    outcomes.push(o);
                    if stop {
                        break;
                    }
                }
                match iters {
                    // A shuffle job: its one run, labelled with its iteration.
                    Iters::One(i) if outcomes.len() == 1 => {
                        let mut o = outcomes.remove(0);
                        o.result.insert("iteration".into(), json!(i));
                        o.sampled = true;
                        o
                    }
                    _ => iterated(outcomes),
                }
            }
        };
        outcome.start = started.0;
        outcome.duration = started.1.elapsed().as_secs_f64();
        outcome.delegated_to = delegated_to;
        outcome.no_log = no_log;
        if outcome.status == Status::Failed && ignore_errors {
            outcome.ignored = true;
        }
        self.register(hs, task, &outcome);
        outcome
    }

    /// `iterations:` rendered (`--iterations` overrides it); `None` when the task has none.
    pub(crate) fn iterations(&self, task: &Task, vars: &Vars) -> Result<Option<u32>, String> {
        let Some(v) = &task.iterations else {
            return Ok(None);
        };
        let (n, v) = match self.spec.iterations {
            Some(n) => (Some(n), json!(n)),
            None => {
                let v = self
                    .templar
                    .render(v, vars)
                    .map_err(|e| format!("iterations: {e}"))?;
                let n = v
                    .as_u64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()));
                (n, v)
            }
        };
        n.and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n >= 1)
            .map(Some)
            .ok_or_else(|| {
                format!(
                    "iterations must be a whole number from 1 to {}, not {v}",
                    u32::MAX
                )
            })
    }

    /// One run of the task: `when`, then its loop or its attempts.
    #[allow(clippy::too_many_arguments)]
    async fn run_body(
        &self,
        play: &PlayCtx,
        hs: &mut HostState,
        task: &Task,
        full: &Common,
        vars: &Vars,
        delegated_to: Option<&str>,
        no_log: bool,
        task_id: u32,
    ) -> TaskOutcome {
        let Action::Module { name, args, .. } = &task.action else {
            return TaskOutcome::failed("internal error: not a module task".into());
        };
        let (full, vars) = (full, vars);
        match &task.loop_ {
            None => match self.when(full, vars) {
                Err(e) => TaskOutcome::failed(e),
                Ok(Some(false_cond)) => skipped(false_cond),
                Ok(None) => {
                    match self
                        .attempts(play, hs, task, name, args, full, vars, delegated_to)
                        .await
                    {
                        Attempt::Unreachable(msg) => unreachable(msg),
                        Attempt::Done(r) => done(r),
                    }
                }
            },
            Some(spec) => {
                self.run_loop(
                    play,
                    hs,
                    task,
                    name,
                    args,
                    full,
                    vars,
                    spec,
                    delegated_to,
                    no_log,
                    task_id,
                )
                .await
            }
        }
    }

    /// `register`, and the facts a result brings (`ansible_facts`).
    fn register(&self, hs: &mut HostState, task: &Task, outcome: &TaskOutcome) {
        let name = match &task.action {
            Action::Module { name, .. } => name.as_str(),
            _ => "",
        };
        if let Some(reg) = &task.register
            && outcome.status != Status::Unreachable
        {
            hs.facts
                .insert(reg.clone(), Value::Object(outcome.result.clone()));
        }
        if let Some(Value::Object(facts)) = outcome.result.get("ansible_facts").cloned()
            && outcome.status != Status::Failed
        {
            let gathered = name == "gather_facts" || name == "setup";
            for (k, v) in &facts {
                if gathered {
                    hs.facts.insert(format!("ansible_{k}"), v.clone());
                } else {
                    hs.facts.insert(k.clone(), v.clone());
                }
            }
            if gathered {
                let mut all = hs
                    .facts
                    .get("ansible_facts")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                combine(&mut all, &facts);
                hs.facts.insert("ansible_facts".into(), Value::Object(all));
            }
            self.publish_facts(hs);
        }
        if task.register.is_some() {
            self.publish_facts(hs);
        }
    }

    /// Makes a host's facts visible through `hostvars` to the other hosts.
    pub(crate) fn publish_facts(&self, hs: &HostState) {
        if self.uses_host_lists {
            let mut facts = self
                .facts_snapshot
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            facts.insert(hs.name.clone(), hs.facts.clone());
        }
    }

    fn render_bool(&self, v: Option<&Value>, vars: &Vars) -> Result<bool, String> {
        match v {
            None => Ok(false),
            Some(v) => self.templar.condition(v, vars).map_err(|e| e.to_string()),
        }
    }

    /// `None` when every `when` holds, else the condition that was false.
    fn when(&self, scope: &Common, vars: &Vars) -> Result<Option<Value>, String> {
        for cond in &scope.when {
            if !self.check_condition(cond, vars)? {
                return Ok(Some(cond.clone()));
            }
        }
        Ok(None)
    }

    /// A condition's value, or Ansible's message for one that cannot be evaluated.
    fn check_condition(&self, cond: &Value, vars: &Vars) -> Result<bool, String> {
        self.templar.condition(cond, vars).map_err(|e| {
            format!(
                "The conditional check '{}' failed. The error was: {e}",
                value_text(cond)
            )
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_loop(
        &self,
        play: &PlayCtx,
        hs: &mut HostState,
        task: &Task,
        name: &str,
        args: &Vars,
        full: &Common,
        vars: &Vars,
        spec: &Loop,
        delegated_to: Option<&str>,
        no_log: bool,
        task_id: u32,
    ) -> TaskOutcome {
        let items = match self.loop_items(spec, vars, play) {
            Ok(i) => i,
            Err(e) => return TaskOutcome::failed(e),
        };
        if items.is_empty() {
            let mut r = modules::ok(false);
            r.insert("skipped".into(), json!(true));
            r.insert("skipped_reason".into(), json!("No items in the list"));
            r.insert("results".into(), json!([]));
            return TaskOutcome {
                status: Status::Skipped,
                start: 0.0,
                duration: 0.0,
                result: r,
                ignored: false,
                delegated_to: None,
                no_log,
                sampled: false,
            };
        }
        let mut results = Vec::with_capacity(items.len());
        let (mut any_changed, mut any_failed, mut all_skipped) = (false, false, true);
        let mut pause_error = None;
        let total = items.len();
        let all_items = items.clone();
        for (index, item) in items.into_iter().enumerate() {
            let item_start = (now_epoch(), std::time::Instant::now());
            let mut iv = vars.clone();
            iv.insert(spec.loop_var.clone(), item.clone());
            iv.insert("ansible_loop_var".into(), json!(spec.loop_var));
            if let Some(ix) = &spec.index_var {
                iv.insert(ix.clone(), json!(index));
                iv.insert("ansible_index_var".into(), json!(ix));
            }
            if spec.extended {
                let mut l = json!({"index": index + 1, "index0": index, "first": index == 0,
                       "last": index + 1 == total, "length": total,
                       "revindex": total - index, "revindex0": total - index - 1,
                       "allitems": all_items});
                if index > 0 {
                    l["previtem"] = all_items[index - 1].clone();
                }
                if index + 1 < total {
                    l["nextitem"] = all_items[index + 1].clone();
                }
                iv.insert("ansible_loop".into(), l);
            }
            let (status, mut r) = match self.when(full, &iv) {
                Err(e) => (Status::Failed, modules::failed(e)),
                Ok(Some(cond)) => {
                    let s = skipped(cond);
                    (Status::Skipped, s.result)
                }
                Ok(None) => {
                    match self
                        .attempts(play, hs, task, name, args, full, &iv, delegated_to)
                        .await
                    {
                        Attempt::Unreachable(msg) => return unreachable(msg),
                        Attempt::Done(r) => {
                            let s = done(r);
                            (s.status, s.result)
                        }
                    }
                }
            };
            r.insert(spec.loop_var.clone(), item.clone());
            r.insert("ansible_loop_var".into(), json!(spec.loop_var));
            if let Some(ix) = &spec.index_var {
                r.insert(ix.clone(), json!(index));
                r.insert("ansible_index_var".into(), json!(ix));
            }
            any_changed |= status == Status::Changed;
            any_failed |= status == Status::Failed;
            all_skipped &= status == Status::Skipped;
            let label = match &spec.label {
                Some(l) => self
                    .templar
                    .render(l, &iv)
                    .map(|v| value_text(&v))
                    .unwrap_or_else(|_| value_text(l)),
                None => value_text(&item),
            };
            let _ = self.events.send(Event::Item(HostResult {
                delegated_to: delegated_to.map(str::to_string),
                item: Some(label),
                no_log,
                ..HostResult::new(
                    &hs.name,
                    task_id,
                    status,
                    r.clone(),
                    name,
                    item_start.0,
                    item_start.1.elapsed().as_secs_f64(),
                )
            }));
            results.push(Value::Object(r));
            if let Some(p) = &spec.pause
                && let Ok(secs) = self.templar.render(p, &iv)
                && let Some(s) = secs
                    .as_f64()
                    .or_else(|| secs.as_str().and_then(|s| s.parse().ok()))
            {
                match wait_of("loop_control.pause", s) {
                    Ok(d) => tokio::time::sleep(d).await,
                    Err(e) => {
                        // The items done so far stay in the result.
                        any_failed = true;
                        pause_error = Some(e);
                        break;
                    }
                }
            }
        }
        let mut r = modules::ok(any_changed);
        let status = if any_failed {
            r.insert("failed".into(), json!(true));
            let msg = pause_error.unwrap_or_else(|| "One or more items failed".into());
            r.insert("msg".into(), json!(msg));
            Status::Failed
        } else if all_skipped {
            r.insert("skipped".into(), json!(true));
            Status::Skipped
        } else if any_changed {
            Status::Changed
        } else {
            Status::Ok
        };
        r.insert("results".into(), Value::Array(results));
        if !any_failed {
            r.insert("msg".into(), json!("All items completed"));
        }
        TaskOutcome {
            status,
            start: 0.0,
            duration: 0.0,
            result: r,
            ignored: false,
            delegated_to: None,
            no_log,
            sampled: false,
        }
    }

    pub(crate) fn loop_items(
        &self,
        spec: &Loop,
        vars: &Vars,
        play: &PlayCtx,
    ) -> Result<Vec<Value>, String> {
        if spec.kind == LoopKind::Fileglob {
            let pattern = self
                .templar
                .render(&spec.items, vars)
                .map_err(|e| e.to_string())?;
            let pattern = value_text(&pattern);
            let full = if pattern.starts_with('/') {
                pattern
            } else {
                format!("{}/files/{}", play.dir_str, pattern)
            };
            return Ok(glob_files(&full).into_iter().map(Value::String).collect());
        }
        let items = self
            .templar
            .render(&spec.items, vars)
            .map_err(|e| format!("cannot template the loop: {e}"))?;
        let list = |v: Value| -> Result<Vec<Value>, String> {
            match v {
                Value::Array(a) => Ok(a),
                Value::Null => Ok(vec![]),
                Value::String(s) if spec.kind == LoopKind::Items => Ok(vec![Value::String(s)]),
                other => Err(format!(
                    "Invalid data passed to 'loop', it requires a list, got this instead: {other}. Hint: If you passed a list/dict of just one element, try adding wantlist=True to your lookup invocation or use q/query instead of lookup."
                )),
            }
        };
        Ok(match spec.kind {
            LoopKind::Loop => list(items)?,
            LoopKind::Items => list(items)?
                .into_iter()
                .flat_map(|i| match i {
                    Value::Array(a) => a,
                    other => vec![other],
                })
                .collect(),
            LoopKind::Dict => match items {
                Value::Object(m) => m
                    .into_iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect(),
                other => return Err(format!("with_dict expects a dict, got {other}")),
            },
            LoopKind::Indexed => list(items)?
                .into_iter()
                .enumerate()
                .map(|(i, v)| json!([i, v]))
                .collect(),
            LoopKind::Together => {
                let lists: Vec<Vec<Value>> = list(items)?
                    .into_iter()
                    .map(|l| match l {
                        Value::Array(a) => a,
                        other => vec![other],
                    })
                    .collect();
                let n = lists.iter().map(Vec::len).max().unwrap_or(0);
                (0..n)
                    .map(|i| {
                        Value::Array(
                            lists
                                .iter()
                                .map(|l| l.get(i).cloned().unwrap_or(Value::Null))
                                .collect(),
                        )
                    })
                    .collect()
            }
            LoopKind::Nested => {
                let mut acc: Vec<Vec<Value>> = vec![vec![]];
                for l in list(items)? {
                    let l = match l {
                        Value::Array(a) => a,
                        other => vec![other],
                    };
                    acc = acc
                        .into_iter()
                        .flat_map(|prefix| {
                            l.iter().map(move |x| {
                                let mut p = prefix.clone();
                                p.push(x.clone());
                                p
                            })
                        })
                        .collect();
                }
                acc.into_iter().map(Value::Array).collect()
            }
            LoopKind::Fileglob => vec![],
        })
    }

    /// Runs the module once, or until `until` holds; applies changed_when/failed_when.
    #[allow(clippy::too_many_arguments)]
    async fn attempts(
        &self,
        play: &PlayCtx,
        hs: &HostState,
        task: &Task,
        name: &str,
        args: &Vars,
        full: &Common,
        vars: &Vars,
        delegated_to: Option<&str>,
    ) -> Attempt {
        // `retries` and `delay` count only with `until`, as in Ansible.
        let (max, delay) = if task.until.is_some() {
            let retries = match self.render_retries(task.retries.as_ref(), vars) {
                Ok(n) => n,
                Err(e) => return Attempt::Done(modules::failed(format!("retries: {e}"))),
            };
            let delay = self
                .render_number(task.delay.as_ref(), vars, 5.0)
                .map_err(|e| format!("delay: {e}"))
                .and_then(|secs| wait_of("delay", secs));
            match delay {
                // A huge `retries` is as good as endless (Python's int has no limit).
                Ok(d) => (retries.max(0).saturating_add(1), d),
                Err(e) => return Attempt::Done(modules::failed(e)),
            }
        } else {
            (1, Duration::ZERO)
        };
        let mut attempt: i64 = 1;
        loop {
            let began = std::time::Instant::now();
            let mut r = match self
                .execute(play, hs, task, name, args, full, vars, delegated_to)
                .await
            {
                Attempt::Done(r) => r,
                u @ Attempt::Unreachable(_) => return u,
            };
            if let Some(e) = &task.expect {
                expect(e, began.elapsed(), &mut r);
            }
            if let Err(e) = self.post_conditions(task, vars, &mut r) {
                return Attempt::Done(modules::failed(e));
            }
            let Some(until) = &task.until else {
                return Attempt::Done(r);
            };
            let mut uv = vars.clone();
            if let Some(reg) = &task.register {
                uv.insert(reg.clone(), Value::Object(r.clone()));
            }
            combine(&mut uv, &r);
            let ok = self.templar.condition(until, &uv).unwrap_or(false);
            r.insert("attempts".into(), json!(attempt));
            if ok {
                r.insert("failed".into(), json!(false));
                return Attempt::Done(r);
            }
            if attempt >= max {
                r.insert("failed".into(), json!(true));
                return Attempt::Done(r);
            }
            let _ = self.events.send(Event::Warning {
                message: format!(
                    "FAILED - RETRYING: [{}]: {} ({} retries left).",
                    hs.name,
                    task.display_name(),
                    max - attempt
                ),
            });
            attempt += 1;
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = play.cancel.cancelled() => return Attempt::Unreachable("interrupted".into()),
            }
        }
    }

    /// `retries` templated, read as Python's `int()` reads it (Ansible's `retries` is an
    /// int): a float is truncated, a number past i64 saturates, text must be a whole
    /// number. Unset or null: 3.
    fn render_retries(&self, v: Option<&Value>, vars: &Vars) -> Result<i64, String> {
        let Some(v) = v else {
            return Ok(3);
        };
        let v = self.templar.render(v, vars).map_err(|e| e.to_string())?;
        let whole = |t: &str| {
            let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        match &v {
            Value::Null => Ok(3),
            Value::Number(n) => match (n.as_i64(), n.as_f64()) {
                (Some(i), _) => Ok(i),
                // `as` saturates at i64::MIN and i64::MAX.
                (None, Some(f)) if f.is_finite() => Ok(f as i64),
                _ => Err(format!("{v} is not a whole number")),
            },
            Value::String(t) if whole(t.trim()) => {
                let t = t.trim();
                Ok(t.parse().unwrap_or(if t.starts_with('-') {
                    i64::MIN
                } else {
                    i64::MAX
                }))
            }
            _ => Err(format!("{v} is not a whole number")),
        }
    }

    /// A number that may be templated (`delay`), or the default.
    fn render_number(&self, v: Option<&Value>, vars: &Vars, default: f64) -> Result<f64, String> {
        let Some(v) = v else {
            return Ok(default);
        };
        let v = self.templar.render(v, vars).map_err(|e| e.to_string())?;
        Ok(v.as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .unwrap_or(default))
    }

    fn post_conditions(&self, task: &Task, vars: &Vars, r: &mut Vars) -> Result<(), String> {
        if task.changed_when.is_none() && task.failed_when.is_none() {
            return Ok(());
        }
        let mut cv = vars.clone();
        if let Some(reg) = &task.register {
            cv.insert(reg.clone(), Value::Object(r.clone()));
        }
        combine(&mut cv, r);
        if let Some(c) = &task.changed_when {
            let changed = self.check_condition(c, &cv)?;
            r.insert("changed".into(), json!(changed));
            if let Some(reg) = &task.register {
                cv.insert(reg.clone(), Value::Object(r.clone()));
            }
        }
        if let Some(c) = &task.failed_when {
            let failed = self.check_condition(c, &cv)?;
            r.insert("failed_when_result".into(), json!(failed));
            r.insert("failed".into(), json!(failed));
        }
        Ok(())
    }

    /// One module call: arguments templated, then the controller action or the module on
    /// the host (or its delegate).
    #[allow(clippy::too_many_arguments)]
    async fn execute(
        &self,
        play: &PlayCtx,
        hs: &HostState,
        task: &Task,
        name: &str,
        raw_args: &Vars,
        full: &Common,
        vars: &Vars,
        delegated_to: Option<&str>,
    ) -> Attempt {
        let fail = |m: String| Attempt::Done(modules::failed(m));
        // `that` (assert) and `var` (debug) are expressions, evaluated by the action.
        let mut to_render = raw_args.clone();
        for k in ["that", "var"] {
            if matches!(name, "assert" | "debug") {
                to_render.shift_remove(k);
            }
        }
        let rendered = match self.templar.render(&Value::Object(to_render), vars) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return fail("internal error: arguments did not render to a mapping".into()),
            Err(e) => {
                return fail(format!(
                    "task \"{}\" ({}): {e}",
                    task.display_name(),
                    task.origin
                ));
            }
        };
        let rendered: Vars = rendered
            .into_iter()
            .filter(|(_, v)| v.as_str() != Some(crate::template::OMIT))
            .collect();
        let args = Args::new(name, rendered);
        if name == "debug"
            && args.int("verbosity").ok().flatten().unwrap_or(0) > i64::from(self.spec.verbosity)
        {
            let mut r = modules::ok(false);
            r.insert("skipped".into(), json!(true));
            r.insert(
                "skipped_reason".into(),
                json!("Verbosity threshold not met."),
            );
            return Attempt::Done(r);
        }
        if let Some(r) = actions::run(name, &args, raw_args, &self.templar, vars) {
            return Attempt::Done(r);
        }
        if name == "pause" {
            let secs = args.float("seconds").ok().flatten().unwrap_or(0.0)
                + 60.0 * args.float("minutes").ok().flatten().unwrap_or(0.0);
            let wait = match wait_of("pause", secs) {
                Ok(d) => d,
                Err(e) => return fail(e),
            };
            let started = std::time::Instant::now();
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = play.cancel.cancelled() => return Attempt::Unreachable("interrupted".into()),
            }
            let mut r = modules::ok(false);
            r.insert("delta".into(), json!(started.elapsed().as_secs()));
            r.insert("stdout".into(), json!(format!("Paused for {secs} seconds")));
            return Attempt::Done(r);
        }
        // On a host: which one, as whom, with what environment.
        let target = delegated_to.unwrap_or(&hs.name);
        let local_names = ["localhost", "127.0.0.1", "::1"];
        let transport = if delegated_to.is_some()
            && local_names.contains(&target)
            && !self.inventory_vars.contains_key(target)
        {
            Transport::Local
        } else if delegated_to.is_some() {
            match self.pool.get(target, None, &play.cancel).await {
                Ok(t) => t,
                Err(e) => return Attempt::Unreachable(e),
            }
        } else {
            match self
                .pool
                .get(
                    target,
                    Some(&hs.inv_vars_with_extra(&self.spec.extra_vars)),
                    &play.cancel,
                )
                .await
            {
                Ok(t) => t,
                Err(e) => return Attempt::Unreachable(e),
            }
        };
        let become_ = match self.become_for(full, vars) {
            Ok(b) => b,
            Err(e) => return fail(e),
        };
        let environment = match self.environment(full, vars) {
            Ok(e) => e,
            Err(e) => return fail(e),
        };
        let timeout = match &full.timeout {
            None => None,
            Some(t) => match self.templar.render(t, vars) {
                Ok(v) => match v
                    .as_f64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                {
                    // 0 or less: no timeout, as Ansible's.
                    Some(secs) if secs > 0.0 || secs.is_nan() => {
                        match crate::duration::from_secs(secs) {
                            Ok(d) => Some(d),
                            Err(e) => return fail(format!("timeout: {e}")),
                        }
                    }
                    _ => None,
                },
                Err(e) => return fail(format!("timeout: {e}")),
            },
        };
        // A task's `check_mode` wins over `--check` either way.
        let check = match &full.check_mode {
            Some(c) => self.templar.condition(c, vars).unwrap_or(self.spec.check),
            None => self.spec.check,
        };
        let mut search_dirs: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::path::Path::new(&task.origin.source).parent() {
            search_dirs.push(dir.to_path_buf());
        }
        search_dirs.push(play.dir.clone());
        let ctx = Ctx {
            host: &hs.name,
            transport: &transport,
            become_: become_.as_ref(),
            cancel: &play.cancel,
            check,
            diff: self.spec.diff,
            timeout,
            environment: &environment,
            search_dirs: &search_dirs,
            templar: &self.templar,
            vars,
        };
        if name == "gather_facts" || name == "setup" {
            return match ctx.sh(actions::FACTS_SCRIPT, None).await {
                Ok(out) => {
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    if let Some(msg) = actions::facts_failure(
                        &hs.name,
                        out.status.rc(),
                        &stdout,
                        &String::from_utf8_lossy(&out.stderr),
                    ) {
                        let mut r = modules::failed(msg);
                        r.insert("rc".into(), Value::from(out.status.rc()));
                        return Attempt::Done(r);
                    }
                    let mut facts = actions::parse_facts(&stdout);
                    // setup's `filter`: only the facts whose ansible_ name matches a glob.
                    if let Ok(Some(filters)) = args.list("filter")
                        && !filters.is_empty()
                    {
                        let res: Vec<regex::Regex> = filters
                            .iter()
                            .filter_map(|f| {
                                let re = format!(
                                    "^{}$",
                                    regex::escape(f).replace(r"\*", ".*").replace(r"\?", ".")
                                );
                                regex::Regex::new(&re).ok()
                            })
                            .collect();
                        facts.retain(|k, _| {
                            let full = format!("ansible_{k}");
                            res.iter().any(|r| r.is_match(&full) || r.is_match(k))
                        });
                    }
                    let mut r = modules::ok(false);
                    r.insert("ansible_facts".into(), Value::Object(facts));
                    Attempt::Done(r)
                }
                Err(e) => Attempt::Unreachable(e.to_string()),
            };
        }
        match modules::run(name, &args, &ctx).await {
            Some(Ok(r)) => Attempt::Done(r),
            Some(Err(e)) => match e.kind {
                crate::ssh::SshErrorKind::Timeout {
                    phase: crate::ssh::Phase::Command,
                    ..
                } => fail(format!(
                    "The {name} action failed to execute in the expected time frame ({}) and was terminated",
                    timeout.map(|t| t.as_secs()).unwrap_or_default()
                )),
                crate::ssh::SshErrorKind::OutputLimit { .. } => fail(e.reason()),
                _ => Attempt::Unreachable(e.to_string()),
            },
            None => fail(format!(
                "the module {name} is not available in this build of horde"
            )),
        }
    }

    fn become_for(&self, full: &Common, vars: &Vars) -> Result<Option<Become>, String> {
        let on = match &full.become_ {
            Some(b) => self.templar.condition(b, vars).map_err(|e| e.to_string())?,
            None => self.spec.become_.is_some() || is_true(vars.get("ansible_become")),
        };
        if !on {
            return Ok(None);
        }
        let text = |v: &Option<Value>, var: &str| -> Result<Option<String>, String> {
            match v {
                Some(v) => self
                    .templar
                    .render(v, vars)
                    .map(|v| Some(value_text(&v)))
                    .map_err(|e| e.to_string()),
                None => Ok(vars.get(var).and_then(Value::as_str).map(str::to_string)),
            }
        };
        let cli = self.spec.become_.as_ref();
        let user = text(&full.become_user, "ansible_become_user")?
            .or(cli.map(|b| b.user.clone()))
            .unwrap_or_else(|| "root".into());
        let method = match text(&full.become_method, "ansible_become_method")?.as_deref() {
            Some("su") => BecomeMethod::Su,
            Some("sudo") | None => cli.map(|b| b.method).unwrap_or(BecomeMethod::Sudo),
            Some(other) => {
                return Err(format!(
                    "become_method {other:?}: horde supports sudo and su"
                ));
            }
        };
        let password = cli.and_then(|b| b.password.clone()).or_else(|| {
            ["ansible_become_password", "ansible_become_pass"]
                .iter()
                .find_map(|k| vars.get(*k).and_then(Value::as_str).map(str::to_string))
        });
        // As Ansible: becoming the user we log in as is no become at all.
        let login = ["ansible_user", "ansible_ssh_user"]
            .iter()
            .find_map(|k| vars.get(*k).and_then(Value::as_str).map(str::to_string))
            .or_else(|| self.spec.ssh.defaults.user.clone());
        if login.as_deref() == Some(user.as_str()) && method == BecomeMethod::Sudo {
            return Ok(None);
        }
        Ok(Some(Become {
            method,
            user,
            password,
        }))
    }

    fn environment(&self, full: &Common, vars: &Vars) -> Result<Vec<(String, String)>, String> {
        let mut env: Vec<(String, String)> = Vec::new();
        for e in &full.environment {
            let rendered = self
                .templar
                .render(e, vars)
                .map_err(|e| format!("environment: {e}"))?;
            let Value::Object(m) = rendered else {
                return Err(format!("environment must be a mapping, got {rendered}"));
            };
            for (k, v) in m {
                if !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || k.is_empty() {
                    return Err(format!("environment: {k:?} is not a valid variable name"));
                }
                env.retain(|(n, _)| n != &k);
                env.push((k, value_text(&v)));
            }
        }
        Ok(env)
    }
}

impl HostState {
    fn inv_vars_with_extra(&self, extra: &Vars) -> Vars {
        let mut v = self.inv_vars.clone();
        combine(&mut v, extra);
        v
    }
}

/// Text for display: strings as they are, other values as JSON.
/// `expect:`: the result fails unless every expectation holds. Without `rc`, the module's
/// own verdict on the exit code stands; with it, the listed codes decide.
fn expect(e: &crate::playbook::Expect, took: Duration, r: &mut Vars) {
    if is_true(r.get("skipped")) {
        return;
    }
    let mut why: Vec<String> = Vec::new();
    let rc = r.get("rc").and_then(Value::as_i64);
    match &e.rc {
        Some(want) => {
            let accepted: Vec<i64> = match want {
                Value::Array(a) => a.iter().filter_map(Value::as_i64).collect(),
                v => v.as_i64().into_iter().collect(),
            };
            match rc {
                Some(rc) if accepted.contains(&rc) => {}
                Some(rc) => why.push(format!("rc {rc} is not {}", value_text(want))),
                None => why.push(format!("no rc, expected {}", value_text(want))),
            }
        }
        None if result_failed(r) => why.push(
            r.get("msg")
                .map(value_text)
                .unwrap_or_else(|| "the task failed".into()),
        ),
        None => {}
    }
    for (key, re) in [("stdout", &e.stdout), ("stderr", &e.stderr)] {
        if let Some(re) = re {
            let text = r.get(key).map(value_text).unwrap_or_default();
            if !re.is_match(&text) {
                why.push(format!("{key} does not match {:?}", re.as_str()));
            }
        }
    }
    if let Some(max) = e.max_duration
        && took > max
    {
        why.push(format!(
            "took {:.3}s, more than max_duration {:.3}s",
            took.as_secs_f64(),
            max.as_secs_f64()
        ));
    }
    r.insert("duration".into(), json!(took.as_secs_f64()));
    if why.is_empty() {
        r.insert("failed".into(), json!(false));
    } else {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!(format!("expect: {}", why.join("; "))));
    }
}

/// The outcome of a task run several times (`iterations`): the last run's result with
/// `iterations`, `failures` and every run's result in `iteration_results`; failed when any
/// run failed, unreachable when the last one was.
fn iterated(outcomes: Vec<TaskOutcome>) -> TaskOutcome {
    let Some(last) = outcomes.last().cloned() else {
        return TaskOutcome::failed("interrupted before the first iteration".into());
    };
    let failures = outcomes.iter().filter(|o| o.status.is_failure()).count();
    let status = if last.status == Status::Unreachable {
        Status::Unreachable
    } else if failures > 0 {
        Status::Failed
    } else if outcomes.iter().all(|o| o.status == Status::Skipped) {
        Status::Skipped
    } else if outcomes.iter().any(|o| o.status == Status::Changed) {
        Status::Changed
    } else {
        Status::Ok
    };
    let mut r = last.result.clone();
    r.insert("iterations".into(), json!(outcomes.len()));
    r.insert("failures".into(), json!(failures));
    if status == Status::Failed {
        r.insert("failed".into(), json!(true));
        let first = outcomes
            .iter()
            .position(|o| o.status.is_failure())
            .unwrap_or_default();
        let why = outcomes[first]
            .result
            .get("msg")
            .map(value_text)
            .unwrap_or_default();
        r.insert(
            "msg".into(),
            json!(format!(
                "{failures} of {} iterations failed (first: iteration {}{}{why})",
                outcomes.len(),
                first + 1,
                if why.is_empty() { "" } else { ": " }
            )),
        );
    } else if status != Status::Unreachable {
        r.insert("failed".into(), json!(false));
    }
    r.insert(
        "iteration_results".into(),
        Value::Array(
            outcomes
                .into_iter()
                .map(|o| Value::Object(o.result))
                .collect(),
        ),
    );
    TaskOutcome {
        status,
        result: r,
        sampled: true,
        ..last
    }
}

/// A wait from a task key (`delay`, `loop_control.pause`, `pause`): less than 0 is no
/// wait; not a number or past 100 years is an error naming the key.
fn wait_of(key: &str, secs: f64) -> Result<Duration, String> {
    let secs = if secs < 0.0 { 0.0 } else { secs };
    crate::duration::from_secs(secs).map_err(|e| format!("{key}: {e}"))
}

/// Now, in seconds since the Unix epoch.
pub(crate) fn now_epoch() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub(crate) fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn skipped(cond: Value) -> TaskOutcome {
    let mut r = modules::ok(false);
    r.insert("false_condition".into(), cond);
    r.insert("skip_reason".into(), json!("Conditional result was False"));
    r.insert("skipped".into(), json!(true));
    TaskOutcome {
        status: Status::Skipped,
        start: 0.0,
        duration: 0.0,
        result: r,
        ignored: false,
        delegated_to: None,
        no_log: false,
        sampled: false,
    }
}

fn unreachable(msg: String) -> TaskOutcome {
    let mut r = modules::ok(false);
    r.insert("msg".into(), json!(msg));
    r.insert("unreachable".into(), json!(true));
    TaskOutcome {
        status: Status::Unreachable,
        start: 0.0,
        duration: 0.0,
        result: r,
        ignored: false,
        delegated_to: None,
        no_log: false,
        sampled: false,
    }
}

fn done(mut r: Vars) -> TaskOutcome {
    if !r.contains_key("changed") {
        r.insert("changed".into(), json!(false));
    }
    let skipped = is_true(r.get("skipped"));
    if !r.contains_key("failed") && !skipped {
        r.insert("failed".into(), json!(false));
    }
    let status = if skipped {
        Status::Skipped
    } else if result_failed(&r) {
        Status::Failed
    } else if result_changed(&r) {
        Status::Changed
    } else {
        Status::Ok
    };
    TaskOutcome {
        status,
        start: 0.0,
        duration: 0.0,
        result: r,
        ignored: false,
        delegated_to: None,
        no_log: false,
        sampled: false,
    }
}

/// Files matching a glob with `*` and `?` in the last path component.
fn glob_files(pattern: &str) -> Vec<String> {
    let path = std::path::Path::new(pattern);
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return vec![];
    };
    let re = format!(
        "^{}$",
        regex::escape(name).replace(r"\*", ".*").replace(r"\?", ".")
    );
    let Ok(re) = regex::Regex::new(&re) else {
        return vec![];
    };
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_file())
        .filter(|e| e.file_name().to_str().is_some_and(|n| re.is_match(n)))
        .map(|e| e.path().display().to_string())
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{RunSpec, Stop};
    use std::sync::Arc;
    use tokio::sync::mpsc;

    /// A task named `panic on HOST` panics on that host (compiled in tests only: horde
    /// itself has no way to panic on purpose).
    pub(super) fn panic_hook(task: &Task, host: &str) {
        if task.name.as_deref() == Some(&format!("panic on {host}")) {
            panic!("a test panic");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panic_in_one_hosts_task_fails_that_host_and_the_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pb.yml");
        std::fs::write(
            &path,
            "- hosts: all\n  gather_facts: false\n  tasks:\n    - name: panic on h2\n      debug: {msg: first}\n    - debug: {msg: second}\n  teardown:\n    - debug: {msg: cleaned}\n",
        )
        .unwrap();
        let inventory = crate::inventory::load(&["h1,h2,h3,".to_string()])
            .unwrap()
            .inventory;
        let spec = RunSpec {
            playbooks: vec![crate::playbook::load(&path).unwrap()],
            inventory: Arc::new(inventory),
            limit: None,
            extra_vars: Vars::new(),
            ssh: Arc::new(crate::ssh::SshContext::new(Default::default())),
            forks: 5,
            check: false,
            diff: false,
            tags: vec![],
            skip_tags: vec![],
            start_at_task: None,
            become_: None,
            force_handlers: false,
            verbosity: 0,
            iterations: None,
            seed: None,
            case: None,
            duration: None,
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        let summary = crate::engine::run(spec, Stop::new(), tx).await;
        let mut failures = vec![];
        while let Some(event) = rx.recv().await {
            if let Event::Host(r) = event
                && r.status == Status::Failed
            {
                failures.push((r.host, value_text(&r.result["msg"])));
            }
        }
        let origin = format!("{}:4:7", path.display());
        assert_eq!(
            failures,
            [(
                "h2".to_string(),
                format!(
                    "internal error: horde panicked running task \"panic on h2\" ({origin}) on h2: a test panic"
                )
            )]
        );
        let tally = |h: &str| {
            let s = &summary.stats[h];
            (s.ok, s.failed)
        };
        assert_eq!(
            [tally("h1"), tally("h2"), tally("h3")],
            [(2, 0), (0, 1), (2, 0)]
        );
        // Teardown ran on every host, the failed one too.
        assert_eq!(summary.teardown.len(), 3, "{:?}", summary.teardown);
        assert!(
            summary
                .teardown
                .values()
                .all(|s| s.ok == 1 && s.failed == 0)
        );
    }
}
