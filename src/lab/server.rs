//! One lab host's SSH server: russh's server side, public-key auth for the lab's client key
//! only, `exec` requests run with `/bin/sh -c` in the host's sandbox directory, stdin fed
//! from the channel, exit status or exit signal sent back.

use russh::keys::PublicKey;
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use std::collections::HashMap;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;
use tokio::sync::mpsc;

/// The server side of one connection to a lab host.
pub struct LabConnection {
    pub home: PathBuf,
    pub client_key: PublicKey,
    /// Stdin of the command running on each channel.
    stdin: HashMap<ChannelId, mpsc::UnboundedSender<Option<Vec<u8>>>>,
}

impl LabConnection {
    pub fn new(home: PathBuf, client_key: PublicKey) -> Self {
        LabConnection {
            home,
            client_key,
            stdin: HashMap::new(),
        }
    }
}

/// Only public keys are offered to clients.
pub fn methods() -> MethodSet {
    MethodSet::from(&[MethodKind::PublicKey][..])
}

fn signal_name(sig: i32) -> russh::Sig {
    match sig {
        libc::SIGTERM => russh::Sig::TERM,
        libc::SIGKILL => russh::Sig::KILL,
        libc::SIGINT => russh::Sig::INT,
        libc::SIGHUP => russh::Sig::HUP,
        libc::SIGSEGV => russh::Sig::SEGV,
        libc::SIGABRT => russh::Sig::ABRT,
        libc::SIGPIPE => russh::Sig::PIPE,
        libc::SIGQUIT => russh::Sig::QUIT,
        libc::SIGUSR1 => russh::Sig::USR1,
        libc::SIGALRM => russh::Sig::ALRM,
        other => russh::Sig::Custom(format!("SIG{other}")),
    }
}

impl russh::server::Handler for LabConnection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(
            if offer.public_key.key_data() == self.client_key.key_data() {
                Auth::Accept
            } else {
                Auth::reject()
            },
        )
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if key.public_key.key_data() == self.client_key.key_data() {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(tx) = self.stdin.get(&channel) {
            let _ = tx.send(Some(data.to_vec()));
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(tx) = self.stdin.remove(&channel) {
            let _ = tx.send(None);
        }
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&self.home)
            .env("HOME", &self.home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(_) => {
                session.channel_failure(channel)?;
                return Ok(());
            }
        };
        session.channel_success(channel)?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
        self.stdin.insert(channel, tx);
        let handle = session.handle();
        let mut stdin = child.stdin.take();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        tokio::spawn(async move {
            // stdin: forward until the client's EOF.
            let feeder = async {
                while let Some(Some(chunk)) = rx.recv().await {
                    if let Some(s) = stdin.as_mut()
                        && s.write_all(&chunk).await.is_err()
                    {
                        break;
                    }
                }
                drop(stdin.take());
            };
            let out_handle = handle.clone();
            let pump_out = async {
                let mut buf = vec![0u8; 32 * 1024];
                if let Some(s) = stdout.as_mut() {
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || out_handle.data(channel, buf[..n].to_vec()).await.is_err() {
                            break;
                        }
                    }
                }
            };
            let err_handle = handle.clone();
            let pump_err = async {
                let mut buf = vec![0u8; 32 * 1024];
                if let Some(s) = stderr.as_mut() {
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0
                            || err_handle
                                .extended_data(channel, 1, buf[..n].to_vec())
                                .await
                                .is_err()
                        {
                            break;
                        }
                    }
                }
            };
            let outputs = async { tokio::join!(pump_out, pump_err) };
            tokio::pin!(feeder);
            tokio::select! {
                _ = outputs => {}
                _ = &mut feeder => { /* stdin done first; keep pumping */ }
            }
            // Drain whatever output is left once stdin is done.
            let status = child.wait().await;
            if let Some(s) = stdout.as_mut() {
                let mut rest = Vec::new();
                let _ = s.read_to_end(&mut rest).await;
                if !rest.is_empty() {
                    let _ = handle.data(channel, rest).await;
                }
            }
            if let Some(s) = stderr.as_mut() {
                let mut rest = Vec::new();
                let _ = s.read_to_end(&mut rest).await;
                if !rest.is_empty() {
                    let _ = handle.extended_data(channel, 1, rest).await;
                }
            }
            match status {
                Ok(st) => match (st.code(), st.signal()) {
                    (Some(code), _) => {
                        let _ = handle.exit_status_request(channel, code as u32).await;
                    }
                    (None, Some(sig)) => {
                        let _ = handle
                            .exit_signal_request(
                                channel,
                                signal_name(sig),
                                st.core_dumped(),
                                String::new(),
                                "en".into(),
                            )
                            .await;
                    }
                    _ => {}
                },
                Err(_) => {
                    let _ = handle.exit_status_request(channel, 255).await;
                }
            }
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
        });
        Ok(())
    }
}
