//! `user` and `group`: one remote script per task that reads the account (`getent passwd`,
//! `getent shadow`, `id -Gn`, `getent group`), compares each requested attribute and runs
//! `useradd`/`usermod`/`userdel` (`groupadd`/`groupmod`/`groupdel`) only with what differs.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use super::system::{PRELUDE, Reply, run_script, try_arg};
use super::{ArgError, Args, Ctx, ModResult, failed};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

/// Shared shell functions: `ent DB KEY` (getent, or the file when there is no getent) and
/// `act VERB CMD...`, which records the change and, outside check mode, runs the command
/// (its output on stderr), stopping with `say failed VERB` when it fails.
fn prelude(check: bool) -> String {
    let run = if check { "false" } else { "true" };
    format!(
        "{PRELUDE}ent() {{ if command -v getent >/dev/null 2>&1; then getent \"$1\" \"$2\"; else grep \"^$2:\" \"/etc/$1\"; fi 2>/dev/null; }}\n\
         act() {{ v=$1; shift; say changed \"$v\"; {run} || return 0; \"$@\" >&2; rc=$?; [ $rc = 0 ] || {{ say failed \"$v\"; say rc $rc; exit 0; }}; }}\n\
         field() {{ printf '%s\\n' \"$1\" | cut -d: -f\"$2\"; }}\n"
    )
}

struct UserParams {
    name: String,
    present: bool,
    uid: Option<i64>,
    group: Option<String>,
    groups: Option<Vec<String>>,
    append: bool,
    home: Option<String>,
    shell: Option<String>,
    comment: Option<String>,
    create_home: bool,
    system: bool,
    password: Option<String>,
    update_password_always: bool,
    password_lock: Option<bool>,
    remove: bool,
    force: bool,
    move_home: bool,
}

fn user_params(a: &Args) -> Result<UserParams, ArgError> {
    let state = a
        .choice("state", &["absent", "present"], Some("present"))?
        .unwrap_or_default();
    if a.has("expires") {
        return Err(ArgError("expires is not supported by horde's user".into()));
    }
    Ok(UserParams {
        name: a.req_str("name")?,
        present: state == "present",
        uid: a.int("uid")?,
        group: a.str("group")?,
        groups: a.list("groups")?,
        append: a.bool_or("append", false)?,
        home: a.str("home")?,
        shell: a.str("shell")?,
        comment: a.str("comment")?,
        create_home: a.bool_or("create_home", true)?,
        system: a.bool_or("system", false)?,
        password: a.str("password")?,
        update_password_always: a
            .choice("update_password", &["always", "on_create"], Some("always"))?
            .as_deref()
            == Some("always"),
        password_lock: a.bool("password_lock")?,
        remove: a.bool_or("remove", false)?,
        force: a.bool_or("force", false)?,
        move_home: a.bool_or("move_home", false)?,
    })
}

/// Checks that each group exists (`say nogroup G` and stop when one does not).
fn groups_exist(groups: &[String]) -> String {
    groups
        .iter()
        .map(|g| {
            format!(
                "ent group {0} >/dev/null || {{ say nogroup {0}; exit 0; }}\n",
                quote(g)
            )
        })
        .collect()
}

