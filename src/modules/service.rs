//! `service` and `systemd`: one remote script per task that reads the unit's state
//! (`systemctl show`/`is-active`/`is-enabled`, or the init script's `status` and rc.d links),
//! acts only where it differs and says what it did. `service` uses systemctl when systemd is
//! running, else the `service` command (or `/etc/init.d/NAME`); `systemd` always systemctl.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use super::system::{PRELUDE, Reply, run_script, try_arg};
use super::{ArgError, Args, Ctx, ModResult, failed};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

const STATES: &[&str] = &["reloaded", "restarted", "started", "stopped"];

struct Params {
    name: String,
    state: Option<String>,
    enabled: Option<bool>,
    masked: Option<bool>,
    daemon_reload: bool,
    /// `systemctl` with its options (`--user`, `--no-block`).
    systemctl: String,
    force: bool,
    pattern: Option<String>,
    arguments: String,
    sleep: Option<i64>,
    /// `systemd`, `sysv` or `auto`.
    manager: String,
}

fn params(module: &str, a: &Args) -> Result<Params, ArgError> {
    let name = a.req_str("name")?;
    let state = a.choice("state", STATES, None)?;
    let mut systemctl = String::from("systemctl");
    match a
        .choice("scope", &["global", "system", "user"], Some("system"))?
        .as_deref()
    {
        Some("user") => systemctl.push_str(" --user"),
        Some("global") => systemctl.push_str(" --global"),
        _ => {}
    }
    if a.bool_or("no_block", false)? {
        systemctl.push_str(" --no-block");
    }
    let manager = match module {
        "systemd" => "systemd".to_string(),
        _ => match a.str("use")?.as_deref() {
            None | Some("auto") => "auto".into(),
            Some("systemd") => "systemd".into(),
            Some("sysvinit" | "service" | "sysv") => "sysv".into(),
            Some(other) => {
                return Err(ArgError(format!(
                    "use={other} is not supported by horde's service (auto, systemd, sysvinit)"
                )));
            }
        },
    };
    let p = Params {
        name,
        state,
        enabled: a.bool("enabled")?,
        masked: a.bool("masked")?,
        daemon_reload: a.bool_or("daemon_reload", false)? || a.bool_or("daemon_reexec", false)?,
        systemctl,
        force: a.bool_or("force", false)?,
        pattern: a.str("pattern")?,
        arguments: a.str("arguments")?.unwrap_or_default(),
        sleep: a.int("sleep")?,
        manager,
    };
    if p.state.is_none() && p.enabled.is_none() && p.masked.is_none() && !p.daemon_reload {
        return Err(ArgError(
            "one of the following is required: state, enabled, masked, daemon_reload".into(),
        ));
    }
    Ok(p)
}

/// The script. `act VERB` records the change (`say changed VERB`) and, outside check mode,
/// runs it, stopping with `say failed VERB` (the output on stderr) when it fails.
///
/// The command's output goes to a temporary file, not a pipe: a daemon an init script
/// starts keeps the stdout it inherited, and reading a pipe would wait for it to exit
/// (Ansible daemonizes for the same reason). The file is made on the first `act` only.
fn script(p: &Params, check: bool) -> String {
    let mut s = String::from(PRELUDE);
    s.push_str(&format!("n={}\no=\n", quote(&p.name)));
    let run = if check { "false" } else { "true" };
    s.push_str(&format!(
        "act() {{ v=$1; shift; say changed \"$v\"; {run} || return 0\n\
         \x20 [ -n \"$o\" ] || {{ o=$(mktemp) && trap 'rm -f \"$o\"' EXIT; }} || exit 1\n\
         \x20 \"$@\" </dev/null >\"$o\" 2>&1 || {{ say failed \"$v\"; cat \"$o\" >&2; exit 0; }}; }}\n"
    ));
    let detect = match p.manager.as_str() {
        "systemd" => "if command -v systemctl >/dev/null 2>&1; then mgr=systemd\n".to_string(),
        "sysv" => "if false; then :\n".to_string(),
        _ => "if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then mgr=systemd\n"
            .to_string(),
    };
    s.push_str("mgr=\n");
    s.push_str(&detect);
    if p.manager != "systemd" {
        s.push_str(
            "elif command -v service >/dev/null 2>&1 || [ -x \"/etc/init.d/$n\" ]; then mgr=sysv\n",
        );
    }
    s.push_str("fi\nsay mgr \"$mgr\"\ncase \"$mgr\" in\nsystemd)\n");
    s.push_str(&systemd_part(p, check));
    s.push_str(";;\nsysv)\n");
    s.push_str(&sysv_part(p));
    s.push_str(";;\nesac\n");
    s
}

