//! Statistics over the engine's samples: per task and per play (and per matrix case),
//! across hosts and iterations. Exact, from the kept samples: no histogram buckets.
//!
//! Definitions (written in docs/orchestration.md):
//! - percentiles by the nearest-rank method: pN is the smallest sample with at least N% of
//!   the samples at or below it (so p99 is a sample and never above max);
//! - median: the middle sample, or the mean of the two middle ones;
//! - stddev: the sample standard deviation (n - 1), 0 for one sample;
//! - rate: samples per second of wall time from the first start to the last end;
//! - an outlier host (a slow one): its median is above the hosts' median of medians by
//!   more than 3 median absolute deviations (scaled by 1.4826 to match a standard
//!   deviation) and by more than 10% + 1 ms, so identical hosts (a MAD of 0) or jitter
//!   never flag a host, while a clearly slower one is (at least 3 hosts).
//!
//! A skipped run (status `skipped`) did not run the task: it is kept in
//! [`Collector::samples`] and counted in [`Row::skipped`], but not in the figures.

use crate::engine::{Event, Sample, Status, TaskKind};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

/// count, failures, min, mean, median, stddev, p90, p95, p99, max (seconds), rate (runs/s).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Summary {
    pub count: usize,
    pub failures: usize,
    pub min: f64,
    pub mean: f64,
    pub median: f64,
    pub stddev: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
    /// Runs per second.
    pub rate: f64,
}

/// The statistics of one task (or one play) in one matrix case.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub play: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    /// `None` for the play's own row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<u32>,
    /// The task's name, prefixed with its kind unless a plain task (`handler: NAME`,
    /// `setup: NAME`, `teardown: NAME`, `event: NAME`); `(play)` for the play's row.
    pub task: String,
    /// `None` for the play's own row (which covers its tasks of kind `task`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<TaskKind>,
    pub summary: Summary,
    /// Skipped runs, not in the summary.
    pub skipped: usize,
    /// How many hosts ran it.
    pub hosts: usize,
    /// Hosts whose median duration is an outlier, slowest first.
    pub outliers: Vec<String>,
    /// The median duration (seconds) of each host of `outliers`, in the same order.
    pub outlier_medians: Vec<f64>,
}

/// A play (or one matrix case of a play) as announced.
#[derive(Debug, Clone)]
struct PlayInfo {
    name: String,
    case: Option<String>,
}

/// A task as first announced in a play.
#[derive(Debug, Clone)]
struct TaskInfo {
    name: String,
    kind: TaskKind,
}

/// A task of a play: (index of the play, task id). The same id may come back in another
/// play (a file included by both), so the play is part of the key.
type TaskKey = (usize, u32);

/// Collects samples from the event stream.
#[derive(Debug, Default)]
pub struct Collector {
    samples: Vec<Sample>,
    /// The play of each sample (an index into `plays`), parallel to `samples`.
    sample_plays: Vec<usize>,
    plays: Vec<PlayInfo>,
    tasks: HashMap<TaskKey, TaskInfo>,
    /// The tasks in the order first met (announced, or sampled when never announced).
    order: Vec<TaskKey>,
    iterations: bool,
}

impl Collector {
    pub fn new() -> Collector {
        Collector::default()
    }

    /// Feed every event of the run, in order.
    pub fn add(&mut self, event: &Event) {
        match event {
            Event::PlayStart { name, case } => self.plays.push(PlayInfo {
                name: name.clone(),
                case: case.clone(),
            }),
            Event::TaskStart { id, name, kind, .. } => {
                let play = self.current_play();
                self.meet((play, *id), || TaskInfo {
                    name: name.clone(),
                    kind: *kind,
                });
            }
            Event::Sample(sample) => self.sample(sample),
            _ => {}
        }
    }

    /// Whether any task ran with `iterations` (the console prints the table then).
    pub fn has_iterations(&self) -> bool {
        self.iterations
    }

