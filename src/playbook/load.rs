//! Reads playbook files into the [`Playbook`] plan: plays, tasks, blocks, static imports
//! (`import_tasks`, `import_playbook`), with file:line:column and a near-miss suggestion in
//! every error.

use super::kv::parse_kv;
use super::model::*;
use crate::inventory::Origin;
use crate::modules;
use crate::vars::Vars;
use crate::yaml::{Node, NodeKind};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A playbook that cannot be run, and where.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct PlaybookError {
    pub origin: Origin,
    pub message: String,
}

fn err(file: &Path, node: &Node, message: impl Into<String>) -> PlaybookError {
    PlaybookError {
        origin: Origin::at(file, node.pos),
        message: message.into(),
    }
}

const PLAY_KEYS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "vars_prompt",
    "gather_facts",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "tasks",
    "pre_tasks",
    "post_tasks",
    "handlers",
    "roles",
    "serial",
    "strategy",
    "any_errors_fatal",
    "max_fail_percentage",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "tags",
    "connection",
    "remote_user",
    "port",
    "force_handlers",
    "ignore_errors",
    "ignore_unreachable",
    "no_log",
    "check_mode",
    "diff",
    "order",
    "throttle",
    "timeout",
    "collections",
    "module_defaults",
    "run_once",
    "debugger",
    "setup",
    "teardown",
    "teardown_timeout",
    "matrix",
    "events",
];

const TASK_KEYS: &[&str] = &[
    "name",
    "args",
    "register",
    "when",
    "loop",
    "loop_control",
    "notify",
    "listen",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "ignore_unreachable",
    "retries",
    "until",
    "delay",
    "tags",
    "become",
    "become_user",
    "become_method",
    "become_flags",
    "environment",
    "run_once",
    "delegate_to",
    "delegate_facts",
    "no_log",
    "timeout",
    "vars",
    "check_mode",
    "diff",
    "any_errors_fatal",
    "throttle",
    "debugger",
    "collections",
    "module_defaults",
    "connection",
    "remote_user",
    "port",
    "block",
    "rescue",
    "always",
    "with_items",
    "with_list",
    "with_dict",
    "with_indexed_items",
    "with_together",
    "with_nested",
    "with_fileglob",
    "action",
    "local_action",
    "iterations",
    "expect",
    "barrier",
];

const EXPECT_KEYS: &[&str] = &["rc", "stdout", "stderr", "max_duration"];
const EVENTS_KEYS: &[&str] = &["duration", "schedule"];
const ENTRY_KEYS: &[&str] = &["name", "every", "at_startup", "at_teardown", "tasks"];

/// An error for a key that is not one of `known`, with the near miss.
fn unknown_key(file: &Path, k: &Node, what: &str, known: &[&str]) -> PlaybookError {
    let key = k.key_string();
    err(
        file,
        k,
        format!(
            "unknown {what} key \"{key}\"{} (expected one of: {})",
            did_you_mean(near_miss(&key, known.iter().copied())),
            known.join(", ")
        ),
    )
}

/// A literal duration (`5s`, `200ms`, 3) at load time.
fn duration_node(
    file: &Path,
    node: &Node,
    what: &str,
) -> Result<std::time::Duration, PlaybookError> {
    duration_of(&node.to_value()).map_err(|e| err(file, node, format!("{what}: {e}")))
}

/// A literal boolean at load time.
fn bool_node(file: &Path, node: &Node, what: &str) -> Result<bool, PlaybookError> {
    modules::to_bool(&node.to_value())
        .ok_or_else(|| err(file, node, format!("{what} must be true or false")))
}

/// `setup` is what the play's setup registered: no task may set it.
fn refuse_setup_var(file: &Path, node: &Node, vars: &Vars) -> Result<(), PlaybookError> {
    if vars.contains_key("setup") {
        return Err(err(
            file,
            node,
            "\"setup\" is read-only: it holds what the play's setup registered",
        ));
    }
    Ok(())
}

/// `expect:` on a task.
fn expect_of(file: &Path, node: &Node) -> Result<Expect, PlaybookError> {
    let Some(pairs) = node.as_map() else {
        return Err(err(
            file,
            node,
            "expect must be a mapping (rc, stdout, stderr, max_duration)",
        ));
    };
    let mut e = Expect::default();
    for (k, v) in pairs {
        let regex = |what: &str| -> Result<regex::Regex, PlaybookError> {
            let text = str_of(file, v, what)?;
            regex::Regex::new(&text).map_err(|x| {
                err(
                    file,
                    v,
                    format!("expect {what}: not a regular expression: {x}"),
                )
            })
        };
        match k.key_string().as_str() {
            "rc" => {
                let value = v.to_value();
                let ok = match &value {
                    Value::Number(n) => n.as_i64().is_some(),
                    Value::Array(a) => a.iter().all(|x| x.as_i64().is_some()),
                    _ => false,
                };
                if !ok {
                    return Err(err(
                        file,
                        v,
                        "expect rc must be a number or a list of numbers",
                    ));
                }
                e.rc = Some(value);
            }
            "stdout" => e.stdout = Some(regex("stdout")?),
            "stderr" => e.stderr = Some(regex("stderr")?),
            "max_duration" => e.max_duration = Some(duration_node(file, v, "max_duration")?),
            _ => return Err(unknown_key(file, k, "expect", EXPECT_KEYS)),
        }
    }
    Ok(e)
}

