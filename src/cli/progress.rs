//! The live display on a terminal (stderr), from engine events only: a [`Board`] of the run
//! so far (hosts done of the current task, ok/changed/failed/unreachable counts, the hosts
//! still running, slowest first) that [`Progress`] redraws a few times a second with
//! indicatif, below the console's lines.

use super::output::{Color, Paint, task_word};
use horde::engine::{Event, HostResult, Status, TaskKind};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many running hosts the display lists.
const SHOWN: usize = 5;

/// A task as the display knows it.
#[derive(Debug)]
struct TaskInfo {
    /// `TASK [name]`, `RUNNING HANDLER [name]` ...
    title: String,
    /// It is for every live host of the batch (handlers, setup, teardown and events run on
    /// some hosts only: their total is the hosts that started them).
    for_batch: bool,
    done: usize,
}

/// Results so far, counted as the recap counts them: a change is also ok, an ignored
/// failure is ok.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub ok: u32,
    pub changed: u32,
    pub failed: u32,
    pub unreachable: u32,
}

/// What the display shows, updated from events.
#[derive(Debug, Default)]
pub struct Board {
    /// The hosts of the current batch that have not failed.
    live: HashSet<String>,
    /// The task most recently started.
    current: Option<u32>,
    tasks: HashMap<u32, TaskInfo>,
    /// (task id, host) -> when the host started it.
    running: HashMap<(u32, String), Instant>,
    counts: Counts,
}

impl Board {
    /// Follows one engine event.
    pub fn event(&mut self, event: &Event, now: Instant) {
        match event {
            Event::PlayStart { .. } => {
                self.live.clear();
                self.tasks.clear();
                self.running.clear();
                self.current = None;
            }
            Event::Batch { hosts } => self.batch(hosts),
            Event::TaskStart { id, name, kind, .. } => {
                let title = format!("{} [{name}]", task_word(*kind));
                if *kind == TaskKind::Event && self.current.is_some() {
                    // Events run beside the workload: they do not take the top line from it.
                    self.know_task(*id, title, false);
                } else {
                    self.task(*id, title, *kind == TaskKind::Task);
                }
            }
            Event::HostStart { task_id, host } => self.host_start(*task_id, host, now),
            Event::Host(r) => self.host_done(r.task_id, &r.host, Self::status(r), is_down(r)),
            Event::Recap { .. } => self.running.clear(),
            _ => {}
        }
    }

    /// How a result counts: an ignored failure as ok, a rescued one not at all.
    fn status(r: &HostResult) -> Option<Status> {
        match r.status {
            Status::Failed if r.ignored => Some(Status::Ok),
            Status::Failed if r.rescued => None,
            s => Some(s),
        }
    }

    /// A new batch of hosts: the tasks start over for them.
    pub fn batch(&mut self, hosts: &[String]) {
        self.live = hosts.iter().cloned().collect();
        self.tasks.clear();
    }

    /// A task starts (again, in the free strategy: its count goes on).
    pub fn task(&mut self, id: u32, title: String, for_batch: bool) {
        self.current = Some(id);
        self.know_task(id, title, for_batch);
    }

    fn know_task(&mut self, id: u32, title: String, for_batch: bool) {
        self.tasks.entry(id).or_insert(TaskInfo {
            title,
            for_batch,
            done: 0,
        });
    }

    pub fn host_start(&mut self, task_id: u32, host: &str, now: Instant) {
        self.running.insert((task_id, host.to_string()), now);
    }

    /// A host ended a task; `down`: it runs no more tasks of the batch.
    pub fn host_done(&mut self, task_id: u32, host: &str, status: Option<Status>, down: bool) {
        self.running.remove(&(task_id, host.to_string()));
        if let Some(t) = self.tasks.get_mut(&task_id) {
            t.done += 1;
        }
        let c = &mut self.counts;
        match status {
            Some(Status::Ok) => c.ok += 1,
            Some(Status::Changed) => {
                c.ok += 1;
                c.changed += 1;
            }
            Some(Status::Failed) => c.failed += 1,
            Some(Status::Unreachable) => c.unreachable += 1,
            Some(Status::Skipped) | None => {}
        }
        if down {
            self.live.remove(host);
        }
    }

