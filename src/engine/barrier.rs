//! `barrier: true` in the free strategy: a host that reaches the task waits until every
//! *active* host of the batch arrived. A host that failed, became unreachable or finished
//! its tasks leaves the active set, so one dead host never stalls the others. With
//! `run_once`, the first host (in play order) runs the task and the others take its result.
//!
//! (The linear strategy needs none of this: its dispatcher runs a barrier task only once
//! every live host is at it.)

use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A task as the cursor identifies it (its list and index).
pub type TaskKey = (usize, usize);

/// One barrier instance: the task and how many times the host met it before.
pub type BarrierId = (TaskKey, u32);

/// A host let through a barrier.
pub struct Arrival {
    pub id: BarrierId,
    /// This host runs a `run_once` task for everyone.
    pub leader: bool,
}

#[derive(Default)]
struct Wait {
    arrived: Vec<String>,
    released: bool,
    leader: Option<String>,
    done: bool,
    /// Facts the leader's run set (registered results), for the others.
    shared: Vec<(String, Value)>,
}

#[derive(Default)]
struct Inner {
    /// The batch's hosts in play order, and which of them still count.
    order: Vec<String>,
    active: Vec<String>,
    visits: HashMap<(String, TaskKey), u32>,
    waits: HashMap<BarrierId, Wait>,
}

pub struct Barriers {
    inner: Mutex<Inner>,
    changed: watch::Sender<u64>,
}

impl Barriers {
    pub fn new(hosts: &[String]) -> Barriers {
        let b = Barriers {
            inner: Mutex::new(Inner::default()),
            changed: watch::channel(0).0,
        };
        b.reset(hosts);
        b
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn bump(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// A new batch: these hosts count.
    pub fn reset(&self, hosts: &[String]) {
        {
            let mut i = self.lock();
            i.order = hosts.to_vec();
            i.active = hosts.to_vec();
            i.visits.clear();
            i.waits.clear();
        }
        self.bump();
    }

    /// The host no longer counts (failed, unreachable, or out of tasks).
    pub fn leave(&self, host: &str) {
        self.lock().active.retain(|h| h != host);
        self.bump();
    }

    /// Arrives at the barrier of `key` and waits until every active host did; `None` if
    /// the run stopped meanwhile.
    pub async fn arrive(
        &self,
        key: TaskKey,
        host: &str,
        cancel: &CancellationToken,
    ) -> Option<Arrival> {
        let mut rx = self.changed.subscribe();
        let id = {
            let mut i = self.lock();
            let visit = i.visits.entry((host.to_string(), key)).or_insert(0);
            *visit += 1;
            let id = (key, *visit);
            i.waits
                .entry(id)
                .or_default()
                .arrived
                .push(host.to_string());
            id
        };
        self.bump();
        loop {
            {
                let mut guard = self.lock();
                let i = &mut *guard;
                let w = i.waits.entry(id).or_default();
                if !w.released && i.active.iter().all(|h| w.arrived.contains(h)) {
                    w.released = true;
                    w.leader = i
                        .order
                        .iter()
                        .find(|h| w.arrived.contains(h) && i.active.contains(h))
                        .cloned()
                        .or_else(|| Some(host.to_string()));
                }
                if w.released {
                    let leader = w.leader.as_deref() == Some(host);
                    drop(guard);
                    self.bump();
                    return Some(Arrival { id, leader });
                }
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return None },
                _ = cancel.cancelled() => return None,
            }
        }
    }

    /// The leader ran the `run_once` task: the others may go on with these facts.
    pub fn finish(&self, id: BarrierId, shared: Vec<(String, Value)>) {
        {
            let mut i = self.lock();
            let w = i.waits.entry(id).or_default();
            w.done = true;
            w.shared = shared;
        }
        self.bump();
    }

    /// Waits for the leader's run; its facts (empty if the leader went down first).
    pub async fn wait_done(
        &self,
        id: BarrierId,
        cancel: &CancellationToken,
    ) -> Option<Vec<(String, Value)>> {
        let mut rx = self.changed.subscribe();
        loop {
            {
                let i = self.lock();
                if let Some(w) = i.waits.get(&id) {
                    if w.done {
                        return Some(w.shared.clone());
                    }
                    let leader_gone = w.leader.as_ref().is_none_or(|l| !i.active.contains(l));
                    if leader_gone {
                        return Some(vec![]);
                    }
                } else {
                    return Some(vec![]);
                }
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return None },
                _ = cancel.cancelled() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    fn hosts(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("h{i}")).collect()
    }

    #[tokio::test]
    async fn releases_when_all_active_hosts_arrived() {
        let b = Arc::new(Barriers::new(&hosts(3)));
        let cancel = CancellationToken::new();
        let mut waiting = Vec::new();
        for h in ["h2", "h3"] {
            let (b, c) = (b.clone(), cancel.clone());
            waiting.push(tokio::spawn(async move {
                b.arrive((1, 0), h, &c).await.map(|a| a.leader)
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            waiting.iter().all(|w| !w.is_finished()),
            "released too early"
        );
        let me = b.arrive((1, 0), "h1", &cancel).await.map(|a| a.leader);
        assert_eq!(me, Some(true), "h1 is first in play order: the leader");
        for w in waiting {
            assert_eq!(w.await.ok().flatten(), Some(false));
        }
    }

    #[tokio::test]
    async fn a_host_leaving_releases_the_others() {
        let b = Arc::new(Barriers::new(&hosts(3)));
        let cancel = CancellationToken::new();
        let mut waiting = Vec::new();
        for h in ["h1", "h2"] {
            let (b, c) = (b.clone(), cancel.clone());
            waiting.push(tokio::spawn(async move {
                b.arrive((1, 0), h, &c).await.is_some()
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(waiting.iter().all(|w| !w.is_finished()));
        b.leave("h3");
        for w in waiting {
            assert_eq!(
                tokio::time::timeout(Duration::from_secs(5), w)
                    .await
                    .ok()
                    .and_then(Result::ok),
                Some(true)
            );
        }
    }

    #[tokio::test]
    async fn followers_get_the_leaders_facts() {
        let b = Arc::new(Barriers::new(&hosts(2)));
        let cancel = CancellationToken::new();
        let (b2, c2) = (b.clone(), cancel.clone());
        let follower = tokio::spawn(async move {
            let a = b2.arrive((7, 1), "h2", &c2).await?;
            b2.wait_done(a.id, &c2).await
        });
        let a = b.arrive((7, 1), "h1", &cancel).await.expect("released");
        assert!(a.leader);
        b.finish(a.id, vec![("out".into(), Value::from(1))]);
        let got = follower.await.ok().flatten();
        assert_eq!(got, Some(vec![("out".to_string(), Value::from(1))]));
    }

    #[tokio::test]
    async fn cancel_stops_the_wait() {
        let b = Barriers::new(&hosts(2));
        let cancel = CancellationToken::new();
        cancel.cancel();
        assert!(b.arrive((1, 0), "h1", &cancel).await.is_none());
    }
}
