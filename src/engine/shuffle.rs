//! `strategy: shuffle`: the play's tasks flattened into (host, task, iteration) jobs, run
//! in a random order across the forks. The order comes from the run's seed (printed;
//! `--seed N` gives it back), so a shuffled run can be replayed exactly (with `-f 1`, in
//! the same start order too). Jobs are independent: a failed job does not stop the host's
//! other jobs; an unreachable host's remaining jobs are dropped. Facts gathering (when on)
//! runs first, on every host, as in the linear strategy.

use super::cursor::{Cursor, Next, Phase};
use super::event::{Event, TaskKind};
use super::host::{HostState, Iters};
use super::play::PlayEnd;
use super::{PlayCtx, RunCtx, lock};
use crate::playbook::{Action, Common, Task};
use crate::vars::Vars;
use futures_util::stream::{self, StreamExt};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::sync::{Arc, Mutex};

/// One job: a host (index), a task (index), an iteration (for tasks with `iterations`).
type Job = (usize, usize, Option<u32>);

/// The most jobs listed to shuffle (24 bytes each): `iterations` may be up to u32::MAX.
const MAX_JOBS: usize = 1 << 22;

/// What jobs learn about their host, merged back as they finish.
struct Shared {
    facts: Vars,
    failed: bool,
    unreachable: bool,
}

impl RunCtx {
    pub(super) async fn shuffle(
        &self,
        pctx: &PlayCtx,
        states: &mut [HostState],
        list: &Arc<Vec<Task>>,
        scope: &Arc<Common>,
    ) -> PlayEnd {
        let mut tasks = Vec::new();
        for t in list.iter() {
            self.flatten_job_tasks(t, &Common::default(), &mut tasks);
        }
        // Facts first, on every host.
        let (gather, tasks): (Vec<Task>, Vec<Task>) = tasks.into_iter().partition(
            |t| matches!(&t.action, Action::Module { name, .. } if name == "gather_facts"),
        );
        for g in gather {
            let gl = Arc::new(vec![g]);
            let next = Next {
                list: gl.clone(),
                index: 0,
                scope: scope.clone(),
                phase: Phase::Root,
            };
            self.task_start_named(pctx, &gl[0], gl[0].display_name(), TaskKind::Task);
            let mut work = futures_util::stream::FuturesUnordered::new();
            for hs in states.iter_mut() {
                hs.cursor = Cursor::new(gl.clone(), scope.clone());
                let next = &next;
                work.push(async move {
                    let _permit = self.forks.clone().acquire_owned().await;
                    self.step(pctx, hs, next, TaskKind::Task).await
                });
            }
            while work.next().await.is_some() {}
        }
        let mut jobs: Vec<Job> = Vec::new();
        let mut in_order = vec![false; tasks.len()];
        for (hi, hs) in states.iter().enumerate() {
            if hs.failed || hs.unreachable {
                continue;
            }
            for (ti, task) in tasks.iter().enumerate() {
                let full = task.common.inherit(scope);
                let vars = self.task_vars(pctx, hs, &full);
                match self.iterations(task, &vars) {
                    Ok(Some(n)) if jobs.len().saturating_add(n as usize) <= MAX_JOBS => {
                        jobs.extend((1..=n).map(|i| (hi, ti, Some(i))))
                    }
                    // Too many to list: the host's iterations of the task are one job.
                    Ok(Some(n)) => {
                        if !std::mem::replace(&mut in_order[ti], true) {
                            self.warn(format!(
                                "{}: {n} iterations would make more than {MAX_JOBS} shuffled jobs: \
                                 a host's iterations of this task run in order, as one job",
                                task.origin
                            ));
                        }
                        jobs.push((hi, ti, None));
                    }
                    _ => jobs.push((hi, ti, None)),
                }
            }
        }
        let seed = self.seed
            ^ fnv(&format!(
                "{}|{}",
                tasks
                    .first()
                    .map(|t| t.origin.to_string())
                    .unwrap_or_default(),
                pctx.case.as_deref().unwrap_or("")
            ));
        jobs.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let _ = self.events.send(Event::Shuffle {
            seed: self.seed,
            jobs: jobs.len(),
        });
        let shared: Vec<Mutex<Shared>> = states
            .iter()
            .map(|s| {
                Mutex::new(Shared {
                    facts: s.facts.clone(),
                    failed: s.failed,
                    unreachable: s.unreachable,
                })
            })
            .collect();
        let forks = self.spec.forks.max(1);
        let (states_ro, tasks, cells) = (&*states, &tasks, &shared);
        stream::iter(jobs)
            .map(|(hi, ti, iteration)| async move {
                if pctx.cancel.is_cancelled() {
                    return;
                }
                let task = &tasks[ti];
                let base = &states_ro[hi];
                let facts = {
                    let s = lock(&cells[hi]);
                    if s.unreachable {
                        return;
                    }
                    s.facts.clone()
                };
                let mut hs = HostState {
                    name: base.name.clone(),
                    inv_vars: base.inv_vars.clone(),
                    facts: facts.clone(),
                    cursor: Cursor::new(Arc::new(vec![task.clone()]), scope.clone()),
                    notified: vec![],
                    failed: false,
                    unreachable: false,
                };
                let full = task.common.inherit(scope);
                let id = self.task_start(pctx, &hs, task, &full, TaskKind::Task);
                let iters = iteration.map(Iters::One).unwrap_or(Iters::Task);
                let outcome = self.run_task(pctx, &mut hs, task, scope, id, iters).await;
                if pctx.cancel.is_cancelled() {
                    return;
                }
                self.apply(pctx, &mut hs, task, outcome, TaskKind::Task, id);
                let mut s = lock(&cells[hi]);
                for (k, v) in &hs.facts {
                    if facts.get(k) != Some(v) {
                        s.facts.insert(k.clone(), v.clone());
                    }
                }
                s.failed |= hs.failed;
                s.unreachable |= hs.unreachable;
            })
            .buffer_unordered(forks)
            .collect::<Vec<()>>()
            .await;
        for (hs, s) in states.iter_mut().zip(shared) {
            let s = s.into_inner().unwrap_or_else(|e| e.into_inner());
            hs.facts = s.facts;
            hs.failed |= s.failed;
            hs.unreachable |= s.unreachable;
            hs.cursor.stop();
        }
        if pctx.cancel.is_cancelled() {
            PlayEnd::StopPlaybook
        } else {
            PlayEnd::Continue
        }
    }

    /// The play's tasks as independent jobs: blocks opened (their tasks and always
    /// sections; rescue runs only after a failure, which independent jobs do not have),
    /// meta tasks dropped, dynamic includes refused with a warning.
    fn flatten_job_tasks(&self, t: &Task, outer: &Common, out: &mut Vec<Task>) {
        match &t.action {
            Action::Block { block, always, .. } => {
                let scope = t.common.inherit(outer);
                for inner in block.iter().chain(always.iter()) {
                    self.flatten_job_tasks(inner, &scope, out);
                }
            }
            Action::Module { name, .. } if name == "meta" => {}
            Action::Include { .. } => self.warn(format!(
                "{}: include_tasks is not run by strategy: shuffle (use import_tasks)",
                t.origin
            )),
            Action::Module { .. } => {
                let mut t = t.clone();
                t.common = t.common.inherit(outer);
                out.push(t);
            }
        }
    }
}

/// FNV-1a: a stable mix of the play into the run's seed.
pub(super) fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
