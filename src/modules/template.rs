//! The `template` module: renders a controller-side Jinja2 file (looked up in `templates/`)
//! with the host's variables and puts the result at `dest` through `copy`'s write path.
//! `lstrip_blocks` and `trim_blocks: false` are applied to the source before rendering
//! (the engine itself trims blocks, as Ansible's template module does by default).

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
    // Both the characters and their escapes (`'\r\n'` in YAML), as Ansible takes them.
    let newline = match args.str("newline_sequence")?.as_deref() {
        None | Some("\n" | "\\n") => "\n",
        Some("\r" | "\\r") => "\r",
        Some("\r\n" | "\\r\\n") => "\r\n",
        Some(other) => {
            return fail(format!(
                "newline_sequence must be one of \\n, \\r, \\r\\n, got: {other:?}"
            ));
        }
    };
    for (key, default) in [
        ("block_start_string", "{%"),
        ("block_end_string", "%}"),
        ("variable_start_string", "{{"),
        ("variable_end_string", "}}"),
        ("comment_start_string", "{#"),
        ("comment_end_string", "#}"),
    ] {
        if args.str(key)?.is_some_and(|v| v != default) {
            return fail(format!(
                "horde does not support {key} other than {default:?} yet"
            ));
        }
    }
    let lstrip = args.bool_or("lstrip_blocks", false)?;
    let trim = args.bool_or("trim_blocks", true)?;
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
    // Ansible's default `DEFAULT_MANAGED_STR`, unless the play sets its own.
    vars.entry("ansible_managed")
        .or_insert_with(|| json!("Ansible managed"));
    vars.insert(
        "template_basename".into(),
        json!(path.file_name().map(|n| n.to_string_lossy().into_owned())),
    );
    let text = whitespace_options(&text, lstrip, trim);
    let rendered = ctx
        .templar
        .render_file(&text, &src, &vars)
        .map_err(|e| Fail::Module(super::failed(format!("{src}: {e}"))))?;
    let rendered = match newline {
        "\n" => rendered,
        nl => rendered.replace("\r\n", "\n").replace('\n', nl),
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

/// Applies Jinja's `lstrip_blocks` (spaces and tabs before a block or comment tag that
/// starts a line go) and `trim_blocks: false` (every block tag keeps the newline after it,
/// written `+%}`) to a template's source, leaving `{% raw %}` sections as they are.
fn whitespace_options(source: &str, lstrip: bool, trim: bool) -> String {
    if !lstrip && trim {
        return source.to_string();
    }
    let mut out = String::with_capacity(source.len());
    let mut raw = false;
    let mut line_start = true;
    let mut rest = source;
    while !rest.is_empty() {
        if line_start && lstrip && !raw {
            let t = rest.trim_start_matches([' ', '\t']);
            if (t.starts_with("{%") && !t.starts_with("{%+")) || t.starts_with("{#") {
                rest = t;
            }
        }
        line_start = false;
        if let Some(tag) = rest.strip_prefix("{%") {
            let Some(end) = tag.find("%}") else {
                out.push_str(rest);
                break;
            };
            let inner = tag[..end].trim_matches(['-', '+', ' ', '\t', '\n']);
            if inner == "endraw" {
                raw = false;
            }
            out.push_str("{%");
            out.push_str(&tag[..end]);
            if !trim && !raw && !tag[..end].ends_with(['-', '+']) {
                out.push('+');
            }
            if inner == "raw" {
                raw = true;
            }
            out.push_str("%}");
            rest = &tag[end + 2..];
            continue;
        }
        let Some(c) = rest.chars().next() else { break };
        out.push(c);
        line_start = c == '\n';
        rest = &rest[c.len_utf8()..];
    }
    out
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
        std::fs::write(h.path("templates/m.j2"), "# {{ ansible_managed }}\n").unwrap();
        h.run("template", json!({"src": "m.j2", "dest": dest}))
            .await;
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "# Ansible managed\n"
        );
        let r = h
            .run("template", json!({"src": "nope.j2", "dest": dest}))
            .await;
        assert_eq!(r["failed"], true);
        assert!(r["msg"].as_str().unwrap().contains("nope.j2"));
    }

    #[test]
    fn whitespace_options_rewrite_the_source() {
        use super::whitespace_options as w;
        let src = "a\n  {% if x %}\n\t{# c #}\n  {{ v }}\n  {%+ endif %}\n";
        assert_eq!(w(src, false, true), src);
        assert_eq!(
            w(src, true, true),
            "a\n{% if x %}\n{# c #}\n  {{ v }}\n  {%+ endif %}\n"
        );
        assert_eq!(
            w(
                "{% if x -%}\n{% endif %}\n{% raw %}{% x %}{% endraw %}",
                false,
                false
            ),
            "{% if x -%}\n{% endif +%}\n{% raw +%}{% x %}{% endraw +%}"
        );
    }

    #[tokio::test]
    async fn newline_sequence_and_lstrip_blocks() {
        let h = TestHost::new();
        std::fs::write(
            h.path("w.j2"),
            "one\n  {% for i in [1, 2] %}\n  i={{ i }}\n  {% endfor %}\nend\n",
        )
        .unwrap();
        let dest = h.path("out");
        for nl in ["\\r\\n", "\r\n"] {
            let r = h
                .run(
                    "template",
                    json!({"src": "w.j2", "dest": dest, "newline_sequence": nl, "lstrip_blocks": true}),
                )
                .await;
            assert!(r.get("failed").is_none(), "{r:?}");
            assert_eq!(
                std::fs::read_to_string(&dest).unwrap(),
                "one\r\n  i=1\r\n  i=2\r\nend\r\n"
            );
        }
        h.run("template", json!({"src": "w.j2", "dest": dest}))
            .await;
        assert_eq!(
            std::fs::read_to_string(&dest).unwrap(),
            "one\n    i=1\n    i=2\n  end\n"
        );
        let r = h
            .run(
                "template",
                json!({"src": "w.j2", "dest": dest, "newline_sequence": "x"}),
            )
            .await;
        assert_eq!(r["failed"], true);
    }
}
