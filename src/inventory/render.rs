//! `ansible-inventory` output: `--list` ([`list`]), `--host` ([`host`]), `--graph`
//! ([`graph`]) and the `--yaml` shape ([`list_yaml`]), built as Ansible's CLI builds them.

use super::model::{ALL, GroupId, Inventory};
use crate::vars::Vars;
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// Variables Ansible never shows in inventory output.
const INTERNAL_VARS: [&str; 33] = [
    "ansible_async_path",
    "ansible_collection_name",
    "ansible_config_file",
    "ansible_dependent_role_names",
    "ansible_diff_mode",
    "ansible_facts",
    "ansible_forks",
    "ansible_inventory_sources",
    "ansible_limit",
    "ansible_play_batch",
    "ansible_play_hosts",
    "ansible_play_hosts_all",
    "ansible_play_role_names",
    "ansible_playbook_python",
    "ansible_role_name",
    "ansible_role_names",
    "ansible_run_tags",
    "ansible_skip_tags",
    "ansible_verbosity",
    "ansible_version",
    "inventory_dir",
    "inventory_file",
    "inventory_hostname",
    "inventory_hostname_short",
    "groups",
    "group_names",
    "hostvars",
    "playbook_dir",
    "play_hosts",
    "role_name",
    "role_names",
    "role_path",
    "role_uuid",
];

fn strip_internal(mut vars: Vars) -> Vars {
    for k in INTERNAL_VARS {
        vars.shift_remove(k);
    }
    vars
}

/// What `--list` shows of a host's variables: merged, or (with `export`) its own.
fn shown_host_vars(inv: &Inventory, h: usize, export: bool) -> Vars {
    strip_internal(if export {
        inv.own_host_vars(h)
    } else {
        inv.host_vars(h)
    })
}

fn shown_group_vars(inv: &Inventory, g: GroupId) -> Vars {
    let mut vars = inv.group_vars(g);
    let priority = inv.group(g).priority;
    if priority != 1 {
        vars.insert("ansible_group_priority".into(), Value::from(priority));
    }
    strip_internal(vars)
}

/// `ansible-inventory --list`: groups with hosts and children, and `_meta.hostvars`.
/// `selected` limits the hosts shown (`--limit`); `None` shows all.
pub fn list(inv: &Inventory, selected: Option<&[String]>, export: bool) -> Value {
    let hosts = selected_ids(inv, selected);
    let available: HashSet<usize> = hosts.iter().copied().collect();
    let mut out = Map::new();
    let mut seen = HashSet::new();
    list_group(inv, ALL, &available, export, &mut seen, &mut out);
    let mut hostvars = Map::new();
    for h in hosts {
        let vars = shown_host_vars(inv, h, export);
        if !vars.is_empty() {
            hostvars.insert(inv.host(h).name.clone(), Value::Object(vars));
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".into(), Value::Object(hostvars));
    meta.insert("profile".into(), Value::String("inventory_legacy".into()));
    out.insert("_meta".into(), Value::Object(meta));
    Value::Object(out)
}

fn selected_ids(inv: &Inventory, selected: Option<&[String]>) -> Vec<usize> {
    match selected {
        Some(names) => names.iter().filter_map(|n| inv.host_id(n)).collect(),
        None => inv.group_hosts(ALL),
    }
}

fn list_group(
    inv: &Inventory,
    g: GroupId,
    available: &HashSet<usize>,
    export: bool,
    seen: &mut HashSet<GroupId>,
    out: &mut Map<String, Value>,
) {
    let group = inv.group(g);
    let mut entry = Map::new();
    if g != ALL {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
            .filter(|h| available.contains(h))
            .map(|&h| Value::String(inv.host(h).name.clone()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Value::Array(hosts));
        }
    }
    let mut children = Vec::new();
    let mut nested = Map::new();
    for &c in &group.children {
        children.push(Value::String(inv.group(c).name.clone()));
        if seen.insert(c) {
            list_group(inv, c, available, export, seen, &mut nested);
        }
    }
    if !children.is_empty() {
        entry.insert("children".into(), Value::Array(children));
    }
    if export {
        let vars = shown_group_vars(inv, g);
        if !vars.is_empty() {
            entry.insert("vars".into(), Value::Object(vars));
        }
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), Value::Object(entry));
    }
    for (k, v) in nested {
        out.insert(k, v);
    }
}

/// `ansible-inventory --host NAME`: the host's merged variables.
pub fn host(inv: &Inventory, name: &str) -> Option<Value> {
    let h = inv.host_id(name)?;
    Some(Value::Object(shown_host_vars(inv, h, false)))
}