    /// The samples kept, in arrival order.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// One row per task that has samples, then one per play, in the order met. A play's
    /// row covers its tasks of kind `task` (not handlers, setup, teardown or events) and
    /// is left out when it has none.
    pub fn rows(&self) -> Vec<Row> {
        let by_task = self.by_task();
        let mut rows = Vec::new();
        for (index, play) in self.plays.iter().enumerate() {
            let mut tasks_of_play: Vec<&Sample> = Vec::new();
            for key in self.order.iter().filter(|k| k.0 == index) {
                let (Some(info), Some(samples)) = (self.tasks.get(key), by_task.get(key)) else {
                    continue;
                };
                if info.kind == TaskKind::Task {
                    tasks_of_play.extend(samples);
                }
                let title = task_title(info);
                rows.extend(row(play, Some(key.1), title, Some(info.kind), samples));
            }
            rows.extend(row(play, None, "(play)".into(), None, &tasks_of_play));
        }
        rows
    }

    /// [`Collector::rows`] as JSON: an array of [`Row`] objects.
    pub fn json(&self) -> Value {
        rows_json(&self.rows())
    }

    /// The play events belong to now (an unnamed one before any `PlayStart`).
    fn current_play(&mut self) -> usize {
        if self.plays.is_empty() {
            self.plays.push(PlayInfo {
                name: String::new(),
                case: None,
            });
        }
        self.plays.len() - 1
    }

    /// Records a task the first time it is met in a play.
    fn meet(&mut self, key: TaskKey, info: impl FnOnce() -> TaskInfo) {
        if let Entry::Vacant(vacant) = self.tasks.entry(key) {
            vacant.insert(info());
            self.order.push(key);
        }
    }

    fn sample(&mut self, sample: &Sample) {
        let play = self.current_play();
        self.meet((play, sample.task_id), || TaskInfo {
            name: format!("task {}", sample.task_id),
            kind: TaskKind::Task,
        });
        self.iterations |= sample.iteration.is_some();
        self.samples.push(sample.clone());
        self.sample_plays.push(play);
    }

    /// The samples of each task, in arrival order.
    fn by_task(&self) -> HashMap<TaskKey, Vec<&Sample>> {
        let mut by_task: HashMap<TaskKey, Vec<&Sample>> = HashMap::new();
        for (sample, play) in self.samples.iter().zip(&self.sample_plays) {
            by_task
                .entry((*play, sample.task_id))
                .or_default()
                .push(sample);
        }
        by_task
    }
}

/// Rows as JSON: an array of [`Row`] objects.
pub fn rows_json(rows: &[Row]) -> Value {
    serde_json::to_value(rows).unwrap_or(Value::Array(Vec::new()))
}

/// A task's name as shown in a row: prefixed with its kind unless a plain task.
fn task_title(info: &TaskInfo) -> String {
    let prefix = match info.kind {
        TaskKind::Task => return info.name.clone(),
        TaskKind::Handler => "handler",
        TaskKind::Setup => "setup",
        TaskKind::Teardown => "teardown",
        TaskKind::Event => "event",
    };
    format!("{prefix}: {}", info.name)
}

/// The row of these samples, or `None` when none of them ran (all skipped, or none).
fn row(
    play: &PlayInfo,
    task_id: Option<u32>,
    task: String,
    kind: Option<TaskKind>,
    samples: &[&Sample],
) -> Option<Row> {
    let ran: Vec<&Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.status != Status::Skipped)
        .collect();
    if ran.is_empty() {
        return None;
    }
    let runs: Vec<(f64, bool)> = ran
        .iter()
        .map(|s| (s.duration, s.status.is_failure()))
        .collect();
    let medians = host_medians(&ran);
    let (outliers, outlier_medians) = outliers(&medians).into_iter().unzip();
    Some(Row {
        play: play.name.clone(),
        case: play.case.clone(),
        task_id,
        task,
        kind,
        summary: summarize(&runs, wall_span(&ran)),
        skipped: samples.len() - ran.len(),
        hosts: medians.len(),
        outliers,
        outlier_medians,
    })
}

/// Seconds from the first start to the last end (0 without samples).
fn wall_span(samples: &[&Sample]) -> f64 {
    let first = samples.iter().map(|s| s.start).min_by(f64::total_cmp);
    let last = samples
        .iter()
        .map(|s| s.start + s.duration)
        .max_by(f64::total_cmp);
    match (first, last) {
        (Some(first), Some(last)) => (last - first).max(0.0),
        _ => 0.0,
    }
}

