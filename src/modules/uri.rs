//! `uri` and `get_url`: HTTP requests made by `curl` on the host, one remote script per task.
//! `uri` returns the response (status, headers, content, parsed JSON); `get_url` downloads to
//! a file and replaces it only when the content differs.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use super::system::{PRELUDE, Reply, try_arg};
use super::{ArgError, Args, Ctx, ModResult, failed};
use crate::shell::quote;
use crate::vars::Vars;
use serde_json::{Value, json};

/// The line after which a script prints the raw response body.
const BODY_MARK: &[u8] = b"@@horde body=\n";

/// Options both modules pass to curl.
fn curl_common(a: &Args, default_timeout: i64) -> Result<Vec<String>, ArgError> {
    let mut o: Vec<String> = vec!["-sS".into()];
    // Ansible's timeout bounds each socket operation, not the transfer: the connection, then
    // any stall (less than a byte a second for that long). A long download that keeps
    // moving is not cut off.
    let timeout = a.int("timeout")?.unwrap_or(default_timeout);
    if timeout > 0 {
        o.push(format!(
            "--connect-timeout {timeout} --speed-limit 1 --speed-time {timeout}"
        ));
    }
    if !a.bool_or("validate_certs", true)? {
        o.push("-k".into());
    }
    if !a.bool_or("use_proxy", true)? {
        o.push("--noproxy '*'".into());
    }
    let agent = a
        .str("http_agent")?
        .unwrap_or_else(|| "ansible-httpget".into());
    o.push(format!("-A {}", quote(&agent)));
    if let Some(user) = a.str("url_username")? {
        let pw = a.str("url_password")?.unwrap_or_default();
        o.push(format!("--basic -u {}", quote(&format!("{user}:{pw}"))));
    }
    for (k, v) in a.dict("headers")?.unwrap_or_default() {
        let v = match v {
            Value::String(s) => s,
            other => other.to_string(),
        };
        o.push(format!("-H {}", quote(&format!("{k}: {v}"))));
    }
    Ok(o)
}

/// What curl's exit status means (its man page, EXIT CODES), for the failures a request
/// meets.
fn curl_exit_meaning(rc: i64) -> &'static str {
    match rc {
        1 => "unsupported protocol",
        3 => "malformed URL",
        5 => "could not resolve the proxy",
        6 => "could not resolve the host",
        7 => "could not connect",
        18 => "partial transfer: the body ended before its announced length",
        23 => "could not write the response to a local file",
        26 => "could not read the request body",
        28 => "timed out",
        35 => "TLS handshake failed",
        47 => "too many redirects",
        52 => "the server sent nothing",
        55 => "failed sending data",
        56 => "failed receiving data",
        60 => "the server's certificate could not be verified",
        _ => "see EXIT CODES in curl's manual",
    }
}

/// curl's failure, when its exit status (the `rc` tag) is not 0: its message and what the
/// status means. A response cut off mid-body still has a status line, so the status code
/// alone does not say the transfer worked.
fn curl_error(reply: &Reply) -> Option<String> {
    let rc = reply.get("rc")?.trim().parse::<i64>().unwrap_or(-1);
    (rc != 0).then(|| {
        let err = reply.stderr.trim();
        let err = err.strip_prefix("curl: ").unwrap_or(err);
        format!("{err} (curl exit {rc}: {})", curl_exit_meaning(rc))
    })
}

/// Splits a script's stdout at [`BODY_MARK`]: the tagged lines before, the body after.
fn split_body(out: &crate::ssh::ExecOutput) -> (Reply, Vec<u8>) {
    let pos = memchr::memmem::find(&out.stdout, BODY_MARK)
        .filter(|&p| p == 0 || out.stdout[p - 1] == b'\n');
    let mut head = out.clone();
    let body = match pos {
        Some(p) => {
            let body = out.stdout[p + BODY_MARK.len()..].to_vec();
            head.stdout.truncate(p);
            body
        }
        None => Vec::new(),
    };
    (Reply::parse(&head), body)
}

/// The response headers of the last response (after redirects), as Ansible names them
/// (`content_type`), and the status line's reason.
fn headers(reply: &Reply) -> (Vars, String) {
    let mut h = Vars::new();
    let mut reason = String::new();
    for line in reply.all("hdr") {
        let line = line.trim_end_matches('\r');
        if line.starts_with("HTTP/") {
            h.clear();
            reason = line.splitn(3, ' ').nth(2).unwrap_or("").to_string();
        } else if let Some((k, v)) = line.split_once(':') {
            let key = k.trim().to_ascii_lowercase().replace('-', "_");
            let v = v.trim().to_string();
            let joined = match h.get(&key) {
                Some(Value::String(old)) => format!("{old}, {v}"),
                _ => v,
            };
            h.insert(key, Value::String(joined));
        }
    }
    (h, reason)
}

