//! One SSH connection per host, kept for the run: [`Session::connect`] (TCP or through jump
//! hosts, key exchange with retries, host key checking, authentication) and
//! [`Session::exec`] (a command as a channel on the connection, with stdin, timeout and
//! cancellation). Shared state across connections lives in [`SshContext`].

use super::error::{Phase, SshError, SshErrorKind};
use super::known_hosts::{KnownHosts, Verdict, fingerprint};
use super::prompt::PasswordPrompt;
use super::target::{HostKeyPolicy, Target, TargetDefaults, resolve_hop};
use russh::ChannelMsg;
use russh::client::{self, AuthResult, Handle};
use russh::keys::ssh_key::{Algorithm, HashAlg, PrivateKey};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio::sync::{OnceCell, Semaphore};
use tokio_util::sync::CancellationToken;

/// Commands in flight on one connection. OpenSSH's MaxSessions (10) counts channels that
/// just closed, so staying well below it avoids refused channel opens.
const CHANNELS_PER_CONNECTION: usize = 4;
/// How long a cancelled or timed-out command gets to report its end after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// Attempts at a handshake that the server resets (OpenSSH's MaxStartups drops).
const HANDSHAKE_ATTEMPTS: u32 = 5;

/// A key file once read: the key, or why it cannot be used.
type LoadedKey = Arc<Result<Arc<PrivateKey>, String>>;

/// State shared by every connection of a run: decrypted keys, known_hosts files, jump host
/// connections.
pub struct SshContext {
    pub defaults: TargetDefaults,
    keys: Mutex<HashMap<PathBuf, LoadedKey>>,
    known: Mutex<HashMap<Vec<PathBuf>, Arc<KnownHosts>>>,
    jumps: Mutex<HashMap<String, Arc<OnceCell<Arc<Session>>>>>,
    passphrase: Mutex<Option<String>>,
}

impl SshContext {
    pub fn new(defaults: TargetDefaults) -> Self {
        SshContext {
            defaults,
            keys: Mutex::new(HashMap::new()),
            known: Mutex::new(HashMap::new()),
            jumps: Mutex::new(HashMap::new()),
            passphrase: Mutex::new(std::env::var("HORDE_SSH_PASSPHRASE").ok()),
        }
    }

    fn known_hosts(&self, files: &[PathBuf]) -> Arc<KnownHosts> {
        let mut cache = self.known.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(files.to_vec())
            .or_insert_with(|| Arc::new(KnownHosts::load(files)))
            .clone()
    }

    /// Loads (once per run) and decrypts a private key file.
    fn key(&self, path: &Path) -> LoadedKey {
        if let Some(k) = self
            .keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
        {
            return k.clone();
        }
        let loaded = Arc::new(self.load_key(path));
        self.keys
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(path.to_path_buf(), loaded.clone());
        loaded
    }

    fn load_key(&self, path: &Path) -> Result<Arc<PrivateKey>, String> {
        let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
        match russh::keys::decode_secret_key(&text, None) {
            Ok(k) => Ok(Arc::new(k)),
            Err(russh::keys::Error::KeyIsEncrypted) => {
                let mut pass = self.passphrase.lock().unwrap_or_else(|e| e.into_inner());
                if pass.is_none() {
                    *pass = prompt_passphrase(path);
                }
                let Some(p) = pass.as_deref() else {
                    return Err("the key is encrypted: set HORDE_SSH_PASSPHRASE or run on a terminal to be asked".into());
                };
                russh::keys::decode_secret_key(&text, Some(p))
                    .map(Arc::new)
                    .map_err(|e| format!("cannot decrypt it with the given passphrase ({e})"))
            }
            Err(e) => Err(e.to_string()),
        }
    }

    /// A connection to a jump host, shared by every host behind it.
    async fn jump(&self, hop_target: &Target, via: &[Target]) -> Result<Arc<Session>, SshError> {
        let key = std::iter::once(hop_target)
            .chain(via)
            .map(Target::label)
            .collect::<Vec<_>>()
            .join(" via ");
        let cell = {
            let mut map = self.jumps.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key)
                .or_insert_with(|| Arc::new(OnceCell::new()))
                .clone()
        };
        cell.get_or_try_init(|| async {
            Session::connect_chain(hop_target, via, self)
                .await
                .map(Arc::new)
        })
        .await
        .cloned()
    }
}

