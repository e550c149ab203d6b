//! OpenSSH known_hosts files: plain, hashed (`|1|salt|hash`), `[host]:port`, wildcard and
//! negated patterns, `@revoked` and `@cert-authority` markers, several files. The main type
//! is [`KnownHosts`]; [`KnownHosts::check`] gives a [`Verdict`].

use data_encoding::BASE64;
use hmac::{Hmac, KeyInit, Mac};
use russh::keys::ssh_key::{Algorithm, HashAlg, PublicKey};
use sha1::Sha1;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One usable line of a known_hosts file.
#[derive(Debug, Clone)]
pub struct Entry {
    pub path: PathBuf,
    pub line: usize,
    pub revoked: bool,
    pub cert_authority: bool,
    patterns: String,
    pub key: PublicKey,
}

/// What the known hosts say about a host's key.
#[derive(Debug, Clone)]
pub enum Verdict {
    Known,
    Unknown,
    Changed(Entry),
    Revoked(Entry),
}

/// The known_hosts files in force, read once.
#[derive(Debug, Clone, Default)]
pub struct KnownHosts {
    pub files: Vec<PathBuf>,
    entries: Vec<Entry>,
}

/// The name a key is recorded under: `host`, or `[host]:port` off port 22.
pub fn host_key_name(host: &str, port: u16) -> String {
    if port == 22 {
        host.to_string()
    } else {
        format!("[{host}]:{port}")
    }
}

/// `SHA256:...` as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    format!("{} {}", key.algorithm(), key.fingerprint(HashAlg::Sha256))
}

impl KnownHosts {
    /// Reads the files; a missing file is empty, a line that does not parse is skipped.
    pub fn load(files: &[PathBuf]) -> Self {
        let mut entries = Vec::new();
        for path in files {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            for (i, raw) in text.lines().enumerate() {
                if let Some(e) = parse_line(path, i + 1, raw) {
                    entries.push(e);
                }
            }
        }
        KnownHosts {
            files: files.to_vec(),
            entries,
        }
    }

    fn matching<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries
            .iter()
            .filter(move |e| patterns_match(&e.patterns, name))
    }

    /// Key algorithms recorded for a host, so the client can ask for a key it can verify.
    pub fn algorithms(&self, host: &str, port: u16) -> Vec<Algorithm> {
        let name = host_key_name(host, port);
        let mut algs: Vec<Algorithm> = Vec::new();
        for e in self
            .matching(&name)
            .filter(|e| !e.revoked && !e.cert_authority)
        {
            let alg = e.key.algorithm();
            if !algs.contains(&alg) {
                algs.push(alg);
            }
        }
        algs
    }

    /// Checks a host's key: revoked anywhere, known, changed (a recorded key of the same
    /// type differs), or unknown.
    pub fn check(&self, host: &str, port: u16, key: &PublicKey) -> Verdict {
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.revoked && e.key.key_data() == key.key_data())
        {
            return Verdict::Revoked(e.clone());
        }
        let name = host_key_name(host, port);
        let mut changed = None;
        for e in self
            .matching(&name)
            .filter(|e| !e.revoked && !e.cert_authority)
        {
            if e.key.key_data() == key.key_data() {
                return Verdict::Known;
            }
            if e.key.algorithm() == key.algorithm() && changed.is_none() {
                changed = Some(e.clone());
            }
        }
        match changed {
            Some(e) => Verdict::Changed(e),
            None => Verdict::Unknown,
        }
    }

    /// Appends a host's key to `path` as one write under an exclusive file lock, so many
    /// hosts (and processes) learning keys at once never interleave lines.
    pub fn append(path: &Path, host: &str, port: u16, key: &PublicKey) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        file.lock()?;
        let needs_newline = {
            let len = file.metadata()?.len();
            len > 0 && {
                use std::io::{Read, Seek, SeekFrom};
                let mut f = std::fs::File::open(path)?;
                f.seek(SeekFrom::Start(len - 1))?;
                let mut b = [0u8; 1];
                f.read_exact(&mut b)?;
                b[0] != b'\n'
            }
        };
        let openssh = key.to_openssh().map_err(std::io::Error::other)?;
        let line = format!(
            "{}{} {}\n",
            if needs_newline { "\n" } else { "" },
            host_key_name(host, port),
            openssh
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" ")
        );
        file.write_all(line.as_bytes())?;
        file.unlock()
    }
}

fn parse_line(path: &Path, line: usize, raw: &str) -> Option<Entry> {
    let text = raw.trim();
    if text.is_empty() || text.starts_with('#') {
        return None;
    }
    let mut fields = text.split_whitespace();
    let mut first = fields.next()?;
    let (mut revoked, mut cert_authority) = (false, false);
    if first.starts_with('@') {
        match first {
            "@revoked" => revoked = true,
            "@cert-authority" => cert_authority = true,
            _ => return None,
        }
        first = fields.next()?;
    }
    let key_type = fields.next()?;
    let key_b64 = fields.next()?;
    let key = PublicKey::from_openssh(&format!("{key_type} {key_b64}")).ok()?;
    Some(Entry {
        path: path.to_path_buf(),
        line,
        revoked,
        cert_authority,
        patterns: first.to_string(),
        key,
    })
}

/// OpenSSH's host pattern list: comma-separated, `*`/`?` wildcards, `!` negation (a match
/// of a negated pattern rejects the line), or one hashed name.
fn patterns_match(patterns: &str, name: &str) -> bool {
    if let Some(rest) = patterns.strip_prefix("|1|") {
        return hashed_match(rest, name);
    }
    pattern_list_match(patterns.split(','), name)
}

