//! The `script` module: sends a controller-side script on stdin to a temporary file on the
//! host, runs it with its arguments (after `chdir`, `creates`/`removes`), and removes it,
//! all in one command.

use super::command::{guarded, guards, split_free_form};
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
    let line = a.str("cmd")?.unwrap_or(raw);
    let words = crate::shell::split_with_offsets(&line)
        .map_err(|e| Fail::Module(super::failed(format!("cannot split {line:?}: {e}"))))?;
    let Some((_, path)) = words.first() else {
        return fail("no script given");
    };
    // The arguments go to the shell as written, as in Ansible.
    let rest = words.get(1).map_or("", |(off, _)| &line[*off..]);
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
        let mut r = ok(false);
        r.insert("skipped".into(), json!(true));
        r.insert(
            "msg".into(),
            json!("Check mode is not supported for this task."),
        );
        return Ok(r);
    }
    let (creates, removes) = (a.str("creates")?, a.str("removes")?);
    let mut sh = guards(
        a.str("chdir")?.as_deref(),
        creates.as_deref(),
        removes.as_deref(),
    );
    let runner = match a.str("executable")? {
        Some(exe) => format!("{} ", quote(&exe)),
        None => String::new(),
    };
    sh.push_str(&format!(
        "t=$(mktemp \"${{TMPDIR:-/tmp}}/horde-script.XXXXXXXXXX\") || exit 1\ncat > \"$t\" && chmod 700 \"$t\" || {{ rm -f -- \"$t\"; exit 1; }}\n{runner}\"$t\" {rest}\nrc=$?\nrm -f -- \"$t\"\nexit $rc\n"
    ));
    let out = ctx.sh(&sh, Some(body)).await?;
    if let Some(r) = guarded(&out, creates.as_deref(), removes.as_deref(), &Value::Null) {
        return r.map(|mut v| {
            v.remove("cmd");
            v
        });
    }
    Ok(super::raw::output_result(&out))
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
        let used = std::fs::read_to_string(&note).unwrap();
        assert!(
            !std::path::Path::new(used.trim()).exists(),
            "the temp file is gone"
        );
        let r = h
            .run(
                "script",
                json!({"_raw_params": format!("s.sh x y creates={note}")}),
            )
            .await;
        assert_eq!(r["changed"], false);
        let r = h.run("script", json!({"_raw_params": "missing.sh"})).await;
        assert!(r["msg"].as_str().unwrap().contains("'missing.sh'"));
    }
}
