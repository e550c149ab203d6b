//! The `copy` module: puts `content` or a controller file (`src`, or a host file with
//! `remote_src`) at `dest` when its checksum differs, then sets mode/owner/group.
//! [`put`] is the shared write path (`template` uses it too): one probe command when
//! nothing changes, one more to write.

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
    let base = |s: &str| {
        s.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(s)
            .to_string()
    };
    let (data, into_dir) = match (src, content) {
        (Some(_), Some(_)) => return fail("src and content are mutually exclusive"),
        (None, None) => return fail("src (or content) is required"),
        (None, Some(c)) => (Data::Local(c), None),
        (Some(s), None) if remote_src => (Data::Remote(s.clone()), Some(base(&s))),
        (Some(s), None) => {
            let Some(path) = ctx.find_source(&s, "files") else {
                return fail(format!(
                    "Could not find or access '{s}' on the Ansible Controller.\nIf you are using a module and expect the file to exist on the remote, see the remote_src option"
                ));
            };
            if path.is_dir() {
                return fail(format!(
                    "horde does not copy directories yet (src={s}); use a file, or synchronize/unarchive"
                ));
            }
            match std::fs::read(&path) {
                Ok(b) => (Data::Local(b), Some(base(&s))),
                Err(e) => return fail(format!("could not read {}: {e}", path.display())),
            }
        }
    };
    let put_spec = Put {
        dest,
        data,
        attrs: Attrs::from_args(args)?,
        backup: args.bool_or("backup", false)?,
        force: args.bool_or("force", true)?,
        into_dir,
        validate: args.str("validate")?,
        src: args.str("src")?,
    };
    put(ctx, put_spec).await
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
        None if !cur.parent_exists => {
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
        make_parents: false,
        validate: p.validate.as_deref(),
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
}
