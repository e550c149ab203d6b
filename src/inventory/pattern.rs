//! Host patterns as Ansible evaluates them (`InventoryManager.get_hosts`): unions `a:b` and
//! `a,b`, intersections `&`, exclusions `!` (applied in that order), globs, `~regex`,
//! subscripts `g[0]`, `g[1:3]`, `g[-1]`, `all`, `ungrouped`, `@file` lists, and the
//! implicit `localhost`. The entry point is [`select`].

use super::error::{ErrorKind, InventoryError, Origin};
use super::model::{HostId, Inventory, LOCALHOST_NAMES};
use super::range::split_port;
use regex::Regex;
use std::collections::HashSet;
use std::sync::LazyLock;

static SPLIT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("static regex"));
static SUBSCRIPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("static regex")
});

/// The hosts a pattern selects, in Ansible's order, and the warnings Ansible would print.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    pub hosts: Vec<String>,
    pub warnings: Vec<String>,
}

/// A selected host: an inventory host, or the implicit controller host (`localhost`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Ref {
    Host(HostId),
    Implicit(String),
}

/// Splits a pattern string into single patterns, as Ansible's `split_host_pattern`: on
/// commas when there are any, otherwise on colons outside brackets (unless the whole text
/// is one address such as an IPv6 address or `host[1:3]`).
pub fn split_patterns(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if split_port(pattern).is_some() {
        vec![pattern.to_string()]
    } else {
        SPLIT
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Expands `@file` entries into the lines of that file (Ansible's limit files).
fn expand_files(patterns: Vec<String>) -> Result<Vec<String>, InventoryError> {
    let mut out = Vec::new();
    for p in patterns {
        if let Some(file) = p.strip_prefix('@') {
            let path = std::path::Path::new(file);
            let text = std::fs::read_to_string(path)
                .map_err(|e| InventoryError::read(path, "limit file", e))?;
            out.extend(
                text.split('\n')
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty()),
            );
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// Selects the hosts matching `pattern`, then keeps those also matching `limit` (`-l`).
pub fn select(
    inv: &Inventory,
    pattern: &str,
    limit: Option<&str>,
) -> Result<Selection, InventoryError> {
    let mut eval = Evaluator {
        inv,
        warnings: Vec::new(),
    };
    let mut hosts = eval.patterns(&expand_files(split_patterns(pattern))?)?;
    if let Some(limit) = limit {
        let allowed: HashSet<Ref> = eval
            .patterns(&expand_files(split_patterns(limit))?)?
            .into_iter()
            .collect();
        hosts.retain(|h| allowed.contains(h));
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    let names = hosts
        .into_iter()
        .map(|h| match h {
            Ref::Host(id) => inv.host(id).name.clone(),
            Ref::Implicit(name) => name,
        })
        .collect();
    Ok(Selection {
        hosts: names,
        warnings: eval.warnings,
    })
}

struct Evaluator<'a> {
    inv: &'a Inventory,
    warnings: Vec<String>,
}

impl Evaluator<'_> {
    fn patterns(&mut self, patterns: &[String]) -> Result<Vec<Ref>, InventoryError> {
        let mut regular: Vec<&String> = patterns
            .iter()
            .filter(|p| !p.starts_with(['!', '&']))
            .collect();
        let all = "all".to_string();
        if regular.is_empty() {
            regular.push(&all);
        }
        let ordered = regular
            .into_iter()
            .chain(patterns.iter().filter(|p| p.starts_with('&')))
            .chain(patterns.iter().filter(|p| p.starts_with('!')));
        let mut hosts: Vec<Ref> = Vec::new();
        for p in ordered {
            if let Some(id) = self.inv.host_id(p) {
                hosts.push(Ref::Host(id));
                continue;
            }
            let that = self.one(p)?;
            if p.starts_with('!') {
                let that: HashSet<Ref> = that.into_iter().collect();
                hosts.retain(|h| !that.contains(h));
            } else if p.starts_with('&') {
                let that: HashSet<Ref> = that.into_iter().collect();
                hosts.retain(|h| that.contains(h));
            } else {
                let existing: HashSet<Ref> = hosts.iter().cloned().collect();
                hosts.extend(that.into_iter().filter(|h| !existing.contains(h)));
            }
        }
        Ok(hosts)
    }

    fn one(&mut self, pattern: &str) -> Result<Vec<Ref>, InventoryError> {
        let bare = pattern.strip_prefix(['&', '!']).unwrap_or(pattern);
        if bare.is_empty() {
            return Ok(vec![]);
        }
        let (expr, subscript) = split_subscript(bare);
        let hosts = self.enumerate(&expr)?;
        apply_subscript(hosts, subscript).ok_or_else(|| {
            InventoryError::new(
                Origin {
                    source: "pattern".into(),
                    pos: None,
                },
                ErrorKind::Subscript(bare.to_string()),
            )
        })
    }

    fn enumerate(&mut self, pattern: &str) -> Result<Vec<Ref>, InventoryError> {
        let matcher = Matcher::new(pattern)?;
        let mut results = Vec::new();
        let mut matched_group = false;
        for (g, group) in self.inv.groups.values().enumerate() {
            if matcher.is_match(&group.name) {
                matched_group = true;
                results.extend(self.inv.group_hosts(g).into_iter().map(Ref::Host));
            }
        }
        if !matched_group || pattern.starts_with('~') || pattern.contains(['.', '?', '*', '[']) {
            for (h, host) in self.inv.hosts.values().enumerate() {
                if matcher.is_match(&host.name) {
                    results.push(Ref::Host(h));
                }
            }
        }
        if results.is_empty() && LOCALHOST_NAMES.contains(&pattern) {
            // Ansible answers with the first localhost-like inventory host, if any.
            let first_local = self
                .inv
                .hosts
                .values()
                .position(|h| LOCALHOST_NAMES.contains(&h.name.as_str()));
            results.push(match first_local {
                Some(h) => Ref::Host(h),
                None => Ref::Implicit(pattern.to_string()),
            });
        }
        if results.is_empty() && !matched_group && pattern != "all" {
            self.warnings.push(format!(
                "Could not match supplied host pattern, ignoring: {pattern}"
            ));
        }
        Ok(results)
    }
}

/// A compiled single pattern: a literal name, a shell glob, or `~regex`.
enum Matcher {
    Exact(String),
    Regex(Regex),
}

impl Matcher {
    fn new(pattern: &str) -> Result<Self, InventoryError> {
        let invalid = |reason: String| {
            InventoryError::new(
                Origin {
                    source: "pattern".into(),
                    pos: None,
                },
                ErrorKind::Pattern {
                    pattern: pattern.to_string(),
                    reason,
                },
            )
        };
        if let Some(re) = pattern.strip_prefix('~') {
            // Python's re.match anchors at the start only.
            return Regex::new(&format!("^(?:{re})"))
                .map(Matcher::Regex)
                .map_err(|e| invalid(e.to_string()));
        }
        if !pattern.contains(['*', '?', '[']) {
            return Ok(Matcher::Exact(pattern.to_string()));
        }
        Regex::new(&fnmatch_translate(pattern))
            .map(Matcher::Regex)
            .map_err(|e| invalid(e.to_string()))
    }

    fn is_match(&self, name: &str) -> bool {
        match self {
            Matcher::Exact(p) => p == name,
            Matcher::Regex(re) => re.is_match(name),
        }
    }
}

fn escape_char(c: char) -> String {
    if c.is_alphanumeric() || c == '_' {
        c.to_string()
    } else {
        format!("\\x{{{:x}}}", c as u32)
    }
}

/// Python's `fnmatch.translate`, as an anchored Rust regex.
fn fnmatch_translate(pat: &str) -> String {
    let chars: Vec<char> = pat.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                while i < chars.len() && chars[i] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if j < chars.len() && chars[j] == '!' {
                    j += 1;
                }
                if j < chars.len() && chars[j] == ']' {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str("\\[");
                    continue;
                }
                let body: Vec<char> = chars[i..j].to_vec();
                i = j + 1;
                let (negate, body) = match body.first() {
                    Some('!') => (true, &body[1..]),
                    _ => (false, &body[..]),
                };
                if body.is_empty() {
                    // `[!]` matches a literal "!"; `[]` cannot occur (handled above).
                    out.push_str(if negate { "!" } else { "(?!)" });
                    continue;
                }
                out.push('[');
                if negate {
                    out.push('^');
                }
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        if body[k] <= body[k + 2] {
                            out.push_str(&format!(
                                "{}-{}",
                                escape_char(body[k]),
                                escape_char(body[k + 2])
                            ));
                        }
                        k += 3;
                    } else {
                        out.push_str(&escape_char(body[k]));
                        k += 1;
                    }
                }
                out.push(']');
            }
            c => out.push_str(&regex::escape(&c.to_string())),
        }
    }
    out.push_str(")$");
    out
}