    /// The display: `[done/total] TASK [name]  ok=.. changed=.. failed=.. unreachable=..`,
    /// then the hosts still running, slowest first, each line cut to `width` columns.
    pub fn render(&self, now: Instant, width: usize, paint: Paint) -> String {
        let c = self.counts;
        let counts = [
            paint.count(&format!("ok={}", c.ok), c.ok, Color::Ok),
            paint.count(&format!("changed={}", c.changed), c.changed, Color::Changed),
            paint.count(&format!("failed={}", c.failed), c.failed, Color::Error),
            paint.count(
                &format!("unreachable={}", c.unreachable),
                c.unreachable,
                Color::Unreachable,
            ),
        ]
        .join(" ");
        let mut lines = Vec::new();
        match self
            .current
            .and_then(|id| self.tasks.get(&id).map(|t| (id, t)))
        {
            Some((id, t)) => {
                let running = self.running.keys().filter(|(tid, _)| *tid == id).count();
                let started = t.done + running;
                let total = if t.for_batch {
                    started.max(self.live.len())
                } else {
                    started
                };
                lines.push(format!("[{}/{total}] {counts}  {}", t.done, t.title));
            }
            None => lines.push(counts),
        }
        let mut running: Vec<(&(u32, String), &Instant)> = self.running.iter().collect();
        running.sort_by(|a, b| a.1.cmp(b.1).then_with(|| a.0.cmp(b.0)));
        let name_width = running
            .iter()
            .take(SHOWN)
            .map(|((_, h), _)| h.chars().count())
            .max()
            .unwrap_or(0);
        for ((task_id, host), started) in running.iter().take(SHOWN) {
            let secs = now.saturating_duration_since(**started).as_secs_f64();
            let mut line = format!("  {host:<name_width$} {secs:>7.1}s");
            if Some(*task_id) != self.current
                && let Some(t) = self.tasks.get(task_id)
            {
                line.push_str(&format!("  {}", t.title));
            }
            lines.push(line);
        }
        if running.len() > SHOWN {
            lines.push(format!("  ... and {} more running", running.len() - SHOWN));
        }
        lines
            .iter()
            .map(|l| console::truncate_str(l, width.max(20), "…").into_owned())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A failure that ends the host's part of the batch.
fn is_down(r: &HostResult) -> bool {
    match r.status {
        Status::Unreachable => true,
        Status::Failed => !r.ignored && !r.rescued,
        _ => false,
    }
}

fn lock(board: &Mutex<Board>) -> std::sync::MutexGuard<'_, Board> {
    board.lock().unwrap_or_else(|e| e.into_inner())
}

/// The [`Board`] drawn on stderr, redrawn five times a second (the elapsed times move on
/// their own). Lines printed meanwhile go through [`Progress::suspend`].
pub struct Progress {
    bar: ProgressBar,
    board: Arc<Mutex<Board>>,
}

impl Progress {
    pub fn start(paint: Paint) -> Progress {
        let board = Arc::new(Mutex::new(Board::default()));
        let shown = board.clone();
        // indicatif calls this at each redraw; the board's lock is never held while the bar
        // is called, so the two locks cannot cross.
        let draw = move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
            let width = console::Term::stderr().size().1 as usize;
            let _ = w.write_str(&lock(&shown).render(Instant::now(), width, paint));
        };
        let style = ProgressStyle::with_template("{board}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key("board", draw);
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar, board }
    }

    pub fn event(&self, event: &Event) {
        lock(&self.board).event(event, Instant::now());
    }

    /// Changes the board directly (for `horde run`, which has no engine events).
    pub fn update(&self, f: impl FnOnce(&mut Board, Instant)) {
        f(&mut lock(&self.board), Instant::now());
    }

    /// Runs `f` (which prints) with the display cleared, then draws it again.
    pub fn suspend(&self, f: impl FnOnce()) {
        self.bar.suspend(f);
    }

    /// Clears the display for good.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use horde::vars::Vars;

