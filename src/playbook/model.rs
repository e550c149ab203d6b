//! The validated plan of a playbook: [`Playbook`] of [`Play`]s of [`Task`]s, each with the
//! file:line:column it came from. Values stay untemplated here; the engine renders them per
//! host.

use crate::inventory::Origin;
use crate::vars::Vars;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    Linear,
    Free,
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
