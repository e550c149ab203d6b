//! `summary.json`: the recap, each host's outcome with its failures, each task's counts
//! per status, and the statistics. Built by [`summary`] from a [`RunRecord`].

use super::record::{RunRecord, TaskResult};
use super::results::{RunEnd, iso8601};
use crate::engine::Status;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The summary of a finished run; `times` is its (start, end) in seconds since the epoch.
pub fn summary(record: &RunRecord, end: RunEnd, times: (f64, f64)) -> Value {
    let mut recap = record.recap();
    recap.stats.sort_keys();
    recap.teardown.sort_keys();
    let mut failures: HashMap<&str, Vec<Value>> = HashMap::new();
    for (play, task, r) in record.failures() {
        failures.entry(&r.host).or_default().push(json!({
            "play": play.name,
            "case": play.case,
            "task_id": task.id,
            "task": task.name,
            "status": r.status,
            "rc": r.rc,
            "message": r.message,
        }));
    }
    let mut hosts = serde_json::Map::new();
    for (host, outcome) in record.host_outcomes() {
        let failed = failures.remove(host.as_str()).unwrap_or_default();
        hosts.insert(host, json!({"outcome": outcome, "failures": failed}));
    }
    let plays: Vec<Value> = record
        .plays
        .iter()
        .map(|play| {
            let tasks: Vec<Value> = play
                .tasks
                .iter()
                .map(|t| {
                    let mut v =
                        json!({"id": t.id, "name": t.name, "kind": t.kind, "origin": t.origin});
                    if let Value::Object(m) = &mut v {
                        m.extend(counts(&t.results));
                    }
                    v
                })
                .collect();
            json!({"name": play.name, "case": play.case, "tasks": tasks})
        })
        .collect();
    json!({
        "complete": record.complete(),
        "interrupted": end.interrupted,
        "exit_code": end.exit_code,
        "seed": record.seed,
        "started": iso8601(times.0),
        "finished": iso8601(times.1),
        "duration": times.1 - times.0,
        "recap": recap.stats,
        "teardown_recap": recap.teardown,
        "hosts": hosts,
        "plays": plays,
        "statistics": record.statistics(),
    })
}

/// How many of a task's results ended each way.
fn counts(results: &[TaskResult]) -> serde_json::Map<String, Value> {
    let mut n = [0u32; 7];
    for r in results {
        let i = match r.status {
            Status::Ok => 0,
            Status::Changed => 1,
            Status::Skipped => 2,
            Status::Failed if r.ignored => 4,
            Status::Failed if r.rescued => 5,
            Status::Failed => 3,
            Status::Unreachable => 6,
        };
        n[i] += 1;
    }
    [
        "ok",
        "changed",
        "skipped",
        "failed",
        "ignored",
        "rescued",
        "unreachable",
    ]
    .iter()
    .zip(n)
    .map(|(k, v)| (k.to_string(), json!(v)))
    .collect()
}
