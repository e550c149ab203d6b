//! Host definitions as Ansible's inventory plugins read them: an optional `:port` suffix
//! ([`split_port`]) and `[a:b]`/`[a:b:step]` ranges ([`expand`]).

use regex::Regex;
use std::sync::LazyLock;

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("static regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("static regex"));
static RANGE_ALNUM: &str = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
static RANGE_NUM: &str = r"\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]";
static RANGE_HEX: &str = r"\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]";
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(?:\w|{RANGE_ALNUM})(?:[\w-]|{RANGE_ALNUM})*$")).expect("static regex")
});
static IPV4: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[01]?[0-9]{{1,2}}|2[0-4][0-9]|25[0-5]|{RANGE_NUM})");
    Regex::new(&format!(r"(?i)^(?:{c}\.){{3}}{c}$")).expect("static regex")
});
static IPV6: LazyLock<Regex> = LazyLock::new(|| {
    let c = format!(r"(?:[0-9a-f]{{1,4}}|{RANGE_HEX})");
    let pattern = format!(
        r"(?i)^(?:(?:{c}:){{7}}{c}|(?:{c}:){{1,6}}:|(?:{c}:)(?::{c}){{1,6}}|(?:{c}:){{2}}(?::{c}){{1,5}}|(?:{c}:){{3}}(?::{c}){{1,4}}|(?:{c}:){{4}}(?::{c}){{1,3}}|(?:{c}:){{5}}(?::{c}){{1,2}}|(?:{c}:){{6}}(?::{c})|:(?::{c}){{1,6}}|{c}?::|(?:0:){{6}}(?:{c}\.){{3}}{c}|::(?:ffff:)?(?:{c}\.){{3}}{c}|(?:0:){{5}}ffff:(?:{c}\.){{3}}{c})$"
    );
    Regex::new(&pattern).expect("static regex")
});

/// True when `text` is an IPv4 or IPv6 address (ranges allowed).
pub fn is_ip(text: &str) -> bool {
    IPV4.is_match(text) || IPV6.is_match(text)
}

fn is_hostname(text: &str) -> bool {
    // Labels split on dots outside brackets; a label may not end in `-` or `_`.
    let mut labels = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                labels.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    labels.push(&text[start..]);
    labels
        .iter()
        .all(|l| LABEL.is_match(l) && !l.ends_with(['-', '_']))
}

/// Ansible's `parse_address(allow_ranges=True)`: splits `host:port` or `[host]:port`; `None`
/// when the text is not a valid host identifier (then Ansible keeps it whole, with no port).
pub fn split_port(text: &str) -> Option<(String, Option<u16>)> {
    let mut address = text.to_string();
    let mut port = None;
    for re in [&*BRACKETED_HOSTPORT, &*HOSTPORT] {
        if let Some(m) = re.captures(&address) {
            let p: u32 = m[2].parse().ok()?;
            port = Some(u16::try_from(p).ok()?);
            address = m[1].to_string();
        }
    }
    if is_ip(&address) || is_hostname(&address) {
        Some((address, port))
    } else {
        None
    }
}

/// Splits a host definition into the names it stands for and its port, as
/// `_expand_hostpattern` does.
pub fn expand_host_pattern(text: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (pattern, port) = split_port(text).unwrap_or_else(|| (text.to_string(), None));
    let names = if pattern.contains('[') {
        expand(&pattern)?
    } else {
        vec![pattern]
    };
    Ok((names, port))
}

const LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Most names one host definition may expand to, all its ranges together.
const MAX_HOSTS: usize = 1_000_000;

/// Expands the first `[begin:end(:step)]` range of a host name, then any further ones:
/// `web[01:03]` is web01, web02, web03; `db-[a:c]` is db-a, db-b, db-c.
pub fn expand(line: &str) -> Result<Vec<String>, String> {
    expand_at_most(line, MAX_HOSTS)
}

