//! The validated plan of a playbook: [`Playbook`] of [`Play`]s of [`Task`]s, each with the
//! file:line:column it came from. Values stay untemplated here; the engine renders them per
//! host.

use crate::inventory::Origin;
use crate::vars::Vars;
use regex::Regex;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A playbook file with its imported playbooks flattened into one list of plays.
#[derive(Debug, Clone)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
    /// Whether any template text names `hostvars`, `groups` or the play's host lists
    /// (so the engine builds those large variables only when something reads them).
    pub uses_host_lists: bool,
}

/// Properties a play, a block and a task share; inner ones override outer ones, `when`
/// and `tags` accumulate.
#[derive(Debug, Clone, Default)]
pub struct Common {
    pub become_: Option<Value>,
    pub become_user: Option<Value>,
    pub become_method: Option<Value>,
    pub environment: Vec<Value>,
    pub tags: Vec<String>,
    pub when: Vec<Value>,
    pub vars: Vars,
    pub ignore_errors: Option<Value>,
    pub ignore_unreachable: Option<Value>,
    pub no_log: Option<Value>,
    pub run_once: Option<Value>,
    pub delegate_to: Option<Value>,
    pub check_mode: Option<Value>,
    pub diff: Option<Value>,
    pub timeout: Option<Value>,
    pub any_errors_fatal: Option<Value>,
}

impl Common {
    /// This (inner) scope applied over `outer`.
    pub fn inherit(&self, outer: &Common) -> Common {
        let pick = |inner: &Option<Value>, outer: &Option<Value>| inner.clone().or(outer.clone());
        let mut vars = outer.vars.clone();
        crate::vars::combine(&mut vars, &self.vars);
        let mut tags = outer.tags.clone();
        for t in &self.tags {
            if !tags.contains(t) {
                tags.push(t.clone());
            }
        }
        Common {
            become_: pick(&self.become_, &outer.become_),
            become_user: pick(&self.become_user, &outer.become_user),
            become_method: pick(&self.become_method, &outer.become_method),
            environment: outer
                .environment
                .iter()
                .chain(&self.environment)
                .cloned()
                .collect(),
            tags,
            when: outer.when.iter().chain(&self.when).cloned().collect(),
            vars,
            ignore_errors: pick(&self.ignore_errors, &outer.ignore_errors),
            ignore_unreachable: pick(&self.ignore_unreachable, &outer.ignore_unreachable),
            no_log: pick(&self.no_log, &outer.no_log),
            run_once: pick(&self.run_once, &outer.run_once),
            delegate_to: pick(&self.delegate_to, &outer.delegate_to),
            check_mode: pick(&self.check_mode, &outer.check_mode),
            diff: pick(&self.diff, &outer.diff),
            timeout: pick(&self.timeout, &outer.timeout),
            any_errors_fatal: pick(&self.any_errors_fatal, &outer.any_errors_fatal),
        }
    }
}

/// One play.
#[derive(Debug, Clone)]
pub struct Play {
    pub origin: Origin,
    /// The name as Ansible shows it (`name:`, else the hosts pattern).
    pub name: String,
    pub hosts: String,
    /// The directory of the playbook file (for `files/`, `templates/`, `vars_files`).
    pub dir: PathBuf,
    pub common: Common,
    pub vars_files: Vec<Value>,
    pub gather_facts: Option<Value>,
    pub pre_tasks: Vec<Task>,
    pub tasks: Vec<Task>,
    pub post_tasks: Vec<Task>,
    pub handlers: Vec<Task>,
    /// `serial:` as given: a number, a percentage, or a list of them.
    pub serial: Vec<Value>,
    pub strategy: Strategy,
    pub max_fail_percentage: Option<f64>,
    pub force_handlers: bool,
    /// `order:` of the hosts (inventory, reverse_inventory, sorted, reverse_sorted, shuffle).
    pub order: Option<String>,
    /// `setup:` runs once before any host starts; what it registers is `setup.NAME`.
    pub setup: Vec<Task>,
    /// `teardown:` runs on every path out of the play; each task is tried.
    pub teardown: Vec<Task>,
    /// `teardown_timeout:` bounds the whole teardown (default 10 minutes).
    pub teardown_timeout: Option<Duration>,
    /// `matrix:`: the play runs once per combination.
    pub matrix: Option<Matrix>,
    /// `events:`: tasks on a schedule, beside the play's tasks.
    pub events: Option<Events>,
}

