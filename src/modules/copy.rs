//! The `copy` module: puts `content` or a controller file (`src`, or a host file with
//! `remote_src`) at `dest` when its checksum differs, then sets mode/owner/group. A
//! controller directory is copied file by file (`tree` makes `dest/tree/...`, `tree/`
//! copies what is inside), its directories made as the `file` module makes them, as
//! Ansible's action does. [`put`] is the shared write path (`template` uses it too): one
//! probe command when nothing changes, one more to write.

use super::outcome::{Fail, fail, fail_with, finish};
use super::remote_file::{
    self, Attrs, Content, DIFF_MAX, ProbeOpts, Source, Write, content_diff, md5_hex, sha1_hex,
};
use super::{Args, Ctx, ModResult, ok};
use serde_json::{Value, json};

/// A file to put on the host.
#[derive(Debug)]
pub struct Put {
    pub dest: String,
    pub data: Data,
    pub attrs: Attrs,
    pub backup: bool,
    /// Replace a file whose content differs (`force: no` only creates).
    pub force: bool,
    /// When `dest` is a directory, write this name inside it.
    pub into_dir: Option<String>,
    /// A command (with `%s` for the new file) that must accept the file before it is moved.
    pub validate: Option<String>,
    /// The `src` key of the result.
    pub src: Option<String>,
    /// Make missing parent directories (`dest` ended with `/`, or a tree is copied), each
    /// with this `directory_mode` (`None`: as `mkdir` makes them) and the owner/group.
    pub make_parents: Option<Option<String>>,
}

/// The new content of a [`Put`].
#[derive(Debug)]
pub enum Data {
    Local(Vec<u8>),
    /// A file already on the host (`remote_src`).
    Remote(String),
}

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(copy(args, ctx).await)
}

async fn copy(args: &Args, ctx: &Ctx<'_>) -> Result<super::Vars, Fail> {
    let dest = args.req_str("dest")?;
    let src = args.str("src")?;
    let remote_src = args.bool_or("remote_src", false)?;
    let content = match args.get("content") {
        None => None,
        Some(Value::String(s)) => Some(s.clone().into_bytes()),
        // Ansible writes a dict or list `content:` as JSON.
        Some(v @ (Value::Object(_) | Value::Array(_))) => Some(v.to_string().into_bytes()),
        Some(_) => args.str("content")?.map(String::into_bytes),
    };
    // `mode: preserve` takes each source file's own mode.
    let preserve = args.str("mode")?.as_deref() == Some("preserve");
    let attrs = if preserve {
        Attrs {
            mode: None,
            owner: args.str("owner")?,
            group: args.str("group")?,
        }
    } else {
        Attrs::from_args(args)?
    };
    let directory_mode = args.mode("directory_mode")?;
    let base = |s: &str| {
        s.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(s)
            .to_string()
    };
    let spec = |dest: String, data: Data, into_dir: Option<String>| -> Result<Put, Fail> {
        // A `dest` ending in `/` is a directory: the file goes inside, made if missing.
        let (dest, into_dir, make_parents) = match into_dir {
            Some(name) if dest.ends_with('/') => {
                (format!("{dest}{name}"), None, Some(directory_mode.clone()))
            }
            other => (dest, other, None),
        };
        Ok(Put {
            dest,
            data,
            attrs: attrs.clone(),
            backup: args.bool_or("backup", false)?,
            force: args.bool_or("force", true)?,
            into_dir,
            validate: args.str("validate")?,
            src: args.str("src")?,
            make_parents,
        })
    };
    let put_spec = match (src, content) {
        (Some(_), Some(_)) => return fail("src and content are mutually exclusive"),
        (None, None) => return fail("src (or content) is required"),
        (None, Some(_)) if dest.ends_with('/') => {
            return fail("can not use content with a dir as dest");
        }
        (None, Some(c)) => spec(dest, Data::Local(c), None)?,
        (Some(s), None) if remote_src => spec(dest, Data::Remote(s.clone()), Some(base(&s)))?,
        (Some(s), None) => {
            let Some(path) = ctx.find_source(&s, "files") else {
                return fail(format!(
                    "Could not find or access '{s}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
                ));
            };
            if path.is_dir() {
                let tree = Tree::walk(&path, s.ends_with('/'), args.bool_or("local_follow", true)?)
                    .map_err(|e| Fail::Module(super::failed(e)))?;
                return copy_tree(ctx, args, tree, &dest, &path, |d, data| {
                    let mut p = spec(d, data, None)?;
                    p.make_parents = Some(directory_mode.clone());
                    Ok(p)
                })
                .await;
            }
            let mut p = match std::fs::read(&path) {
                Ok(b) => spec(dest, Data::Local(b), Some(base(&s)))?,
                Err(e) => return fail(format!("could not read {}: {e}", path.display())),
            };
            if preserve {
                p.attrs.mode = Some(local_mode(&path)?);
            }
            p
        }
    };
    put(ctx, put_spec).await
}

