//! `horde apply`: runs playbooks and prints what Ansible's default callback prints
//! (`PLAY [..]`, `TASK [..]`, `ok:/changed:/fatal:/skipping:` lines, `PLAY RECAP`), with
//! ansible-playbook's exit codes.

use super::args::ApplyArgs;
use super::exit::{Exit, UsageError};
use super::output::{Color, Output, Paint, task_word};
use super::results::{Recorder, apply_settings, print_json};
use super::run::{become_settings, target_defaults};
use anyhow::{Context, Result};
use horde::engine::{self, Event, HostResult, RunSpec, Status, TaskKind};
use horde::inventory;
use horde::playbook::{self, Action, Playbook, Task};
use horde::provision::Leases;
use horde::ssh::SshContext;
use horde::vars::{python_json, python_json_line};
use serde_json::Value;
use std::sync::Arc;

pub fn run(args: ApplyArgs) -> Result<Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(run_async(args))
}

fn split_tags(v: &[String]) -> Vec<String> {
    v.iter()
        .flat_map(|t| t.split(','))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect()
}

async fn run_async(args: ApplyArgs) -> Result<Exit> {
    // Ctrl-C or SIGTERM stops the run softly (teardown still runs); a second one stops
    // teardown too. Listening from the start: a Ctrl-C while loading is not lost.
    let stop = engine::Stop::new();
    {
        let (soft, hard) = (stop.soft.clone(), stop.hard.clone());
        super::on_interrupts(move || soft.cancel(), move || hard.cancel());
    }
    let mut playbooks = Vec::new();
    for path in &args.playbooks {
        if !path.exists() {
            return Err(UsageError(format!(
                "the playbook: {} could not be found",
                path.display()
            ))
            .into());
        }
        match playbook::load(path) {
            Ok(pb) => playbooks.push(pb),
            Err(e) => {
                eprintln!("[ERROR]: {e}");
                return Ok(Exit::Unreachable);
            }
        }
    }
    if args.syntax_check {
        for pb in &playbooks {
            println!("\nplaybook: {}", pb.path.display());
        }
        return Ok(Exit::Ok);
    }
    let extra = args.work.extra_vars()?;
    // No inventory: only the implicit localhost, as ansible-playbook.
    let sources = args.source.inventory.clone();
    let leases = Leases::acquire(&sources).await?;
    let mut loaded = inventory::load(&leases.sources())?;
    for w in &loaded.warnings {
        super::warn(w);
    }
    // group_vars/ and host_vars/ beside the (first) playbook apply as Ansible's do.
    if let Some(dir) = playbooks.first().and_then(|p| p.path.parent()) {
        let dir = if dir.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            dir
        };
        loaded.inventory.add_playbook_vars(dir)?;
    }
    let inv = Arc::new(loaded.inventory);
    if args.list_hosts || args.list_tasks || args.list_tags {
        list(&args, &playbooks, &inv)?;
        leases.release().await?;
        return Ok(Exit::Ok);
    }
    let defaults = target_defaults(&args.connection)?;
    let playbooks_test_fleets = playbooks
        .iter()
        .any(|pb| pb.plays.iter().any(|p| p.is_fleet_test()));
    let spec = RunSpec {
        playbooks,
        inventory: inv,
        limit: args.source.limit.clone(),
        extra_vars: extra,
        ssh: Arc::new(SshContext::new(defaults)),
        forks: args.work.forks,
        check: args.check,
        diff: args.diff,
        tags: split_tags(&args.tags),
        skip_tags: split_tags(&args.skip_tags),
        start_at_task: args.start_at_task.clone(),
        become_: become_settings(&args.become_)?,
        force_handlers: args.force_handlers,
        verbosity: args.verbose,
        iterations: args.orchestration.iterations,
        seed: args.orchestration.seed,
        case: args.orchestration.case.clone(),
        duration: args.orchestration.duration,
    };
    let mut results = Recorder::start(
        &args.results,
        "apply",
        apply_settings(&args),
        &sources,
        &spec.inventory,
    )?;
    let timed_out = Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Some(limit) = args.orchestration.run_timeout {
        let (stop, timed_out) = (stop.clone(), timed_out.clone());
        tokio::spawn(async move {
            tokio::time::sleep(limit).await;
            timed_out.store(true, std::sync::atomic::Ordering::SeqCst);
            stop.soft.cancel();
        });
    }
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let runner = tokio::spawn(engine::run(spec, stop, tx));
    let mut console = Console::new(&args, playbooks_test_fleets);
    // The fan-out: the results directory first (so a crash loses nothing already shown),
    // then the console or, with --json, the JSON lines.
    while let Some(event) = rx.recv().await {
        results.add(&event);
        if args.results.json {
            print_json(&event);
        } else {
            console.show(&event);
        }
    }
    let summary = match runner.await {
        Ok(summary) => summary,
        Err(e) => {
            // Host tasks turn their own panics into their host's failure; this one is in
            // the dispatcher, so the run (and its teardown) stopped. Keep what was recorded.
            results.finish(Exit::Unexpected, false);
            leases.release().await?;
            let why = match e.try_into_panic() {
                Ok(payload) => engine::panic_message(payload.as_ref()),
                Err(e) => e.to_string(),
            };
            eprintln!("[ERROR]: internal error: the run stopped, teardown did not run: {why}");
            return Ok(Exit::Unexpected);
        }
    };
    let stats = summary.stats.values();
    let teardown_failed = summary
        .teardown
        .values()
        .any(|s| s.failed > 0 || s.unreachable > 0);
    let timed_out = timed_out.load(std::sync::atomic::Ordering::SeqCst);
    let exit = if timed_out {
        Exit::HostFailed
    } else if summary.interrupted {
        Exit::Interrupted
    } else if stats.clone().any(|s| s.unreachable > 0) {
        Exit::Unreachable
    } else if stats.clone().any(|s| s.failed > 0) || teardown_failed {
        Exit::HostFailed
    } else {
        Exit::Ok
    };
    results.finish(exit, summary.interrupted);
    leases.release().await?;
    if timed_out {
        let limit = args.orchestration.run_timeout.unwrap_or_default();
        eprintln!(
            "[ERROR]: the run reached --run-timeout ({}s): stopped",
            limit.as_secs_f64()
        );
    } else if summary.interrupted {
        eprintln!("[ERROR]: User interrupted execution");
    }
    Ok(exit)
}

