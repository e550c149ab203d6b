//! OpenSSH client configuration (`~/.ssh/config`, `-F FILE`): `Host` blocks read with
//! OpenSSH's first-match-wins rule for the keywords horde uses. The main type is
//! [`SshConfig`]; [`SshConfig::lookup`] gives a [`HostConfig`].

use super::known_hosts::pattern_list_match;
use std::path::{Path, PathBuf};

/// The settings that apply to one host.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostConfig {
    pub hostname: Option<String>,
    pub user: Option<String>,
    pub port: Option<u16>,
    pub identity_files: Vec<PathBuf>,
    pub identities_only: Option<bool>,
    pub proxy_jump: Option<String>,
    pub strict_host_key_checking: Option<String>,
    pub user_known_hosts_files: Vec<PathBuf>,
    pub connect_timeout: Option<u64>,
    pub kex_algorithms: Option<String>,
    pub server_alive_interval: Option<u64>,
}

#[derive(Debug, Clone)]
struct Block {
    patterns: Vec<String>,
    options: Vec<(String, String, usize)>,
}

/// A parsed ssh_config file.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    path: PathBuf,
    blocks: Vec<Block>,
}

/// An ssh_config that cannot be read, or a line of it that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read ssh config {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", .path.display())]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

impl SshConfig {
    /// Reads a config file; a missing file is an empty config when `optional`.
    pub fn load(path: &Path, optional: bool) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(_) if optional => {
                return Ok(SshConfig {
                    path: path.to_path_buf(),
                    blocks: vec![],
                });
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        // Options before the first Host line apply to every host.
        let mut blocks = vec![Block {
            patterns: vec!["*".into()],
            options: vec![],
        }];
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = split_option(line).ok_or_else(|| ConfigError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                message: format!("expected `Keyword value`, found {line:?}"),
            })?;
            let key = key.to_ascii_lowercase();
            match key.as_str() {
                "host" => blocks.push(Block {
                    patterns: value.split_whitespace().map(str::to_string).collect(),
                    options: vec![],
                }),
                // A Match block's conditions are not evaluated: it never applies.
                "match" => blocks.push(Block {
                    patterns: vec![],
                    options: vec![],
                }),
                _ => {
                    if let Some(block) = blocks.last_mut() {
                        block.options.push((key, unquote(value), i + 1));
                    }
                }
            }
        }
        Ok(SshConfig {
            path: path.to_path_buf(),
            blocks,
        })
    }

    /// The settings for `host` (the name as given to ssh, before HostName applies).
    pub fn lookup(&self, host: &str) -> Result<HostConfig, ConfigError> {
        let mut c = HostConfig::default();
        for block in self
            .blocks
            .iter()
            .filter(|b| pattern_list_match(b.patterns.iter().map(String::as_str), host))
        {
            for (key, value, line) in &block.options {
                let err = |message: String| ConfigError::Line {
                    path: self.path.clone(),
                    line: *line,
                    message,
                };
                match key.as_str() {
                    "hostname" => set(&mut c.hostname, value.replace("%h", host)),
                    "user" => set(&mut c.user, value.clone()),
                    "port" => {
                        let p = value
                            .parse()
                            .map_err(|_| err(format!("Port {value:?} is not a port number")))?;
                        set(&mut c.port, p);
                    }
                    "identityfile" => c.identity_files.push(expand_path(value)),
                    "identitiesonly" => set(&mut c.identities_only, yes(value)),
                    "proxyjump" => set(&mut c.proxy_jump, value.clone()),
                    "stricthostkeychecking" => {
                        set(&mut c.strict_host_key_checking, value.to_ascii_lowercase())
                    }
                    "userknownhostsfile" if c.user_known_hosts_files.is_empty() => {
                        c.user_known_hosts_files =
                            value.split_whitespace().map(expand_path).collect();
                    }
                    "connecttimeout" => {
                        let t = value.parse().map_err(|_| {
                            err(format!(
                                "ConnectTimeout {value:?} is not a number of seconds"
                            ))
                        })?;
                        set(&mut c.connect_timeout, t);
                    }
                    "kexalgorithms" => set(&mut c.kex_algorithms, value.clone()),
                    "serveraliveinterval" => {
                        let t = value.parse().map_err(|_| {
                            err(format!("ServerAliveInterval {value:?} is not a number"))
                        })?;
                        set(&mut c.server_alive_interval, t);
                    }
                    _ => {}
                }
            }
        }
        Ok(c)
    }
}

fn set<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

fn yes(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true")
}

fn split_option(line: &str) -> Option<(&str, &str)> {
    let idx = line.find(|c: char| c.is_whitespace() || c == '=')?;
    let key = &line[..idx];
    let rest = line[idx..].trim_start();
    let rest = rest.strip_prefix('=').unwrap_or(rest).trim();
    if key.is_empty() {
        None
    } else {
        Some((key, rest))
    }
}

fn unquote(v: &str) -> String {
    v.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(v)
        .to_string()
}

/// `~/x` to the home directory.
pub fn expand_path(p: &str) -> PathBuf {
    match p.strip_prefix("~/") {
        Some(rest) => home_dir().join(rest),
        None => PathBuf::from(p),
    }
}

/// The user's ssh_config: `~/.ssh/config`.
pub fn config_path() -> PathBuf {
    home_dir().join(".ssh/config")
}

/// The user's home directory ($HOME).
pub fn home_dir() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_identities_accumulate() {
        let cfg = SshConfig::parse(
            Path::new("cfg"),
            "User global\nHost web*\n  HostName %h.internal\n  Port 2200\n  IdentityFile /k1\nHost web1 !db*\n  Port 9999\n  IdentityFile=/k2\n  ProxyJump bastion\nHost *\n  User fallback\n  StrictHostKeyChecking accept-new\n",
        )
        .unwrap();
        let c = cfg.lookup("web1").unwrap();
        assert_eq!(c.hostname.as_deref(), Some("web1.internal"));
        assert_eq!(c.port, Some(2200));
        assert_eq!(c.user.as_deref(), Some("global"));
        assert_eq!(
            c.identity_files,
            vec![PathBuf::from("/k1"), PathBuf::from("/k2")]
        );
        assert_eq!(c.proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(c.strict_host_key_checking.as_deref(), Some("accept-new"));
        let d = cfg.lookup("db1").unwrap();
        assert_eq!(d.port, None);
    }

    #[test]
    fn bad_values_name_the_line() {
        let cfg = SshConfig::parse(Path::new("cfg"), "Host a\n  Port many\n").unwrap();
        let err = cfg.lookup("a").unwrap_err();
        assert_eq!(err.to_string(), "cfg:2: Port \"many\" is not a port number");
    }

    #[test]
    fn an_unreadable_file_is_named_without_a_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = SshConfig::load(&missing, false).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("cannot read ssh config {}", missing.display())
        );
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("No such file"), "{source}");
        assert!(SshConfig::load(&missing, true).is_ok());
    }
}
