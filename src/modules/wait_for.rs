//! `wait_for`: waits on the host for a TCP port to open, close or drain, a file to appear
//! (optionally containing a regex) or vanish, or just for time to pass. The whole wait is one
//! remote script that polls every `sleep` seconds until `timeout`.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use super::system::{PRELUDE, Reply, run_script, try_arg};
use super::{Args, Ctx, ModResult, failed};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

const STATES: &[&str] = &["absent", "drained", "present", "started", "stopped"];

/// TCP states (as `/proc/net/tcp` numbers them) that count as an active connection.
const TCP_STATES: &[(&str, &str)] = &[
    ("ESTABLISHED", "01"),
    ("SYN_SENT", "02"),
    ("SYN_RECV", "03"),
    ("FIN_WAIT1", "04"),
    ("FIN_WAIT2", "05"),
    ("TIME_WAIT", "06"),
    ("CLOSE", "07"),
    ("CLOSE_WAIT", "08"),
    ("LAST_ACK", "09"),
    ("LISTEN", "0A"),
    ("CLOSING", "0B"),
];

struct Params {
    host: String,
    port: Option<i64>,
    path: Option<String>,
    state: String,
    timeout: i64,
    delay: i64,
    sleep: i64,
    connect_timeout: i64,
    search_regex: Option<String>,
    active_states: Vec<String>,
    msg: Option<String>,
}

fn params(a: &Args) -> Result<Params, String> {
    let e = |e: super::ArgError| e.0;
    let p = Params {
        host: a
            .str("host")
            .map_err(e)?
            .unwrap_or_else(|| "127.0.0.1".into()),
        port: a.int("port").map_err(e)?,
        path: a.str("path").map_err(e)?,
        state: a
            .choice("state", STATES, Some("started"))
            .map_err(e)?
            .unwrap_or_default(),
        timeout: a.int("timeout").map_err(e)?.unwrap_or(300).max(0),
        delay: a.int("delay").map_err(e)?.unwrap_or(0).max(0),
        sleep: a.int("sleep").map_err(e)?.unwrap_or(1).max(1),
        connect_timeout: a.int("connect_timeout").map_err(e)?.unwrap_or(5).max(1),
        search_regex: a.str("search_regex").map_err(e)?,
        active_states: a
            .list("active_connection_states")
            .map_err(e)?
            .unwrap_or_else(|| {
                [
                    "ESTABLISHED",
                    "FIN_WAIT1",
                    "FIN_WAIT2",
                    "SYN_RECV",
                    "SYN_SENT",
                    "TIME_WAIT",
                ]
                .map(String::from)
                .to_vec()
            }),
        msg: a.str("msg").map_err(e)?,
    };
    if p.port.is_some() && p.path.is_some() {
        return Err("port and path parameter can not both be passed to wait_for".into());
    }
    if p.path.is_some() && matches!(p.state.as_str(), "stopped" | "drained") {
        return Err(format!(
            "state={} should only be used for checking a port in the wait_for module",
            p.state
        ));
    }
    if a.has("exclude_hosts") {
        return Err("exclude_hosts is not supported by horde's wait_for".into());
    }
    if p.port.is_some_and(|port| !(1..=65535).contains(&port)) {
        return Err(format!("port {} is out of range", p.port.unwrap_or(0)));
    }
    Ok(p)
}

/// Ansible's search regexes are Python's; `grep -P` takes them as they are, and for `grep -E`
/// the common escapes become POSIX classes.
fn to_ere(re: &str) -> String {
    re.replace("\\d", "[0-9]")
        .replace("\\D", "[^0-9]")
        .replace("\\s", "[[:space:]]")
        .replace("\\S", "[^[:space:]]")
        .replace("\\w", "[[:alnum:]_]")
        .replace("\\W", "[^[:alnum:]_]")
}

