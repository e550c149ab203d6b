//! The embedded lab fleet: `-i lab:N` starts N SSH servers inside horde on loopback
//! addresses (127.0.100.1, 127.0.100.2 ...), each host a sandbox directory used as its home
//! and working directory. The main type is [`Lab`]; it writes an inventory, a client key
//! and a known_hosts file, so lab hosts are reached exactly as real ones are.

mod server;

use russh::keys::ssh_key::{Algorithm, LineEnding, PrivateKey};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// One lab host.
#[derive(Debug, Clone)]
pub struct LabHost {
    pub name: String,
    pub address: SocketAddr,
    pub home: PathBuf,
}

/// A running lab fleet; stopped (servers closed, sandboxes removed) when dropped.
pub struct Lab {
    pub hosts: Vec<LabHost>,
    dir: PathBuf,
    stop: CancellationToken,
}

/// A lab that could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("cannot prepare the lab directory {}: {source}", .path.display())]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot make a lab key: {0}")]
    Key(String),
    #[error("a lab has 1 to 10000 hosts, not {0}")]
    Size(usize),
}

/// The loopback address of lab host `i` (0-based): 127.0.100.1 ... 127.0.100.250,
/// 127.0.101.1 ...
pub fn address(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, (100 + i / 250) as u8, (i % 250 + 1) as u8)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    std::io::Write::write_all(&mut f, text.as_bytes())
}

impl Lab {
    /// Starts `n` lab hosts. Must run inside a tokio runtime.
    pub async fn start(n: usize) -> Result<Lab, LabError> {
        if n == 0 || n > 10_000 {
            return Err(LabError::Size(n));
        }
        let dir =
            std::env::temp_dir().join(format!("horde-lab-{}-{}", std::process::id(), unique()));
        let dir_err = |source| LabError::Dir {
            path: dir.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(dir_err)?;
        let (host_key, client_key) = {
            let mut rng = rand::rng();
            let mut key = || {
                PrivateKey::random(&mut rng, Algorithm::Ed25519)
                    .map_err(|e| LabError::Key(e.to_string()))
            };
            (key()?, key()?)
        };
        let client_pem = client_key
            .to_openssh(LineEnding::LF)
            .map_err(|e| LabError::Key(e.to_string()))?;
        write_private(&dir.join("id_ed25519"), &client_pem).map_err(dir_err)?;
        let config = Arc::new(russh::server::Config {
            methods: server::methods(),
            keys: vec![host_key.clone()],
            auth_rejection_time: Duration::from_millis(10),
            auth_rejection_time_initial: Some(Duration::from_millis(0)),
            inactivity_timeout: Some(Duration::from_secs(3600)),
            nodelay: true,
            ..Default::default()
        });
        let stop = CancellationToken::new();
        let mut hosts = Vec::with_capacity(n);
        let width = n.to_string().len().max(2);
        for i in 0..n {
            let name = format!("lab{:0width$}", i + 1);
            let home = dir.join("hosts").join(&name);
            std::fs::create_dir_all(&home).map_err(dir_err)?;
            let ip = address(i);
            let listener = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), 0))
                .await
                .map_err(|source| LabError::Listen {
                    address: ip.to_string(),
                    source,
                })?;
            let address = listener.local_addr().map_err(|source| LabError::Listen {
                address: ip.to_string(),
                source,
            })?;
            tokio::spawn(serve(
                listener,
                config.clone(),
                home.clone(),
                client_key.public_key().clone(),
                stop.clone(),
            ));
            hosts.push(LabHost {
                name,
                address,
                home,
            });
        }
        let lab = Lab {
            hosts,
            dir: dir.clone(),
            stop,
        };
        lab.write_files(&host_key)
            .map_err(|source| LabError::Dir { path: dir, source })?;
        Ok(lab)
    }

    fn write_files(&self, host_key: &PrivateKey) -> std::io::Result<()> {
        let public = host_key
            .public_key()
            .to_openssh()
            .map_err(std::io::Error::other)?;
        let mut known = String::new();
        let mut inventory = String::from("# The embedded lab fleet (horde -i lab:N).\n[lab]\n");
        for h in &self.hosts {
            known.push_str(&format!(
                "[{}]:{} {}\n",
                h.address.ip(),
                h.address.port(),
                public
            ));
            inventory.push_str(&format!(
                "{} ansible_host={} ansible_port={} lab_home={}\n",
                h.name,
                h.address.ip(),
                h.address.port(),
                h.home.display()
            ));
        }
        inventory.push_str(&format!(
            "\n[lab:vars]\nansible_user={}\nansible_ssh_private_key_file={}\nansible_ssh_common_args='-o UserKnownHostsFile={} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'\n",
            crate::ssh::current_user(),
            self.dir.join("id_ed25519").display(),
            self.dir.join("known_hosts").display()
        ));
        std::fs::write(self.dir.join("known_hosts"), known)?;
        std::fs::write(self.inventory_path(), inventory)
    }

    /// An INI inventory of the lab hosts (group `lab`), with their connection settings.
    pub fn inventory_path(&self) -> PathBuf {
        self.dir.join("inventory.ini")
    }

    /// The lab's working directory (keys, inventory, sandboxes).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.stop.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

async fn serve(
    listener: TcpListener,
    config: Arc<russh::server::Config>,
    home: PathBuf,
    client_key: russh::keys::PublicKey,
    stop: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.cancelled() => return,
        };
        let Ok((socket, _)) = accepted else { continue };
        // run_stream does not apply the config's nodelay: without it every reply waits
        // for the client's delayed ACK (about 40 ms a command).
        let _ = socket.set_nodelay(true);
        let handler = server::LabConnection::new(home.clone(), client_key.clone());
        let config = config.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            if let Ok(session) = russh::server::run_stream(config, socket, handler).await {
                tokio::select! {
                    _ = session => {}
                    _ = stop.cancelled() => {}
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_skip_zero_and_broadcast() {
        assert_eq!(address(0), Ipv4Addr::new(127, 0, 100, 1));
        assert_eq!(address(249), Ipv4Addr::new(127, 0, 100, 250));
        assert_eq!(address(250), Ipv4Addr::new(127, 0, 101, 1));
    }
}
