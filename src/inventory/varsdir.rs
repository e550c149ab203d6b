//! `group_vars/` and `host_vars/` beside an inventory source, found as Ansible's
//! `host_group_vars` plugin finds them: `NAME`, `NAME.yml`, `NAME.yaml` or `NAME.json` (the
//! first that exists), or a directory `NAME/` whose files are read in sorted order.

use super::error::{InventoryError, Origin};
use super::model::Inventory;
use crate::vars::{Vars, combine};
use crate::yaml;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

const EXTENSIONS: [&str; 4] = ["", ".yml", ".yaml", ".json"];

/// Loads `group_vars/` and `host_vars/` of `dir` (source number `source`) into `inv`.
pub fn load(inv: &mut Inventory, dir: &Path, source: usize) -> Result<(), InventoryError> {
    let group_dir = dir.join("group_vars");
    if let Some(entries) = list(&group_dir) {
        for g in 0..inv.group_count() {
            let name = inv.group(g).name.clone();
            if let Some(vars) = find(&group_dir, &entries, &name)? {
                inv.groups[g].file_vars.push((source, vars));
            }
        }
    }
    let host_dir = dir.join("host_vars");
    if let Some(entries) = list(&host_dir) {
        for h in 0..inv.host_count() {
            let name = inv.host(h).name.clone();
            if let Some(vars) = find(&host_dir, &entries, &name)? {
                inv.hosts[h].file_vars.push((source, vars));
            }
        }
    }
    Ok(())
}

fn list(dir: &Path) -> Option<HashSet<String>> {
    let rd = std::fs::read_dir(dir).ok()?;
    Some(
        rd.filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect(),
    )
}

fn find(dir: &Path, entries: &HashSet<String>, name: &str) -> Result<Option<Vars>, InventoryError> {
    for ext in EXTENSIONS {
        let candidate = format!("{name}{ext}");
        if !entries.contains(&candidate) {
            continue;
        }
        let path = dir.join(&candidate);
        let files = if path.is_dir() {
            dir_files(&path)
        } else {
            vec![path]
        };
        let mut vars = Vars::new();
        for file in files {
            combine(&mut vars, &read_vars_file(&file)?);
        }
        return Ok(Some(vars));
    }
    Ok(None)
}

fn dir_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut names: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut out = Vec::new();
    for name in names {
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        let path = dir.join(&name);
        let ext = Path::new(&name)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()));
        if path.is_dir() && ext.is_none() {
            out.extend(dir_files(&path));
        } else if path.is_file() && ext.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            out.push(path);
        }
    }
    out
}

/// Reads one variables file: a mapping, or nothing at all.
pub fn read_vars_file(path: &Path) -> Result<Vars, InventoryError> {
    let bytes = std::fs::read(path).map_err(|e| InventoryError::read(path, "variables file", e))?;
    let text = yaml::decode_source(bytes)
        .map_err(|e| InventoryError::syntax(Origin::at(path, e.pos), e.message))?;
    let doc = yaml::load_data(&text)
        .map_err(|e| InventoryError::syntax(Origin::at(path, e.pos), e.message))?;
    match doc {
        None => Ok(Vars::new()),
        Some(node) => match node.to_value() {
            serde_json::Value::Object(map) => Ok(map),
            serde_json::Value::Null => Ok(Vars::new()),
            _ => Err(InventoryError::syntax(
                Origin::at(path, node.pos),
                format!(
                    "a variables file must hold a mapping, found a {}",
                    node.type_name()
                ),
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file: &str, write: impl FnOnce(&Path)) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("group_vars")).unwrap();
        write(&dir.path().join("group_vars").join(file));
        let mut inv = Inventory::new();
        inv.add_group("web");
        let err = load(&mut inv, dir.path(), 0).unwrap_err().to_string();
        (dir, err)
    }

    #[test]
    fn non_utf8_vars_files_name_line_and_column() {
        let (dir, err) = load_with("web.yml", |p| {
            std::fs::write(p, b"a: 1\nowner: Ren\xc3\xa9 \xe9\n").unwrap()
        });
        let file = dir.path().join("group_vars/web.yml");
        assert_eq!(
            err,
            format!(
                "{}:2:13: the file is not valid UTF-8 (byte 0xe9)",
                file.display()
            )
        );
    }

    #[test]
    fn unreadable_vars_files_are_not_called_inventory_sources() {
        let (dir, err) = load_with("web.yml", |p| {
            std::os::unix::fs::symlink("nowhere", p).unwrap()
        });
        let file = dir.path().join("group_vars/web.yml");
        assert_eq!(
            err,
            format!("{}: cannot read variables file", file.display())
        );
    }
}
