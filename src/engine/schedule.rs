//! `events:`: a schedule of entries beside the play's tasks, like a cron inside the run.
//! An entry runs at start + k * every (k from 0 with `at_startup`, else from 1) while that
//! time is before the end (`duration`, `--duration`, or by default when the play's tasks
//! are done): times come from the start, so runs do not drift, and no run starts at or after
//! the end. An entry still running when its next time comes is not started twice
//! ([`Event::EventOverlap`]). `at_teardown` entries run once more before teardown.

use super::PlayCtx;
use super::RunCtx;
use super::cursor::Cursor;
use super::event::{Event, TaskKind};
use super::host::HostState;
use crate::playbook::{Common, EventEntry, Events, Play, duration_of};
use crate::vars::{Vars, combine};
use futures_util::future::join_all;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

impl RunCtx {
    /// Runs the schedule until its end; returns when every started run finished.
    pub(super) async fn run_schedule(
        &self,
        play: &Play,
        pctx: &PlayCtx,
        ev: &Events,
        scope: &Arc<Common>,
        snapshot: &[(String, Vars, Vars)],
        main_done: &CancellationToken,
    ) {
        let duration = match self.duration(play, ev, scope) {
            Ok(d) => d,
            Err(e) => {
                self.warn(format!("{}: events: {e}", ev.origin));
                return;
            }
        };
        let start = Instant::now();
        // Past what an Instant holds: no end (the run's own stop still ends it).
        let end = duration.and_then(|d| start.checked_add(d));
        let loops = ev
            .schedule
            .iter()
            .filter(|e| e.every.is_some() || e.at_startup)
            .map(|e| self.entry_loop(pctx, e, scope, snapshot, start, end, main_done));
        join_all(loops).await;
    }

    /// `--duration`, else `events: duration` (may be templated); `None`: as long as the
    /// play's tasks run.
    fn duration(
        &self,
        play: &Play,
        ev: &Events,
        scope: &Common,
    ) -> Result<Option<Duration>, String> {
        if let Some(d) = self.spec.duration {
            return Ok(Some(d));
        }
        let Some(v) = &ev.duration else {
            return Ok(None);
        };
        let mut vars = play.common.vars.clone();
        combine(&mut vars, &scope.vars);
        combine(&mut vars, &self.spec.extra_vars);
        let v = self
            .templar
            .render(v, &vars)
            .map_err(|e| format!("duration: {e}"))?;
        duration_of(&v).map(Some)
    }

    #[allow(clippy::too_many_arguments)]
    async fn entry_loop(
        &self,
        pctx: &PlayCtx,
        entry: &EventEntry,
        scope: &Arc<Common>,
        snapshot: &[(String, Vars, Vars)],
        start: Instant,
        end: Option<Instant>,
        main_done: &CancellationToken,
    ) {
        let mut k: u32 = if entry.at_startup { 0 } else { 1 };
        let mut running = FuturesUnordered::new();
        'schedule: loop {
            let due = match entry.every {
                Some(every) => match due_at(start, every, k) {
                    Some(due) => due,
                    // Never, in this process's lifetime.
                    None => break,
                },
                None if k == 0 => start,
                None => break,
            };
            if end.is_some_and(|end| due >= end) {
                break;
            }
            loop {
                tokio::select! {
                    biased;
                    _ = pctx.cancel.cancelled() => return,
                    _ = tokio::time::sleep_until(due) => break,
                    Some(()) = running.next(), if !running.is_empty() => {}
                    _ = main_done.cancelled(), if end.is_none() => break 'schedule,
                }
            }
            if running.is_empty() {
                running.push(self.event_run(pctx, entry, scope, snapshot));
            } else {
                let _ = self.events.send(Event::EventOverlap {
                    entry: entry.name.clone(),
                    due: (due - start).as_secs_f64(),
                });
            }
            let Some(next) = k.checked_add(1) else {
                break;
            };
            k = next;
        }
        loop {
            tokio::select! {
                _ = pctx.cancel.cancelled() => return,
                next = running.next() => if next.is_none() { return },
            }
        }
    }

    /// One run of an entry: its tasks on every host still up, hosts side by side, on
    /// copies of their variables (events do not change the hosts' facts). Results count
    /// in the recap like any task's.
    pub(super) async fn event_run(
        &self,
        pctx: &PlayCtx,
        entry: &EventEntry,
        scope: &Arc<Common>,
        snapshot: &[(String, Vars, Vars)],
    ) {
        let runs = snapshot
            .iter()
            .filter(|(h, _, _)| !pctx.is_down(h))
            .map(|(h, inv, facts)| {
                let mut hs = HostState {
                    name: h.clone(),
                    inv_vars: inv.clone(),
                    facts: facts.clone(),
                    cursor: Cursor::new(entry.tasks.clone(), scope.clone()),
                    notified: vec![],
                    failed: false,
                    unreachable: false,
                };
                async move {
                    self.walk(pctx, &mut hs, TaskKind::Event, Some(&entry.name), |_| {})
                        .await;
                }
            });
        join_all(runs).await;
    }
}

/// The k-th run's time, start + k * every; `None` past what an `Instant` holds.
fn due_at(start: Instant, every: Duration, k: u32) -> Option<Instant> {
    every.checked_mul(k).and_then(|d| start.checked_add(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_past_what_an_instant_holds_is_none_not_a_panic() {
        let start = Instant::now();
        let every = Duration::from_secs(7);
        assert_eq!(
            due_at(start, every, 3),
            Some(start + Duration::from_secs(21))
        );
        assert_eq!(due_at(start, Duration::from_secs(u64::MAX / 2), 3), None);
        assert_eq!(due_at(start, Duration::from_secs(u64::MAX / 4), 3), None);
    }
}