fn prompt_passphrase(path: &Path) -> Option<String> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return None;
    }
    rpassword::prompt_password(format!("Enter passphrase for key {}: ", path.display())).ok()
}

/// What a finished command reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    Code(u32),
    /// Killed by this signal (`TERM`, `KILL` ...).
    Signal(String),
    /// The channel closed without a status.
    Unknown,
}

impl ExitStatus {
    /// The rc Ansible would show: the code, or -1 for a signal or no status.
    /// The rc Ansible shows: the exit code, minus the signal number for a killed command
    /// (as Python's subprocess reports it), -1 when the channel closed without a status.
    pub fn rc(&self) -> i64 {
        match self {
            ExitStatus::Code(c) => *c as i64,
            ExitStatus::Signal(name) => -signal_number(name).unwrap_or(1),
            ExitStatus::Unknown => -1,
        }
    }
}

/// The number of a signal by its SSH name (`TERM`, `KILL` ...).
pub fn signal_number(name: &str) -> Option<i64> {
    Some(match name.trim_start_matches("SIG") {
        "HUP" => 1,
        "INT" => 2,
        "QUIT" => 3,
        "ILL" => 4,
        "ABRT" => 6,
        "FPE" => 8,
        "KILL" => 9,
        "USR1" => 10,
        "SEGV" => 11,
        "USR2" => 12,
        "PIPE" => 13,
        "ALRM" => 14,
        "TERM" => 15,
        n => return n.parse().ok(),
    })
}

/// The most output horde keeps of one stream (stdout, stderr) of one command, unless the
/// request says otherwise: past it the command is stopped and its task fails. Ansible keeps
/// everything, and one host printing without end then takes the controller's memory and
/// every host's results with it; 256 MiB is far above what a task registers or prints,
/// and leaves room for `fetch`, which reads a file as output.
pub const OUTPUT_LIMIT: usize = 256 << 20;

/// A command to run.
#[derive(Debug, Clone, Default)]
pub struct ExecRequest {
    pub command: String,
    pub stdin: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// A become password, typed only if the command asks for it; its input waits for the
    /// command's ready line (see [`PasswordPrompt`]).
    pub password: Option<PasswordPrompt>,
    /// The output limit per stream ([`OUTPUT_LIMIT`] when `None`).
    pub output_limit: Option<usize>,
}

impl ExecRequest {
    /// The output limit per stream.
    pub fn output_limit(&self) -> usize {
        self.output_limit.unwrap_or(OUTPUT_LIMIT)
    }

    /// An error when either stream went past the output limit.
    pub(crate) fn check_output(&self, stdout: &[u8], stderr: &[u8]) -> Result<(), SshErrorKind> {
        let limit = self.output_limit();
        for (stream, bytes) in [("stdout", stdout), ("stderr", stderr)] {
            if bytes.len() > limit {
                return Err(SshErrorKind::OutputLimit { stream, limit });
            }
        }
        Ok(())
    }
}

/// What a command printed and how it ended.
#[derive(Debug, Clone)]
pub struct ExecOutput {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: ExitStatus,
    pub started: std::time::SystemTime,
    pub duration: Duration,
}

/// The russh client handler: checks the host key against known_hosts.
struct Client {
    host: String,
    port: u16,
    policy: HostKeyPolicy,
    known: Arc<KnownHosts>,
    failure: Arc<Mutex<Option<SshErrorKind>>>,
}