/// The script: sets `ok` when the condition holds, polls until the deadline, prints the
/// elapsed seconds and (for a regex) the first matching line.
fn script(p: &Params) -> Result<String, String> {
    let mut s = String::from(PRELUDE);
    s.push_str(&format!(
        "start=$(date +%s); end=$((start + {})); ct={}\n",
        p.timeout, p.connect_timeout
    ));
    s.push_str("T=; command -v timeout >/dev/null 2>&1 && T=\"timeout $ct\"\n");
    if let Some(re) = &p.search_regex {
        s.push_str(&format!(
            "re_p={}; re_e={}\n\
             if printf 'x\\n' | grep -qP 'x' 2>/dev/null; then G=-P; re=$re_p; else G=-E; re=$re_e; fi\n",
            quote(re),
            quote(&to_ere(re))
        ));
    }
    if p.delay > 0 {
        s.push_str(&format!("sleep {}\n", p.delay));
    }
    let check = match (&p.port, &p.path) {
        (None, None) => {
            // Nothing to wait on: Ansible sleeps for the whole timeout.
            s.push_str(&format!(
                "sleep {}; say elapsed $(( $(date +%s) - start )); say ok 1\n",
                p.timeout
            ));
            return Ok(s);
        }
        (Some(port), None) => {
            s.push_str(&format!("h={}; port={port}\n", quote(&p.host)));
            s.push_str(PROBE);
            match (p.state.as_str(), &p.search_regex) {
                ("started" | "present", None) => "probe".to_string(),
                ("started" | "present", Some(_)) => "probe_re".to_string(),
                ("stopped" | "absent", _) => "! probe".to_string(),
                _ => {
                    let mut codes = Vec::new();
                    for st in &p.active_states {
                        match TCP_STATES.iter().find(|(n, _)| n == st) {
                            Some((_, code)) => codes.push(*code),
                            None => {
                                return Err(format!(
                                    "unknown active_connection_states entry {st:?}"
                                ));
                            }
                        }
                    }
                    s.push_str(&format!("codes={}\n", quote(&codes.join(" "))));
                    s.push_str(DRAINED);
                    "drained".to_string()
                }
            }
        }
        (None, Some(path)) => {
            s.push_str(&format!("f={}\n", quote(path)));
            match (p.state.as_str(), &p.search_regex) {
                ("absent", _) => "! [ -e \"$f\" ]".to_string(),
                (_, None) => "[ -e \"$f\" ]".to_string(),
                (_, Some(_)) => {
                    "[ -e \"$f\" ] && line=$(grep -m1 $G -e \"$re\" \"$f\" 2>/dev/null)".to_string()
                }
            }
        }
        (Some(_), Some(_)) => return Err("port and path can not both be given".into()),
    };
    s.push_str(&format!(
        "line=\nwhile :; do\n\
         \x20 if {check}; then say ok 1; break; fi\n\
         \x20 now=$(date +%s); [ \"$now\" -ge \"$end\" ] && break\n\
         \x20 sleep {}\n\
         done\n\
         say elapsed $(( $(date +%s) - start ))\n\
         [ -n \"$line\" ] && say line \"$line\"\n",
        p.sleep
    ));
    if p.path.is_some() && p.state != "absent" {
        s.push_str(
            "if [ -e \"$f\" ]; then\n\
             \x20 say stat \"$(stat -c '%u %g %a %s %U %G' \"$f\" 2>/dev/null)\"\n\
             \x20 if [ -d \"$f\" ]; then say ftype directory; elif [ -L \"$f\" ]; then say ftype link; else say ftype file; fi\n\
             fi\n",
        );
    }
    Ok(s)
}

