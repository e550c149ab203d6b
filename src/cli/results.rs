//! The results directory and `--json` from the command line: where the directory goes
//! (`--results`, `$HORDE_RESULTS_ROOT`, `horde-results/`), what `run.json` records, and
//! [`Recorder`], which `apply` and `run` hand every event to.

use super::args::{ApplyArgs, ResultsArgs, RunArgs};
use super::exit::Exit;
use anyhow::{Context, Result};
use horde::adhoc::{self, AdhocModule};
use horde::engine::{Event, HostStats, Sample, Status, TaskKind};
use horde::inventory::Inventory;
use horde::report::results::{self, Location, RunEnd, Writer};
use indexmap::IndexMap;
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

/// Where results go when `--results` is not given.
fn default_root() -> PathBuf {
    std::env::var_os("HORDE_RESULTS_ROOT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("horde-results"))
}

/// Keeps a run's results directory as events come; a write error is warned about once and
/// ends the recording, never the run.
pub struct Recorder {
    writer: Option<Writer>,
    junit: Option<PathBuf>,
}

impl Recorder {
    /// Makes the results directory and writes `run.json`. An explicit `--results` that
    /// cannot be made is an error; the default one is warned about and skipped.
    pub fn start(
        args: &ResultsArgs,
        command: &str,
        settings: Value,
        sources: &[String],
        inv: &Inventory,
    ) -> Result<Recorder> {
        let location = match &args.results {
            Some(dir) => Location::Exactly(dir.clone()),
            None => Location::Under(default_root()),
        };
        let hosts: Vec<String> = inv.hosts().map(|h| h.name.clone()).collect();
        let started = results::now();
        let made = results::create(&location, started).and_then(|dir| {
            let cwd = std::env::current_dir().unwrap_or_default();
            let run = json!({
                "command": command,
                "argv": args.argv,
                "cwd": cwd,
                "started": results::iso8601(started),
                "horde_version": env!("CARGO_PKG_VERSION"),
                "seed": null,
                "replay_of": args.replay_of,
                "inventory": {
                    "sources": sources,
                    "digest": results::inventory_digest(sources, &hosts),
                    "hosts": hosts,
                },
                "settings": settings,
            });
            Writer::start(&dir, run)
        });
        let writer = match made {
            Ok(w) => Some(w),
            Err(e) if args.results.is_some() => {
                return Err(e).context("cannot write the results directory");
            }
            Err(e) => {
                super::warn(&format!(
                    "no results directory for this run: {}",
                    super::exit::error_text(&e.into()).trim_start_matches("error: ")
                ));
                None
            }
        };
        Ok(Recorder {
            writer,
            junit: args.junit.clone(),
        })
    }

    /// Records one event.
    pub fn add(&mut self, event: &Event) {
        if let Some(w) = &mut self.writer
            && let Err(e) = w.add(event)
        {
            self.stop(e.into());
        }
    }

    fn stop(&mut self, e: anyhow::Error) {
        super::warn(&format!(
            "the results directory is incomplete from here on: {}",
            super::exit::error_text(&e).trim_start_matches("error: ")
        ));
        self.writer = None;
    }

    /// Writes the summary and the JUnit report (and `--junit FILE`).
    pub fn finish(mut self, exit: Exit, interrupted: bool) {
        let Some(w) = self.writer.take() else {
            return;
        };
        let end = RunEnd {
            exit_code: exit as i32,
            interrupted,
        };
        match w.finish(end) {
            Ok(dir) => {
                if let Some(file) = &self.junit
                    && let Err(e) = std::fs::copy(dir.join("junit.xml"), file)
                {
                    super::warn(&format!("cannot write {}: {e}", file.display()));
                }
            }
            Err(e) => self.stop(e.into()),
        }
    }
}

/// An ad-hoc run (`horde run`) told as engine events, to the results directory and with
/// `--json` to standard output: a play, its one task, a sample and a result per host, the
/// recap.
pub struct AdhocEvents {
    recorder: Recorder,
    json: bool,
    tally: IndexMap<String, HostStats>,
}

impl AdhocEvents {
    pub fn start(recorder: Recorder, json: bool, play: String, task: String) -> AdhocEvents {
        let mut events = AdhocEvents {
            recorder,
            json,
            tally: IndexMap::new(),
        };
        events.emit(Event::PlayStart {
            name: play,
            case: None,
        });
        events.emit(Event::TaskStart {
            id: adhoc::TASK_ID,
            name: task,
            kind: TaskKind::Task,
            origin: "command line".into(),
        });
        events
    }

    fn emit(&mut self, event: Event) {
        self.recorder.add(&event);
        if self.json {
            print_json(&event);
        }
    }

    /// One host's result.
    pub fn result(&mut self, result: &adhoc::HostResult, module: AdhocModule) {
        let Some(r) = result.to_engine(module) else {
            return;
        };
        let s = self.tally.entry(r.host.clone()).or_default();
        match r.status {
            Status::Unreachable => s.unreachable += 1,
            Status::Failed => s.failed += 1,
            _ => {
                s.ok += 1;
                s.changed += u32::from(r.status == Status::Changed);
            }
        }
        self.emit(Event::Sample(Sample {
            task_id: r.task_id,
            host: r.host.clone(),
            iteration: None,
            start: r.start,
            duration: r.duration,
            rc: r.result.get("rc").and_then(Value::as_i64),
            status: r.status,
            result: None,
        }));
        self.emit(Event::Host(r));
    }

    /// The recap, then the summary and JUnit report.
    pub fn finish(mut self, exit: Exit, interrupted: bool) {
        let stats = std::mem::take(&mut self.tally);
        self.emit(Event::Recap {
            stats,
            teardown: IndexMap::new(),
        });
        self.recorder.finish(exit, interrupted);
    }
}

/// `--json`: one event per line on standard output, flushed (no_log results censored).
pub fn print_json(event: &Event) {
    let event = results::shareable(event);
    if let Ok(line) = serde_json::to_string(&*event) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// What `horde apply` was asked to do, for run.json.
pub fn apply_settings(a: &ApplyArgs) -> Value {
    json!({
        "playbooks": a.playbooks,
        "inventory": a.source.inventory,
        "limit": a.source.limit,
        "forks": a.work.forks,
        "extra_vars": a.work.extra_vars,
        "tags": a.tags,
        "skip_tags": a.skip_tags,
        "check": a.check,
        "diff": a.diff,
        "start_at_task": a.start_at_task,
        "force_handlers": a.force_handlers,
        "verbosity": a.verbose,
        "user": a.connection.user,
        "private_key": a.connection.private_key,
        "timeout": a.connection.timeout,
        "become": a.become_.become_,
        "become_user": a.become_.become_user,
        "become_method": a.become_.become_method,
    })
}

/// What `horde run` was asked to do, for run.json.
pub fn run_settings(a: &RunArgs) -> Value {
    json!({
        "pattern": a.pattern,
        "module": a.module,
        "args": a.args,
        "inventory": a.source.inventory,
        "limit": a.source.limit,
        "forks": a.work.forks,
        "extra_vars": a.work.extra_vars,
        "command_timeout": a.command_timeout,
        "user": a.connection.user,
        "private_key": a.connection.private_key,
        "timeout": a.connection.timeout,
        "become": a.become_.become_,
        "become_user": a.become_.become_user,
        "become_method": a.become_.become_method,
    })
}