impl client::Handler for Client {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let PublicKeyOrCertificate::PublicKey { key, .. } = key else {
            return Ok(false);
        };
        let fail = |kind| {
            *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(kind);
            Ok(false)
        };
        match self.known.check(&self.host, self.port, key) {
            Verdict::Known => Ok(true),
            Verdict::Revoked(e) => fail(SshErrorKind::HostKeyRevoked {
                fingerprint: fingerprint(key),
                path: e.path,
                line: e.line,
            }),
            Verdict::Changed(e) => fail(SshErrorKind::HostKeyChanged {
                new: fingerprint(key),
                old: fingerprint(&e.key),
                path: e.path,
                line: e.line,
            }),
            Verdict::Unknown => match self.policy {
                HostKeyPolicy::Off => Ok(true),
                HostKeyPolicy::Strict => fail(SshErrorKind::UnknownHostKey {
                    fingerprint: fingerprint(key),
                    files: self
                        .known
                        .files
                        .iter()
                        .map(|f| f.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
                HostKeyPolicy::AcceptNew => {
                    let Some(path) = self.known.files.first().cloned() else {
                        return Ok(true);
                    };
                    let (host, port, key) = (self.host.clone(), self.port, key.clone());
                    let written = tokio::task::spawn_blocking(move || {
                        KnownHosts::append(&path, &host, port, &key).map_err(|e| (path, e))
                    })
                    .await
                    .map_err(|e| russh::Error::IO(std::io::Error::other(e)))?;
                    match written {
                        Ok(()) => Ok(true),
                        Err((path, source)) => fail(SshErrorKind::KnownHostsWrite { path, source }),
                    }
                }
            },
        }
    }
}

/// An authenticated SSH connection to one host.
pub struct Session {
    handle: Handle<Client>,
    label: String,
    channels: Semaphore,
    /// Keeps the jump connection alive as long as this one.
    _via: Option<Arc<Session>>,
    /// Commands go through one long-lived shell when possible ([`Session::use_shell`]).
    reuse_shell: std::sync::atomic::AtomicBool,
    shell: tokio::sync::Mutex<Option<super::shell::Shell>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("target", &self.label)
            .finish()
    }
}

fn client_config(target: &Target, known_algs: &[Algorithm]) -> Arc<client::Config> {
    let mut preferred = russh::Preferred::default();
    // The key exchange list of the target (ssh_config `KexAlgorithms` or horde's
    // default), then the extension markers russh needs (ext-info, strict kex).
    let mut kex = target.kex.clone();
    kex.extend([
        russh::kex::EXTENSION_SUPPORT_AS_CLIENT,
        russh::kex::EXTENSION_OPENSSH_STRICT_KEX_AS_CLIENT,
    ]);
    preferred.kex = kex.into();
    // Ask first for the key types known_hosts has for this host, so a host recorded with
    // only an RSA key is verified rather than reported unknown.
    if !known_algs.is_empty() {
        let mut keys: Vec<Algorithm> = Vec::new();
        for a in known_algs {
            if a.clone().is_rsa() {
                for h in [Some(HashAlg::Sha512), Some(HashAlg::Sha256)] {
                    keys.push(Algorithm::Rsa { hash: h });
                }
            } else {
                keys.push(a.clone());
            }
        }
        for a in preferred.key.iter() {
            if !keys.contains(a) {
                keys.push(a.clone());
            }
        }
        preferred.key = keys.into();
    }
    Arc::new(client::Config {
        preferred,
        keepalive_interval: Some(target.keepalive),
        keepalive_max: 3,
        nodelay: true,
        ..Default::default()
    })
}

fn classify_io(e: std::io::Error) -> SshErrorKind {
    match e.kind() {
        std::io::ErrorKind::ConnectionRefused => SshErrorKind::Refused,
        std::io::ErrorKind::HostUnreachable | std::io::ErrorKind::NetworkUnreachable => {
            SshErrorKind::Unroutable
        }
        _ => SshErrorKind::Io(e),
    }
}

fn is_reset(e: &russh::Error) -> bool {
    match e {
        russh::Error::IO(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::BrokenPipe
        ),
        russh::Error::Disconnect | russh::Error::HUP => true,
        _ => false,
    }
}

impl Session {
    /// Connects to a target, through its jump hosts if it has any.
    pub async fn connect(target: &Target, ctx: &SshContext) -> Result<Session, SshError> {
        let mut via = Vec::new();
        for hop in &target.jumps {
            let t = resolve_hop(hop, &ctx.defaults, target).map_err(|e| {
                SshError::new(target.label(), SshErrorKind::Protocol(e.to_string()))
            })?;
            via.push(t);
        }
        // The hop nearest to the target is connected through the ones before it.
        via.reverse();
        Self::connect_chain(target, &via, ctx).await
    }

