//! The `command` and `shell` modules (and the command lines of `horde run`): a program with
//! its arguments (`$VAR` and `~` still expand, as Ansible's `expand_argument_vars`) or a
//! line for `/bin/sh -c`, with `chdir`, `creates`/`removes` and `stdin`, in one command.

use super::outcome::{Fail, fail, finish};
use super::{Args, Ctx, ModResult, ok};
use crate::shell::quote;
use crate::ssh::ExecOutput;
use crate::vars::Vars;
use serde_json::{Value, json};
use std::time::{Duration, SystemTime};

/// Which module.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A program and its arguments, no shell.
    Command,
    /// A line for `/bin/sh -c` (or `executable`).
    Shell,
}

/// The keys Ansible takes out of a free-form command line (`chdir=/tmp ls`).
pub const FREE_FORM_KEYS: &[&str] = &[
    "chdir",
    "creates",
    "removes",
    "executable",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
    "expand_argument_vars",
];

/// The lines a guarded script prints instead of running its command: `creates` matched,
/// `removes` matched nothing, `chdir` failed. Each carries a nonce of its run and counts
/// only as the last line of stdout, so that a login banner before it does not hide it and
/// the command's own output cannot fake it.
pub(super) struct Marks {
    nonce: String,
}

/// Which [`Marks`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mark {
    Creates,
    Removes,
    Chdir,
}

impl Marks {
    pub(super) fn new() -> Marks {
        Marks {
            nonce: crate::shell::nonce(8),
        }
    }

    fn line(&self, mark: Mark) -> String {
        let name = match mark {
            Mark::Creates => "creates",
            Mark::Removes => "removes",
            Mark::Chdir => "chdir",
        };
        format!("\u{1}horde:{name}:{}\n", self.nonce)
    }

    /// The mark as a quoted `printf` format (`\001` for the control byte).
    pub(super) fn printf(&self, mark: Mark) -> String {
        quote(
            &self
                .line(mark)
                .replace('\u{1}', "\\001")
                .replace('\n', "\\n"),
        )
    }

    /// Whether stdout's last line is the mark.
    pub(super) fn printed(&self, mark: Mark, stdout: &[u8]) -> bool {
        let line = self.line(mark);
        stdout
            .strip_suffix(line.as_bytes())
            .is_some_and(|before| before.is_empty() || before.ends_with(b"\n"))
    }
}

/// Quotes one word of the command module so that the shell passes it on as Ansible's
/// `expand_argument_vars` would: a leading `~` or `~user` expands, and `$NAME`/`${NAME}`
/// become the environment variable's value when it is set and stay as written otherwise
/// (Python's `os.path.expandvars`); nothing else is special (`$0`, `$(...)` stay literal).
pub fn command_word(word: &str) -> String {
    let (home, rest) = split_tilde(word);
    let mut out = String::from(home);
    let mut literal = String::new();
    let mut i = 0;
    while i < rest.len() {
        let Some((len, name)) = variable_at(&rest[i..]) else {
            let c = rest[i..].chars().next().unwrap_or('$');
            literal.push(c);
            i += c.len_utf8();
            continue;
        };
        let text = &rest[i..i + len];
        if is_shell_name(name) {
            if !literal.is_empty() {
                out.push_str(&quote(&std::mem::take(&mut literal)));
            }
            // `"${N-TEXT}"`: the value when set (even empty), else the text as written.
            let mut escaped = String::new();
            for c in text.chars() {
                if "$}\\\"`".contains(c) {
                    escaped.push('\\');
                }
                escaped.push(c);
            }
            out.push_str(&format!("\"${{{name}-{escaped}}}\""));
        } else {
            literal.push_str(text);
        }
        i += len;
    }
    if !literal.is_empty() || out.is_empty() {
        out.push_str(&quote(&literal));
    }
    out
}

/// A leading `~` or `~user` (left for the shell to expand) and the rest of a word.
fn split_tilde(word: &str) -> (&str, &str) {
    if !word.starts_with('~') {
        return ("", word);
    }
    let end = word.find('/').unwrap_or(word.len());
    let user = &word[1..end];
    if user
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        (&word[..end], &word[end..])
    } else {
        ("", word)
    }
}