/// Ansible's banner: the text, then stars to column 80.
fn banner(text: &str) -> String {
    let stars = 79usize.saturating_sub(text.chars().count()).max(3);
    format!("\n{text} {}", "*".repeat(stars))
}

/// Prints events as Ansible's default callback does (in its colors when color is on),
/// with the live progress display on a terminal.
struct Console {
    verbosity: u8,
    diff: bool,
    /// The statistics, printed after the recap for fleet tests (or `--stats`).
    stats: horde::report::stats::Collector,
    show_stats: bool,
    /// Where lines go: colors, `-q`, the progress display.
    output: Output,
    /// With `-q`: the current task's banner, printed before its first failure.
    pending_banner: Option<String>,
}

const CENSORED: &str =
    "the output has been hidden due to the fact that 'no_log: true' was specified for this result";

/// ` (100 iterations, 2 failed)` for a task with `iterations`, ` (iteration 3)` for a
/// shuffle job; nothing for other results.
fn runs_note(r: &HostResult) -> String {
    if let Some(n) = r.result.get("iterations").and_then(Value::as_u64) {
        let failed = r
            .result
            .get("failures")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        return format!(" ({n} iterations, {failed} failed)");
    }
    match r.result.get("iteration").and_then(Value::as_u64) {
        Some(i) => format!(" (iteration {i})"),
        None => String::new(),
    }
}

/// The result as the callback shows it: internal keys gone, `debug` reduced to its message.
fn shown(r: &HostResult) -> Value {
    if r.no_log {
        let mut m = serde_json::Map::new();
        m.insert("censored".into(), Value::String(CENSORED.into()));
        m.insert(
            "changed".into(),
            r.result
                .get("changed")
                .cloned()
                .unwrap_or(Value::Bool(false)),
        );
        return Value::Object(m);
    }
    let mut m = r.result.clone();
    m.shift_remove("ansible_facts");
    m.shift_remove("iteration_results");
    m.retain(|k, _| !k.starts_with("_ansible"));
    if r.status == Status::Failed {
        m.shift_remove("failed");
    }
    if r.action == "debug" {
        if m.contains_key("msg") {
            m.retain(|k, _| {
                matches!(
                    k.as_str(),
                    "msg" | "exception" | "warnings" | "deprecations"
                )
            });
        } else {
            for k in ["changed", "failed", "skipped", "invocation", "skip_reason"] {
                m.shift_remove(k);
            }
        }
    }
    if r.item.is_some() {
        m.shift_remove("ansible_loop_var");
    }
    Value::Object(m)
}

