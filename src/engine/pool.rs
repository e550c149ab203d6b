//! One connection per host for the whole run ([`Pool`]): opened on first use, shared by
//! the host's own tasks and by tasks delegated to it, closed at the end.

use crate::adhoc::host_vars;
use crate::inventory::Inventory;
use crate::ssh::{Session, SshContext, resolve};
use crate::transport::Transport;
use crate::vars::Vars;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

type Slot = Arc<OnceCell<Result<Transport, String>>>;

/// The run's connections, by inventory host name.
pub struct Pool {
    inventory: Arc<Inventory>,
    extra_vars: Arc<Vars>,
    ssh: Arc<SshContext>,
    slots: Mutex<HashMap<String, Slot>>,
}

impl Pool {
    pub fn new(inventory: Arc<Inventory>, extra_vars: Arc<Vars>, ssh: Arc<SshContext>) -> Self {
        Pool {
            inventory,
            extra_vars,
            ssh,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The transport to a host (connecting on first use); `Err` is the reason it is
    /// unreachable. `vars` are the host's variables when the caller has them.
    pub async fn get(
        &self,
        host: &str,
        vars: Option<&Vars>,
        cancel: &CancellationToken,
    ) -> Result<Transport, String> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.entry(host.to_string()).or_default().clone()
        };
        let owned;
        let vars = match vars {
            Some(v) => v,
            None => {
                owned = host_vars(&self.inventory, host, &self.extra_vars);
                &owned
            }
        };
        let connect = slot.get_or_init(|| async {
            if vars.get("ansible_connection").and_then(Value::as_str) == Some("local") {
                return Ok(Transport::Local);
            }
            let target = resolve(host, vars, &self.ssh.defaults).map_err(|e| e.message)?;
            match Session::connect(&target, &self.ssh).await {
                Ok(s) => {
                    // A playbook sends many small commands: one shell on the host runs them.
                    s.use_shell();
                    Ok(Transport::Ssh(Arc::new(s)))
                }
                Err(e) => Err(e.to_string()),
            }
        });
        tokio::select! {
            r = connect => r.clone(),
            _ = cancel.cancelled() => Err("interrupted".into()),
        }
    }

    /// Closes every connection.
    pub async fn close(&self) {
        let slots: Vec<Slot> = {
            let slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            slots.values().cloned().collect()
        };
        for slot in slots {
            if let Some(Ok(Transport::Ssh(s))) = slot.get() {
                s.close().await;
            }
        }
    }
}
