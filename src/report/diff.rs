//! `horde report A B`: what changed between two runs. Per task (matched by play, matrix
//! case and task name, the n-th same-named task with the n-th): count, failures, median
//! and p95, with the difference; and the hosts whose outcome changed. Main entry:
//! [`compare`], rendered by [`text`].

use super::record::{HostOutcome, RunRecord};
use super::stats::Row;
use std::collections::HashMap;
use std::fmt::Write;

/// One task's figures in one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    pub count: usize,
    pub failures: usize,
    /// Seconds, where the statistics are available.
    pub median: Option<f64>,
    pub p95: Option<f64>,
}

/// One task in both runs (`None`: not in that run).
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDiff {
    pub play: String,
    pub case: Option<String>,
    pub task: String,
    pub a: Option<Figures>,
    pub b: Option<Figures>,
}

/// A host whose outcome differs (`None`: not in that run).
#[derive(Debug, Clone, PartialEq)]
pub struct HostDiff {
    pub host: String,
    pub a: Option<HostOutcome>,
    pub b: Option<HostOutcome>,
}

/// The difference between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RunDiff {
    pub tasks: Vec<TaskDiff>,
    pub hosts: Vec<HostDiff>,
}

type Key = (String, Option<String>, String, usize);

/// Each task's figures, in order, keyed by play, case, name and occurrence. Counts come
/// from the results; with statistics rows, count, failures, median and p95 come from them
/// (they count iterations).
fn figures(record: &RunRecord, rows: Option<&[Row]>) -> Vec<(Key, Figures)> {
    let by_id: HashMap<u32, &Row> = rows
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.task_id.map(|id| (id, r)))
        .collect();
    let mut seen: HashMap<(String, Option<String>, String), usize> = HashMap::new();
    let mut out = Vec::new();
    for play in &record.plays {
        for task in &play.tasks {
            let base = (play.name.clone(), play.case.clone(), task.name.clone());
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let mut f = Figures {
                count: task.results.len(),
                failures: task.results.iter().filter(|r| r.is_failure()).count(),
                median: None,
                p95: None,
            };
            if let Some(row) = by_id.get(&task.id) {
                f = Figures {
                    count: row.summary.count,
                    failures: row.summary.failures,
                    median: Some(row.summary.median),
                    p95: Some(row.summary.p95),
                };
            }
            out.push(((base.0, base.1, base.2, *n), f));
        }
    }
    out
}

/// Compares run `a` with run `b` (each with its statistics rows where available).
pub fn compare(
    a: &RunRecord,
    a_rows: Option<&[Row]>,
    b: &RunRecord,
    b_rows: Option<&[Row]>,
) -> RunDiff {
    let fa = figures(a, a_rows);
    let fb = figures(b, b_rows);
    let mut tasks: Vec<TaskDiff> = Vec::new();
    let mut index: HashMap<Key, usize> = HashMap::new();
    for (key, f) in fa {
        index.insert(key.clone(), tasks.len());
        tasks.push(TaskDiff {
            play: key.0,
            case: key.1,
            task: key.2,
            a: Some(f),
            b: None,
        });
    }
    for (key, f) in fb {
        match index.get(&key) {
            Some(&i) => tasks[i].b = Some(f),
            None => tasks.push(TaskDiff {
                play: key.0,
                case: key.1,
                task: key.2,
                a: None,
                b: Some(f),
            }),
        }
    }
    let (oa, ob) = (a.host_outcomes(), b.host_outcomes());
    let mut names: Vec<&String> = oa.keys().chain(ob.keys()).collect();
    names.sort();
    names.dedup();
    let hosts = names
        .into_iter()
        .filter_map(|h| {
            let (x, y) = (oa.get(h).copied(), ob.get(h).copied());
            (x != y).then(|| HostDiff {
                host: h.clone(),
                a: x,
                b: y,
            })
        })
        .collect();
    RunDiff { tasks, hosts }
}

fn seconds(s: Option<f64>) -> String {
    match s {
        Some(s) if s < 1.0 => format!("{:.1}ms", s * 1000.0),
        Some(s) => format!("{s:.3}s"),
        None => "-".into(),
    }
}

/// `a->b (+x%)`, or `-` when neither run has the figure.
fn timing(a: Option<f64>, b: Option<f64>) -> String {
    if a.is_none() && b.is_none() {
        return "-".into();
    }
    format!("{}->{}{}", seconds(a), seconds(b), change(a, b))
}

fn change(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a > 0.0 => format!(" ({:+.1}%)", (b - a) / a * 100.0),
        _ => String::new(),
    }
}

fn count(n: Option<usize>) -> String {
    n.map_or("-".into(), |n| n.to_string())
}