/// `TASK [name]`, `RUNNING HANDLER [name]` ... as a banner.
fn task_banner(name: &str, kind: TaskKind) -> String {
    banner(&format!("{} [{name}]", task_word(kind)))
}

/// `-vv`'s `task path: FILE:LINE`, as Ansible prints it: the file made absolute, no column.
fn task_path(origin: &str) -> String {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (file, line) = match origin.rsplit_once(':') {
        Some((rest, col)) if digits(col) => match rest.rsplit_once(':') {
            Some((file, line)) if digits(line) => (file, Some(line)),
            _ => (rest, Some(col)),
        },
        _ => (origin, None),
    };
    let file = std::path::absolute(file)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| file.to_string());
    match line {
        Some(l) => format!("task path: {file}:{l}"),
        None => format!("task path: {file}"),
    }
}

/// The recap's host column (26 wide), colored by how the host did, as Ansible's `hostcolor`.
fn recap_host(paint: Paint, host: &str, s: &horde::engine::HostStats) -> String {
    let pad = " ".repeat(26usize.saturating_sub(host.chars().count()));
    if !paint.on {
        return format!("{host}{pad}");
    }
    let color = if s.failed > 0 || s.unreachable > 0 {
        Color::Error
    } else if s.changed > 0 {
        Color::Changed
    } else {
        Color::Ok
    };
    format!("{}{pad}", paint.paint(host, color))
}

impl Console {
    fn new(args: &ApplyArgs, fleet_tests: bool) -> Console {
        Console {
            verbosity: args.verbose,
            diff: args.diff,
            stats: horde::report::stats::Collector::new(),
            show_stats: args.orchestration.stats || fleet_tests,
            output: Output::new(&args.output, !args.results.json),
            pending_banner: None,
        }
    }

    fn out(&self, text: &str) {
        self.output.line(text, None);
    }

    fn say(&self, text: &str, color: Color) {
        self.output.line(text, Some(color));
    }

    /// A recap column, `ok=3   `, colored when not 0.
    fn column(&self, name: &str, n: u32, color: Color) -> String {
        self.output.paint.count(&format!("{name}={n:<4}"), n, color)
    }

    /// With `-q`, whether an event is shown: warnings, failures that count (after their
    /// task's banner), a shuffle's seed, the recap. Other banners are kept until a failure
    /// needs them.
    fn quiet_shows(&mut self, event: &Event) -> bool {
        match event {
            Event::TaskStart { name, kind, .. } => {
                self.pending_banner = Some(task_banner(name, *kind));
                false
            }
            Event::Host(r) if r.status.is_failure() && !r.ignored && !r.rescued => {
                if let Some(b) = self.pending_banner.take() {
                    self.out(&b);
                }
                true
            }
            Event::Warning { message } => !message.starts_with("FAILED - RETRYING"),
            // The seed, to replay a failed shuffle.
            Event::Shuffle { .. } | Event::Recap { .. } => true,
            _ => false,
        }
    }

    fn label(r: &HostResult) -> String {
        match &r.delegated_to {
            Some(d) if d != &r.host => format!("{} -> {d}", r.host),
            _ => r.host.clone(),
        }
    }

