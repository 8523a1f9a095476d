//! The upsell call mode (issue #15, "an upsell call mode (`kind =
//! "upsell"`) feeds them to operators like any mode"), SQLite and
//! PostgreSQL: a paid order with an offer is in the mode's line and one
//! without is not; `upsold` takes it out without touching its status, and
//! a restart's re-sync (which ticks every `paid` order again) does not
//! put it back, so the customer is not called twice.

#[macro_use]
mod support;

use orderline::dialup::{Dialup, DialupError};
use orderline::store::Store;
use orderline_dialer::modes::{DialResult, QueueError};
use reqwest::Method;
use serde_json::{json, Value};
use support::api::{order_body, Api, T0};
use support::dialer::{at, daemon_on, line, put_status, start_on};
use support::store::TestDb;

on_both_backends!(
    an_upsell_mode_works_paid_orders_with_an_offer_and_keeps_their_status,
    an_upsell_mode_refuses_a_cap_status_and_the_robo_call_buttons
);

const CONFIG: &str = r#"
[http]
api_tokens = ["t0k-merchant"]

[calling]
window = "09:00-21:00"
timezone = "UTC"

[[agents]]
id = "a1"
name = "Ayesha"
sip_uri = "sip:a1@127.0.0.1:5080"
api_token = "a1-token-0123456789"

[[dialer.modes]]
id = "new"
kind = "new_leads"
agents = ["a1"]

[[dialer.modes]]
id = "upsell"
kind = "upsell"
priority = 5
max_attempts = 2
agents = ["a1"]

[[dialer.statuses]]
name = "processing"
mode = "new"

[[dialer.statuses]]
name = "paid"
mode = "upsell"

[[dialer.statuses]]
name = "shipped"
mode = "upsell"
"#;

async fn daemon(store: &Store, now_ms: i64) -> (Dialup, orderline::daemon::Restored) {
    daemon_on(CONFIG, store, now_ms).await
}

async fn start(store: Store) -> (Api, Dialup) {
    start_on(CONFIG, store).await
}