/// Each host's median duration, hosts in the order first met.
fn host_medians(samples: &[&Sample]) -> Vec<(String, f64)> {
    let mut order: Vec<&str> = Vec::new();
    let mut durations: HashMap<&str, Vec<f64>> = HashMap::new();
    for s in samples {
        let entry = durations.entry(s.host.as_str()).or_default();
        if entry.is_empty() {
            order.push(&s.host);
        }
        entry.push(s.duration);
    }
    order
        .into_iter()
        .map(|host| {
            let mut d = durations.remove(host).unwrap_or_default();
            d.sort_by(f64::total_cmp);
            (host.to_string(), median(&d))
        })
        .collect()
}

/// The slow hosts: their median (seconds) is above the median of the medians by more than
/// 3 median absolute deviations (scaled by 1.4826, so 3 "standard deviations" of normal
/// data) and by more than 10% + 1 ms; slowest first; none with fewer than 3 hosts.
pub fn outliers(medians: &[(String, f64)]) -> Vec<(String, f64)> {
    if medians.len() < 3 {
        return Vec::new();
    }
    let center = median(&sorted(medians.iter().map(|m| m.1)));
    let mad = median(&sorted(medians.iter().map(|m| (m.1 - center).abs())));
    // The MAD scaled to a standard deviation of normal data (1.4826), and a floor so that
    // hosts within 10% (+1 ms) of the others are never named, whatever the spread.
    let limit = (3.0 * 1.4826 * mad).max(0.1 * center.abs() + 0.001);
    let mut found: Vec<(String, f64)> = medians
        .iter()
        .filter(|m| m.1 - center > limit)
        .cloned()
        .collect();
    found.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    found
}

/// The values in ascending order.
fn sorted(values: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of sorted values: the middle one, or the mean of the two middle ones
/// (0 for none).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let mid = n / 2;
    match sorted.get(mid) {
        None => 0.0,
        Some(middle) if n % 2 == 1 => *middle,
        // n is even and at least 2 here, so mid - 1 is a sample.
        Some(upper) => (sorted[mid - 1] + upper) / 2.0,
    }
}