    fn show(&mut self, event: &Event) {
        self.stats.add(event);
        if let Some(p) = self.output.progress() {
            p.event(event);
        }
        if self.output.quiet && !self.quiet_shows(event) {
            return;
        }
        match event {
            Event::RunStart { .. }
            | Event::Sample(_)
            | Event::Batch { .. }
            | Event::HostStart { .. } => {}
            Event::Cases { play, ids } => self.out(&banner(&format!(
                "MATRIX [{play}]: {} case{}",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            ))),
            Event::PlayStart { name, case } => match case {
                Some(c) => self.out(&banner(&format!("PLAY [{name}] case {c}"))),
                None => self.out(&banner(&format!("PLAY [{name}]"))),
            },
            Event::Shuffle { seed, jobs } => self.out(&format!(
                "shuffle: {jobs} jobs in the order of seed {seed} (--seed {seed} gives it back)"
            )),
            Event::NoHostsMatched => self.say("skipping: no hosts matched", Color::Skip),
            Event::TaskStart {
                name, kind, origin, ..
            } => {
                self.out(&task_banner(name, *kind));
                if self.verbosity >= 2 {
                    self.say(&task_path(origin), Color::Debug);
                }
            }
            Event::EventOverlap { entry, due } => self.out(&format!(
                "event [{entry}] was due at +{due:.1}s but its previous run was still going: not started twice"
            )),
            Event::Item(r) => self.item(r),
            Event::Host(r) => self.host(r),
            Event::Included { file, hosts, item } => {
                let item = item
                    .as_ref()
                    .map(|i| format!(" => (item={i})"))
                    .unwrap_or_default();
                self.say(
                    &format!("included: {file} for {}{item}", hosts.join(", ")),
                    Color::Skip,
                );
            }
            Event::NoMoreHosts => self.out(&banner("NO MORE HOSTS LEFT")),
            Event::Warning { message } if message.starts_with("FAILED - RETRYING") => {
                self.say(message, Color::Debug)
            }
            Event::Warning { message } => self.output.warn(message),
            Event::Recap { stats, teardown } => {
                self.output.finish_progress();
                self.out(&banner("PLAY RECAP"));
                self.recap_lines(stats, true);
                if !teardown.is_empty() {
                    self.out(banner("TEARDOWN RECAP").trim_start());
                    // Teardown rescues and ignores nothing: those columns are left out.
                    self.recap_lines(teardown, false);
                }
                if self.show_stats {
                    let table = horde::report::stats::table(&self.stats.rows());
                    if !table.is_empty() {
                        self.out(&table);
                    }
                }
            }
        }
    }

    /// One recap line per host, sorted, then a blank line.
    fn recap_lines(&self, stats: &indexmap::IndexMap<String, engine::HostStats>, all: bool) {
        let mut hosts: Vec<_> = stats.iter().collect();
        hosts.sort_by(|a, b| a.0.cmp(b.0));
        for (h, s) in hosts {
            let mut line = format!(
                "{} : {} {} {} {} {}",
                recap_host(self.output.paint, h, s),
                self.column("ok", s.ok, Color::Ok),
                self.column("changed", s.changed, Color::Changed),
                self.column("unreachable", s.unreachable, Color::Unreachable),
                self.column("failed", s.failed, Color::Error),
                self.column("skipped", s.skipped, Color::Skip),
            );
            if all {
                line.push_str(&format!(
                    " {} {}",
                    self.column("rescued", s.rescued, Color::Ok),
                    self.column("ignored", s.ignored, Color::Warn)
                ));
            }
            self.out(&line);
        }
        self.out("");
    }

    fn verbose_result(&self, r: &HostResult) -> bool {
        self.verbosity > 0
            || r.action == "debug"
            || r.result.contains_key("_ansible_verbose_always")
    }

    fn diff_text(&self, r: &HostResult) {
        if !self.diff || r.no_log {
            return;
        }
        let diffs = match r.result.get("diff") {
            Some(Value::Array(a)) => a.clone(),
            Some(d @ Value::Object(_)) => vec![d.clone()],
            _ => return,
        };
        for d in diffs {
            let text = |k: &str| d.get(k).and_then(Value::as_str).unwrap_or("").to_string();
            let (before, after) = (text("before"), text("after"));
            if before == after {
                continue;
            }
            let bh = d
                .get("before_header")
                .and_then(Value::as_str)
                .unwrap_or("before");
            let ah = d
                .get("after_header")
                .and_then(Value::as_str)
                .unwrap_or("after");
            let paint = self.output.paint;
            let mut s = format!(
                "{}\n{}\n",
                paint.paint(&format!("--- before: {bh}"), Color::Error),
                paint.paint(&format!("+++ after: {ah}"), Color::Ok)
            );
            for l in before.lines() {
                s.push_str(&paint.paint(&format!("-{l}"), Color::Error));
                s.push('\n');
            }
            for l in after.lines() {
                s.push_str(&paint.paint(&format!("+{l}"), Color::Ok));
                s.push('\n');
            }
            self.out(&s);
        }
    }

    fn host(&self, r: &HostResult) {
        let label = Self::label(r);
        let is_loop = r.result.contains_key("results");
        match r.status {
            Status::Ok | Status::Changed => {
                self.diff_text(r);
                if is_loop {
                    return;
                }
                let (word, color) = ok_or_changed(r.status);
                let label = format!("{label}{}", runs_note(r));
                if self.verbose_result(r) {
                    self.say(
                        &format!("{word}: [{label}] => {}", python_json(&shown(r))),
                        color,
                    );
                } else {
                    self.say(&format!("{word}: [{label}]"), color);
                }
            }
            Status::Skipped => {
                if !is_loop {
                    self.say(&format!("skipping: [{label}]"), Color::Skip);
                }
            }
            Status::Failed => {
                let label = format!("{label}{}", runs_note(r));
                self.say(
                    &format!(
                        "fatal: [{label}]: FAILED! => {}",
                        python_json_line(&shown(r))
                    ),
                    Color::Error,
                );
                if r.ignored {
                    self.say("...ignoring", Color::Skip);
                }
            }
            Status::Unreachable => self.say(
                &format!(
                    "fatal: [{label}]: UNREACHABLE! => {}",
                    python_json_line(&shown(r))
                ),
                Color::Unreachable,
            ),
        }
    }

