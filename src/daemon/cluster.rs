//! A `[cluster]` node's tick (issue #16): every third of a lease it renews
//! the leases of its live calls, heartbeats into `cluster_nodes` (which sets
//! its share of the trunk), and closes as interrupted the live calls of
//! nodes whose leases ran out. If it cannot renew in time it stops itself
//! (the daemon drains: BYE to every call) before another node may take its
//! calls over — the rule [`LeaseKeeper`] keeps.

use orderline_dialer::lease::LeaseKeeper;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::api::SharedCampaign;
use crate::clock::Clock;
use crate::config::ClusterNode;
use crate::ivr::Outcome;
use crate::store::Store;

/// What the tick needs.
pub struct ClusterTick {
    pub store: Store,
    pub node: ClusterNode,
    pub campaign: SharedCampaign,
    pub clock: Clock,
    /// Live nodes, for the scheduler's trunk share.
    pub nodes: watch::Sender<u32>,
    /// Cancelled when this node must stop: its leases are about to run out.
    pub fence: CancellationToken,
}

impl ClusterTick {
    /// Tick until `stop` (or until the node fences itself).
    pub async fn run(self, stop: CancellationToken) {
        let mut keeper = LeaseKeeper::new(self.node.lease, self.clock.now());
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(keeper.tick()) => {}
            }
            // First, before any write: a process that was paused (or whose
            // database was away) past half its lease must not go on.
            let now = self.clock.now();
            if keeper.must_stop(now) {
                tracing::error!(
                    node = %self.node.node,
                    held_until = %keeper.held_until(),
                    "cluster leases not renewed in time: stopping this node's calls so another node can take them over"
                );
                self.fence.cancel();
                return;
            }
            match self.store.renew_leases(now).await {
                Ok(tick) => {
                    keeper.renewed(now);
                    tracing::trace!(renewed = tick.renewed, "cluster leases renewed");
                }
                Err(e) => tracing::error!(error = %e, "cluster leases not renewed; retrying"),
            }
            self.heartbeat(now).await;
            self.close_expired(now).await;
        }
    }

    async fn heartbeat(&self, now: chrono::DateTime<chrono::Utc>) {
        match self.store.heartbeat(now).await {
            Ok(nodes) => {
                self.nodes.send_if_modified(|n| {
                    let changed = *n != nodes;
                    *n = nodes;
                    changed
                });
            }
            Err(e) => tracing::error!(error = %e, "cluster heartbeat not written"),
        }
    }

    /// Dead nodes' live calls: interrupted, re-scheduled per the rules.
    async fn close_expired(&self, now: chrono::DateTime<chrono::Utc>) {
        let rules = self
            .campaign
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match self
            .store
            .reconcile_expired(now, |c| {
                rules.after_attempt(&c.rule_state(), Outcome::Failed, now)
            })
            .await
        {
            Ok(r) if !r.interrupted.is_empty() => tracing::warn!(
                interrupted = r.interrupted.len(),
                rescheduled = r.rescheduled,
                fell_back = r.fell_back,
                "closed live calls of a node whose lease ran out"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "expired leases not reconciled; retrying"),
        }
    }
}
