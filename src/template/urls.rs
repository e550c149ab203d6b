//! Ansible's URL filters: `urlsplit` (Python's `urllib.parse.urlsplit`, as a dict or one of
//! its fields) and `urldecode` (`unquote_plus`).

use super::filters::{fail, text};
use minijinja::{Environment, Error, Value};
use std::collections::BTreeMap;

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("urldecode", |s: Value| unquote_plus(&text(&s)));
}

/// The fields of `urlsplit(url)`; `port` is an int or none, `hostname` lower case.
fn split(url: &str) -> BTreeMap<&'static str, Value> {
    let none = || Value::from(());
    let mut rest = url;
    let mut scheme = String::new();
    if let Some(i) = rest.find(':') {
        let s = &rest[..i];
        if s.starts_with(|c: char| c.is_ascii_alphabetic())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        {
            scheme = s.to_ascii_lowercase();
            rest = &rest[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, hostport) = match netloc.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(u) => match u.split_once(':') {
            Some((n, p)) => (Value::from(n), Value::from(p)),
            None => (Value::from(u), none()),
        },
        None => (none(), none()),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, after) = v6.split_once(']').unwrap_or((v6, ""));
        (h, after.strip_prefix(':'))
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    let mut out = BTreeMap::new();
    out.insert("scheme", Value::from(scheme));
    out.insert("netloc", Value::from(netloc));
    out.insert("path", Value::from(path));
    out.insert("query", Value::from(query));
    out.insert("fragment", Value::from(fragment));
    out.insert("username", username);
    out.insert("password", password);
    out.insert(
        "hostname",
        if host.is_empty() {
            none()
        } else {
            Value::from(host.to_lowercase())
        },
    );
    out.insert(
        "port",
        port.and_then(|p| p.parse::<u16>().ok())
            .map_or_else(none, Value::from),
    );
    out
}

fn urlsplit(url: Value, query: Option<String>) -> Result<Value, Error> {
    let mut fields = split(&text(&url));
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Value::from(fields)),
        Some(q) => fields
            .remove(q.as_str())
            .ok_or_else(|| fail(format!("urlsplit: unknown URL component: {q}"))),
    }
}

/// Python's `urllib.parse.unquote_plus`.
fn unquote_plus(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
