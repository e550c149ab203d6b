//! The `file` module: a path's state (`file`, `directory`, `touch`, `absent`, `link`,
//! `hard`) and its mode/owner/group, from one probe command and, when something differs,
//! one command that changes it and reports the new state. `recurse` applies the mode and
//! owner/group under a directory (a symbolic mode resolved for each distinct mode found
//! there, as Ansible resolves it per file).

use super::outcome::{Fail, fail, fail_with, finish};
use super::remote_file::{self, AttrChange, Attrs, Kind, NewDirs, ProbeOpts, Stat, stat_lines};
use super::{Args, Ctx, ModResult, failed, ok};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(file(args, ctx).await)
}

async fn file(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let path = args.req_str("path")?;
    let state = args.choice(
        "state",
        &["absent", "directory", "file", "hard", "link", "touch"],
        None,
    )?;
    let src = args.str("src")?;
    let recurse = args.bool_or("recurse", false)?;
    let force = args.bool_or("force", false)?;
    let attrs = Attrs::from_args(args)?;
    if src.is_some() && !matches!(state.as_deref(), Some("link" | "hard") | None) {
        return fail("src option requires state to be 'link' or 'hard'");
    }
    if recurse && !matches!(state.as_deref(), Some("directory") | None) {
        return fail("recurse option requires state to be 'directory'");
    }
    let follow = args.bool_or("follow", true)?
        && !matches!(state.as_deref(), Some("link" | "hard" | "absent"));
    let opts = ProbeOpts {
        follow,
        checksum: None,
        ..ProbeOpts::default()
    };
    let p = remote_file::probe(ctx, &path, &opts).await?;
    let prev = p.stat.as_ref().map_or("absent", Stat::state);
    let state = match state {
        Some(s) => s,
        None if recurse => "directory".into(),
        None if src.is_some() => "link".into(),
        None if p.exists() => prev.to_string(),
        None => "file".into(),
    };
    let qp = quote(&path);
    let mut before = Vars::new();
    let mut after = Vars::new();
    before.insert("path".into(), json!(path));
    after.insert("path".into(), json!(path));
    // The command that brings the path to its state (before attributes), if any.
    let mut action: Option<String> = None;
    let mut attrs_apply = true;
    let mut hard_check = false;
    let mut new_dir = false;
    match state.as_str() {
        "absent" => {
            let mut r = ok(p.exists());
            r.insert("path".into(), json!(path));
            r.insert("state".into(), json!("absent"));
            if p.exists() {
                if ctx.diff {
                    before.insert("state".into(), json!(prev));
                    after.insert("state".into(), json!("absent"));
                    r.insert("diff".into(), json!({"before": before, "after": after}));
                }
                if !ctx.check {
                    let out = ctx.sh(&format!("rm -rf -- {qp}"), None).await?;
                    if out.status.rc() != 0 {
                        return fail(format!(
                            "rmtree failed: {}",
                            String::from_utf8_lossy(&out.stderr).trim()
                        ));
                    }
                }
            }
            return Ok(r);
        }
        "file" => match p.kind() {
            None => {
                let mut extra = Vars::new();
                extra.insert("path".into(), json!(path));
                extra.insert("state".into(), json!("absent"));
                return fail_with(format!("file ({path}) is absent, cannot continue"), extra);
            }
            Some(Kind::Dir) => {
                return fail_with(
                    format!("file ({path}) is directory, cannot continue"),
                    stat_result(&path, p.stat.as_ref()),
                );
            }
            _ => {}
        },
        "directory" => match p.kind() {
            None => {
                // The command is made below, once the attributes each new level gets are known.
                new_dir = true;
                action = Some(String::new());
                before.insert("state".into(), json!("absent"));
                after.insert("state".into(), json!("directory"));
            }
            Some(Kind::Dir) => {}
            Some(_) => {
                return fail_with(
                    format!("{path} already exists as a {prev}"),
                    stat_result(&path, p.stat.as_ref()),
                );
            }
        },
        "touch" => {
            if p.kind().is_none() && !p.parent_exists {
                return fail(format!(
                    "Error, could not touch target: [Errno 2] No such file or directory: '{path}'"
                ));
            }
            if !p.exists() {
                action = Some(format!("touch -- {qp}"));
                before.insert("state".into(), json!("absent"));
                after.insert("state".into(), json!("touch"));
            }
        }
        "link" | "hard" => {
            let is_link = state == "link";
            let Some(src) = src.clone() else {
                if p.exists() {
                    return Ok(link_result(&path, None, p.stat.as_ref(), false));
                }
                return fail(format!(
                    "src is required for creating new {}",
                    if is_link { "symlinks" } else { "hard links" }
                ));
            };
            let qs = quote(&src);
            match p.kind() {
                Some(Kind::Link) if is_link && p.link_target.as_deref() == Some(src.as_str()) => {
                    attrs_apply = false;
                }
                Some(Kind::File) if is_link && !force => {
                    return fail_with(
                        format!("refusing to convert from file to symlink for {path}"),
                        stat_result(&path, p.stat.as_ref()),
                    );
                }
                Some(Kind::Dir) if !force => {
                    return fail_with(
                        format!("refusing to convert from directory to {state} for {path}"),
                        stat_result(&path, p.stat.as_ref()),
                    );
                }
                kind => {
                    let clear = if kind == Some(Kind::Dir) {
                        format!("rmdir -- {qp} && ")
                    } else {
                        String::new()
                    };
                    action = Some(if is_link {
                        format!("{clear}ln -sfn -- {qs} {qp}")
                    } else {
                        // Changed unless it already is that file (asked in check mode too).
                        let ln = if ctx.check {
                            ":".to_string()
                        } else {
                            format!("{clear}ln -f -- {qs} {qp}")
                        };
                        hard_check = true;
                        format!("if [ {qp} -ef {qs} ]; then echo SAME; else {ln}; fi")
                    });
                    before.insert("state".into(), json!(prev));
                    after.insert("state".into(), json!(state));
                    attrs_apply = !is_link;
                }
            }
            if !attrs_apply && action.is_none() {
                return Ok(link_result(&path, Some(&src), p.stat.as_ref(), false));
            }
        }
        _ => {}
    }

    let change = if attrs_apply {
        attrs
            .change(p.stat.as_ref(), state == "directory", p.umask)
            .map_err(|e| Fail::Module(failed(e)))?
    } else {
        AttrChange::default()
    };
    // A new file keeps touch's default mode unless `mode` is given.
    let change = AttrChange {
        mode: change
            .mode
            .filter(|_| p.exists() || attrs.mode.is_some() || state == "directory"),
        ..change
    };
    if new_dir {
        let dirs = NewDirs {
            mode: change.mode.filter(|_| attrs.mode.is_some()),
            owner: change.owner.as_deref(),
            group: change.group.as_deref(),
        };
        action = Some(remote_file::mkdir_chain("p", &dirs));
    }
    if let (Some(m), Some(st)) = (change.mode, &p.stat) {
        before.insert("mode".into(), json!(st.mode_str()));
        after.insert("mode".into(), json!(format!("{m:04o}")));
    }
    for (key, want, have) in [
        (
            "owner",
            &change.owner,
            p.stat.as_ref().map(|s| s.owner.clone()),
        ),
        (
            "group",
            &change.group,
            p.stat.as_ref().map(|s| s.group.clone()),
        ),
    ] {
        if let (Some(w), Some(h)) = (want, have) {
            before.insert(key.into(), json!(h));
            after.insert(key.into(), json!(w));
        }
    }
    let recurse_part = if recurse && state == "directory" {
        Some(recurse_script(ctx, &path, &attrs, p.exists()).await?)
    } else {
        None
    };
    let times = match state.as_str() {
        "link" | "hard" => None,
        _ => timestamps(args, &state)?,
    }
    .filter(|_| p.exists() || state == "touch");
    // Existing times are compared after the change (check mode: assumed to differ).
    let mut changed = action.is_some() || change.any() || (ctx.check && times.is_some());
    if !changed && recurse_part.is_none() && times.is_none() {
        return Ok(final_result(
            &state,
            &path,
            src.as_deref(),
            p.stat.as_ref(),
            false,
        ));
    }
    if ctx.check && recurse_part.is_none() && !hard_check {
        let mut r = final_result(&state, &path, src.as_deref(), p.stat.as_ref(), changed);
        if ctx.diff && changed {
            r.insert("diff".into(), json!({"before": before, "after": after}));
        }
        return Ok(r);
    }
    let mut script = format!("p={qp}\n");
    if let Some(a) = action.as_ref().filter(|_| !ctx.check || hard_check) {
        script.push_str(&format!("{a} || exit 1\n"));
    }
    if !ctx.check {
        if let Some(o) = &change.owner {
            script.push_str(&format!("chown -h -- {} \"$p\" || exit 1\n", quote(o)));
        }
        if let Some(g) = &change.group {
            script.push_str(&format!("chgrp -h -- {} \"$p\" || exit 1\n", quote(g)));
        }
        if let Some(m) = change.mode {
            script.push_str(&format!("chmod {m:04o} \"$p\" || exit 1\n"));
        }
    }
    if let Some(r) = &recurse_part {
        script.push_str(r);
    }
    if let Some(t) = times.as_ref().filter(|_| !ctx.check) {
        let now = "stat -c '%.9X %.9Y' -- \"$p\"";
        script.push_str(&format!(
            "b=$({now}) || exit 1\n{t}[ \"$({now})\" = \"$b\" ] || echo T\n"
        ));
    }
    script.push_str(&stat_lines(follow));
    let out = ctx.sh(&script, None).await?;
    let text = String::from_utf8_lossy(&out.stdout);
    if out.status.rc() != 0 {
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        let msg = if err.contains("chown") {
            format!("chown failed: {err}")
        } else if err.contains("chgrp") {
            format!("chgrp failed: {err}")
        } else {
            format!("cannot set {path} to {state}: {err}")
        };
        return fail(msg);
    }
    if text.lines().any(|l| l == "SAME") {
        changed = change.any();
    }
    if text.lines().any(|l| l == "R" || l == "T") {
        changed = true;
    }
    let st = if ctx.check {
        p.stat.clone()
    } else {
        text.lines().find_map(Stat::parse_line)
    };
    let mut r = final_result(&state, &path, src.as_deref(), st.as_ref(), changed);
    if ctx.diff && changed {
        r.insert("diff".into(), json!({"before": before, "after": after}));
    }
    Ok(r)
}

