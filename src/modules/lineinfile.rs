//! The `lineinfile` module: makes sure a line is in a file (or absent), placed by
//! `regexp`/`search_string`/`insertafter`/`insertbefore` as Ansible's Python does. The file
//! is read with one command, edited here ([`present`], [`absent`]), and written back
//! atomically with one more only when it changed. Regexps are Rust's `regex` (no
//! look-around or backreferences inside the pattern), matched against each line without its
//! newline, so `$` behaves as Python's.

use super::outcome::{Fail, fail, fail_with, finish};
use super::remote_file::{self, Attrs, Content, Kind, NewDirs, ProbeOpts, Source, Write};
use super::{Args, Ctx, ModResult, failed, ok};
use crate::vars::Vars;
use regex::bytes::{Captures, Regex};
use serde_json::json;

/// Where and what to put: the module's arguments, checked and compiled.
#[derive(Debug, Default)]
pub struct Edit {
    pub regexp: Option<Regex>,
    pub search_string: Option<String>,
    pub line: Option<String>,
    pub insertafter: Option<String>,
    pub insertbefore: Option<String>,
    pub backrefs: bool,
    pub firstmatch: bool,
}

/// The outcome of an edit.
#[derive(Debug, PartialEq, Eq)]
pub struct Edited {
    pub lines: Vec<Vec<u8>>,
    pub changed: bool,
    pub msg: String,
    /// Lines removed (`state: absent`).
    pub found: usize,
}

