//! Configured statuses (issue #11), SQLite and PostgreSQL: `GET
//! /v1/orders?status=` (and the CSV export) filter by a configured status,
//! and every move into one queues the `order.status_changed` webhook in the
//! outbox with the old and new status and the mode.

#[macro_use]
mod support;

use orderline_dialer::modes::DialResult;
use serde_json::{json, Value};
use support::api::{order_body, Api, T0};
use support::dialer::*;
use support::store::TestDb;

on_both_backends!(configured_statuses_filter_and_fire_webhooks);

async fn ids(api: &Api, query: &str) -> Vec<String> {
    let (code, page) = api.get(&format!("/v1/orders?{query}")).await;
    assert_eq!(code, 200, "{query}: {page}");
    page["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["id"].as_str().expect("id").to_string())
        .collect()
}

async fn status_changes(api: &Api, id: &str) -> Vec<Value> {
    api.store
        .order_events(id)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.event_type == "order.status_changed")
        .map(|e| e.payload)
        .collect()
}

async fn configured_statuses_filter_and_fire_webhooks(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    for (id, status) in [("P1", "processing"), ("P2", "shipped"), ("P3", "")] {
        let (code, o) = api
            .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
            .await;
        assert_eq!(code, 201, "{o}");
        api.advance_ms(1_000);
        if !status.is_empty() {
            let (code, o) = put_status(&api, id, status).await;
            assert_eq!(code, 200, "{o}");
        }
    }
    // Filters: configured statuses by name; built-in ones exclude orders
    // shown with a configured status.
    assert_eq!(ids(&api, "status=processing").await, ["P1"]);
    assert_eq!(ids(&api, "status=shipped").await, ["P2"]);
    assert_eq!(ids(&api, "status=calling").await, ["P3"]);
    assert_eq!(ids(&api, "status=no_contact").await, Vec::<String>::new());
    let (code, err) = api.get("/v1/orders?status=teleported").await;
    assert_eq!(
        (code, err["field"].clone()),
        (400, json!("status")),
        "{err}"
    );
    let csv = reqwest::Client::new()
        .get(api.url("/v1/orders.csv?status=processing"))
        .bearer_auth(support::api::TOKEN)
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.status().as_u16(), 200);
    let text = csv.text().await.expect("csv text");
    assert!(text.contains("P1") && !text.contains("P2"), "{text}");

    // Webhooks: old and new status, and the mode (null when out of dial-up).
    let p1 = status_changes(&api, "P1").await;
    assert_eq!(p1.len(), 1, "{p1:?}");
    assert_eq!(
        (
            p1[0]["previous_status"].clone(),
            p1[0]["status"].clone(),
            p1[0]["mode"].clone()
        ),
        (json!("calling"), json!("processing"), json!("new"))
    );
    let p2 = status_changes(&api, "P2").await;
    assert_eq!(
        (
            p2[0]["previous_status"].clone(),
            p2[0]["status"].clone(),
            p2[0]["mode"].clone()
        ),
        (json!("calling"), json!("shipped"), Value::Null)
    );
    assert!(
        status_changes(&api, "P3").await.is_empty(),
        "no move, no event"
    );
    // The same status again is no change: no second event.
    put_status(&api, "P1", "processing").await;
    assert_eq!(status_changes(&api, "P1").await.len(), 1);

    // The dialer's own moves fire it too: P1 reaches the cap (3) → no_contact.
    let mut t = T0 + 10_000;
    for _ in 0..3 {
        let p = dialup.pick("a1", at(t)).await.expect("pick").expect("due");
        assert_eq!(p.order_id, "P1");
        dialup
            .finish("P1", DialResult::NoAnswer, at(t))
            .await
            .expect("finish");
        t += 30 * 60_000;
    }
    let p1 = status_changes(&api, "P1").await;
    assert_eq!(p1.len(), 2, "{p1:?}");
    assert_eq!(
        (
            p1[1]["previous_status"].clone(),
            p1[1]["status"].clone(),
            p1[1]["mode"].clone()
        ),
        (json!("processing"), json!("no_contact"), Value::Null)
    );
    assert_eq!(ids(&api, "status=no_contact").await, ["P1"]);
    api.stop().await;
}