/// [`expand`], refusing to make more than `max` names. Every name of the first range
/// expands the same further ranges, so each may make `max / count` names.
fn expand_at_most(line: &str, max: usize) -> Result<Vec<String>, String> {
    let too_many = || format!("the host ranges expand to more than {MAX_HOSTS} names");
    let open = line.find('[').ok_or("no range")?;
    let close = line[open..]
        .find(']')
        .map(|i| i + open)
        .ok_or("missing ']'")?;
    let (head, body, tail) = (&line[..open], &line[open + 1..close], &line[close + 1..]);
    if tail.contains('[') && !tail.contains(']') || head.contains(']') {
        return Err("unbalanced brackets".into());
    }
    let bounds: Vec<&str> = body.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".into());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err("host range must specify end value".into());
    }
    let step: i64 = match bounds.get(2) {
        None => 1,
        Some(s) => s
            .trim()
            .parse()
            .map_err(|_| format!("step {s:?} is not a number"))?,
    };
    if step <= 0 {
        return Err("step must be a positive number".into());
    }
    let width = if beg.starts_with('0') && beg.len() > 1 {
        if beg.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".into());
        }
        beg.len()
    } else {
        0
    };
    let items: Vec<String> = match (LETTERS.find(beg), LETTERS.find(end)) {
        (Some(b), Some(e)) if beg.len() == 1 && end.len() == 1 => {
            if b > e {
                return Err("host range must have begin <= end".into());
            }
            LETTERS[b..=e]
                .chars()
                .step_by(step as usize)
                .map(|c| c.to_string())
                .collect()
        }
        _ => {
            let b: i64 = beg
                .trim()
                .parse()
                .map_err(|_| format!("begin {beg:?} is not a number or letter"))?;
            let e: i64 = end
                .trim()
                .parse()
                .map_err(|_| format!("end {end:?} is not a number or letter"))?;
            let count = if e < b {
                0
            } else {
                (e.abs_diff(b) / step.unsigned_abs()).saturating_add(1)
            };
            if count > max as u64 {
                return Err(too_many());
            }
            (b..=e)
                .step_by(step as usize)
                .map(|n| format!("{n:0width$}"))
                .collect()
        }
    };
    if items.len() > max {
        return Err(too_many());
    }
    let max_each = max / items.len().max(1);
    let mut hosts = Vec::new();
    for item in items {
        let name = format!("{head}{item}{tail}");
        if name.contains('[') {
            hosts.extend(expand_at_most(&name, max_each)?)
        } else {
            hosts.push(name)
        }
    }
    Ok(hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ranges_keep_width() {
        assert_eq!(
            expand("web[01:03].x").unwrap(),
            ["web01.x", "web02.x", "web03.x"]
        );
        assert_eq!(expand("n[1:10:4]").unwrap(), ["n1", "n5", "n9"]);
        assert_eq!(expand("n[:2]").unwrap(), ["n0", "n1", "n2"]);
    }

    #[test]
    fn letter_and_nested_ranges() {
        assert_eq!(expand("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(
            expand("r[1:2]c[a:b]").unwrap(),
            ["r1ca", "r1cb", "r2ca", "r2cb"]
        );
    }

    #[test]
    fn bad_ranges_are_errors() {
        assert!(expand("web[01:]").is_err());
        assert!(expand("web[1:2:3:4]").is_err());
        assert!(expand("web[001:20]").is_err());
        assert!(expand("web[c:a]").is_err());
        assert!(expand("[web").is_err());
    }

    #[test]
    fn the_host_cap_covers_nested_ranges() {
        assert_eq!(expand("n[1:1000][1:10]").unwrap().len(), 10_000);
        assert!(expand("n[1:1000][1:1001]").is_err());
        let e = expand("web[0:999999][0:999999]").unwrap_err();
        assert!(e.contains("more than 1000000 names"), "{e}");
        assert!(expand("n[1:1000][1:1000][a:b]").is_err());
        assert!(expand("n[-9223372036854775808:9223372036854775807]").is_err());
        assert_eq!(expand("n[5:1]").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn ports_split_like_ansible() {
        assert_eq!(split_port("h:2222"), Some(("h".into(), Some(2222))));
        assert_eq!(split_port("[::1]:22"), Some(("::1".into(), Some(22))));
        assert_eq!(split_port("fe80::1"), Some(("fe80::1".into(), None)));
        assert_eq!(
            split_port("web[01:03]:22"),
            Some(("web[01:03]".into(), Some(22)))
        );
        assert_eq!(split_port("bad_:22"), None);
        assert_eq!(
            split_port("10.0.0.1:2200"),
            Some(("10.0.0.1".into(), Some(2200)))
        );
    }
}