/// Prints the headers file `$h` as tagged lines.
const PRINT_HEADERS: &str = "sed 's/^/@@horde hdr=/' \"$h\"\n";

/// The curl `-w` format: status, final url, redirects and time. (It must not start with
/// `@`, which makes curl read the format from a file.)
const WRITE_OUT: &str = "-w '\\n@@horde status=%{http_code}\\n@@horde url=%{url_effective}\\n@@horde redirects=%{num_redirects}\\n@@horde time=%{time_total}\\n'";

/// The status codes that count as success: an int, a list, or `"200, 201"`.
fn status_codes(a: &Args) -> Result<Vec<i64>, ArgError> {
    let bad = || ArgError("status_code must be an int or a list of ints".into());
    let one = |v: &Value| -> Result<Vec<i64>, ArgError> {
        match v {
            Value::Number(n) => n.as_i64().map(|n| vec![n]).ok_or_else(bad),
            Value::String(s) => s
                .split(',')
                .filter(|p| !p.trim().is_empty())
                .map(|p| p.trim().parse().map_err(|_| bad()))
                .collect(),
            _ => Err(bad()),
        }
    };
    match a.get("status_code") {
        None => Ok(vec![200]),
        Some(Value::Array(items)) => {
            let mut all = Vec::new();
            for i in items {
                all.extend(one(i)?);
            }
            Ok(all)
        }
        Some(v) => one(v),
    }
}

