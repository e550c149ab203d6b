//! How to reach one host: [`Target`], resolved from inventory variables (`ansible_host`,
//! `ansible_port`, `ansible_user`, `ansible_ssh_private_key_file`, `ansible_password`,
//! `ansible_ssh_common_args` ...), command-line defaults and the ssh_config, in Ansible's
//! order (host variables, then options, then ssh_config, then OpenSSH's defaults).

use super::config::{HostConfig, SshConfig, expand_path, home_dir};
use crate::vars::Vars;
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

/// What to do with a host key that is not in known_hosts. A changed key is always refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse unknown keys.
    Strict,
    /// Record unknown keys in the first known_hosts file and go on (OpenSSH's `accept-new`).
    AcceptNew,
    /// Accept unknown keys without recording them.
    Off,
}

impl std::str::FromStr for HostKeyPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "strict" | "yes" | "true" => Ok(HostKeyPolicy::Strict),
            "accept-new" => Ok(HostKeyPolicy::AcceptNew),
            "off" | "no" | "false" => Ok(HostKeyPolicy::Off),
            other => Err(format!(
                "unknown host key checking mode {other:?} (expected strict, accept-new or off)"
            )),
        }
    }
}

/// One jump host (`[user@]host[:port]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Hop {
    fn parse(s: &str) -> Option<Hop> {
        let s = s.trim().trim_start_matches("ssh://");
        let (user, rest) = match s.rsplit_once('@') {
            Some((u, r)) => (Some(u.to_string()), r),
            None => (None, s),
        };
        let (host, port) = match rest.strip_prefix('[') {
            Some(b) => {
                let (h, p) = b.split_once(']')?;
                (
                    h.to_string(),
                    p.strip_prefix(':').and_then(|p| p.parse().ok()),
                )
            }
            None => match rest.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p.parse().ok()?)),
                _ => (rest.to_string(), None),
            },
        };
        (!host.is_empty()).then_some(Hop { user, host, port })
    }

    /// Parses a ProxyJump value (`a,user@b:2222`); `none` means no jump.
    pub fn parse_list(s: &str) -> Result<Vec<Hop>, String> {
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(vec![]);
        }
        s.split(',')
            .map(|h| Hop::parse(h).ok_or_else(|| format!("invalid jump host {h:?}")))
            .collect()
    }
}

/// Everything needed to open an SSH connection to one host.
#[derive(Debug, Clone)]
pub struct Target {
    pub address: String,
    pub port: u16,
    pub user: String,
    pub identity_files: Vec<PathBuf>,
    /// Only the listed identity files (and agent keys matching them) are offered.
    pub identities_only: bool,
    pub password: Option<String>,
    pub jumps: Vec<Hop>,
    pub host_key_policy: HostKeyPolicy,
    pub known_hosts_files: Vec<PathBuf>,
    pub connect_timeout: Duration,
    /// Key exchange algorithms to offer, most preferred first ([`kex_algorithms`]).
    pub kex: Vec<russh::kex::Name>,
    pub keepalive: Duration,
}

impl Target {
    /// `user@address:port`, for messages.
    pub fn label(&self) -> String {
        format!("{}@{}:{}", self.user, self.address, self.port)
    }
}

/// Settings from the command line and environment that apply unless a host says otherwise.
#[derive(Debug, Clone)]
pub struct TargetDefaults {
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    pub password: Option<String>,
    pub timeout: Duration,
    pub host_key_policy: Option<HostKeyPolicy>,
    pub known_hosts_file: Option<PathBuf>,
    pub ssh_config: SshConfig,
    pub jump: Option<String>,
}

impl Default for TargetDefaults {
    fn default() -> Self {
        TargetDefaults {
            user: None,
            private_key: None,
            password: None,
            timeout: Duration::from_secs(10),
            host_key_policy: None,
            known_hosts_file: None,
            ssh_config: SshConfig::default(),
            jump: None,
        }
    }
}