fn systemd_part(p: &Params, check: bool) -> String {
    let sc = &p.systemctl;
    let mut s = String::new();
    if p.daemon_reload && !check {
        s.push_str(&format!(
            "  {sc} daemon-reload >/dev/null 2>&1 || {{ say failed daemon-reload; exit 0; }}\n"
        ));
    }
    s.push_str(&format!(
        "  props=$({sc} show \"$n\" --no-pager 2>&1) || {{ say failed show; printf '%s\\n' \"$props\" >&2; exit 0; }}\n\
         \x20 printf '%s\\n' \"$props\" | sed 's/^/@@horde prop=/'\n\
         \x20 case \"$props\" in *LoadState=not-found*) {} ;; esac\n\
         \x20 active=$({sc} is-active \"$n\" 2>/dev/null); en=$({sc} is-enabled \"$n\" 2>/dev/null); enrc=$?\n",
        // Masking a unit that does not exist is allowed; anything else needs the unit.
        if p.masked == Some(true) {
            ":"
        } else {
            "say notfound 1; exit 0"
        }
    ));
    match p.masked {
        Some(true) => s.push_str(&format!(
            "  [ \"$en\" = masked ] || act mask {sc} mask \"$n\"\n"
        )),
        Some(false) => s.push_str(&format!(
            "  [ \"$en\" = masked ] && act unmask {sc} unmask \"$n\"\n"
        )),
        None => {}
    }
    let force = if p.force { " --force" } else { "" };
    match p.enabled {
        Some(true) => s.push_str(&format!(
            "  [ $enrc = 0 ] || act enable {sc} enable{force} \"$n\"\n"
        )),
        Some(false) => s.push_str(&format!(
            "  [ $enrc = 0 ] && act disable {sc} disable \"$n\"\n"
        )),
        None => {}
    }
    let running = "case \"$active\" in active|activating|reloading) true ;; *) false ;; esac";
    match p.state.as_deref() {
        Some("started") => s.push_str(&format!(
            "  {running} || act start {sc} start \"$n\"\n"
        )),
        Some("stopped") => s.push_str(&format!(
            "  case \"$active\" in active|activating|reloading|deactivating) act stop {sc} stop \"$n\" ;; esac\n"
        )),
        Some("restarted") => s.push_str(&format!(
            "  if {running}; then act restart {sc} restart \"$n\"; else act start {sc} start \"$n\"; fi\n"
        )),
        Some("reloaded") => s.push_str(&format!(
            "  if {running}; then act reload {sc} reload \"$n\"; else act start {sc} start \"$n\"; fi\n"
        )),
        _ => {}
    }
    s
}

fn sysv_part(p: &Params) -> String {
    let mut s = String::from(
        "  [ -e \"/etc/init.d/$n\" ] || [ -e \"/etc/init/$n.conf\" ] || { say notfound 1; exit 0; }\n\
         \x20 sv() { if command -v service >/dev/null 2>&1; then service \"$n\" \"$@\"; else \"/etc/init.d/$n\" \"$@\"; fi; }\n",
    );
    let args = if p.arguments.is_empty() {
        String::new()
    } else {
        format!(" {}", p.arguments)
    };
    match &p.pattern {
        Some(pat) => s.push_str(&format!(
            "  running() {{ ps -eo args 2>/dev/null | grep -v grep | grep -q -- {}; }}\n",
            quote(pat)
        )),
        None => s.push_str("  running() { sv status >/dev/null 2>&1; }\n"),
    }
    s.push_str("  if running; then active=active; else active=inactive; fi\n");
    s.push_str(
        "  enabled() { ls /etc/rc[2345].d/S[0-9][0-9]\"$n\" >/dev/null 2>&1 || { command -v chkconfig >/dev/null 2>&1 && chkconfig --list \"$n\" 2>/dev/null | grep -q ':on'; }; }\n\
         \x20 en_cmd() { if command -v update-rc.d >/dev/null 2>&1; then update-rc.d \"$n\" defaults >/dev/null 2>&1; update-rc.d \"$n\" \"$1\"; elif command -v chkconfig >/dev/null 2>&1; then if [ \"$1\" = enable ]; then chkconfig \"$n\" on; else chkconfig \"$n\" off; fi; else echo \"neither update-rc.d nor chkconfig is on the host\"; return 1; fi; }\n",
    );
    match p.enabled {
        Some(true) => s.push_str("  enabled || act enable en_cmd enable\n"),
        Some(false) => s.push_str("  enabled && act disable en_cmd disable\n"),
        None => {}
    }
    let restart = match p.sleep {
        Some(secs) if secs > 0 => {
            s.push_str(&format!(
                "  slow_restart() {{ sv stop{args}; sleep {secs}; sv start{args}; }}\n"
            ));
            "slow_restart".to_string()
        }
        _ => format!("sv restart{args}"),
    };
    match p.state.as_deref() {
        Some("started") => s.push_str(&format!(
            "  [ $active = active ] || act start sv start{args}\n"
        )),
        Some("stopped") => s.push_str(&format!(
            "  [ $active = active ] && act stop sv stop{args}\n"
        )),
        Some("restarted") => s.push_str(&format!(
            "  if [ $active = active ]; then act restart {restart}; else act start sv start{args}; fi\n"
        )),
        Some("reloaded") => s.push_str(&format!(
            "  if [ $active = active ]; then act reload sv reload{args}; else act start sv start{args}; fi\n"
        )),
        _ => {}
    }
    s.push_str("  say active \"$active\"\n");
    s
}

