//! Several `orderline serve` nodes on one PostgreSQL (issue #16): who owns a
//! live attempt, for how long, and which nodes are alive.
//!
//! A node claims an attempt with its name and a lease ([`Store::due_attempts`]),
//! renews the leases of its live calls on a tick ([`Store::renew_leases`]),
//! and heartbeats into `cluster_nodes` ([`Store::heartbeat`]). A live row
//! whose lease ran out belongs to a node that is gone: any node closes it as
//! interrupted ([`Store::reconcile_expired`]). The owner never works a row
//! past its lease — it stops itself before the lease it last wrote ends
//! (`daemon::cluster`) — so lease expiry is the proof nobody is on the call.
//!
//! Outside a cluster the store claims as node [`LOCAL_NODE`] with no lease,
//! and a start closes every live row, exactly as a single process always did.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::error::QueryContext;
use super::model::ms;
use super::{Reconciled, Store, StoreError};
use crate::dialer::Next;
use crate::store::ClaimedAttempt;

/// The node name of a store outside a `[cluster]`.
pub const LOCAL_NODE: &str = "local";

/// Who claims through a [`Store`] handle.
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) name: Arc<str>,
    /// `None` outside a cluster: claims carry no lease.
    pub(super) lease: Option<Duration>,
}

impl Node {
    pub(super) fn local() -> Node {
        Node {
            name: LOCAL_NODE.into(),
            lease: None,
        }
    }
}

/// Which live attempts a reconcile closes.
#[derive(Debug, Clone, Copy)]
pub(super) enum LiveScope {
    /// Every live row (a single node's start: everything live was its own).
    All,
    /// This node's rows (a cluster node's start: its old process is gone).
    Mine,
    /// Anyone's rows whose lease ran out (their owner died), and rows with no
    /// lease at all (left by a process from before the cluster).
    Expired,
}

/// What one lease tick found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseTick {
    /// This node's live attempts whose leases were extended.
    pub renewed: u64,
    /// The new end of those leases.
    pub until: Option<DateTime<Utc>>,
}

impl Store {
    /// This handle claims attempts and webhook events as `node`, each for
    /// `lease` (a `[cluster]` member, issue #16).
    pub fn in_cluster(mut self, node: &str, lease: Duration) -> Store {
        self.node = Node {
            name: node.into(),
            lease: Some(lease),
        };
        self
    }

    /// The node this handle claims as ([`LOCAL_NODE`] outside a cluster).
    pub fn node(&self) -> &str {
        &self.node.name
    }

    /// The lease a claim made at `now` holds until (Unix ms), if leased.
    pub(super) fn lease_end(&self, now: DateTime<Utc>) -> Option<i64> {
        self.node.lease.map(|l| ms(now + delta(l)))
    }

    /// Which live rows a start closes: all of them, or in a cluster only
    /// this node's (the others' are theirs while their leases last).
    pub(super) fn start_scope(&self) -> LiveScope {
        if self.node.lease.is_some() {
            LiveScope::Mine
        } else {
            LiveScope::All
        }
    }

    /// Announce this node at start (`pid` for the operator reading the table).
    /// Returns the pid another process announced under the same name while
    /// its heartbeat is still fresh: two processes must not share a name.
    pub async fn join_cluster(
        &self,
        now: DateTime<Utc>,
        pid: u32,
    ) -> Result<Option<i64>, StoreError> {
        let fresh = ms(now - delta(self.node.lease.unwrap_or_default()));
        let other: Option<i64> = sqlx::query_scalar(
            "SELECT pid FROM cluster_nodes WHERE node = $1 AND heartbeat_at >= $2 AND pid <> $3",
        )
        .bind(self.node())
        .bind(fresh)
        .bind(i64::from(pid))
        .fetch_optional(&self.pool)
        .await
        .during("look for a node of the same name")?;
        sqlx::query(
            "INSERT INTO cluster_nodes (node, started_at, heartbeat_at, pid) VALUES ($1, $2, $2, $3) \
             ON CONFLICT (node) DO UPDATE SET started_at = $2, heartbeat_at = $2, pid = $3",
        )
        .bind(self.node())
        .bind(ms(now))
        .bind(i64::from(pid))
        .execute(&self.pool)
        .await
        .during("join the cluster")?;
        Ok(other)
    }

    /// Record that this node is alive at `now` and count the nodes alive:
    /// those whose heartbeat is younger than one lease (this one included).
    pub async fn heartbeat(&self, now: DateTime<Utc>) -> Result<u32, StoreError> {
        sqlx::query("UPDATE cluster_nodes SET heartbeat_at = $1 WHERE node = $2")
            .bind(ms(now))
            .bind(self.node())
            .execute(&self.pool)
            .await
            .during("cluster heartbeat")?;
        let fresh = ms(now - delta(self.node.lease.unwrap_or_default()));
        let live: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM cluster_nodes WHERE heartbeat_at >= $1")
                .bind(fresh)
                .fetch_one(&self.pool)
                .await
                .during("count live nodes")?;
        Ok(u32::try_from(live).unwrap_or(u32::MAX).max(1))
    }

    /// Extend the leases of this node's live attempts to `now + lease`.
    ///
    /// Only leases still running are extended: a row whose lease already
    /// ran out may have been closed by another node, or will be, and its
    /// call must not go on (the caller stops itself before that happens).
    pub async fn renew_leases(&self, now: DateTime<Utc>) -> Result<LeaseTick, StoreError> {
        let Some(until) = self.lease_end(now) else {
            return Ok(LeaseTick::default());
        };
        let renewed = sqlx::query(
            "UPDATE call_attempts SET lease_until = $1 \
             WHERE state = 'live' AND node = $2 AND lease_until >= $3",
        )
        .bind(until)
        .bind(self.node())
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .during("renew attempt leases")?
        .rows_affected();
        Ok(LeaseTick {
            renewed,
            until: DateTime::from_timestamp_millis(until),
        })
    }

    /// Close as interrupted every live attempt whose lease ran out by `now`
    /// (its node died) and apply what `decide` says follows, as
    /// [`Store::reconcile_live_on_start`] does for a restart.
    pub async fn reconcile_expired(
        &self,
        now: DateTime<Utc>,
        decide: impl Fn(&ClaimedAttempt) -> Next,
    ) -> Result<Reconciled, StoreError> {
        self.reconcile_live(LiveScope::Expired, now, decide).await
    }
}

/// The `WHERE` condition (after `state = 'live'`) of a scope; `$4` is this
/// node, `$1` now.
pub(super) fn scope_condition(scope: LiveScope) -> &'static str {
    match scope {
        LiveScope::All => "",
        LiveScope::Mine => " AND node = $4",
        LiveScope::Expired => " AND (lease_until IS NULL OR lease_until < $1)",
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX / 2)
}
