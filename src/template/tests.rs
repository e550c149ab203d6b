//! Unit tests of the template engine. Unless a comment says otherwise, each expected value
//! was checked with ansible-core 2.19.14 (`debug: msg=...` in a playbook with the same vars).

use super::*;
use serde_json::{Value, json};

fn vars() -> crate::vars::Vars {
    let v = json!({
        "n": 3, "s": "Hello World", "lst": [3, 1, 2], "d": {"a": 1, "b": {"c": 2}}, "nul": null,
        "t": true, "f": false, "empty": "", "emptylist": [], "fl": 1.5,
        "path": "/etc/nginx/nginx.conf", "ver": "1.10.2", "strfalse": "false",
        "users": [{"name": "bob", "age": 30, "admin": true}, {"name": "al", "age": 20, "admin": false}],
        "res_ok": {"changed": false, "failed": false}, "res_ch": {"changed": true},
        "res_fail": {"failed": true, "changed": false}, "res_skip": {"skipped": true, "changed": false},
        "res_loop": {"results": [{"changed": false}, {"changed": true}]},
    });
    match v {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn render(src: &str) -> Value {
    Templar::new()
        .render(&json!(src), &vars())
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

fn render_err(src: &str) -> String {
    match Templar::new().render(&json!(src), &vars()) {
        Ok(v) => panic!("{src}: expected an error, got {v}"),
        Err(e) => e.message,
    }
}

fn cond(c: Value) -> Result<bool, TemplateError> {
    Templar::new().condition(&c, &vars())
}

/// Renders each `(template, expected)` pair with one engine.
pub(super) fn check(cases: &[(&str, Value)]) {
    let t = Templar::new();
    let vars = vars();
    for (src, want) in cases {
        match t.render(&json!(src), &vars) {
            Ok(got) => assert_eq!(&got, want, "{src}"),
            Err(e) => panic!("{src}: {e}"),
        }
    }
}

#[test]
fn plain_strings_pass_through() {
    assert_eq!(render("no jinja { here }"), json!("no jinja { here }"));
    let v = json!({"a": [1, "x", {"b": null}]});
    assert_eq!(Templar::new().render(&v, &vars()).ok(), Some(v));
}

#[test]
fn lone_expressions_keep_their_type() {
    check(&[
        ("{{ 1 + 1 }}", json!(2)),
        ("{{ [1,2] }}", json!([1, 2])),
        ("{{ d }}", json!({"a": 1, "b": {"c": 2}})),
        ("a{{ 1 }}", json!("a1")),
        (" {{ 1 }} ", json!(" 1 ")),
        ("{{ 1 }}{{ 2 }}", json!("12")),
        ("{{ 1.5 + 1 }}", json!(2.5)),
        ("{{ nul }}", json!(null)),
        ("{{ t }}", json!(true)),
        ("{{ \"True\" }}", json!("True")),
        ("{{ '{\"a\":1}' }}", json!("{\"a\":1}")),
        ("{{ 10 / 5 }}", json!(2.0)),
        (
            "{{ 10 / 4 }} {{ 10 // 4 }} {{ 2 ** 10 }} {{ 7 % 3 }}",
            json!("2.5 2 1024 1"),
        ),
        ("{{ [1,2] + [3] }}", json!([1, 2, 3])),
        ("{{ 'a' * 3 }}", json!("aaa")),
        ("{{ fl }}", json!(1.5)),
        ("{{ 1.0 }}", json!(1.0)),
        ("{{ s[0:5] }}", json!("Hello")),
        ("{{ True and 1 }}", json!(1)),
        ("{{ 'x' if t else 'y' }}", json!("x")),
        ("{{ 'a' in s }}", json!(false)),
        ("{{ True }} {{ None }} {{ none }}", json!("True None None")),
        ("{{ 'a' ~ None }}", json!("aNone")),
        ("{{ d | string }}", json!("{'a': 1, 'b': {'c': 2}}")),
        ("{{ omit }}", json!(OMIT)),
    ]);
}

#[test]
fn keys_are_templated() {
    let v = json!({"{{ s | lower }}": "{{ n }}", "k": ["{{ n + 1 }}"]});
    assert_eq!(
        Templar::new().render(&v, &vars()).ok(),
        Some(json!({"hello world": 3, "k": [4]}))
    );
}

#[test]
fn undefined_is_an_error_naming_the_variable() {
    for src in [
        "{{ x }}",
        "a{{ x }}b",
        "{% if x %}yes{% endif %}",
        "{{ x | upper }}",
        "{{ x ~ 'a' }}",
    ] {
        let msg = render_err(src);
        assert!(msg.contains("'x' is undefined"), "{src}: {msg}");
        assert!(msg.contains(src), "{src}: {msg}");
    }
    assert!(render_err("{{ d.zz }}").contains("'d.zz' is undefined"));
}

#[test]
fn undefined_is_tolerated_by_defined_and_default() {
    check(&[
        ("{{ x is defined }}", json!(false)),
        ("{{ x.y is defined }}", json!(false)),
        ("{{ d.zz is defined }}", json!(false)),
        ("{{ d.zz.yy is defined }}", json!(false)),
        ("{{ d.b.c is defined }}", json!(true)),
        ("{{ x.y is undefined }}", json!(true)),
        ("{{ x | default('dflt') }}", json!("dflt")),
        ("{{ x.y | default('dflt') }}", json!("dflt")),
        ("{{ x['y'][0] | d('dflt') }}", json!("dflt")),
        ("{{ nul | default('dflt') }}", json!(null)),
        ("{{ nul | default('dflt', true) }}", json!("dflt")),
        ("{{ empty | default('dflt', true) }}", json!("dflt")),
        ("{{ f | default('y', true) }}", json!("y")),
        ("{{ 'x' | default('y') }}", json!("x")),
        ("{{ n | mandatory }}", json!(3)),
    ]);
    assert!(render_err("{{ x | mandatory }}").contains("Mandatory"));
}

#[test]
fn conditions_need_a_boolean_result() {
    assert_eq!(cond(json!("t")).ok(), Some(true));
    assert_eq!(cond(json!(false)).ok(), Some(false));
    assert_eq!(cond(json!(["t", "n > 1"])).ok(), Some(true));
    assert_eq!(cond(json!(["t", "n > 5"])).ok(), Some(false));
    assert_eq!(cond(json!("{{ t }}")).ok(), Some(true));
    assert_eq!(cond(json!("d.zz is defined")).ok(), Some(false));
    assert_eq!(cond(json!("x.y is not defined")).ok(), Some(true));
    assert_eq!(
        cond(json!("res_ch is changed and res_ok is not failed")).ok(),
        Some(true)
    );
    // Ansible 2.19: "Conditional result (True) was derived from value of type 'str' ..."
    for (c, ty) in [
        ("strfalse", "'str'"),
        ("lst", "'list'"),
        ("emptylist", "'list'"),
        ("n", "'int'"),
        ("nul", "'NoneType'"),
    ] {
        let msg = cond(json!(c)).err().map(|e| e.message).unwrap_or_default();
        assert!(
            msg.contains(ty) && msg.contains("must have a boolean result"),
            "{c}: {msg}"
        );
    }
    assert!(
        cond(json!("x"))
            .err()
            .is_some_and(|e| e.message.contains("'x' is undefined"))
    );
    assert!(cond(json!("")).is_err());
    assert!(cond(json!(null)).is_err());
    // Conditionals are not backslash-escaped: '\d' is a regex escape here.
    assert_eq!(cond(json!(r"'abc123' is search('\d+')")).ok(), Some(true));
}

#[test]
fn template_files_keep_trailing_newlines() {
    let t = Templar::new();
    let v = vars();
    // Checked with the template module: Jinja drops one newline, Ansible adds it back.
    assert_eq!(
        t.render_file("n={{ n }}\n", "a.j2", &v).ok().as_deref(),
        Some("n=3\n")
    );
    assert_eq!(
        t.render_file("n={{ n }}\n\n\n", "a.j2", &v).ok().as_deref(),
        Some("n=3\n\n\n")
    );
    assert_eq!(
        t.render_file("n={{ n }}", "a.j2", &v).ok().as_deref(),
        Some("n=3")
    );
    let mut nl = v.clone();
    nl.insert("s".into(), json!("x\n"));
    assert_eq!(
        t.render_file("{{ s }}\n", "a.j2", &nl).ok().as_deref(),
        Some("x\n")
    );
    // trim_blocks: the newline after a block tag goes.
    let src = "{% for i in lst %}\n- {{ i }}\n{% endfor %}\n";
    assert_eq!(
        t.render_file(src, "a.j2", &v).ok().as_deref(),
        Some("- 3\n- 1\n- 2\n")
    );
    // No backslash escaping in files: "\n" in a string literal is a newline.
    assert_eq!(
        t.render_file("{{ 'a\\nb' }}", "a.j2", &v).ok().as_deref(),
        Some("a\nb")
    );
    let err = t
        .render_file("line\n{{ nope }}\n", "site.conf.j2", &v)
        .err()
        .map(|e| e.message);
    assert_eq!(
        err.as_deref(),
        Some("site.conf.j2: line 2: 'nope' is undefined")
    );
}

#[test]
fn vars_holding_templates_are_templated_when_read() {
    let mut v = vars();
    v.insert("a".into(), json!("{{ b }}"));
    v.insert("b".into(), json!("{{ n + 1 }}"));
    v.insert("loop".into(), json!("{{ loop }}"));
    let t = Templar::new();
    assert_eq!(t.render(&json!("{{ a }}"), &v).ok(), Some(json!(4)));
    assert!(t.render(&json!("{{ loop }}"), &v).is_err());
}

#[test]
fn syntax_errors_are_errors() {
    assert!(render_err("{{ 1 + }}").contains("syntax error"));
    assert!(render_err("{{ nope_filter(1) }}").contains("nope_filter"));
    assert!(render_err("{{ s | no_such_filter }}").contains("no_such_filter"));
}

#[test]
fn templar_is_shared_across_threads() {
    fn shared<T: Send + Sync>(_: &T) {}
    let t = std::sync::Arc::new(Templar::new());
    shared(&t);
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let t = t.clone();
            std::thread::spawn(move || {
                t.render(&json!("{{ n + i }}"), &{
                    let mut v = vars();
                    v.insert("i".into(), json!(i));
                    v
                })
            })
        })
        .collect();
    let got: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().ok().and_then(Result::ok))
        .collect();
    assert_eq!(
        got,
        vec![
            Some(json!(3)),
            Some(json!(4)),
            Some(json!(5)),
            Some(json!(6))
        ]
    );
}

