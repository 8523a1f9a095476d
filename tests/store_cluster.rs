//! The store's side of `[cluster]` (issue #16) on a real PostgreSQL: claims
//! carry the node and a lease; a node's start closes only its own live
//! attempts; renewal extends only leases still running; any node closes
//! the live attempts whose lease ran out; the heartbeat counts live nodes.

#[macro_use]
mod support;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orderline::config::{CallingConfig, CampaignConfig};
use orderline::dialer::{Campaign, CustomerKind, Decision};
use orderline::ivr::Outcome;
use orderline::store::{Inserted, NewOrder, Store};

const LEASE: Duration = Duration::from_secs(30);

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T10:00:00Z")
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn campaign() -> Campaign {
    CallingConfig::default()
        .campaign(&CampaignConfig::default())
        .expect("default campaign")
}

async fn order(store: &Store, id: &str, now: DateTime<Utc>) {
    let o = NewOrder {
        id: id.into(),
        phone: "+923001234567".into(),
        amount: "10".into(),
        currency: "PKR".into(),
        customer_kind: CustomerKind::New,
        items: serde_json::json!([{"sku": "A1", "qty": 1}]),
        locale: None,
        timezone: None,
        project: "default".into(),
        script: Default::default(),
    };
    match store.insert_order(&o, Decision::CallAt(now), now).await {
        Ok(Inserted::Created(_)) => {}
        other => panic!("insert {id}: {other:?}"),
    }
}

/// Claim up to `limit` due attempts; their ids.
async fn claim(store: &Store, now: DateTime<Utc>, limit: u32) -> Vec<i64> {
    let claimed = store.due_attempts(now, limit).await.expect("claim");
    claimed.iter().map(|c| c.attempt.id).collect()
}

async fn interrupted(store: &Store, at: DateTime<Utc>, start: bool) -> Vec<i64> {
    let c = campaign();
    let decide = |claimed: &orderline::store::ClaimedAttempt| {
        c.after_attempt(&claimed.rule_state(), Outcome::Failed, at)
    };
    let rec = if start {
        store.reconcile_live_on_start(at, decide).await
    } else {
        store.reconcile_expired(at, decide).await
    };
    rec.expect("reconcile").interrupted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_decide_who_closes_a_live_attempt() {
    let db = support::store::postgres_db().await;
    let a = db.open().await.in_cluster("a", LEASE);
    let b = db.open().await.in_cluster("b", LEASE);
    let now = t0();
    for id in ["A1", "A2", "B1"] {
        order(&a, id, now).await;
    }
    let by_a = claim(&a, now, 2).await;
    let by_b = claim(&b, now, 5).await;
    assert_eq!(
        (by_a.len(), by_b.len()),
        (2, 1),
        "each attempt claimed once"
    );

    // b restarts: only b's live attempt is closed, a's calls go on.
    let restart = now + TimeDelta::seconds(3);
    assert_eq!(interrupted(&b, restart, true).await, by_b);

    // a renews on time; at the old lease end nothing is expired.
    let renew = now + TimeDelta::seconds(10);
    let tick = a.renew_leases(renew).await.expect("renew");
    assert_eq!(tick.renewed, 2);
    assert!(interrupted(&b, now + TimeDelta::seconds(35), false)
        .await
        .is_empty());

    // a dies: once the renewed lease runs out, b closes a's calls.
    let after = renew + TimeDelta::seconds(31);
    let mut closed = interrupted(&b, after, false).await;
    closed.sort_unstable();
    let mut want = by_a.clone();
    want.sort_unstable();
    assert_eq!(closed, want);
    // a, late, cannot renew or record them any more.
    assert_eq!(a.renew_leases(after).await.expect("renew").renewed, 0);
    let o = a.get_order("A1").await.expect("get").expect("A1");
    assert!(o.attempts[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("interrupted")));
    assert_eq!(o.attempts.len(), 2, "the re-attempt is scheduled");

    // Heartbeats: two nodes alive, then one once a's is older than a lease.
    a.join_cluster(now, 1).await.expect("join a");
    b.join_cluster(now, 2).await.expect("join b");
    assert_eq!(
        b.heartbeat(now + TimeDelta::seconds(10)).await.expect("hb"),
        2
    );
    assert_eq!(
        b.heartbeat(now + TimeDelta::seconds(45)).await.expect("hb"),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_node_start_still_closes_every_live_attempt() {
    let db = support::store::postgres_db().await;
    let store = db.open().await;
    assert_eq!(store.node(), orderline::store::LOCAL_NODE);
    let now = t0();
    order(&store, "S1", now).await;
    let claimed = claim(&store, now, 5).await;
    assert_eq!(claimed.len(), 1);
    let other = db.open().await.in_cluster("x", LEASE);
    // A leased node's start leaves a 'local' row alone; the single node's start closes it.
    assert!(interrupted(&other, now, true).await.is_empty());
    assert_eq!(interrupted(&store, now, true).await, claimed);
}
