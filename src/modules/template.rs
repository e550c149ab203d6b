//! The `template` module: renders a controller-side Jinja2 file (looked up in `templates/`)
//! with the host's variables and puts the result at `dest` through `copy`'s write path.

use super::copy::{Data, Put, put};
use super::outcome::{Fail, fail, finish};
use super::remote_file::Attrs;
use super::{Args, Ctx, ModResult};
use crate::vars::Vars;
use serde_json::json;

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(template(args, ctx).await)
}

async fn template(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let (Some(src), Some(dest)) = (args.str("src")?, args.str("dest")?) else {
        return fail("src and dest are required");
    };
    let newline = args
        .choice("newline_sequence", &["\\n", "\\r", "\\r\\n"], Some("\\n"))?
        .unwrap_or_default();
    let Some(path) = ctx.find_source(&src, "templates") else {
        return fail(format!("Could not find or access '{src}'"));
    };
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Fail::Module(super::failed(format!(
            "could not read {}: {e}",
            path.display()
        )))
    })?;
    let mut vars = ctx.vars.clone();
    let full = path.display().to_string();
    vars.insert("template_path".into(), json!(full));
    vars.insert("template_fullpath".into(), json!(full));
    vars.insert("template_destpath".into(), json!(dest));
    vars.insert(
        "template_basename".into(),
        json!(path.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    let rendered = ctx
        .templar
        .render_file(&text, &src, &vars)
        .map_err(|e| Fail::Module(super::failed(format!("{src}: {e}"))))?;
    let rendered = match newline.as_str() {
        "\\r\\n" => rendered.replace("\r\n", "\n").replace('\n', "\r\n"),
        "\\r" => rendered.replace("\r\n", "\n").replace('\n', "\r"),
        _ => rendered,
    };
    // Into a directory under the template's own name, `.j2` included, as Ansible does.
    let into_dir = src.rsplit('/').next().unwrap_or(&src).to_string();
    put(
        ctx,
        Put {
            dest,
            data: Data::Local(rendered.into_bytes()),
            attrs: Attrs::from_args(args)?,
            backup: args.bool_or("backup", false)?,
            force: args.bool_or("force", true)?,
            into_dir: Some(into_dir),
            validate: args.str("validate")?,
            src: Some(src),
            make_parents: None,
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, mode_of};
    use serde_json::json;

    #[tokio::test]
    async fn templates_are_found_rendered_and_written_once() {
        let h = TestHost::new();
        std::fs::create_dir(h.path("templates")).unwrap();
        std::fs::write(h.path("templates/motd.j2"), "hello\n").unwrap();
        let dest = h.path("motd");
        let args = json!({"src": "motd.j2", "dest": dest, "mode": "0640"});
        let r = h.run("template", args.clone()).await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(mode_of(&dest), 0o640);
        assert_eq!(h.run("template", args).await["changed"], false);
        let r = h
            .run("template", json!({"src": "nope.j2", "dest": dest}))
            .await;
        assert_eq!(r["failed"], true);
        assert!(r["msg"].as_str().unwrap().contains("nope.j2"));
    }
}