type Subscript = Option<(i64, Option<i64>)>;

fn split_subscript(pattern: &str) -> (String, Subscript) {
    if pattern.starts_with('~') {
        return (pattern.to_string(), None);
    }
    let Some(m) = SUBSCRIPT.captures(pattern) else {
        return (pattern.to_string(), None);
    };
    let expr = m[1].to_string();
    if let Some(idx) = m.get(2) {
        return match idx.as_str().parse() {
            Ok(i) => (expr, Some((i, None))),
            Err(_) => (pattern.to_string(), None),
        };
    }
    let start: i64 = m[3].parse().unwrap_or(i64::MAX);
    let end: i64 = if m[5].is_empty() {
        -1
    } else {
        m[5].parse().unwrap_or(i64::MAX)
    };
    (expr, Some((start, Some(end))))
}

/// Ansible's `_apply_subscript` with Python's indexing; `None` for an index out of range.
fn apply_subscript(hosts: Vec<Ref>, subscript: Subscript) -> Option<Vec<Ref>> {
    let Some((start, end)) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len() as i64;
    match end {
        Some(end) if end != 0 => {
            let end = if end == -1 { len - 1 } else { end };
            let (s, e) = (start.clamp(0, len), (end.saturating_add(1)).clamp(0, len));
            Some(if s < e {
                hosts[s as usize..e as usize].to_vec()
            } else {
                vec![]
            })
        }
        _ => {
            let idx = if start < 0 { start + len } else { start };
            if (0..len).contains(&idx) {
                Some(vec![hosts[idx as usize].clone()])
            } else {
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting_follows_ansible() {
        assert_eq!(split_patterns("a:b:&c:!d"), ["a", "b", "&c", "!d"]);
        assert_eq!(split_patterns("a, b ,c"), ["a", "b", "c"]);
        assert_eq!(split_patterns("g[1:3]"), ["g[1:3]"]);
        assert_eq!(split_patterns("fe80::1"), ["fe80::1"]);
        assert_eq!(split_patterns("web*:db[0:1]"), ["web*", "db[0:1]"]);
    }

    #[test]
    fn fnmatch_translation() {
        let re = Regex::new(&fnmatch_translate("web[0-9]*.example.com")).unwrap();
        assert!(re.is_match("web1x.example.com"));
        assert!(!re.is_match("webx.example.com"));
        let re = Regex::new(&fnmatch_translate("h[!a]")).unwrap();
        assert!(re.is_match("hb") && !re.is_match("ha"));
    }

    #[test]
    fn subscripts_use_python_indexing() {
        let hosts: Vec<Ref> = (0..5).map(Ref::Host).collect();
        let pick = |s| apply_subscript(hosts.clone(), s);
        assert_eq!(pick(Some((-1, None))), Some(vec![Ref::Host(4)]));
        assert_eq!(
            pick(Some((1, Some(3)))),
            Some((1..4).map(Ref::Host).collect())
        );
        assert_eq!(
            pick(Some((3, Some(-1)))),
            Some(vec![Ref::Host(3), Ref::Host(4)])
        );
        assert_eq!(pick(Some((9, None))), None);
    }

    proptest::proptest! {
        #[test]
        fn pattern_parsing_never_panics(p in "[a-z0-9*?~!&:,\\[\\]\\.\\- ]{0,24}") {
            let mut inv = Inventory::new();
            let g = inv.add_group("web");
            inv.add_host("web1", Some(g), None, None);
            inv.reconcile();
            let _ = select(&inv, &p, None);
        }
    }
}
