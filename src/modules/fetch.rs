//! The `fetch` module: copies a host file to the controller, under
//! `dest/<inventory_hostname>/<src>` (or `dest` itself with `flat`). One command: the host
//! compares the file's checksum with the controller's copy and sends it only if they differ.

use super::outcome::{Fail, fail, finish};
use super::remote_file::{self, Content, Kind, ProbeOpts, md5_hex, sha1_hex};
use super::{Args, Ctx, ModResult, ok};
use crate::vars::Vars;
use serde_json::{Value, json};
use std::path::PathBuf;

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(fetch(args, ctx).await)
}

/// Where the file lands on the controller.
fn local_dest(src: &str, dest: &str, flat: bool, host: &str) -> PathBuf {
    let dest = match dest.strip_prefix("~/") {
        Some(rest) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(rest),
        None => PathBuf::from(dest),
    };
    let base = src.rsplit('/').next().unwrap_or(src);
    if flat {
        if dest.to_string_lossy().ends_with('/') || dest.is_dir() {
            dest.join(base)
        } else {
            dest
        }
    } else {
        dest.join(host).join(src.trim_start_matches('/'))
    }
}

async fn fetch(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let (Some(src), Some(dest)) = (args.str("src")?, args.str("dest")?) else {
        return fail("src and dest are required");
    };
    let flat = args.bool_or("flat", false)?;
    let fail_on_missing = args.bool_or("fail_on_missing", true)?;
    let validate = args.bool_or("validate_checksum", true)?;
    let local = local_dest(&src, &dest, flat, ctx.host);
    let local_sum = std::fs::read(&local)
        .ok()
        .map(|b| (sha1_hex(&b), md5_hex(&b)));
    let opts = ProbeOpts {
        follow: true,
        content: match &local_sum {
            Some((sum, _)) => Content::UnlessChecksum(sum.clone()),
            None => Content::All,
        },
        ..ProbeOpts::default()
    };
    let p = remote_file::probe(ctx, &src, &opts).await?;
    let dest_str = local.display().to_string();
    match p.kind() {
        None if fail_on_missing => {
            return fail("the remote file does not exist, not transferring, ignored");
        }
        None => {
            let mut r = ok(false);
            r.insert(
                "msg".into(),
                json!("the remote file does not exist, not transferring, ignored"),
            );
            r.insert("file".into(), json!(src));
            return Ok(r);
        }
        Some(Kind::Dir) => {
            return fail("remote file is a directory, fetch cannot work on directories");
        }
        Some(_) if !p.readable => return fail(format!("file ({src}) is not readable on the host")),
        Some(_) => {}
    }
    let Some(remote_sum) = p.checksum.clone() else {
        return fail(format!(
            "could not compute the checksum of {src} on the host"
        ));
    };
    let mut r = ok(false);
    r.insert("checksum".into(), json!(remote_sum));
    r.insert("dest".into(), json!(dest_str));
    if let Some((sum, md5)) = &local_sum
        && *sum == remote_sum
    {
        r.insert("file".into(), json!(src));
        r.insert("md5sum".into(), json!(md5));
        return Ok(r);
    }
    let Some(data) = p.content else {
        return fail(format!("{src} did not arrive from the host"));
    };
    let got = sha1_hex(&data);
    if validate && got != remote_sum {
        return fail(format!(
            "checksum mismatch: the file changed while it was fetched ({src})"
        ));
    }
    r.insert("changed".into(), json!(true));
    r.insert("md5sum".into(), json!(md5_hex(&data)));
    r.insert("remote_checksum".into(), json!(remote_sum));
    r.insert("remote_md5sum".into(), Value::Null);
    if !ctx.check {
        write_local(&local, &data)
            .map_err(|e| Fail::Module(super::failed(format!("could not write {dest_str}: {e}"))))?;
    }
    Ok(r)
}

/// Writes the file on the controller atomically (temp file next to it, then rename).
fn write_local(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".horde-{}", std::process::id()));
    std::fs::write(&tmp, data)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use serde_json::json;

    #[tokio::test]
    async fn fetch_copies_once_under_the_host_name() {
        let h = TestHost::new();
        let src = h.path("remote.txt");
        std::fs::write(&src, "payload\n").unwrap();
        let args = json!({"src": src, "dest": h.path("out")});
        let r = h.run("fetch", args.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        let local = format!("{}/testhost{src}", h.path("out"));
        assert_eq!(r["dest"], local);
        assert_eq!(std::fs::read_to_string(&local).unwrap(), "payload\n");
        let r = h.run("fetch", args.clone()).await;
        assert_eq!(r["changed"], false);
        std::fs::write(&src, "changed\n").unwrap();
        let r = h.check().run("fetch", args.clone()).await;
        assert_eq!(r["changed"], true);
        assert_eq!(std::fs::read_to_string(&local).unwrap(), "payload\n");
        let r = h
            .run(
                "fetch",
                json!({"src": src, "dest": format!("{}/", h.path("flat")), "flat": true}),
            )
            .await;
        assert_eq!(r["dest"], h.path("flat/remote.txt"));
        assert_eq!(
            std::fs::read_to_string(h.path("flat/remote.txt")).unwrap(),
            "changed\n"
        );
        let r = h
            .run(
                "fetch",
                json!({"src": h.path("none"), "dest": h.path("out")}),
            )
            .await;
        assert_eq!(r["failed"], true);
        assert_eq!(
            r["msg"],
            "the remote file does not exist, not transferring, ignored"
        );
    }
}