#[test]
fn templates_are_user_input_never_a_panic() {
    let t = Templar::new();
    for src in [
        "{{",
        "{{ }}",
        "{% if %}",
        "{{ 'unterminated }}",
        "{% for %}{{ x }}",
        "{{ x[",
        "{{ 1/0 }}",
        "{{ x.y[1:2] is defined }}",
    ] {
        let _ = t.render(&json!(src), &vars());
        let _ = t.condition(&json!(src), &vars());
        let _ = t.render_file(src, "f.j2", &vars());
    }
}

/// Jinja drops one trailing line break, so `"{{ n }}\n"` is a lone expression: a number keeps
/// its type and loses the newline, a string keeps it. Checked with ansible-core 2.19.14
/// (`debug: msg=[...]`; parity playbook 20-loops writes `content: "{{ item.uid }}\n"`).
#[test]
fn a_lone_expression_before_a_trailing_newline_keeps_its_type() {
    check(&[
        ("{{ n }}\n", json!(3)),
        ("{{ 'a' }}\n", json!("a\n")),
        ("{{ lst }}\n", json!([3, 1, 2])),
        ("{{ n }}\n\n", json!("3\n\n")),
        ("{{ n }} \n", json!("3 \n")),
        ("x{{ n }}\n", json!("x3\n")),
        ("{{ n }}\r\n", json!(3)),
        ("{{ nul }}\n", json!(null)),
        ("{{ t }}\n", json!(true)),
    ]);
}

