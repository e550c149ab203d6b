//! A run rebuilt from its events: plays (one per matrix case), their tasks, each host's
//! results, the recap. Main type [`RunRecord`]; the live results writer and `horde report`
//! (reading `events.jsonl` back, also of a killed run) both build one by feeding events.

use super::stats;
use crate::engine::{Event, HostResult, HostStats, Status, TaskKind};
use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;

/// The most output kept per failed result for JUnit (the full output is in `hosts/`).
const OUTPUT_LIMIT: usize = 64 * 1024;

/// Everything a report needs about one run.
#[derive(Debug, Default)]
pub struct RunRecord {
    pub seed: Option<u64>,
    pub plays: Vec<PlayRecord>,
    /// The engine's tallies, once the run finished ([`Event::Recap`]).
    pub recap: Option<Recap>,
    /// Earliest result start and latest result end (seconds since the Unix epoch).
    pub span: Option<(f64, f64)>,
    /// Task id to (play, task) index.
    index: HashMap<u32, (usize, usize)>,
    stats: stats::Collector,
}

/// The columns of `PLAY RECAP` per host, and teardown's apart.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recap {
    pub stats: IndexMap<String, HostStats>,
    pub teardown: IndexMap<String, HostStats>,
}

/// One play, or one matrix case of a play.
#[derive(Debug, Clone, Serialize)]
pub struct PlayRecord {
    pub name: String,
    pub case: Option<String>,
    pub tasks: Vec<TaskRecord>,
}

/// One task of a play and its results, in the order they came.
#[derive(Debug, Clone, Serialize)]
pub struct TaskRecord {
    pub id: u32,
    pub name: String,
    pub kind: TaskKind,
    pub origin: String,
    pub results: Vec<TaskResult>,
}

/// One host's result of a task.
#[derive(Debug, Clone, Serialize)]
pub struct TaskResult {
    pub host: String,
    pub status: Status,
    pub ignored: bool,
    pub rescued: bool,
    pub start: f64,
    pub duration: f64,
    pub rc: Option<i64>,
    /// The result's `msg`, for failures.
    pub message: Option<String>,
    /// stdout and stderr, for failures (cut at 64 KiB each).
    pub stdout: Option<String>,
    pub stderr: Option<String>,
}

impl TaskRecord {
    /// The results ordered by host name (a host's own results in the order they came).
    pub fn by_host(&self) -> Vec<&TaskResult> {
        let mut v: Vec<&TaskResult> = self.results.iter().collect();
        v.sort_by(|a, b| a.host.cmp(&b.host));
        v
    }
}

impl TaskResult {
    /// A failure that counts: not ignored, not rescued.
    pub fn is_failure(&self) -> bool {
        self.status.is_failure() && !self.ignored && !self.rescued
    }
}

/// How a host ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HostOutcome {
    Ok,
    Failed,
    Unreachable,
}

impl std::fmt::Display for HostOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            HostOutcome::Ok => "ok",
            HostOutcome::Failed => "failed",
            HostOutcome::Unreachable => "unreachable",
        })
    }
}

fn text(v: Option<&Value>) -> Option<String> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

fn cut(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(|mut s| {
        if s.len() > OUTPUT_LIMIT {
            let mut end = OUTPUT_LIMIT;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
            s.push_str("\n[... cut: the whole output is in hosts/]");
        }
        s
    })
}

impl RunRecord {
    pub fn new() -> RunRecord {
        RunRecord {
            stats: stats::Collector::new(),
            ..RunRecord::default()
        }
    }

    /// Feeds one event of the run, in order.
    pub fn add(&mut self, event: &Event) {
        self.stats.add(event);
        match event {
            Event::RunStart { seed } => self.seed = Some(*seed),
            Event::PlayStart { name, case } => self.plays.push(PlayRecord {
                name: name.clone(),
                case: case.clone(),
                tasks: Vec::new(),
            }),
            Event::TaskStart {
                id,
                name,
                kind,
                origin,
            } if !self.index.contains_key(id) => {
                let play = self.current_play();
                let tasks = &mut self.plays[play].tasks;
                tasks.push(TaskRecord {
                    id: *id,
                    name: name.clone(),
                    kind: *kind,
                    origin: origin.clone(),
                    results: Vec::new(),
                });
                self.index.insert(*id, (play, tasks.len() - 1));
            }
            Event::Host(r) => self.host(r),
            Event::Recap { stats, teardown } => {
                self.recap = Some(Recap {
                    stats: stats.clone(),
                    teardown: teardown.clone(),
                })
            }
            _ => {}
        }
    }

    /// The index of the play events go to (an unnamed one if none started yet).
    fn current_play(&mut self) -> usize {
        if self.plays.is_empty() {
            self.plays.push(PlayRecord {
                name: String::new(),
                case: None,
                tasks: Vec::new(),
            });
        }
        self.plays.len() - 1
    }

    fn host(&mut self, r: &HostResult) {
        let (play, task) = match self.index.get(&r.task_id) {
            Some(at) => *at,
            None => {
                // A result whose task start is missing (a cut file): keep it all the same.
                let play = self.current_play();
                let tasks = &mut self.plays[play].tasks;
                tasks.push(TaskRecord {
                    id: r.task_id,
                    name: format!("task {}", r.task_id),
                    kind: TaskKind::Task,
                    origin: String::new(),
                    results: Vec::new(),
                });
                self.index.insert(r.task_id, (play, tasks.len() - 1));
                (play, tasks.len() - 1)
            }
        };
        let failed = r.status.is_failure();
        let shown = |k: &str| {
            if failed && !r.no_log {
                cut(text(r.result.get(k)))
            } else {
                None
            }
        };
        let message = if failed && r.no_log {
            Some("the output has been hidden: no_log was set for this result".to_string())
        } else {
            shown("msg")
        };
        let result = TaskResult {
            host: r.host.clone(),
            status: r.status,
            ignored: r.ignored,
            rescued: r.rescued,
            start: r.start,
            duration: r.duration,
            rc: r.result.get("rc").and_then(Value::as_i64),
            message,
            stdout: shown("stdout"),
            stderr: shown("stderr"),
        };
        if r.start > 0.0 {
            let end = r.start + r.duration.max(0.0);
            self.span = Some(match self.span {
                Some((a, b)) => (a.min(r.start), b.max(end)),
                None => (r.start, end),
            });
        }
        self.plays[play].tasks[task].results.push(result);
    }

