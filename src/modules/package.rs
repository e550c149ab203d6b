//! `package`, `apt` and `dnf`: one remote script per task that reads what is installed
//! (`dpkg-query`, `rpm -q`), acts only on what differs (`apt-get -y`, `dnf -y`/`yum -y`) and
//! reports each package's version before and after, so `changed` is honest. `package` picks
//! apt or dnf/yum by what the host has. Check mode asks apt to simulate, and acts on nothing.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use super::system::{PRELUDE, Reply, run_script, try_arg};
use super::{ArgError, Args, Ctx, ModResult, failed};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

const STATES: &[&str] = &["absent", "installed", "latest", "present", "removed"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    Present,
    Latest,
    Absent,
}

#[derive(Debug)]
struct Params {
    names: Vec<String>,
    want: Want,
    // apt
    update_cache: bool,
    cache_valid_time: Option<i64>,
    install_recommends: Option<bool>,
    purge: bool,
    autoremove: bool,
    upgrade: Option<String>,
    default_release: Option<String>,
    allow_unauthenticated: bool,
    // dnf
    enablerepo: Vec<String>,
    disablerepo: Vec<String>,
    nogpgcheck: bool,
}

fn params(a: &Args) -> Result<Params, ArgError> {
    let want = match a
        .choice("state", STATES, Some("present"))?
        .unwrap_or_default()
        .as_str()
    {
        "latest" => Want::Latest,
        "absent" | "removed" => Want::Absent,
        _ => Want::Present,
    };
    let upgrade = a
        .choice("upgrade", &["dist", "full", "no", "safe", "yes"], None)?
        .filter(|u| u != "no");
    if a.has("deb") {
        return Err(ArgError("deb is not supported by horde's apt".into()));
    }
    let p = Params {
        names: a.list("name")?.unwrap_or_default(),
        want,
        update_cache: a.bool_or("update_cache", false)?,
        cache_valid_time: a.int("cache_valid_time")?,
        install_recommends: a.bool("install_recommends")?,
        purge: a.bool_or("purge", false)?,
        autoremove: a.bool_or("autoremove", false)?,
        upgrade,
        default_release: a.str("default_release")?,
        allow_unauthenticated: a.bool_or("allow_unauthenticated", false)?,
        enablerepo: a.list("enablerepo")?.unwrap_or_default(),
        disablerepo: a.list("disablerepo")?.unwrap_or_default(),
        nogpgcheck: a.bool_or("disable_gpg_check", false)?,
    };
    if p.names.is_empty() && !p.update_cache && p.upgrade.is_none() {
        return Err(ArgError(format!(
            "missing required arguments: name (module {})",
            a.module
        )));
    }
    Ok(p)
}

/// The loop that records each package's installed version (`before name=version`, empty
/// when absent) and collects the ones to act on in `$todo`. `$inst NAME` prints the
/// installed version.
fn survey(p: &Params) -> String {
    let names: Vec<String> = p.names.iter().map(|n| quote(n)).collect();
    let pick = match p.want {
        Want::Present => "[ -n \"$v\" ] || todo=\"$todo $p\"",
        Want::Latest => "todo=\"$todo $p\"; [ -n \"$v\" ] && have=\"$have $p\"",
        Want::Absent => "[ -z \"$v\" ] || todo=\"$todo $p\"",
    };
    format!(
        "set -f; todo=; have=\n\
         for p in {}; do n=${{p%%=*}}; v=$(inst \"$n\"); say before \"$n=$v\"; {pick}; done\n",
        names.join(" ")
    )
}

/// Prints `after name=version` for each package.
fn resurvey(p: &Params) -> String {
    let names: Vec<String> = p.names.iter().map(|n| quote(n)).collect();
    format!(
        "for p in {}; do n=${{p%%=*}}; say after \"$n=$(inst \"$n\")\"; done\n",
        names.join(" ")
    )
}