/// `matrix:`: axes (a variable and its values, in the order written) and the combinations
/// to leave out.
#[derive(Debug, Clone)]
pub struct Matrix {
    pub axes: Vec<(String, Value)>,
    pub exclude: Vec<Vars>,
}

/// `events:`: for `duration` (by default as long as the play's tasks run), the entries of
/// `schedule`.
#[derive(Debug, Clone)]
pub struct Events {
    pub origin: Origin,
    pub duration: Option<Value>,
    pub schedule: Vec<EventEntry>,
}

/// One entry of an `events:` schedule.
#[derive(Debug, Clone)]
pub struct EventEntry {
    pub origin: Origin,
    pub name: String,
    /// Runs at start + k * every (none when only `at_teardown`).
    pub every: Option<Duration>,
    /// Also at the start (default true).
    pub at_startup: bool,
    /// Once more after the play's tasks, before teardown (default false).
    pub at_teardown: bool,
    pub tasks: Arc<Vec<Task>>,
}

/// `expect:` on a task: sugar for `failed_when`.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// An rc or a list of accepted rcs.
    pub rc: Option<Value>,
    /// Regular expressions that must match somewhere in stdout / stderr.
    pub stdout: Option<Regex>,
    pub stderr: Option<Regex>,
    pub max_duration: Option<Duration>,
}

/// A duration as written in a playbook or on the command line: seconds as a number, or
/// numbers with units (`200ms`, `5s`, `5m`, `3h`, `1d`, `1h30m`).
/// At most [`crate::duration::MAX`] (100 years).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let bounded =
        |secs: f64| crate::duration::from_secs(secs).map_err(|e| format!("{text:?}: {e}"));
    if let Ok(secs) = t.parse::<f64>() {
        return bounded(secs);
    }
    let bad = || {
        format!(
            "{text:?} is not a duration: expected a number of seconds or units such as 200ms, 5s, 5m, 3h, 1d"
        )
    };
    let mut total = 0.0f64;
    let mut rest = t;
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hour" | "hours" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            _ => return Err(bad()),
        };
        total += n * factor;
        rest = rest[unit_len..].trim_start();
    }
    bounded(total)
}

/// A duration value from YAML: a number of seconds or a string with units.
pub fn duration_of(v: &Value) -> Result<Duration, String> {
    match v {
        Value::Number(n) => parse_duration(&n.to_string()),
        Value::String(s) => parse_duration(s),
        other => Err(format!("expected a duration, not {other}")),
    }
}

impl Play {
    /// Whether the play uses horde's fleet-test keys (then its statistics are printed).
    pub fn is_fleet_test(&self) -> bool {
        fn tasks_test(tasks: &[Task]) -> bool {
            tasks.iter().any(|t| {
                t.iterations.is_some()
                    || t.expect.is_some()
                    || t.barrier
                    || match &t.action {
                        Action::Block {
                            block,
                            rescue,
                            always,
                        } => tasks_test(block) || tasks_test(rescue) || tasks_test(always),
                        _ => false,
                    }
            })
        }
        !self.setup.is_empty()
            || !self.teardown.is_empty()
            || self.matrix.is_some()
            || self.events.is_some()
            || self.strategy == Strategy::Shuffle
            || [&self.pre_tasks, &self.tasks, &self.post_tasks]
                .iter()
                .any(|t| tasks_test(t))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Linear,
    Free,
    /// The flattened (host, task, iteration) jobs in a random order (seeded).
    Shuffle,
}

/// One task (a module call, a block, or a dynamic include).
#[derive(Debug, Clone)]
pub struct Task {
    pub origin: Origin,
    pub name: Option<String>,
    pub common: Common,
    pub action: Action,
    pub register: Option<String>,
    pub loop_: Option<Loop>,
    pub notify: Vec<String>,
    pub listen: Vec<String>,
    pub changed_when: Option<Value>,
    pub failed_when: Option<Value>,
    pub until: Option<Value>,
    pub retries: Option<Value>,
    pub delay: Option<Value>,
    /// `iterations:` (may be templated; `--iterations` overrides it).
    pub iterations: Option<Value>,
    pub expect: Option<Expect>,
    /// `barrier: true`: every live host waits here until all live hosts arrived.
    pub barrier: bool,
}

impl Task {
    /// A task with only an origin and an action; every other key unset.
    pub fn new(origin: Origin, action: Action) -> Task {
        Task {
            origin,
            name: None,
            common: Common::default(),
            action,
            register: None,
            loop_: None,
            notify: vec![],
            listen: vec![],
            changed_when: None,
            failed_when: None,
            until: None,
            retries: None,
            delay: None,
            iterations: None,
            expect: None,
            barrier: false,
        }
    }