/// The `touch` lines that set `access_time`/`modification_time` on `$p` (`None`: both are
/// `preserve`, the default except for `state: touch`, where it is `now`).
fn timestamps(args: &Args, state: &str) -> Result<Option<String>, Fail> {
    let default = if state == "touch" { "now" } else { "preserve" };
    let mut lines = String::new();
    for (key, flag) in [("modification_time", "-m"), ("access_time", "-a")] {
        let value = args.str(key)?.unwrap_or_else(|| default.to_string());
        let format = args.str(&format!("{key}_format"))?;
        match value.as_str() {
            "preserve" => {}
            "now" => lines.push_str(&format!("touch {flag} -- \"$p\" || exit 1\n")),
            stamp => {
                // Ansible's default format (`%Y%m%d%H%M.%S`) is what `touch -t` reads.
                if format.as_deref().is_some_and(|f| f != "%Y%m%d%H%M.%S") {
                    return fail(format!(
                        "horde supports only the default {key}_format (%Y%m%d%H%M.%S)"
                    ));
                }
                let ok = stamp.len() == 15
                    && stamp.char_indices().all(|(i, c)| {
                        if i == 12 {
                            c == '.'
                        } else {
                            c.is_ascii_digit()
                        }
                    });
                if !ok {
                    return fail(format!(
                        "Error while obtaining timestamp for time {stamp} using format %Y%m%d%H%M.%S: time data {stamp:?} does not match format '%Y%m%d%H%M.%S'"
                    ));
                }
                lines.push_str(&format!("touch {flag} -t {stamp} -- \"$p\" || exit 1\n"));
            }
        }
    }
    Ok((!lines.is_empty()).then_some(lines))
}

