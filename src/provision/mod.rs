//! Where hosts come from: a [`Provisioner`] leases hosts and releases them. The static
//! inventory is one (lease = use); `lab:N` starts the embedded lab fleet. A lease gives
//! inventory sources that describe its hosts. [`Leases`] releases everything it holds on
//! every path out, including a panic or an early return.

use crate::lab::{Lab, LabError};
use std::future::Future;
use std::pin::Pin;

/// A future a provisioner returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Hosts held for a run.
pub struct Lease {
    /// What to show in messages (`lab:20`, `hosts.yml`).
    pub id: String,
    /// Inventory sources (paths or comma lists) that describe the leased hosts.
    pub sources: Vec<String>,
    /// What keeps the hosts alive (the lab servers), dropped on release.
    hold: Option<Box<dyn std::any::Any + Send>>,
}

/// A lease that could not be made or released.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{source_text}: {message}")]
    Spec {
        source_text: String,
        message: String,
    },
    #[error("lab: {0}")]
    Lab(#[from] LabError),
}

/// Leases and releases hosts.
pub trait Provisioner: Send + Sync {
    fn lease(&self) -> BoxFuture<'_, Result<Lease, ProvisionError>>;
    fn release(&self, lease: Lease) -> BoxFuture<'_, Result<(), ProvisionError>>;
}

/// An inventory source used as it is.
pub struct Static(pub String);

impl Provisioner for Static {
    fn lease(&self) -> BoxFuture<'_, Result<Lease, ProvisionError>> {
        Box::pin(async move {
            Ok(Lease {
                id: self.0.clone(),
                sources: vec![self.0.clone()],
                hold: None,
            })
        })
    }

    fn release(&self, _lease: Lease) -> BoxFuture<'_, Result<(), ProvisionError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The embedded lab fleet of `n` hosts.
pub struct LabFleet(pub usize);

impl Provisioner for LabFleet {
    fn lease(&self) -> BoxFuture<'_, Result<Lease, ProvisionError>> {
        Box::pin(async move {
            let lab = Lab::start(self.0).await?;
            Ok(Lease {
                id: format!("lab:{}", self.0),
                sources: vec![lab.inventory_path().display().to_string()],
                hold: Some(Box::new(lab)),
            })
        })
    }

    fn release(&self, mut lease: Lease) -> BoxFuture<'_, Result<(), ProvisionError>> {
        Box::pin(async move {
            drop(lease.hold.take());
            Ok(())
        })
    }
}

/// The provisioner for an `-i` argument: `lab:N`, or the source itself.
pub fn for_source(source: &str) -> Result<Box<dyn Provisioner>, ProvisionError> {
    if let Some(n) = source.strip_prefix("lab:") {
        let n: usize = n.parse().map_err(|_| ProvisionError::Spec {
            source_text: source.to_string(),
            message: "expected lab:N with N a number of hosts, like lab:20".into(),
        })?;
        return Ok(Box::new(LabFleet(n)));
    }
    Ok(Box::new(Static(source.to_string())))
}

/// Every lease of a run; released when dropped if not released before.
#[derive(Default)]
pub struct Leases {
    held: Vec<(Box<dyn Provisioner>, Lease)>,
}

impl Leases {
    /// Leases hosts for each `-i` argument, in order.
    pub async fn acquire(sources: &[String]) -> Result<Leases, ProvisionError> {
        let mut leases = Leases::default();
        for s in sources {
            let p = for_source(s)?;
            let lease = p.lease().await?;
            leases.held.push((p, lease));
        }
        Ok(leases)
    }

    /// The inventory sources of all leases, in order.
    pub fn sources(&self) -> Vec<String> {
        self.held
            .iter()
            .flat_map(|(_, l)| l.sources.iter().cloned())
            .collect()
    }

    /// Releases every lease (each is tried even if one fails).
    pub async fn release(mut self) -> Result<(), ProvisionError> {
        let mut first = None;
        for (p, lease) in std::mem::take(&mut self.held) {
            if let Err(e) = p.release(lease).await {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl Drop for Leases {
    fn drop(&mut self) {
        // Dropping a lease's hold releases what it keeps (the lab's servers and sandboxes).
        for (_, lease) in self.held.iter_mut() {
            drop(lease.hold.take());
        }
    }
}
