//! `horde inventory`: the inventory as `ansible-inventory` prints it.

use super::args::{InventoryArgs, InventorySource};
use super::exit::{Exit, UsageError};
use anyhow::{Context, Result};
use horde::inventory::{self, Inventory, render};
use horde::vars::python_json;
use horde::yaml::to_yaml_string;

/// Loads the `-i` sources, printing Ansible's warnings.
pub fn load(source: &InventorySource) -> Result<Inventory> {
    if source.inventory.is_empty() {
        return Err(UsageError(
            "no inventory given: pass -i FILE, -i DIR, -i SCRIPT or -i 'host1,host2,' (or set ANSIBLE_INVENTORY)".into(),
        )
        .into());
    }
    let loaded = inventory::load(&source.inventory)?;
    for w in &loaded.warnings {
        super::warn(w);
    }
    Ok(loaded.inventory)
}

pub fn run(args: InventoryArgs) -> Result<Exit> {
    let mut inv = load(&args.source)?;
    // As ansible-inventory: the current directory's group_vars/ count as the playbook's for
    // merged host vars, but --export shows them only for an explicit --playbook-dir.
    match &args.playbook_dir {
        Some(dir) => inv.add_playbook_vars(dir)?,
        None if !args.export => inv.add_playbook_vars(std::path::Path::new(""))?,
        None => {}
    }
    let selected = match &args.source.limit {
        Some(limit) => {
            let sel = inventory::select(&inv, "all", Some(limit))?;
            for w in &sel.warnings {
                super::warn(w);
            }
            Some(sel.hosts)
        }
        None => None,
    };
    let text = if args.graph {
        let group = args.group.as_deref().unwrap_or("all");
        render::graph(&inv, group, args.show_vars).ok_or_else(|| {
            UsageError(format!(
                "--graph needs a group name, and there is no group {group:?}"
            ))
        })?
    } else if let Some(host) = &args.host {
        let vars = render::host(&inv, host)
            .ok_or_else(|| anyhow::anyhow!("there is no host {host:?} in the inventory"))?;
        format_value(&vars, args.yaml)
    } else {
        let value = if args.yaml {
            render::list_yaml(&inv, selected.as_deref(), args.export)
        } else {
            render::list(&inv, selected.as_deref(), args.export)
        };
        format_value(&value, args.yaml)
    };
    match &args.output {
        Some(path) => std::fs::write(path, format!("{text}\n"))
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => println!("{text}"),
    }
    Ok(Exit::Ok)
}

fn format_value(value: &serde_json::Value, yaml: bool) -> String {
    if yaml {
        let text = to_yaml_string(value);
        text.trim_end_matches('\n').to_string()
    } else {
        python_json(value)
    }
}