    /// `via[0]` is the last hop before `target`, `via[1]` the one before it ...
    fn connect_chain<'a>(
        target: &'a Target,
        via: &'a [Target],
        ctx: &'a SshContext,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Session, SshError>> + Send + 'a>>
    {
        Box::pin(async move {
            let jump = match via.split_first() {
                None => None,
                Some((hop, rest)) => Some(ctx.jump(hop, rest).await.map_err(|e| {
                    SshError::new(
                        target.label(),
                        SshErrorKind::Jump {
                            hop: hop.label(),
                            source: Box::new(e),
                        },
                    )
                })?),
            };
            Self::connect_one(target, jump, ctx).await
        })
    }

    async fn connect_one(
        target: &Target,
        via: Option<Arc<Session>>,
        ctx: &SshContext,
    ) -> Result<Session, SshError> {
        let label = target.label();
        let err = |kind| SshError::new(label.clone(), kind);
        let known = ctx.known_hosts(&target.known_hosts_files);
        let config = client_config(target, &known.algorithms(&target.address, target.port));
        let deadline = target.connect_timeout;
        let mut attempt = 0;
        let handle = loop {
            attempt += 1;
            let failure = Arc::new(Mutex::new(None));
            let handler = Client {
                host: target.address.clone(),
                port: target.port,
                policy: target.host_key_policy,
                known: known.clone(),
                failure: failure.clone(),
            };
            let result = match &via {
                None => {
                    let stream = open_tcp(target).await.map_err(err)?;
                    tokio::time::timeout(
                        deadline,
                        client::connect_stream(config.clone(), stream, handler),
                    )
                    .await
                }
                Some(jump) => {
                    let channel = jump
                        .handle
                        .channel_open_direct_tcpip(
                            target.address.clone(),
                            target.port as u32,
                            "127.0.0.1",
                            0,
                        )
                        .await
                        .map_err(|e| {
                            err(SshErrorKind::Channel(format!(
                                "the jump host cannot reach {}:{}: {e}",
                                target.address, target.port
                            )))
                        })?;
                    tokio::time::timeout(
                        deadline,
                        client::connect_stream(config.clone(), channel.into_stream(), handler),
                    )
                    .await
                }
            };
            match result {
                Err(_) => {
                    return Err(err(SshErrorKind::Timeout {
                        phase: Phase::Handshake,
                        after: deadline,
                    }));
                }
                Ok(Ok(h)) => break h,
                Ok(Err(e)) => {
                    if let Some(kind) = failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
                        return Err(err(kind));
                    }
                    if is_reset(&e) && attempt < HANDSHAKE_ATTEMPTS {
                        let backoff = 50u64 * (1 << attempt)
                            + (std::process::id() as u64 + attempt as u64 * 37) % 50;
                        tokio::time::sleep(Duration::from_millis(backoff)).await;
                        continue;
                    }
                    return Err(err(match e {
                        russh::Error::IO(io) => classify_io(io),
                        other => SshErrorKind::Protocol(other.to_string()),
                    }));
                }
            }
        };
        let mut session = Session {
            handle,
            label: label.clone(),
            channels: Semaphore::new(CHANNELS_PER_CONNECTION),
            _via: via,
            reuse_shell: false.into(),
            shell: tokio::sync::Mutex::new(None),
        };
        match tokio::time::timeout(deadline, session.authenticate(target, ctx)).await {
            Err(_) => Err(err(SshErrorKind::Timeout {
                phase: Phase::Auth,
                after: deadline,
            })),
            Ok(r) => r.map(|()| session),
        }
    }

