//! The YAML (and JSON) inventory format, read as Ansible's `yaml` plugin reads it: top keys
//! are groups, each with optional `hosts`, `children` and `vars` mappings.

use super::error::{ErrorKind, InventoryError, Origin};
use super::model::{GroupId, Inventory};
use super::range::expand_host_pattern;
use crate::yaml::{Node, NodeKind};
use std::path::Path;

/// Reads a loaded YAML document into `inv`. `warn` receives Ansible's warnings.
pub fn parse(
    inv: &mut Inventory,
    path: &Path,
    doc: Option<Node>,
    warn: &mut dyn FnMut(String),
) -> Result<(), InventoryError> {
    let Some(doc) = doc else {
        return Err(InventoryError::syntax(
            Origin::file(path),
            "the YAML inventory is empty",
        ));
    };
    let Some(pairs) = doc.as_map() else {
        return Err(InventoryError::syntax(
            Origin::at(path, doc.pos),
            format!(
                "a YAML inventory must be a mapping of group names (like `all:`), found a {}",
                doc.type_name()
            ),
        ));
    };
    if let Some((k, _)) = pairs.iter().find(|(k, _)| k.as_str() == Some("plugin")) {
        return Err(InventoryError::syntax(
            Origin::at(path, k.pos),
            "this is an inventory plugin configuration (`plugin:`); horde reads YAML, INI and script inventories, not inventory plugins",
        ));
    }
    let mut reader = Reader {
        inv,
        path,
        source: path.display().to_string(),
        warn,
    };
    for (name, data) in pairs {
        reader.group(name, data)?;
    }
    Ok(())
}

struct Reader<'a> {
    inv: &'a mut Inventory,
    path: &'a Path,
    source: String,
    warn: &'a mut dyn FnMut(String),
}

impl Reader<'_> {
    fn origin(&self, node: &Node) -> Origin {
        Origin::at(self.path, node.pos)
    }

    fn warn(&mut self, message: String) {
        (self.warn)(message);
    }

    fn group(&mut self, name: &Node, data: &Node) -> Result<Option<GroupId>, InventoryError> {
        let Some(group_name) = name.as_str() else {
            return Err(InventoryError::syntax(
                self.origin(name),
                format!(
                    "a group name must be a string, found {} {}",
                    name.type_name(),
                    name.key_string()
                ),
            ));
        };
        if group_name.is_empty() {
            return Err(InventoryError::syntax(
                self.origin(name),
                "a group name must not be empty",
            ));
        }
        let section_pairs = match &data.kind {
            NodeKind::Null => None,
            NodeKind::Map(pairs) => Some(pairs),
            _ => {
                {
                    let m = format!(
                        "{}: skipping {group_name:?}: a group must be a mapping (with hosts, children, vars), found a {}",
                        self.origin(data),
                        data.type_name()
                    );
                    self.warn(m);
                }
                return Ok(None);
            }
        };
        let group = self.inv.add_group(group_name);
        let Some(pairs) = section_pairs else {
            return Ok(Some(group));
        };
        for (key, value) in pairs {
            let key_name = key.key_string();
            let entries: std::borrow::Cow<[(Node, Node)]> = match &value.kind {
                NodeKind::Null => continue,
                NodeKind::Map(p) => std::borrow::Cow::Borrowed(p),
                // A lone string is one entry with no value (`hosts: web1`).
                NodeKind::Str(_) if matches!(key_name.as_str(), "hosts" | "children" | "vars") => {
                    std::borrow::Cow::Owned(vec![(
                        value.clone(),
                        Node {
                            kind: NodeKind::Null,
                            pos: value.pos,
                        },
                    )])
                }
                _ if matches!(key_name.as_str(), "hosts" | "children" | "vars") => {
                    return Err(InventoryError::syntax(
                        self.origin(value),
                        format!(
                            "{key_name:?} of group {group_name:?} must be a mapping, found a {}{}",
                            value.type_name(),
                            if matches!(value.kind, NodeKind::Seq(_)) {
                                " (write `name:` entries, not `- name` items)"
                            } else {
                                ""
                            }
                        ),
                    ));
                }
                _ => {
                    {
                        let m = format!(
                            "{}: skipping key {key_name:?} in group {group_name:?}: it is not a mapping",
                            self.origin(key)
                        );
                        self.warn(m);
                    }
                    continue;
                }
            };
            match key_name.as_str() {
                "vars" => {
                    for (k, v) in entries.iter() {
                        self.inv.set_group_var(group, &k.key_string(), v.to_value());
                    }
                }
                "children" => {
                    for (child_name, child_data) in entries.iter() {
                        if let Some(child) = self.group(child_name, child_data)? {
                            self.inv.add_child(group, child, &self.origin(child_name))?;
                        }
                    }
                }
                "hosts" => {
                    for (pattern, host_vars) in entries.iter() {
                        self.hosts(group, pattern, host_vars)?;
                    }
                }
                other => {
                    let m = format!(
                        "{}: skipping unexpected key {other:?} in group {group_name:?}: only \"vars\", \"children\" and \"hosts\" are valid",
                        self.origin(key)
                    );
                    self.warn(m);
                }
            }
        }
        Ok(Some(group))
    }

    fn hosts(&mut self, group: GroupId, pattern: &Node, vars: &Node) -> Result<(), InventoryError> {
        let Some(text) = pattern.as_str() else {
            return Err(InventoryError::syntax(
                self.origin(pattern),
                format!(
                    "host name {} must be a string (quote numbers: \"{}\")",
                    pattern.key_string(),
                    pattern.key_string()
                ),
            ));
        };
        let (names, port) = expand_host_pattern(text).map_err(|reason| {
            InventoryError::new(
                self.origin(pattern),
                ErrorKind::Range {
                    text: text.to_string(),
                    reason,
                },
            )
        })?;
        let pairs: &[(Node, Node)] = match &vars.kind {
            NodeKind::Null => &[],
            NodeKind::Map(p) => p,
            _ => {
                return Err(InventoryError::syntax(
                    self.origin(vars),
                    format!(
                        "variables of host {text:?} must be a mapping, found a {}",
                        vars.type_name()
                    ),
                ));
            }
        };
        let values: Vec<(String, serde_json::Value)> = pairs
            .iter()
            .map(|(k, v)| (k.key_string(), v.to_value()))
            .collect();
        for name in names {
            let h = self
                .inv
                .add_host(&name, Some(group), port, Some(&self.source));
            for (k, v) in &values {
                self.inv.set_var_by_name(h, k, v.clone());
            }
        }
        Ok(())
    }
}
