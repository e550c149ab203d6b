//! The `script` module: sends a controller-side script on stdin to a temporary directory
//! on the host, runs it with its arguments (after `chdir`), and removes it, all in one
//! command. As Ansible's action, `creates`/`removes` are plain existence tests that skip
//! the task, and the task's environment is given to the script's command only.

use super::command::{Mark, Marks, raw_word_end, split_free_form};
use super::outcome::{Fail, fail, finish};
use super::{Args, Ctx, ModResult, ok};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(script(args, ctx).await)
}

async fn script(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let (inline, raw) = match args.str("_raw_params")? {
        Some(line) => split_free_form(&line).map_err(|e| Fail::Module(super::failed(e)))?,
        None => (Vars::new(), String::new()),
    };
    let mut merged = inline;
    for (k, v) in &args.map {
        merged.insert(k.clone(), v.clone());
    }
    let a = Args::new("script", merged);
    let line = a.str("cmd")?.unwrap_or(raw).trim().to_string();
    let words = crate::shell::split(&line)
        .map_err(|e| Fail::Module(super::failed(format!("cannot split {line:?}: {e}"))))?;
    let Some(path) = words.first() else {
        return fail("no script given");
    };
    let (creates, removes) = (a.str("creates")?, a.str("removes")?);
    let marks = Marks::new();
    let mut sh = String::new();
    if let Some(c) = &creates {
        sh.push_str(&format!(
            "if [ -e {} ]; then printf {}; exit 0; fi\n",
            quote(c),
            marks.printf(Mark::Creates)
        ));
    }
    if let Some(r) = &removes {
        sh.push_str(&format!(
            "if [ ! -e {} ]; then printf {}; exit 0; fi\n",
            quote(r),
            marks.printf(Mark::Removes)
        ));
    }
    let chdir = a.str("chdir")?;
    if let Some(dir) = chdir.as_deref().filter(|d| !d.starts_with('/')) {
        return fail(format!(
            "chdir {dir} must be an absolute path for a Unix-aware remote node"
        ));
    }
    let Some(local) = ctx.find_source(path, "files") else {
        return fail(format!(
            "Could not find or access '{path}' on the Ansible Controller."
        ));
    };
    let body = std::fs::read(&local).map_err(|e| {
        Fail::Module(super::failed(format!(
            "could not read {}: {e}",
            local.display()
        )))
    })?;
    if ctx.check {
        if creates.is_none() && removes.is_none() {
            let mut r = ok(false);
            r.insert("skipped".into(), json!(true));
            r.insert(
                "msg".into(),
                json!("Check mode is not supported for this task."),
            );
            return Ok(r);
        }
        sh.push_str("exit 0\n");
    } else {
        if let Some(dir) = &chdir {
            sh.push_str(&format!("cd {} || exit 1\n", quote(dir)));
        }
        let runner = match a.str("executable")? {
            Some(exe) => format!("{} ", quote(&exe)),
            None => String::new(),
        };
        // The script's own name (as Ansible keeps it), its arguments as written.
        let name = local
            .file_name()
            .map_or("script".into(), |n| n.to_string_lossy().into_owned());
        let rest = &line[raw_word_end(&line, 0)..];
        sh.push_str(&format!(
            "d=$(mktemp -d \"${{TMPDIR:-/tmp}}/horde-script.XXXXXXXXXX\") || exit 1\nt=\"$d\"/{}\ncat > \"$t\" && chmod 700 \"$t\" || {{ rm -rf -- \"$d\"; exit 1; }}\n{}{runner}\"$t\"{rest}\nrc=$?\nrm -rf -- \"$d\"\nexit $rc\n",
            quote(&name),
            ctx.env_assignments(),
        ));
    }
    let out = ctx.sh_bare(sh, (!ctx.check).then_some(body)).await?;
    let skipped = match (&creates, &removes) {
        (Some(c), _) if marks.printed(Mark::Creates, &out.stdout) => {
            Some(format!("{c} exists, matching creates option"))
        }
        (_, Some(r)) if marks.printed(Mark::Removes, &out.stdout) => {
            Some(format!("{r} does not exist, matching removes option"))
        }
        _ => None,
    };
    if let Some(msg) = skipped {
        let mut r = ok(false);
        r.insert("skipped".into(), json!(true));
        r.insert("msg".into(), Value::String(msg));
        return Ok(r);
    }
    if ctx.check {
        return Ok(ok(true));
    }
    // Ansible reports a script as changed even when it fails.
    let mut r = super::raw::output_result(&out);
    r.insert("changed".into(), json!(true));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use serde_json::json;

    #[tokio::test]
    async fn script_runs_with_args_and_is_removed() {
        let h = TestHost::new();
        std::fs::create_dir(h.path("files")).unwrap();
        std::fs::write(
            h.path("files/s.sh"),
            "#!/bin/sh\necho \"arg=$1\"; echo \"$0\" > \"$2\"\nexit 4\n",
        )
        .unwrap();
        let note = h.path("where");
        let r = h
            .run(
                "script",
                json!({"_raw_params": format!("s.sh 'a b' {note}")}),
            )
            .await;
        assert_eq!(r["stdout"], "arg=a b\n", "{r:?}");
        assert_eq!(r["rc"], 4);
        assert_eq!(r["failed"], true);
        assert_eq!(r["changed"], true, "a failed script still changed");
        let used = std::fs::read_to_string(&note).unwrap();
        assert!(used.trim().ends_with("/s.sh"), "{used}");
        assert!(
            !std::path::Path::new(used.trim()).exists(),
            "the temp file is gone"
        );
        let r = h.run("script", json!({"_raw_params": "missing.sh"})).await;
        assert!(r["msg"].as_str().unwrap().contains("'missing.sh'"));
    }

    #[tokio::test]
    async fn creates_and_removes_skip() {
        let h = TestHost::new();
        let out = h.path("out");
        std::fs::write(h.path("s.sh"), format!("#!/bin/sh\necho ran >> {out}\n")).unwrap();
        let r = h
            .run("script", json!({"cmd": "s.sh", "creates": h.path("s.sh")}))
            .await;
        assert_eq!(r["skipped"], true, "{r:?}");
        assert_eq!(r["changed"], false);
        assert_eq!(
            r["msg"],
            format!("{} exists, matching creates option", h.path("s.sh"))
        );
        let r = h
            .run("script", json!({"cmd": "s.sh", "removes": h.path("none")}))
            .await;
        assert_eq!(r["skipped"], true);
        assert!(!std::path::Path::new(&out).exists());
        let r = h
            .check()
            .run("script", json!({"cmd": "s.sh", "creates": h.path("none")}))
            .await;
        assert_eq!(r["changed"], true);
        assert!(!std::path::Path::new(&out).exists());
        let r = h
            .run(
                "script",
                json!({"cmd": "s.sh", "creates": h.path("none"), "chdir": h.dir()}),
            )
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ran\n");
    }

    #[tokio::test]
    async fn environment_reaches_the_script_not_its_arguments() {
        let mut h = TestHost::new();
        h.environment = vec![("HORDE_SCRIPT_ENV".into(), "set".into())];
        std::fs::write(
            h.path("s.sh"),
            "#!/bin/sh\necho \"arg=$1 env=$HORDE_SCRIPT_ENV\"\n",
        )
        .unwrap();
        let r = h
            .run("script", json!({"cmd": "s.sh \"$HORDE_SCRIPT_ENV\""}))
            .await;
        assert_eq!(r["stdout"], "arg= env=set\n", "{r:?}");
    }
}