/// `ansible-inventory --graph [GROUP] [--vars]`.
pub fn graph(inv: &Inventory, group: &str, with_vars: bool) -> Option<String> {
    let g = inv.group_id(group)?;
    let mut lines = Vec::new();
    graph_group(inv, g, &mut vec![], with_vars, &mut lines);
    Some(lines.join("\n"))
}

fn graph_name(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{}", "  |".repeat(depth), name)
    }
}

fn graph_vars(vars: &Vars, depth: usize, lines: &mut Vec<String>) {
    let mut keys: Vec<&String> = vars.keys().collect();
    keys.sort();
    for k in keys {
        lines.push(graph_name(
            &format!("{{{k} = {}}}", python_str(&vars[k.as_str()])),
            depth,
        ));
    }
}

/// Draws `g` below the groups in `path`; a group already on the path is not entered again
/// (the model refuses loops, this keeps a bug from recursing forever).
fn graph_group(
    inv: &Inventory,
    g: GroupId,
    path: &mut Vec<GroupId>,
    with_vars: bool,
    lines: &mut Vec<String>,
) {
    let group = inv.group(g);
    let depth = path.len();
    lines.push(graph_name(&format!("@{}:", group.name), depth));
    path.push(g);
    for &c in &group.children {
        if !path.contains(&c) {
            graph_group(inv, c, path, with_vars, lines);
        }
    }
    path.pop();
    if g != ALL {
        for &h in &group.hosts {
            lines.push(graph_name(&inv.host(h).name, depth + 1));
            if with_vars {
                graph_vars(&shown_host_vars(inv, h, false), depth + 2, lines);
            }
        }
    }
    if with_vars {
        graph_vars(&shown_group_vars(inv, g), depth + 1, lines);
    }
}

/// Python's `str()` of a loaded value, as `--graph --vars` prints it.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => python_repr(other),
    }
}

fn python_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_f64() => crate::vars::python_float_repr(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            if s.contains('\'') && !s.contains('"') {
                format!("\"{s}\"")
            } else {
                format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
            }
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_repr(&Value::String(k.clone())),
                    python_repr(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// `ansible-inventory --list --yaml`: nested groups with hosts as mappings of their vars
/// (each host's vars shown once, at its first appearance).
pub fn list_yaml(inv: &Inventory, selected: Option<&[String]>, export: bool) -> Value {
    let available: HashSet<usize> = selected_ids(inv, selected).into_iter().collect();
    let mut seen_hosts = HashSet::new();
    let mut seen_groups = HashSet::new();
    let mut out = Map::new();
    yaml_group(
        inv,
        ALL,
        &available,
        export,
        &mut seen_hosts,
        &mut seen_groups,
        &mut out,
    );
    Value::Object(out)
}

fn yaml_group(
    inv: &Inventory,
    g: GroupId,
    available: &HashSet<usize>,
    export: bool,
    seen_hosts: &mut HashSet<usize>,
    seen_groups: &mut HashSet<GroupId>,
    out: &mut Map<String, Value>,
) {
    let group = inv.group(g);
    let mut entry = Map::new();
    let mut children = Map::new();
    for &c in &group.children {
        if c == ALL {
            continue;
        }
        if seen_groups.contains(&c) {
            children.insert(inv.group(c).name.clone(), json!({}));
        } else {
            yaml_group(
                inv,
                c,
                available,
                export,
                seen_hosts,
                seen_groups,
                &mut children,
            );
            seen_groups.insert(c);
        }
    }
    if !children.is_empty() {
        entry.insert("children".into(), Value::Object(children));
    }
    if g != ALL {
        let mut hosts = Map::new();
        for &h in group.hosts.iter().filter(|h| available.contains(h)) {
            let vars = if seen_hosts.insert(h) {
                shown_host_vars(inv, h, export)
            } else {
                Vars::new()
            };
            hosts.insert(inv.host(h).name.clone(), Value::Object(vars));
        }
        if !hosts.is_empty() {
            entry.insert("hosts".into(), Value::Object(hosts));
        }
    }
    if export {
        let vars = shown_group_vars(inv, g);
        if !vars.is_empty() {
            entry.insert("vars".into(), Value::Object(vars));
        }
    }
    if !entry.is_empty() {
        out.insert(group.name.clone(), Value::Object(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_stops_at_a_loop() {
        let mut inv = Inventory::new();
        let web = inv.add_group("web");
        inv.groups[web].children.push(ALL);
        inv.groups[ALL].children.push(web);
        let drawn = graph(&inv, "all", false).unwrap();
        assert_eq!(drawn, "@all:\n  |--@ungrouped:\n  |--@web:");
    }
}