    fn item(&self, r: &HostResult) {
        let label = Self::label(r);
        let item = r.item.as_deref().unwrap_or("");
        match r.status {
            Status::Ok | Status::Changed => {
                let (word, color) = ok_or_changed(r.status);
                if self.verbose_result(r) {
                    self.say(
                        &format!(
                            "{word}: [{label}] => (item={item}) => {}",
                            python_json(&shown(r))
                        ),
                        color,
                    );
                } else {
                    self.say(&format!("{word}: [{label}] => (item={item})"), color);
                }
            }
            Status::Skipped => self.say(
                &format!("skipping: [{label}] => (item={item}) "),
                Color::Skip,
            ),
            Status::Failed => self.say(
                &format!(
                    "failed: [{label}] (item={item}) => {}",
                    python_json_line(&shown(r))
                ),
                Color::Error,
            ),
            Status::Unreachable => {}
        }
    }
}

/// `ok` in green or `changed` in yellow.
fn ok_or_changed(status: Status) -> (&'static str, Color) {
    if status == Status::Changed {
        ("changed", Color::Changed)
    } else {
        ("ok", Color::Ok)
    }
}

/// `--list-hosts`, `--list-tasks`, `--list-tags`.
fn list(args: &ApplyArgs, playbooks: &[Playbook], inv: &inventory::Inventory) -> Result<()> {
    for pb in playbooks {
        println!("\nplaybook: {}", pb.path.display());
        for (i, play) in pb.plays.iter().enumerate() {
            println!(
                "\n  play #{} ({}): {}\tTAGS: [{}]",
                i + 1,
                play.hosts,
                play.name,
                play.common.tags.join(", ")
            );
            if args.list_hosts {
                let sel = inventory::select(inv, &play.hosts, args.source.limit.as_deref())?;
                println!("    pattern: ['{}']", play.hosts);
                println!("    hosts ({}):", sel.hosts.len());
                for h in &sel.hosts {
                    println!("      {h}");
                }
            }
            let mut tags = std::collections::BTreeSet::new();
            let mut tasks = Vec::new();
            let prefixed = |prefix: &str, list: &[Task], tasks: &mut Vec<(String, Vec<String>)>| {
                let mut part = Vec::new();
                walk(list, &play.common.tags, &mut part);
                tasks.extend(part.into_iter().map(|(n, t)| (format!("{prefix}{n}"), t)));
            };
            prefixed("setup: ", &play.setup, &mut tasks);
            for section in [&play.pre_tasks, &play.tasks, &play.post_tasks] {
                walk(section, &play.common.tags, &mut tasks);
            }
            if let Some(ev) = &play.events {
                for entry in &ev.schedule {
                    prefixed(&format!("event {}: ", entry.name), &entry.tasks, &mut tasks);
                }
            }
            prefixed("teardown: ", &play.teardown, &mut tasks);
            for (_, t) in &tasks {
                tags.extend(t.iter().cloned());
            }
            tags.extend(play.common.tags.iter().cloned());
            if args.list_tasks {
                println!("    tasks:");
                for (name, t) in &tasks {
                    println!("      {name}\tTAGS: [{}]", t.join(", "));
                }
            }
            if args.list_tags {
                println!(
                    "      TASK TAGS: [{}]",
                    tags.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
        }
    }
    Ok(())
}

fn walk(tasks: &[Task], inherited: &[String], out: &mut Vec<(String, Vec<String>)>) {
    for t in tasks {
        let mut tags = inherited.to_vec();
        for tag in &t.common.tags {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        match &t.action {
            Action::Block {
                block,
                rescue,
                always,
            } => {
                walk(block, &tags, out);
                walk(rescue, &tags, out);
                walk(always, &tags, out);
            }
            _ => {
                tags.sort();
                out.push((t.display_name(), tags));
            }
        }
    }
}