/// The template module defines `ansible_managed` ("Ansible managed" by default); the
/// templar passes it through like any variable (parity playbooks 09 and 51).
#[test]
fn ansible_managed_is_an_ordinary_variable() {
    let mut vars = vars();
    vars.insert("ansible_managed".into(), json!("Ansible managed"));
    let src = "# {{ ansible_managed | default('managed') }}\n# {{ ansible_managed }}\n";
    assert_eq!(
        Templar::new().render_file(src, "t", &vars).ok().as_deref(),
        Some("# Ansible managed\n# Ansible managed\n")
    );
}

/// Non-ASCII text inside and outside `{{ }}` and `{% %}` renders; a typographic quote where
/// Jinja expects one is an error naming the template, not a panic.
#[test]
fn non_ascii_templates_render_or_fail_cleanly() {
    check(&[
        ("{{ 'café' | upper }}", json!("CAFÉ")),
        ("{{ \"‘x’\" }}", json!("‘x’")),
        ("é {{ n }} ü", json!("é 3 ü")),
        ("{% if t %}ß{% endif %}{{ '}}é' }}", json!("ß}}é")),
        ("{{ {'ключ': 'значение'}['ключ'] }}", json!("значение")),
        ("{{ 'naïve'.replace('ï', 'i') }}", json!("naive")),
    ]);
    assert!(cond(json!("'é' in 'café'")).unwrap());
    for src in ["{{ ‘hi’ }}", "{{ café }}", "{{ x }é", "{{ n }} {{ 'é"] {
        let err = render_err(src);
        assert!(err.contains(src), "{src}: {err}");
    }
    let err = Templar::new()
        .render_file("ok\n{{ x }\nrésumé\n", "notes.j2", &vars())
        .unwrap_err();
    assert!(err.message.starts_with("notes.j2: line "), "{err}");
}