/// Runs `service` or `systemd`.
pub(crate) async fn run(module: &str, a: &Args, ctx: &Ctx<'_>) -> ModResult {
    let p = try_arg!(params(module, a));
    let reply = run_script(ctx, &script(&p, ctx.check), None).await?;
    if let Some(r) = reply.script_failure(module) {
        return Ok(r);
    }
    Ok(result(&p, &reply))
}

fn result(p: &Params, reply: &Reply) -> Vars {
    let name = &p.name;
    let mgr = reply.get("mgr").unwrap_or("");
    if mgr.is_empty() {
        return failed(if p.manager == "systemd" {
            format!("systemctl is not on the host, so the systemd module cannot manage {name}")
        } else {
            format!(
                "neither systemctl (with systemd running) nor the service command is on the host, so {name} cannot be managed"
            )
        });
    }
    if reply.flag("notfound") {
        // Ansible's message says "host", not the host's name.
        return failed(format!("Could not find the requested service {name}: host"));
    }
    if let Some(verb) = reply.get("failed") {
        let err = reply.stderr.trim();
        let mut r = match verb {
            "show" => failed(format!(
                "failure running systemctl show for '{name}': {err}"
            )),
            "daemon-reload" => failed(format!("failure running systemctl daemon-reload: {err}")),
            _ => failed(format!("Unable to {verb} service {name}: {err}")),
        };
        r.insert("changed".into(), json!(false));
        return r;
    }
    let changed = reply.get("changed").is_some();
    let mut r = super::ok(changed);
    r.insert("name".into(), json!(name));
    if let Some(state) = &p.state {
        r.insert("state".into(), json!(state));
    }
    if let Some(enabled) = p.enabled {
        r.insert("enabled".into(), json!(enabled));
    }
    if let Some(masked) = p.masked {
        r.insert("masked".into(), json!(masked));
    }
    if mgr == "systemd" {
        let status: Vars = reply
            .all("prop")
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        r.insert("status".into(), Value::Object(status));
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::system::testing::{Local, sh};
    use super::*;
    use std::path::Path;

    /// Removes the fake init script and its rc.d links even when the test fails.
    struct InitScript(String);
    impl Drop for InitScript {
        fn drop(&mut self) {
            sh(&format!(
                "update-rc.d -f {0} remove >/dev/null 2>&1; rm -f /etc/init.d/{0} /tmp/{0}.running /tmp/{0}.log",
                self.0
            ));
        }
    }

    fn systemd_running() -> bool {
        Path::new("/run/systemd/system").is_dir()
    }

    #[tokio::test]
    async fn sysv_services_start_stop_and_enable_honestly() {
        if systemd_running() || !Path::new("/etc/init.d").is_dir() || sh("id -u").trim() != "0" {
            return;
        }
        let name = format!("hordetest-svc-{}", std::process::id());
        let guard = InitScript(name.clone());
        let script = format!(
            "#!/bin/sh\n### BEGIN INIT INFO\n# Provides: {name}\n# Required-Start:\n# Required-Stop:\n\
             # Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: horde test\n### END INIT INFO\n\
             f=/tmp/{name}.running\ncase \"$1\" in\n start) touch $f; echo start >> /tmp/{name}.log ;;\n\
             \x20stop) rm -f $f; echo stop >> /tmp/{name}.log ;;\n restart) touch $f; echo restart >> /tmp/{name}.log ;;\n\
             \x20reload) echo reload >> /tmp/{name}.log ;;\n status) [ -e $f ] ;;\n *) exit 3 ;;\nesac\n"
        );
        std::fs::write(format!("/etc/init.d/{name}"), script).unwrap();
        sh(&format!("chmod 755 /etc/init.d/{name}"));
        let running = Path::new("/tmp").join(format!("{name}.running"));

        let mut check = Local::new();
        check.check = true;
        let r = check
            .run("service", json!({"name": name, "state": "started"}))
            .await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert!(!running.exists(), "check mode started the service");

        let local = Local::new();
        let r = local
            .run("service", json!({"name": name, "state": "started"}))
            .await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert!(running.exists());
        let r = local
            .run("service", json!({"name": name, "state": "started"}))
            .await;
        assert_eq!(r["changed"], json!(false), "{r:?}");
        let r = local
            .run("service", json!({"name": name, "state": "restarted"}))
            .await;
        assert_eq!(r["changed"], json!(true));
        let r = local
            .run("service", json!({"name": name, "state": "stopped"}))
            .await;
        assert_eq!(r["changed"], json!(true));
        assert!(!running.exists());
        let r = local
            .run("service", json!({"name": name, "state": "stopped"}))
            .await;
        assert_eq!(r["changed"], json!(false));
        let log = std::fs::read_to_string(format!("/tmp/{name}.log")).unwrap();
        assert_eq!(log, "start\nrestart\nstop\n");

        if !sh("command -v update-rc.d").is_empty() {
            let r = local
                .run("service", json!({"name": name, "enabled": true}))
                .await;
            assert_eq!(r["changed"], json!(true), "{r:?}");
            assert!(!sh(&format!("ls /etc/rc2.d/S*{name}")).is_empty());
            let r = local
                .run("service", json!({"name": name, "enabled": true}))
                .await;
            assert_eq!(r["changed"], json!(false), "{r:?}");
            let r = local
                .run("service", json!({"name": name, "enabled": false}))
                .await;
            assert_eq!(r["changed"], json!(true), "{r:?}");
        }
        drop(guard);
    }

    /// A command's output is read from a file, never from a pipe a daemon could hold open.
    #[test]
    fn actions_write_their_output_to_a_file() {
        let a = Args::new(
            "service",
            json!({"name": "x", "state": "started", "use": "sysv"})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let s = script(&params("service", &a).unwrap(), false);
        assert!(s.contains("\"$@\" </dev/null >\"$o\" 2>&1 ||"), "{s}");
        assert!(!s.contains("$(\"$@\""), "{s}");
    }

    /// Kills the daemon a fake init script left behind (by its pid) and removes the script.
    struct Daemon(String);
    impl Drop for Daemon {
        fn drop(&mut self) {
            sh(&format!(
                "[ -s /tmp/{0}.pid ] && kill \"$(cat /tmp/{0}.pid)\"; rm -f /etc/init.d/{0} /tmp/{0}.pid",
                self.0
            ));
        }
    }

    #[tokio::test]
    async fn a_daemon_that_keeps_stdout_does_not_hold_up_the_task() {
        if systemd_running() || !Path::new("/etc/init.d").is_dir() || sh("id -u").trim() != "0" {
            return;
        }
        let name = format!("hordetest-daemon-{}", std::process::id());
        let _guard = Daemon(name.clone());
        // `start` leaves a daemon with the script's stdout and stderr, as `nohup app &` does.
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in\n start) echo starting; sleep 30 & echo $! > /tmp/{name}.pid ;;\n\
             \x20status) [ -s /tmp/{name}.pid ] ;;\n *) exit 3 ;;\nesac\n"
        );
        std::fs::write(format!("/etc/init.d/{name}"), script).unwrap();
        sh(&format!("chmod 755 /etc/init.d/{name}"));
        let local = Local::new();
        let r = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            local.run("service", json!({"name": name, "state": "started"})),
        )
        .await
        .expect("the task ends while the daemon runs");
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert_eq!(r.get("failed"), None, "{r:?}");
        let pid = std::fs::read_to_string(format!("/tmp/{name}.pid")).unwrap();
        assert!(
            Path::new(&format!("/proc/{}", pid.trim())).exists(),
            "the daemon still runs"
        );
    }

    #[tokio::test]
    async fn unknown_services_and_missing_managers_fail_clearly() {
        if systemd_running() {
            return;
        }
        let local = Local::new();
        let r = local
            .run(
                "service",
                json!({"name": "hordetest-nonexistent", "state": "started"}),
            )
            .await;
        assert_eq!(
            r["msg"],
            json!("Could not find the requested service hordetest-nonexistent: host")
        );
        // With nothing in PATH, neither systemctl nor service can be found.
        let mut bare = Local::new();
        bare.env = vec![("PATH".into(), "/nonexistent".into())];
        let r = bare
            .run(
                "service",
                json!({"name": "hordetest-nonexistent", "state": "started"}),
            )
            .await;
        assert_eq!(r["failed"], json!(true));
        assert!(
            r["msg"].as_str().unwrap().starts_with("neither systemctl"),
            "{r:?}"
        );
    }

    /// A fake `systemctl` that keeps unit state in files, to test the systemd branch where
    /// systemd is not running.
    #[tokio::test]
    async fn systemd_acts_only_on_differences() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let fake = format!(
            "#!/bin/sh\nwhile [ \"${{1#--}}\" != \"$1\" ]; do shift; done\necho \"$@\" >> {d}/calls\n\
             u=$2\ncase \"$1\" in\n show) [ \"$u\" = nope.service ] && {{ echo LoadState=not-found; exit 0; }}\n\
             \x20  echo LoadState=loaded; echo \"ActiveState=$(cat {d}/active 2>/dev/null || echo inactive)\" ;;\n\
             \x20is-active) a=$(cat {d}/active 2>/dev/null || echo inactive); echo $a; [ $a = active ] ;;\n\
             \x20is-enabled) [ -e {d}/enabled ] && {{ echo enabled; exit 0; }}; echo disabled; exit 1 ;;\n\
             \x20start|restart) echo active > {d}/active ;;\n stop) echo inactive > {d}/active ;;\n\
             \x20enable) touch {d}/enabled ;;\n disable) rm -f {d}/enabled ;;\n daemon-reload) ;;\n\
             \x20*) echo \"unknown $1\" >&2; exit 1 ;;\nesac\n"
        );
        std::fs::write(dir.path().join("systemctl"), fake).unwrap();
        sh(&format!("chmod 755 {d}/systemctl"));
        let mut local = Local::new();
        local.env = vec![("PATH".into(), format!("{d}:/usr/bin:/bin"))];
        let args = json!({"name": "web.service", "state": "started", "enabled": true, "daemon_reload": true, "no_block": true});
        let r = local.run("systemd", args.clone()).await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert_eq!(r["status"]["LoadState"], json!("loaded"));
        let r = local.run("systemd", args).await;
        assert_eq!(r["changed"], json!(false), "{r:?}");
        assert_eq!(r["status"]["ActiveState"], json!("active"));
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        let acts: Vec<&str> = calls
            .lines()
            .filter(|l| !l.starts_with("show") && !l.starts_with("is-"))
            .collect();
        assert_eq!(
            acts,
            [
                "daemon-reload",
                "enable web.service",
                "start web.service",
                "daemon-reload"
            ]
        );
        let r = local
            .run(
                "systemd",
                json!({"name": "nope.service", "state": "started"}),
            )
            .await;
        assert_eq!(
            r["msg"],
            json!("Could not find the requested service nope.service: host")
        );
    }

    #[tokio::test]
    async fn argument_errors() {
        let local = Local::new();
        let r = local
            .run("service", json!({"name": "x", "state": "running"}))
            .await;
        assert_eq!(
            r["msg"],
            json!(
                "value of state must be one of: reloaded, restarted, started, stopped, got: running"
            )
        );
        let r = local.run("service", json!({"name": "x"})).await;
        assert!(
            r["msg"]
                .as_str()
                .unwrap()
                .contains("one of the following is required")
        );
        let r = local.run("systemd", json!({"state": "started"})).await;
        assert!(r["msg"].as_str().unwrap().contains("name"));
    }
}