fn apt_body(p: &Params, check: bool) -> String {
    let mut s = String::from(
        "export DEBIAN_FRONTEND=noninteractive\n\
         inst() { v=$(dpkg-query -W -f='${Status} ${Version}' \"$1\" 2>/dev/null); case \"$v\" in *' ok installed '*) echo \"${v##* }\" ;; esac; }\n\
         stamp() { stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0; }\n",
    );
    if p.update_cache {
        let fresh = match p.cache_valid_time {
            Some(t) => format!("[ $(( $(date +%s) - $(stamp) )) -lt {t} ]"),
            None => "false".into(),
        };
        s.push_str(&format!("if ! {fresh}; then\n"));
        if !check {
            s.push_str("  apt-get update -q >/dev/null || { say failed update; exit 0; }\n");
        }
        s.push_str("  say cache_updated 1\nfi\n");
    }
    s.push_str("say cache_update_time \"$(stamp)\"\n");
    let mut opts = vec!["-y", "-q"];
    if check {
        opts.push("-s");
    }
    match p.install_recommends {
        Some(false) => opts.push("--no-install-recommends"),
        Some(true) => opts.push("-o APT::Install-Recommends=yes"),
        None => {}
    }
    if p.allow_unauthenticated {
        opts.push("--allow-unauthenticated");
    }
    let mut opts = opts.join(" ");
    if let Some(r) = &p.default_release {
        opts.push_str(&format!(" -t {}", quote(r)));
    }
    if !p.names.is_empty() {
        s.push_str(&survey(p));
        let action = match p.want {
            Want::Absent => {
                let mut a = String::from("remove");
                if p.purge {
                    a.push_str(" --purge");
                }
                if p.autoremove {
                    a.push_str(" --auto-remove");
                }
                a
            }
            _ => "install".into(),
        };
        s.push_str(&format!(
            "if [ -n \"$todo\" ]; then\n\
             \x20 say cmd \"apt-get {opts} {action}$todo\"\n\
             \x20 out=$(apt-get {opts} {action} $todo); rc=$?; printf '%s\\n' \"$out\"\n\
             \x20 say rc $rc\n\
             \x20 printf '%s\\n' \"$out\" | grep -qE '^(Inst|Remv|Purg) ' && say simulated_change 1\n\
             fi\n"
        ));
        s.push_str(&resurvey(p));
    }
    if let Some(u) = &p.upgrade {
        let verb = if matches!(u.as_str(), "dist" | "full") {
            "dist-upgrade"
        } else {
            "upgrade"
        };
        s.push_str(&format!(
            "say cmd \"apt-get {opts} {verb}\"\n\
             out=$(apt-get {opts} {verb}); rc=$?; printf '%s\\n' \"$out\"; say rc $rc\n\
             printf '%s\\n' \"$out\" | grep -q '^0 upgraded, 0 newly installed, 0 to remove' || say upgraded 1\n"
        ));
    }
    s
}

fn dnf_body(p: &Params, check: bool) -> String {
    let mut s = String::from(
        "PM=dnf; command -v dnf >/dev/null 2>&1 || PM=yum\n\
         inst() { rpm -q --qf '%{VERSION}-%{RELEASE}\\n' \"$1\" 2>/dev/null | head -n 1 | grep -v 'not installed'; }\n",
    );
    let mut opts = vec!["-y".to_string()];
    if p.update_cache {
        opts.push("--refresh".into());
    }
    if !p.enablerepo.is_empty() {
        opts.push(format!("--enablerepo={}", quote(&p.enablerepo.join(","))));
    }
    if !p.disablerepo.is_empty() {
        opts.push(format!("--disablerepo={}", quote(&p.disablerepo.join(","))));
    }
    if p.nogpgcheck {
        opts.push("--nogpgcheck".into());
    }
    let opts = opts.join(" ");
    if p.names.is_empty() {
        return s;
    }
    s.push_str(&survey(p));
    let run = |cmd: &str, list: &str| {
        format!(
            "  say cmd \"$PM {opts} {cmd}{list}\"\n\
             \x20 $PM {opts} {cmd} {list}; rc=$?; say rc $rc; [ $rc = 0 ] || exit 0\n"
        )
    };
    match (p.want, check) {
        (Want::Latest, true) => s.push_str(
            "[ -n \"$have\" ] && { $PM -q check-update $have >/dev/null 2>&1; [ $? = 100 ] && say simulated_change 1; }\n",
        ),
        (_, true) => {}
        (Want::Present, false) => {
            s.push_str("if [ -n \"$todo\" ]; then\n");
            s.push_str(&run("install", "$todo"));
            s.push_str("fi\n");
        }
        (Want::Latest, false) => {
            s.push_str("missing=; for p in $todo; do case \" $have \" in *\" $p \"*) ;; *) missing=\"$missing $p\" ;; esac; done\n");
            s.push_str("if [ -n \"$missing\" ]; then\n");
            s.push_str(&run("install", "$missing"));
            s.push_str("fi\nif [ -n \"$have\" ]; then\n");
            s.push_str(&run("upgrade", "$have"));
            s.push_str("fi\n");
        }
        (Want::Absent, false) => {
            s.push_str("if [ -n \"$todo\" ]; then\n");
            s.push_str(&run("remove", "$todo"));
            if p.autoremove {
                s.push_str(&run("autoremove", ""));
            }
            s.push_str("fi\n");
        }
    }
    s.push_str(&resurvey(p));
    s
}