/// The nearest-rank percentile of sorted values: the smallest value with at least `p`%
/// of the values at or below it (0 for none).
pub fn percentile(sorted: &[f64], p: u32) -> f64 {
    let rank = (p as usize * sorted.len()).div_ceil(100).max(1);
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// The sample standard deviation (n - 1) around `mean`; 0 for fewer than 2 values.
fn stddev(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let squares: f64 = values.iter().map(|v| (v - mean).powi(2)).sum();
    (squares / (values.len() - 1) as f64).sqrt()
}

/// The statistics of durations (seconds) with their failure flags, over a wall span.
/// The rate is 0 when the span is not positive; every figure is 0 without samples.
pub fn summarize(samples: &[(f64, bool)], span: f64) -> Summary {
    if samples.is_empty() {
        return Summary::default();
    }
    let d = sorted(samples.iter().map(|s| s.0));
    let count = d.len();
    let mean = d.iter().sum::<f64>() / count as f64;
    Summary {
        count,
        failures: samples.iter().filter(|s| s.1).count(),
        min: d.first().copied().unwrap_or(0.0),
        mean,
        median: median(&d),
        stddev: stddev(&d, mean),
        p90: percentile(&d, 90),
        p95: percentile(&d, 95),
        p99: percentile(&d, 99),
        max: d.last().copied().unwrap_or(0.0),
        rate: if span > 0.0 { count as f64 / span } else { 0.0 },
    }
}

/// The widest task name shown; longer ones are cut with `…`.
const MAX_TASK_WIDTH: usize = 40;

/// At most this many outliers are named under a row.
const MAX_OUTLIERS_SHOWN: usize = 10;

/// The table printed after the recap: a `STATISTICS ****` banner (no blank line before
/// it), a header, one line per row (an `  outliers: ...` line under a row that has some)
/// and, when there are several plays or cases, a `PLAY [name] case ID` line before each
/// one's rows. Empty without rows.
pub fn table(rows: &[Row]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let width = rows
        .iter()
        .map(|r| r.task.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_TASK_WIDTH);
    let groups = groups(rows);
    let mut lines = vec![banner("STATISTICS"), header(width)];
    for group in &groups {
        if groups.len() > 1 {
            lines.push(group_title(group));
        }
        for row in *group {
            lines.push(row_line(row, width));
            lines.extend(outlier_line(row));
        }
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// An Ansible-style banner: the text, then stars to column 80.
fn banner(text: &str) -> String {
    let stars = 79usize.saturating_sub(text.chars().count()).max(3);
    format!("{text} {}", "*".repeat(stars))
}

/// The rows split by play and case: a group ends with its play's row, or where the
/// play or case changes.
fn groups(rows: &[Row]) -> Vec<&[Row]> {
    let mut groups = Vec::new();
    let mut start = 0;
    for (i, pair) in rows.windows(2).enumerate() {
        let (a, b) = (&pair[0], &pair[1]);
        if a.task_id.is_none() || a.play != b.play || a.case != b.case {
            groups.push(&rows[start..=i]);
            start = i + 1;
        }
    }
    groups.push(&rows[start..]);
    groups
}

/// `PLAY [name]`, with ` case ID` for a matrix case.
fn group_title(group: &[Row]) -> String {
    match group.first() {
        Some(Row {
            play,
            case: Some(case),
            ..
        }) => format!("PLAY [{play}] case {case}"),
        Some(row) => format!("PLAY [{}]", row.play),
        None => String::new(),
    }
}

/// The column titles.
fn header(width: usize) -> String {
    columns(
        width,
        "task",
        [
            "n", "fail", "min", "mean", "median", "stddev", "p90", "p95", "p99", "max", "runs/s",
        ]
        .map(String::from),
    )
}

/// One row's line.
fn row_line(row: &Row, width: usize) -> String {
    let s = &row.summary;
    columns(
        width,
        &truncate(&row.task, width),
        [
            s.count.to_string(),
            s.failures.to_string(),
            format_duration(s.min),
            format_duration(s.mean),
            format_duration(s.median),
            format_duration(s.stddev),
            format_duration(s.p90),
            format_duration(s.p95),
            format_duration(s.p99),
            format_duration(s.max),
            format_rate(s.rate),
        ],
    )
}

/// The task column left-aligned, then n and fail, nine durations and the rate
/// right-aligned.
fn columns(width: usize, task: &str, cells: [String; 11]) -> String {
    let [n, fail, figures @ .., rate] = cells;
    let mut line = format!("{task:<width$} {n:>7} {fail:>5}");
    for figure in figures {
        line.push_str(&format!(" {figure:>7}"));
    }
    line.push_str(&format!(" {rate:>8}"));
    line
}

/// `  outliers: host (median 85.1ms), ...`, for a row that has some.
fn outlier_line(row: &Row) -> Option<String> {
    if row.outliers.is_empty() {
        return None;
    }
    let mut named: Vec<String> = row
        .outliers
        .iter()
        .zip(&row.outlier_medians)
        .take(MAX_OUTLIERS_SHOWN)
        .map(|(host, m)| format!("{host} (median {})", format_duration(*m)))
        .collect();
    let more = row.outliers.len().saturating_sub(MAX_OUTLIERS_SHOWN);
    if more > 0 {
        named.push(format!("and {more} more"));
    }
    Some(format!("  outliers: {}", named.join(", ")))
}

/// The text cut to `width` characters, its end replaced by `…` when cut.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Seconds with 3 significant digits in the largest unit below 1000 of it: `812µs`,
/// `12.3ms`, `1.42s` (`ns`, `µs`, `ms`, then `s` however large); `0s` for 0.
pub fn format_duration(secs: f64) -> String {
    if !secs.is_finite() {
        return "-".into();
    }
    if secs == 0.0 {
        return "0s".into();
    }
    for (scale, unit) in [(1e-9, "ns"), (1e-6, "µs"), (1e-3, "ms")] {
        let value = secs / scale;
        if value.abs() < 999.5 {
            return three_digits(value, unit);
        }
    }
    three_digits(secs, "s")
}

/// Runs per second with 3 significant digits (`0.52`, `12.3`, `1840`); `-` when there is
/// no rate (a span of 0).
pub fn format_rate(rate: f64) -> String {
    if rate.is_finite() && rate > 0.0 {
        three_digits(rate, "")
    } else {
        "-".into()
    }
}

/// The value with 3 significant digits (more for 1000 and above), then the unit.
fn three_digits(value: f64, unit: &str) -> String {
    let magnitude = value.abs();
    if magnitude < 9.995 {
        format!("{value:.2}{unit}")
    } else if magnitude < 99.95 {
        format!("{value:.1}{unit}")
    } else {
        format!("{value:.0}{unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Asserts two floats are equal to within rounding (relative, for rates over spans
    /// of differences of epoch times).
    fn close(a: f64, b: f64) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1e-3), "{a} != {b}");
    }

    /// Runs with no failure.
    fn ok(durations: &[f64]) -> Vec<(f64, bool)> {
        durations.iter().map(|d| (*d, false)).collect()
    }

    /// Compares the figures with ones from Python's `statistics` (stdev, median, mean)
    /// and nearest rank by hand: `sorted(x)[-(-p * n // 100) - 1]`.
    #[allow(clippy::too_many_arguments)]
    fn expect(
        s: &Summary,
        count: usize,
        min: f64,
        mean: f64,
        median: f64,
        stddev: f64,
        p90: f64,
        p95: f64,
        p99: f64,
        max: f64,
    ) {
        assert_eq!(s.count, count);
        close(s.min, min);
        close(s.mean, mean);
        close(s.median, median);
        close(s.stddev, stddev);
        close(s.p90, p90);
        close(s.p95, p95);
        close(s.p99, p99);
        close(s.max, max);
    }

    #[test]
    fn odd_count() {
        let s = summarize(&ok(&[0.3, 0.1, 0.5, 0.2, 0.4]), 2.0);
        expect(
            &s,
            5,
            0.1,
            0.3,
            0.3,
            0.15811388300841897,
            0.5,
            0.5,
            0.5,
            0.5,
        );
        close(s.rate, 2.5);
        assert_eq!(s.failures, 0);
    }

    #[test]
    fn even_count() {
        let d = [
            0.012, 0.015, 0.011, 0.019, 0.013, 0.014, 0.050, 0.016, 0.017, 0.018,
        ];
        let s = summarize(&ok(&d), 0.5);
        expect(
            &s,
            10,
            0.011,
            0.0185,
            0.0155,
            0.011365151414154881,
            0.019,
            0.05,
            0.05,
            0.05,
        );
        close(s.rate, 20.0);
    }

    #[test]
    fn twenty_samples_split_the_percentiles() {
        let d = [
            5, 3, 8, 1, 9, 2, 7, 4, 6, 10, 15, 12, 11, 14, 13, 20, 17, 16, 19, 18,
        ]
        .map(|ms| ms as f64 / 1000.0);
        let s = summarize(&ok(&d), 1.0);
        expect(
            &s,
            20,
            0.001,
            0.0105,
            0.010499999999999999,
            0.005916079783099616,
            0.018,
            0.019,
            0.02,
            0.02,
        );
    }

    #[test]
    fn ranks_round_up() {
        // 150 samples: p90 is the 135th, p95 the 143rd (142.5 up), p99 the 149th (148.5 up).
        let d: Vec<f64> = (1..=150).map(|i| (i * 37 % 101) as f64 / 1000.0).collect();
        let s = summarize(&ok(&d), 3.0);
        expect(
            &s,
            150,
            0.0,
            0.05034,
            0.05,
            0.029217037871992136,
            0.09,
            0.096,
            0.1,
            0.1,
        );
        close(s.rate, 50.0);
    }

    #[test]
    fn single_sample() {
        let s = summarize(&[(0.25, true)], 0.25);
        expect(&s, 1, 0.25, 0.25, 0.25, 0.0, 0.25, 0.25, 0.25, 0.25);
        assert_eq!(s.failures, 1);
        close(s.rate, 4.0);
    }

    #[test]
    fn nothing_and_no_span() {
        assert_eq!(summarize(&[], 1.0), Summary::default());
        assert_eq!(summarize(&ok(&[0.0]), 0.0).rate, 0.0);
    }

    #[test]
    fn failures_are_counted_and_timed() {
        let s = summarize(&[(0.1, false), (0.3, true), (0.2, true)], 1.0);
        assert_eq!((s.count, s.failures), (3, 2));
        close(s.max, 0.3);
    }

    proptest! {
        #[test]
        fn percentiles_are_ordered_samples(d in prop::collection::vec(0.0f64..100.0, 1..300)) {
            let s = summarize(&ok(&d), 1.0);
            prop_assert!(s.min <= s.p90 && s.p90 <= s.p95 && s.p95 <= s.p99 && s.p99 <= s.max);
            prop_assert!(s.min <= s.median && s.median <= s.max);
            prop_assert!(s.min <= s.mean + 1e-9 && s.mean <= s.max + 1e-9);
            prop_assert!(d.contains(&s.p99) && d.contains(&s.p90));
            prop_assert!(s.stddev >= 0.0);
        }
    }

    fn hosts(medians: &[f64]) -> Vec<(String, f64)> {
        medians
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("h{}", i + 1), *m))
            .collect()
    }

    #[test]
    fn ten_times_slower_host_is_an_outlier() {
        let found = outliers(&hosts(&[0.010, 0.010, 0.100, 0.010, 0.010]));
        assert_eq!(found, vec![("h3".to_string(), 0.100)]);
    }

    #[test]
    fn spread_hosts_flag_only_the_slow_one() {
        let found = outliers(&hosts(&[0.010, 0.011, 0.012, 0.013, 0.120]));
        assert_eq!(found, vec![("h5".to_string(), 0.120)]);
    }

    #[test]
    fn identical_or_few_hosts_have_no_outlier() {
        assert!(outliers(&hosts(&[0.010; 5])).is_empty());
        assert!(outliers(&hosts(&[0.0; 5])).is_empty());
        assert!(outliers(&hosts(&[0.010, 0.0101, 0.0099, 0.0102, 0.010])).is_empty());
        assert!(outliers(&hosts(&[0.010, 1.0])).is_empty());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(format_duration(0.000812), "812µs");
        assert_eq!(format_duration(0.0123), "12.3ms");
        assert_eq!(format_duration(1.42), "1.42s");
        assert_eq!(format_duration(0.0009996), "1.00ms");
        assert_eq!(format_duration(0.000_000_5), "500ns");
        assert_eq!(format_duration(1234.0), "1234s");
        assert_eq!(format_duration(0.0), "0s");
        assert_eq!(format_rate(1840.2), "1840");
        assert_eq!(format_rate(0.0), "-");
    }

    #[test]
    fn long_names_are_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abcd", 4), "abcd");
    }

    fn play(name: &str, case: Option<&str>) -> Event {
        Event::PlayStart {
            name: name.into(),
            case: case.map(String::from),
        }
    }

    fn task(id: u32, name: &str, kind: TaskKind) -> Event {
        Event::TaskStart {
            id,
            name: name.into(),
            kind,
            origin: format!("site.yml:{id}:3"),
        }
    }

    fn sample(id: u32, host: &str, iteration: Option<u32>, start: f64, duration: f64) -> Event {
        Event::Sample(Sample {
            task_id: id,
            host: host.into(),
            iteration,
            start,
            duration,
            rc: Some(0),
            status: Status::Ok,
            result: None,
        })
    }

    fn with_status(event: Event, status: Status) -> Event {
        match event {
            Event::Sample(s) => Event::Sample(Sample { status, ..s }),
            other => other,
        }
    }

    /// Play `bench` (case `os=debian`): setup, a task `ping` with 3 iterations on 5 hosts
    /// (host e 10 times slower), a handler; play `check`: `ping` again under the same id
    /// (an included file), one failure, one skip.
    fn run() -> Vec<Event> {
        let mut events = vec![
            Event::RunStart { seed: 7 },
            play("bench", Some("os=debian")),
            task(1, "prepare", TaskKind::Setup),
            sample(1, "a", None, 100.0, 0.5),
        ];
        for host in ["a", "b", "c", "d", "e"] {
            events.push(task(2, "ping", TaskKind::Task));
            let slow = if host == "e" { 10.0 } else { 1.0 };
            for i in 1..=3 {
                let start = 101.0 + f64::from(i - 1) * 0.1;
                events.push(sample(2, host, Some(i), start, 0.010 * slow));
            }
        }
        events.extend([
            task(3, "restart", TaskKind::Handler),
            sample(3, "a", None, 102.0, 0.2),
            play("check", None),
            task(2, "ping", TaskKind::Task),
            sample(2, "a", None, 200.0, 0.020),
            with_status(sample(2, "b", None, 200.0, 0.040), Status::Failed),
            with_status(sample(2, "c", None, 200.0, 0.001), Status::Skipped),
        ]);
        events
    }

    fn collected() -> Collector {
        let mut c = Collector::new();
        for e in run() {
            c.add(&e);
        }
        c
    }

    #[test]
    fn collector_rows_per_task_then_play() {
        let c = collected();
        assert!(c.has_iterations());
        assert_eq!(c.samples().len(), 20);
        let rows = c.rows();
        let titles: Vec<(&str, Option<u32>, &str)> = rows
            .iter()
            .map(|r| (r.play.as_str(), r.task_id, r.task.as_str()))
            .collect();
        assert_eq!(
            titles,
            vec![
                ("bench", Some(1), "setup: prepare"),
                ("bench", Some(2), "ping"),
                ("bench", Some(3), "handler: restart"),
                ("bench", None, "(play)"),
                ("check", Some(2), "ping"),
                ("check", None, "(play)"),
            ]
        );
        assert_eq!(rows[0].case.as_deref(), Some("os=debian"));
        assert_eq!(rows[4].case, None);

        let ping = &rows[1];
        assert_eq!((ping.summary.count, ping.hosts), (15, 5));
        close(ping.summary.median, 0.010);
        close(ping.summary.max, 0.100);
        // 101.0 to 101.2 + 0.1 (host e's last iteration).
        close(ping.summary.rate, 15.0 / 0.3);
        assert_eq!(ping.outliers, vec!["e".to_string()]);
        assert_eq!(ping.outlier_medians, vec![0.100]);

        // The play's row: its tasks only (no setup, no handler).
        assert_eq!(rows[3].summary, ping.summary);
        assert_eq!(rows[3].kind, None);

        let check = &rows[4];
        assert_eq!((check.summary.count, check.summary.failures), (2, 1));
        assert_eq!((check.skipped, check.hosts), (1, 2));
        close(check.summary.mean, 0.030);
        close(check.summary.rate, 2.0 / 0.040);
    }

    #[test]
    fn unannounced_tasks_and_no_play() {
        let mut c = Collector::new();
        c.add(&sample(9, "a", None, 1.0, 0.5));
        assert!(!c.has_iterations());
        let rows = c.rows();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].task, "task 9");
        assert_eq!(rows[0].play, "");
    }

    #[test]
    fn json_rows() {
        let json = collected().json();
        let ping = &json[1];
        assert_eq!(ping["play"], "bench");
        assert_eq!(ping["case"], "os=debian");
        assert_eq!(ping["task_id"], 2);
        assert_eq!(ping["task"], "ping");
        assert_eq!(ping["kind"], "task");
        assert_eq!(ping["summary"]["count"], 15);
        assert_eq!(ping["outliers"][0], "e");
        assert_eq!(json[3].get("task_id"), None);
        assert_eq!(json[3].get("kind"), None);
        assert_eq!(json[4].get("case"), None);
    }

    #[test]
    fn table_shows_the_figures() {
        let text = table(&collected().rows());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("STATISTICS ****"));
        assert_eq!(lines[0].chars().count(), 80);
        assert!(lines[1].starts_with("task "));
        assert!(lines[1].ends_with("runs/s"));
        assert_eq!(lines[2], "PLAY [bench] case os=debian");
        let ping: Vec<&str> = lines[4].split_whitespace().collect();
        assert_eq!(
            ping,
            [
                "ping", "15", "0", "10.0ms", "28.0ms", "10.0ms", "37.3ms", "100ms", "100ms",
                "100ms", "100ms", "50.0"
            ]
        );
        assert_eq!(lines[5], "  outliers: e (median 100ms)");
        assert!(lines[7].starts_with("(play) "));
        assert_eq!(lines[8], "  outliers: e (median 100ms)");
        assert_eq!(lines[9], "PLAY [check]");
        let check: Vec<&str> = lines[10].split_whitespace().collect();
        assert_eq!(
            check,
            [
                "ping", "2", "1", "20.0ms", "30.0ms", "30.0ms", "14.1ms", "40.0ms", "40.0ms",
                "40.0ms", "40.0ms", "50.0"
            ]
        );
        assert_eq!(lines.len(), 12);
    }

    #[test]
    fn one_play_has_no_play_line() {
        let rows: Vec<Row> = collected()
            .rows()
            .into_iter()
            .filter(|r| r.play == "check")
            .collect();
        let text = table(&rows);
        assert!(!text.contains("PLAY ["));
        assert_eq!(text.lines().count(), 4);
        assert_eq!(table(&[]), "");
    }
}