    fn result(host: &str, task_id: u32, status: Status) -> HostResult {
        HostResult::new(host, task_id, status, Vars::new(), "command", 0.0, 0.0)
    }

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("lab{i:02}")).collect()
    }

    fn task_start(id: u32, name: &str) -> Event {
        Event::TaskStart {
            id,
            name: name.into(),
            kind: TaskKind::Task,
            origin: "pb.yml:3:7".into(),
        }
    }

    #[test]
    fn the_hosts_still_running_are_listed_slowest_first() {
        let t0 = Instant::now();
        let mut b = Board::default();
        b.event(&Event::Batch { hosts: hosts(8) }, t0);
        b.event(&task_start(1, "probe"), t0);
        // lab01 starts first, lab08 last; lab02 and lab03 are done.
        for (i, h) in hosts(8).iter().enumerate() {
            let at = t0 + Duration::from_millis(100 * i as u64);
            b.event(
                &Event::HostStart {
                    task_id: 1,
                    host: h.clone(),
                },
                at,
            );
        }
        b.event(&Event::Host(result("lab02", 1, Status::Changed)), t0);
        b.event(&Event::Host(result("lab03", 1, Status::Ok)), t0);
        let text = b.render(t0 + Duration::from_secs(3), 80, Paint { on: false });
        assert_eq!(
            text,
            "[2/8] ok=2 changed=1 failed=0 unreachable=0  TASK [probe]\n\
             \x20 lab01     3.0s\n\
             \x20 lab04     2.7s\n\
             \x20 lab05     2.6s\n\
             \x20 lab06     2.5s\n\
             \x20 lab07     2.4s\n\
             \x20 ... and 1 more running"
        );
    }

    #[test]
    fn a_failed_host_leaves_the_total_and_an_ignored_failure_counts_as_ok() {
        let t0 = Instant::now();
        let mut b = Board::default();
        b.event(&Event::Batch { hosts: hosts(3) }, t0);
        b.event(&task_start(1, "one"), t0);
        b.event(&Event::Host(result("lab01", 1, Status::Failed)), t0);
        let mut ignored = result("lab02", 1, Status::Failed);
        ignored.ignored = true;
        b.event(&Event::Host(ignored), t0);
        b.event(&Event::Host(result("lab03", 1, Status::Unreachable)), t0);
        b.event(&task_start(2, "two"), t0);
        assert_eq!(
            b.counts,
            Counts {
                ok: 1,
                changed: 0,
                failed: 1,
                unreachable: 1
            }
        );
        assert!(
            b.render(t0, 80, Paint { on: false }).starts_with("[0/1] "),
            "{}",
            b.render(t0, 80, Paint { on: false })
        );
    }

    #[test]
    fn an_event_beside_the_workload_keeps_the_top_line_on_the_workload() {
        let t0 = Instant::now();
        let mut b = Board::default();
        b.event(&Event::Batch { hosts: hosts(2) }, t0);
        b.event(&task_start(1, "work"), t0);
        b.event(
            &Event::TaskStart {
                id: 2,
                name: "restart one".into(),
                kind: TaskKind::Event,
                origin: "pb.yml:9:7".into(),
            },
            t0,
        );
        b.event(
            &Event::HostStart {
                task_id: 2,
                host: "lab02".into(),
            },
            t0,
        );
        let text = b.render(t0, 80, Paint { on: false });
        assert!(text.starts_with("[0/2] "), "{text}");
        assert!(text.contains("  TASK [work]\n"), "{text}");
        assert!(text.ends_with("EVENT [restart one]"), "{text}");
    }

    #[test]
    fn a_host_running_another_task_says_which_and_long_lines_are_cut() {
        let t0 = Instant::now();
        let mut b = Board::default();
        b.event(&Event::Batch { hosts: hosts(2) }, t0);
        b.event(&task_start(1, "first"), t0);
        b.event(
            &Event::HostStart {
                task_id: 1,
                host: "lab01".into(),
            },
            t0,
        );
        b.event(&task_start(2, "second"), t0);
        let text = b.render(t0, 80, Paint { on: false });
        assert!(text.ends_with("lab01     0.0s  TASK [first]"), "{text}");
        let cut = b.render(t0, 24, Paint { on: false });
        assert!(
            cut.lines().all(|l| console::measure_text_width(l) <= 24),
            "{cut}"
        );
    }
}