/// Post order `id` (with `offer` when given) and set it `paid`.
async fn paid(api: &Api, id: &str, offer: Option<&str>) {
    let mut body: Value =
        serde_json::from_str(&order_body(id, r#""2500""#, "returning")).expect("order body");
    if let Some(offer) = offer {
        body["offer"] = json!(offer);
    }
    let (st, o) = api.post("/v1/orders", &body.to_string()).await;
    assert_eq!(st, 201, "{o}");
    api.advance_ms(1_000);
    let (st, o) = put_status(api, id, "paid").await;
    assert_eq!(st, 200, "{o}");
}

async fn status_of(api: &Api, id: &str) -> (String, Value) {
    let (st, o) = api.get(&format!("/v1/orders/{id}")).await;
    assert_eq!(st, 200, "{o}");
    (
        o["status"].as_str().expect("status").to_string(),
        o["dialer"].clone(),
    )
}

async fn an_upsell_mode_works_paid_orders_with_an_offer_and_keeps_their_status(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    paid(&api, "U-1", Some("lawn-suit")).await;
    paid(&api, "U-2", None).await;
    paid(&api, "U-3", Some("lawn-suit")).await;
    assert_eq!(
        line(&api, "?mode=upsell").await,
        ["U-1", "U-3"],
        "U-2 has no offer"
    );
    let (_, overview) = api.get("/v1/dialer/overview").await;
    let kinds: Vec<&str> = overview["modes"]
        .as_array()
        .expect("modes")
        .iter()
        .map(|m| m["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, ["new_leads", "upsell"]);

    // a1 sells U-1: out of the mode, still `paid`, the outcome stored.
    let t = T0 + 10_000;
    let pick = dialup.pick("a1", at(t)).await.expect("pick").expect("due");
    assert_eq!(pick.order_id, "U-1");
    dialup
        .finish("U-1", DialResult::Disposition("upsold".into()), at(t))
        .await
        .expect("upsold");
    assert_eq!(
        status_of(&api, "U-1").await,
        ("paid".to_string(), Value::Null)
    );
    assert_eq!(line(&api, "?mode=upsell").await, ["U-3"]);
    assert_eq!(
        api.store
            .upsell_outcome("U-1")
            .await
            .expect("outcome")
            .as_deref(),
        Some("upsold")
    );
    // The robo-call's buttons are not the upsell mode's: nothing written.
    let pick = dialup.pick("a1", at(t)).await.expect("pick").expect("due");
    assert_eq!(pick.order_id, "U-3");
    assert!(matches!(
        dialup
            .finish("U-3", DialResult::Disposition("confirmed".into()), at(t))
            .await,
        Err(DialupError::Queue(QueueError::DispositionNotInMode { .. }))
    ));
    assert_eq!(status_of(&api, "U-3").await.0, "paid");
    // Shipped later: U-1 stays out (its upsell call ended), U-3 keeps its place.
    for id in ["U-1", "U-3"] {
        let (st, o) = put_status(&api, id, "shipped").await;
        assert_eq!(st, 200, "{o}");
    }
    assert_eq!(status_of(&api, "U-1").await.1, Value::Null);
    api.stop().await;
    drop(dialup);

    // A restart follows every `paid`/`shipped` order again: U-1 stays out,
    // U-3 (in flight at the stop) comes back to the line.
    let store = db.open().await;
    let (dialup, restored) = daemon(&store, t + 1_000).await;
    assert_eq!(restored.released, ["U-3"]);
    assert!(restored.followed.is_empty(), "{restored:?}");
    let rows: Vec<String> = store
        .dialup_rows()
        .await
        .expect("rows")
        .into_iter()
        .map(|r| r.order_id)
        .collect();
    assert_eq!(rows, ["U-3"]);
    // `declined` ends U-3's upsell call the same way.
    let pick = dialup
        .pick("a1", at(t + 2_000))
        .await
        .expect("pick")
        .expect("due");
    assert_eq!(pick.order_id, "U-3");
    dialup
        .finish(
            "U-3",
            DialResult::Disposition("declined".into()),
            at(t + 2_000),
        )
        .await
        .expect("declined");
    assert!(store.dialup_rows().await.expect("rows").is_empty());
    assert_eq!(
        store
            .upsell_outcome("U-3")
            .await
            .expect("outcome")
            .as_deref(),
        Some("declined")
    );
}

async fn an_upsell_mode_refuses_a_cap_status_and_the_robo_call_buttons(db: TestDb) {
    let (api, _dialup) = start(db.open().await).await;
    let (st, m) = api.get("/v1/dialer/modes/upsell").await;
    assert_eq!(st, 200, "{m}");
    assert_eq!(m["kind"], "upsell");
    assert_eq!(m["settings"]["status_after_max"], Value::Null);
    assert_eq!(
        m["settings"]["dispositions"],
        json!(["upsold", "declined", "callback", "no_answer"])
    );
    for (body, field, code) in [
        (
            json!({ "status_after_max": "flagged" }),
            "status_after_max",
            409,
        ),
        // Not an upsell list nor the robo-call's: a bad value.
        (
            json!({ "dispositions": ["upsold", "declined", "callback", "no_answer", "confirmed"] }),
            "dispositions",
            422,
        ),
        // The robo-call's buttons: sound, but not this kind of mode's.
        (
            json!({ "dispositions": ["confirmed", "cancelled", "callback", "no_answer"] }),
            "dispositions",
            409,
        ),
    ] {
        let (st, err) = api
            .send(
                Method::PUT,
                "/v1/dialer/modes/upsell",
                Some(&body.to_string()),
            )
            .await;
        assert_eq!(st, code, "{body}: {err}");
        assert_eq!(err["field"], field, "{err}");
    }
    // A pre-sale status cannot tick into an upsell mode.
    let (st, err) = api
        .send(
            Method::PUT,
            "/v1/dialer/statuses/processing",
            Some(&json!({ "project": "default", "mode": "upsell" }).to_string()),
        )
        .await;
    assert_eq!((st, err["field"].as_str()), (409, Some("mode")), "{err}");
    let (st, err) = api
        .send(
            Method::PUT,
            "/v1/dialer/statuses/delivered",
            Some(&json!({ "project": "default", "mode": "upsell" }).to_string()),
        )
        .await;
    assert_eq!(st, 200, "{err}");
}