/// Runs `package`, `apt` or `dnf`.
pub(crate) async fn run(module: &str, a: &Args, ctx: &Ctx<'_>) -> ModResult {
    let p = try_arg!(params(a));
    let manager = match module {
        "package" => try_arg!(a.choice("use", &["auto", "apt", "dnf", "yum"], Some("auto")))
            .unwrap_or_default(),
        other => other.to_string(),
    };
    let mut s = String::from(PRELUDE);
    let apt = "command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1";
    let dnf = "{ command -v dnf >/dev/null 2>&1 || command -v yum >/dev/null 2>&1; }";
    let (apt_ok, dnf_ok) = match manager.as_str() {
        "apt" => (true, false),
        "dnf" | "yum" => (false, true),
        _ => (true, true),
    };
    if apt_ok {
        s.push_str(&format!(
            "if {apt}; then\nsay pm apt\n{}",
            apt_body(&p, ctx.check)
        ));
    } else {
        s.push_str("if false; then :\n");
    }
    if dnf_ok {
        s.push_str(&format!(
            "elif {dnf}; then\nsay pm dnf\n{}",
            dnf_body(&p, ctx.check)
        ));
    }
    s.push_str("else say nopm 1\nfi\n");
    let reply = run_script(ctx, &s, None).await?;
    if let Some(r) = reply.script_failure(module) {
        return Ok(r);
    }
    Ok(result(&p, &manager, &reply, ctx.check))
}

fn versions<'a>(reply: &'a Reply, key: &'a str) -> Vec<(&'a str, &'a str)> {
    reply
        .all(key)
        .map(|kv| kv.split_once('=').unwrap_or((kv, "")))
        .collect()
}

