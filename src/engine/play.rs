//! The dispatcher: plays, serial batches, the linear and free strategies, handlers,
//! any_errors_fatal and max_fail_percentage, and the recap. It owns the hosts' states and
//! the run's tallies; host work runs concurrently (bounded by forks) under it.

use super::cursor::{Cursor, Failure, Next, Phase};
use super::event::{Event, HostResult, HostStats, Sample, Status, TaskKind};
use super::host::{HostState, Iters, TaskOutcome, now_epoch, value_text};
use super::pool::Pool;
use super::{PlayCtx, RunCtx, RunSpec, RunSummary, Stop};
use crate::adhoc::host_vars;
use crate::inventory;
use crate::playbook::{Action, Common, Play, Strategy, Task, load_task_file};
use crate::template::Templar;
use crate::vars::{Vars, combine};
use futures_util::stream::{FuturesUnordered, StreamExt};
use indexmap::IndexMap;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Runs the playbooks, sending events as things happen; ends with [`Event::Recap`].
pub async fn run(spec: RunSpec, stop: Stop, events: mpsc::UnboundedSender<Event>) -> RunSummary {
    let seed = spec.seed.unwrap_or_else(rand::random);
    let _ = events.send(Event::RunStart { seed });
    let inv = spec.inventory.clone();
    let mut inventory_vars = IndexMap::new();
    for h in inv.hosts() {
        inventory_vars.insert(h.name.clone(), host_vars(&inv, &h.name, &Vars::new()));
    }
    let mut groups = serde_json::Map::new();
    for g in inv.groups() {
        let id = inv.group_id(&g.name);
        let hosts: Vec<Value> = id
            .map(|id| inv.group_hosts(id))
            .unwrap_or_default()
            .into_iter()
            .map(|h| json!(inv.host(h).name))
            .collect();
        groups.insert(g.name.clone(), Value::Array(hosts));
    }
    let uses_host_lists = spec.playbooks.iter().any(|p| p.uses_host_lists);
    let extra = Arc::new(spec.extra_vars.clone());
    let ctx = RunCtx {
        pool: Pool::new(inv.clone(), extra, spec.ssh.clone()),
        forks: Arc::new(Semaphore::new(spec.forks.clamp(1, Semaphore::MAX_PERMITS))),
        started: (spec.start_at_task.is_none()).into(),
        spec,
        templar: Templar::new(),
        events,
        cancel: stop.soft.clone(),
        stop,
        seed,
        stats: Mutex::new(IndexMap::new()),
        teardown_stats: Mutex::new(IndexMap::new()),
        task_ids: Mutex::new(HashMap::new()),
        inventory_vars,
        groups: Value::Object(groups),
        uses_host_lists,
        facts_snapshot: Mutex::new(HashMap::new()),
    };
    let mut hosts: HashMap<String, HostState> = HashMap::new();
    'plays: for pb in &ctx.spec.playbooks {
        for play in &pb.plays {
            if ctx.cancel.is_cancelled() {
                break 'plays;
            }
            match ctx.run_play(play, &mut hosts).await {
                PlayEnd::Continue => {}
                PlayEnd::StopPlaybook => break 'plays,
            }
        }
    }
    ctx.pool.close().await;
    let stats = ctx.stats.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let teardown = ctx
        .teardown_stats
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let _ = ctx.events.send(Event::Recap {
        stats: stats.clone(),
        teardown: teardown.clone(),
    });
    RunSummary {
        stats,
        teardown,
        interrupted: ctx.cancel.is_cancelled(),
    }
}

pub(super) enum PlayEnd {
    Continue,
    StopPlaybook,
}

/// What a host does after a barrier in the free strategy.
enum BarrierPass {
    /// Run the task.
    Run,
    /// The task was run for it (run_once): go on.
    Done,
    /// The run stopped.
    Stop,
}

/// The linear strategy's next group: the hosts at the same task, rescue and always after
/// normal tasks. A barrier task waits until no live host is elsewhere (unless every group
/// is waiting at a barrier: then the first goes, rather than nothing).
fn pick_group(nexts: &[(usize, Next)]) -> Option<(usize, usize)> {
    let mut keys: Vec<(u8, (usize, usize), bool)> = Vec::new();
    for (_, n) in nexts {
        let key = n.key();
        if !keys.iter().any(|(_, k, _)| *k == key) {
            keys.push((phase_rank(n.phase), key, n.task().barrier));
        }
    }
    let best = keys.iter().map(|(r, _, _)| *r).min()?;
    let in_rank = || keys.iter().filter(move |(r, _, _)| *r == best);
    if keys.len() > 1
        && let Some((_, k, _)) = keys.iter().find(|(_, _, barrier)| !barrier)
        && in_rank().any(|(_, _, barrier)| *barrier)
    {
        // Hosts elsewhere first: the barrier waits for them.
        return Some(*k);
    }
    in_rank().map(|(_, k, _)| *k).next()
}

/// What one host's step did, for the dispatcher's fleet-wide rules.
#[derive(Default, Clone, Copy)]
pub(super) struct StepEnd {
    /// The host failed for good (not rescued, not ignored).
    failed: bool,
}