fn python_list(codes: &[i64]) -> String {
    let items: Vec<String> = codes.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// Builds the request body and its content type from `body` and `body_format`.
/// A request body and the content type it implies.
type Body = (Vec<u8>, Option<&'static str>);

fn body(a: &Args) -> Result<Option<Body>, ArgError> {
    let format = a
        .choice(
            "body_format",
            &["form-urlencoded", "json", "raw", "form-multipart"],
            Some("raw"),
        )?
        .unwrap_or_default();
    let Some(b) = a.get("body") else {
        return Ok(None);
    };
    Ok(Some(match (format.as_str(), b) {
        ("json", Value::String(s)) => (s.clone().into_bytes(), Some("application/json")),
        ("json", v) => (v.to_string().into_bytes(), Some("application/json")),
        ("form-urlencoded", Value::Object(m)) => {
            let pairs: Vec<String> = m
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    format!("{}={}", urlencode(k), urlencode(&v))
                })
                .collect();
            (
                pairs.join("&").into_bytes(),
                Some("application/x-www-form-urlencoded"),
            )
        }
        ("form-urlencoded", Value::String(s)) => (
            s.clone().into_bytes(),
            Some("application/x-www-form-urlencoded"),
        ),
        ("form-multipart", _) => {
            return Err(ArgError(
                "body_format=form-multipart is not supported by horde's uri".into(),
            ));
        }
        (_, Value::String(s)) => (s.clone().into_bytes(), None),
        (_, v @ (Value::Number(_) | Value::Bool(_))) => (v.to_string().into_bytes(), None),
        (_, _) => {
            return Err(ArgError(
                "body must be a string with body_format=raw (use body_format: json for a dict or list)"
                    .into(),
            ));
        }
    }))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `uri`: one HTTP request, the response as the result.
pub(crate) async fn uri(a: &Args, ctx: &Ctx<'_>) -> ModResult {
    let url = try_arg!(a.req_str("url"));
    let method = try_arg!(a.str("method"))
        .unwrap_or_else(|| "GET".into())
        .to_ascii_uppercase();
    let codes = try_arg!(status_codes(a));
    let body = try_arg!(body(a));
    let return_content = try_arg!(a.bool_or("return_content", false));
    let follow = try_arg!(a.choice(
        "follow_redirects",
        &["all", "no", "none", "safe", "urllib2", "yes"],
        Some("safe")
    ))
    .unwrap_or_default();
    let dest = try_arg!(a.str("dest"));
    if a.has("src") {
        return Ok(failed("src is not supported by horde's uri (use body)"));
    }
    if ctx.check {
        let mut r = super::ok(false);
        r.insert("skipped".into(), json!(true));
        r.insert(
            "msg".into(),
            json!("remote module (uri) does not support check mode"),
        );
        return Ok(r);
    }
    let mut curl = try_arg!(curl_common(a, 30));
    if method == "HEAD" {
        curl.push("-I".into());
    } else if method != "GET" || body.is_some() {
        curl.push(format!("-X {}", quote(&method)));
    }
    let safe = matches!(method.as_str(), "GET" | "HEAD");
    if matches!(follow.as_str(), "all" | "yes")
        || (matches!(follow.as_str(), "safe" | "urllib2") && safe)
    {
        curl.push("-L".into());
    }
    let mut stdin = None;
    if let Some((bytes, ctype)) = body {
        let has_ctype = try_arg!(a.dict("headers"))
            .unwrap_or_default()
            .keys()
            .any(|k| k.eq_ignore_ascii_case("content-type"));
        if let (Some(ct), false) = (ctype, has_ctype) {
            curl.push(format!("-H {}", quote(&format!("Content-Type: {ct}"))));
        }
        curl.push("--data-binary @-".into());
        stdin = Some(bytes);
    }
    let mut s = String::from(PRELUDE);
    s.push_str("command -v curl >/dev/null 2>&1 || { say nocurl 1; exit 0; }\n");
    if let Some(c) = try_arg!(a.str("creates")) {
        s.push_str(&format!(
            "[ -e {} ] && {{ say skip creates; exit 0; }}\n",
            quote(&c)
        ));
    }
    if let Some(r) = try_arg!(a.str("removes")) {
        s.push_str(&format!(
            "[ -e {} ] || {{ say skip removes; exit 0; }}\n",
            quote(&r)
        ));
    }
    s.push_str("t=$(mktemp) && h=$(mktemp) || exit 1\ntrap 'rm -f \"$t\" \"$h\"' EXIT\n");
    s.push_str(&format!(
        "curl {} -D \"$h\" -o \"$t\" {WRITE_OUT} {}{}\nrc=$?; say rc $rc\n",
        curl.join(" "),
        quote(&url),
        if stdin.is_none() { " </dev/null" } else { "" }
    ));
    s.push_str(PRINT_HEADERS);
    if let Some(d) = &dest {
        s.push_str(&format!(
            "d={}; [ -d \"$d\" ] && d=\"$d/{}\"\nsay path \"$d\"\n\
             [ $rc = 0 ] && case \"$(sed -n 's/^HTTP\\/[^ ]* \\([0-9]*\\).*/\\1/p' \"$h\" | tail -n 1)\" in\n\
             \x20 2??) cmp -s \"$t\" \"$d\" 2>/dev/null || {{ cp \"$t\" \"$d\" && say written 1; }} ;;\n\
             esac\n",
            quote(d),
            url_basename(&url)
        ));
    }
    s.push_str("printf '@@horde body=\\n'; cat \"$t\"\nexit 0\n");
    let out = ctx.sh(&s, stdin).await?;
    let (reply, body) = split_body(&out);
    if let Some(r) = reply.script_failure("uri") {
        return Ok(r);
    }
    if reply.flag("nocurl") {
        return Ok(failed(
            "uri needs curl on the host, and there is none in PATH",
        ));
    }
    if let Some(which) = reply.get("skip") {
        let mut r = super::ok(false);
        let path = match which {
            "creates" => a.str("creates").ok().flatten(),
            _ => a.str("removes").ok().flatten(),
        }
        .unwrap_or_default();
        let msg = if which == "creates" {
            format!("skipped, since {path} exists")
        } else {
            format!("skipped, since {path} does not exist")
        };
        r.insert("msg".into(), json!(msg));
        return Ok(r);
    }
    let status = reply.int("status").filter(|s| *s > 0).unwrap_or(-1);
    let (hdrs, reason) = headers(&reply);
    let mut r = super::ok(reply.flag("written"));
    for (k, v) in &hdrs {
        r.insert(k.clone(), v.clone());
    }
    r.insert("cookies".into(), cookies(&reply));
    r.insert(
        "elapsed".into(),
        json!(
            reply
                .get("time")
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or(0.0) as i64
        ),
    );
    r.insert(
        "redirected".into(),
        json!(reply.int("redirects").unwrap_or(0) > 0),
    );
    r.insert("status".into(), json!(status));
    r.insert(
        "url".into(),
        json!(reply.get("url").filter(|u| !u.is_empty()).unwrap_or(&url)),
    );
    if let Some(p) = reply.get("path") {
        r.insert("path".into(), json!(p));
    }
    let text = String::from_utf8_lossy(&body).into_owned();
    let is_json = hdrs
        .get("content_type")
        .and_then(Value::as_str)
        .is_some_and(|ct| ct.contains("json"));
    if is_json && let Ok(v) = serde_json::from_str::<Value>(&text) {
        r.insert("json".into(), v);
    }
    if return_content {
        r.insert("content".into(), json!(text));
    }
    let ok_msg = format!(
        "OK ({} bytes)",
        hdrs.get("content_length")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
    );
    let curl_err = curl_error(&reply);
    let msg = if let Some(e) = &curl_err {
        format!("Request failed: {e}")
    } else if status == -1 {
        format!(
            "Request failed: {}",
            reply.stderr.trim().trim_start_matches("curl: ")
        )
    } else if status >= 400 || (status >= 300 && !codes.contains(&status)) {
        format!("HTTP Error {status}: {reason}")
    } else {
        ok_msg
    };
    if codes.contains(&status) && curl_err.is_none() {
        r.insert("msg".into(), json!(msg));
    } else if status != -1 && curl_err.is_some() {
        // A status arrived but the transfer failed after it (cut off, stalled).
        r.insert("msg".into(), json!(msg));
        r.insert("failed".into(), json!(true));
    } else {
        r.insert(
            "msg".into(),
            json!(format!(
                "Status code was {status} and not {}: {msg}",
                python_list(&codes)
            )),
        );
        r.insert("failed".into(), json!(true));
    }
    Ok(r)
}

/// `Set-Cookie` headers as a name -> value map.
fn cookies(reply: &Reply) -> Value {
    let mut m = Vars::new();
    for line in reply.all("hdr") {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("set-cookie")
            && let Some((name, value)) = v.trim().split(';').next().and_then(|c| c.split_once('='))
        {
            m.insert(name.trim().into(), json!(value.trim()));
        }
    }
    Value::Object(m)
}

/// The file name a URL names (for a directory `dest`).
fn url_basename(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once("://").map_or(path, |(_, rest)| rest);
    let name = path
        .split_once('/')
        .map_or("", |(_, p)| p.rsplit('/').next().unwrap_or(""));
    let name = if name.is_empty() { "index.html" } else { name };
    // The name goes into a double-quoted shell string.
    name.chars()
        .filter(|c| !matches!(c, '"' | '$' | '`' | '\\'))
        .collect()
}

const HASHES: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// `get_url`: downloads to `dest`; replaces it only when the content differs.
pub(crate) async fn get_url(a: &Args, ctx: &Ctx<'_>) -> ModResult {
    let url = try_arg!(a.req_str("url"));
    let dest = try_arg!(a.req_str("dest"));
    let force = try_arg!(a.bool_or("force", false));
    let checksum = match try_arg!(a.str("checksum")).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => match c.split_once(':') {
            Some((algo, hex)) if HASHES.contains(&algo) => {
                if hex.contains("://") {
                    return Ok(failed(
                        "a checksum URL is not supported by horde's get_url; give <algorithm>:<hex>",
                    ));
                }
                Some((algo.to_string(), hex.trim().to_ascii_lowercase()))
            }
            Some((algo, _)) if !algo.is_empty() && !algo.contains('/') => {
                return Ok(failed(format!("Unsupported hash algorithm: {algo}")));
            }
            _ => {
                return Ok(failed(
                    "The checksum parameter has to be in format <algorithm>:<checksum>",
                ));
            }
        },
    };
    let mode = try_arg!(a.mode("mode"));
    let owner = try_arg!(a.str("owner"));
    let group = try_arg!(a.str("group"));
    let tmp_dest = try_arg!(a.str("tmp_dest"));
    let curl = try_arg!(curl_common(a, 10));

    let mut s = String::from(PRELUDE);
    s.push_str(SUM);
    s.push_str("command -v curl >/dev/null 2>&1 || { say nocurl 1; exit 0; }\n");
    s.push_str(&format!(
        "d={}; [ -d \"$d\" ] && d=\"${{d%/}}/{}\"\nsay dest \"$d\"\n",
        quote(&dest),
        url_basename(&url)
    ));
    s.push_str("finish() { [ -e \"$d\" ] && say stat \"$(stat -c '%u %g %a %s %U %G' \"$d\" 2>/dev/null)\"; exit 0; }\n");
    s.push_str("[ -e \"$d\" ] && say checksum_dest \"$(sum sha1 \"$d\")\"\n");
    if let (Some((algo, hex)), false) = (&checksum, force) {
        s.push_str(&format!(
            "[ -e \"$d\" ] && [ \"$(sum {algo} \"$d\")\" = {} ] && {{ say uptodate 1; finish; }}\n",
            quote(hex)
        ));
    }
    s.push_str("dir=$(dirname \"$d\"); [ -d \"$dir\" ] || { say nodir \"$dir\"; exit 0; }\n");
    let tmpdir = match (&tmp_dest, ctx.check) {
        (Some(t), _) => quote(t),
        (None, true) => "\"${TMPDIR:-/tmp}\"".into(),
        (None, false) => "\"$dir\"".into(),
    };
    s.push_str(&format!(
        "t=$(mktemp {tmpdir}/.horde-get_url.XXXXXX) && h=$(mktemp) || exit 1\n\
         trap 'rm -f \"$t\" \"$h\"' EXIT\n"
    ));
    // Without force or a checksum, an existing file is fetched only if modified since.
    let since = !force && checksum.is_none();
    s.push_str(&format!(
        "set --; {since} && [ -e \"$d\" ] && set -- -z \"$d\"\n\
         curl {} -L \"$@\" -D \"$h\" -o \"$t\" {WRITE_OUT} {} </dev/null\nrc=$?; say rc $rc\n",
        curl.join(" "),
        quote(&url)
    ));
    s.push_str(PRINT_HEADERS);
    // A failed transfer (cut off, stalled) leaves dest alone; the trap removes its part.
    s.push_str(
        "[ $rc = 0 ] || exit 0\n\
         st=$(sed -n 's/^HTTP\\/[^ ]* \\([0-9]*\\).*/\\1/p' \"$h\" | tail -n 1)\n\
         case \"$st\" in 2??) ;; 304) finish ;; *) exit 0 ;; esac\n\
         say checksum_src \"$(sum sha1 \"$t\")\"; say size \"$(wc -c < \"$t\" | tr -d ' ')\"\n",
    );
    if let Some((algo, hex)) = &checksum {
        s.push_str(&format!(
            "got=$(sum {algo} \"$t\"); [ \"$got\" = {} ] || {{ say badsum \"$got\"; exit 0; }}\n",
            quote(hex)
        ));
    }
    s.push_str("if [ -e \"$d\" ] && cmp -s \"$t\" \"$d\"; then :; else\n  say changed 1\n");
    if !ctx.check {
        s.push_str(
            "  if [ -e \"$d\" ]; then chmod \"$(stat -c %a \"$d\")\" \"$t\"; chown \"$(stat -c %u:%g \"$d\")\" \"$t\" 2>/dev/null\n\
             \x20 else m=$(umask); chmod \"$(printf %o $(( 0666 & ~0$m )))\" \"$t\"; fi\n\
             \x20 mv -f \"$t\" \"$d\" || { say mvfailed 1; exit 0; }\n",
        );
    }
    s.push_str("fi\n");
    if !ctx.check && (mode.is_some() || owner.is_some() || group.is_some()) {
        s.push_str("before=$(stat -c '%a %U %G' \"$d\")\n");
        if let Some(m) = &mode {
            s.push_str(&format!(
                "chmod {} \"$d\" || say attrfailed chmod\n",
                quote(m)
            ));
        }
        if let Some(o) = &owner {
            s.push_str(&format!(
                "chown {} \"$d\" || say attrfailed chown\n",
                quote(o)
            ));
        }
        if let Some(g) = &group {
            s.push_str(&format!(
                "chgrp {} \"$d\" || say attrfailed chgrp\n",
                quote(g)
            ));
        }
        s.push_str("[ \"$before\" = \"$(stat -c '%a %U %G' \"$d\")\" ] || say changed 1\n");
    }
    s.push_str("finish\n");

    let reply = super::system::run_script(ctx, &s, None).await?;
    if let Some(r) = reply.script_failure("get_url") {
        return Ok(r);
    }
    Ok(get_url_result(&reply, &url, checksum.as_ref()))
}

