//! A fleet of real OpenSSH `sshd` hosts on loopback for the tests: [`Fleet`] wraps
//! `tests/fleet/fleet.py` (see tests/fleet/README.md) and stops its servers when dropped.
//!
//! Address scheme, so that tests running at the same time never share an address and port:
//! nextest runs every test in its own process, `cargo test` runs them as threads of one.
//! The process id picks a /24 of its own, `127.A.B.0/24` with `slot = pid % (235 * 256)`,
//! `A = 20 + slot / 256`, `B = slot % 256` (so 127.0.x.x, which fleet.py and people use by
//! hand, is never touched); pids of live processes differ, and below 60,160 (Linux's default
//! `pid_max` is 32,768) so do their slots. Within a process, the k-th fleet listens on port
//! `2222 + k`, its hosts on `127.A.B.1`, `.2`, ... and its tarpits on `127.A.B.1`, `.2`, ...
//! at port `22222 + k`. A fleet of more than 254 hosts spills into the next /24 (fleet.py skips
//! .0 and .255). Should an address still be taken (a fleet left by a test process killed
//! before its drop ran, whose pid was reused), fleet.py exits with 75 and `start` moves on
//! to the next port.

// Helpers for the tests that drive horde against the fleet; not every one is used by every
// test module at every moment.
#![allow(dead_code)]

use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use serde_json::Value;

/// Seconds after which every server of a test fleet exits by itself, drop or no drop.
const TTL_SECONDS: u32 = 600;
/// fleet.py's exit status when an address it was given is already taken.
const EXIT_ADDRESS_IN_USE: i32 = 75;

/// Fleets started by this process so far: the k-th gets port 2222 + k.
static FLEETS_STARTED: AtomicU16 = AtomicU16::new(0);

/// Running `sshd` hosts, stopped (by pid) when this is dropped.
pub struct Fleet {
    /// The fleet's directory: keys, inventories, known_hosts, ssh_config, logs/.
    pub dir: PathBuf,
    pub hosts: Vec<FleetHost>,
    /// The user the hosts let in with [`Fleet::key`] (`hordetest`, password `hordetest-pw`).
    pub user: String,
    /// Whether each host's sshd runs as init of its own PID namespace, so that killing a
    /// host also ends its open sessions (true when root).
    pub pid_namespace: bool,
    tarpits: AtomicU16,
    port: u16,
    tmp: Option<tempfile::TempDir>,
}

/// One host of a [`Fleet`].
#[derive(Debug, Clone)]
pub struct FleetHost {
    /// `host001`, `host002`, ...: the name in the inventories and in `ssh_config`.
    pub name: String,
    pub address: String,
    pub port: u16,
    /// The host key's fingerprint, `SHA256:...` as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The host key's public line, `ssh-ed25519 AAAA...`.
    pub host_key: String,
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fleet/fleet.py")
}

/// `python3 fleet.py COMMAND DIR`, to add arguments to.
fn fleet_py(command: &str, dir: &Path) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(script()).arg(command).arg(dir);
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().expect("python3 runs tests/fleet/fleet.py")
}

