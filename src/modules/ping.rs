//! The `ping` module: one trivial command proves the host runs commands (there is no
//! Python to test); the result is `ping: pong` (or `data`).

use super::outcome::{Fail, fail, finish};
use super::{Args, Ctx, ModResult, ok};
use crate::vars::Vars;
use serde_json::json;

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(ping(args, ctx).await)
}

async fn ping(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let data = args.str("data")?.unwrap_or_else(|| "pong".into());
    if data == "crash" {
        return fail("boom");
    }
    let out = ctx.sh("echo pong", None).await?;
    if out.status.rc() != 0 || out.stdout != b"pong\n" {
        return fail(format!(
            "the host's shell did not answer: rc {}, {}",
            out.status.rc(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let mut r = ok(false);
    r.insert("ping".into(), json!(data));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use serde_json::json;

    #[tokio::test]
    async fn ping_pongs() {
        let h = TestHost::new();
        let r = h.run("ping", json!({})).await;
        assert_eq!(r["ping"], "pong");
        assert_eq!(r["changed"], false);
        assert_eq!(h.run("ping", json!({"data": "x"})).await["ping"], "x");
        assert_eq!(
            h.run("ping", json!({"data": "crash"})).await["failed"],
            true
        );
    }
}