/// Splits like Python's `readlines()`: each line keeps its `\n`.
pub fn split_lines(data: &[u8]) -> Vec<Vec<u8>> {
    data.split_inclusive(|&b| b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

fn strip_eol(l: &[u8]) -> &[u8] {
    let mut end = l.len();
    while end > 0 && matches!(l[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    &l[..end]
}

fn without_nl(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\n").unwrap_or(l)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

/// Python's `match.expand(template)`: `\1`, `\g<1>`, `\g<name>`, `\n`, `\t`, `\\`.
fn expand(caps: &Captures<'_>, template: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    let group = |out: &mut Vec<u8>, m: Option<regex::bytes::Match<'_>>| {
        if let Some(m) = m {
            out.extend_from_slice(m.as_bytes());
        }
    };
    while i < template.len() {
        let c = template[i];
        if c != b'\\' || i + 1 == template.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let n = template[i + 1];
        match n {
            b'0'..=b'9' => {
                let mut j = i + 1;
                let mut num = 0usize;
                while j < template.len() && j < i + 3 && template[j].is_ascii_digit() {
                    num = num * 10 + usize::from(template[j] - b'0');
                    j += 1;
                }
                group(&mut out, caps.get(num));
                i = j;
            }
            b'g' if template.get(i + 2) == Some(&b'<') => {
                let close = template[i + 3..].iter().position(|&b| b == b'>');
                match close {
                    Some(k) => {
                        let name = String::from_utf8_lossy(&template[i + 3..i + 3 + k]);
                        let m = match name.parse::<usize>() {
                            Ok(num) => caps.get(num),
                            Err(_) => caps.name(&name),
                        };
                        group(&mut out, m);
                        i += 4 + k;
                    }
                    None => {
                        out.extend_from_slice(&template[i..]);
                        i = template.len();
                    }
                }
            }
            b'n' | b't' | b'r' | b'\\' => {
                out.push(match n {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    _ => b'\\',
                });
                i += 2;
            }
            _ => {
                out.extend_from_slice(&template[i..i + 2]);
                i += 2;
            }
        }
    }
    out
}

fn compile(name: &str, re: &str) -> Result<Regex, String> {
    Regex::new(re).map_err(|e| format!("{name} {re:?} is not a valid regular expression: {e}"))
}

/// `state: present`, as Ansible's `present()`.
pub fn present(mut lines: Vec<Vec<u8>>, e: &Edit) -> Result<Edited, String> {
    let line = e.line.clone().unwrap_or_default().into_bytes();
    let ins_after = e.insertafter.as_deref();
    let ins_before = e.insertbefore.as_deref();
    let bre_ins = match (ins_after, ins_before) {
        (Some(a), _) if a != "BOF" && a != "EOF" => Some(compile("insertafter", a)?),
        (None, Some(b)) if b != "BOF" => Some(compile("insertbefore", b)?),
        _ => None,
    };
    let mut index: [i64; 2] = [-1, -1];
    let mut matched: Option<usize> = None;
    let mut exact_line_match = false;
    if let Some(re) = &e.regexp {
        for (no, cur) in lines.iter().enumerate() {
            if re.is_match(without_nl(cur)) {
                index[0] = no as i64;
                matched = Some(no);
                if e.firstmatch {
                    break;
                }
            }
        }
    }
    if let Some(s) = &e.search_string {
        for (no, cur) in lines.iter().enumerate() {
            if contains(cur, s.as_bytes()) {
                index[0] = no as i64;
                matched = Some(no);
                if e.firstmatch {
                    break;
                }
            }
        }
    }
    if matched.is_none() {
        for (no, cur) in lines.iter().enumerate() {
            if strip_eol(cur) == line.as_slice() {
                index[0] = no as i64;
                exact_line_match = true;
            } else if bre_ins
                .as_ref()
                .is_some_and(|re| re.is_match(without_nl(cur)))
            {
                if ins_after.is_some() {
                    index[1] = no as i64 + 1;
                    if e.firstmatch {
                        break;
                    }
                }
                if ins_before.is_some() {
                    index[1] = no as i64;
                    if e.firstmatch {
                        break;
                    }
                }
            }
        }
    }
    let with_nl = |l: &[u8]| {
        let mut v = l.to_vec();
        v.push(b'\n');
        v
    };
    let ends_open = |lines: &Vec<Vec<u8>>| {
        lines
            .last()
            .is_some_and(|l| !matches!(l.last(), Some(b'\n' | b'\r')))
    };
    let mut msg = "";
    let mut changed = false;
    let i1 = index[1];
    if index[0] != -1 {
        let i0 = index[0] as usize;
        let mut new_line = match (e.backrefs, matched, &e.regexp) {
            (true, Some(no), Some(re)) => match re.captures(without_nl(&lines[no])) {
                Some(c) => expand(&c, &line),
                None => line.clone(),
            },
            _ => line.clone(),
        };
        if !new_line.ends_with(b"\n") {
            new_line.push(b'\n');
        }
        // (Ansible's insert branch here needs no match and no exact line: unreachable.)
        let _ = exact_line_match;
        if lines[i0] != new_line {
            lines[i0] = new_line;
            msg = "line replaced";
            changed = true;
        }
    } else if e.backrefs {
        // Nothing to do: without a match there is nothing to fill the backrefs with.
    } else if ins_before == Some("BOF") || ins_after == Some("BOF") {
        lines.insert(0, with_nl(&line));
        msg = "line added";
        changed = true;
    } else if ins_after == Some("EOF") || i1 == -1 {
        if ends_open(&lines) {
            lines.push(b"\n".to_vec());
        }
        lines.push(with_nl(&line));
        msg = "line added";
        changed = true;
    } else if ins_after.is_some() && i1 != -1 {
        let i1 = i1 as usize;
        if lines.len() == i1 {
            if strip_eol(&lines[i1 - 1]) != line.as_slice() {
                lines.push(with_nl(&line));
                msg = "line added";
                changed = true;
            }
        } else if line.as_slice() != strip_eol(&lines[i1]) {
            lines.insert(i1, with_nl(&line));
            msg = "line added";
            changed = true;
        }
    } else {
        lines.insert(i1.max(0) as usize, with_nl(&line));
        msg = "line added";
        changed = true;
    }
    Ok(Edited {
        lines,
        changed,
        msg: msg.to_string(),
        found: 0,
    })
}

/// `state: absent`, as Ansible's `absent()`.
pub fn absent(lines: Vec<Vec<u8>>, e: &Edit) -> Edited {
    let line = e.line.clone().unwrap_or_default().into_bytes();
    let (kept, removed): (Vec<_>, Vec<_>) = lines.into_iter().partition(|cur| {
        let found = if let Some(re) = &e.regexp {
            re.is_match(without_nl(cur))
        } else if let Some(s) = &e.search_string {
            contains(cur, s.as_bytes())
        } else {
            strip_eol(cur) == line.as_slice()
        };
        !found
    });
    let found = removed.len();
    Edited {
        lines: kept,
        changed: found > 0,
        msg: if found > 0 {
            format!("{found} line(s) removed")
        } else {
            String::new()
        },
        found,
    }
}

pub async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(lineinfile(args, ctx).await)
}

async fn lineinfile(args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let path = args.req_str("path")?;
    let state = args
        .choice("state", &["present", "absent"], Some("present"))?
        .unwrap_or_default();
    let regexp = args.str("regexp")?;
    let search_string = args.str("search_string")?;
    let line = args.str("line")?;
    let backrefs = args.bool_or("backrefs", false)?;
    let create = args.bool_or("create", false)?;
    let backup = args.bool_or("backup", false)?;
    let (mut insertafter, insertbefore) = (args.str("insertafter")?, args.str("insertbefore")?);
    for (a, b) in [
        ("insertbefore", "insertafter"),
        ("regexp", "search_string"),
        ("backrefs", "search_string"),
    ] {
        if args.has(a) && args.has(b) && (a != "backrefs" || backrefs) {
            return fail(format!("parameters are mutually exclusive: {a}|{b}"));
        }
    }
    if state == "present" && line.is_none() {
        return fail("line is required with state=present");
    }
    if backrefs && regexp.is_none() {
        return fail("regexp is required with backrefs=true");
    }
    if state == "absent" && regexp.is_none() && search_string.is_none() && line.is_none() {
        return fail("one of line, search_string, or regexp is required with state=absent");
    }
    if insertafter.is_none() && insertbefore.is_none() {
        insertafter = Some("EOF".into());
    }
    let edit = Edit {
        regexp: regexp
            .as_deref()
            .map(|r| compile("regexp", r))
            .transpose()
            .map_err(|e| Fail::Module(failed(e)))?,
        search_string,
        line,
        insertafter,
        insertbefore,
        backrefs,
        firstmatch: args.bool_or("firstmatch", false)?,
    };
    let attrs = Attrs::from_args(args)?;
    let validate = args.str("validate")?;

    let opts = ProbeOpts {
        follow: true,
        checksum: None,
        content: Content::All,
        into_dir: None,
    };
    let p = remote_file::probe(ctx, &path, &opts).await?;
    match p.kind() {
        Some(Kind::Dir) => {
            let mut extra = Vars::new();
            extra.insert("rc".into(), json!(256));
            return fail_with(format!("Path {path} is a directory !"), extra);
        }
        None if state == "absent" => {
            let mut r = ok(false);
            r.insert("msg".into(), json!("file not present"));
            return Ok(r);
        }
        None if !create => {
            let mut extra = Vars::new();
            extra.insert("rc".into(), json!(257));
            return fail_with(format!("Destination {path} does not exist !"), extra);
        }
        Some(_) if p.content.is_none() || !p.readable => {
            return fail(format!("cannot read {path} on the host"));
        }
        _ => {}
    }
    let before = p.content.clone().unwrap_or_default();
    let lines = split_lines(&before);
    let edited = if state == "present" {
        present(lines, &edit).map_err(|e| Fail::Module(failed(e)))?
    } else {
        absent(lines, &edit)
    };
    let after: Vec<u8> = edited.lines.concat();
    let header = format!("{path} (content)");
    let mut r = ok(edited.changed);
    r.insert("msg".into(), json!(edited.msg));
    r.insert("backup".into(), json!(""));
    if state == "absent" {
        r.insert("found".into(), json!(edited.found));
    }
    if ctx.diff {
        r.insert(
            "diff".into(),
            json!({
                "before": String::from_utf8_lossy(&before),
                "after": String::from_utf8_lossy(&after),
                "before_header": header,
                "after_header": header,
            }),
        );
    }
    if ctx.check && !p.exists() {
        return Ok(r);
    }
    let change = attrs
        .change(p.stat.as_ref(), false, p.umask)
        .map_err(|e| Fail::Module(failed(e)))?;
    let attr_changed = p.exists() && change.any();
    if attr_changed {
        let msg = if edited.msg.is_empty() {
            "ownership, perms or SE linux context changed".to_string()
        } else {
            format!(
                "{} and ownership, perms or SE linux context changed",
                edited.msg
            )
        };
        r.insert("msg".into(), json!(msg));
        r.insert("changed".into(), json!(true));
    }
    if ctx.check || !(edited.changed || attr_changed) {
        return Ok(r);
    }
    let existing_perm = p.stat.as_ref().map(|s| s.perm());
    let done = remote_file::write(
        ctx,
        Write {
            dest: &path,
            content: edited.changed.then_some(Source::Bytes(after)),
            mode: if edited.changed {
                change.mode.or(existing_perm)
            } else {
                change.mode
            },
            owner: change.owner.as_deref(),
            group: change.group.as_deref(),
            keep_ids: p.stat.as_ref().map(|s| (s.uid, s.gid)),
            backup: backup && edited.changed && p.exists(),
            make_parents: create.then(NewDirs::default),
            validate: validate.as_deref(),
            umask: Some(p.umask),
        },
    )
    .await?;
    if let Some(b) = done.backup_file {
        r.insert("backup".into(), json!(b));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{TestHost, mode_of};
    use super::*;

    fn edit(text: &str, e: Edit) -> (String, String) {
        let r = present(split_lines(text.as_bytes()), &e).unwrap();
        (String::from_utf8(r.lines.concat()).unwrap(), r.msg)
    }

    fn re(s: &str) -> Option<Regex> {
        Some(Regex::new(s).unwrap())
    }

    fn line(l: &str) -> Edit {
        Edit {
            line: Some(l.into()),
            insertafter: Some("EOF".into()),
            ..Edit::default()
        }
    }

    #[test]
    fn present_follows_ansible() {
        assert_eq!(
            edit("a\nb\n", line("c")),
            ("a\nb\nc\n".into(), "line added".into())
        );
        assert_eq!(
            edit("a\nb", line("c")),
            ("a\nb\nc\n".into(), "line added".into())
        );
        assert_eq!(edit("a\nc\n", line("c")), ("a\nc\n".into(), "".into()));
        let e = Edit {
            regexp: re("^b$"),
            ..line("B")
        };
        assert_eq!(
            edit("a\nb\nb\n", e),
            ("a\nb\nB\n".into(), "line replaced".into())
        );
        let e = Edit {
            regexp: re("^b"),
            firstmatch: true,
            ..line("B")
        };
        assert_eq!(edit("a\nb\nb\n", e).0, "a\nB\nb\n");
        let e = Edit {
            regexp: re("^zz"),
            ..line("z")
        };
        assert_eq!(edit("a\n", e).0, "a\nz\n");
        let e = Edit {
            insertafter: Some("^a".into()),
            ..line("x")
        };
        assert_eq!(edit("a\nb\na\n", e).0, "a\nb\na\nx\n");
        let e = Edit {
            insertafter: Some("^a".into()),
            firstmatch: true,
            ..line("x")
        };
        assert_eq!(edit("a\nb\na\n", e).0, "a\nx\nb\na\n");
        let e = Edit {
            insertafter: None,
            insertbefore: Some("^b".into()),
            ..line("x")
        };
        assert_eq!(edit("a\nb\n", e).0, "a\nx\nb\n");
        let e = Edit {
            insertafter: None,
            insertbefore: Some("BOF".into()),
            ..line("x")
        };
        assert_eq!(edit("a\n", e).0, "x\na\n");
        let e = Edit {
            insertafter: Some("^nomatch".into()),
            ..line("x")
        };
        assert_eq!(edit("a\n", e).0, "a\nx\n");
        let e = Edit {
            regexp: re(r"^(\w+)=(?P<v>.*)$"),
            backrefs: true,
            ..line(r"\1 is \g<v>")
        };
        assert_eq!(edit("k=v\n", e).0, "k is v\n");
        let e = Edit {
            regexp: re("^nomatch"),
            backrefs: true,
            ..line("x")
        };
        assert_eq!(edit("a\n", e), ("a\n".into(), "".into()));
        let e = Edit {
            search_string: Some("b = ".into()),
            ..line("b = 2")
        };
        assert_eq!(
            edit("a\nb = 1\n", e),
            ("a\nb = 2\n".into(), "line replaced".into())
        );
    }

    #[test]
    fn absent_removes_every_match() {
        let e = Edit {
            regexp: re("^#"),
            ..Edit::default()
        };
        let r = absent(split_lines(b"#a\nb\n#c\n"), &e);
        assert_eq!(
            (r.lines.concat(), r.found, r.msg.as_str()),
            (b"b\n".to_vec(), 2, "2 line(s) removed")
        );
    }

    #[tokio::test]
    async fn lineinfile_edits_files_on_the_host() {
        let h = TestHost::new();
        let f = h.path("conf");
        std::fs::write(&f, "a=1\nb=2\n").unwrap();
        std::fs::set_permissions(&f, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let args = json!({"path": f, "regexp": "^b=", "line": "b=3"});
        let r = h.check_diff().run("lineinfile", args.clone()).await;
        assert_eq!(r["changed"], true);
        assert_eq!(r["diff"]["before"], "a=1\nb=2\n");
        assert_eq!(r["diff"]["after"], "a=1\nb=3\n");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a=1\nb=2\n");
        let r = h
            .run(
                "lineinfile",
                json!({"path": f, "regexp": "^b=", "line": "b=3", "backup": true}),
            )
            .await;
        assert_eq!(r["msg"], "line replaced");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a=1\nb=3\n");
        assert_eq!(mode_of(&f), 0o640, "the mode is kept");
        assert_eq!(
            std::fs::read_to_string(r["backup"].as_str().unwrap()).unwrap(),
            "a=1\nb=2\n"
        );
        let r = h.run("lineinfile", args).await;
        assert_eq!(r["changed"], false);
        let r = h
            .run(
                "lineinfile",
                json!({"path": f, "line": "a=1", "state": "absent"}),
            )
            .await;
        assert_eq!(
            (r["changed"].clone(), r["found"].clone()),
            (json!(true), json!(1))
        );
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "b=3\n");
        let r = h
            .run(
                "lineinfile",
                json!({"path": f, "line": "b=3", "mode": "0600"}),
            )
            .await;
        assert_eq!(r["msg"], "ownership, perms or SE linux context changed");
        assert_eq!(mode_of(&f), 0o600);
    }

    #[tokio::test]
    async fn lineinfile_missing_files() {
        let h = TestHost::new();
        let f = h.path("new/conf");
        let r = h.run("lineinfile", json!({"path": f, "line": "x"})).await;
        assert_eq!(r["failed"], true);
        assert_eq!(r["msg"], format!("Destination {f} does not exist !"));
        let r = h
            .run(
                "lineinfile",
                json!({"path": f, "line": "x", "create": true}),
            )
            .await;
        assert_eq!(r["changed"], true, "{r:?}");
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "x\n");
        let r = h
            .run("lineinfile", json!({"path": h.dir(), "line": "x"}))
            .await;
        assert!(r["msg"].as_str().unwrap().ends_with("is a directory !"));
        let r = h
            .run("lineinfile", json!({"path": f, "line": "x", "regexp": "("}))
            .await;
        assert!(r["msg"].as_str().unwrap().contains("regular expression"));
        let r = h
            .run(
                "lineinfile",
                json!({"path": f, "line": 3, "create": "maybe"}),
            )
            .await;
        assert!(r["msg"].as_str().unwrap().contains("'create'"), "{r:?}");
    }
}