fn user_script(p: &UserParams, check: bool) -> String {
    let mut s = prelude(check);
    s.push_str(&format!("n={}\ncur=$(ent passwd \"$n\")\n", quote(&p.name)));
    if !p.present {
        let mut cmd = String::from("userdel");
        if p.remove {
            cmd.push_str(" -r");
        }
        if p.force {
            cmd.push_str(" -f");
        }
        s.push_str(&format!("[ -n \"$cur\" ] && act remove {cmd} \"$n\"\n"));
        return s;
    }
    let mut wanted_groups = Vec::new();
    if let Some(g) = &p.group {
        wanted_groups.push(g.clone());
    }
    wanted_groups.extend(p.groups.iter().flatten().cloned());
    s.push_str(&groups_exist(&wanted_groups));
    s.push_str("set --\nif [ -z \"$cur\" ]; then\n");
    // Create.
    if let Some(uid) = p.uid {
        s.push_str(&format!("  set -- \"$@\" -u {uid}\n"));
    }
    match &p.group {
        Some(g) => s.push_str(&format!("  set -- \"$@\" -g {}\n", quote(g))),
        // A group named like the user already exists: useradd must not try to create it.
        None => s.push_str("  ent group \"$n\" >/dev/null && set -- \"$@\" -N\n"),
    }
    if let Some(groups) = p.groups.as_ref().filter(|g| !g.is_empty()) {
        s.push_str(&format!(
            "  set -- \"$@\" -G {}\n",
            quote(&groups.join(","))
        ));
    }
    for (flag, v) in [
        ("-d", &p.home),
        ("-s", &p.shell),
        ("-c", &p.comment),
        ("-p", &p.password),
    ] {
        if let Some(v) = v {
            s.push_str(&format!("  set -- \"$@\" {flag} {}\n", quote(v)));
        }
    }
    s.push_str(if p.create_home {
        "  set -- \"$@\" -m\n"
    } else {
        "  set -- \"$@\" -M\n"
    });
    if p.system {
        s.push_str("  set -- \"$@\" -r\n");
    }
    s.push_str("  act create useradd \"$@\" \"$n\"\n");
    if p.password_lock == Some(true) {
        s.push_str("  act lock usermod -L \"$n\"\n");
    }
    s.push_str("else\n");
    // Modify: compare each requested attribute with the passwd line.
    if let Some(uid) = p.uid {
        s.push_str(&format!(
            "  [ \"$(field \"$cur\" 3)\" = {uid} ] || set -- \"$@\" -u {uid}\n"
        ));
    }
    if let Some(g) = &p.group {
        s.push_str(&format!(
            "  [ \"$(field \"$cur\" 4)\" = \"$(field \"$(ent group {0})\" 3)\" ] || set -- \"$@\" -g {0}\n",
            quote(g)
        ));
    }
    if let Some(groups) = &p.groups {
        let list: Vec<String> = groups.iter().map(|g| quote(g)).collect();
        s.push_str(&format!(
            "  have=\" $(id -Gn \"$n\" 2>/dev/null) \"; primary=$(field \"$(ent group \"$(field \"$cur\" 4)\")\" 1)\n\
             \x20 need=0; for g in {}; do case \"$have\" in *\" $g \"*) ;; *) need=1 ;; esac; done\n",
            list.join(" ")
        ));
        if !p.append {
            s.push_str(&format!(
                "  want={}; for g in $have; do [ \"$g\" = \"$primary\" ] && continue; case \"$want\" in *\" $g \"*) ;; *) need=1 ;; esac; done\n",
                quote(&format!(" {} ", groups.join(" ")))
            ));
        }
        let append = if p.append { "-a " } else { "" };
        s.push_str(&format!(
            "  [ $need = 1 ] && set -- \"$@\" {append}-G {}\n",
            quote(&groups.join(","))
        ));
    }
    for (field, flag, v) in [
        (6, "-d", &p.home),
        (7, "-s", &p.shell),
        (5, "-c", &p.comment),
    ] {
        if let Some(v) = v {
            let extra = if flag == "-d" && p.move_home {
                " -m"
            } else {
                ""
            };
            s.push_str(&format!(
                "  [ \"$(field \"$cur\" {field})\" = {0} ] || set -- \"$@\" {flag} {0}{extra}\n",
                quote(v)
            ));
        }
    }
    s.push_str("  hash=$(field \"$(ent shadow \"$n\")\" 2)\n");
    if let (Some(pw), true) = (&p.password, p.update_password_always) {
        s.push_str(&format!(
            "  [ \"$hash\" = {0} ] || set -- \"$@\" -p {0}\n",
            quote(pw)
        ));
    }
    match p.password_lock {
        Some(true) => s.push_str("  case \"$hash\" in '!'*) ;; *) set -- \"$@\" -L ;; esac\n"),
        Some(false) => s.push_str("  case \"$hash\" in '!'*) set -- \"$@\" -U ;; esac\n"),
        None => {}
    }
    s.push_str("  [ $# -gt 0 ] && act modify usermod \"$@\" \"$n\"\nfi\n");
    s.push_str(
        "say passwd \"$(ent passwd \"$n\")\"\nsay groups \"$(id -Gn \"$n\" 2>/dev/null)\"\n",
    );
    s
}