fn meta_flush() -> Task {
    let mut args = Vars::new();
    args.insert("_raw_params".into(), json!("flush_handlers"));
    Task::new(
        crate::inventory::Origin::file(std::path::Path::new("<implicit>")),
        Action::Module {
            name: "meta".into(),
            written: "meta".into(),
            args,
        },
    )
}

fn gather_task(play: &Play) -> Task {
    Task {
        name: Some("Gathering Facts".into()),
        common: Common {
            tags: vec!["always".into()],
            ..Common::default()
        },
        action: Action::Module {
            name: "gather_facts".into(),
            written: "gather_facts".into(),
            args: Vars::new(),
        },
        origin: play.origin.clone(),
        ..meta_flush()
    }
}

/// Batch sizes from `serial:` (numbers, percentages; the last one repeats).
fn batches(serial: &[Value], hosts: &[String]) -> Vec<Vec<String>> {
    if serial.is_empty() {
        return vec![hosts.to_vec()];
    }
    let total = hosts.len();
    let size = |v: &Value| -> usize {
        let n = match v {
            Value::Number(n) => n.as_f64().unwrap_or(0.0) as usize,
            Value::String(s) if s.trim().ends_with('%') => {
                let pct: f64 = s
                    .trim()
                    .trim_end_matches('%')
                    .trim()
                    .parse()
                    .unwrap_or(100.0);
                ((total as f64) * pct / 100.0) as usize
            }
            Value::String(s) => s.trim().parse().unwrap_or(total),
            _ => total,
        };
        if n == 0 { total.max(1) } else { n.max(1) }
    };
    let mut out = Vec::new();
    let mut rest = hosts;
    let mut i = 0;
    while !rest.is_empty() {
        let n = size(&serial[i.min(serial.len() - 1)]).min(rest.len());
        out.push(rest[..n].to_vec());
        rest = &rest[n..];
        i += 1;
    }
    out
}

fn phase_rank(p: Phase) -> u8 {
    match p {
        Phase::Root | Phase::Block => 0,
        Phase::Rescue => 1,
        Phase::Always => 2,
    }
}

impl RunCtx {
    fn stats_mut<R>(&self, host: &str, f: impl FnOnce(&mut HostStats) -> R) -> R {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        f(stats.entry(host.to_string()).or_default())
    }

    /// The run-wide id of a task (see [`Event::TaskStart`]).
    pub(crate) fn task_id(&self, pctx: &PlayCtx, task: &Task, kind: TaskKind) -> u32 {
        let key = (task.origin.to_string(), kind, pctx.case.clone());
        let mut ids = self.task_ids.lock().unwrap_or_else(|e| e.into_inner());
        let next = ids.len() as u32 + 1;
        *ids.entry(key).or_insert(next)
    }

    /// Announces a task (its name templated with the host's variables); returns its id.
    pub(super) fn task_start(
        &self,
        pctx: &PlayCtx,
        hs: &HostState,
        task: &Task,
        full: &Common,
        kind: TaskKind,
    ) -> u32 {
        let name = self.task_title(pctx, hs, task, full);
        self.task_start_named(pctx, task, name, kind)
    }

    pub(super) fn task_start_named(
        &self,
        pctx: &PlayCtx,
        task: &Task,
        name: String,
        kind: TaskKind,
    ) -> u32 {
        let id = self.task_id(pctx, task, kind);
        let _ = self.events.send(Event::TaskStart {
            id,
            name,
            kind,
            origin: task.origin.to_string(),
        });
        id
    }

    pub(super) fn warn(&self, msg: String) {
        let _ = self.events.send(Event::Warning { message: msg });
    }