/// The difference as text: a line per task, then the hosts whose outcome changed.
pub fn text(diff: &RunDiff, a_name: &str, b_name: &str) -> String {
    let mut out = format!("COMPARED: A = {a_name}\n          B = {b_name}\n\n");
    let _ = writeln!(
        out,
        "{:<40} {:>12} {:>12} {:>28} {:>28}",
        "PLAY / TASK", "COUNT A->B", "FAILED A->B", "MEDIAN A->B", "P95 A->B"
    );
    for t in &diff.tasks {
        let name = match &t.case {
            Some(c) => format!("{} [{c}] / {}", t.play, t.task),
            None => format!("{} / {}", t.play, t.task),
        };
        let get = |f: Option<Figures>, pick: fn(Figures) -> Option<f64>| f.and_then(pick);
        let (ma, mb) = (get(t.a, |f| f.median), get(t.b, |f| f.median));
        let (pa, pb) = (get(t.a, |f| f.p95), get(t.b, |f| f.p95));
        let _ = writeln!(
            out,
            "{name:<40} {:>12} {:>12} {:>28} {:>28}",
            format!(
                "{}->{}",
                count(t.a.map(|f| f.count)),
                count(t.b.map(|f| f.count))
            ),
            format!(
                "{}->{}",
                count(t.a.map(|f| f.failures)),
                count(t.b.map(|f| f.failures))
            ),
            timing(ma, mb),
            timing(pa, pb),
        );
    }
    out.push_str("\nHOSTS WHOSE OUTCOME CHANGED\n");
    if diff.hosts.is_empty() {
        out.push_str("(none)\n");
    }
    let name = |o: Option<HostOutcome>| o.map_or("absent".to_string(), |o| o.to_string());
    for h in &diff.hosts {
        let _ = writeln!(out, "{:<26} : {} -> {}", h.host, name(h.a), name(h.b));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Event, HostResult, Status, TaskKind};
    use crate::report::stats::Summary;

    fn record(outcomes: &[(&str, Status)], extra_task: bool) -> RunRecord {
        let mut r = RunRecord::new();
        r.add(&Event::PlayStart {
            name: "p".into(),
            case: None,
        });
        r.add(&Event::TaskStart {
            id: 1,
            name: "check".into(),
            kind: TaskKind::Task,
            origin: String::new(),
        });
        for (host, status) in outcomes {
            r.add(&Event::Host(HostResult::new(
                *host,
                1,
                *status,
                Default::default(),
                "command",
                1.0,
                0.1,
            )));
        }
        if extra_task {
            r.add(&Event::TaskStart {
                id: 2,
                name: "new".into(),
                kind: TaskKind::Task,
                origin: String::new(),
            });
        }
        r
    }

    fn row(task_id: u32, median: f64) -> Row {
        Row {
            play: "p".into(),
            case: None,
            task_id: Some(task_id),
            task: "check".into(),
            kind: Some(TaskKind::Task),
            skipped: 0,
            hosts: 1,
            outlier_medians: vec![],
            summary: Summary {
                count: 20,
                failures: 1,
                min: 0.0,
                mean: median,
                median,
                stddev: 0.0,
                p90: median,
                p95: median * 2.0,
                p99: median * 2.0,
                max: median * 2.0,
                rate: 1.0,
            },
            outliers: vec![],
        }
    }

    #[test]
    fn tasks_match_by_name_and_hosts_that_changed_are_listed() {
        let a = record(&[("h1", Status::Ok), ("h2", Status::Ok)], false);
        let b = record(&[("h1", Status::Ok), ("h2", Status::Failed)], true);
        let d = compare(&a, None, &b, None);
        assert_eq!(d.tasks.len(), 2);
        assert_eq!(d.tasks[0].a.map(|f| f.failures), Some(0));
        assert_eq!(d.tasks[0].b.map(|f| f.failures), Some(1));
        assert_eq!(d.tasks[1].task, "new");
        assert_eq!(d.tasks[1].a, None);
        assert_eq!(
            d.hosts,
            vec![HostDiff {
                host: "h2".into(),
                a: Some(HostOutcome::Ok),
                b: Some(HostOutcome::Failed)
            }]
        );
        let t = text(&d, "a", "b");
        assert!(
            t.contains("h2                         : ok -> failed"),
            "{t}"
        );
    }

    #[test]
    fn statistics_rows_give_the_timings_and_the_change() {
        let a = record(&[("h1", Status::Ok)], false);
        let b = record(&[("h1", Status::Ok)], false);
        let (ra, rb) = (vec![row(1, 0.010)], vec![row(1, 0.015)]);
        let d = compare(&a, Some(&ra), &b, Some(&rb));
        assert_eq!(d.tasks[0].b.and_then(|f| f.median), Some(0.015));
        assert_eq!(d.tasks[0].a.map(|f| f.count), Some(20));
        let t = text(&d, "a", "b");
        assert!(t.contains("10.0ms->15.0ms (+50.0%)"), "{t}");
        assert!(t.contains("(none)"), "{t}");
    }
}
