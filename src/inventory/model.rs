//! The inventory graph as Ansible's `InventoryData` builds it: [`Inventory`] holds hosts and
//! groups in insertion order, with parent/child links, depth and priority.

use super::error::{ErrorKind, InventoryError, Origin};
use crate::vars::{Vars, combine};
use indexmap::IndexMap;
use serde_json::Value;

/// Index of a host in [`Inventory::hosts`].
pub type HostId = usize;
/// Index of a group in [`Inventory::groups`].
pub type GroupId = usize;

/// The `all` group is always first, `ungrouped` second.
pub const ALL: GroupId = 0;
pub const UNGROUPED: GroupId = 1;

/// Host names Ansible treats as the controller when no inventory host has that name.
pub const LOCALHOST_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// One inventory host.
#[derive(Debug, Clone, Default)]
pub struct Host {
    pub name: String,
    /// Variables set in inventory sources (file lines, YAML, scripts), `ansible_port` included.
    pub vars: Vars,
    /// Variables from `host_vars/` beside each inventory source, by source index.
    pub file_vars: Vec<(usize, Vars)>,
    /// Groups the host was put in directly, in order.
    pub groups: Vec<GroupId>,
    /// The inventory source that first named the host.
    pub source: Option<String>,
}

/// One inventory group.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub name: String,
    pub vars: Vars,
    /// Variables from `group_vars/` beside each inventory source, by source index.
    pub file_vars: Vec<(usize, Vars)>,
    pub hosts: Vec<HostId>,
    pub children: Vec<GroupId>,
    pub parents: Vec<GroupId>,
    /// Longest path from `all` (Ansible's `depth`); parents merge before children.
    pub depth: usize,
    /// `ansible_group_priority` (default 1).
    pub priority: i64,
}

/// Hosts, groups and their variables, as parsed from one or more sources.
#[derive(Debug, Clone)]
pub struct Inventory {
    pub(crate) hosts: IndexMap<String, Host>,
    pub(crate) groups: IndexMap<String, Group>,
    /// Directories whose `group_vars/` and `host_vars/` apply, in order; `file_vars`
    /// entries point into this list.
    pub(crate) var_dirs: Vec<(std::path::PathBuf, VarLayer)>,
    /// Per group, itself and its ancestors; filled by [`Inventory::reconcile`].
    lineage: Vec<Vec<GroupId>>,
    /// Per group, its place in Ansible's merge order (depth, priority, name).
    rank: Vec<usize>,
}

/// Where a `group_vars/`/`host_vars/` directory sits, which decides its precedence: beside
/// an inventory source, or beside the playbook (Ansible's "play" vars, which win).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarLayer {
    Inventory,
    Playbook,
}

impl Default for Inventory {
    fn default() -> Self {
        Self::new()
    }
}

impl Inventory {
    /// An empty inventory with the implicit `all` and `ungrouped` groups.
    pub fn new() -> Self {
        let mut inv = Inventory {
            hosts: IndexMap::new(),
            groups: IndexMap::new(),
            var_dirs: vec![],
            lineage: vec![],
            rank: vec![],
        };
        inv.add_group("all");
        inv.add_group("ungrouped");
        inv.groups[ALL].children.push(UNGROUPED);
        inv.groups[UNGROUPED].parents.push(ALL);
        inv
    }

    pub fn host(&self, id: HostId) -> &Host {
        &self.hosts[id]
    }

    pub fn group(&self, id: GroupId) -> &Group {
        &self.groups[id]
    }

