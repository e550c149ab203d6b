//! The INI inventory format, read as Ansible's `ini` plugin reads it: `[group]`,
//! `[group:vars]`, `[group:children]`, host lines with `key=value` pairs typed by Python's
//! literal rules, and declarations that may come after their first use.

use super::error::{ErrorKind, InventoryError, Origin};
use super::model::{GroupId, Inventory, UNGROUPED};
use super::pylit::literal_eval;
use super::range::{expand_host_pattern, split_port};
use crate::shell::split_with_offsets as shlex_split;
use indexmap::IndexMap;
use regex::Regex;
use std::path::Path;
use std::sync::LazyLock;

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("static regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("static regex"));

#[derive(Clone, Copy, PartialEq)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// A group named before it was declared: by `[g:vars]`, or as a child.
struct Pending {
    line: usize,
    state: State,
    parents: Vec<(GroupId, usize)>,
}

/// Reads INI inventory text into `inv`.
pub fn parse(inv: &mut Inventory, path: &Path, text: &str) -> Result<(), InventoryError> {
    let source = path.display().to_string();
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = UNGROUPED;
    let mut state = State::Hosts;
    for (idx, raw) in text.lines().enumerate() {
        let lineno = idx + 1;
        let line = raw.trim();
        let indent = raw.len() - raw.trim_start().len();
        // `offset` is a byte offset in `line`; columns count characters, as YAML errors do.
        let at = |offset: usize| {
            let end = indent + offset;
            let col = raw.get(..end).map_or(end, |before| before.chars().count());
            Origin::line(path, lineno, col + 1)
        };
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(m) = SECTION.captures(line) {
            let name = &m[1];
            state = match m.get(2).map(|s| s.as_str()) {
                None | Some("hosts") => State::Hosts,
                Some("vars") => State::Vars,
                Some("children") => State::Children,
                Some(other) => {
                    return Err(InventoryError::syntax(
                        at(name.len() + 2),
                        format!(
                            "section [{name}:{other}] has unknown type {other:?} (expected \"hosts\", \"vars\" or \"children\")"
                        ),
                    ));
                }
            };
            if inv.group_id(name).is_none() && state == State::Vars && !pending.contains_key(name) {
                pending.insert(
                    name.to_string(),
                    Pending {
                        line: lineno,
                        state,
                        parents: vec![],
                    },
                );
            }
            group = inv.add_group(name);
            if state != State::Vars
                && let Some(p) = pending.get(name)
            {
                match p.state {
                    State::Children => add_pending_children(inv, path, name, &mut pending)?,
                    _ => {
                        pending.shift_remove(name);
                    }
                }
            }
            continue;
        }
        // `[::1]:22` is a host; any other line opening with `[` is a broken section header.
        let first_word = line.split_whitespace().next().unwrap_or("");
        if line.starts_with('[') && (line.ends_with(']') || split_port(first_word).is_none()) {
            return Err(InventoryError::syntax(
                at(0),
                format!(
                    "invalid section header {line:?} (expected [group], [group:vars] or [group:children], with no spaces)"
                ),
            ));
        }
        match state {
            State::Hosts => host_line(inv, path, &source, line, group, &at)?,
            State::Vars => {
                let Some((k, v)) = line.split_once('=') else {
                    return Err(InventoryError::syntax(
                        at(0),
                        format!(
                            "expected key=value in [{}:vars], found {line:?}",
                            inv.group(group).name
                        ),
                    ));
                };
                let value = literal_eval(v.trim());
                inv.set_group_var(group, k.trim(), value);
            }
            State::Children => {
                let Some(m) = GROUP_NAME.captures(line) else {
                    return Err(InventoryError::syntax(
                        at(0),
                        format!(
                            "expected a group name in [{}:children], found {line:?}",
                            inv.group(group).name
                        ),
                    ));
                };
                let child = &m[1];
                match inv.group_id(child) {
                    Some(c) => inv.add_child(group, c, &at(0))?,
                    None => match pending.get_mut(child) {
                        Some(p) => p.parents.push((group, lineno)),
                        None => {
                            pending.insert(
                                child.to_string(),
                                Pending {
                                    line: lineno,
                                    state,
                                    parents: vec![(group, lineno)],
                                },
                            );
                        }
                    },
                }
            }
        }
    }
    if let Some((name, p)) = pending.first() {
        let message = match p.state {
            State::Vars => {
                format!("section [{name}:vars] names group {name:?}, which is never declared")
            }
            _ => {
                let parent = p
                    .parents
                    .last()
                    .map(|(g, _)| inv.group(*g).name.clone())
                    .unwrap_or_default();
                format!(
                    "section [{parent}:children] includes group {name:?}, which is never declared"
                )
            }
        };
        return Err(InventoryError::syntax(
            Origin::line(path, p.line, 1),
            message,
        ));
    }
    Ok(())
}

fn add_pending_children(
    inv: &mut Inventory,
    path: &Path,
    name: &str,
    pending: &mut IndexMap<String, Pending>,
) -> Result<(), InventoryError> {
    let Some(p) = pending.shift_remove(name) else {
        return Ok(());
    };
    let child = inv.add_group(name);
    for (parent, line) in p.parents {
        inv.add_child(parent, child, &Origin::line(path, line, 1))?;
        let parent_name = inv.group(parent).name.clone();
        if pending
            .get(&parent_name)
            .is_some_and(|pp| pp.state == State::Children)
        {
            add_pending_children(inv, path, &parent_name, pending)?;
        }
    }
    Ok(())
}

fn host_line(
    inv: &mut Inventory,
    path: &Path,
    source: &str,
    line: &str,
    group: GroupId,
    at: &dyn Fn(usize) -> Origin,
) -> Result<(), InventoryError> {
    let tokens = shlex_split(line).map_err(|e| {
        InventoryError::syntax(at(0), format!("cannot split host line {line:?}: {e}"))
    })?;
    let Some((_, pattern)) = tokens.first() else {
        return Ok(());
    };
    if pattern.ends_with(':') {
        return Err(InventoryError::syntax(
            at(0),
            format!("invalid host pattern {pattern:?}: a trailing ':' must be followed by a port"),
        ));
    }
    if pattern == "---" {
        return Err(InventoryError::syntax(
            at(0),
            "invalid host pattern \"---\": this looks like a YAML file read as INI".to_string(),
        ));
    }
    let (names, port) = expand_host_pattern(pattern).map_err(|reason| {
        InventoryError::new(
            at(0),
            ErrorKind::Range {
                text: pattern.clone(),
                reason,
            },
        )
    })?;
    let mut vars = Vec::new();
    for (offset, token) in &tokens[1..] {
        let Some((k, v)) = token.split_once('=') else {
            return Err(InventoryError::syntax(
                at(*offset),
                format!("expected key=value host variable, found {token:?}"),
            ));
        };
        vars.push((k.to_string(), literal_eval(v)));
    }
    let _ = path;
    for name in names {
        let h = inv.add_host(&name, Some(group), port, Some(source));
        for (k, v) in &vars {
            inv.set_var_by_name(h, k, v.clone());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn load(text: &str) -> Result<Inventory, InventoryError> {
        let mut inv = Inventory::new();
        parse(&mut inv, Path::new("hosts.ini"), text)?;
        inv.reconcile();
        Ok(inv)
    }

    #[test]
    fn groups_children_and_vars() {
        let inv = load(
            "top1\n[web]\nw[1:2] x=1\n[prod:children]\nweb\ndb\n[db]\nd1 ansible_port=2222\n[prod:vars]\nenv=prod\n",
        )
        .unwrap();
        let prod = inv.group_id("prod").unwrap();
        assert_eq!(inv.group_hosts(prod).len(), 3);
        assert_eq!(inv.group(prod).vars["env"], json!("prod"));
        let d1 = inv.host_id("d1").unwrap();
        assert_eq!(inv.host(d1).vars["ansible_port"], json!(2222));
        assert_eq!(
            inv.group(UNGROUPED).hosts,
            vec![inv.host_id("top1").unwrap()]
        );
    }

    #[test]
    fn errors_point_at_the_line() {
        let err = load("[web]\nw1\n[web:bogus]\n").unwrap_err();
        assert!(err.to_string().starts_with("hosts.ini:3:"), "{err}");
        let err = load("[a:children]\nmissing\n").unwrap_err();
        assert!(err.to_string().contains("\"missing\""), "{err}");
        let err = load("[web]\nh1 novalue\n").unwrap_err();
        assert!(err.to_string().starts_with("hosts.ini:2:4:"), "{err}");
        let err = load("[web]\nh1 x=é novalue\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("hosts.ini:2:8: expected key=value"),
            "{err}"
        );
        let err = load("\u{3000}[wé:bogus]\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("hosts.ini:1:6: section [wé:bogus]"),
            "{err}"
        );
        let err = load("[a:children]\nb\n[b:children]\na\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "hosts.ini:4:1: group b: adding a as a child creates a recursive dependency loop (a -> b -> a)"
        );
    }

    #[test]
    fn all_is_no_child_but_ungrouped_may_be() {
        // Ansible refuses the first when reconciling (every group is under `all`), and
        // accepts the second.
        let err = load("[web]\nw1\n[web:children]\nall\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "hosts.ini:4:1: group web: adding all as a child creates a recursive dependency loop (all contains every group)"
        );
        let err = load("[web:children]\nx\n[x:children]\n  all\n[x]\n").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("hosts.ini:4:3: group x: adding all"),
            "{err}"
        );
        let inv = load("h0\n[web]\nw1\n[web:children]\nungrouped\n").unwrap();
        let web = inv.group_id("web").unwrap();
        assert_eq!(inv.group(UNGROUPED).parents.len(), 2);
        assert_eq!(inv.group_hosts(web).len(), 1);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "(\\[[a-z:]{0,8}\\]?|[a-z\\[\\]0-9:=' #]{0,20})(\n(\\[[a-z:]{0,8}\\]?|[a-z\\[\\]0-9:=' #]{0,20})){0,6}") {
            let _ = load(&s);
        }
    }
}