/// The closest of `candidates` to `word`, if close enough to be a likely typo.
pub fn near_miss<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let d = distance(word, c);
        if d <= (word.len().max(3) / 3).max(1) && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
        }
        prev = cur;
    }
    prev[b.len()]
}

fn did_you_mean(s: Option<&str>) -> String {
    s.map(|s| format!(" (did you mean \"{s}\"?)"))
        .unwrap_or_default()
}

struct Loader {
    /// Files being imported, to refuse import cycles.
    stack: Vec<PathBuf>,
    uses_host_lists: bool,
}

/// Loads a playbook file (and what it imports).
pub fn load(path: &Path) -> Result<Playbook, PlaybookError> {
    let mut loader = Loader {
        stack: Vec::new(),
        uses_host_lists: false,
    };
    let plays = loader.playbook(path)?;
    Ok(Playbook {
        path: path.to_path_buf(),
        plays,
        uses_host_lists: loader.uses_host_lists,
    })
}

fn read_yaml(path: &Path) -> Result<(Node, String), PlaybookError> {
    let file_err = |m: String| PlaybookError {
        origin: Origin::file(path),
        message: m,
    };
    let bytes = std::fs::read(path).map_err(|e| file_err(format!("cannot read the file: {e}")))?;
    let text = crate::yaml::decode_source(bytes).map_err(|e| PlaybookError {
        origin: Origin::at(path, e.pos),
        message: e.message,
    })?;
    let node = crate::yaml::load(&text)
        .map_err(|e| PlaybookError {
            origin: Origin::at(path, e.pos),
            message: format!("invalid YAML: {}", e.message),
        })?
        .unwrap_or(Node {
            kind: NodeKind::Seq(vec![]),
            pos: Default::default(),
        });
    Ok((node, text))
}

fn has_template(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains("{{") || s.contains("{%"),
        Value::Array(a) => a.iter().any(has_template),
        Value::Object(m) => m.values().any(has_template),
        _ => false,
    }
}

fn text_uses_host_lists(text: &str) -> bool {
    [
        "hostvars",
        "groups",
        "play_hosts",
        "ansible_play_",
        "group_names",
    ]
    .iter()
    .any(|w| text.contains(w))
}

fn str_of(file: &Path, node: &Node, what: &str) -> Result<String, PlaybookError> {
    match &node.kind {
        NodeKind::Str(s) => Ok(s.clone()),
        NodeKind::Int(_) | NodeKind::UInt(_) | NodeKind::Float(_) | NodeKind::Bool(_) => {
            Ok(crate::vars::key_string(&node.to_value()))
        }
        _ => Err(err(
            file,
            node,
            format!("{what} must be a string, not a {}", node.type_name()),
        )),
    }
}

fn str_list(file: &Path, node: &Node, what: &str) -> Result<Vec<String>, PlaybookError> {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().map(|n| str_of(file, n, what)).collect(),
        NodeKind::Null => Ok(vec![]),
        NodeKind::Str(s) if what == "tags" => Ok(s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect()),
        _ => Ok(vec![str_of(file, node, what)?]),
    }
}

fn vars_of(file: &Path, node: &Node, what: &str) -> Result<Vars, PlaybookError> {
    match node.to_value() {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Vars::new()),
        Value::Array(items) if items.iter().all(Value::is_object) => {
            // Ansible accepts a list of dicts for vars.
            let mut out = Vars::new();
            for i in items {
                if let Value::Object(m) = i {
                    crate::vars::combine(&mut out, &m);
                }
            }
            Ok(out)
        }
        _ => Err(err(
            file,
            node,
            format!("{what} must be a mapping, not a {}", node.type_name()),
        )),
    }
}

/// Reads the keys that plays, blocks and tasks share. Returns false for other keys.
fn common_key(
    file: &Path,
    common: &mut Common,
    key: &str,
    value: &Node,
) -> Result<bool, PlaybookError> {
    let v = || Some(value.to_value());
    match key {
        "become" => common.become_ = v(),
        "become_user" => common.become_user = v(),
        "become_method" => common.become_method = v(),
        "environment" => common.environment.push(value.to_value()),
        "tags" => common.tags = str_list(file, value, "tags")?,
        "when" => match value.to_value() {
            Value::Array(items) => common.when = items,
            Value::Null => {}
            other => common.when = vec![other],
        },
        "vars" => common.vars = vars_of(file, value, "vars")?,
        "ignore_errors" => common.ignore_errors = v(),
        "ignore_unreachable" => common.ignore_unreachable = v(),
        "no_log" => common.no_log = v(),
        "run_once" => common.run_once = v(),
        "delegate_to" => common.delegate_to = v(),
        "check_mode" => common.check_mode = v(),
        "diff" => common.diff = v(),
        "timeout" => common.timeout = v(),
        "any_errors_fatal" => common.any_errors_fatal = v(),
        _ => return Ok(false),
    }
    Ok(true)
}