/// A failed result for a script that stopped (a missing group, a failed command), if it did.
fn stopped(reply: &Reply, what: &str) -> Option<Vars> {
    if let Some(g) = reply.get("nogroup") {
        return Some(failed(format!("Group {g} does not exist")));
    }
    let verb = reply.get("failed")?;
    let err = reply.stderr.trim();
    let mut r = failed(format!("{what} {verb} failed: {err}"));
    r.insert("changed".into(), json!(false));
    r.insert("rc".into(), json!(reply.int("rc").unwrap_or(1)));
    reply.add_output(&mut r);
    Some(r)
}

/// Runs `user`.
pub(crate) async fn user(a: &Args, ctx: &Ctx<'_>) -> ModResult {
    let p = try_arg!(user_params(a));
    let reply = run_script(ctx, &user_script(&p, ctx.check), None).await?;
    if let Some(r) = reply.script_failure("user") {
        return Ok(r);
    }
    if let Some(r) = stopped(&reply, "user") {
        return Ok(r);
    }
    let changed = reply.get("changed");
    let mut r = super::ok(changed.is_some());
    r.insert("name".into(), json!(p.name));
    r.insert(
        "state".into(),
        json!(if p.present { "present" } else { "absent" }),
    );
    if !p.present {
        if changed.is_some() {
            r.insert("force".into(), json!(p.force));
            r.insert("remove".into(), json!(p.remove));
            if !reply.stderr.is_empty() {
                reply.add_output(&mut r);
                r.remove("stdout");
                r.remove("stdout_lines");
            }
        }
        return Ok(r);
    }
    let passwd = reply.get("passwd").unwrap_or("");
    let f: Vec<&str> = passwd.split(':').collect();
    if let [_, _, uid, gid, gecos, home, shell] = f[..] {
        let num = |s: &str| s.parse::<i64>().map(Value::from).unwrap_or(Value::Null);
        r.insert("uid".into(), num(uid));
        r.insert("group".into(), num(gid));
        r.insert("comment".into(), json!(gecos));
        r.insert("home".into(), json!(home));
        r.insert("shell".into(), json!(shell));
    }
    if let Some(groups) = &p.groups {
        r.insert("groups".into(), json!(groups.join(",")));
    }
    if p.password.is_some() {
        r.insert("password".into(), json!("NOT_LOGGING_PASSWORD"));
    }
    if changed == Some("create") {
        r.insert("system".into(), json!(p.system));
        r.insert("create_home".into(), json!(p.create_home));
    } else {
        r.insert("append".into(), json!(p.append));
        r.insert("move_home".into(), json!(p.move_home));
    }
    Ok(r)
}