    async fn run_play(&self, play: &Play, hosts: &mut HashMap<String, HostState>) -> PlayEnd {
        let Some(matrix) = &play.matrix else {
            return self.run_case(play, None, hosts).await;
        };
        let mut base = play.common.vars.clone();
        combine(&mut base, &self.spec.extra_vars);
        let mut cases = match super::matrix::cases(matrix, &self.templar, &base) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.events.send(Event::PlayStart {
                    name: play.name.clone(),
                    case: None,
                });
                self.warn(format!("{}: {e}", play.origin));
                return PlayEnd::StopPlaybook;
            }
        };
        if let Some(want) = &self.spec.case {
            let ids: Vec<String> = cases.iter().map(|c| c.id.clone()).collect();
            cases.retain(|c| &c.id == want);
            if cases.is_empty() {
                self.warn(format!(
                    "{}: --case {want}: the play {:?} has no such case; its cases are: {}",
                    play.origin,
                    play.name,
                    ids.join(" ")
                ));
                return PlayEnd::Continue;
            }
        }
        let _ = self.events.send(Event::Cases {
            play: play.name.clone(),
            ids: cases.iter().map(|c| c.id.clone()).collect(),
        });
        // Each case starts from the hosts as they were before the play: its own copy of
        // the variables, and a failure in one case does not remove the host from the next.
        let before: HashMap<String, (Vars, bool)> = hosts
            .iter()
            .map(|(h, s)| (h.clone(), (s.facts.clone(), s.failed)))
            .collect();
        for case in cases {
            if self.cancel.is_cancelled() {
                return PlayEnd::StopPlaybook;
            }
            for (h, s) in hosts.iter_mut() {
                if let Some((facts, failed)) = before.get(h) {
                    s.facts = facts.clone();
                    s.failed = *failed;
                } else {
                    s.failed = false;
                    s.facts = Vars::new();
                }
            }
            if let PlayEnd::StopPlaybook = self.run_case(play, Some(case), hosts).await {
                return PlayEnd::StopPlaybook;
            }
        }
        PlayEnd::Continue
    }

    /// One run of a play (one matrix case): setup, the tasks beside the events, teardown.
    async fn run_case(
        &self,
        play: &Play,
        case: Option<super::matrix::Case>,
        hosts: &mut HashMap<String, HostState>,
    ) -> PlayEnd {
        let _ = self.events.send(Event::PlayStart {
            name: play.name.clone(),
            case: case.as_ref().map(|c| c.id.clone()),
        });
        // The hosts pattern may use extra vars.
        let pattern = match self
            .templar
            .render(&json!(play.hosts), &self.spec.extra_vars)
        {
            Ok(v) => value_text(&v),
            Err(e) => {
                self.warn(format!("{}: hosts: {e}", play.origin));
                return PlayEnd::StopPlaybook;
            }
        };
        let selection =
            match inventory::select(&self.spec.inventory, &pattern, self.spec.limit.as_deref()) {
                Ok(s) => s,
                Err(e) => {
                    self.warn(e.to_string());
                    return PlayEnd::StopPlaybook;
                }
            };
        let mut all: Vec<String> = selection
            .hosts
            .into_iter()
            .filter(|h| hosts.get(h).is_none_or(|s| !s.failed && !s.unreachable))
            .collect();
        match play.order.as_deref() {
            Some("reverse_inventory") => all.reverse(),
            Some("sorted") => all.sort(),
            Some("reverse_sorted") => {
                all.sort();
                all.reverse();
            }
            Some("shuffle") => {
                // From the run's seed, so `--seed` gives the same order back.
                use rand::SeedableRng;
                use rand::seq::SliceRandom;
                let seed = self.seed ^ super::shuffle::fnv(&play.origin.to_string());
                all.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
            }
            _ => {}
        }
        if all.is_empty() {
            let _ = self.events.send(Event::NoHostsMatched);
            return PlayEnd::Continue;
        }
        // Play vars, the case's values, then vars_files (rendered with those and extra vars).
        let mut scope = play.common.clone();
        if let Some(c) = &case {
            combine(&mut scope.vars, &c.vars);
            scope.vars.insert("matrix_case".into(), json!(c.id));
        }
        for vf in &play.vars_files {
            let mut base = scope.vars.clone();
            combine(&mut base, &self.spec.extra_vars);
            let name = match self.templar.render(vf, &base) {
                Ok(v) => value_text(&v),
                Err(e) => {
                    self.warn(format!("{}: vars_files: {e}", play.origin));
                    return PlayEnd::StopPlaybook;
                }
            };
            let path = play.dir.join(&name);
            match inventory::read_vars_file(&path) {
                Ok(v) => combine(&mut scope.vars, &v),
                Err(e) => {
                    self.warn(format!("{}: vars_files: {e}", play.origin));
                    return PlayEnd::StopPlaybook;
                }
            }
        }
        let scope = Arc::new(scope);
        let pctx = PlayCtx::new(
            play.dir.clone(),
            all.clone(),
            flatten_handlers(&play.handlers),
            case.as_ref().map(|c| c.id.clone()),
            self.cancel.clone(),
        );
        let mut end = PlayEnd::Continue;
        let setup_ok = if play.setup.is_empty() {
            true
        } else {
            self.run_setup(play, &pctx, &scope, hosts).await
        };
        if setup_ok && !self.cancel.is_cancelled() {
            let snapshot = self.snapshot(&all, hosts);
            let main_done = CancellationToken::new();
            let main = async {
                let end = self.run_batches(play, &pctx, &scope, &all, hosts).await;
                main_done.cancel();
                end
            };
            end = match &play.events {
                None => main.await,
                Some(ev) => {
                    let (end, ()) = tokio::join!(
                        main,
                        self.run_schedule(play, &pctx, ev, &scope, &snapshot, &main_done)
                    );
                    end
                }
            };
        }
        let teardown_events = play
            .events
            .as_ref()
            .is_some_and(|e| e.schedule.iter().any(|x| x.at_teardown));
        if !play.teardown.is_empty() || teardown_events {
            self.run_teardown(play, &pctx, &scope, hosts).await;
        }
        if !setup_ok {
            return PlayEnd::Continue;
        }
        end
    }

    /// Each host's variables and facts as the play starts (for events, which run beside the
    /// tasks on copies).
    pub(super) fn snapshot(
        &self,
        all: &[String],
        hosts: &HashMap<String, HostState>,
    ) -> Vec<(String, Vars, Vars)> {
        all.iter()
            .map(|h| {
                let inv = self
                    .inventory_vars
                    .get(h)
                    .cloned()
                    .unwrap_or_else(|| host_vars(&self.spec.inventory, h, &Vars::new()));
                let facts = hosts.get(h).map(|s| s.facts.clone()).unwrap_or_default();
                (h.clone(), inv, facts)
            })
            .collect()
    }

    /// A host's state for a list of tasks (its facts carried over from earlier plays).
    pub(super) fn host_state(
        &self,
        name: &str,
        facts: Vars,
        list: Arc<Vec<Task>>,
        scope: Arc<Common>,
    ) -> HostState {
        HostState {
            name: name.to_string(),
            inv_vars: self
                .inventory_vars
                .get(name)
                .cloned()
                .unwrap_or_else(|| host_vars(&self.spec.inventory, name, &Vars::new())),
            facts,
            cursor: Cursor::new(list, scope),
            notified: vec![],
            failed: false,
            unreachable: false,
        }
    }

    /// The play's tasks, serial batch after serial batch.
    async fn run_batches(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        scope: &Arc<Common>,
        all: &[String],
        hosts: &mut HashMap<String, HostState>,
    ) -> PlayEnd {
        let gather = match &play.gather_facts {
            None => true,
            Some(v) => self
                .templar
                .condition(v, &self.spec.extra_vars)
                .unwrap_or(true),
        };
        let mut list = Vec::new();
        if gather {
            list.push(gather_task(play));
        }
        for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
            list.extend(section.iter().cloned());
            list.push(meta_flush());
        }
        let list = Arc::new(list);
        for batch in batches(&play.serial, all) {
            if self.cancel.is_cancelled() {
                return PlayEnd::StopPlaybook;
            }
            pctx.start_batch(&batch);
            let _ = self.events.send(Event::Batch {
                hosts: batch.clone(),
            });
            let mut states: Vec<HostState> = batch
                .iter()
                .map(|h| {
                    let facts = hosts.remove(h).map(|p| p.facts).unwrap_or_default();
                    self.host_state(h, facts, list.clone(), scope.clone())
                })
                .collect();
            for s in &states {
                self.stats_mut(&s.name, |_| ());
                self.publish_facts(s);
            }
            let handlers = pctx.handlers.clone();
            let end = match play.strategy {
                Strategy::Linear => self.linear(play, pctx, &mut states, &handlers).await,
                Strategy::Free => self.free(play, pctx, &mut states, &handlers).await,
                Strategy::Shuffle => self.shuffle(pctx, &mut states, &list, scope).await,
            };
            let all_failed = states.iter().all(|s| s.failed || s.unreachable);
            for s in states {
                hosts.insert(s.name.clone(), s);
            }
            if matches!(end, PlayEnd::StopPlaybook) {
                return PlayEnd::StopPlaybook;
            }
            if all_failed {
                let _ = self.events.send(Event::NoMoreHosts);
                return PlayEnd::StopPlaybook;
            }
        }
        PlayEnd::Continue
    }

    /// Whether `-t`/`--skip-tags`/`--start-at-task` let a task run.
    fn selected(&self, next: &Next) -> bool {
        let task = next.task();
        let mut tags: Vec<&str> = next.scope.tags.iter().map(String::as_str).collect();
        tags.extend(task.common.tags.iter().map(String::as_str));
        if !self.started.load(Ordering::Relaxed) {
            let Some(want) = &self.spec.start_at_task else {
                return true;
            };
            if task.name.as_deref() == Some(want.as_str()) {
                self.started.store(true, Ordering::Relaxed);
            } else {
                return false;
            }
        }
        let always = tags.contains(&"always");
        if self.spec.skip_tags.iter().any(|s| {
            tags.contains(&s.as_str())
                || (s == "tagged" && !tags.is_empty())
                || (s == "untagged" && tags.is_empty())
        }) {
            return false;
        }
        if always {
            return true;
        }
        let want = &self.spec.tags;
        if want.is_empty() || want.iter().any(|t| t == "all") {
            return !tags.contains(&"never");
        }
        want.iter().any(|t| {
            tags.contains(&t.as_str())
                || (t == "tagged" && !tags.is_empty())
                || (t == "untagged" && tags.is_empty())
        })
    }

    /// The next task of a host that the tag filters let through.
    fn next_selected(&self, hs: &mut HostState) -> Option<Next> {
        loop {
            let n = hs.cursor.next()?;
            if self.selected(&n) {
                return Some(n);
            }
            hs.cursor.advance();
        }
    }

    async fn linear(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        states: &mut [HostState],
        handlers: &[Task],
    ) -> PlayEnd {
        loop {
            if pctx.cancel.is_cancelled() {
                return PlayEnd::StopPlaybook;
            }
            let mut nexts: Vec<(usize, Next)> = Vec::new();
            for (i, hs) in states.iter_mut().enumerate() {
                if hs.failed || hs.unreachable {
                    continue;
                }
                if let Some(n) = self.next_selected(hs) {
                    nexts.push((i, n));
                }
            }
            let Some(key) = pick_group(&nexts) else {
                return PlayEnd::Continue;
            };
            let group: Vec<(usize, Next)> =
                nexts.into_iter().filter(|(_, n)| n.key() == key).collect();
            let next = group[0].1.clone();
            let members: HashSet<usize> = group.iter().map(|(i, _)| *i).collect();
            let task = next.task().clone();
            match &task.action {
                Action::Module { name, args, .. } if name == "meta" => {
                    let what = args.get("_raw_params").map(value_text).unwrap_or_default();
                    // A meta task's `when` picks the hosts it applies to.
                    let mut chosen = HashSet::new();
                    for i in &members {
                        let full = task.common.inherit(&next.scope);
                        let vars = self.task_vars(pctx, &states[*i], &full);
                        match self.when_holds(&full, &vars) {
                            Ok(true) => {
                                chosen.insert(*i);
                            }
                            Ok(false) => {}
                            Err(e) => self.warn(format!("{}: {e}", task.origin)),
                        }
                    }
                    match what.as_str() {
                        "flush_handlers" => {
                            self.flush_handlers(play, pctx, states, &members, handlers)
                                .await;
                        }
                        "end_play" if !chosen.is_empty() => {
                            for hs in states.iter_mut() {
                                hs.cursor.stop();
                            }
                            return PlayEnd::Continue;
                        }
                        "end_host" => {
                            for i in &chosen {
                                states[*i].cursor.stop();
                            }
                        }
                        "end_play" | "noop" | "clear_facts" | "clear_host_errors"
                        | "refresh_inventory" | "reset_connection" | "end_batch" | "end_role" => {}
                        other => {
                            self.warn(format!("{}: unknown meta action {other:?}", task.origin))
                        }
                    }
                    for i in &members {
                        states[*i].cursor.advance();
                    }
                }
                Action::Include { .. } => {
                    let mut included: IndexMap<(String, Option<String>), Vec<String>> =
                        IndexMap::new();
                    for (i, n) in &group {
                        let hs = &mut states[*i];
                        for entry in self.include(pctx, hs, n) {
                            included.entry(entry).or_default().push(hs.name.clone());
                        }
                    }
                    self.report_included(included);
                }
                _ => {
                    let ends = self.run_group(play, pctx, states, &members, &next).await;
                    let failed_now = ends.iter().filter(|e| e.failed).count();
                    let full = task.common.inherit(&next.scope);
                    let fatal = full
                        .any_errors_fatal
                        .as_ref()
                        .and_then(crate::modules::to_bool)
                        .unwrap_or(false);
                    if failed_now > 0 && fatal {
                        for hs in states.iter_mut() {
                            hs.cursor.stop();
                        }
                        let _ = self.events.send(Event::NoMoreHosts);
                        return PlayEnd::StopPlaybook;
                    }
                    if let Some(pct) = play.max_fail_percentage {
                        let failed = states.iter().filter(|s| s.failed || s.unreachable).count();
                        if (failed as f64) * 100.0 / (states.len() as f64) > pct {
                            for hs in states.iter_mut() {
                                hs.cursor.stop();
                            }
                            let _ = self.events.send(Event::NoMoreHosts);
                            return PlayEnd::StopPlaybook;
                        }
                    }
                }
            }
        }
    }

    async fn free(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        states: &mut [HostState],
        handlers: &[Task],
    ) -> PlayEnd {
        let mut work = FuturesUnordered::new();
        for hs in states.iter_mut() {
            work.push(async move {
                loop {
                    if pctx.cancel.is_cancelled() || hs.failed || hs.unreachable {
                        break;
                    }
                    let Some(next) = self.next_selected(hs) else {
                        break;
                    };
                    let task = next.task().clone();
                    match &task.action {
                        Action::Module { name, args, .. } if name == "meta" => {
                            let what = args.get("_raw_params").map(value_text).unwrap_or_default();
                            if what == "flush_handlers" {
                                self.flush_one(play, pctx, hs, handlers).await;
                            } else if what == "end_host" || what == "end_play" {
                                hs.cursor.stop();
                                break;
                            }
                            hs.cursor.advance();
                        }
                        Action::Include { .. } => {
                            let mut included = IndexMap::new();
                            for entry in self.include(pctx, hs, &next) {
                                included.insert(entry, vec![hs.name.clone()]);
                            }
                            self.report_included(included);
                        }
                        _ => {
                            let full = task.common.inherit(&next.scope);
                            if task.barrier {
                                match self.free_barrier(pctx, hs, &next, &full).await {
                                    BarrierPass::Run => {}
                                    BarrierPass::Done => continue,
                                    BarrierPass::Stop => break,
                                }
                            }
                            self.task_start(pctx, hs, &task, &full, TaskKind::Task);
                            let _permit = self.forks.clone().acquire_owned().await;
                            self.step(pctx, hs, &next, TaskKind::Task).await;
                        }
                    }
                }
                // Out of tasks (or down): barriers no longer wait for this host.
                pctx.barriers.leave(&hs.name);
            });
        }
        while work.next().await.is_some() {}
        drop(work);
        if pctx.cancel.is_cancelled() {
            PlayEnd::StopPlaybook
        } else {
            PlayEnd::Continue
        }
    }

    /// `include_tasks`: loads the file (once per loop item) for the host and continues
    /// inside it. Returns what was included (file, item label), for the `included:` lines.
    pub(super) fn include(
        &self,
        pctx: &PlayCtx,
        hs: &mut HostState,
        next: &Next,
    ) -> Vec<(String, Option<String>)> {
        let task = next.task();
        let Action::Include { file, base } = &task.action else {
            hs.cursor.advance();
            return vec![];
        };
        let full = task.common.inherit(&next.scope);
        let vars = self.task_vars(pctx, hs, &full);
        // Each item: its variables and label.
        let items: Vec<(Vars, Option<String>)> = match &task.loop_ {
            None => vec![(Vars::new(), None)],
            Some(spec) => match self.loop_items(spec, &vars, pctx) {
                Ok(items) => items
                    .into_iter()
                    .enumerate()
                    .map(|(index, item)| {
                        let mut v = Vars::new();
                        v.insert(spec.loop_var.clone(), item.clone());
                        if let Some(ix) = &spec.index_var {
                            v.insert(ix.clone(), json!(index));
                        }
                        (v, Some(value_text(&item)))
                    })
                    .collect(),
                Err(e) => {
                    self.include_failed(pctx, hs, task, e);
                    return vec![];
                }
            },
        };
        let mut frames = Vec::new();
        let mut reported = Vec::new();
        for (item_vars, label) in items {
            let mut iv = vars.clone();
            combine(&mut iv, &item_vars);
            match self.when_holds(&full, &iv) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    self.include_failed(pctx, hs, task, format!("{}: {e}", task.origin));
                    return vec![];
                }
            }
            let name = match self.templar.render(file, &iv) {
                Ok(v) => value_text(&v),
                Err(e) => {
                    self.include_failed(
                        pctx,
                        hs,
                        task,
                        format!("{}: include_tasks: {e}", task.origin),
                    );
                    return vec![];
                }
            };
            let path = base.join(&name);
            match load_task_file(&path) {
                Ok(tasks) => {
                    let mut scope = full.clone();
                    scope.when.clear();
                    combine(&mut scope.vars, &item_vars);
                    frames.push((tasks, Arc::new(scope)));
                    reported.push((path.display().to_string(), label));
                }
                Err(e) => {
                    self.include_failed(pctx, hs, task, e.to_string());
                    return vec![];
                }
            }
        }
        if reported.is_empty() {
            // Nothing included: the include itself is skipped.
            self.stats_mut(&hs.name, |s| s.skipped += 1);
            let _ = self.events.send(Event::Host(HostResult::new(
                &hs.name,
                self.task_id(pctx, task, TaskKind::Task),
                Status::Skipped,
                crate::modules::ok(false),
                "include_tasks",
                now_epoch(),
                0.0,
            )));
        }
        hs.cursor.include(frames);
        reported
    }

    fn include_failed(&self, pctx: &PlayCtx, hs: &mut HostState, task: &Task, msg: String) {
        self.stats_mut(&hs.name, |s| s.failed += 1);
        let _ = self.events.send(Event::Host(HostResult::new(
            &hs.name,
            self.task_id(pctx, task, TaskKind::Task),
            Status::Failed,
            crate::modules::failed(msg),
            "include_tasks",
            now_epoch(),
            0.0,
        )));
        if hs.cursor.fail() == Failure::Fatal {
            hs.failed = true;
        }
    }

    /// `included: FILE for HOSTS` lines; each counts as ok for its hosts.
    pub(super) fn report_included(
        &self,
        included: IndexMap<(String, Option<String>), Vec<String>>,
    ) {
        for ((file, item), hosts) in included {
            for h in &hosts {
                self.stats_mut(h, |s| s.ok += 1);
            }
            let _ = self.events.send(Event::Included { file, hosts, item });
        }
    }

    /// The task's name as shown, templated with the host's variables where it can be.
    fn task_title(&self, pctx: &PlayCtx, hs: &HostState, task: &Task, full: &Common) -> String {
        let name = task.display_name();
        if !name.contains("{{") {
            return name;
        }
        let vars = self.task_vars(pctx, hs, full);
        match self.templar.render(&Value::String(name.clone()), &vars) {
            Ok(v) => value_text(&v),
            Err(_) => name,
        }
    }

    fn when_holds(&self, scope: &Common, vars: &Vars) -> Result<bool, String> {
        for c in &scope.when {
            if !self.templar.condition(c, vars).map_err(|e| e.to_string())? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs one task on the hosts of a lockstep group, `forks` at a time.
    async fn run_group(
        &self,
        _play: &Play,
        pctx: &PlayCtx,
        states: &mut [HostState],
        members: &HashSet<usize>,
        next: &Next,
    ) -> Vec<StepEnd> {
        let task = next.task();
        let full = task.common.inherit(&next.scope);
        if let Some((_, hs)) = states.iter().enumerate().find(|(i, _)| members.contains(i)) {
            self.task_start(pctx, hs, task, &full, TaskKind::Task);
        }
        let run_once = full.run_once.is_some() && {
            let first = states.iter().enumerate().find(|(i, _)| members.contains(i));
            match (first, &full.run_once) {
                (Some((_, hs)), Some(v)) => {
                    let vars = self.task_vars(pctx, hs, &full);
                    self.templar.condition(v, &vars).unwrap_or(false)
                }
                _ => false,
            }
        };
        if run_once {
            let mut idx: Vec<usize> = members.iter().copied().collect();
            idx.sort();
            let first = idx[0];
            let before = states[first].facts.clone();
            let end = self
                .step(pctx, &mut states[first], next, TaskKind::Task)
                .await;
            // The others share the result (registered, set_fact) without running the task.
            let shared: Vec<(String, Value)> = states[first]
                .facts
                .iter()
                .filter(|(k, v)| before.get(k.as_str()) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            for &i in &idx[1..] {
                for (k, v) in &shared {
                    states[i].facts.insert(k.clone(), v.clone());
                }
                self.publish_facts(&states[i]);
                states[i].cursor.advance();
            }
            return vec![end];
        }
        let mut work = FuturesUnordered::new();
        for (i, hs) in states.iter_mut().enumerate() {
            if !members.contains(&i) {
                continue;
            }
            work.push(async move {
                let _permit = self.forks.clone().acquire_owned().await;
                self.step(pctx, hs, next, TaskKind::Task).await
            });
        }
        let mut ends = Vec::new();
        while let Some(e) = work.next().await {
            ends.push(e);
        }
        ends
    }

    /// Runs a task on one host and applies the outcome: tallies, events, notifications,
    /// the host's cursor.
    pub(super) async fn step(
        &self,
        pctx: &PlayCtx,
        hs: &mut HostState,
        next: &Next,
        kind: TaskKind,
    ) -> StepEnd {
        let task = next.task();
        let task_id = self.task_id(pctx, task, kind);
        // Every remote wait inside races the run's cancellation itself (so a cancelled
        // command is signalled on the host); its result is then not counted.
        let outcome = self
            .run_task(pctx, hs, task, &next.scope, task_id, Iters::Task)
            .await;
        if pctx.cancel.is_cancelled() {
            return StepEnd::default();
        }
        self.apply(pctx, hs, task, outcome, kind, task_id)
    }

    /// A barrier in the free strategy: waits for every live host; with `run_once`, the
    /// first host runs the task and the others take its result.
    async fn free_barrier(
        &self,
        pctx: &PlayCtx,
        hs: &mut HostState,
        next: &Next,
        full: &Common,
    ) -> BarrierPass {
        let Some(arrival) = pctx
            .barriers
            .arrive(next.key(), &hs.name, &pctx.cancel)
            .await
        else {
            return BarrierPass::Stop;
        };
        let run_once = match &full.run_once {
            None => false,
            Some(v) => {
                let vars = self.task_vars(pctx, hs, full);
                self.templar.condition(v, &vars).unwrap_or(false)
            }
        };
        if !run_once {
            return BarrierPass::Run;
        }
        if arrival.leader {
            let before = hs.facts.clone();
            self.task_start(pctx, hs, next.task(), full, TaskKind::Task);
            let permit = self.forks.clone().acquire_owned().await;
            self.step(pctx, hs, next, TaskKind::Task).await;
            drop(permit);
            let shared: Vec<(String, Value)> = hs
                .facts
                .iter()
                .filter(|(k, v)| before.get(k.as_str()) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            pctx.barriers.finish(arrival.id, shared);
            return BarrierPass::Done;
        }
        let Some(shared) = pctx.barriers.wait_done(arrival.id, &pctx.cancel).await else {
            return BarrierPass::Stop;
        };
        for (k, v) in shared {
            hs.facts.insert(k, v);
        }
        self.publish_facts(hs);
        hs.cursor.advance();
        BarrierPass::Done
    }

    pub(super) fn apply(
        &self,
        pctx: &PlayCtx,
        hs: &mut HostState,
        task: &Task,
        outcome: TaskOutcome,
        kind: TaskKind,
        task_id: u32,
    ) -> StepEnd {
        let handler = kind == TaskKind::Handler;
        let action = match &task.action {
            Action::Module { name, .. } => name.clone(),
            _ => String::new(),
        };
        let mut end = StepEnd::default();
        let mut rescued = false;
        match outcome.status {
            Status::Ok => self.stats_mut(&hs.name, |s| s.ok += 1),
            Status::Changed => {
                self.stats_mut(&hs.name, |s| {
                    s.ok += 1;
                    s.changed += 1
                });
                for n in &task.notify {
                    let mut found = false;
                    for (i, h) in pctx.handlers.iter().enumerate() {
                        if h.name.as_deref() == Some(n.as_str()) || h.listen.contains(n) {
                            found = true;
                            if !hs.notified.contains(&i) {
                                hs.notified.push(i);
                            }
                        }
                    }
                    if !found {
                        self.warn(format!(
                            "{}: the requested handler '{n}' was not found in the play's handlers",
                            task.origin
                        ));
                    }
                }
            }
            Status::Skipped => self.stats_mut(&hs.name, |s| s.skipped += 1),
            Status::Failed if outcome.ignored => {
                let changed = outcome.result.get("changed").and_then(Value::as_bool) == Some(true);
                self.stats_mut(&hs.name, |s| {
                    s.ok += 1;
                    s.ignored += 1;
                    s.changed += u32::from(changed);
                })
            }
            Status::Failed => {}
            Status::Unreachable => self.stats_mut(&hs.name, |s| s.unreachable += 1),
        }
        match outcome.status {
            Status::Failed if !outcome.ignored => {
                if handler {
                    hs.failed = true;
                    self.stats_mut(&hs.name, |s| s.failed += 1);
                    end.failed = true;
                } else {
                    match hs.cursor.fail() {
                        Failure::Rescued => {
                            rescued = true;
                            self.stats_mut(&hs.name, |s| s.rescued += 1);
                            // What rescue tasks read about the failure.
                            hs.facts.insert(
                                "ansible_failed_task".into(),
                                json!({"name": task.display_name(), "action": action}),
                            );
                            hs.facts.insert(
                                "ansible_failed_result".into(),
                                Value::Object(outcome.result.clone()),
                            );
                        }
                        Failure::Deferred => {
                            self.stats_mut(&hs.name, |s| s.failed += 1);
                            end.failed = true;
                        }
                        Failure::Fatal => {
                            self.stats_mut(&hs.name, |s| s.failed += 1);
                            hs.failed = true;
                            end.failed = true;
                        }
                    }
                }
            }
            Status::Unreachable => {
                hs.unreachable = true;
                hs.cursor.stop();
                end.failed = true;
            }
            _ => {
                if !handler {
                    hs.cursor.advance();
                }
            }
        }
        if (hs.failed || hs.unreachable) && matches!(kind, TaskKind::Task | TaskKind::Handler) {
            pctx.host_down(&hs.name);
        }
        self.report(&hs.name, task_id, action, outcome, rescued);
        end
    }

    /// Sends one timed run of a task on a host (an iteration keeps its own result).
    pub(super) fn sample(
        &self,
        task_id: u32,
        host: &str,
        iteration: Option<u32>,
        outcome: &TaskOutcome,
    ) {
        let _ = self.events.send(Event::Sample(Sample {
            task_id,
            host: host.to_string(),
            iteration,
            start: outcome.start,
            duration: outcome.duration,
            rc: outcome.result.get("rc").and_then(Value::as_i64),
            status: outcome.status,
            result: iteration.map(|_| outcome.result.clone()),
        }));
    }

    /// Sends a task's result on a host: its sample (unless its iterations sent theirs)
    /// and the result itself.
    pub(super) fn report(
        &self,
        host: &str,
        task_id: u32,
        action: String,
        outcome: TaskOutcome,
        rescued: bool,
    ) {
        if !outcome.sampled {
            self.sample(task_id, host, None, &outcome);
        }
        let _ = self.events.send(Event::Host(HostResult {
            host: host.to_string(),
            task_id,
            start: outcome.start,
            duration: outcome.duration,
            delegated_to: outcome.delegated_to,
            status: outcome.status,
            result: outcome.result,
            item: None,
            ignored: outcome.ignored,
            action,
            no_log: outcome.no_log,
            rescued,
        }));
    }

    /// Runs the notified handlers of the group's hosts, in the order they are defined.
    async fn flush_handlers(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        states: &mut [HostState],
        members: &HashSet<usize>,
        handlers: &[Task],
    ) {
        let force = self.spec.force_handlers || play.force_handlers;
        for (index, handler) in handlers.iter().enumerate() {
            let chosen: HashSet<usize> = states
                .iter()
                .enumerate()
                .filter(|(i, hs)| {
                    members.contains(i)
                        && (force || (!hs.failed && !hs.unreachable))
                        && hs.notified.contains(&index)
                })
                .map(|(i, _)| i)
                .collect();
            if chosen.is_empty() {
                continue;
            }
            self.task_start_named(pctx, handler, handler.display_name(), TaskKind::Handler);
            let list = Arc::new(vec![handler.clone()]);
            let next = Next {
                list,
                index: 0,
                scope: Arc::new(play.common.clone()),
                phase: Phase::Root,
            };
            let mut work = FuturesUnordered::new();
            for (i, hs) in states.iter_mut().enumerate() {
                if !chosen.contains(&i) {
                    continue;
                }
                hs.notified.retain(|n| *n != index);
                let next = &next;
                work.push(async move {
                    let _permit = self.forks.clone().acquire_owned().await;
                    self.step(pctx, hs, next, TaskKind::Handler).await
                });
            }
            while work.next().await.is_some() {}
        }
    }

    async fn flush_one(&self, play: &Play, pctx: &PlayCtx, hs: &mut HostState, handlers: &[Task]) {
        let members: HashSet<usize> = [0].into_iter().collect();
        self.flush_handlers(play, pctx, std::slice::from_mut(hs), &members, handlers)
            .await;
    }
}

/// Handlers as a flat list (blocks and imports of handlers expanded).
fn flatten_handlers(tasks: &[Task]) -> Vec<Task> {
    let mut out = Vec::new();
    for t in tasks {
        match &t.action {
            Action::Block { block, .. } => {
                for mut inner in flatten_handlers(block) {
                    inner.common = inner.common.inherit(&t.common);
                    out.push(inner);
                }
            }
            _ => out.push(t.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_batches() {
        let hosts: Vec<String> = (1..=10).map(|i| format!("h{i}")).collect();
        let sizes = |serial: Value| -> Vec<usize> {
            let s = match serial {
                Value::Array(a) => a,
                v => vec![v],
            };
            batches(&s, &hosts).iter().map(Vec::len).collect()
        };
        assert_eq!(sizes(json!(3)), [3, 3, 3, 1]);
        assert_eq!(sizes(json!("30%")), [3, 3, 3, 1]);
        assert_eq!(sizes(json!([1, 2, "50%"])), [1, 2, 5, 2]);
    }
}
