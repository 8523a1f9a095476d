//! Call modes across restarts (issue #11), SQLite and PostgreSQL: the daemon's
//! queue dropped and rebuilt from the same database keeps every row and
//! releases calls left in flight; a failed batch writes nothing; statuses set
//! elsewhere (robo-call, decision) are followed, and a follow cut off by a
//! crash is repaired on start.

#[macro_use]
mod support;

use orderline::config::Config;
use orderline::ivr::Outcome;
use orderline::store::{AttemptReport, DialupMove, StoreError};
use serde_json::{json, Value};
use support::api::{order_body, Api, T0};
use support::dialer::*;
use support::store::TestDb;

on_both_backends!(
    restart_keeps_rows_and_releases_in_flight,
    a_failed_batch_writes_nothing,
    robo_call_outcomes_and_decisions_are_followed
);

async fn restart_keeps_rows_and_releases_in_flight(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    for id in ["R1", "R2", "R3"] {
        let (status, _) = api
            .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
            .await;
        assert_eq!(status, 201);
        api.advance_ms(1_000);
        let (status, o) = put_status(&api, id, "processing").await;
        assert_eq!(status, 200, "{o}");
    }
    // a1 takes R1: in flight in memory and in the store.
    let now = T0 + 10_000;
    let pick = dialup
        .pick("a1", at(now))
        .await
        .expect("pick")
        .expect("an order");
    assert_eq!(pick.order_id, "R1");
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 2), ("in_flight", 1)])])
    );
    let before = api.store.dialup_rows().await.expect("rows");
    assert_eq!(
        before
            .iter()
            .filter(|r| r.in_flight_agent.is_some())
            .count(),
        1
    );
    assert!(
        !line(&api, "").await.contains(&"R1".to_string()),
        "in flight is not in line"
    );

    // The daemon dies: its queue is gone; a new one is built from the same DB.
    api.stop().await;
    drop(dialup);
    let store = db.open().await;
    let (dialup, restored) = daemon(&store, now + 5_000).await;
    assert_eq!(restored.rows, 3);
    assert_eq!(restored.released, ["R1"]);
    let after = store.dialup_rows().await.expect("rows");
    assert_eq!(after.len(), before.len(), "no row lost");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.order_id, &b.mode, b.subqueue, b.attempts),
            (&a.order_id, &a.mode, a.subqueue, a.attempts)
        );
        assert_eq!(a.in_flight_agent, None, "{a:?}");
    }
    // R1 is back at the head of the line, once: nothing lost, nothing twice.
    let mut picked = Vec::new();
    while let Some(p) = dialup.pick("a1", at(now + 6_000)).await.expect("pick") {
        picked.push(p.order_id);
    }
    assert_eq!(picked, ["R1", "R2", "R3"]);
    assert_eq!(
        store
            .dialup_rows()
            .await
            .expect("rows")
            .iter()
            .filter(|r| r.in_flight_agent.is_some())
            .count(),
        3
    );
    // And a second restart releases all three, still without an attempt.
    let (_, restored) = daemon(&store, now + 7_000).await;
    assert_eq!(restored.released, ["R1", "R2", "R3"]);
    assert!(store
        .dialup_rows()
        .await
        .expect("rows")
        .iter()
        .all(|r| r.attempts == 0 && r.in_flight_agent.is_none()));
}

/// Status and row are one transaction: a batch that fails on its second
/// order leaves the first order's status, history and row as they were.
async fn a_failed_batch_writes_nothing(db: TestDb) {
    let (api, _dialup) = start(db.open().await).await;
    let (status, _) = api
        .post("/v1/orders", &order_body("A1", r#""1500""#, "new"))
        .await;
    assert_eq!(status, 201);
    let (status, _) = put_status(&api, "A1", "processing").await;
    assert_eq!(status, 200);
    let (_, before) = api.get("/v1/orders/A1").await;
    let rows = api.store.dialup_rows().await.expect("rows");
    assert_eq!(rows.len(), 1);

    let moves = [
        DialupMove {
            order_id: "A1".into(),
            status: Some("shipped".into()),
            row: None,
            upsell_done: None,
        },
        DialupMove {
            order_id: "ghost".into(),
            status: Some("shipped".into()),
            row: None,
            upsell_done: None,
        },
    ];
    let err = api
        .store
        .apply_dialup(&moves, "test", at(T0 + 1_000))
        .await
        .expect_err("ghost is no order");
    assert!(
        matches!(&err, StoreError::OrderNotFound(id) if id == "ghost"),
        "{err:?}"
    );
    let (_, after) = api.get("/v1/orders/A1").await;
    assert_eq!(after, before, "status, dialer and history unchanged");
    assert_eq!(after["status"], "processing");
    assert_eq!(api.store.dialup_rows().await.expect("rows"), rows);
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 1)])])
    );
    api.stop().await;
}

/// Statuses changed outside the dial-up (a robo-call outcome, a decision on
/// a flagged order) move the order's dial-up place; a crash between the two
/// writes is repaired when the queue is rebuilt.
async fn robo_call_outcomes_and_decisions_are_followed(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    for id in ["C1", "C2"] {
        let (status, o) = api
            .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
            .await;
        assert_eq!(
            (status, o["status"].clone()),
            (201, json!("calling")),
            "{o}"
        );
    }
    // The robo-call gets no input, attempt after attempt, until the
    // campaign's fallback flags the orders, recorded as the scheduler does.
    let config = Config::from_toml(CONFIG).expect("config");
    let campaign = config.calling.campaign(&config.campaign).expect("campaign");
    let mut later = T0;
    for _day in 0..30 {
        later += 86_400_000;
        for c in api.store.due_attempts(at(later), 10).await.expect("claim") {
            let next = campaign.after_attempt(&c.rule_state(), Outcome::NoInput, at(later));
            let report = AttemptReport {
                outcome: Outcome::NoInput,
                trunk: None,
                sip_status: Some(200),
                digits: String::new(),
                duration_ms: 1_000,
                error: None,
                operator: None,
            };
            api.store
                .finish_attempt(c.attempt.id, &report, next, at(later))
                .await
                .expect("finish");
        }
    }
    for id in ["C1", "C2"] {
        let (_, o) = api.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(o["status"], "flagged", "{o}");
        assert_eq!(o["dialer"], Value::Null, "not followed yet");
    }
    // The scheduler's hook runs for C1 ...
    dialup.follow("C1", at(later)).await.expect("follow");
    let (_, c1) = api.get("/v1/orders/C1").await;
    assert_eq!(
        c1["dialer"],
        json!({ "mode": "new", "subqueue": "unprocessed" })
    );
    // ... while C2's was cut off by a crash: the rebuild repairs it.
    api.stop().await;
    drop(dialup);
    let store = db.open().await;
    let (dialup, restored) = daemon(&store, later + 1_000).await;
    assert_eq!(restored.followed, ["C2"]);
    let handle = dialup.clone();
    let api = Api::start_with(store, CONFIG, move |s| s.with_dialup(handle)).await;
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 2)])])
    );
    // A decision on a flagged order takes it out of dial-up.
    let (status, d) = api
        .post(
            "/v1/orders/C1/decision",
            r#"{"decision":"confirm","by":"a1"}"#,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["status"].clone(), d["dialer"].clone()),
        (json!("confirmed"), Value::Null)
    );
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 1)])])
    );
    // A second rebuild finds nothing to follow.
    let (_, restored) = daemon(&api.store, later + 2_000).await;
    assert!(restored.followed.is_empty(), "{restored:?}");
    api.stop().await;
}