/// A `find` under the directory that fixes (or, in check mode, only lists) entries whose
/// mode/owner/group differ, printing `R` when it found any. A symbolic mode needs the
/// modes there first (one more command): each distinct one is resolved as Ansible would.
///
/// find's status (non-zero when a chmod/chown it ran failed) must survive the pipe that
/// counts the entries: it comes out on fd 3 before the count, and the script stops with
/// it, so the task fails with chown's message as Ansible's does.
async fn recurse_script(
    ctx: &Ctx<'_>,
    path: &str,
    attrs: &Attrs,
    exists: bool,
) -> Result<String, Fail> {
    let mut s = String::new();
    let fix = |test: String, cmd: String| {
        let exec = if ctx.check {
            String::new()
        } else {
            format!("-exec {cmd} {{}} + ")
        };
        format!(
            "set -- $({{ {{ find \"$p\" {test} {exec}-print; echo $? >&3; }} | wc -l; }} 3>&1)\n\
             [ \"$1\" = 0 ] || exit 1; [ \"$2\" -gt 0 ] && echo R\n"
        )
    };
    match &attrs.mode {
        Some(m) if m.chars().all(|c| c.is_digit(8)) => {
            let m = u32::from_str_radix(m, 8).map_err(|e| Fail::Module(failed(e.to_string())))?;
            s.push_str(&fix(
                format!("! -type l ! -perm {m:04o}"),
                format!("chmod {m:04o}"),
            ));
        }
        Some(m) if exists => {
            // `failed` (not hex) says find failed: sort's status is the pipe's.
            let list = format!(
                "{{ find {} ! -type l -exec stat -c %f {{}} + || echo failed; }} | sort -u",
                quote(path)
            );
            let out = ctx.sh(&list, None).await?;
            let listed = String::from_utf8_lossy(&out.stdout);
            if out.status.rc() != 0 || listed.lines().any(|l| l == "failed") {
                return fail(format!(
                    "cannot list the modes under {path}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
            for raw in listed.lines() {
                let Ok(raw) = u32::from_str_radix(raw.trim(), 16) else {
                    continue;
                };
                let (perm, is_dir) = (raw & 0o7777, raw & 0o170000 == 0o040000);
                let want = remote_file::resolve_mode(m, perm, is_dir)
                    .map_err(|e| Fail::Module(failed(e)))?;
                if want != perm {
                    let kind = if is_dir { "-type d" } else { "! -type d" };
                    s.push_str(&fix(
                        format!("! -type l {kind} -perm {perm:04o}"),
                        format!("chmod {want:04o}"),
                    ));
                }
            }
        }
        _ => {}
    }
    if let Some(o) = &attrs.owner {
        s.push_str(&fix(
            format!("! -user {}", quote(o)),
            format!("chown -h {}", quote(o)),
        ));
    }
    if let Some(g) = &attrs.group {
        s.push_str(&fix(
            format!("! -group {}", quote(g)),
            format!("chgrp -h {}", quote(g)),
        ));
    }
    Ok(s)
}

/// The path and attribute keys (failures of `file` carry them as Ansible does).
fn stat_result(path: &str, st: Option<&Stat>) -> Vars {
    let mut r = Vars::new();
    r.insert("path".into(), json!(path));
    if let Some(st) = st {
        st.result_keys(&mut r);
    }
    r
}

fn link_result(path: &str, src: Option<&str>, st: Option<&Stat>, changed: bool) -> Vars {
    let mut r = ok(changed);
    r.insert("dest".into(), json!(path));
    if let Some(src) = src {
        r.insert("src".into(), json!(src));
    }
    if let Some(st) = st {
        st.result_keys(&mut r);
    }
    r
}

fn final_result(
    state: &str,
    path: &str,
    src: Option<&str>,
    st: Option<&Stat>,
    changed: bool,
) -> Vars {
    match state {
        "link" | "hard" => {
            let mut r = link_result(path, src, st, changed);
            r.insert("state".into(), json!(state));
            r
        }
        "touch" => {
            let mut r = link_result(path, None, st, changed);
            if st.is_none() {
                r.insert("state".into(), json!("file"));
            }
            r
        }
        _ => {
            let mut r = stat_result(path, st);
            r.insert("changed".into(), Value::Bool(changed));
            if st.is_none() {
                r.insert("state".into(), json!(state));
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, mode_of};
    use serde_json::json;
    use std::path::Path;

    #[tokio::test]
    async fn directories_are_made_once_with_mode() {
        let h = TestHost::new();
        let d = h.path("a/b");
        let r = h
            .run(
                "file",
                json!({"path": d, "state": "directory", "mode": "0750"}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(r["state"], "directory");
        assert_eq!(mode_of(&d), 0o750);
        let r = h
            .run(
                "file",
                json!({"path": d, "state": "directory", "mode": "0750"}),
            )
            .await;
        assert_eq!(r["changed"], false, "{r:?}");
        let r = h
            .diff()
            .run(
                "file",
                json!({"path": d, "state": "directory", "mode": "u=rwx,go="}),
            )
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&d), 0o700);
        assert_eq!(r["diff"]["before"]["mode"], "0750");
        assert_eq!(r["diff"]["after"]["mode"], "0700");
        std::fs::write(h.path("f"), "").unwrap();
        let r = h
            .run("file", json!({"path": h.path("f"), "state": "directory"}))
            .await;
        assert_eq!(
            r["msg"],
            format!("{} already exists as a file", h.path("f"))
        );
    }

    #[tokio::test]
    async fn file_touch_and_absent() {
        let h = TestHost::new();
        let f = h.path("t");
        let r = h.run("file", json!({"path": f, "state": "file"})).await;
        assert_eq!(r["failed"], true);
        assert_eq!(r["msg"], format!("file ({f}) is absent, cannot continue"));
        let r = h
            .check()
            .run("file", json!({"path": f, "state": "touch"}))
            .await;
        assert_eq!(r["changed"], true);
        assert!(!Path::new(&f).exists(), "check mode touches nothing");
        let r = h
            .run("file", json!({"path": f, "state": "touch", "mode": "0604"}))
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&f), 0o604);
        let r = h.run("file", json!({"path": f, "mode": "0604"})).await;
        assert_eq!(r["changed"], false, "{r:?}");
        assert_eq!(r["state"], "file");
        let r = h.run("file", json!({"path": f, "mode": "0600"})).await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&f), 0o600);
        let r = h
            .check()
            .run("file", json!({"path": f, "state": "absent"}))
            .await;
        assert_eq!(r["changed"], true);
        assert!(Path::new(&f).exists());
        let r = h.run("file", json!({"path": f, "state": "absent"})).await;
        assert_eq!(r["changed"], true);
        assert!(!Path::new(&f).exists());
        let r = h.run("file", json!({"path": f, "state": "absent"})).await;
        assert_eq!(r["changed"], false);
    }

    #[tokio::test]
    async fn links_and_recurse() {
        let h = TestHost::new();
        let l = h.path("l");
        let r = h
            .run("file", json!({"path": l, "src": "/tmp", "state": "link"}))
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(std::fs::read_link(&l).unwrap(), Path::new("/tmp"));
        let r = h
            .run("file", json!({"path": l, "src": "/tmp", "state": "link"}))
            .await;
        assert_eq!(r["changed"], false);
        let r = h
            .run("file", json!({"path": l, "src": "/var", "state": "link"}))
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(std::fs::read_link(&l).unwrap(), Path::new("/var"));
        std::fs::write(h.path("f"), "").unwrap();
        let r = h
            .run(
                "file",
                json!({"path": h.path("f"), "src": "/tmp", "state": "link"}),
            )
            .await;
        assert!(
            r["msg"]
                .as_str()
                .unwrap()
                .starts_with("refusing to convert")
        );
        let r = h
            .run(
                "file",
                json!({"path": h.path("hl"), "src": h.path("f"), "state": "hard"}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        let r = h
            .run(
                "file",
                json!({"path": h.path("hl"), "src": h.path("f"), "state": "hard"}),
            )
            .await;
        assert_eq!(r["changed"], false, "{r:?}");

        std::fs::create_dir_all(h.path("tree/sub")).unwrap();
        std::fs::write(h.path("tree/sub/x"), "").unwrap();
        let args =
            json!({"path": h.path("tree"), "state": "directory", "recurse": true, "mode": "0700"});
        let r = h.check().run("file", args.clone()).await;
        assert_eq!(r["changed"], true);
        assert_ne!(mode_of(&h.path("tree/sub/x")), 0o700);
        let r = h.run("file", args.clone()).await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&h.path("tree/sub/x")), 0o700);
        assert_eq!(h.run("file", args).await["changed"], false);
    }

    #[tokio::test]
    async fn new_parents_get_the_mode_too() {
        let h = TestHost::new();
        let d = h.path("x/y/z");
        let top = mode_of(&h.dir());
        let r = h
            .run(
                "file",
                json!({"path": d, "state": "directory", "mode": "0750"}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        for p in ["x", "x/y", "x/y/z"] {
            assert_eq!(mode_of(&h.path(p)), 0o750, "{p}");
        }
        assert_eq!(mode_of(&h.dir()), top, "an existing parent is left alone");
        let r = h
            .run("file", json!({"path": h.path("n/m"), "state": "directory"}))
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(mode_of(&h.path("n")), 0o777 & !h.umask());
    }

    #[tokio::test]
    async fn recurse_resolves_a_symbolic_mode_per_entry() {
        let h = TestHost::new();
        std::fs::create_dir_all(h.path("t/sub")).unwrap();
        std::fs::write(h.path("t/sub/plain"), "").unwrap();
        std::fs::write(h.path("t/exe"), "").unwrap();
        use std::os::unix::fs::PermissionsExt;
        let set = |p: &str, m: u32| {
            std::fs::set_permissions(h.path(p), std::fs::Permissions::from_mode(m)).unwrap()
        };
        set("t", 0o755);
        set("t/sub", 0o777);
        set("t/sub/plain", 0o666);
        set("t/exe", 0o711);
        let args = json!({"path": h.path("t"), "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="});
        let r = h.check().run("file", args.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(
            mode_of(&h.path("t/sub")),
            0o777,
            "check mode changes nothing"
        );
        let r = h.run("file", args.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(mode_of(&h.path("t")), 0o750);
        assert_eq!(mode_of(&h.path("t/sub")), 0o750);
        assert_eq!(mode_of(&h.path("t/sub/plain")), 0o640);
        assert_eq!(mode_of(&h.path("t/exe")), 0o750);
        assert_eq!(h.run("file", args.clone()).await["changed"], false);
        assert_eq!(h.check().run("file", args).await["changed"], false);
    }

    #[tokio::test]
    async fn touch_times() {
        use std::os::unix::fs::MetadataExt;
        let h = TestHost::new();
        let f = h.path("t");
        let keep = json!({"path": f, "state": "touch", "access_time": "preserve", "modification_time": "preserve"});
        assert_eq!(h.run("file", keep.clone()).await["changed"], true);
        assert_eq!(h.run("file", keep).await["changed"], false);
        let r = h.run("file", json!({"path": f, "state": "touch"})).await;
        assert_eq!(r["changed"], true, "touch defaults to now");
        let at = json!({"path": f, "modification_time": "202001021504.05"});
        let r = h.run("file", at.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        let mtime = std::fs::metadata(&f).unwrap().mtime();
        assert!((1_577_900_000..1_578_100_000).contains(&mtime), "{mtime}");
        assert_eq!(h.run("file", at).await["changed"], false);
        let r = h
            .run("file", json!({"path": f, "modification_time": "2020"}))
            .await;
        assert_eq!(r["failed"], true);
    }
}