/// OpenSSH's pattern-list rule (known_hosts lines, ssh_config `Host`): some pattern matches
/// and no `!`-negated one does.
pub(crate) fn pattern_list_match<'a>(
    patterns: impl IntoIterator<Item = &'a str>,
    name: &str,
) -> bool {
    let mut matched = false;
    for p in patterns {
        if let Some(neg) = p.strip_prefix('!') {
            if wildcard(neg, name) {
                return false;
            }
        } else if wildcard(p, name) {
            matched = true;
        }
    }
    matched
}

fn hashed_match(rest: &str, name: &str) -> bool {
    let mut parts = rest.splitn(2, '|');
    let (Some(salt), Some(hash)) = (parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(salt), Ok(hash)) = (
        BASE64.decode(salt.as_bytes()),
        BASE64.decode(hash.as_bytes()),
    ) else {
        return false;
    };
    let Ok(mac) = <Hmac<Sha1> as KeyInit>::new_from_slice(&salt) else {
        return false;
    };
    mac.chain_update(name.as_bytes())
        .verify_slice(&hash)
        .is_ok()
}

/// Glob match with `*` and `?`, case-insensitive as OpenSSH's host matching. Linear: on a
/// mismatch only the last `*` is retried one byte further, since an earlier `*` can absorb
/// nothing that the last one cannot.
pub(crate) fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut ni) = (0, 0);
    // The position just after the last `*` seen, and where in `name` its match ends.
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        match p.get(pi) {
            Some(b'*') => {
                pi += 1;
                star = Some((pi, ni));
            }
            Some(b'?') => {
                pi += 1;
                ni += 1;
            }
            Some(c) if c.eq_ignore_ascii_case(&n[ni]) => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((after, end)) => {
                    pi = after;
                    ni = end + 1;
                    star = Some((after, end + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHzWY5TDH9e6cJnOoXWnAHqxAhCMUM4HgSZDrhhcDrJi";
    const ED2: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

    fn known(text: &str) -> (tempfile::TempDir, KnownHosts) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        std::fs::write(&path, text).unwrap();
        let kh = KnownHosts::load(&[path]);
        (dir, kh)
    }

    fn key(s: &str) -> PublicKey {
        PublicKey::from_openssh(s).unwrap()
    }

    #[test]
    fn plain_port_and_wildcard_entries() {
        let (_d, kh) = known(&format!(
            "[10.0.0.1]:2222 {ED}\n*.example.com,!bad.example.com {ED2}\n"
        ));
        assert!(matches!(
            kh.check("10.0.0.1", 2222, &key(ED)),
            Verdict::Known
        ));
        assert!(matches!(
            kh.check("10.0.0.1", 22, &key(ED)),
            Verdict::Unknown
        ));
        assert!(matches!(
            kh.check("a.example.com", 22, &key(ED2)),
            Verdict::Known
        ));
        assert!(matches!(
            kh.check("bad.example.com", 22, &key(ED2)),
            Verdict::Unknown
        ));
        match kh.check("10.0.0.1", 2222, &key(ED2)) {
            Verdict::Changed(e) => assert_eq!(e.line, 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hashed_entries_match() {
        let salt = b"0123456789abcdefghij";
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(salt)
            .unwrap()
            .chain_update(b"[h1]:2200");
        let hash = mac.finalize().into_bytes();
        let line = format!("|1|{}|{} {ED}\n", BASE64.encode(salt), BASE64.encode(&hash));
        let (_d, kh) = known(&line);
        assert!(matches!(kh.check("h1", 2200, &key(ED)), Verdict::Known));
        assert!(matches!(kh.check("h2", 2200, &key(ED)), Verdict::Unknown));
    }

    #[test]
    fn revoked_keys_are_refused_everywhere() {
        let (_d, kh) = known(&format!("h1 {ED}\n@revoked * {ED}\n"));
        assert!(matches!(kh.check("h1", 22, &key(ED)), Verdict::Revoked(_)));
    }

    #[test]
    fn appended_keys_are_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_hosts");
        KnownHosts::append(&path, "127.0.0.5", 2222, &key(ED)).unwrap();
        KnownHosts::append(&path, "127.0.0.6", 22, &key(ED2)).unwrap();
        let kh = KnownHosts::load(std::slice::from_ref(&path));
        assert!(matches!(
            kh.check("127.0.0.5", 2222, &key(ED)),
            Verdict::Known
        ));
        assert!(matches!(
            kh.check("127.0.0.6", 22, &key(ED2)),
            Verdict::Known
        ));
    }

    #[test]
    fn wildcard_globs() {
        for (pattern, name, expected) in [
            ("*", "", true),
            ("", "", true),
            ("", "a", false),
            ("a*", "a", true),
            ("*.Example.com", "host.example.COM", true),
            ("h?st", "host", true),
            ("h?st", "hst", false),
            ("*a*b", "xaxxb", true),
            ("*a*b", "xaxxbx", false),
            ("a*b*c", "abbbc", true),
            ("a*b*c", "acb", false),
            ("**", "x", true),
        ] {
            assert_eq!(wildcard(pattern, name), expected, "{pattern} vs {name}");
        }
    }

    #[test]
    fn wildcard_is_linear_on_many_stars() {
        let pattern = format!("{}b", "*a".repeat(16));
        let start = std::time::Instant::now();
        assert!(!wildcard(&pattern, &"a".repeat(40)));
        assert!(wildcard(&pattern, &format!("{}b", "a".repeat(40))));
        assert!(start.elapsed() < std::time::Duration::from_millis(100));
    }
}