proptest::proptest! {
    /// Short strings of delimiters, quotes and multi-byte characters through every entry
    /// point: each gives a value or an error, never a panic.
    #[test]
    fn tricky_templates_never_panic(src in "[{}%#'\"\\\\é‘ xn.|()-]{0,16}") {
        let t = Templar::new();
        let _ = t.render(&json!(src), &vars());
        let _ = t.condition(&json!(src), &vars());
        let _ = t.render_file(&src, "f.j2", &vars());
    }
}

/// `from_yaml` of host output runs on a tokio worker's 2 MiB stack: a document nested as
/// deep as the YAML loader allows converts there, and a deeper one is an error.
#[test]
fn from_yaml_of_deep_text_fits_a_worker_stack() {
    let run = || {
        let t = Templar::new();
        let mut v = vars();
        let deep = "- ".repeat(128) + "1";
        v.insert("deep".into(), json!(deep));
        v.insert("deeper".into(), json!("- ".repeat(129) + "1"));
        let got = t.render(&json!("{{ deep | from_yaml | to_json }}"), &v);
        let err = t.render(&json!("{{ deeper | from_yaml }}"), &v);
        (got, err)
    };
    let (got, err) = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
    let want = "[".repeat(128) + "1" + &"]".repeat(128);
    assert_eq!(got, Ok(json!(want)));
    let err = err.unwrap_err().message;
    assert!(
        err.contains("from_yaml: 1:257: nesting deeper than 128 levels"),
        "{err}"
    );
}
