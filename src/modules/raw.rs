//! The `raw` module: sends the text to the host's shell as it is (or to `executable -c`),
//! in one command; the output is not stripped.

use super::outcome::{Fail, fail, finish};
use super::{Args, Ctx, ModResult, ok};
use crate::shell::quote;
use crate::ssh::ExecOutput;
use crate::vars::Vars;
use serde_json::json;

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(raw(args, ctx).await)
}

async fn raw(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let text = args.str("_raw_params")?.unwrap_or_default();
    if text.trim().is_empty() {
        return fail("no command given");
    }
    if ctx.check {
        let mut r = ok(false);
        r.insert("skipped".into(), json!(true));
        return Ok(r);
    }
    let line = match args.str("executable")? {
        Some(exe) => format!("exec {} -c {}", quote(&exe), quote(&text)),
        None => text,
    };
    let out = ctx.sh(&line, None).await?;
    Ok(output_result(&out))
}

/// The result of `raw` and `script`: rc and the output as it came.
pub fn output_result(out: &ExecOutput) -> Vars {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rc = out.status.rc();
    let mut r = ok(true);
    r.insert("rc".into(), json!(rc));
    r.insert("stdout".into(), json!(stdout));
    r.insert("stdout_lines".into(), json!(super::command::lines(&stdout)));
    r.insert("stderr".into(), json!(stderr));
    r.insert("stderr_lines".into(), json!(super::command::lines(&stderr)));
    if rc != 0 {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!("non-zero return code"));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use serde_json::json;

    #[tokio::test]
    async fn raw_runs_the_text_as_it_is() {
        let h = TestHost::new();
        let r = h
            .run("raw", json!({"_raw_params": "echo a; echo b >&2; exit 3"}))
            .await;
        assert_eq!(r["stdout"], "a\n");
        assert_eq!(r["stderr_lines"], json!(["b"]));
        assert_eq!(r["rc"], 3);
        assert_eq!(r["failed"], true);
        let r = h
            .run(
                "raw",
                json!({"_raw_params": "echo $0", "executable": "/bin/bash"}),
            )
            .await;
        assert_eq!(r["stdout"], "/bin/bash\n");
        let r = h.check().run("raw", json!({"_raw_params": "echo a"})).await;
        assert_eq!(r["skipped"], true);
    }
}
