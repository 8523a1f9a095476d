//! Dial results flowing back (issue #11), SQLite and PostgreSQL: a picked
//! order's call ends and `Dialup::finish` writes the queue's decision (put-off,
//! cap, disposition status, callback) with the order's status in one
//! transaction; a restart rebuilds the same queue, and a call in flight at
//! `kill -9` comes back to its queue without costing an attempt.

#[macro_use]
mod support;

use orderline::dialup::{Dialup, DialupError};
use orderline_dialer::modes::{DialResult, QueueError, QueueRow, Subqueue};
use support::api::{order_body, Api, T0};
use support::dialer::*;
use support::store::TestDb;

on_both_backends!(
    results_are_durable_and_survive_a_restart,
    a_disposition_moves_the_status_and_the_cap_ends_the_tries
);

const MIN: i64 = 60_000;

/// Post `ids` (a second apart) and tick each into mode `new`.
async fn orders_in_new(api: &Api, ids: &[&str]) {
    for id in ids {
        let (status, o) = api
            .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
            .await;
        assert_eq!(status, 201, "{o}");
        api.advance_ms(1_000);
        let (status, o) = put_status(api, id, "processing").await;
        assert_eq!(status, 200, "{o}");
    }
}

/// The order a1 gets at `ms`, if any.
async fn pick(dialup: &Dialup, ms: i64) -> Option<String> {
    dialup
        .pick("a1", at(ms))
        .await
        .expect("pick")
        .map(|p| p.order_id)
}

async fn row(api: &Api, id: &str) -> Option<QueueRow> {
    api.store
        .dialup_rows()
        .await
        .expect("rows")
        .into_iter()
        .find(|r| r.order_id == id)
}

async fn results_are_durable_and_survive_a_restart(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    orders_in_new(&api, &["F1", "F2", "F3"]).await;
    let t = T0 + 10_000;
    // F1 busy: one attempt, put off by the mode's 30 minutes, in no_answer.
    assert_eq!(pick(&dialup, t).await.as_deref(), Some("F1"));
    dialup
        .finish("F1", DialResult::Busy, at(t))
        .await
        .expect("finish");
    let r = row(&api, "F1").await.expect("still in dial-up");
    assert_eq!(
        (r.subqueue, r.attempts, r.due_at, r.in_flight_agent.clone()),
        (Subqueue::NoAnswer, 1, at(t + 30 * MIN), None)
    );
    // The same call reported twice is refused and writes nothing.
    assert!(matches!(
        dialup.finish("F1", DialResult::NoAnswer, at(t)).await,
        Err(DialupError::Queue(QueueError::NotInFlight(_)))
    ));
    assert_eq!(row(&api, "F1").await.map(|r| r.attempts), Some(1));
    // F2: the customer asks a1 to call back in an hour.
    assert_eq!(pick(&dialup, t).await.as_deref(), Some("F2"));
    dialup
        .finish(
            "F2",
            DialResult::Callback {
                at: at(t + 60 * MIN),
                same_agent: true,
            },
            at(t),
        )
        .await
        .expect("finish");
    let r = row(&api, "F2").await.expect("in dial-up");
    assert_eq!(
        (r.subqueue, r.due_at, r.callback_agent.as_deref()),
        (Subqueue::Callback, at(t + 60 * MIN), Some("a1"))
    );
    // F3 is in flight when the daemon is killed.
    assert_eq!(pick(&dialup, t).await.as_deref(), Some("F3"));
    assert_eq!(
        counts(&api).await,
        count_map(&[(
            "new",
            &[("no_answer", 1), ("callback", 1), ("in_flight", 1)]
        )])
    );
    let before = api.store.dialup_rows().await.expect("rows");
    api.stop().await;
    drop(dialup);

    let store = db.open().await;
    let (dialup, restored) = daemon(&store, t + 1_000).await;
    assert_eq!(restored.released, ["F3"]);
    let after = store.dialup_rows().await.expect("rows");
    assert_eq!(after.len(), 3, "nothing lost");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (
                &b.order_id,
                b.subqueue,
                b.due_at,
                b.attempts,
                &b.callback_agent
            ),
            (
                &a.order_id,
                a.subqueue,
                a.due_at,
                a.attempts,
                &a.callback_agent
            )
        );
    }
    let f3 = after.iter().find(|r| r.order_id == "F3").expect("F3");
    assert_eq!(
        (f3.subqueue, f3.attempts, f3.in_flight_agent.clone()),
        (Subqueue::Unprocessed, 0, None),
        "interrupted, not counted as an attempt"
    );
    // The rebuilt queue hands out F3 now, F2 to a1 at its time, F1 after its put-off.
    assert_eq!(pick(&dialup, t + 2_000).await.as_deref(), Some("F3"));
    assert_eq!(pick(&dialup, t + 2_000).await, None, "nothing else due yet");
    assert_eq!(pick(&dialup, t + 30 * MIN).await.as_deref(), Some("F1"));
    assert_eq!(pick(&dialup, t + 60 * MIN).await.as_deref(), Some("F2"));
}

async fn a_disposition_moves_the_status_and_the_cap_ends_the_tries(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    orders_in_new(&api, &["D1", "D2"]).await;
    let mut t = T0 + 10_000;
    // D1 answered, confirmed by the agent: status confirmed, out of dial-up,
    // the order.confirmed webhook queued in the same transaction.
    assert_eq!(pick(&dialup, t).await.as_deref(), Some("D1"));
    dialup
        .finish("D1", DialResult::Disposition("confirmed".into()), at(t))
        .await
        .expect("finish");
    let (_, o) = api.get("/v1/orders/D1").await;
    assert_eq!(
        (o["status"].as_str(), o["dialer"].is_null()),
        (Some("confirmed"), true),
        "{o}"
    );
    assert!(row(&api, "D1").await.is_none());
    let events = api.store.order_events("D1").await.expect("events");
    assert!(
        events.iter().any(|e| e.event_type == "order.confirmed"),
        "{events:?}"
    );
    // D2 never answers: three attempts (the mode's cap) and it moves to no_contact.
    for attempt in 1..=3u32 {
        let p = dialup.pick("a1", at(t)).await.expect("pick").expect("due");
        assert_eq!((p.order_id.as_str(), p.attempt), ("D2", attempt));
        dialup
            .finish("D2", DialResult::NoAnswer, at(t))
            .await
            .expect("finish");
        t += 30 * MIN;
    }
    let (_, o) = api.get("/v1/orders/D2").await;
    assert_eq!(
        (o["status"].as_str(), o["dialer"].is_null()),
        (Some("no_contact"), true),
        "{o}"
    );
    assert!(row(&api, "D2").await.is_none());
    assert_eq!(
        dialup.pick("a1", at(t + 600 * MIN)).await.expect("pick"),
        None
    );
    // A restart keeps both decisions.
    let (_, restored) = daemon(&api.store, t).await;
    assert_eq!(restored.rows, 0);
    api.stop().await;
}
