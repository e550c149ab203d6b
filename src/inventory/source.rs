//! Turns `-i` arguments into one [`Inventory`]: files (YAML, JSON, INI), directories of
//! them, executable scripts and comma lists, merged in order, then reconciled and given
//! their `group_vars/` and `host_vars/`.

use super::error::{ErrorKind, InventoryError, Origin};
use super::model::{Inventory, UNGROUPED, VarLayer};
use super::{ini, range, script, varsdir, yamlfile};
use crate::yaml;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const SOURCE: &str = "inventory source";

/// Extensions Ansible skips in inventory directories (its `INVENTORY_IGNORE_EXTS`).
const IGNORED_EXTS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// A loaded inventory and the warnings Ansible would print while loading it.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub inventory: Inventory,
    pub warnings: Vec<String>,
}

/// Loads every source in order into one inventory.
pub fn load(sources: &[String]) -> Result<Loaded, InventoryError> {
    let mut inv = Inventory::new();
    let mut warnings = Vec::new();
    let mut var_dirs = Vec::new();
    for source in sources {
        let path = Path::new(source);
        if source.contains(',') && !path.exists() {
            host_list(&mut inv, source);
            continue;
        }
        if !path.exists() {
            return Err(InventoryError::new(Origin::file(path), ErrorKind::Missing));
        }
        parse_path(&mut inv, path, &mut warnings)?;
        var_dirs.push(if path.is_dir() {
            path.to_path_buf()
        } else {
            path.parent().map(Path::to_path_buf).unwrap_or_default()
        });
    }
    inv.reconcile();
    for name in inv.host_group_name_clashes() {
        warnings.push(format!("Found both group and host with same name: {name}"));
    }
    inv.var_dirs = var_dirs
        .into_iter()
        .map(|d| (d, VarLayer::Inventory))
        .collect();
    for i in 0..inv.var_dirs.len() {
        let dir = inv.var_dirs[i].0.clone();
        varsdir::load(&mut inv, &dir, i)?;
    }
    Ok(Loaded {
        inventory: inv,
        warnings,
    })
}

/// `a,b:2222,c` — Ansible's `host_list` plugin: no ranges, hosts go to `ungrouped`.
fn host_list(inv: &mut Inventory, list: &str) {
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, port) = match range::split_port(item) {
            Some((name, port)) if !name.contains('[') => (name, port),
            _ => (item.to_string(), None),
        };
        if inv.host_id(&name).is_none() {
            inv.add_host(&name, Some(UNGROUPED), port, None);
        }
    }
}

fn ignored(name: &str) -> bool {
    name.starts_with('.')
        || matches!(name, "host_vars" | "group_vars" | "vars_plugins")
        || IGNORED_EXTS.iter().any(|ext| name.ends_with(ext))
}

fn parse_path(
    inv: &mut Inventory,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    if path.is_dir() {
        let rd = std::fs::read_dir(path).map_err(|e| InventoryError::read(path, SOURCE, e))?;
        let mut names: Vec<String> = rd
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names.iter().filter(|n| !ignored(n)) {
            parse_path(inv, &path.join(name), warnings)?;
        }
        return Ok(());
    }
    parse_file(inv, path, warnings)
}

fn parse_file(
    inv: &mut Inventory,
    path: &Path,
    warnings: &mut Vec<String>,
) -> Result<(), InventoryError> {
    let meta = std::fs::metadata(path).map_err(|e| InventoryError::read(path, SOURCE, e))?;
    let bytes = std::fs::read(path).map_err(|e| InventoryError::read(path, SOURCE, e))?;
    if meta.permissions().mode() & 0o111 != 0 {
        let mut script_warnings = Vec::new();
        match script::parse(inv, path, &mut |w| script_warnings.push(w)) {
            Ok(()) => {
                warnings.extend(script_warnings);
                return Ok(());
            }
            // A data file that merely has an execute bit falls through to the readers below,
            // as in Ansible; a real script's failure is the error.
            Err(e) if bytes.starts_with(b"#!") || bytes.contains(&0) => return Err(e),
            Err(_) => {}
        }
    }
    let ext = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    if ext.as_deref() == Some("toml") {
        return Err(InventoryError::syntax(
            Origin::file(path),
            "TOML inventories are not supported by horde (use YAML or INI)",
        ));
    }
    let text = yaml::decode_source(bytes)
        .map_err(|e| InventoryError::syntax(Origin::at(path, e.pos), e.message))?;
    let yaml_ext = matches!(ext.as_deref(), Some("yml" | "yaml" | "json"));
    if is_blank(&text) {
        // Ansible reads an empty file as an empty inventory; say so, since it is often a slip.
        warnings.push(format!("{}: the inventory file is empty", path.display()));
        return Ok(());
    }
    if !(yaml_ext || ext.is_none()) {
        return ini::parse(inv, path, &text);
    }
    let yaml_err = match yaml::load_data(&text) {
        Ok(Some(doc)) if doc.as_map().is_some() => {
            return yamlfile::parse(inv, path, Some(doc), &mut |w| warnings.push(w));
        }
        // A .yml/.yaml/.json file that is valid YAML but no mapping (empty, a list) is an
        // error; only a file without extension may turn out to be INI.
        Ok(doc) if yaml_ext => return yamlfile::parse(inv, path, doc, &mut |_| {}),
        Ok(doc) => match yamlfile::parse(&mut Inventory::new(), path, doc, &mut |_| {}) {
            Err(e) => e,
            Ok(()) => return Ok(()),
        },
        Err(e) => InventoryError::syntax(
            Origin::at(path, e.pos),
            format!("invalid YAML: {}", e.message),
        ),
    };
    // Not a YAML inventory: try INI, as Ansible does; report the error of the format the
    // file claims (by extension) to be.
    match ini::parse(inv, path, &text) {
        Ok(()) => Ok(()),
        Err(ini_err) => Err(if yaml_ext { yaml_err } else { ini_err }),
    }
}

/// True for a file with nothing but blank lines and `#`/`;` comments.
fn is_blank(text: &str) -> bool {
    text.lines()
        .map(str::trim)
        .all(|l| l.is_empty() || l.starts_with(['#', ';']))
}
