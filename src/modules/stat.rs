//! The `stat` module: a path's state (`stat.exists`, `mode`, `isdir`, `checksum` ...) from
//! one probe command. Not reported: `mimetype`/`charset` (`get_mime`), `attributes`.

use super::outcome::{Fail, fail, finish};
use super::remote_file::{self, Kind, ProbeOpts};
use super::{Args, Ctx, ModResult, ok};
use crate::vars::Vars;
use serde_json::{Value, json};

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(stat(args, ctx).await)
}

async fn stat(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let path = args.req_str("path")?;
    let follow = args.bool_or("follow", false)?;
    let algo = args
        .choice(
            "checksum_algorithm",
            &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"],
            Some("sha1"),
        )?
        .unwrap_or_default();
    let checksum: Option<&'static str> = match (args.bool_or("get_checksum", true)?, algo.as_str())
    {
        (false, _) => None,
        (true, "md5") => Some("md5sum"),
        (true, "sha224") => Some("sha224sum"),
        (true, "sha256") => Some("sha256sum"),
        (true, "sha384") => Some("sha384sum"),
        (true, "sha512") => Some("sha512sum"),
        (true, _) => Some("sha1sum"),
    };
    let opts = ProbeOpts {
        follow,
        checksum,
        ..ProbeOpts::default()
    };
    let p = remote_file::probe(ctx, &path, &opts).await?;
    let mut r = ok(false);
    let Some(st) = &p.stat else {
        r.insert("stat".into(), json!({"exists": false}));
        return Ok(r);
    };
    if checksum.is_some() && st.kind() == Kind::File && p.readable && p.checksum.is_none() {
        return fail(format!("could not compute the checksum of {path}"));
    }
    let m = st.perm();
    let bit = |b: u32| Value::Bool(m & b != 0);
    let kind = st.kind();
    let mut s = Vars::new();
    s.insert("exists".into(), json!(true));
    s.insert("path".into(), json!(path));
    s.insert("mode".into(), json!(st.mode_str()));
    s.insert("isdir".into(), json!(kind == Kind::Dir));
    s.insert("ischr".into(), json!(kind == Kind::Char));
    s.insert("isblk".into(), json!(kind == Kind::Block));
    s.insert("isreg".into(), json!(kind == Kind::File));
    s.insert("isfifo".into(), json!(kind == Kind::Fifo));
    s.insert("islnk".into(), json!(kind == Kind::Link));
    s.insert("issock".into(), json!(kind == Kind::Socket));
    s.insert("uid".into(), json!(st.uid));
    s.insert("gid".into(), json!(st.gid));
    s.insert("size".into(), json!(st.size));
    s.insert("inode".into(), json!(st.inode));
    s.insert("dev".into(), json!(st.dev));
    s.insert("nlink".into(), json!(st.nlink));
    s.insert("atime".into(), json!(st.atime));
    s.insert("mtime".into(), json!(st.mtime));
    s.insert("ctime".into(), json!(st.ctime));
    s.insert("wusr".into(), bit(0o200));
    s.insert("rusr".into(), bit(0o400));
    s.insert("xusr".into(), bit(0o100));
    s.insert("wgrp".into(), bit(0o020));
    s.insert("rgrp".into(), bit(0o040));
    s.insert("xgrp".into(), bit(0o010));
    s.insert("woth".into(), bit(0o002));
    s.insert("roth".into(), bit(0o004));
    s.insert("xoth".into(), bit(0o001));
    s.insert("isuid".into(), bit(0o4000));
    s.insert("isgid".into(), bit(0o2000));
    s.insert("blocks".into(), json!(st.blocks));
    s.insert("block_size".into(), json!(st.block_size));
    s.insert("device_type".into(), json!(0));
    s.insert("readable".into(), json!(p.readable));
    s.insert("writeable".into(), json!(p.writeable));
    s.insert("executable".into(), json!(p.executable));
    s.insert("pw_name".into(), json!(st.owner));
    s.insert("gr_name".into(), json!(st.group));
    if let Some(target) = &p.link_target {
        s.insert("lnk_target".into(), json!(target));
        let source = if target.starts_with('/') {
            target.clone()
        } else {
            let dir = path.rsplit_once('/').map_or(".", |(d, _)| d);
            format!("{dir}/{target}")
        };
        s.insert("lnk_source".into(), json!(source));
    }
    if let Some(sum) = &p.checksum {
        s.insert("checksum".into(), json!(sum));
    }
    r.insert("stat".into(), Value::Object(s));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    #[tokio::test]
    async fn stat_reports_files_dirs_links_and_absence() {
        let h = TestHost::new();
        let f = h.path("f");
        std::fs::write(&f, "a\nb\nc\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        let r = h.run("stat", json!({"path": f})).await;
        let s = &r["stat"];
        assert_eq!(r["changed"], false);
        assert_eq!(s["exists"], true);
        assert_eq!(s["mode"], "0640");
        assert_eq!(s["isreg"], true);
        assert_eq!(s["isdir"], false);
        assert_eq!(s["size"], 6);
        assert_eq!(s["checksum"], "3ca69e8d6c234a469d16ac28a4a658c92267c423");
        assert_eq!(s["rgrp"], true);
        assert_eq!(s["roth"], false);
        assert!(s["mtime"].as_f64().unwrap() > 1.0e9);
        let r = h.run("stat", json!({"path": h.dir()})).await;
        assert_eq!(r["stat"]["isdir"], true);
        assert!(r["stat"].get("checksum").is_none());
        std::os::unix::fs::symlink(&f, h.path("l")).unwrap();
        let r = h.run("stat", json!({"path": h.path("l")})).await;
        assert_eq!(r["stat"]["islnk"], true);
        assert_eq!(r["stat"]["lnk_source"], f);
        let r = h
            .run(
                "stat",
                json!({"path": h.path("l"), "follow": true, "checksum_algorithm": "sha256"}),
            )
            .await;
        assert_eq!(r["stat"]["isreg"], true);
        assert_eq!(r["stat"]["checksum"].as_str().unwrap().len(), 64);
        let r = h.run("stat", json!({"path": h.path("none")})).await;
        assert_eq!(r["stat"], json!({"exists": false}));
    }
}