impl Loader {
    fn playbook(&mut self, path: &Path) -> Result<Vec<Play>, PlaybookError> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canonical) {
            return Err(PlaybookError {
                origin: Origin::file(path),
                message: "import_playbook cycle: the file imports itself".into(),
            });
        }
        self.stack.push(canonical);
        let (node, text) = read_yaml(path)?;
        self.uses_host_lists |= text_uses_host_lists(&text);
        let NodeKind::Seq(items) = &node.kind else {
            return Err(err(
                path,
                &node,
                format!(
                    "a playbook must be a list of plays, not a {}",
                    node.type_name()
                ),
            ));
        };
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut plays = Vec::new();
        for item in items {
            let Some(pairs) = item.as_map() else {
                return Err(err(
                    path,
                    item,
                    format!("a play must be a mapping, not a {}", item.type_name()),
                ));
            };
            let import = pairs.iter().find(|(k, _)| {
                matches!(
                    k.as_str(),
                    Some("import_playbook" | "ansible.builtin.import_playbook")
                )
            });
            if let Some((_, target)) = import {
                let name = str_of(path, target, "import_playbook")?;
                let target_path = dir.join(&name);
                if !target_path.exists() {
                    return Err(err(
                        path,
                        target,
                        format!("import_playbook: {} does not exist", target_path.display()),
                    ));
                }
                let mut imported = self.playbook(&target_path)?;
                for (k, v) in pairs {
                    match k.key_string().as_str() {
                        "vars" => {
                            let vars = vars_of(path, v, "vars")?;
                            for play in &mut imported {
                                crate::vars::combine(&mut play.common.vars, &vars);
                            }
                        }
                        "when" | "tags" => {
                            let mut c = Common::default();
                            common_key(path, &mut c, &k.key_string(), v)?;
                            for play in &mut imported {
                                play.common.when.extend(c.when.iter().cloned());
                                play.common.tags.extend(c.tags.iter().cloned());
                            }
                        }
                        _ => {}
                    }
                }
                plays.extend(imported);
                continue;
            }
            plays.push(self.play(path, &dir, item, pairs)?);
        }
        self.stack.pop();
        Ok(plays)
    }

    fn play(
        &mut self,
        file: &Path,
        dir: &Path,
        node: &Node,
        pairs: &[(Node, Node)],
    ) -> Result<Play, PlaybookError> {
        let mut play = Play {
            origin: Origin::at(file, node.pos),
            name: String::new(),
            hosts: String::new(),
            dir: dir.to_path_buf(),
            common: Common::default(),
            vars_files: vec![],
            gather_facts: None,
            pre_tasks: vec![],
            tasks: vec![],
            post_tasks: vec![],
            handlers: vec![],
            serial: vec![],
            strategy: Strategy::Linear,
            max_fail_percentage: None,
            force_handlers: false,
            order: None,
            setup: vec![],
            teardown: vec![],
            teardown_timeout: None,
            matrix: None,
            events: None,
        };
        let mut has_hosts = false;
        let mut name = None;
        for (k, v) in pairs {
            let key = k.key_string();
            if common_key(file, &mut play.common, &key, v)? {
                if key == "when" {
                    return Err(err(file, k, "a play cannot have `when`"));
                }
                continue;
            }
            match key.as_str() {
                "name" => name = Some(str_of(file, v, "name")?),
                "hosts" => {
                    has_hosts = true;
                    play.hosts = match &v.kind {
                        NodeKind::Seq(_) => str_list(file, v, "hosts")?.join(","),
                        _ => str_of(file, v, "hosts")?,
                    };
                }
                "vars_files" => {
                    play.vars_files = match v.to_value() {
                        Value::Array(a) => a,
                        Value::Null => vec![],
                        other => vec![other],
                    }
                }
                "gather_facts" => play.gather_facts = Some(v.to_value()),
                "pre_tasks" => play.pre_tasks = self.tasks(file, dir, v, false)?,
                "tasks" => play.tasks = self.tasks(file, dir, v, false)?,
                "post_tasks" => play.post_tasks = self.tasks(file, dir, v, false)?,
                "handlers" => play.handlers = self.tasks(file, dir, v, true)?,
                "setup" => play.setup = self.tasks(file, dir, v, false)?,
                "teardown" => play.teardown = self.tasks(file, dir, v, false)?,
                "teardown_timeout" => {
                    play.teardown_timeout = Some(duration_node(file, v, "teardown_timeout")?)
                }
                "matrix" => play.matrix = Some(self.matrix(file, v)?),
                "events" => play.events = Some(self.events(file, dir, v)?),
                "serial" => {
                    play.serial = match v.to_value() {
                        Value::Array(a) => a,
                        Value::Null => vec![],
                        other => vec![other],
                    }
                }
                "strategy" => {
                    play.strategy = match str_of(file, v, "strategy")?.as_str() {
                        "linear" | "ansible.builtin.linear" => Strategy::Linear,
                        "free" | "ansible.builtin.free" => Strategy::Free,
                        "shuffle" => Strategy::Shuffle,
                        other => {
                            return Err(err(
                                file,
                                v,
                                format!(
                                    "unknown strategy {other:?}: horde has linear, free and shuffle"
                                ),
                            ));
                        }
                    }
                }
                "max_fail_percentage" => {
                    play.max_fail_percentage = match v.to_value() {
                        Value::Number(n) => n.as_f64(),
                        Value::String(s) => s.trim_end_matches('%').trim().parse().ok(),
                        _ => None,
                    };
                    if play.max_fail_percentage.is_none() {
                        return Err(err(file, v, "max_fail_percentage must be a number"));
                    }
                }
                "force_handlers" => {
                    play.force_handlers = modules::to_bool(&v.to_value()).unwrap_or(false)
                }
                "roles" => {
                    let empty = matches!(&v.kind, NodeKind::Seq(s) if s.is_empty()) || v.is_null();
                    if !empty {
                        return Err(err(file, k, "roles are not supported by horde yet"));
                    }
                }
                "order" => {
                    let o = str_of(file, v, "order")?;
                    const ORDERS: &[&str] = &[
                        "inventory",
                        "reverse_inventory",
                        "sorted",
                        "reverse_sorted",
                        "shuffle",
                    ];
                    if !ORDERS.contains(&o.as_str()) {
                        return Err(err(
                            file,
                            v,
                            format!("order must be one of {}, not {o:?}", ORDERS.join(", ")),
                        ));
                    }
                    play.order = Some(o);
                }
                "vars_prompt" => {
                    return Err(err(file, k, "vars_prompt is not supported by horde"));
                }
                other if PLAY_KEYS.contains(&other) => {}
                other => {
                    return Err(err(
                        file,
                        k,
                        format!(
                            "unknown play key \"{other}\"{}",
                            did_you_mean(near_miss(other, PLAY_KEYS.iter().copied()))
                        ),
                    ));
                }
            }
        }
        if !has_hosts {
            return Err(err(file, node, "the play has no `hosts:`"));
        }
        refuse_setup_var(file, node, &play.common.vars)?;
        play.name = name.unwrap_or_else(|| play.hosts.clone());
        Ok(play)
    }

    /// `matrix:` axes (`exclude:` apart).
    fn matrix(&mut self, file: &Path, node: &Node) -> Result<Matrix, PlaybookError> {
        let Some(pairs) = node.as_map() else {
            return Err(err(
                file,
                node,
                format!(
                    "matrix must be a mapping of variable names to lists of values, not a {}",
                    node.type_name()
                ),
            ));
        };
        let mut m = Matrix {
            axes: vec![],
            exclude: vec![],
        };
        for (k, v) in pairs {
            let key = k.key_string();
            if key == "exclude" {
                let Value::Array(items) = v.to_value() else {
                    return Err(err(file, v, "matrix exclude must be a list of mappings"));
                };
                for item in items {
                    let Value::Object(map) = item else {
                        return Err(err(file, v, "matrix exclude must be a list of mappings"));
                    };
                    m.exclude.push(map);
                }
                continue;
            }
            let value = v.to_value();
            match &value {
                Value::Array(a) if a.is_empty() => {
                    return Err(err(file, v, format!("matrix axis \"{key}\" has no values")));
                }
                Value::Array(_) => {}
                Value::String(t) if t.contains("{{") => {}
                _ => {
                    return Err(err(
                        file,
                        v,
                        format!(
                            "matrix axis \"{key}\" must be a list of values (or a template giving one)"
                        ),
                    ));
                }
            }
            if key == "setup" {
                return Err(err(
                    file,
                    k,
                    "\"setup\" is read-only: choose another axis name",
                ));
            }
            m.axes.push((key, value));
        }
        if m.axes.is_empty() {
            return Err(err(file, node, "matrix has no axes"));
        }
        for ex in &m.exclude {
            for k in ex.keys() {
                if !m.axes.iter().any(|(a, _)| a == k) {
                    return Err(err(
                        file,
                        node,
                        format!("matrix exclude names \"{k}\", which is not an axis"),
                    ));
                }
            }
        }
        Ok(m)
    }

    /// `events:`: `duration` and the `schedule` entries.
    fn events(&mut self, file: &Path, dir: &Path, node: &Node) -> Result<Events, PlaybookError> {
        let Some(pairs) = node.as_map() else {
            return Err(err(
                file,
                node,
                "events must be a mapping with duration and schedule",
            ));
        };
        let mut ev = Events {
            origin: Origin::at(file, node.pos),
            duration: None,
            schedule: vec![],
        };
        for (k, v) in pairs {
            match k.key_string().as_str() {
                "duration" => {
                    let value = v.to_value();
                    if !matches!(&value, Value::String(t) if t.contains("{{")) {
                        duration_node(file, v, "duration")?;
                    }
                    ev.duration = Some(value);
                }
                "schedule" => {
                    let NodeKind::Seq(items) = &v.kind else {
                        return Err(err(file, v, "schedule must be a list of entries"));
                    };
                    for item in items {
                        ev.schedule.push(self.event_entry(file, dir, item)?);
                    }
                }
                _ => return Err(unknown_key(file, k, "events", EVENTS_KEYS)),
            }
        }
        Ok(ev)
    }

    fn event_entry(
        &mut self,
        file: &Path,
        dir: &Path,
        node: &Node,
    ) -> Result<EventEntry, PlaybookError> {
        let Some(pairs) = node.as_map() else {
            return Err(err(
                file,
                node,
                "a schedule entry must be a mapping (name, every, tasks ...)",
            ));
        };
        let mut e = EventEntry {
            origin: Origin::at(file, node.pos),
            name: String::new(),
            every: None,
            at_startup: true,
            at_teardown: false,
            tasks: Arc::new(vec![]),
        };
        let mut has_tasks = false;
        for (k, v) in pairs {
            match k.key_string().as_str() {
                "name" => e.name = str_of(file, v, "name")?,
                "every" => {
                    let d = duration_node(file, v, "every")?;
                    if d.is_zero() {
                        return Err(err(file, v, "every must be more than 0"));
                    }
                    e.every = Some(d);
                }
                "at_startup" => e.at_startup = bool_node(file, v, "at_startup")?,
                "at_teardown" => e.at_teardown = bool_node(file, v, "at_teardown")?,
                "tasks" => {
                    has_tasks = true;
                    e.tasks = Arc::new(self.tasks(file, dir, v, false)?);
                }
                _ => return Err(unknown_key(file, k, "schedule entry", ENTRY_KEYS)),
            }
        }
        if !has_tasks {
            return Err(err(file, node, "a schedule entry needs tasks"));
        }
        if e.every.is_none() && !e.at_teardown && !e.at_startup {
            return Err(err(
                file,
                node,
                "a schedule entry without every runs only at_startup or at_teardown: set one",
            ));
        }
        if e.name.is_empty() {
            e.name = format!("event {}", e.origin);
        }
        Ok(e)
    }

    fn tasks(
        &mut self,
        file: &Path,
        dir: &Path,
        node: &Node,
        handlers: bool,
    ) -> Result<Vec<Task>, PlaybookError> {
        match &node.kind {
            NodeKind::Null => Ok(vec![]),
            NodeKind::Seq(items) => items
                .iter()
                .map(|t| self.task(file, dir, t, handlers))
                .collect(),
            _ => Err(err(
                file,
                node,
                format!("expected a list of tasks, not a {}", node.type_name()),
            )),
        }
    }

    /// Loads a task file for `import_tasks` / `include_tasks`.
    pub fn task_file(&mut self, path: &Path, handlers: bool) -> Result<Vec<Task>, PlaybookError> {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        if self.stack.contains(&canonical) {
            return Err(PlaybookError {
                origin: Origin::file(path),
                message: "import cycle: the task file imports itself".into(),
            });
        }
        self.stack.push(canonical);
        let (node, text) = read_yaml(path)?;
        self.uses_host_lists |= text_uses_host_lists(&text);
        let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let tasks = self.tasks(path, &dir, &node, handlers)?;
        self.stack.pop();
        Ok(tasks)
    }

    fn task(
        &mut self,
        file: &Path,
        dir: &Path,
        node: &Node,
        handler: bool,
    ) -> Result<Task, PlaybookError> {
        let Some(pairs) = node.as_map() else {
            return Err(err(
                file,
                node,
                format!("a task must be a mapping, not a {}", node.type_name()),
            ));
        };
        let mut task = Task::new(
            Origin::at(file, node.pos),
            Action::Block {
                block: Default::default(),
                rescue: Default::default(),
                always: Default::default(),
            },
        );
        let mut module: Option<(&Node, &Node)> = None;
        let mut args_key: Option<&Node> = None;
        let mut loop_key: Option<(&Node, &Node)> = None;
        let mut loop_control: Option<&Node> = None;
        let (mut block, mut rescue, mut always) = (None, None, None);
        for (k, v) in pairs {
            let key = k.key_string();
            if common_key(file, &mut task.common, &key, v)? {
                continue;
            }
            match key.as_str() {
                "name" => task.name = Some(str_of(file, v, "name")?),
                "args" => args_key = Some(v),
                "register" => task.register = Some(str_of(file, v, "register")?),
                "notify" => task.notify = str_list(file, v, "notify")?,
                "listen" => task.listen = str_list(file, v, "listen")?,
                "changed_when" => task.changed_when = Some(v.to_value()),
                "failed_when" => task.failed_when = Some(v.to_value()),
                "until" => task.until = Some(v.to_value()),
                "retries" => task.retries = Some(v.to_value()),
                "delay" => task.delay = Some(v.to_value()),
                "iterations" => {
                    let value = v.to_value();
                    let in_range = |n: u64| (1..=u64::from(u32::MAX)).contains(&n);
                    let literal_ok = match &value {
                        Value::Number(n) => n.as_u64().is_some_and(in_range),
                        Value::String(t) => {
                            t.contains("{{") || t.trim().parse::<u64>().is_ok_and(in_range)
                        }
                        _ => false,
                    };
                    if !literal_ok {
                        return Err(err(
                            file,
                            v,
                            format!(
                                "iterations must be a whole number from 1 to {} (or a template)",
                                u32::MAX
                            ),
                        ));
                    }
                    task.iterations = Some(value);
                }
                "expect" => task.expect = Some(expect_of(file, v)?),
                "barrier" => task.barrier = bool_node(file, v, "barrier")?,
                "loop_control" => loop_control = Some(v),
                "block" => block = Some(v),
                "rescue" => rescue = Some(v),
                "always" => always = Some(v),
                "loop" | "with_items" | "with_list" | "with_dict" | "with_indexed_items"
                | "with_together" | "with_nested" | "with_fileglob" => {
                    if let Some((prev, _)) = loop_key {
                        return Err(err(
                            file,
                            k,
                            format!(
                                "a task can have one loop, but has both \"{}\" and \"{key}\"",
                                prev.key_string()
                            ),
                        ));
                    }
                    loop_key = Some((k, v));
                }
                "delegate_facts" | "become_flags" | "throttle" | "debugger" | "collections"
                | "module_defaults" | "connection" | "remote_user" | "port" => {}
                other if other.starts_with("with_") => {
                    return Err(err(
                        file,
                        k,
                        format!("\"{other}\" lookups are not supported by horde; use loop:"),
                    ));
                }
                other => {
                    if let Some((prev, _)) = module {
                        return Err(err(
                            file,
                            k,
                            format!(
                                "conflicting action statements: \"{}\" and \"{other}\"",
                                prev.key_string()
                            ),
                        ));
                    }
                    module = Some((k, v));
                }
            }
        }
        refuse_setup_var(file, node, &task.common.vars)?;
        if task.register.as_deref() == Some("setup") {
            return Err(err(
                file,
                node,
                "\"setup\" is read-only: it holds what the play's setup registered (register another name)",
            ));
        }
        if let Some(b) = block {
            if let Some((k, _)) = module {
                return Err(err(
                    file,
                    k,
                    format!("a block cannot also have the action \"{}\"", k.key_string()),
                ));
            }
            let list = |s: &mut Self, n: Option<&Node>| match n {
                Some(n) => s.tasks(file, dir, n, handler),
                None => Ok(vec![]),
            };
            task.action = Action::Block {
                block: Arc::new(self.tasks(file, dir, b, handler)?),
                rescue: Arc::new(list(self, rescue)?),
                always: Arc::new(list(self, always)?),
            };
            return Ok(task);
        }
        if let Some(n) = rescue.or(always) {
            return Err(err(file, n, "rescue/always need a block"));
        }
        let Some((mk, mv)) = module else {
            return Err(err(
                file,
                node,
                "the task has no action: expected a module such as command, copy or debug",
            ));
        };
        let (written, args) = self.module_call(file, mk, mv, args_key, &mut task)?;
        let name = modules::canonical_name(&written).to_string();
        match name.as_str() {
            "import_tasks" | "include_tasks" => {
                let f = args
                    .get("file")
                    .or(args.get("_raw_params"))
                    .cloned()
                    .ok_or_else(|| err(file, mv, format!("{name} needs a file name")))?;
                if name == "import_tasks" {
                    let Value::String(fname) = &f else {
                        return Err(err(file, mv, "import_tasks needs a file name"));
                    };
                    if fname.contains("{{") {
                        return Err(err(
                            file,
                            mv,
                            "import_tasks is static: its file name cannot be templated (use include_tasks)",
                        ));
                    }
                    let path = dir.join(fname);
                    if !path.exists() {
                        return Err(err(
                            file,
                            mv,
                            format!("import_tasks: {} does not exist", path.display()),
                        ));
                    }
                    task.action = Action::Block {
                        block: Arc::new(self.task_file(&path, handler)?),
                        rescue: Default::default(),
                        always: Default::default(),
                    };
                    // An import is not a task of its own.
                    task.name = None;
                } else {
                    task.action = Action::Include {
                        file: f,
                        base: dir.to_path_buf(),
                    };
                }
            }
            _ => {
                if name == "set_fact" {
                    refuse_setup_var(file, mv, &args)?;
                }
                task.action = Action::Module {
                    name,
                    written,
                    args,
                }
            }
        }
        if let Some((lk, lv)) = loop_key {
            task.loop_ = Some(self.loop_spec(file, lk, lv, loop_control)?);
        }
        Ok(task)
    }

    /// The module's name and arguments, validated against its spec.
    fn module_call(
        &mut self,
        file: &Path,
        key: &Node,
        value: &Node,
        args_key: Option<&Node>,
        task: &mut Task,
    ) -> Result<(String, Vars), PlaybookError> {
        let mut written = key.key_string();
        let mut value_v = value.to_value();
        if written == "local_action" || written == "action" {
            if written == "local_action" {
                task.common.delegate_to = Some(Value::String("localhost".into()));
            }
            match value_v {
                Value::String(s) => {
                    let s = s.trim().to_string();
                    let (m, rest) = s.split_once(char::is_whitespace).unwrap_or((&s, ""));
                    written = m.to_string();
                    value_v = Value::String(rest.trim().to_string());
                }
                Value::Object(mut m) => {
                    let Some(Value::String(module)) = m.shift_remove("module") else {
                        return Err(err(file, value, format!("{written} needs a module")));
                    };
                    written = module;
                    value_v = Value::Object(m);
                }
                _ => return Err(err(file, value, format!("{written} needs a module"))),
            }
        }
        let Some(spec) = modules::spec(&written) else {
            let candidates = modules::names().chain(TASK_KEYS.iter().copied());
            return Err(err(
                file,
                key,
                format!(
                    "unknown module or task key \"{written}\"{}",
                    did_you_mean(near_miss(&written, candidates))
                ),
            ));
        };
        let free_keys: &[&str] = match spec.name {
            "command" | "shell" | "script" => modules::command::FREE_FORM_KEYS,
            "raw" => &["executable"],
            _ => &[],
        };
        let mut args = match value_v {
            Value::Object(m) => m,
            Value::Null => Vars::new(),
            Value::String(s) if spec.free_form && free_keys.is_empty() => {
                let mut m = Vars::new();
                m.insert("_raw_params".into(), Value::String(s));
                m
            }
            Value::String(s) => parse_kv(&s, spec.free_form, free_keys),
            other => {
                return Err(err(
                    file,
                    value,
                    format!(
                        "the arguments of {written} must be a mapping or a key=value string, not {other}"
                    ),
                ));
            }
        };
        if let Some(a) = args_key {
            match a.to_value() {
                Value::Object(m) => crate::vars::combine(&mut args, &m),
                Value::Null => {}
                _ => return Err(err(file, a, "args must be a mapping")),
            }
        }
        if !spec.any_args {
            for k in args.keys() {
                if k == "_raw_params" && !spec.free_form {
                    return Err(err(
                        file,
                        value,
                        format!(
                            "{} does not take free-form text: expected key=value pairs, got {:?}",
                            spec.name, args["_raw_params"]
                        ),
                    ));
                }
                if spec.param(k).is_none() {
                    let names = spec.params.iter().map(|p| p.name);
                    return Err(err(
                        file,
                        value,
                        format!(
                            "unsupported parameter \"{k}\" for module {}{}; it takes: {}",
                            spec.name,
                            did_you_mean(near_miss(k, names.clone())),
                            names
                                .filter(|n| !n.starts_with('_'))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            // Aliases become the canonical names.
            let mut canon = Vars::new();
            for (k, v) in args {
                let name = spec.param(&k).map_or(k.as_str(), |p| p.name).to_string();
                canon.insert(name, v);
            }
            args = canon;
            // Literal values (no template in them) are type-checked now, before anything
            // runs; templated ones are checked on each host after rendering.
            let typed = modules::Args::new(spec.name, args.clone());
            for (k, v) in &args {
                if has_template(v) {
                    continue;
                }
                let Some(param) = spec.param(k) else { continue };
                let checked = match param.kind {
                    modules::ParamKind::Bool => typed.bool(k).map(drop),
                    modules::ParamKind::Int => typed.int(k).map(drop),
                    modules::ParamKind::Float => typed.float(k).map(drop),
                    modules::ParamKind::Mode => typed.mode(k).map(drop),
                    modules::ParamKind::List => typed.list(k).map(drop),
                    modules::ParamKind::Dict => typed.dict(k).map(drop),
                    modules::ParamKind::Str if matches!(v, Value::Array(_) | Value::Object(_)) => {
                        Err(modules::ArgError(format!(
                            "argument '{k}' of module {} must be a string, not {v}",
                            spec.name
                        )))
                    }
                    _ => Ok(()),
                };
                if let Err(e) = checked {
                    return Err(err(file, value, e.0));
                }
            }
        }
        Ok((written, args))
    }

    fn loop_spec(
        &mut self,
        file: &Path,
        key: &Node,
        value: &Node,
        control: Option<&Node>,
    ) -> Result<Loop, PlaybookError> {
        let kind = match key.key_string().as_str() {
            "loop" | "with_list" => LoopKind::Loop,
            "with_items" => LoopKind::Items,
            "with_dict" => LoopKind::Dict,
            "with_indexed_items" => LoopKind::Indexed,
            "with_together" => LoopKind::Together,
            "with_nested" => LoopKind::Nested,
            _ => LoopKind::Fileglob,
        };
        let mut spec = Loop {
            kind,
            items: value.to_value(),
            label: None,
            loop_var: "item".into(),
            index_var: None,
            pause: None,
            extended: false,
        };
        if let Some(c) = control {
            let Some(pairs) = c.as_map() else {
                return Err(err(file, c, "loop_control must be a mapping"));
            };
            for (k, v) in pairs {
                match k.key_string().as_str() {
                    "label" => spec.label = Some(v.to_value()),
                    "loop_var" => spec.loop_var = str_of(file, v, "loop_var")?,
                    "index_var" => spec.index_var = Some(str_of(file, v, "index_var")?),
                    "pause" => spec.pause = Some(v.to_value()),
                    "extended" => spec.extended = modules::to_bool(&v.to_value()).unwrap_or(false),
                    "extended_allitems" | "break_when" => {}
                    other => {
                        return Err(err(
                            file,
                            k,
                            format!(
                                "unknown loop_control key \"{other}\"{}",
                                did_you_mean(near_miss(
                                    other,
                                    ["label", "loop_var", "index_var", "pause", "extended"]
                                        .into_iter()
                                ))
                            ),
                        ));
                    }
                }
            }
        }
        Ok(spec)
    }
}

/// Loads a task file at run time (`include_tasks`).
pub fn load_task_file(path: &Path) -> Result<Vec<Task>, PlaybookError> {
    let mut loader = Loader {
        stack: Vec::new(),
        uses_host_lists: false,
    };
    loader.task_file(path, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Playbook, PlaybookError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pb.yml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn non_utf8_playbooks_and_task_files_name_the_byte() {
        let dir = tempfile::tempdir().unwrap();
        let pb = dir.path().join("pb.yml");
        std::fs::write(&pb, b"- hosts: all\n  vars: {x: \"caf\xe9\"}\n").unwrap();
        let e = load(&pb).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:2:17: the file is not valid UTF-8 (byte 0xe9)",
                pb.display()
            )
        );
        let tasks = dir.path().join("tasks.yml");
        std::fs::write(&tasks, b"- debug: {msg: \"\xc3\xa9\xff\"}\n").unwrap();
        std::fs::write(
            &pb,
            "- hosts: all\n  tasks:\n    - import_tasks: tasks.yml\n",
        )
        .unwrap();
        let e = load(&pb).unwrap_err();
        assert!(
            e.to_string().starts_with(&format!(
                "{}:1:18: the file is not valid UTF-8",
                tasks.display()
            )),
            "{e}"
        );
    }

    #[test]
    fn yaml_nested_too_deep_is_named_with_position() {
        let e = load_text(&("- ".repeat(40_000) + "1")).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("pb.yml:1:257: invalid YAML: nesting deeper than 128 levels"),
            "{e}"
        );
    }

    #[test]
    fn typo_in_module_is_named_with_position() {
        let e = load_text("- hosts: all\n  tasks:\n    - comand: ls\n").unwrap_err();
        assert_eq!(e.origin.pos.unwrap().line, 3);
        assert_eq!(e.origin.pos.unwrap().col, 7);
        assert!(e.message.contains("\"comand\""), "{}", e.message);
        assert!(
            e.message.contains("did you mean \"command\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_argument_is_named() {
        let e =
            load_text("- hosts: all\n  tasks:\n    - copy: {dest: /x, contnet: a}\n").unwrap_err();
        assert!(e.message.contains("\"contnet\""), "{}", e.message);
        assert!(
            e.message.contains("did you mean \"content\""),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_literal_of_the_wrong_type_is_refused_at_load() {
        let e = load_text(
            "- hosts: all\n  tasks:\n    - copy: {dest: /x, content: a, backup: maybe}\n",
        )
        .unwrap_err();
        assert!(e.message.contains("'backup'"), "{}", e.message);
        assert!(e.message.contains("bool"), "{}", e.message);
        assert!(
            load_text(
                "- hosts: all\n  tasks:\n    - copy: {dest: /x, content: a, backup: \"{{ b }}\"}\n"
            )
            .is_ok()
        );
    }

    #[test]
    fn a_duration_past_100_years_is_refused_with_its_key_and_position() {
        for (text, key, line) in [
            (
                "- hosts: all\n  teardown_timeout: 1e20\n  tasks: []\n",
                "teardown_timeout",
                2,
            ),
            (
                "- hosts: all\n  events:\n    duration: 1e19\n    schedule:\n      - every: 1s\n        tasks: []\n",
                "duration",
                3,
            ),
            (
                "- hosts: all\n  events:\n    schedule:\n      - every: 1e19\n        tasks: []\n",
                "every",
                4,
            ),
            (
                "- hosts: all\n  tasks:\n    - command: \"true\"\n      expect: {max_duration: 99999999999d}\n",
                "max_duration",
                4,
            ),
        ] {
            let e = load_text(text).unwrap_err();
            assert_eq!(e.origin.pos.unwrap().line, line, "{key}: {}", e.message);
            assert!(e.message.starts_with(&format!("{key}: ")), "{}", e.message);
            assert!(e.message.contains("100 years"), "{}", e.message);
        }
    }

    #[test]
    fn iterations_past_u32_are_refused_with_their_position() {
        let pb = |n: &str| {
            format!("- hosts: all\n  tasks:\n    - command: \"true\"\n      iterations: {n}\n")
        };
        for n in ["4294967296", "\"4294967296\"", "0", "1e3"] {
            let e = load_text(&pb(n)).unwrap_err();
            assert_eq!(e.origin.pos.unwrap().line, 4, "{n}");
            assert_eq!(
                e.message,
                "iterations must be a whole number from 1 to 4294967295 (or a template)"
            );
        }
        assert!(load_text(&pb("4294967295")).is_ok());
    }

    #[test]
    fn free_form_and_kv_args() {
        let pb = load_text(
            "- hosts: all\n  tasks:\n    - shell: echo hi chdir=/tmp\n    - file: path=/x state=touch\n",
        )
        .unwrap();
        let Action::Module { name, args, .. } = &pb.plays[0].tasks[0].action else {
            panic!()
        };
        assert_eq!(name, "shell");
        assert_eq!(args["_raw_params"], "echo hi");
        assert_eq!(args["chdir"], "/tmp");
        let Action::Module { args, .. } = &pb.plays[0].tasks[1].action else {
            panic!()
        };
        assert_eq!(args["state"], "touch");
    }
}
