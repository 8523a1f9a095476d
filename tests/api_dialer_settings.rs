//! Call-mode rules changed over HTTP (issue #11), SQLite and PostgreSQL:
//! `PUT /v1/dialer/modes/{id}` validated as the config is (a 422 naming the
//! field), applied to the live queue, kept across a restart (migration 0007);
//! `PUT /v1/dialer/statuses/{name}` ticks a status into a mode and orders
//! already in it follow; both in `/openapi.json`.

#[macro_use]
mod support;

use orderline_dialer::modes::{DialResult, Subqueue};
use reqwest::Method;
use serde_json::{json, Value};
use support::api::{order_body, Api, T0};
use support::dialer::*;
use support::store::TestDb;

on_both_backends!(
    mode_settings_are_checked_applied_and_kept,
    status_ticks_move_orders_and_are_kept
);

const MIN: i64 = 60_000;

async fn put(api: &Api, path: &str, body: Value) -> (u16, Value) {
    api.send(Method::PUT, path, Some(&body.to_string())).await
}

async fn new_order(api: &Api, id: &str, status: &str) {
    let (code, o) = api
        .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
        .await;
    assert_eq!(code, 201, "{o}");
    api.advance_ms(1_000);
    let (code, o) = put_status(api, id, status).await;
    assert_eq!(code, 200, "{o}");
}

async fn mode_settings_are_checked_applied_and_kept(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    // Refusals name the field, exactly as the config's keys.
    for (body, field) in [
        (json!({ "put_off": "forever" }), "put_off"),
        (json!({ "put_off": "31 days" }), "put_off"),
        (json!({ "max_attempts": 0 }), "max_attempts"),
        (json!({ "max_attempts": "3" }), "max_attempts"),
        (json!({ "priority": "high" }), "priority"),
        (json!({ "random_share": 0.5 }), "random_share"),
        (json!({ "status_after_max": "nowhere" }), "status_after_max"),
        (json!({ "status_after_max": "flagged" }), "status_after_max"),
        (json!({ "dispositions": ["confirmed"] }), "dispositions"),
        (json!({ "window": "25:00-26:00" }), "window"),
        (json!({ "pacing": "turbo" }), "pacing"),
        (json!({ "bogus": 1 }), "bogus"),
        (json!({}), "body"),
    ] {
        let (code, err) = put(&api, "/v1/dialer/modes/new", body.clone()).await;
        // A value the mode's own setup cannot take is a conflict (409): a
        // share on a mode not of kind random, a cap status ticked back in.
        let conflict = body == json!({ "random_share": 0.5 })
            || body == json!({ "status_after_max": "flagged" });
        assert_eq!(code, if conflict { 409 } else { 422 }, "{body}: {err}");
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    let (code, _) = put(&api, "/v1/dialer/modes/nope", json!({ "priority": 1 })).await;
    assert_eq!(code, 404);
    // Nothing was changed by the refusals.
    let (_, m) = api.get("/v1/dialer/modes/new").await;
    assert_eq!(m["settings"]["put_off"], "30m", "{m}");

    // A valid change is applied and echoed.
    let (code, m) = put(
        &api,
        "/v1/dialer/modes/new",
        json!({ "put_off": "45m", "priority": 20, "pacing": "preview" }),
    )
    .await;
    assert_eq!(code, 200, "{m}");
    let s = &m["settings"];
    assert_eq!(
        (
            s["put_off"].clone(),
            s["put_off_minutes"].clone(),
            s["priority"].clone(),
            s["pacing"].clone()
        ),
        (json!("45m"), json!(45.0), json!(20), json!("preview"))
    );
    assert_eq!(
        s["max_attempts"], 3,
        "untouched keys keep the config's value"
    );
    // Minutes as a number work too (a form's value).
    let (code, m) = put(&api, "/v1/dialer/modes/new", json!({ "standard_time": 5 })).await;
    assert_eq!(
        (code, m["settings"]["standard_time"].clone()),
        (200, json!("5m")),
        "{m}"
    );

    // The live queue uses it: an unanswered call is put off by 45 minutes.
    new_order(&api, "S1", "processing").await;
    new_order(&api, "S2", "processing").await;
    let t = T0 + 10_000;
    let p = dialup.pick("a1", at(t)).await.expect("pick").expect("due");
    assert_eq!(p.order_id, "S1");
    dialup
        .finish("S1", DialResult::NoAnswer, at(t))
        .await
        .expect("finish");
    let (_, q) = api.get("/v1/dialer/queue?subqueue=no_answer").await;
    assert_eq!(q["orders"][0]["order_id"], "S1", "{q}");
    let row = api.store.dialup_rows().await.expect("rows");
    let s1 = row.iter().find(|r| r.order_id == "S1").expect("S1");
    assert_eq!(
        (s1.subqueue, s1.due_at),
        (Subqueue::NoAnswer, at(t + 45 * MIN))
    );

    // Lowering the cap to the attempts S1 has made moves it to status_after_max at once.
    let (code, m) = put(&api, "/v1/dialer/modes/new", json!({ "max_attempts": 1 })).await;
    assert_eq!(code, 200, "{m}");
    let (_, o) = api.get("/v1/orders/S1").await;
    assert_eq!(
        (o["status"].clone(), o["dialer"].clone()),
        (json!("no_contact"), Value::Null),
        "{o}"
    );
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 1)])])
    );

    // A restart on the same database keeps every change.
    api.stop().await;
    drop(dialup);
    let store = db.open().await;
    let (dialup, _) = daemon(&store, t + 1_000).await;
    let handle = dialup.clone();
    let api = Api::start_with(store, CONFIG, move |s| s.with_dialup(handle)).await;
    let (_, m) = api.get("/v1/dialer/modes/new").await;
    let s = &m["settings"];
    assert_eq!(
        (
            s["put_off"].clone(),
            s["priority"].clone(),
            s["pacing"].clone(),
            s["standard_time"].clone(),
            s["max_attempts"].clone()
        ),
        (
            json!("45m"),
            json!(20),
            json!("preview"),
            json!("5m"),
            json!(1)
        ),
        "{m}"
    );
    assert_eq!(dialup.rules().mode(0).max_attempts, 1);
    // The other modes kept the config's values.
    let (_, other) = api.get("/v1/dialer/modes/shop2_new").await;
    assert_eq!(other["settings"]["put_off"], "30m");

    // And /openapi.json describes the routes.
    let (_, doc) = api.get("/openapi.json").await;
    assert!(
        doc["paths"]["/v1/dialer/modes/{id}"]["put"].is_object(),
        "PUT mode"
    );
    assert!(
        doc["paths"]["/v1/dialer/statuses/{name}"]["put"].is_object(),
        "PUT tick"
    );
    assert!(
        doc["components"]["schemas"]["ModeSettingsUpdate"]["properties"]["put_off"].is_object()
    );
    api.stop().await;
}