fn result(p: &Params, manager: &str, reply: &Reply, check: bool) -> Vars {
    if reply.flag("nopm") {
        return failed(match manager {
            "apt" => "apt-get and dpkg-query are not on the host".to_string(),
            "dnf" | "yum" => "neither dnf nor yum is on the host".to_string(),
            _ => "could not find a package manager on the host (apt-get, dnf or yum)".to_string(),
        });
    }
    let pm = reply.get("pm").unwrap_or("");
    if reply.get("failed") == Some("update") {
        let mut r = failed(format!(
            "Failed to update apt cache: {}",
            reply.stderr.trim()
        ));
        r.insert("changed".into(), json!(false));
        return r;
    }
    let before = versions(reply, "before");
    let after = versions(reply, "after");
    let ran = reply.get("cmd").is_some();
    let rc = reply.int("rc").unwrap_or(0);
    if rc != 0 {
        let stderr = reply.stderr.trim();
        let missing: Vec<String> = stderr
            .lines()
            .filter_map(|l| {
                l.strip_prefix("E: Unable to locate package ")
                    .or_else(|| l.strip_prefix("No match for argument: "))
                    .or_else(|| l.strip_prefix("Error: Unable to find a match: "))
                    .map(|n| n.trim().to_string())
            })
            .collect();
        let mut r = match missing.first() {
            Some(n) if pm == "apt" => failed(format!("No package matching '{n}' is available")),
            Some(_) => {
                let mut r = failed("Failed to install some of the specified packages");
                r.insert(
                    "failures".into(),
                    json!(
                        missing
                            .iter()
                            .map(|n| format!("No package {n} available."))
                            .collect::<Vec<_>>()
                    ),
                );
                r
            }
            None => failed(format!(
                "'{}' failed: {stderr}",
                reply.get("cmd").unwrap_or("")
            )),
        };
        r.insert("changed".into(), json!(false));
        r.insert("rc".into(), json!(rc));
        reply.add_output(&mut r);
        return r;
    }
    let differs = before.iter().zip(after.iter()).any(|(b, a)| b != a);
    let changed = if check {
        match p.want {
            // Something to install or remove is a change; for latest, apt's simulation or
            // dnf check-update says whether there is a newer version.
            Want::Present | Want::Absent => ran,
            Want::Latest => {
                reply.flag("simulated_change") || before.iter().any(|(_, v)| v.is_empty())
            }
        }
    } else {
        differs
    } || reply.flag("upgraded")
        || reply.flag("cache_updated") && p.names.is_empty() && p.upgrade.is_none();
    let mut r = super::ok(changed);
    if pm == "apt" {
        r.insert("cache_updated".into(), json!(reply.flag("cache_updated")));
        if let Some(t) = reply.int("cache_update_time") {
            r.insert("cache_update_time".into(), json!(t));
        }
    } else {
        let results: Vec<Value> = before
            .iter()
            .zip(after.iter())
            .filter(|(b, a)| b != a)
            .map(|((name, bv), (_, av))| {
                json!(match (bv.is_empty(), av.is_empty()) {
                    (true, _) => format!("Installed: {name}-{av}"),
                    (_, true) => format!("Removed: {name}-{bv}"),
                    _ => format!("Upgraded: {name}-{av}"),
                })
            })
            .collect();
        let msg = if changed { "" } else { "Nothing to do" };
        r.insert("msg".into(), json!(msg));
        r.insert("rc".into(), json!(0));
        r.insert("results".into(), Value::Array(results));
    }
    if ran {
        reply.add_output(&mut r);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::system::testing::{Local, sh};
    use super::*;

    fn has_dpkg() -> bool {
        !sh("command -v dpkg-query").is_empty()
    }

    #[tokio::test]
    async fn installed_packages_are_ok_and_missing_ones_stay_absent() {
        if !has_dpkg() {
            return;
        }
        let local = Local::new();
        for module in ["apt", "package"] {
            let r = local
                .run(module, json!({"name": ["coreutils"], "state": "present"}))
                .await;
            assert_eq!(r["changed"], json!(false), "{module}: {r:?}");
            assert_eq!(r.get("failed"), None);
            assert_eq!(r["cache_updated"], json!(false));
            let r = local
                .run(
                    module,
                    json!({"name": "hordetest-no-such-package", "state": "absent"}),
                )
                .await;
            assert_eq!(r["changed"], json!(false), "{module}: {r:?}");
            assert_eq!(r.get("failed"), None);
        }
    }

    #[tokio::test]
    async fn check_mode_reports_an_install_without_doing_it() {
        if !has_dpkg() {
            return;
        }
        // A real package that is available but not installed here.
        let candidate = ["cowsay", "sl", "fortune-mod", "hello"]
            .into_iter()
            .find(|p| {
                sh(&format!("dpkg-query -W -f='${{Status}}' {p} 2>/dev/null")).is_empty()
                    && !sh(&format!(
                        "apt-cache policy {p} 2>/dev/null | grep Candidate | grep -v none"
                    ))
                    .is_empty()
            });
        let Some(pkg) = candidate else {
            return;
        };
        let mut local = Local::new();
        local.check = true;
        let r = local.run("apt", json!({"name": pkg})).await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert!(
            r["stdout"]
                .as_str()
                .unwrap()
                .contains(&format!("Inst {pkg} "))
        );
        assert!(sh(&format!("dpkg-query -W -f='${{Status}}' {pkg} 2>/dev/null")).is_empty());
        // And an unknown package fails as Ansible says.
        let r = local
            .run("apt", json!({"name": "hordetest-no-such-package"}))
            .await;
        assert_eq!(
            r["msg"],
            json!("No package matching 'hordetest-no-such-package' is available")
        );
    }

    #[test]
    fn scripts_act_only_on_what_differs() {
        let a = Args::new(
            "apt",
            json!({"name": ["nginx", "curl=8.0"], "state": "absent", "purge": true})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let p = params(&a).unwrap();
        let s = apt_body(&p, false);
        assert!(s.contains("apt-get -y -q remove --purge $todo"), "{s}");
        assert!(s.contains("for p in nginx curl=8.0;"));
        let s = dnf_body(
            &params(&Args::new(
                "dnf",
                json!({"name": "x", "state": "latest"})
                    .as_object()
                    .cloned()
                    .unwrap(),
            ))
            .unwrap(),
            false,
        );
        assert!(s.contains("upgrade $have"), "{s}");
    }

    #[tokio::test]
    async fn argument_errors() {
        let local = Local::new();
        let r = local.run("apt", json!({"state": "present"})).await;
        assert_eq!(
            r["msg"],
            json!("missing required arguments: name (module apt)")
        );
        let r = local
            .run("package", json!({"name": "x", "state": "bogus"}))
            .await;
        assert_eq!(
            r["msg"],
            json!(
                "value of state must be one of: absent, installed, latest, present, removed, got: bogus"
            )
        );
    }
}