/// A `$name` or `${name}` at the start of `s` as Python's `expandvars` sees it
/// (`\$(\w+|\{[^}]*\})`): its length and the name.
fn variable_at(s: &str) -> Option<(usize, &str)> {
    let after = s.strip_prefix('$')?;
    if let Some(braced) = after.strip_prefix('{') {
        let close = braced.find('}')?;
        return Some((close + 3, &braced[..close]));
    }
    let len = after
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(after.len());
    (len > 0).then(|| (len + 1, &after[..len]))
}

/// A name the shell can look up (`[A-Za-z_][A-Za-z0-9_]*`); others are never set there.
fn is_shell_name(name: &str) -> bool {
    name.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// A path pattern for the shell: `*`, `?`, `[...]` and a leading `~` stay active,
/// everything else is quoted (`creates`/`removes` are globs in Ansible).
fn glob_word(pattern: &str) -> String {
    let (home, rest) = match pattern.strip_prefix('~') {
        Some(r) if r.is_empty() || r.starts_with('/') => ("~", r),
        _ => ("", pattern),
    };
    let mut out = String::from(home);
    for c in rest.chars() {
        if "*?[]".contains(c) || c.is_ascii_alphanumeric() || "/._-".contains(c) {
            out.push(c);
        } else {
            out.push('\\');
            out.push(c);
        }
    }
    if out.is_empty() { "''".into() } else { out }
}

/// The end (byte offset) of the raw shell word starting at `start`.
pub(super) fn raw_word_end(s: &str, start: usize) -> usize {
    let mut quote_char = None;
    let mut escaped = false;
    for (i, c) in s[start..].char_indices() {
        match (quote_char, c) {
            _ if escaped => escaped = false,
            (Some('\''), '\'') => quote_char = None,
            (Some('"'), '"') => quote_char = None,
            (Some('"') | None, '\\') => escaped = true,
            (None, '\'' | '"') => quote_char = Some(c),
            (None, c) if c.is_whitespace() => return start + i,
            _ => {}
        }
    }
    s.len()
}

/// Takes Ansible's `key=value` options (`chdir`, `creates` ...) out of a free-form command
/// line, as `parse_kv(check_raw=True)` does; the rest of the line stays as it was written.
pub fn split_free_form(line: &str) -> Result<(Vars, String), String> {
    let words = crate::shell::split_with_offsets(line)
        .map_err(|e| format!("cannot split {line:?}: {e}"))?;
    let mut params = Vars::new();
    let mut rest = String::new();
    let mut at = 0;
    for (start, word) in words {
        let Some((k, v)) = word.split_once('=') else {
            continue;
        };
        if !FREE_FORM_KEYS.contains(&k) {
            continue;
        }
        params.insert(k.to_string(), Value::String(v.to_string()));
        rest.push_str(&line[at..start]);
        at = raw_word_end(line, start);
        at += line[at..].len() - line[at..].trim_start().len();
    }
    rest.push_str(&line[at..]);
    Ok((params, rest.trim().to_string()))
}

/// The `exec ...` part of a command line.
fn body(
    kind: Kind,
    line: &str,
    argv: Option<&[String]>,
    executable: Option<&str>,
    expand: bool,
) -> Result<String, String> {
    // `exec` so that the command's own exit (a signal included) reaches sshd.
    match kind {
        Kind::Shell => Ok(format!(
            "exec {} -c {}",
            quote(executable.unwrap_or("/bin/sh")),
            quote(line)
        )),
        Kind::Command => {
            let words = match argv {
                Some(a) => a.to_vec(),
                None => {
                    crate::shell::split(line).map_err(|e| format!("cannot split {line:?}: {e}"))?
                }
            };
            if words.is_empty() {
                return Err("no command given".into());
            }
            let word: fn(&str) -> String = if expand { command_word } else { quote };
            let argv: Vec<String> = words.iter().map(|w| word(w)).collect();
            Ok(format!("exec {}", argv.join(" ")))
        }
    }
}

/// The command line `horde run -m command|shell -a ARGS` sends: `chdir=DIR` applies, the
/// other options need a playbook.
pub fn adhoc_line(kind: Kind, args: &str) -> Result<String, String> {
    let (params, rest) = split_free_form(args)?;
    if let Some(k) = params.keys().find(|k| *k != "chdir") {
        return Err(format!(
            "{k}= is not available in horde run; use a playbook"
        ));
    }
    let body = body(kind, &rest, None, None, true).map_err(|e| {
        if e == "no command given" {
            "no command given (-a)".into()
        } else {
            e
        }
    })?;
    Ok(match params.get("chdir").and_then(Value::as_str) {
        Some(dir) => format!("cd {} && {body}", command_word(dir)),
        None => body,
    })
}

pub async fn run(kind: Kind, args: &Args, ctx: &Ctx<'_>) -> ModResult {
    finish(command(kind, args, ctx).await)
}

async fn command(kind: Kind, args: &Args, ctx: &Ctx<'_>) -> Result<Vars, Fail> {
    let module = match kind {
        Kind::Command => "command",
        Kind::Shell => "shell",
    };
    let (inline, raw) = match args.str("_raw_params")? {
        Some(line) => split_free_form(&line).map_err(|e| Fail::Module(super::failed(e)))?,
        None => (Vars::new(), String::new()),
    };
    let mut merged = inline;
    for (k, v) in &args.map {
        merged.insert(k.clone(), v.clone());
    }
    let a = Args::new(module, merged);
    let argv = if kind == Kind::Command {
        a.list("argv")?
    } else {
        None
    };
    let line = a.str("cmd")?.unwrap_or(raw);
    if line.trim().is_empty() && argv.is_none() {
        return fail("no command given");
    }
    if !line.trim().is_empty() && argv.is_some() {
        return fail("only command or argv can be given, not both");
    }
    let chdir = a.str("chdir")?;
    let creates = a.str("creates")?;
    let removes = a.str("removes")?;
    let executable = a.str("executable")?;
    let add_newline = a.bool_or("stdin_add_newline", true)?;
    let stdin = a.str("stdin")?.map(|s| {
        let mut b = s.into_bytes();
        if add_newline {
            b.push(b'\n');
        }
        b
    });
    let strip = a.bool_or("strip_empty_ends", true)?;
    let cmd_value = match (kind, &argv) {
        (Kind::Shell, _) => json!(line),
        (Kind::Command, Some(v)) => json!(v),
        (Kind::Command, None) => json!(crate::shell::split(&line).unwrap_or_default()),
    };
    let expand = a.bool_or("expand_argument_vars", true)?;
    let exec = body(kind, &line, argv.as_deref(), executable.as_deref(), expand)
        .map_err(|e| Fail::Module(super::failed(e)))?;

    let marks = Marks::new();
    let mut script = guards(
        &marks,
        chdir.as_deref(),
        creates.as_deref(),
        removes.as_deref(),
    );
    let would_run = ctx.check;
    if would_run {
        if creates.is_none() && removes.is_none() {
            let mut r = not_run(cmd_value, "Command would have run if not in check mode", "");
            r.insert("changed".into(), json!(false));
            r.insert("skipped".into(), json!(true));
            return Ok(r);
        }
        script.push_str("exit 0\n");
    } else {
        script.push_str(&exec);
    }
    let out = ctx
        .sh(&script, if would_run { None } else { stdin })
        .await?;
    if let Some(r) = guarded(
        &marks,
        &out,
        creates.as_deref(),
        removes.as_deref(),
        &cmd_value,
        ctx.check,
    ) {
        return r;
    }
    if would_run {
        let mut r = not_run(cmd_value, "Command would have run if not in check mode", "");
        r.insert("changed".into(), json!(true));
        return Ok(r);
    }
    Ok(ran(cmd_value, &out, strip))
}

/// The lines that go before a command: `cd chdir`, then the `creates`/`removes` checks
/// (globs, relative to `chdir`), each printing its marker and stopping when it says no.
fn guards(
    marks: &Marks,
    chdir: Option<&str>,
    creates: Option<&str>,
    removes: Option<&str>,
) -> String {
    let mut script = String::new();
    if let Some(dir) = chdir {
        script.push_str(&format!(
            "cd {} || {{ printf {}; exit 1; }}\n",
            command_word(dir),
            marks.printf(Mark::Chdir)
        ));
    }
    if let Some(c) = creates {
        script.push_str(&format!(
            "for f in {}; do if [ -e \"$f\" ] || [ -h \"$f\" ]; then printf {}; exit 0; fi; done\n",
            glob_word(c),
            marks.printf(Mark::Creates)
        ));
    }
    if let Some(r) = removes {
        script.push_str(&format!(
            "x=1; for f in {}; do if [ -e \"$f\" ] || [ -h \"$f\" ]; then x=0; fi; done; [ $x = 0 ] || {{ printf {}; exit 0; }}\n",
            glob_word(r),
            marks.printf(Mark::Removes)
        ));
    }
    script
}

/// The result when a [`guards`] check stopped the command (`None`: it ran).
fn guarded(
    marks: &Marks,
    out: &ExecOutput,
    creates: Option<&str>,
    removes: Option<&str>,
    cmd: &Value,
    check: bool,
) -> Option<Result<Vars, Fail>> {
    let did = if check { "Would" } else { "Did" };
    if marks.printed(Mark::Chdir, &out.stdout) {
        return Some(fail(format!(
            "Unable to change directory before execution: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    if let (Some(c), true) = (creates, marks.printed(Mark::Creates, &out.stdout)) {
        return Some(Ok(not_run(
            cmd.clone(),
            &format!("{did} not run command since '{c}' exists"),
            &format!("skipped, since {c} exists"),
        )));
    }
    if let (Some(r), true) = (removes, marks.printed(Mark::Removes, &out.stdout)) {
        return Some(Ok(not_run(
            cmd.clone(),
            &format!("{did} not run command since '{r}' does not exist"),
            &format!("skipped, since {r} does not exist"),
        )));
    }
    None
}

/// A skipped run's result (creates/removes, check mode).
fn not_run(cmd: Value, msg: &str, stdout: &str) -> Vars {
    let mut r = ok(false);
    r.insert("cmd".into(), cmd);
    r.insert("rc".into(), json!(0));
    r.insert("stdout".into(), json!(stdout));
    r.insert("stderr".into(), json!(""));
    r.insert("stdout_lines".into(), json!(lines(stdout)));
    r.insert("stderr_lines".into(), json!(Vec::<String>::new()));
    r.insert("start".into(), Value::Null);
    r.insert("end".into(), Value::Null);
    r.insert("delta".into(), Value::Null);
    r.insert("msg".into(), json!(msg));
    r
}

/// Python's `str.splitlines()`, enough for command output.
pub fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect()
}

/// A command result as Ansible's command module reports it.
pub fn ran(cmd: Value, out: &ExecOutput, strip: bool) -> Vars {
    let text = |b: &[u8]| {
        let s = String::from_utf8_lossy(b).into_owned();
        if strip {
            s.trim_end_matches(['\r', '\n']).to_string()
        } else {
            s
        }
    };
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let rc = out.status.rc();
    let mut r = ok(true);
    r.insert("cmd".into(), cmd);
    r.insert("rc".into(), json!(rc));
    r.insert("stdout_lines".into(), json!(lines(&stdout)));
    r.insert("stderr_lines".into(), json!(lines(&stderr)));
    r.insert("stdout".into(), json!(stdout));
    r.insert("stderr".into(), json!(stderr));
    r.insert("start".into(), json!(local_time(out.started)));
    r.insert("end".into(), json!(local_time(out.started + out.duration)));
    r.insert("delta".into(), json!(delta(out.duration)));
    if rc != 0 {
        r.insert("failed".into(), json!(true));
        r.insert("msg".into(), json!("non-zero return code"));
    } else {
        r.insert("msg".into(), json!(""));
    }
    r
}

/// Python's `str(timedelta)` with microseconds: `0:00:00.004400`.
fn delta(d: Duration) -> String {
    let s = d.as_secs();
    format!(
        "{}:{:02}:{:02}.{:06}",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_micros()
    )
}

/// Local time as Python's `str(datetime.now())`: `2024-05-01 12:00:00.123456`.
fn local_time(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() as libc::time_t;
    // SAFETY: `localtime_r` only writes the `tm` we pass; a zeroed `tm` is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&secs, &mut tm).is_null() };
    if !ok {
        return format!("{}.{:06}", since.as_secs(), since.subsec_micros());
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        since.subsec_micros()
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::TestHost;
    use super::*;

    #[test]
    fn adhoc_lines() {
        let cases = [
            (Kind::Command, "uname -a", "exec uname -a"),
            (
                Kind::Command,
                "echo 'a b' $HOME",
                "exec echo 'a b' \"${HOME-\\$HOME}\"",
            ),
            (Kind::Command, "ls ~/x 'a b'", "exec ls ~/x 'a b'"),
            (Kind::Command, "echo a;b", "exec echo 'a;b'"),
            (
                Kind::Shell,
                "echo $((1+2)) | cat",
                "exec /bin/sh -c 'echo $((1+2)) | cat'",
            ),
            (Kind::Command, "chdir=/tmp pwd", "cd /tmp && exec pwd"),
            (
                Kind::Shell,
                "echo hi chdir='/a b'",
                "cd '/a b' && exec /bin/sh -c 'echo hi'",
            ),
        ];
        for (kind, args, expected) in cases {
            assert_eq!(adhoc_line(kind, args).unwrap(), expected, "{args}");
        }
        assert!(adhoc_line(Kind::Command, "creates=/x ls").is_err());
    }

    #[test]
    fn guard_marks_count_as_the_last_line_only() {
        let marks = Marks::new();
        let line = |m| marks.line(m).into_bytes();
        let out = |stdout: Vec<u8>| ExecOutput {
            stdout,
            stderr: Vec::new(),
            status: crate::ssh::ExitStatus::Code(0),
            started: SystemTime::now(),
            duration: Duration::ZERO,
        };
        let skipped = |stdout: Vec<u8>| {
            guarded(&marks, &out(stdout), Some("/x"), None, &json!("ls"), false).is_some()
        };
        // A login banner before the mark (the shell fell back to channels).
        let mut banner = b"Welcome to host1\n".to_vec();
        banner.extend(line(Mark::Creates));
        assert!(skipped(banner));
        assert!(skipped(line(Mark::Creates)));
        // The command ran and printed something like the mark: another run's nonce, or
        // the mark in the middle of its output.
        assert!(!skipped(Marks::new().line(Mark::Creates).into_bytes()));
        let mut middle = line(Mark::Creates);
        middle.extend(b"more\n");
        assert!(!skipped(middle));
        let mut glued = b"no newline".to_vec();
        glued.extend(line(Mark::Creates));
        assert!(!skipped(glued));
        assert!(marks.printed(
            Mark::Chdir,
            &[b"motd\n".as_slice(), &line(Mark::Chdir)].concat()
        ));
    }

    #[test]
    fn free_form_keeps_the_rest_as_written() {
        let (p, rest) = split_free_form("creates=/x echo 'a  b' | cat removes=\"/y z\"").unwrap();
        assert_eq!(rest, "echo 'a  b' | cat");
        assert_eq!(p["creates"], "/x");
        assert_eq!(p["removes"], "/y z");
    }

    #[tokio::test]
    async fn command_reports_output_and_failure() {
        let h = TestHost::new();
        let r = h
            .run("command", json!({"_raw_params": "echo hi $HOME"}))
            .await;
        assert_eq!(r["changed"], true);
        assert_eq!(r["rc"], 0);
        assert_eq!(
            r["stdout"],
            format!("hi {}", std::env::var("HOME").unwrap_or_default())
        );
        assert_eq!(r["cmd"], json!(["echo", "hi", "$HOME"]));
        assert!(r["delta"].as_str().unwrap().starts_with("0:00:0"));
        let r = h
            .run("command", json!({"_raw_params": "ls /nonexistent-horde"}))
            .await;
        assert_eq!(r["failed"], true);
        assert_eq!(r["msg"], "non-zero return code");
        assert_ne!(r["rc"], 0);
        assert!(
            r["stderr_lines"][0]
                .as_str()
                .unwrap()
                .contains("nonexistent-horde")
        );
        let r = h.run("command", json!({"_raw_params": "echo a;b"})).await;
        assert_eq!(r["stdout"], "a;b", "no shell for command");
    }

    #[tokio::test]
    async fn shell_chdir_stdin_creates_removes() {
        let h = TestHost::new();
        let marker = h.path("made");
        let args = json!({"_raw_params": format!("cat > made; pwd creates={marker}"), "chdir": h.dir(), "stdin": "in"});
        let r = h.run("shell", args.clone()).await;
        assert_eq!(r["stdout"], h.dir(), "{r:?}");
        assert_eq!(std::fs::read_to_string(&marker).unwrap(), "in\n");
        let r = h.run("shell", args).await;
        assert_eq!(r["changed"], false);
        assert_eq!(
            r["msg"],
            format!("Did not run command since '{marker}' exists")
        );
        let r = h
            .run(
                "shell",
                json!({"cmd": "echo x", "removes": h.path("nothing*")}),
            )
            .await;
        assert_eq!(r["changed"], false);
        assert!(r["stdout"].as_str().unwrap().contains("does not exist"));
        let r = h
            .run("shell", json!({"cmd": "echo x", "removes": h.path("ma*")}))
            .await;
        assert_eq!(r["stdout"], "x");
        let r = h
            .run(
                "command",
                json!({"_raw_params": "pwd", "chdir": h.path("nodir")}),
            )
            .await;
        assert_eq!(r["failed"], true);
        assert!(
            r["msg"]
                .as_str()
                .unwrap()
                .starts_with("Unable to change directory")
        );
    }

    #[test]
    fn command_words_expand_like_python_expandvars() {
        let run = |word: &str| {
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", &format!("printf %s {}", command_word(word))])
                .env("HORDE_SET", "a  b")
                .env("HORDE_EMPTY", "")
                .env_remove("HORDE_UNSET")
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        assert_eq!(run("x$HORDE_SET/${HORDE_SET}y"), "xa  b/a  by");
        assert_eq!(run("[$HORDE_EMPTY]"), "[]");
        assert_eq!(
            run("$HORDE_UNSET ${HORDE_UNSET}"),
            "$HORDE_UNSET ${HORDE_UNSET}"
        );
        assert_eq!(
            run("$0 $1 $$ $(id) ${a b} `id` \"'"),
            "$0 $1 $$ $(id) ${a b} `id` \"'"
        );
        assert_eq!(run(""), "");
        assert_eq!(run("~"), std::env::var("HOME").unwrap());
    }

    #[tokio::test]
    async fn argv_is_run_as_a_list() {
        let h = TestHost::new();
        let argv = json!([
            "/bin/sh",
            "-c",
            "printf '%s\\n' \"two words\" > \"$0/argv.txt\"",
            h.dir()
        ]);
        let r = h.run("command", json!({"argv": argv.clone()})).await;
        assert_eq!(r["rc"], 0, "{r:?}");
        assert_eq!(r["cmd"], argv);
        assert_eq!(
            std::fs::read_to_string(h.path("argv.txt")).unwrap(),
            "two words\n"
        );
        let r = h
            .run(
                "command",
                json!({"argv": ["echo", "$HOME"], "expand_argument_vars": false}),
            )
            .await;
        assert_eq!(r["stdout"], "$HOME");
    }

    #[tokio::test]
    async fn shell_keeps_lines_and_takes_an_executable() {
        let h = TestHost::new();
        let r = h
            .run(
                "shell",
                json!({"_raw_params": "set -o pipefail\narr=(x y z)\n[[ ${arr[1]} == y ]] && echo \"${arr[2]} $((6 * 7))\"\n", "executable": "/bin/bash"}),
            )
            .await;
        assert_eq!(r["stdout"], "z 42", "{r:?}");
    }

    #[tokio::test]
    async fn check_mode_does_not_run() {
        let h = TestHost::new();
        let f = h.path("f");
        let r = h
            .check()
            .run("shell", json!({"cmd": format!("touch {f}")}))
            .await;
        assert_eq!(r["skipped"], true);
        let r = h
            .check()
            .run("shell", json!({"cmd": format!("touch {f}"), "creates": f}))
            .await;
        assert_eq!(r["changed"], true);
        assert!(!std::path::Path::new(&f).exists());
        std::fs::write(&f, "").unwrap();
        let r = h
            .check()
            .run("shell", json!({"cmd": "false", "creates": f}))
            .await;
        assert_eq!(r["changed"], false);
        assert_eq!(
            r["msg"],
            format!("Would not run command since '{f}' exists")
        );
    }
}