/// `probe`: does a TCP connection to `$h:$port` succeed within `$ct` seconds? `probe_re`:
/// does the peer send a line matching `$re`? bash's `/dev/tcp` where there is bash, else nc.
const PROBE: &str = r#"if command -v bash >/dev/null 2>&1; then
  probe() { $T bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$h" "$port" 2>/dev/null; }
  probe_re() { line=$($T bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 2; grep -m1 '"$G"' -e "$3" <&3' _ "$h" "$port" "$re" 2>/dev/null); }
elif command -v nc >/dev/null 2>&1; then
  probe() { nc -z -w "$ct" "$h" "$port" >/dev/null 2>&1; }
  probe_re() { line=$(nc -w "$ct" "$h" "$port" </dev/null 2>/dev/null | grep -m1 $G -e "$re"); }
else
  say noprobe 1; exit 0
fi
"#;

/// `drained`: no connection to local port `$port` in one of the states `$codes`.
const DRAINED: &str = r#"drained() {
  hex=$(printf '%04X' "$port")
  n=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v p=":$hex" -v c=" $codes " '
    NR > 0 && substr($2, length($2) - 4) == p && index(c, " " $4 " ") { n++ } END { print n + 0 }')
  [ "$n" = 0 ]
}
"#;

pub(crate) async fn run(args: &Args, ctx: &Ctx<'_>) -> ModResult {
    let p = try_arg!(params(args).map_err(super::ArgError));
    let script = try_arg!(script(&p).map_err(super::ArgError));
    let reply = run_script(ctx, &script, None).await?;
    if let Some(r) = reply.script_failure("wait_for") {
        return Ok(r);
    }
    Ok(result(&p, &reply))
}

fn result(p: &Params, reply: &Reply) -> Vars {
    let elapsed = reply.int("elapsed").unwrap_or(0);
    if reply.flag("noprobe") {
        return failed("wait_for on a port needs bash or nc on the host");
    }
    if !reply.flag("ok") {
        let what = match (&p.port, &p.path) {
            (Some(port), _) => format!("{}:{port}", p.host),
            (_, Some(path)) => path.clone(),
            _ => String::new(),
        };
        let msg = p.msg.clone().unwrap_or_else(|| match p.state.as_str() {
            "absent" => format!("Timeout when waiting for {what} to be absent."),
            "stopped" => format!("Timeout when waiting for {what} to stop."),
            "drained" => format!("Timeout when waiting for {what} to drain"),
            _ if p.search_regex.is_some() => format!(
                "Timeout when waiting for search string {} in {what}",
                p.search_regex.as_deref().unwrap_or("")
            ),
            _ if p.path.is_some() => format!("Timeout when waiting for file {what}"),
            _ => format!("Timeout when waiting for {what}"),
        });
        let mut r = failed(msg);
        r.insert("changed".into(), json!(false));
        r.insert("elapsed".into(), json!(elapsed));
        return r;
    }
    let mut r = super::ok(false);
    r.insert("elapsed".into(), json!(elapsed));
    let (groups, groupdict) = match_groups(p.search_regex.as_deref(), reply.get("line"));
    r.insert("match_groupdict".into(), groupdict);
    r.insert("match_groups".into(), groups);
    r.insert("path".into(), json!(p.path));
    r.insert("port".into(), json!(p.port));
    r.insert("search_regex".into(), json!(p.search_regex));
    r.insert("state".into(), json!(p.state));
    if let Some(stat) = reply.get("stat") {
        let f: Vec<&str> = stat.split_whitespace().collect();
        if let [uid, gid, mode, size, owner, group] = f[..] {
            let num = |s: &str| s.parse::<i64>().map(Value::from).unwrap_or(Value::Null);
            r.insert("uid".into(), num(uid));
            r.insert("gid".into(), num(gid));
            r.insert("mode".into(), json!(format!("{:0>4}", mode)));
            r.insert("size".into(), num(size));
            r.insert("owner".into(), json!(owner));
            r.insert("group".into(), json!(group));
        }
        if let Some(t) = reply.get("ftype") {
            r.insert("state".into(), json!(t));
        }
    }
    r
}

/// The capture groups of the regex on the matching line, as Python's `groups()` and
/// `groupdict()` give them.
fn match_groups(re: Option<&str>, line: Option<&str>) -> (Value, Value) {
    let empty = (json!([]), json!({}));
    let (Some(re), Some(line)) = (re, line) else {
        return empty;
    };
    let Ok(re) = regex::RegexBuilder::new(re).multi_line(true).build() else {
        return empty;
    };
    let Some(caps) = re.captures(line) else {
        return empty;
    };
    let groups = caps
        .iter()
        .skip(1)
        .map(|m| m.map_or(Value::Null, |m| json!(m.as_str())))
        .collect();
    let dict = re
        .capture_names()
        .flatten()
        .map(|n| {
            let v = caps.name(n).map_or(Value::Null, |m| json!(m.as_str()));
            (n.to_string(), v)
        })
        .collect();
    (Value::Array(groups), Value::Object(dict))
}

#[cfg(test)]
mod tests {
    use super::super::system::testing::Local;
    use super::*;
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    #[tokio::test]
    async fn waits_for_a_port_that_opens_later() {
        // Find a free port, then listen on it only after a delay.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let server = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1500));
            let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
            // Hold the port open long enough for the probe, bounded in time.
            l.set_nonblocking(true).unwrap();
            let until = Instant::now() + Duration::from_secs(6);
            while Instant::now() < until {
                let _ = l.accept();
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let t0 = Instant::now();
        let r = Local::new()
            .run("wait_for", json!({"port": port, "timeout": 10}))
            .await;
        assert_eq!(r.get("failed"), None, "{r:?}");
        assert_eq!(r["port"], json!(port));
        assert_eq!(r["state"], json!("started"));
        assert!(t0.elapsed() >= Duration::from_millis(1400));
        assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());
        server.join().unwrap();
    }

    #[tokio::test]
    async fn a_closed_port_times_out_with_a_message() {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let t0 = Instant::now();
        let r = Local::new()
            .run("wait_for", json!({"port": port, "timeout": 2}))
            .await;
        assert_eq!(r["failed"], json!(true));
        assert_eq!(
            r["msg"],
            json!(format!("Timeout when waiting for 127.0.0.1:{port}"))
        );
        assert!(r["elapsed"].as_i64().unwrap() >= 2);
        assert!(t0.elapsed() < Duration::from_secs(5));
        // The same port is already stopped.
        let r = Local::new()
            .run(
                "wait_for",
                json!({"port": port, "state": "stopped", "timeout": 2}),
            )
            .await;
        assert_eq!(r.get("failed"), None, "{r:?}");
    }

    #[tokio::test]
    async fn waits_for_a_path_and_its_content_and_its_absence() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ready");
        let f2 = f.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            std::fs::write(&f2, "booting\nlistening on port 8080\n").unwrap();
        });
        let path = f.to_string_lossy().to_string();
        let r = Local::new()
            .run(
                "wait_for",
                json!({"path": path, "search_regex": "port (\\d+)", "timeout": 10}),
            )
            .await;
        writer.join().unwrap();
        assert_eq!(r.get("failed"), None, "{r:?}");
        assert_eq!(r["match_groups"], json!(["8080"]));
        assert_eq!(r["state"], json!("file"));
        assert_eq!(r["size"], json!(31));

        let f3 = f.clone();
        let remover = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(1200));
            std::fs::remove_file(&f3).unwrap();
        });
        let r = Local::new()
            .run(
                "wait_for",
                json!({"path": path, "state": "absent", "timeout": 10}),
            )
            .await;
        remover.join().unwrap();
        assert_eq!(r.get("failed"), None, "{r:?}");
        assert_eq!(r["state"], json!("absent"));
        assert!(!f.exists());

        let r = Local::new()
            .run(
                "wait_for",
                json!({"path": path, "timeout": 1, "msg": "never came"}),
            )
            .await;
        assert_eq!(r["msg"], json!("never came"));
    }

    #[tokio::test]
    async fn bad_arguments_fail_before_running() {
        let local = Local::new();
        let r = local
            .run("wait_for", json!({"port": 1, "path": "/x"}))
            .await;
        assert_eq!(
            r["msg"],
            json!("port and path parameter can not both be passed to wait_for")
        );
        let r = local
            .run("wait_for", json!({"port": 1, "state": "bogus"}))
            .await;
        assert_eq!(
            r["msg"],
            json!(
                "value of state must be one of: absent, drained, present, started, stopped, got: bogus"
            )
        );
        let r = local.run("wait_for", json!({"port": "x"})).await;
        assert_eq!(r["failed"], json!(true));
        assert!(r["msg"].as_str().unwrap().contains("'port'"));
    }

    #[test]
    fn ere_translation_and_groups() {
        assert_eq!(to_ere("a\\d+\\s"), "a[0-9]+[[:space:]]");
        let (g, d) = match_groups(Some("(?P<v>\\d+)\\.(\\d+)"), Some("version 1.22"));
        assert_eq!(g, json!(["1", "22"]));
        assert_eq!(d, json!({"v": "1"}));
    }
}