    async fn authenticate(&mut self, target: &Target, ctx: &SshContext) -> Result<(), SshError> {
        let label = self.label.clone();
        let err = |kind| SshError::new(label.clone(), kind);
        let mut tried: Vec<String> = Vec::new();
        let mut accepts = String::from("unknown");
        let note = |r: &AuthResult, accepts: &mut String| {
            if let AuthResult::Failure {
                remaining_methods, ..
            } = r
            {
                *accepts = remaining_methods
                    .iter()
                    .map(|m| String::from(<&str>::from(m)))
                    .collect::<Vec<_>>()
                    .join(", ");
            }
        };
        let proto = |e: russh::Error| SshErrorKind::Protocol(e.to_string());

        // Keys from files, in order; a key that cannot be read is reported only if nothing
        // else works.
        let mut key_problems = Vec::new();
        let mut offered = Vec::new();
        for path in &target.identity_files {
            if !path.exists() {
                continue;
            }
            let key = match &*ctx.key(path) {
                Ok(k) => k.clone(),
                Err(reason) => {
                    key_problems.push(SshErrorKind::Key {
                        path: path.clone(),
                        reason: reason.clone(),
                    });
                    continue;
                }
            };
            offered.push(key.public_key().key_data().clone());
            let hash = if key.algorithm().is_rsa() {
                self.handle
                    .best_supported_rsa_hash()
                    .await
                    .map_err(|e| err(proto(e)))?
                    .flatten()
                    .or(Some(HashAlg::Sha256))
            } else {
                None
            };
            let r = self
                .handle
                .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(key, hash))
                .await
                .map_err(|e| err(proto(e)))?;
            tried.push(format!("publickey {}", path.display()));
            if r.success() {
                return Ok(());
            }
            note(&r, &mut accepts);
        }

        // The agent's keys (with IdentitiesOnly, only those matching a listed file).
        if std::env::var_os("SSH_AUTH_SOCK").is_some()
            && let Ok(mut agent) = russh::keys::agent::client::AgentClient::connect_env().await
            && let Ok(identities) = agent.request_identities().await
        {
            for id in identities {
                let public = id.public_key().into_owned();
                if target.identities_only && !offered.contains(public.key_data()) {
                    continue;
                }
                let hash = if public.algorithm().is_rsa() {
                    Some(HashAlg::Sha256)
                } else {
                    None
                };
                let r = match self
                    .handle
                    .authenticate_publickey_with(&target.user, public.clone(), hash, &mut agent)
                    .await
                {
                    Ok(r) => r,
                    Err(_) => continue,
                };
                tried.push(format!("agent key {}", public.fingerprint(HashAlg::Sha256)));
                if r.success() {
                    return Ok(());
                }
                note(&r, &mut accepts);
            }
        }