    /// The name shown in `TASK [..]`: the task's name, else its action.
    pub fn display_name(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        match &self.action {
            Action::Module { written, .. } => written.clone(),
            Action::Block { .. } => "block".into(),
            Action::Include { .. } => "include_tasks".into(),
        }
    }
}

/// What a task does.
#[derive(Debug, Clone)]
pub enum Action {
    /// A module or controller action: `name` canonical (`copy`), `written` as in the file
    /// (`ansible.builtin.copy`), `args` untemplated.
    Module {
        name: String,
        written: String,
        args: Vars,
    },
    /// Shared lists, so every host's cursor points at the same tasks.
    Block {
        block: Arc<Vec<Task>>,
        rescue: Arc<Vec<Task>>,
        always: Arc<Vec<Task>>,
    },
    /// `include_tasks`: loaded when reached, per host (the file name may be templated).
    Include { file: Value, base: PathBuf },
}

/// A task's loop.
#[derive(Debug, Clone)]
pub struct Loop {
    pub kind: LoopKind,
    pub items: Value,
    pub label: Option<Value>,
    pub loop_var: String,
    pub index_var: Option<String>,
    pub pause: Option<Value>,
    pub extended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:` (and `with_list`): the list as given.
    Loop,
    /// `with_items`: lists flattened one level.
    Items,
    /// `with_dict`: `{key, value}` items.
    Dict,
    /// `with_sequence`-free `with_indexed_items`: `[index, item]` pairs.
    Indexed,
    /// `with_together`: zipped lists.
    Together,
    /// `with_nested`: the product.
    Nested,
    /// `with_fileglob`: controller files.
    Fileglob,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let d = |s: &str| parse_duration(s).map(|d| d.as_secs_f64());
        assert_eq!(d("5"), Ok(5.0));
        assert_eq!(d("1.5"), Ok(1.5));
        assert_eq!(d("200ms"), Ok(0.2));
        assert_eq!(d("5m"), Ok(300.0));
        assert_eq!(d("3h"), Ok(10800.0));
        assert_eq!(d("1h30m"), Ok(5400.0));
        assert_eq!(d("1d"), Ok(86400.0));
        assert!(d("").is_err());
        assert!(d("5 parsecs").is_err());
        assert!(d("-1").is_err());
        assert!(d("m").is_err());
    }

    #[test]
    fn durations_out_of_range_are_refused_not_a_panic() {
        for text in [
            "1e20",
            "-1",
            "inf",
            "NaN",
            "1e400",
            "36600d",
            &format!("{}d", "9".repeat(400)),
        ] {
            let e = parse_duration(text).unwrap_err();
            assert!(e.starts_with(&format!("{text:?}: ")), "{e}");
            assert!(e.contains("100 years"), "{e}");
        }
        assert_eq!(
            parse_duration("36500d").map(|d| d.as_secs()),
            Ok(100 * 365 * 86400)
        );
    }
}