/// Runs `group`.
pub(crate) async fn group(a: &Args, ctx: &Ctx<'_>) -> ModResult {
    let name = try_arg!(a.req_str("name"));
    let present = try_arg!(a.choice("state", &["absent", "present"], Some("present"))).as_deref()
        == Some("present");
    let gid = try_arg!(a.int("gid"));
    let system = try_arg!(a.bool_or("system", false));
    let force = try_arg!(a.bool_or("force", false));
    let mut s = prelude(ctx.check);
    s.push_str(&format!("n={}\ncur=$(ent group \"$n\")\n", quote(&name)));
    if present {
        let mut add = String::from("groupadd");
        if let Some(gid) = gid {
            add.push_str(&format!(" -g {gid}"));
        }
        if system {
            add.push_str(" -r");
        }
        s.push_str(&format!(
            "if [ -z \"$cur\" ]; then act create {add} \"$n\"\n"
        ));
        if let Some(gid) = gid {
            s.push_str(&format!(
                "elif [ \"$(field \"$cur\" 3)\" != {gid} ]; then act modify groupmod -g {gid} \"$n\"\n"
            ));
        }
        s.push_str("fi\nsay group \"$(ent group \"$n\")\"\n");
    } else {
        let del = if force { "groupdel -f" } else { "groupdel" };
        s.push_str(&format!("[ -n \"$cur\" ] && act remove {del} \"$n\"\n"));
    }
    let reply = run_script(ctx, &s, None).await?;
    if let Some(r) = reply.script_failure("group") {
        return Ok(r);
    }
    if let Some(r) = stopped(&reply, "group") {
        return Ok(r);
    }
    let mut r = super::ok(reply.get("changed").is_some());
    r.insert("name".into(), json!(name));
    r.insert(
        "state".into(),
        json!(if present { "present" } else { "absent" }),
    );
    if present {
        let gid = reply
            .get("group")
            .and_then(|g| g.split(':').nth(2))
            .and_then(|g| g.parse::<i64>().ok())
            .map_or(json!(gid), Value::from);
        r.insert("gid".into(), gid);
        r.insert("system".into(), json!(system));
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::super::system::testing::{Local, sh};
    use super::*;

    /// Removes the test's users and groups even when the test fails.
    struct Cleanup(Vec<String>, Vec<String>);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            for u in &self.0 {
                sh(&format!("userdel -r {u} >/dev/null 2>&1"));
            }
            for g in &self.1 {
                sh(&format!("groupdel {g} >/dev/null 2>&1"));
            }
        }
    }

    fn can_manage_accounts() -> bool {
        sh("id -u").trim() == "0" && !sh("command -v useradd groupadd").is_empty()
    }

    #[tokio::test]
    async fn groups_are_created_changed_and_removed() {
        if !can_manage_accounts() {
            return;
        }
        let g = format!("hordetest-g-{}", std::process::id());
        let _cleanup = Cleanup(vec![], vec![g.clone()]);
        let local = Local::new();
        let r = local.run("group", json!({"name": g})).await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert!(r["gid"].as_i64().is_some());
        assert!(sh(&format!("getent group {g}")).starts_with(&g));
        let r = local.run("group", json!({"name": g})).await;
        assert_eq!(r["changed"], json!(false));
        let mut check = Local::new();
        check.check = true;
        let r = check.run("group", json!({"name": g, "gid": 47123})).await;
        assert_eq!(r["changed"], json!(true));
        assert!(!sh(&format!("getent group {g}")).contains(":47123:"));
        let r = local.run("group", json!({"name": g, "gid": 47123})).await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert_eq!(r["gid"], json!(47123));
        assert!(sh(&format!("getent group {g}")).contains(":47123:"));
        let r = local
            .run("group", json!({"name": g, "state": "absent"}))
            .await;
        assert_eq!(r["changed"], json!(true));
        assert_eq!(sh(&format!("getent group {g}")), "");
        let r = local
            .run("group", json!({"name": g, "state": "absent"}))
            .await;
        assert_eq!(r["changed"], json!(false));
    }

    #[tokio::test]
    async fn users_are_created_modified_and_removed() {
        if !can_manage_accounts() {
            return;
        }
        let pid = std::process::id();
        let u = format!("hordetest-u-{pid}");
        let g1 = format!("hordetest-ug1-{pid}");
        let g2 = format!("hordetest-ug2-{pid}");
        let _cleanup = Cleanup(vec![u.clone()], vec![g1.clone(), g2.clone(), u.clone()]);
        sh(&format!("groupadd {g1}; groupadd {g2}"));
        let local = Local::new();
        let args = json!({"name": u, "groups": [g1], "shell": "/bin/sh", "comment": "horde test"});
        let r = local.run("user", args.clone()).await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert_eq!(r["shell"], json!("/bin/sh"));
        assert_eq!(r["home"], json!(format!("/home/{u}")));
        let line = sh(&format!("getent passwd {u}"));
        assert!(line.contains(":horde test:"), "{line}");
        assert!(line.trim().ends_with(":/bin/sh"));
        assert!(std::path::Path::new(&format!("/home/{u}")).is_dir());
        assert!(sh(&format!("id -Gn {u}")).contains(&g1));

        let r = local.run("user", args).await;
        assert_eq!(r["changed"], json!(false), "{r:?}");

        // Check mode: reported, not done.
        let mut check = Local::new();
        check.check = true;
        let r = check
            .run("user", json!({"name": u, "shell": "/bin/bash"}))
            .await;
        assert_eq!(r["changed"], json!(true));
        assert!(
            sh(&format!("getent passwd {u}"))
                .trim()
                .ends_with(":/bin/sh")
        );

        // Replace the supplementary groups, then append one.
        let r = local
            .run(
                "user",
                json!({"name": u, "groups": [g2], "shell": "/bin/bash"}),
            )
            .await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        let groups = sh(&format!("id -Gn {u}"));
        assert!(groups.contains(&g2) && !groups.contains(&g1), "{groups}");
        assert!(
            sh(&format!("getent passwd {u}"))
                .trim()
                .ends_with(":/bin/bash")
        );
        let r = local
            .run("user", json!({"name": u, "groups": g1, "append": true}))
            .await;
        assert_eq!(r["changed"], json!(true));
        let groups = sh(&format!("id -Gn {u}"));
        assert!(groups.contains(&g2) && groups.contains(&g1), "{groups}");
        let r = local
            .run(
                "user",
                json!({"name": u, "groups": [g1, g2], "append": true}),
            )
            .await;
        assert_eq!(r["changed"], json!(false), "{r:?}");

        // A hashed password as given; the same hash again is no change.
        let hash = "$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130MTSuDDl3aCI6WouIL9AjRbLCelDCy.g.";
        let r = local
            .run("user", json!({"name": u, "password": hash}))
            .await;
        assert_eq!(r["changed"], json!(true));
        assert!(sh(&format!("getent shadow {u}")).contains(hash));
        let r = local
            .run("user", json!({"name": u, "password": hash}))
            .await;
        assert_eq!(r["changed"], json!(false));

        let r = local
            .run(
                "user",
                json!({"name": u, "groups": ["hordetest-nosuchgroup"]}),
            )
            .await;
        assert_eq!(
            r["msg"],
            json!("Group hordetest-nosuchgroup does not exist")
        );

        let r = local
            .run(
                "user",
                json!({"name": u, "state": "absent", "remove": true}),
            )
            .await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert_eq!(sh(&format!("getent passwd {u}")), "");
        assert!(!std::path::Path::new(&format!("/home/{u}")).exists());
        let r = local
            .run("user", json!({"name": u, "state": "absent"}))
            .await;
        assert_eq!(r["changed"], json!(false));
    }

    #[tokio::test]
    async fn argument_errors() {
        let local = Local::new();
        let r = local.run("user", json!({"state": "present"})).await;
        assert_eq!(
            r["msg"],
            json!("missing required arguments: name (module user)")
        );
        let r = local.run("group", json!({"name": "x", "gid": "abc"})).await;
        assert!(r["msg"].as_str().unwrap().contains("'gid'"), "{r:?}");
        let r = local
            .run("user", json!({"name": "x", "state": "gone"}))
            .await;
        assert_eq!(
            r["msg"],
            json!("value of state must be one of: absent, present, got: gone")
        );
    }
}