        if let Some(password) = &target.password {
            let r = self
                .handle
                .authenticate_password(&target.user, password)
                .await
                .map_err(|e| err(proto(e)))?;
            tried.push("password".into());
            if r.success() {
                return Ok(());
            }
            note(&r, &mut accepts);
        }
        if tried.is_empty()
            && let Some(problem) = key_problems.into_iter().next()
        {
            return Err(err(problem));
        }
        let tried = if tried.is_empty() {
            "nothing (no keys, agent or password)".to_string()
        } else {
            tried.join(", ")
        };
        Err(err(SshErrorKind::AuthRejected {
            user: target.user.clone(),
            tried,
            accepts,
        }))
    }

    /// `user@address:port`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// True once the connection has gone away.
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs a command on its own channel and collects its output. `cancel` closes the
    /// channel and returns [`Phase::Command`] timeout-like cancellation as an error.
    pub async fn exec(
        &self,
        req: &ExecRequest,
        cancel: &CancellationToken,
    ) -> Result<ExecOutput, SshError> {
        let err = |kind| SshError::new(self.label.clone(), kind);
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|_| err(SshErrorKind::Closed(None)))?;
        let started = std::time::SystemTime::now();
        let t0 = Instant::now();
        let mut channel = self.open_channel().await?;
        let run = async {
            channel
                .exec(true, req.command.as_bytes())
                .await
                .map_err(|e| err(SshErrorKind::Protocol(e.to_string())))?;
            let proto = |e: russh::Error| err(SshErrorKind::Protocol(e.to_string()));
            let mut answering = req.password.as_ref().map(super::Answering::new);
            if answering.is_none() {
                if let Some(input) = &req.stdin {
                    channel.data_bytes(input.clone()).await.map_err(proto)?;
                }
                channel.eof().await.map_err(proto)?;
            }
            let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                    ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                    ChannelMsg::ExitStatus { exit_status } => {
                        status = Some(ExitStatus::Code(exit_status))
                    }
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        status = Some(ExitStatus::Signal(sig_name(&signal_name)))
                    }
                    ChannelMsg::Failure => {
                        return Err(err(SshErrorKind::Channel(
                            "the server refused to run the command".into(),
                        )));
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
                req.check_output(&stdout, &stderr).map_err(err)?;
                let Some(a) = answering.as_mut().filter(|a| a.waiting()) else {
                    continue;
                };
                match a.step(&stdout, &stderr) {
                    super::Step::Wait => {}
                    super::Step::Type(pw) => channel.data_bytes(pw).await.map_err(proto)?,
                    super::Step::Ready => {
                        if let Some(input) = &req.stdin {
                            channel.data_bytes(input.clone()).await.map_err(proto)?;
                        }
                        channel.eof().await.map_err(proto)?;
                    }
                    // sudo gives up at the end of its input.
                    super::Step::Refused => channel.eof().await.map_err(proto)?,
                }
            }
            if let Some(a) = &answering {
                a.strip(&mut stdout, &mut stderr);
            }
            if status.is_none() && self.handle.is_closed() {
                return Err(err(SshErrorKind::Closed(Some(
                    "while the command ran".into(),
                ))));
            }
            Ok((stdout, stderr, status.unwrap_or(ExitStatus::Unknown)))
        };
        let kind = match until_stopped(run, req, cancel).await {
            Ended::Done(r) => {
                let (stdout, stderr, status) = r?;
                return Ok(ExecOutput {
                    stdout,
                    stderr,
                    status,
                    started,
                    duration: t0.elapsed(),
                });
            }
            Ended::Stop(kind) => kind,
        };
        // Stop the remote command, not only our side of it: OpenSSH delivers the signal to
        // the command (sshd does not kill a command without a terminal when the connection
        // goes). Wait, briefly, for the command's end to come back, so the signal is surely
        // on the wire before horde moves on or exits.
        let _ = channel.signal(russh::Sig::TERM).await;
        let _ = tokio::time::timeout(STOP_GRACE, async {
            while let Some(msg) = channel.wait().await {
                if matches!(msg, ChannelMsg::Close) {
                    break;
                }
            }
        })
        .await;
        let _ = channel.close().await;
        Err(err(kind))
    }

    /// Runs later commands through one long-lived shell on the host where possible (see
    /// `shell.rs`): far less work for the host than a channel per command.
    pub fn use_shell(&self) {
        self.reuse_shell
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs a command: in the connection's shell when [`Session::use_shell`] was called, it
    /// is free and the command cannot leave a process in the background; else as a channel
    /// of its own ([`Session::exec`]).
    pub async fn run(
        &self,
        req: &ExecRequest,
        cancel: &CancellationToken,
    ) -> Result<ExecOutput, SshError> {
        // A become password is typed as the command asks: the shell's framing of input
        // has no room for that, so such commands get a channel of their own.
        if !self.reuse_shell.load(std::sync::atomic::Ordering::Relaxed)
            || req.password.is_some()
            || super::shell::may_background(&req.command)
        {
            return self.exec(req, cancel).await;
        }
        let Ok(mut slot) = self.shell.try_lock() else {
            return self.exec(req, cancel).await;
        };
        if slot.is_none() {
            // The shell holds one of the connection's channels for as long as it lives.
            let Ok(permit) = self.channels.acquire().await else {
                return self.exec(req, cancel).await;
            };
            match super::shell::Shell::start(self).await {
                Ok(sh) => {
                    permit.forget();
                    *slot = Some(sh);
                }
                Err(_) => {
                    drop(permit);
                    if self.handle.is_closed() {
                        return Err(SshError::new(
                            self.label.clone(),
                            SshErrorKind::Closed(None),
                        ));
                    }
                    // The host cannot run it: channels it is, from now on.
                    self.reuse_shell
                        .store(false, std::sync::atomic::Ordering::Relaxed);
                    return self.exec(req, cancel).await;
                }
            }
        }
        let has_input = req.stdin.as_ref().is_some_and(|i| !i.is_empty());
        let Some(shell) = slot.as_mut().filter(|sh| sh.reads_input() || !has_input) else {
            drop(slot);
            return self.exec(req, cancel).await;
        };
        let kind = match until_stopped(shell.run(self, req), req, cancel).await {
            Ended::Done(Ok(out)) => return Ok(out),
            Ended::Done(Err(e)) => {
                if let Some(sh) = slot.take() {
                    sh.close().await;
                    self.channels.add_permits(1);
                }
                return Err(e);
            }
            Ended::Stop(kind) => kind,
        };
        if let Some(sh) = slot.take() {
            self.channels.add_permits(1);
            sh.kill(self).await;
        }
        Err(SshError::new(self.label.clone(), kind))
    }

    /// Opens a session channel, retrying refusals (MaxSessions) with backoff.
    pub(crate) async fn open_channel(&self) -> Result<russh::Channel<client::Msg>, SshError> {
        const ATTEMPTS: u32 = 9;
        let mut delay = Duration::from_millis(5);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.handle.channel_open_session().await {
                Ok(c) => return Ok(c),
                Err(russh::Error::ChannelOpenFailure(_)) if attempt < ATTEMPTS => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                Err(e) => {
                    let kind = if self.handle.is_closed() {
                        SshErrorKind::Closed(Some(e.to_string()))
                    } else {
                        SshErrorKind::Channel(e.to_string())
                    };
                    return Err(SshError::new(self.label.clone(), kind));
                }
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(&self) {
        if let Some(sh) = self.shell.lock().await.take() {
            sh.close().await;
        }
        let _ = self
            .handle
            .disconnect(russh::Disconnect::ByApplication, "", "en")
            .await;
    }
}

fn sig_name(sig: &russh::Sig) -> String {
    match sig {
        russh::Sig::Custom(name) => name.trim_start_matches("SIG").to_string(),
        other => format!("{other:?}"),
    }
}

/// How a command's run ended: by itself, or to be stopped (cancelled, timed out, or past
/// the output limit), with the reason.
enum Ended<T> {
    Done(Result<T, SshError>),
    Stop(SshErrorKind),
}

/// Runs a command's `run` until it ends, `cancel` fires or the request's timeout passes.
async fn until_stopped<T>(
    run: impl std::future::Future<Output = Result<T, SshError>>,
    req: &ExecRequest,
    cancel: &CancellationToken,
) -> Ended<T> {
    tokio::select! {
        r = run => match r {
            // Too much output: stopped as a timed-out command is.
            Err(SshError {
                kind: kind @ SshErrorKind::OutputLimit { .. },
                ..
            }) => Ended::Stop(kind),
            r => Ended::Done(r),
        },
        _ = cancel.cancelled() => Ended::Stop(SshErrorKind::Closed(Some("cancelled".into()))),
        _ = sleep_opt(req.timeout) => Ended::Stop(SshErrorKind::Timeout {
            phase: Phase::Command,
            after: req.timeout.unwrap_or_default(),
        }),
    }
}

async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn open_tcp(target: &Target) -> Result<TcpStream, SshErrorKind> {
    let deadline = target.connect_timeout;
    let addrs: Vec<std::net::SocketAddr> = match tokio::time::timeout(
        deadline,
        tokio::net::lookup_host((target.address.as_str(), target.port)),
    )
    .await
    {
        Err(_) => {
            return Err(SshErrorKind::Timeout {
                phase: Phase::Connect,
                after: deadline,
            });
        }
        Ok(Err(_)) => return Err(SshErrorKind::Resolve(target.address.clone())),
        Ok(Ok(a)) => a.collect(),
    };
    if addrs.is_empty() {
        return Err(SshErrorKind::Resolve(target.address.clone()));
    }
    let mut last = SshErrorKind::Refused;
    for addr in addrs {
        match tokio::time::timeout(deadline, TcpStream::connect(addr)).await {
            Err(_) => {
                last = SshErrorKind::Timeout {
                    phase: Phase::Connect,
                    after: deadline,
                }
            }
            Ok(Err(e)) => last = classify_io(e),
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
        }
    }
    Err(last)
}