/// A host whose connection settings cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("host {host}: {message}")]
pub struct TargetError {
    pub host: String,
    pub message: String,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Options found in `ansible_ssh_common_args` / `ansible_ssh_extra_args`.
#[derive(Debug, Default)]
struct SshArgs {
    jump: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    identity: Vec<PathBuf>,
    options: Vec<(String, String)>,
}

fn parse_ssh_args(s: &str) -> Result<SshArgs, String> {
    let words = crate::shell::split(s).map_err(|e| format!("cannot split {s:?}: {e}"))?;
    let mut out = SshArgs::default();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        // `-pVALUE`: a flag with its value attached (a non-ASCII second character is no flag
        // of ours, and cannot be split at byte 2).
        let (flag, attached) = match w.split_at_checked(2) {
            Some((flag, rest)) if !rest.is_empty() && flag.starts_with('-') && flag != "--" => {
                (flag.to_string(), Some(rest.to_string()))
            }
            _ => (w.clone(), None),
        };
        let mut value = |name: &str| {
            attached
                .clone()
                .or_else(|| it.next())
                .ok_or(format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-J" => out.jump = Some(value("-J")?),
            "-p" => out.port = Some(value("-p")?.parse().map_err(|_| "-p needs a port number")?),
            "-l" => out.user = Some(value("-l")?),
            "-i" => out.identity.push(expand_path(&value("-i")?)),
            "-o" => {
                let opt = value("-o")?;
                let (k, v) = opt
                    .split_once(['=', ' '])
                    .ok_or(format!("-o {opt:?} is not Key=Value"))?;
                out.options
                    .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Resolves how to reach inventory host `name` with variables `vars`.
pub fn resolve(name: &str, vars: &Vars, defaults: &TargetDefaults) -> Result<Target, TargetError> {
    let err = |message: String| TargetError {
        host: name.to_string(),
        message,
    };
    let var = |k: &str| vars.get(k).and_then(text);
    let mut args = SshArgs::default();
    for key in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(s) = var(key) {
            let a = parse_ssh_args(&s).map_err(|m| err(format!("{key}: {m}")))?;
            args.jump = a.jump.or(args.jump);
            args.port = a.port.or(args.port);
            args.user = a.user.or(args.user);
            args.identity.extend(a.identity);
            args.options.extend(a.options);
        }
    }
    let option = |k: &str| {
        args.options
            .iter()
            .rev()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
    };
    let address = var("ansible_host")
        .or_else(|| var("ansible_ssh_host"))
        .unwrap_or_else(|| name.to_string());
    let cfg: HostConfig = defaults
        .ssh_config
        .lookup(&address)
        .map_err(|e| err(e.to_string()))?;
    let port = match var("ansible_port").or_else(|| var("ansible_ssh_port")) {
        Some(p) => p
            .parse()
            .map_err(|_| err(format!("ansible_port {p:?} is not a port number")))?,
        None => args
            .port
            .or(option("port").and_then(|p| p.parse().ok()))
            .or(cfg.port)
            .unwrap_or(22),
    };
    let user = var("ansible_user")
        .or_else(|| var("ansible_ssh_user"))
        .or(args.user)
        .or(option("user"))
        .or_else(|| defaults.user.clone())
        .or(cfg.user.clone())
        .unwrap_or_else(current_user);
    let mut identity_files: Vec<PathBuf> = Vec::new();
    if let Some(k) = var("ansible_ssh_private_key_file").or_else(|| var("ansible_private_key_file"))
    {
        identity_files.push(expand_path(&k));
    } else if let Some(k) = &defaults.private_key {
        identity_files.push(k.clone());
    }
    identity_files.extend(args.identity);
    identity_files.extend(cfg.identity_files.iter().cloned());
    let explicit_keys = !identity_files.is_empty();
    if !explicit_keys {
        for f in ["id_ed25519", "id_ecdsa", "id_rsa"] {
            let p = home_dir().join(".ssh").join(f);
            if p.exists() {
                identity_files.push(p);
            }
        }
    }
    let identities_only = option("identitiesonly")
        .map(|v| v.eq_ignore_ascii_case("yes"))
        .or(cfg.identities_only)
        .unwrap_or(false);
    let jump_spec = args
        .jump
        .or(option("proxyjump"))
        .or_else(|| defaults.jump.clone())
        .or(cfg.proxy_jump.clone());
    let jumps = match jump_spec {
        Some(j) => Hop::parse_list(&j).map_err(err)?,
        None => vec![],
    };
    // Command-line settings beat the ssh_config, as `ssh -o` does; a host's own
    // ansible_ssh_common_args beat both.
    let host_key_policy = match option("stricthostkeychecking") {
        Some(v) => v.parse().map_err(err)?,
        None => match var("ansible_host_key_checking") {
            Some(v) => v.parse().map_err(err)?,
            None => match (defaults.host_key_policy, &cfg.strict_host_key_checking) {
                (Some(p), _) => p,
                (None, Some(v)) => v.parse().map_err(err)?,
                (None, None) => HostKeyPolicy::AcceptNew,
            },
        },
    };
    let known_hosts_files = match option("userknownhostsfile") {
        Some(v) => v.split_whitespace().map(expand_path).collect(),
        None => match &defaults.known_hosts_file {
            Some(f) => vec![f.clone()],
            None if !cfg.user_known_hosts_files.is_empty() => cfg.user_known_hosts_files.clone(),
            None => vec![
                home_dir().join(".ssh/known_hosts"),
                home_dir().join(".ssh/known_hosts2"),
            ],
        },
    };
    let timeout_var = ["ansible_ssh_timeout", "ansible_timeout"]
        .into_iter()
        .find_map(|k| var(k).map(|t| (k, t)));
    let connect_timeout = match timeout_var {
        Some((key, t)) => t
            .trim()
            .parse()
            .map_err(|_| format!("{t:?} is not a number"))
            .and_then(crate::duration::from_secs)
            .map_err(|e| err(format!("{key}: {e}")))?,
        None => option("connecttimeout")
            .and_then(|t| t.parse().ok())
            .or(cfg.connect_timeout)
            .map(Duration::from_secs)
            .unwrap_or(defaults.timeout),
    };
    let kex = kex_algorithms(
        option("kexalgorithms")
            .or(cfg.kex_algorithms.clone())
            .as_deref(),
    )
    .map_err(|m| err(format!("KexAlgorithms: {m}")))?;
    Ok(Target {
        address: cfg.hostname.clone().unwrap_or(address),
        port,
        user,
        identity_files,
        identities_only,
        password: var("ansible_password")
            .or_else(|| var("ansible_ssh_pass"))
            .or_else(|| defaults.password.clone()),
        jumps,
        host_key_policy,
        known_hosts_files,
        connect_timeout,
        kex,
        keepalive: Duration::from_secs(cfg.server_alive_interval.unwrap_or(15).max(1)),
    })
}

/// The key exchange horde offers when nothing is configured, most preferred first.
///
/// ecdh-sha2-nistp256 comes first for the hosts' sake: portable OpenSSH computes
/// curve25519 with its reference code, which costs sshd about 1.8 ms more CPU per
/// connection than OpenSSL's P-256 (docs/benchmarks.md). Both are in OpenSSH's own
/// default list and neither is post-quantum; `KexAlgorithms ^mlkem768x25519-sha256` or
/// `^curve25519-sha256` in ssh_config puts another first.
pub const DEFAULT_KEX: &[russh::kex::Name] = &[
    russh::kex::ECDH_SHA2_NISTP256,
    russh::kex::CURVE25519,
    russh::kex::CURVE25519_PRE_RFC_8731,
    russh::kex::MLKEM768X25519_SHA256,
    russh::kex::ECDH_SHA2_NISTP384,
    russh::kex::ECDH_SHA2_NISTP521,
    russh::kex::DH_GEX_SHA256,
    russh::kex::DH_G16_SHA512,
    russh::kex::DH_G18_SHA512,
    russh::kex::DH_G14_SHA256,
];

/// The key exchange list for an ssh_config `KexAlgorithms` value, with OpenSSH's
/// rules: a plain list replaces the default, `+LIST` appends to it, `-LIST` removes
/// from it (with `*` and `?` patterns) and `^LIST` puts the list first.
pub fn kex_algorithms(spec: Option<&str>) -> Result<Vec<russh::kex::Name>, String> {
    let Some(spec) = spec.map(str::trim) else {
        return Ok(DEFAULT_KEX.to_vec());
    };
    let (mode, list) = match spec.chars().next() {
        Some(c @ ('+' | '-' | '^')) => (Some(c), &spec[1..]),
        _ => (None, spec),
    };
    let names: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    let known = |n: &str| {
        russh::kex::ALL_KEX_ALGORITHMS
            .iter()
            .find(|k| k.as_ref() == n && ***k != russh::kex::NONE)
            .map(|k| **k)
            .ok_or_else(|| {
                let all: Vec<&str> = russh::kex::ALL_KEX_ALGORITHMS
                    .iter()
                    .filter(|k| ***k != russh::kex::NONE)
                    .map(|k| k.as_ref())
                    .collect();
                format!("unknown algorithm {n:?} (horde knows {})", all.join(", "))
            })
    };
    let mut out: Vec<russh::kex::Name> = match mode {
        Some('-') => DEFAULT_KEX
            .iter()
            .filter(|k| {
                !names
                    .iter()
                    .any(|p| super::known_hosts::wildcard(p, k.as_ref()))
            })
            .copied()
            .collect(),
        Some('+') => {
            let mut out = DEFAULT_KEX.to_vec();
            for n in &names {
                let k = known(n)?;
                if !out.contains(&k) {
                    out.push(k);
                }
            }
            out
        }
        Some(_) => {
            let first = names
                .iter()
                .map(|n| known(n))
                .collect::<Result<Vec<_>, _>>()?;
            let rest = DEFAULT_KEX.iter().filter(|k| !first.contains(k));
            first.iter().chain(rest).copied().collect()
        }
        None => names.iter().map(|n| known(n)).collect::<Result<_, _>>()?,
    };
    let mut seen = Vec::new();
    out.retain(|k| {
        let new = !seen.contains(k);
        seen.push(*k);
        new
    });
    if out.is_empty() {
        return Err(format!("{spec:?} leaves no algorithm to offer"));
    }
    Ok(out)
}

/// The target for a jump host, from the ssh_config and the defaults.
pub fn resolve_hop(
    hop: &Hop,
    defaults: &TargetDefaults,
    fallback: &Target,
) -> Result<Target, TargetError> {
    let mut vars = Vars::new();
    if let Some(u) = &hop.user {
        vars.insert("ansible_user".into(), Value::String(u.clone()));
    }
    if let Some(p) = hop.port {
        vars.insert("ansible_port".into(), Value::from(p));
    }
    let mut target = resolve(
        &hop.host,
        &vars,
        &TargetDefaults {
            jump: None,
            ..defaults.clone()
        },
    )?;
    target.jumps.clear();
    // OpenSSH offers the jump host its own identities; horde also tries the target's keys,
    // which is what a fleet behind one bastion almost always needs.
    for k in &fallback.identity_files {
        if !target.identity_files.contains(k) {
            target.identity_files.push(k.clone());
        }
    }
    if target.password.is_none() {
        target.password = fallback.password.clone();
    }
    Ok(target)
}

/// The user running horde.
pub fn current_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: Value) -> Vars {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn host_vars_win_over_defaults() {
        let defaults = TargetDefaults {
            user: Some("cli".into()),
            ..TargetDefaults::default()
        };
        let t = resolve(
            "web1",
            &vars(
                json!({"ansible_host": "10.0.0.5", "ansible_port": 2222, "ansible_user": "deploy"}),
            ),
            &defaults,
        )
        .unwrap();
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("10.0.0.5", 2222, "deploy")
        );
        let t = resolve("web2", &Vars::new(), &defaults).unwrap();
        assert_eq!(
            (t.address.as_str(), t.port, t.user.as_str()),
            ("web2", 22, "cli")
        );
    }

    #[test]
    fn a_timeout_out_of_range_names_the_host_and_the_variable() {
        for (key, value) in [
            ("ansible_timeout", json!("-1")),
            ("ansible_timeout", json!("inf")),
            ("ansible_ssh_timeout", json!(1e20)),
            ("ansible_ssh_timeout", json!("soon")),
        ] {
            let e = resolve(
                "web1",
                &vars(json!({ key: value })),
                &TargetDefaults::default(),
            )
            .unwrap_err()
            .to_string();
            assert!(e.starts_with(&format!("host web1: {key}: ")), "{e}");
        }
        let t = resolve(
            "web1",
            &vars(json!({"ansible_timeout": "2.5"})),
            &TargetDefaults::default(),
        )
        .unwrap();
        assert_eq!(t.connect_timeout, Duration::from_millis(2500));
    }

    #[test]
    fn common_args_give_jumps_and_options() {
        let t = resolve(
            "db",
            &vars(json!({"ansible_ssh_common_args": "-J ops@bastion:2200,gw -o StrictHostKeyChecking=no -o UserKnownHostsFile=/tmp/kh"})),
            &TargetDefaults::default(),
        )
        .unwrap();
        assert_eq!(t.jumps.len(), 2);
        assert_eq!(
            t.jumps[0],
            Hop {
                user: Some("ops".into()),
                host: "bastion".into(),
                port: Some(2200)
            }
        );
        assert_eq!(t.host_key_policy, HostKeyPolicy::Off);
        assert_eq!(t.known_hosts_files, vec![PathBuf::from("/tmp/kh")]);
    }

    #[test]
    fn bad_port_is_an_error_naming_the_host() {
        let e = resolve(
            "h",
            &vars(json!({"ansible_port": "ssh"})),
            &TargetDefaults::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("host h"));
    }

    fn kex_names(spec: Option<&str>) -> Vec<String> {
        kex_algorithms(spec)
            .unwrap()
            .iter()
            .map(|k| k.as_ref().to_string())
            .collect()
    }

    #[test]
    fn kex_algorithms_follow_openssh_rules() {
        assert_eq!(kex_names(None)[0], "ecdh-sha2-nistp256");
        assert_eq!(
            kex_names(Some("curve25519-sha256,diffie-hellman-group14-sha256")),
            ["curve25519-sha256", "diffie-hellman-group14-sha256"]
        );
        let first = kex_names(Some("^curve25519-sha256"));
        assert_eq!(first[..2], ["curve25519-sha256", "ecdh-sha2-nistp256"]);
        assert_eq!(first.len(), DEFAULT_KEX.len());
        let added = kex_names(Some("+diffie-hellman-group1-sha1"));
        assert_eq!(added.last().unwrap(), "diffie-hellman-group1-sha1");
        let removed = kex_names(Some("-ecdh-sha2-*,diffie-hellman-group1?-sha512"));
        assert!(!removed.iter().any(|k| k.starts_with("ecdh-")));
        assert!(!removed.iter().any(|k| k.ends_with("-sha512")));
        assert!(removed.iter().any(|k| k == "diffie-hellman-group14-sha256"));
        assert_eq!(removed[0], "curve25519-sha256");
    }

    #[test]
    fn kex_algorithms_refuse_unknown_and_empty_lists() {
        let e = kex_algorithms(Some("curve25519-sha256,sntrup761x25519-sha512@openssh.com"))
            .unwrap_err();
        assert!(
            e.contains("unknown algorithm \"sntrup761x25519-sha512@openssh.com\""),
            "{e}"
        );
        assert!(e.contains("ecdh-sha2-nistp256"), "{e}");
        assert!(
            kex_algorithms(Some("-*"))
                .unwrap_err()
                .contains("no algorithm")
        );
        let e = resolve(
            "h",
            &vars(json!({"ansible_ssh_common_args": "-o KexAlgorithms=bogus"})),
            &TargetDefaults::default(),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("KexAlgorithms: unknown algorithm"),
            "{e}"
        );
    }

    #[test]
    fn non_ascii_args_do_not_split_inside_a_character() {
        let t = resolve(
            "h",
            &vars(json!({"ansible_ssh_common_args": "-é -éx -Jgw-é -lü"})),
            &TargetDefaults::default(),
        )
        .unwrap();
        assert_eq!(t.jumps[0].host, "gw-é");
        assert_eq!(t.user, "ü");
        let e = resolve(
            "h",
            &vars(json!({"ansible_ssh_common_args": "-é -p"})),
            &TargetDefaults::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("host h"), "{e}");
        assert!(e.to_string().contains("-p needs a value"), "{e}");
    }
}