#[track_caller]
fn assert_ok(cmd: &Command, out: &Output) {
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[track_caller]
fn check(cmd: &mut Command) {
    let out = output(cmd);
    assert_ok(cmd, &out);
}

/// This process's own `127.A.B.0/24` (see the module doc).
fn process_subnet() -> (u32, u32) {
    let slot = std::process::id() % (235 * 256);
    (20 + slot / 256, slot % 256)
}

impl Fleet {
    /// Starts `n` hosts and waits until each one answers with an SSH banner.
    #[track_caller]
    pub fn start(n: usize) -> Fleet {
        let tmp = tempfile::Builder::new()
            .prefix("horde-fleet-")
            .tempdir()
            .expect("a temporary directory");
        let (a, b) = process_subnet();
        let first = format!("127.{a}.{b}.1");
        for _attempt in 0..8 {
            let k = FLEETS_STARTED.fetch_add(1, Ordering::Relaxed);
            let port = 2222 + k;
            let mut cmd = fleet_py("start", tmp.path());
            cmd.arg(n.to_string())
                .args(["--first-address", &first])
                .args(["--port", &port.to_string()])
                .args(["--ttl", &TTL_SECONDS.to_string()]);
            let out = output(&mut cmd);
            if out.status.code() == Some(EXIT_ADDRESS_IN_USE) {
                continue;
            }
            assert_ok(&cmd, &out);
            return Fleet::read(tmp, port);
        }
        panic!("fleet.py start: every port tried from {first} was taken");
    }

    fn read(tmp: tempfile::TempDir, port: u16) -> Fleet {
        let dir = tmp.path().to_path_buf();
        let json = |name: &str| -> Value {
            let text = std::fs::read_to_string(dir.join(name)).expect(name);
            serde_json::from_str(&text).expect(name)
        };
        let text = |v: &Value, key: &str| v[key].as_str().expect(key).to_string();
        let hosts = json("hosts.json")
            .as_array()
            .expect("hosts.json is a list")
            .iter()
            .map(|h| FleetHost {
                name: text(h, "name"),
                address: text(h, "address"),
                port: h["port"].as_u64().expect("port") as u16,
                fingerprint: text(h, "host_key_fingerprint_sha256"),
                host_key: text(h, "host_key_pub"),
            })
            .collect();
        let meta = json("fleet.json");
        let keep = std::env::var_os("HORDE_FLEET_KEEP").is_some();
        Fleet {
            dir,
            hosts,
            user: text(&meta, "user"),
            pid_namespace: meta["pid_namespace"].as_bool().unwrap_or(false),
            tarpits: AtomicU16::new(0),
            port,
            tmp: if keep {
                let _ = tmp.keep();
                None
            } else {
                Some(tmp)
            },
        }
    }

    /// The host called `name`.
    #[track_caller]
    pub fn host(&self, name: &str) -> &FleetHost {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name} in the fleet"))
    }

    /// Stops one host's sshd and everything it runs: new connections are refused.
    #[track_caller]
    pub fn kill(&self, name: &str) {
        check(fleet_py("kill", &self.dir).arg(name));
    }

    /// Starts one host's sshd again (same address, port and host key) and waits for it.
    #[track_caller]
    pub fn restart(&self, name: &str) {
        check(fleet_py("restart", &self.dir).arg(name));
    }

    /// Starts a listener that accepts connections and never sends a byte; its address.
    #[track_caller]
    pub fn tarpit(&self) -> (String, u16) {
        let j = self.tarpits.fetch_add(1, Ordering::Relaxed);
        assert!(j < 254, "at most 254 tarpits per fleet");
        let (a, b) = process_subnet();
        let address = format!("127.{a}.{b}.{}", j + 1);
        let port = self.port + 20000;
        check(
            fleet_py("tarpit", &self.dir)
                .args(["--address", &address])
                .args(["--port", &port.to_string()])
                .args(["--ttl", &TTL_SECONDS.to_string()]),
        );
        (address, port)
    }

    /// `[fleet]` with every host, and the user and key in `[fleet:vars]`.
    pub fn inventory_ini(&self) -> PathBuf {
        self.dir.join("inventory.ini")
    }

    /// The same inventory in YAML.
    pub fn inventory_yml(&self) -> PathBuf {
        self.dir.join("inventory.yml")
    }

    /// `[address]:port key` for every host.
    pub fn known_hosts(&self) -> PathBuf {
        self.dir.join("known_hosts")
    }

    /// The same entries hashed (`|1|salt|hash`), as with OpenSSH's `HashKnownHosts yes`.
    pub fn known_hosts_hashed(&self) -> PathBuf {
        self.dir.join("known_hosts_hashed")
    }

    /// The client's private key (ed25519, no passphrase).
    pub fn key(&self) -> PathBuf {
        self.dir.join("id_ed25519")
    }

    /// An OpenSSH client config with a `Host hostNNN` block per host.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// Where each host's sshd writes its errors: `logs/NAME.log`.
    pub fn log(&self, name: &str) -> PathBuf {
        self.dir.join("logs").join(format!("{name}.log"))
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let out = output(&mut fleet_py("stop", &self.dir));
        if !out.status.success() {
            eprintln!(
                "fleet.py stop {} failed: {}",
                self.dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        drop(self.tmp.take());
    }
}

/// `ssh -F DIR/ssh_config HOST COMMAND`, bounded by `timeout` so a test cannot hang on it.
fn openssh(fleet: &Fleet, host: &str, command: &str) -> Output {
    Command::new("timeout")
        .args(["30", "ssh", "-F"])
        .arg(fleet.ssh_config())
        .args([host, command])
        .output()
        .expect("ssh runs")
}

fn banner(address: &str, port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect((address, port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf)?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn openssh_client_reaches_every_host() {
    let fleet = Fleet::start(3);
    assert_eq!(fleet.hosts.len(), 3);
    for host in &fleet.hosts {
        let out = openssh(&fleet, &host.name, "echo $((6*7)); id -un");
        assert!(
            out.status.success(),
            "ssh {}: {}\n{}",
            host.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let expected = format!("42\n{}\n", fleet.user);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{}",
            host.name
        );
    }
}

#[test]
fn killed_host_refuses_connections() {
    let fleet = Fleet::start(2);
    let (dead, alive) = (fleet.hosts[0].clone(), fleet.hosts[1].clone());

    // A session open on the host when it dies must end with it.
    let mut session = Command::new("timeout")
        .args(["30", "ssh", "-F"])
        .arg(fleet.ssh_config())
        .args([&dead.name, "echo up; exec sleep 60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null()) // "Connection to ... closed by remote host."
        .spawn()
        .expect("ssh runs");
    let mut up = [0u8; 3];
    session
        .stdout
        .take()
        .expect("piped")
        .read_exact(&mut up)
        .expect("the session starts");
    assert_eq!(&up, b"up\n");

    fleet.kill(&dead.name);
    let err = TcpStream::connect((dead.address.as_str(), dead.port))
        .map(|s| s.shutdown(Shutdown::Both))
        .expect_err("a killed host accepts no connection");
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let status = session.wait().expect("ssh ends");
    if fleet.pid_namespace {
        // 255: ssh lost its connection; 124 would be `timeout` ending a session that lived on.
        assert_eq!(status.code(), Some(255), "the session outlived its host");
    }
    assert!(
        banner(&alive.address, alive.port)
            .unwrap()
            .starts_with("SSH-2.0-")
    );

    // Same address, port and host key (ssh_config checks it strictly).
    fleet.restart(&dead.name);
    let out = openssh(&fleet, &dead.name, "echo back");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "back\n");
}

#[test]
fn tarpit_accepts_and_never_answers() {
    let fleet = Fleet::start(1);
    let (address, port) = fleet.tarpit();
    let mut s = TcpStream::connect((address.as_str(), port)).expect("the tarpit accepts");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let err = s
        .read(&mut [0u8; 16])
        .expect_err("the tarpit sends nothing");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
}
