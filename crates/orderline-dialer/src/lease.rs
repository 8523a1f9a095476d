//! A cluster node's leases and its share of a trunk (issue #16), sans-IO.
//!
//! A node owns a live attempt while the lease it wrote lasts; another node
//! closes the row as interrupted once the lease has run out. The owner must
//! therefore stop working its calls *before* its last written lease ends, or
//! two nodes could believe they hold one customer's call. [`LeaseKeeper`]
//! says when: once half a lease is all that is left of the last renewal
//! (renewals run every third of a lease, so that is two missed renewals).
//!
//! Trunk limits are the carrier's, for the whole cluster: each of `n` live
//! nodes takes `floor(max_channels / n)` channels (at least 1) and
//! `max_cps / n` call starts a second, so the sum never exceeds the trunk's.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// What a node knows about the leases it holds.
#[derive(Debug, Clone)]
pub struct LeaseKeeper {
    lease: Duration,
    /// The end of the leases written by the last successful renewal (or
    /// the start, whose claims were all renewed or closed).
    held_until: DateTime<Utc>,
}

impl LeaseKeeper {
    /// A node that starts at `now` with leases of `lease`.
    pub fn new(lease: Duration, now: DateTime<Utc>) -> LeaseKeeper {
        LeaseKeeper {
            lease,
            held_until: now + delta(lease),
        }
    }

    /// How often to renew: a third of the lease.
    pub fn tick(&self) -> Duration {
        self.lease / 3
    }

    /// A renewal at `now` succeeded: every live row of this node now holds
    /// until `now + lease`.
    pub fn renewed(&mut self, now: DateTime<Utc>) {
        self.held_until = self.held_until.max(now + delta(self.lease));
    }

    /// Whether the node must stop its calls now: less than half a lease is
    /// left of what it last wrote, so another node may soon take them over.
    pub fn must_stop(&self, now: DateTime<Utc>) -> bool {
        now + delta(self.lease / 2) >= self.held_until
    }

    /// When the leases held run out.
    pub fn held_until(&self) -> DateTime<Utc> {
        self.held_until
    }
}

/// One node's share of a trunk's limits when `nodes` are alive.
pub fn node_share(
    max_channels: Option<u32>,
    max_cps: Option<f64>,
    nodes: u32,
) -> (Option<u32>, Option<f64>) {
    let n = nodes.max(1);
    (
        max_channels.map(|c| (c / n).max(1)),
        max_cps.map(|c| c / f64::from(n)),
    )
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).expect("time")
    }

    #[test]
    fn renewing_on_time_never_stops() {
        let mut k = LeaseKeeper::new(Duration::from_secs(30), t(0));
        assert_eq!(k.tick(), Duration::from_secs(10));
        for i in 1..100 {
            assert!(!k.must_stop(t(i * 10)), "tick {i}");
            k.renewed(t(i * 10));
        }
    }

    #[test]
    fn two_missed_renewals_stop_the_node_before_its_lease_ends() {
        let mut k = LeaseKeeper::new(Duration::from_secs(30), t(0));
        k.renewed(t(10));
        assert!(!k.must_stop(t(20)), "one missed renewal is tolerated");
        assert!(k.must_stop(t(30)), "two missed: 10 s left of 30");
        assert!(k.must_stop(t(39)));
        assert_eq!(k.held_until(), t(40));
    }

    #[test]
    fn a_paused_process_stops_when_it_wakes() {
        let k = LeaseKeeper::new(Duration::from_secs(5), t(0));
        assert!(k.must_stop(t(60)));
    }

    #[test]
    fn shares_never_add_up_past_the_trunk() {
        assert_eq!(node_share(Some(20), Some(10.0), 1), (Some(20), Some(10.0)));
        assert_eq!(node_share(Some(20), Some(10.0), 2), (Some(10), Some(5.0)));
        assert_eq!(node_share(Some(20), Some(9.0), 3), (Some(6), Some(3.0)));
        assert_eq!(node_share(Some(2), None, 3), (Some(1), None));
        assert_eq!(node_share(None, None, 0), (None, None));
    }
}