/// `sum ALGO FILE`: the hex digest, with whichever tool the host has.
const SUM: &str = r#"sum() {
  if command -v "$1sum" >/dev/null 2>&1; then "$1sum" < "$2" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1 && [ "$1" != md5 ]; then shasum -a "${1#sha}" < "$2" | cut -d' ' -f1
  else openssl dgst -"$1" -r < "$2" | cut -d' ' -f1; fi
}
"#;

fn get_url_result(reply: &Reply, url: &str, checksum: Option<&(String, String)>) -> Vars {
    let dest = reply.get("dest").unwrap_or("").to_string();
    if reply.flag("nocurl") {
        return failed("get_url needs curl on the host, and there is none in PATH");
    }
    if let Some(dir) = reply.get("nodir") {
        return failed(format!("Destination {dir} does not exist"));
    }
    let (hdrs, reason) = headers(reply);
    let status = reply.int("status").filter(|s| *s > 0).unwrap_or(-1);
    let mut r = super::ok(reply.flag("changed"));
    r.insert("dest".into(), json!(dest));
    r.insert("url".into(), json!(url));
    r.insert(
        "elapsed".into(),
        json!(
            reply
                .get("time")
                .and_then(|t| t.parse::<f64>().ok())
                .unwrap_or(0.0) as i64
        ),
    );
    let curl_err = curl_error(reply);
    if reply.flag("uptodate") {
        r.insert("msg".into(), json!("file already exists"));
    } else if status == -1 || curl_err.is_some() {
        let err = curl_err
            .unwrap_or_else(|| reply.stderr.trim().trim_start_matches("curl: ").to_string());
        let mut f = failed(format!("Request failed: {err}"));
        f.insert("changed".into(), json!(false));
        f.insert("status_code".into(), json!(status));
        f.insert("dest".into(), json!(dest));
        f.insert("url".into(), json!(url));
        return f;
    } else if status == 304 {
        r.insert("msg".into(), json!("HTTP Error 304: Not Modified"));
        r.insert("status_code".into(), json!(304));
    } else if !(200..300).contains(&status) {
        let mut f = failed("Request failed");
        f.insert("changed".into(), json!(false));
        f.insert("dest".into(), json!(dest));
        f.insert(
            "response".into(),
            json!(format!("HTTP Error {status}: {reason}")),
        );
        f.insert("status_code".into(), json!(status));
        f.insert("url".into(), json!(url));
        return f;
    } else {
        r.insert("status_code".into(), json!(status));
        r.insert(
            "msg".into(),
            json!(format!(
                "OK ({} bytes)",
                hdrs.get("content_length")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
            )),
        );
        r.insert("checksum_src".into(), json!(reply.get("checksum_src")));
        r.insert("checksum_dest".into(), json!(reply.get("checksum_dest")));
    }
    if let (Some(got), Some((_, want))) = (reply.get("badsum"), checksum) {
        let mut f = failed(format!(
            "The checksum for {dest} did not match {want}; it was {got}."
        ));
        f.insert("changed".into(), json!(false));
        f.insert("checksum_src".into(), json!(reply.get("checksum_src")));
        f.insert("checksum_dest".into(), json!(reply.get("checksum_dest")));
        f.insert("dest".into(), json!(dest));
        f.insert("url".into(), json!(url));
        return f;
    }
    if reply.flag("mvfailed") {
        return failed(format!("Could not replace {dest}"));
    }
    if let Some(cmd) = reply.get("attrfailed") {
        return failed(format!("{cmd} failed on {dest}: {}", reply.stderr.trim()));
    }
    if let Some(stat) = reply.get("stat") {
        let f: Vec<&str> = stat.split_whitespace().collect();
        if let [uid, gid, mode, size, owner, group] = f[..] {
            let num = |s: &str| s.parse::<i64>().map(Value::from).unwrap_or(Value::Null);
            r.insert("uid".into(), num(uid));
            r.insert("gid".into(), num(gid));
            r.insert("mode".into(), json!(format!("{mode:0>4}")));
            r.insert("size".into(), num(size));
            r.insert("owner".into(), json!(owner));
            r.insert("group".into(), json!(group));
            r.insert("state".into(), json!("file"));
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::super::system::testing::Local;
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::{Duration, Instant};

    /// A tiny HTTP server on 127.0.0.1 answering each of `n` requests with `response`;
    /// returns its base URL. It stops after `n` requests or 20 s.
    fn serve(response: &'static str, n: usize) -> String {
        serve_with(n, move |c| {
            let _ = c.write_all(response.as_bytes());
        })
    }

    /// As [`serve`], with `respond` writing each response (the connection closes after it).
    fn serve_with(n: usize, respond: impl Fn(&mut std::net::TcpStream) + Send + 'static) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        l.set_nonblocking(true).unwrap();
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(20);
            let mut served = 0;
            while served < n && Instant::now() < until {
                match l.accept() {
                    Ok((mut c, _)) => {
                        let _ = c.set_nonblocking(false);
                        let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                        read_request(&mut c);
                        respond(&mut c);
                        served += 1;
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        format!("http://{addr}")
    }

    /// Reads a request's head and its `Content-Length` body.
    fn read_request(c: &mut std::net::TcpStream) {
        let mut data = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let Ok(n) = c.read(&mut buf) else { return };
            if n == 0 {
                return;
            }
            data.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&data).to_ascii_lowercase();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                if data.len() >= end + 4 + len {
                    return;
                }
            }
        }
    }

    const JSON_OK: &str = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\nSet-Cookie: sid=abc; Path=/\r\nConnection: close\r\n\r\n{\"a\": 1, \"b\": [1, 2]}";
    const NOT_FOUND: &str =
        "HTTP/1.1 404 File not found\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope";
    const TEXT: &str = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhello\n";

    #[tokio::test]
    async fn uri_returns_status_content_and_json() {
        let base = serve(JSON_OK, 1);
        let r = Local::new()
            .run(
                "uri",
                json!({"url": format!("{base}/j"), "return_content": true}),
            )
            .await;
        assert_eq!(r.get("failed"), None, "{r:?}");
        assert_eq!(r["status"], json!(200));
        assert_eq!(r["msg"], json!("OK (21 bytes)"));
        assert_eq!(r["json"], json!({"a": 1, "b": [1, 2]}));
        assert_eq!(r["content"], json!("{\"a\": 1, \"b\": [1, 2]}"));
        assert_eq!(r["content_type"], json!("application/json"));
        assert_eq!(r["cookies"], json!({"sid": "abc"}));
        assert_eq!(r["redirected"], json!(false));
        assert_eq!(r["url"], json!(format!("{base}/j")));
    }

    #[tokio::test]
    async fn uri_fails_on_an_unexpected_status_and_a_refused_connection() {
        let base = serve(NOT_FOUND, 2);
        let local = Local::new();
        let r = local.run("uri", json!({"url": format!("{base}/x")})).await;
        assert_eq!(r["failed"], json!(true));
        assert_eq!(r["status"], json!(404));
        assert_eq!(
            r["msg"],
            json!("Status code was 404 and not [200]: HTTP Error 404: File not found")
        );
        let r = local
            .run(
                "uri",
                json!({"url": format!("{base}/x"), "status_code": [200, 404], "method": "POST", "body_format": "json", "body": {"k": "v"}}),
            )
            .await;
        assert_eq!(r.get("failed"), None, "{r:?}");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let r = local
            .run("uri", json!({"url": format!("http://127.0.0.1:{port}/")}))
            .await;
        assert_eq!(r["status"], json!(-1));
        assert!(
            r["msg"]
                .as_str()
                .unwrap()
                .starts_with("Status code was -1 and not [200]: Request failed:"),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn get_url_downloads_once_and_verifies_checksums() {
        let base = serve(TEXT, 4);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("hello.txt");
        let local = Local::new();
        let args = json!({"url": format!("{base}/t"), "dest": dest, "force": true});
        let r = local.run("get_url", args.clone()).await;
        assert_eq!(r.get("failed"), None, "{r:?}");
        assert_eq!(r["changed"], json!(true));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "hello\n");
        assert_eq!(
            r["checksum_src"],
            json!("f572d396fae9206628714fb2ce00f72e94f2258f")
        );
        assert_eq!(r["status_code"], json!(200));
        assert_eq!(r["size"], json!(6));
        // Same content again: downloaded, compared, left alone.
        let r = local.run("get_url", args).await;
        assert_eq!(r["changed"], json!(false), "{r:?}");
        assert_eq!(r["checksum_dest"], r["checksum_src"]);
        // A matching checksum: nothing downloaded at all.
        let sha = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
        let r = local
            .run(
                "get_url",
                json!({"url": format!("{base}/t"), "dest": dest, "checksum": format!("sha256:{sha}")}),
            )
            .await;
        assert_eq!(r["changed"], json!(false));
        assert_eq!(r["msg"], json!("file already exists"));
        // A wrong checksum fails and leaves no new file.
        let other = dir.path().join("other.txt");
        let r = local
            .run(
                "get_url",
                json!({"url": format!("{base}/t"), "dest": other, "checksum": "sha256:0000"}),
            )
            .await;
        assert_eq!(r["failed"], json!(true));
        assert!(r["msg"].as_str().unwrap().contains(sha), "{r:?}");
        assert!(!other.exists());
        // Check mode downloads nothing to dest.
        let mut check = Local::new();
        check.check = true;
        let r = check
            .run(
                "get_url",
                json!({"url": format!("{base}/t"), "dest": other}),
            )
            .await;
        assert_eq!(r["changed"], json!(true), "{r:?}");
        assert!(!other.exists());
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
    }

    #[tokio::test]
    async fn get_url_reports_http_errors() {
        let base = serve(NOT_FOUND, 1);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x");
        let r = Local::new()
            .run("get_url", json!({"url": format!("{base}/x"), "dest": dest}))
            .await;
        assert_eq!(r["failed"], json!(true));
        assert_eq!(r["msg"], json!("Request failed"));
        assert_eq!(r["response"], json!("HTTP Error 404: File not found"));
        assert_eq!(r["status_code"], json!(404));
        assert!(!dest.exists());
        // A script that stops early (no temporary file) is a failure, not a silent ok.
        let r = Local::new()
            .run(
                "get_url",
                json!({"url": format!("{base}/x"), "dest": dest, "tmp_dest": "/nonexistent-horde-dir"}),
            )
            .await;
        assert!(
            r["msg"]
                .as_str()
                .unwrap()
                .starts_with("the get_url script failed on the host (rc 1)"),
            "{r:?}"
        );
    }

    /// A response that announces more body than it sends, then closes.
    const CUT_OFF: &str =
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\npartial";

    #[tokio::test]
    async fn a_transfer_cut_off_mid_body_fails_and_leaves_dest_alone() {
        let base = serve(CUT_OFF, 4);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        let local = Local::new();
        let r = local
            .run("get_url", json!({"url": format!("{base}/f"), "dest": dest}))
            .await;
        assert_eq!(r["failed"], json!(true), "{r:?}");
        assert!(!dest.exists(), "{r:?}");
        std::fs::write(&dest, "old\n").unwrap();
        let r = local
            .run(
                "get_url",
                json!({"url": format!("{base}/f"), "dest": dest, "force": true}),
            )
            .await;
        assert_eq!(r["failed"], json!(true), "{r:?}");
        assert_eq!(r["changed"], json!(false), "{r:?}");
        let msg = r["msg"].as_str().unwrap();
        assert!(msg.starts_with("Request failed: "), "{r:?}");
        assert!(msg.contains("(curl exit 18: partial transfer"), "{r:?}");
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no partial file left behind"
        );
        // uri: the status was 200, the transfer still failed; dest keeps its content.
        let r = local
            .run(
                "uri",
                json!({"url": format!("{base}/f"), "dest": dest, "return_content": true}),
            )
            .await;
        assert_eq!(r["failed"], json!(true), "{r:?}");
        assert_eq!(r["status"], json!(200));
        assert!(
            r["msg"].as_str().unwrap().contains("(curl exit 18"),
            "{r:?}"
        );
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old\n");
        let r = local.run("uri", json!({"url": format!("{base}/f")})).await;
        assert_eq!(r["failed"], json!(true), "{r:?}");
    }

    /// `timeout` bounds a stall, as Ansible's socket timeout does, not the whole transfer.
    #[tokio::test]
    async fn timeout_cuts_a_stall_not_a_slow_transfer() {
        let slow = serve_with(1, |c| {
            let _ =
                c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 70\r\nConnection: close\r\n\r\n");
            // 2.8 s in all, never idle for as long as the 2 s timeout.
            for _ in 0..7 {
                std::thread::sleep(Duration::from_millis(400));
                let _ = c.write_all(b"0123456789");
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("slow");
        let local = Local::new();
        let r = local
            .run(
                "get_url",
                json!({"url": format!("{slow}/s"), "dest": dest, "timeout": 2}),
            )
            .await;
        assert_eq!(r.get("failed"), None, "{r:?}");
        assert_eq!(std::fs::read(&dest).unwrap().len(), 70);
        let stalled = serve_with(1, |c| {
            let _ = c.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\nConnection: close\r\n\r\nabc",
            );
            std::thread::sleep(Duration::from_secs(6));
        });
        let started = Instant::now();
        let r = local
            .run(
                "get_url",
                json!({"url": format!("{stalled}/s"), "dest": dir.path().join("stalled"), "timeout": 1}),
            )
            .await;
        assert_eq!(r["failed"], json!(true), "{r:?}");
        assert!(
            r["msg"]
                .as_str()
                .unwrap()
                .contains("(curl exit 28: timed out)"),
            "{r:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5), "{r:?}");
    }

    #[tokio::test]
    async fn argument_errors() {
        let local = Local::new();
        let r = local.run("get_url", json!({"url": "http://x/"})).await;
        assert_eq!(r["failed"], json!(true));
        assert!(r["msg"].as_str().unwrap().contains("dest"));
        let r = local
            .run(
                "get_url",
                json!({"url": "http://x/", "dest": "/tmp/x", "checksum": "nocolon"}),
            )
            .await;
        assert_eq!(
            r["msg"],
            json!("The checksum parameter has to be in format <algorithm>:<checksum>")
        );
        let r = local
            .run("uri", json!({"url": "http://x/", "status_code": "abc"}))
            .await;
        assert_eq!(r["failed"], json!(true));
        let r = local
            .run("uri", json!({"url": "http://x/", "body": {"a": 1}}))
            .await;
        assert!(r["msg"].as_str().unwrap().contains("body_format"), "{r:?}");
    }

    #[test]
    fn url_basenames() {
        assert_eq!(url_basename("https://h/a/b.tar.gz?x=1"), "b.tar.gz");
        assert_eq!(url_basename("https://h/"), "index.html");
        assert_eq!(url_basename("https://h"), "index.html");
    }
}