/// A controller directory to copy: its files, directories and (unfollowed) symlinks, each
/// with its path relative to the destination directory, in name order.
#[derive(Debug, Default)]
struct Tree {
    files: Vec<(std::path::PathBuf, String)>,
    dirs: Vec<String>,
    links: Vec<(String, String)>,
}

impl Tree {
    /// Walks `root`: with `contents` (`src` ended with `/`) what is inside it goes to the
    /// destination, else the directory itself. `follow`: symlinks are copied as what they
    /// point to (Ansible's `local_follow`); a broken or looping one stays a link.
    fn walk(root: &std::path::Path, contents: bool, follow: bool) -> Result<Tree, String> {
        use std::os::unix::fs::MetadataExt;
        let mut tree = Tree::default();
        let prefix = if contents {
            String::new()
        } else {
            format!(
                "{}/",
                root.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            )
        };
        let meta = std::fs::metadata(root).map_err(|e| format!("{}: {e}", root.display()))?;
        let mut stack = vec![(root.to_path_buf(), prefix, vec![(meta.dev(), meta.ino())])];
        while let Some((dir, rel, parents)) = stack.pop() {
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?
                .filter_map(Result::ok)
                .collect();
            entries.sort_by_key(|e| e.file_name());
            let mut subdirs = Vec::new();
            for e in entries {
                let path = e.path();
                let name = format!("{rel}{}", e.file_name().to_string_lossy());
                let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
                let target = std::fs::metadata(&path).ok().filter(|_| follow || !is_link);
                match target {
                    Some(m) if m.is_dir() => {
                        let id = (m.dev(), m.ino());
                        if parents.contains(&id) {
                            tree.links.push((read_link(&path), name));
                        } else {
                            let mut inner = parents.clone();
                            inner.push(id);
                            tree.dirs.push(name.clone());
                            subdirs.push((path, format!("{name}/"), inner));
                        }
                    }
                    Some(_) => tree.files.push((path, name)),
                    None if is_link => tree.links.push((read_link(&path), name)),
                    None => {}
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
        Ok(tree)
    }
}

fn read_link(path: &std::path::Path) -> String {
    std::fs::read_link(path).map_or_else(|_| String::new(), |t| t.to_string_lossy().into_owned())
}

/// The permission bits of a controller file, for `mode: preserve`.
fn local_mode(path: &std::path::Path) -> Result<String, Fail> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| format!("{:04o}", m.permissions().mode() & 0o7777))
        .map_err(|e| Fail::Module(super::failed(format!("{}: {e}", path.display()))))
}

/// Copies a [`Tree`] under `dest` (a directory): every file as a [`Put`], then every
/// directory and symlink with the `file` module, as Ansible's copy action does. The
/// result is the one file's own result, or `dest`/`src`/`changed` for several.
async fn copy_tree(
    ctx: &Ctx<'_>,
    args: &Args,
    tree: Tree,
    dest: &str,
    root: &std::path::Path,
    spec: impl Fn(String, Data) -> Result<Put, Fail>,
) -> Result<super::Vars, Fail> {
    let dest = if dest.ends_with('/') {
        dest.to_string()
    } else {
        format!("{dest}/")
    };
    let preserve = args.str("mode")?.as_deref() == Some("preserve");
    let mut changed = false;
    let mut last = None;
    for (local, rel) in &tree.files {
        let data = std::fs::read(local).map_err(|e| {
            Fail::Module(super::failed(format!(
                "could not read {}: {e}",
                local.display()
            )))
        })?;
        let mut p = spec(format!("{dest}{rel}"), Data::Local(data))?;
        p.src = Some(local.display().to_string());
        if preserve {
            p.attrs.mode = Some(local_mode(local)?);
        }
        let r = put(ctx, p).await?;
        changed |= r.get("changed") == Some(&Value::Bool(true));
        last = Some(r);
    }
    let common = |path: String, state: &str| {
        let mut m = super::Vars::new();
        for key in ["owner", "group"] {
            if let Some(v) = args.get(key) {
                m.insert(key.into(), v.clone());
            }
        }
        m.insert("path".into(), json!(path));
        m.insert("state".into(), json!(state));
        m
    };
    let mut file_tasks = Vec::new();
    for rel in &tree.dirs {
        let mut m = common(format!("{dest}{rel}"), "directory");
        if let Some(mode) = args.get("directory_mode") {
            m.insert("mode".into(), mode.clone());
        }
        file_tasks.push(m);
    }
    for (target, rel) in &tree.links {
        let mut m = common(format!("{dest}{rel}"), "link");
        m.insert("src".into(), json!(target));
        m.insert("force".into(), json!(true));
        file_tasks.push(m);
    }
    for m in file_tasks {
        let r = super::file::run(&Args::new("file", m), ctx).await?;
        if r.get("failed") == Some(&Value::Bool(true)) {
            return Err(Fail::Module(r));
        }
        changed |= r.get("changed") == Some(&Value::Bool(true));
    }
    match last {
        Some(r) if tree.files.len() == 1 => Ok(r),
        _ => {
            let mut r = ok(changed);
            r.insert("dest".into(), json!(dest));
            r.insert("src".into(), json!(root.display().to_string()));
            Ok(r)
        }
    }
}

/// Puts a file on the host: probes `dest` (checksum, attributes, and the old content for
/// `--diff`), then writes only what differs.
pub async fn put(ctx: &Ctx<'_>, p: Put) -> Result<super::Vars, Fail> {
    if let Some(v) = &p.validate
        && !v.contains("%s")
    {
        return fail(format!("validate must contain %s: {v}"));
    }
    let (new_sum, new_bytes) = match &p.data {
        Data::Local(b) => (sha1_hex(b), Some(b.as_slice())),
        Data::Remote(path) => {
            let src = remote_file::probe(
                ctx,
                path,
                &ProbeOpts {
                    follow: true,
                    ..ProbeOpts::default()
                },
            )
            .await?;
            match (src.kind(), src.checksum) {
                (Some(remote_file::Kind::File), Some(sum)) => (sum, None),
                (None, _) => return fail(format!("Source {path} not found")),
                _ => {
                    return fail(format!(
                        "horde copies only regular files with remote_src ({path})"
                    ));
                }
            }
        }
    };
    let opts = ProbeOpts {
        follow: true,
        content: if ctx.diff {
            Content::UpTo(DIFF_MAX)
        } else {
            Content::No
        },
        into_dir: p.into_dir.clone(),
        ..ProbeOpts::default()
    };
    let cur = remote_file::probe(ctx, &p.dest, &opts).await?;
    let dest = cur.path.clone();
    match cur.kind() {
        Some(remote_file::Kind::Dir) if p.into_dir.is_none() => {
            return fail("can not use content with a dir as dest");
        }
        Some(remote_file::Kind::Dir) => return fail(format!("{dest} is a directory")),
        // Check mode: the directory may be one an earlier task only pretended to make.
        None if !cur.parent_exists && p.make_parents.is_none() && !ctx.check => {
            let dir = dest
                .rsplit_once('/')
                .map_or(".", |(d, _)| if d.is_empty() { "/" } else { d });
            let mut extra = super::Vars::new();
            extra.insert("checksum".into(), json!(new_sum));
            return fail_with(format!("Destination directory {dir} does not exist"), extra);
        }
        _ => {}
    }
    let mut r = ok(false);
    if cur.exists() && !p.force {
        r.insert("dest".into(), json!(dest));
        r.insert("src".into(), json!(p.src));
        r.insert("msg".into(), json!("file already exists"));
        return Ok(r);
    }
    let content_changed = cur.checksum.as_deref() != Some(new_sum.as_str());
    let change = p
        .attrs
        .change(cur.stat.as_ref(), false, cur.umask)
        .map_err(|e| Fail::Module(super::failed(e)))?;
    let changed = content_changed || change.any();
    if ctx.diff && content_changed {
        let d = match (&cur.content, new_bytes) {
            (_, None) => json!({"before_header": dest, "after_header": dest, "src_binary": 1}),
            (Some(before), Some(after)) => content_diff(Some(before), after, &dest),
            (None, Some(after)) if !cur.exists() => content_diff(None, after, &dest),
            (None, Some(_)) => {
                json!({"before_header": dest, "after_header": dest, "dst_larger": DIFF_MAX})
            }
        };
        r.insert("diff".into(), d);
    }
    r.insert("changed".into(), json!(changed));
    r.insert("dest".into(), json!(dest));
    if let Some(src) = &p.src {
        r.insert("src".into(), json!(src));
    }
    r.insert("checksum".into(), json!(new_sum));
    if ctx.check || !changed {
        if let Some(st) = &cur.stat {
            if !changed {
                r.insert("path".into(), json!(dest));
            }
            st.result_keys(&mut r);
        }
        return Ok(r);
    }
    let existing_perm = cur.stat.as_ref().map(|s| s.perm());
    let dir_mode = match p.make_parents.as_ref().and_then(Option::as_deref) {
        Some(m) => Some(
            remote_file::resolve_mode(m, 0o777 & !cur.umask, true)
                .map_err(|e| Fail::Module(super::failed(e)))?,
        ),
        None => None,
    };
    let make_parents = p.make_parents.as_ref().map(|_| remote_file::NewDirs {
        mode: dir_mode,
        owner: p.attrs.owner.as_deref(),
        group: p.attrs.group.as_deref(),
    });
    let write = Write {
        dest: &dest,
        content: content_changed.then(|| match &p.data {
            Data::Local(b) => Source::Bytes(b.clone()),
            Data::Remote(path) => Source::Remote(path.clone()),
        }),
        mode: if content_changed {
            change.mode.or(existing_perm)
        } else {
            change.mode
        },
        owner: change.owner.as_deref(),
        group: change.group.as_deref(),
        keep_ids: cur.stat.as_ref().map(|s| (s.uid, s.gid)),
        backup: p.backup && content_changed,
        make_parents,
        validate: p.validate.as_deref(),
        umask: Some(cur.umask),
    };
    let done = remote_file::write(ctx, write).await?;
    if let (true, Some(b)) = (content_changed, new_bytes) {
        r.insert("md5sum".into(), json!(md5_hex(b)));
    }
    done.stat.result_keys(&mut r);
    if let Some(b) = done.backup_file {
        r.insert("backup_file".into(), json!(b));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, mode_of};
    use serde_json::json;

    #[tokio::test]
    async fn content_is_written_once_with_mode_and_backup() {
        let h = TestHost::new();
        let dest = h.path("a.txt");
        let r = h
            .run(
                "copy",
                json!({"content": "hello\n", "dest": dest, "mode": "0600"}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(mode_of(&dest), 0o600);
        assert_eq!(r["checksum"], "f572d396fae9206628714fb2ce00f72e94f2258f");
        assert_eq!(r["mode"], "0600");
        let r = h
            .run(
                "copy",
                json!({"content": "hello\n", "dest": dest, "mode": "0600"}),
            )
            .await;
        assert_eq!(r["changed"], false, "{r:?}");
        let r = h
            .run(
                "copy",
                json!({"content": "bye\n", "dest": dest, "backup": true}),
            )
            .await;
        assert_eq!(r["changed"], true);
        let backup = r["backup_file"].as_str().unwrap();
        assert_eq!(std::fs::read_to_string(backup).unwrap(), "hello\n");
        assert!(backup.ends_with('~') && backup.starts_with(&dest));
        assert_eq!(mode_of(&dest), 0o600, "a rewrite keeps the old mode");
    }

    #[tokio::test]
    async fn new_files_get_the_umask_default_and_mode_alone_changes() {
        let h = TestHost::new();
        let dest = h.path("b");
        let r = h.run("copy", json!({"content": "x", "dest": dest})).await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&dest), 0o666 & !h.umask());
        let r = h
            .run(
                "copy",
                json!({"content": "x", "dest": dest, "mode": "u=rw,go="}),
            )
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&dest), 0o600);
        let r = h
            .run(
                "copy",
                json!({"content": "x", "dest": dest, "mode": "u=rw,go="}),
            )
            .await;
        assert_eq!(r["changed"], false);
    }

    #[tokio::test]
    async fn check_mode_changes_nothing_and_diff_shows_content() {
        let h = TestHost::new();
        let dest = h.path("c");
        std::fs::write(&dest, "old\n").unwrap();
        let r = h
            .check_diff()
            .run("copy", json!({"content": "new\n", "dest": dest}))
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        assert_eq!(r["diff"]["before"], "old\n");
        assert_eq!(r["diff"]["after"], "new\n");
        assert_eq!(r["diff"]["after_header"], dest);
    }

    #[tokio::test]
    async fn src_is_found_and_copied_into_a_directory() {
        let h = TestHost::new();
        std::fs::create_dir(h.path("files")).unwrap();
        std::fs::write(h.path("files/app.conf"), "k=v\n").unwrap();
        std::fs::create_dir(h.path("etc")).unwrap();
        let r = h
            .run("copy", json!({"src": "app.conf", "dest": h.path("etc")}))
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(
            std::fs::read_to_string(h.path("etc/app.conf")).unwrap(),
            "k=v\n"
        );
        assert_eq!(r["dest"], h.path("etc/app.conf"));
    }

    #[tokio::test]
    async fn failures_name_the_problem() {
        let h = TestHost::new();
        let r = h
            .run("copy", json!({"src": "nope.conf", "dest": h.path("x")}))
            .await;
        assert_eq!(r["failed"], true);
        assert!(r["msg"].as_str().unwrap().contains("'nope.conf'"), "{r:?}");
        let r = h
            .run(
                "copy",
                json!({"content": "x", "dest": h.path("no/such/dir/x")}),
            )
            .await;
        assert_eq!(r["failed"], true);
        assert!(
            r["msg"].as_str().unwrap().contains("does not exist"),
            "{r:?}"
        );
        let r = h
            .run("copy", json!({"content": "x", "dest": h.dir()}))
            .await;
        assert_eq!(r["msg"], "can not use content with a dir as dest");
        let r = h
            .run(
                "copy",
                json!({"content": "x", "dest": h.path("v"), "validate": "false %s"}),
            )
            .await;
        assert_eq!(r["failed"], true);
        assert!(!std::path::Path::new(&h.path("v")).exists());
    }

    #[tokio::test]
    async fn remote_src_copies_on_the_host() {
        let h = TestHost::new();
        std::fs::write(h.path("orig"), "data").unwrap();
        let args = json!({"src": h.path("orig"), "dest": h.path("copy"), "remote_src": true});
        assert_eq!(h.run("copy", args.clone()).await["changed"], true);
        assert_eq!(std::fs::read_to_string(h.path("copy")).unwrap(), "data");
        assert_eq!(h.run("copy", args).await["changed"], false);
    }

    fn tree(h: &TestHost) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::create_dir_all(h.path("files/tree/sub")).unwrap();
        std::fs::create_dir_all(h.path("files/tree/empty")).unwrap();
        std::fs::write(h.path("files/tree/a.txt"), "a\n").unwrap();
        std::fs::write(h.path("files/tree/sub/b.txt"), "b\n").unwrap();
        std::fs::write(h.path("files/tree/sub/tool.sh"), "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(
            h.path("files/tree/sub/tool.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_directory_is_copied_with_its_name() {
        let h = TestHost::new();
        tree(&h);
        let args = json!({"src": "tree", "dest": h.path("out")});
        let r = h.run("copy", args.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(r["dest"], format!("{}/", h.path("out")));
        assert_eq!(
            std::fs::read_to_string(h.path("out/tree/sub/b.txt")).unwrap(),
            "b\n"
        );
        assert!(std::path::Path::new(&h.path("out/tree/empty")).is_dir());
        let default = 0o666 & !h.umask();
        assert_eq!(mode_of(&h.path("out/tree/sub/tool.sh")), default);
        assert_eq!(mode_of(&h.path("out/tree/sub")), 0o777 & !h.umask());
        assert_eq!(h.run("copy", args).await["changed"], false);
        let r = h
            .check()
            .run("copy", json!({"src": "tree", "dest": h.path("other/")}))
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert!(!std::path::Path::new(&h.path("other")).exists());
    }

    #[tokio::test]
    async fn a_trailing_slash_copies_the_contents_with_directory_mode() {
        let h = TestHost::new();
        tree(&h);
        let args = json!({"src": "tree/", "dest": h.path("flat"), "directory_mode": "0700", "mode": "preserve"});
        let r = h.run("copy", args.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        for d in ["flat", "flat/sub", "flat/empty"] {
            assert_eq!(mode_of(&h.path(d)), 0o700, "{d}");
        }
        assert_eq!(mode_of(&h.path("flat/sub/tool.sh")), 0o755);
        assert_eq!(
            std::fs::read_to_string(h.path("flat/a.txt")).unwrap(),
            "a\n"
        );
        assert_eq!(h.run("copy", args).await["changed"], false);
    }

    #[tokio::test]
    async fn a_dest_ending_in_a_slash_is_made() {
        let h = TestHost::new();
        std::fs::write(h.path("motd"), "hi\n").unwrap();
        let dest = format!("{}/", h.path("new/dir"));
        let r = h
            .run(
                "copy",
                json!({"src": "motd", "dest": dest, "directory_mode": "u=rwx,g=rx,o="}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(r["dest"], h.path("new/dir/motd"));
        assert_eq!(mode_of(&h.path("new")), 0o750);
        assert_eq!(mode_of(&h.path("new/dir")), 0o750);
        let r = h.run("copy", json!({"content": "x", "dest": dest})).await;
        assert_eq!(r["msg"], "can not use content with a dir as dest");
    }

    #[tokio::test]
    async fn check_mode_into_a_missing_directory_is_a_change() {
        let h = TestHost::new();
        let r = h
            .check()
            .run(
                "copy",
                json!({"content": "x", "dest": h.path("made-earlier/f")}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert!(r.get("failed").is_none());
    }
}