    pub fn host_id(&self, name: &str) -> Option<HostId> {
        self.hosts.get_index_of(name)
    }

    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.groups.get_index_of(name)
    }

    pub fn hosts(&self) -> impl Iterator<Item = &Host> {
        self.hosts.values()
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    pub fn host_count(&self) -> usize {
        self.hosts.len()
    }

    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// Adds a group if it is not there yet.
    pub fn add_group(&mut self, name: &str) -> GroupId {
        if let Some(id) = self.groups.get_index_of(name) {
            return id;
        }
        let group = Group {
            name: name.to_string(),
            priority: 1,
            ..Group::default()
        };
        self.groups.insert_full(name.to_string(), group).0
    }

    /// Adds a host if it is not there yet (the port of its first definition is kept as
    /// `ansible_port`), and puts it in `group`.
    pub fn add_host(
        &mut self,
        name: &str,
        group: Option<GroupId>,
        port: Option<u16>,
        source: Option<&str>,
    ) -> HostId {
        let id = match self.hosts.get_index_of(name) {
            Some(id) => id,
            None => {
                let mut host = Host {
                    name: name.to_string(),
                    source: source.map(str::to_string),
                    ..Host::default()
                };
                if let Some(port) = port {
                    host.vars.insert("ansible_port".into(), Value::from(port));
                }
                self.hosts.insert_full(name.to_string(), host).0
            }
        };
        if let Some(g) = group {
            self.put_host_in_group(id, g);
        }
        id
    }

    fn put_host_in_group(&mut self, host: HostId, group: GroupId) {
        if !self.hosts[host].groups.contains(&group) {
            self.hosts[host].groups.push(group);
            self.groups[group].hosts.push(host);
        }
    }

    fn remove_host_from_group(&mut self, host: HostId, group: GroupId) {
        self.hosts[host].groups.retain(|g| *g != group);
        self.groups[group].hosts.retain(|h| *h != host);
    }

    /// Sets a group variable; `ansible_group_priority` sets the priority instead.
    pub fn set_group_var(&mut self, group: GroupId, key: &str, value: Value) {
        if key == "ansible_group_priority" {
            let priority = match &value {
                Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
                Value::String(s) => s.trim().parse().ok(),
                Value::Bool(b) => Some(*b as i64),
                _ => None,
            };
            if let Some(p) = priority {
                self.groups[group].priority = p;
            }
            return;
        }
        self.groups[group].vars.insert(key.to_string(), value);
    }

    pub fn set_host_var(&mut self, host: HostId, key: &str, value: Value) {
        self.hosts[host].vars.insert(key.to_string(), value);
    }

    /// Sets a variable by the host's name as Ansible's `InventoryData.set_variable` does: a
    /// group of the same name takes it (groups are looked up first).
    pub fn set_var_by_name(&mut self, host: HostId, key: &str, value: Value) {
        match self.groups.get_index_of(&self.hosts[host].name) {
            Some(g) => self.set_group_var(g, key, value),
            None => self.set_host_var(host, key, value),
        }
    }

    /// Names used for both a group and a host (Ansible warns about them).
    pub fn host_group_name_clashes(&self) -> Vec<String> {
        self.groups
            .keys()
            .filter(|g| self.hosts.contains_key(*g))
            .cloned()
            .collect()
    }

    /// Reads `group_vars/` and `host_vars/` beside a playbook (or the current directory, as
    /// `ansible-inventory` does); they take precedence over those beside the inventory.
    pub fn add_playbook_vars(&mut self, dir: &std::path::Path) -> Result<(), InventoryError> {
        let index = self.var_dirs.len();
        self.var_dirs.push((dir.to_path_buf(), VarLayer::Playbook));
        super::varsdir::load(self, dir, index)
    }

    fn layer(&self, index: usize) -> VarLayer {
        self.var_dirs
            .get(index)
            .map_or(VarLayer::Inventory, |(_, l)| *l)
    }

    /// Makes `child` a child of `parent`; an edge that would close a cycle is an error, and
    /// so is `all` as a child: [`Inventory::reconcile`] puts every top group under `all`,
    /// which would close the loop (Ansible refuses it there).
    pub fn add_child(
        &mut self,
        parent: GroupId,
        child: GroupId,
        origin: &Origin,
    ) -> Result<(), InventoryError> {
        if self.groups[parent].children.contains(&child) {
            return Ok(());
        }
        let loop_ = if let Some(path) = self.path_between(child, parent) {
            let mut names: Vec<&str> = path.iter().map(|g| self.groups[*g].name.as_str()).collect();
            names.push(&self.groups[child].name);
            Some(names.join(" -> "))
        } else if child == ALL {
            Some("all contains every group".to_string())
        } else {
            None
        };
        if let Some(loop_) = loop_ {
            return Err(InventoryError::new(
                origin.clone(),
                ErrorKind::Cycle {
                    parent: self.groups[parent].name.clone(),
                    child: self.groups[child].name.clone(),
                    loop_,
                },
            ));
        }
        self.groups[parent].children.push(child);
        if !self.groups[child].parents.contains(&parent) {
            self.groups[child].parents.push(parent);
        }
        Ok(())
    }

    /// A chain of child links from `from` down to `to`, if one exists (`from` == `to` counts).
    fn path_between(&self, from: GroupId, to: GroupId) -> Option<Vec<GroupId>> {
        if from == to {
            return Some(vec![from]);
        }
        let mut stack = vec![(from, vec![from])];
        let mut seen = vec![false; self.groups.len()];
        while let Some((g, path)) = stack.pop() {
            for &c in &self.groups[g].children {
                if c == to {
                    let mut p = path.clone();
                    p.push(c);
                    return Some(p);
                }
                if !seen[c] {
                    seen[c] = true;
                    let mut p = path.clone();
                    p.push(c);
                    stack.push((c, p));
                }
            }
        }
        None
    }

    /// Ansible's `reconcile_inventory`: top groups become children of `all`, hosts in no
    /// group go to `ungrouped`, hosts in another group leave it; then depths are computed.
    /// The links added cannot close a loop, since [`Inventory::add_child`] never makes `all`
    /// a child.
    pub fn reconcile(&mut self) {
        for g in 0..self.groups.len() {
            if g != ALL && self.groups[g].parents.is_empty() {
                self.groups[ALL].children.push(g);
                self.groups[g].parents.push(ALL);
            }
        }
        // The group graph is final now: index it before walking the hosts.
        self.index_groups();
        for h in 0..self.hosts.len() {
            let groups = self.host_groups(h);
            if groups.contains(&UNGROUPED) {
                if groups.iter().any(|&g| g != ALL && g != UNGROUPED) {
                    self.remove_host_from_group(h, UNGROUPED);
                }
            } else if groups.iter().all(|&g| g == ALL) {
                self.put_host_in_group(h, UNGROUPED);
            }
        }
    }

    fn index_groups(&mut self) {
        // Longest path from `all`, by relaxing in topological order (the graph is acyclic).
        let n = self.groups.len();
        let mut indegree: Vec<usize> = (0..n).map(|g| self.groups[g].parents.len()).collect();
        let mut depth = vec![0usize; n];
        let mut queue: Vec<GroupId> = (0..n).filter(|&g| indegree[g] == 0).collect();
        while let Some(g) = queue.pop() {
            for i in 0..self.groups[g].children.len() {
                let c = self.groups[g].children[i];
                depth[c] = depth[c].max(depth[g] + 1);
                indegree[c] -= 1;
                if indegree[c] == 0 {
                    queue.push(c);
                }
            }
        }
        for (g, d) in depth.into_iter().enumerate() {
            self.groups[g].depth = d;
        }
        self.lineage = (0..n)
            .map(|g| std::iter::once(g).chain(self.ancestors(g)).collect())
            .collect();
        let mut order: Vec<GroupId> = (0..n).collect();
        order.sort_by(|&a, &b| {
            let (ga, gb) = (&self.groups[a], &self.groups[b]);
            (ga.depth, ga.priority, &ga.name).cmp(&(gb.depth, gb.priority, &gb.name))
        });
        self.rank = vec![0; n];
        for (i, g) in order.into_iter().enumerate() {
            self.rank[g] = i;
        }
    }

    /// The group and every group below it, in Ansible's walk order (the group, its children,
    /// then each further level in the order found).
    pub fn descendants(&self, group: GroupId) -> Vec<GroupId> {
        let mut seen = vec![false; self.groups.len()];
        let mut ordered = vec![group];
        seen[group] = true;
        for &c in &self.groups[group].children {
            if !seen[c] {
                seen[c] = true;
                ordered.push(c);
            }
        }
        let mut level: Vec<GroupId> = ordered[1..].to_vec();
        while !level.is_empty() {
            let mut next = Vec::new();
            for g in level {
                for &c in &self.groups[g].children {
                    if !seen[c] {
                        seen[c] = true;
                        ordered.push(c);
                        next.push(c);
                    }
                }
            }
            level = next;
        }
        ordered
    }

    /// The hosts of a group and of every group below it, without repeats.
    pub fn group_hosts(&self, group: GroupId) -> Vec<HostId> {
        let mut seen = vec![false; self.hosts.len()];
        let mut out = Vec::new();
        for g in self.descendants(group) {
            for &h in &self.groups[g].hosts {
                if !seen[h] {
                    seen[h] = true;
                    out.push(h);
                }
            }
        }
        out
    }

    /// Every group above `group` (not itself).
    pub fn ancestors(&self, group: GroupId) -> Vec<GroupId> {
        let mut seen = vec![false; self.groups.len()];
        let mut out = Vec::new();
        let mut stack = self.groups[group].parents.clone();
        while let Some(g) = stack.pop() {
            if !seen[g] {
                seen[g] = true;
                out.push(g);
                stack.extend(self.groups[g].parents.iter().copied());
            }
        }
        out
    }

    /// The groups a host belongs to, directly or through a child group, `all` included.
    pub fn host_groups(&self, host: HostId) -> Vec<GroupId> {
        let mut out: Vec<GroupId> = Vec::new();
        for &g in &self.hosts[host].groups {
            match self.lineage.get(g) {
                Some(line) => out.extend(line),
                // Before `reconcile` has indexed the groups.
                None => out.extend(std::iter::once(g).chain(self.ancestors(g))),
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// A host's variables merged in Ansible's order: `all`'s inventory vars, other groups'
    /// inventory vars (by depth, priority, name), `group_vars/all`, other `group_vars/`,
    /// the host's inventory vars, `host_vars/`.
    pub fn host_vars(&self, host: HostId) -> Vars {
        let mut groups: Vec<GroupId> = self
            .host_groups(host)
            .into_iter()
            .filter(|&g| g != ALL)
            .collect();
        groups.sort_by_key(|&g| self.rank[g]);
        let mut vars = self.groups[ALL].vars.clone();
        for &g in &groups {
            combine(&mut vars, &self.groups[g].vars);
        }
        const LAYERS: [VarLayer; 2] = [VarLayer::Inventory, VarLayer::Playbook];
        for layer in LAYERS {
            for (s, v) in &self.groups[ALL].file_vars {
                if self.layer(*s) == layer {
                    combine(&mut vars, v);
                }
            }
        }
        for layer in LAYERS {
            for source in (0..self.var_dirs.len()).filter(|s| self.layer(*s) == layer) {
                for &g in &groups {
                    for (s, v) in &self.groups[g].file_vars {
                        if *s == source {
                            combine(&mut vars, v);
                        }
                    }
                }
            }
        }
        let h = &self.hosts[host];
        combine(&mut vars, &h.vars);
        for layer in LAYERS {
            for (s, v) in &h.file_vars {
                if self.layer(*s) == layer {
                    combine(&mut vars, v);
                }
            }
        }
        vars
    }

    /// A group's own variables: inventory vars, then its `group_vars/` files.
    pub fn group_vars(&self, group: GroupId) -> Vars {
        let g = &self.groups[group];
        let mut vars = g.vars.clone();
        for (_, v) in &g.file_vars {
            combine(&mut vars, v);
        }
        vars
    }

    /// A host's own variables: inventory vars, then its `host_vars/` files.
    pub fn own_host_vars(&self, host: HostId) -> Vars {
        let h = &self.hosts[host];
        let mut vars = h.vars.clone();
        for (_, v) in &h.file_vars {
            combine(&mut vars, v);
        }
        vars
    }
}