    /// Whether the run got to its end (the recap came).
    pub fn complete(&self) -> bool {
        self.recap.is_some()
    }

    /// The recap: the engine's, or for a run that did not finish, tallied from the results
    /// that did.
    pub fn recap(&self) -> Recap {
        if let Some(r) = &self.recap {
            return r.clone();
        }
        let mut recap = Recap::default();
        for play in &self.plays {
            for task in &play.tasks {
                let tally = if task.kind == TaskKind::Teardown {
                    &mut recap.teardown
                } else {
                    &mut recap.stats
                };
                for r in &task.results {
                    let s = tally.entry(r.host.clone()).or_default();
                    match r.status {
                        Status::Ok => s.ok += 1,
                        Status::Changed => {
                            s.ok += 1;
                            s.changed += 1
                        }
                        Status::Skipped => s.skipped += 1,
                        Status::Unreachable => s.unreachable += 1,
                        Status::Failed if r.ignored => {
                            s.ok += 1;
                            s.ignored += 1
                        }
                        Status::Failed if r.rescued => s.rescued += 1,
                        Status::Failed => s.failed += 1,
                    }
                }
            }
        }
        recap
    }

    /// Every host's outcome, sorted by name: from the recap, else from the results.
    pub fn host_outcomes(&self) -> IndexMap<String, HostOutcome> {
        let mut out: IndexMap<String, HostOutcome> = self
            .recap()
            .stats
            .into_iter()
            .map(|(h, s)| {
                let o = if s.unreachable > 0 {
                    HostOutcome::Unreachable
                } else if s.failed > 0 {
                    HostOutcome::Failed
                } else {
                    HostOutcome::Ok
                };
                (h, o)
            })
            .collect();
        out.sort_keys();
        out
    }

    /// The failures that count, per host, in the order they came.
    pub fn failures(&self) -> Vec<(&PlayRecord, &TaskRecord, &TaskResult)> {
        let mut out = Vec::new();
        for play in &self.plays {
            for task in &play.tasks {
                for r in &task.results {
                    if r.is_failure() {
                        out.push((play, task, r));
                    }
                }
            }
        }
        out
    }

    /// The statistics rows (per task, then per play).
    pub fn statistics(&self) -> Vec<stats::Row> {
        self.stats.rows()
    }

    /// The statistics table as the console prints it (empty without samples).
    pub fn statistics_table(&self) -> String {
        stats::table(&self.statistics())
    }

    /// The samples kept (every timed run).
    pub fn samples(&self) -> &[crate::engine::Sample] {
        self.stats.samples()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vars::Vars;

    fn result(host: &str, task_id: u32, status: Status, result: Vars) -> Event {
        Event::Host(HostResult::new(
            host, task_id, status, result, "command", 100.0, 0.5,
        ))
    }

    fn task(id: u32, name: &str) -> Event {
        Event::TaskStart {
            id,
            name: name.into(),
            kind: TaskKind::Task,
            origin: "pb.yml:3:7".into(),
        }
    }

    #[test]
    fn a_killed_run_gets_a_recap_from_its_finished_results() {
        let mut rec = RunRecord::new();
        let mut failed = Vars::new();
        failed.insert("msg".into(), "boom".into());
        failed.insert("rc".into(), 3.into());
        for e in [
            Event::PlayStart {
                name: "p".into(),
                case: None,
            },
            task(1, "one"),
            result("b", 1, Status::Changed, Vars::new()),
            result("a", 1, Status::Failed, failed),
            task(2, "two"),
            result("b", 2, Status::Ok, Vars::new()),
        ] {
            rec.add(&e);
        }
        assert!(!rec.complete());
        let recap = rec.recap();
        assert_eq!(recap.stats["b"].ok, 2);
        assert_eq!(recap.stats["b"].changed, 1);
        assert_eq!(recap.stats["a"].failed, 1);
        let outcomes: Vec<_> = rec.host_outcomes().into_iter().collect();
        assert_eq!(
            outcomes,
            vec![
                ("a".into(), HostOutcome::Failed),
                ("b".into(), HostOutcome::Ok)
            ]
        );
        let failures = rec.failures();
        assert_eq!(failures.len(), 1);
        assert_eq!(failures[0].2.message.as_deref(), Some("boom"));
        assert_eq!(failures[0].2.rc, Some(3));
        assert_eq!(rec.span, Some((100.0, 100.5)));
    }

    #[test]
    fn a_task_started_again_keeps_one_record_and_a_result_without_start_gets_one() {
        let mut rec = RunRecord::new();
        rec.add(&task(1, "one"));
        rec.add(&result("a", 1, Status::Ok, Vars::new()));
        rec.add(&task(1, "one"));
        rec.add(&result("b", 1, Status::Ok, Vars::new()));
        rec.add(&result("b", 7, Status::Ok, Vars::new()));
        assert_eq!(rec.plays.len(), 1);
        let tasks = &rec.plays[0].tasks;
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[0].results.len(), 2);
        assert_eq!(tasks[1].name, "task 7");
    }
}