async fn status_ticks_move_orders_and_are_kept(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    new_order(&api, "K1", "shipped").await;
    new_order(&api, "K2", "processing").await;
    let (_, o) = api.get("/v1/orders/K1").await;
    assert_eq!(o["dialer"], Value::Null, "shipped carries no tick yet");
    // Tick shipped into pickup: K1, already shipped, joins pickup now.
    let (code, st) = put(
        &api,
        "/v1/dialer/statuses/shipped",
        json!({ "mode": "pickup" }),
    )
    .await;
    assert_eq!(code, 200, "{st}");
    let shipped = st["statuses"]
        .as_array()
        .expect("list")
        .iter()
        .find(|s| s["name"] == "shipped")
        .expect("shipped")
        .clone();
    assert_eq!(
        shipped["ticks"],
        json!([{ "project": "default", "mode": "pickup" }])
    );
    let (_, o) = api.get("/v1/orders/K1").await;
    assert_eq!(
        o["dialer"],
        json!({ "mode": "pickup", "subqueue": "unprocessed" }),
        "{o}"
    );
    // Refusals name the field; unknown statuses are 404.
    for (path, body, field) in [
        (
            "/v1/dialer/statuses/shipped",
            json!({ "mode": "zzz" }),
            "mode",
        ),
        ("/v1/dialer/statuses/shipped", json!({ "mode": 3 }), "mode"),
        ("/v1/dialer/statuses/shipped", json!({}), "mode"),
        (
            "/v1/dialer/statuses/shipped",
            json!({ "mode": "new", "project": "shop2" }),
            "project",
        ),
        (
            "/v1/dialer/statuses/no_contact",
            json!({ "mode": "new" }),
            "mode",
        ),
    ] {
        let (code, err) = put(&api, path, body.clone()).await;
        // Ticking a mode's own cap status back into it conflicts with the mode (409).
        let conflict = path.ends_with("/no_contact");
        assert_eq!(
            code,
            if conflict { 409 } else { 422 },
            "{path} {body}: {err}"
        );
        assert_eq!(err["field"], field, "{path} {body}: {err}");
    }
    let (code, _) = put(
        &api,
        "/v1/dialer/statuses/teleported",
        json!({ "mode": null }),
    )
    .await;
    assert_eq!(code, 404);
    // Clearing processing's tick for project default takes K2 out.
    let (code, _) = put(
        &api,
        "/v1/dialer/statuses/processing",
        json!({ "mode": null }),
    )
    .await;
    assert_eq!(code, 200);
    let (_, o) = api.get("/v1/orders/K2").await;
    assert_eq!(
        (o["status"].clone(), o["dialer"].clone()),
        (json!("processing"), Value::Null)
    );
    assert_eq!(
        counts(&api).await,
        count_map(&[("pickup", &[("unprocessed", 1)])])
    );
    // A new order entering processing stays out; shop2's tick is untouched.
    new_order(&api, "K3", "processing").await;
    assert_eq!(
        counts(&api).await,
        count_map(&[("pickup", &[("unprocessed", 1)])])
    );
    // Restart: the ticks are kept (K3 is not pulled in, K1 stays in pickup).
    api.stop().await;
    drop(dialup);
    let store = db.open().await;
    let (dialup, restored) = daemon(&store, T0 + 60_000).await;
    assert!(restored.followed.is_empty(), "{restored:?}");
    assert_eq!(
        dialup.rules().tick("shipped", "default"),
        dialup.rules().mode_index("pickup")
    );
    assert_eq!(dialup.rules().tick("processing", "default"), None);
    assert!(dialup.rules().tick("processing", "shop2").is_some());
    let handle = dialup.clone();
    let api = Api::start_with(store, CONFIG, move |s| s.with_dialup(handle)).await;
    assert_eq!(
        counts(&api).await,
        count_map(&[("pickup", &[("unprocessed", 1)])])
    );
    api.stop().await;
}
