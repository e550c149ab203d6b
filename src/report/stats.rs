//! Statistics over the engine's samples: per task and per play (and per matrix case),
//! across hosts and iterations. Exact, from the kept samples: no histogram buckets.
//!
//! Definitions (written in docs/orchestration.md):
//! - percentiles by the nearest-rank method: pN is the smallest sample with at least N% of
//!   the samples at or below it (so p99 is a sample and never above max);
//! - median: the middle sample, or the mean of the two middle ones;
//! - stddev: the sample standard deviation (n - 1), 0 for one sample;
//! - rate: samples per second of wall time from the first start to the last end;
//! - an outlier host: its median is beyond 3 median absolute deviations of the hosts'
//!   medians (at least 3 hosts).

use crate::engine::{Event, Sample};
use serde::Serialize;

/// count, failures, min, mean, median, stddev, p90, p95, p99, max (seconds), rate (runs/s).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
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
    pub task: String,
    pub summary: Summary,
    /// Hosts whose median duration is an outlier, slowest first.
    pub outliers: Vec<String>,
}

/// Collects samples from the event stream.
#[derive(Debug, Default)]
pub struct Collector {
    // filled in by the implementation
}

impl Collector {
    pub fn new() -> Collector {
        todo!("stats collector")
    }
    /// Feed every event of the run, in order.
    pub fn add(&mut self, _event: &Event) {
        todo!("stats collector")
    }
    /// Whether any task ran with `iterations` (the console prints the table then).
    pub fn has_iterations(&self) -> bool {
        todo!("stats collector")
    }
    /// The samples kept, in arrival order.
    pub fn samples(&self) -> &[Sample] {
        todo!("stats collector")
    }
    /// One row per task that has samples, then one per play, in the order met.
    pub fn rows(&self) -> Vec<Row> {
        todo!("stats collector")
    }
}

/// The statistics of durations (seconds) with their failure flags, over a wall span.
pub fn summarize(_samples: &[(f64, bool)], _span: f64) -> Summary {
    todo!("summarize")
}

/// The table printed after the recap.
pub fn table(_rows: &[Row]) -> String {
    todo!("table")
}
