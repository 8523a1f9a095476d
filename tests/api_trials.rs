//! Trial orders (issue #15) over HTTP on 127.0.0.1 against a real store
//! (SQLite in a temp dir and PostgreSQL from `scripts/pg-test`), the sandbox
//! gateway the test counts, and the daemon's trial runner ticked on the
//! test's clock (`support::api::T0`, moved by hand): workflow rows, the
//! extension once, resend, the charge retry policy, and a step that runs
//! once however many runners tick. Last, the real daemon (`orderline
//! serve`), killed and restarted around an overdue trial.

#[macro_use]
mod support;

use std::sync::Arc;

use orderline::clock::Clock;
use orderline::daemon::trials::TrialRunner;
use orderline::payments::{PaymentGateway, SandboxGateway};
use serde_json::{json, Value};
use support::api::Api;
use support::card_data::{assert_no_card_data, Secrets};
use support::store::TestDb;

on_both_backends!(
    trial_fields_are_checked_and_kept,
    the_workflow_runs_extends_once_and_resends,
    a_declined_charge_is_retried_once_then_fails,
    a_step_runs_once_however_many_runners_tick
);

const DAY: i64 = 86_400_000;

/// The API with a sandbox gateway, and a trial runner on the same clock.
async fn start(db: &TestDb) -> (Api, Arc<SandboxGateway>, TrialRunner) {
    let store = db.open().await;
    let gateway = Arc::new(SandboxGateway::new());
    let g = gateway.clone();
    let api = Api::start_with(store.clone(), support::api::CONFIG, move |s| {
        s.with_gateway(g)
    })
    .await;
    let runner = runner(&api, gateway.clone());
    (api, gateway, runner)
}

fn runner(api: &Api, gateway: Arc<SandboxGateway>) -> TrialRunner {
    let c = api.clock.clone();
    let gateway: Arc<dyn PaymentGateway> = gateway;
    TrialRunner::new(
        api.store.clone(),
        Some(gateway),
        Clock::from_millis(move || c.load(std::sync::atomic::Ordering::SeqCst)),
    )
}

fn order(id: &str, token: &str, trial: Value) -> String {
    json!({
        "id": id, "phone": "+923001234567", "amount": "5249.50", "currency": "PKR",
        "customer": { "kind": "new" }, "timezone": "Asia/Karachi",
        "payment_token": token, "card_brand": "visa", "card_last4": "4242",
        "trial": trial,
    })
    .to_string()
}

fn terms(days: u32) -> Value {
    json!({ "days": days, "product_amount": "4999.50", "shipping_amount": "250" })
}

async fn workflow(api: &Api, id: &str) -> Value {
    let (st, v) = api.get(&format!("/v1/orders/{id}/workflow")).await;
    assert_eq!(st, 200, "{v}");
    v
}

fn statuses(w: &Value) -> Vec<String> {
    w["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["step"].as_str().unwrap_or("?"),
                r["status"].as_str().unwrap_or("?")
            )
        })
        .collect()
}

async fn events(api: &Api, id: &str, kind: &str) -> Vec<Value> {
    api.store
        .order_events(id)
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.event_type == kind)
        .map(|e| e.payload)
        .collect()
}

/// 422 naming each bad `trial` field; nothing stored for a refusal; the
/// same order posted again is 200, with other trial terms 409 naming trial.
async fn trial_fields_are_checked_and_kept(db: TestDb) {
    let (api, _, _) = start(&db).await;
    for (change, field) in [
        (json!({ "days": 0 }), "trial.days"),
        (json!({ "days": 91 }), "trial.days"),
        (json!({ "days": 15.5 }), "trial.days"),
        (
            json!({ "product_amount": "4999.505" }),
            "trial.product_amount",
        ),
        (json!({ "product_amount": 4999.5 }), "trial.product_amount"),
        (json!({ "shipping_amount": null }), "trial.shipping_amount"),
        (json!({ "currency": "EUR" }), "trial.currency"),
        (json!({ "colour": "red" }), "trial.colour"),
    ] {
        let mut t = terms(15);
        for (k, v) in change.as_object().expect("change") {
            t[k] = v.clone();
        }
        let (st, v) = api.post("/v1/orders", &order("T-bad", "tok_visa", t)).await;
        assert_eq!((st, v["field"].as_str()), (422, Some(field)), "{v}");
    }
    let (st, v) = api
        .post("/v1/orders", &order("T-bad", "tok_visa", json!(15)))
        .await;
    assert_eq!((st, v["field"].as_str()), (422, Some("trial")), "{v}");
    let (st, _) = api.get("/v1/orders/T-bad").await;
    assert_eq!(st, 404, "a refused order is not stored");

    let body = order("T-1", "tok_visa", terms(15));
    let (st, v) = api.post("/v1/orders", &body).await;
    assert_eq!(st, 201, "{v}");
    let (st, _) = api.post("/v1/orders", &body).await;
    assert_eq!(st, 200, "the same order again");
    let (st, v) = api
        .post("/v1/orders", &order("T-1", "tok_visa", terms(30)))
        .await;
    assert_eq!((st, v["fields"].clone()), (409, json!(["trial"])), "{v}");
    let w = workflow(&api, "T-1").await;
    assert_eq!(w["trial"]["product_amount"], "4999.50");
    assert_eq!(w["trial"]["shipping_amount"], "250.00");
    assert_eq!(w["trial"]["currency"], "PKR");
    assert_eq!(w["trial"]["timezone"], "Asia/Karachi");
    // An order without a trial has no workflow; an unknown order neither.
    let (st, _) = api
        .post("/v1/orders", &support::api::order_body("N-1", "100", "new"))
        .await;
    assert_eq!(st, 201);
    for id in ["N-1", "nobody"] {
        let (st, v) = api.get(&format!("/v1/orders/{id}/workflow")).await;
        assert_eq!(st, 404, "{v}");
    }
    api.stop().await;
}

/// Rows in the guide's order on the customer's days; S&H charged and the
/// confirmation sent at once; resend of a sent notification only; the
/// extension once (409 the second time) moves the charge to day 30; day 30
/// charges the product once and confirms it. The webhooks and the
/// workflow hold no card data.
async fn the_workflow_runs_extends_once_and_resends(db: TestDb) {
    let (api, gateway, runner) = start(&db).await;
    let (st, v) = api
        .post("/v1/orders", &order("T-2", "tok_visa", terms(15)))
        .await;
    assert_eq!(st, 201, "{v}");
    let w = workflow(&api, "T-2").await;
    assert_eq!(
        statuses(&w),
        [
            "placed:waiting",
            "confirmation:waiting",
            "reminder:waiting",
            "extension_offer:waiting",
            "charge:waiting",
            "payment_confirmation:waiting"
        ]
    );
    let types: Vec<&str> = w["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r["type"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "charge",
            "notification",
            "notification",
            "notification",
            "charge",
            "notification"
        ]
    );
    // T0 is 2026-11-23 10:00 UTC = 15:00 in Karachi; day 8 and day 15 at 15:00 there.
    assert_eq!(w["rows"][2]["scheduled_at"], "2026-12-01T10:00:00.000Z");
    assert_eq!(w["rows"][4]["scheduled_at"], "2026-12-08T10:00:00.000Z");

    assert_eq!(
        runner.tick().await.expect("tick"),
        2,
        "S&H and the confirmation"
    );
    assert_eq!(gateway.charge_count(), 1);
    let w = workflow(&api, "T-2").await;
    assert_eq!(
        &statuses(&w)[..2],
        ["placed:completed", "confirmation:completed"]
    );
    assert!(
        w["rows"][0]["result"]
            .as_str()
            .is_some_and(|r| r.starts_with("approved: txn_")),
        "{w}"
    );
    assert_eq!(w["rows"][1]["actions"], json!(["resend"]));
    assert_eq!(w["rows"][0]["actions"], json!([]));
    assert_eq!(events(&api, "T-2", "trial.confirmation").await.len(), 1);
    assert_eq!(runner.tick().await.expect("tick"), 0, "nothing twice");

    // Resend: a sent notification only.
    let (st, v) = api.post("/v1/orders/T-2/workflow/2/resend", "").await;
    assert_eq!(
        (st, v["event"].as_str()),
        (202, Some("trial.confirmation")),
        "{v}"
    );
    let sent = events(&api, "T-2", "trial.confirmation").await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1]["resent"], true);
    for (row, status, field) in [
        ("1", 409, Some("row")),
        ("3", 409, Some("row")),
        ("99", 404, None),
        ("x", 422, Some("row")),
    ] {
        let (st, v) = api
            .post(&format!("/v1/orders/T-2/workflow/{row}/resend"), "")
            .await;
        assert_eq!((st, v["field"].as_str()), (status, field), "row {row}: {v}");
    }

    // Day 8: the reminder; day 12: the offer; the customer extends on day 13.
    api.advance_ms(13 * DAY);
    assert_eq!(runner.tick().await.expect("tick"), 2);
    assert_eq!(events(&api, "T-2", "trial.reminder").await.len(), 1);
    assert_eq!(events(&api, "T-2", "trial.extension_offer").await.len(), 1);
    let (st, w) = api.post("/v1/orders/T-2/trial/extend", "").await;
    assert_eq!(st, 200, "{w}");
    assert_eq!(w["trial"]["extended"], true);
    assert_eq!(
        w["rows"][4]["scheduled_at"], "2026-12-23T10:00:00.000Z",
        "day 30"
    );
    assert_eq!(w["trial"]["ends_at"], "2026-12-23T10:00:00.000Z");
    assert_eq!(w["rows"][6]["step"], "extension");
    assert_eq!(w["rows"][6]["status"], "completed");
    let ext = events(&api, "T-2", "trial.extended").await;
    assert_eq!(ext.len(), 1);
    assert!(
        ext[0]["note"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("15 days")),
        "{}",
        ext[0]
    );
    let (st, v) = api.post("/v1/orders/T-2/trial/extend", "").await;
    assert_eq!(st, 409, "once: {v}");

    // Day 15 passes without a charge; day 30 charges the product once.
    api.advance_ms(2 * DAY);
    assert_eq!(runner.tick().await.expect("tick"), 0);
    assert_eq!(gateway.charge_count(), 1);
    api.advance_ms(15 * DAY);
    assert_eq!(
        runner.tick().await.expect("tick"),
        2,
        "charge and confirmation"
    );
    assert_eq!(gateway.charge_count(), 2);
    let charged = events(&api, "T-2", "trial.charged").await;
    assert_eq!(charged.len(), 1);
    assert_eq!(charged[0]["charge"]["amount"], "4999.50");
    assert_eq!(
        charged[0]["charge"]["card"],
        json!({ "brand": "visa", "last4": "4242" })
    );
    assert_eq!(runner.tick().await.expect("tick"), 0);
    let w = workflow(&api, "T-2").await;
    assert!(
        statuses(&w).iter().all(|s| s.ends_with(":completed")),
        "{w}"
    );

    // No card data (nor the gateway token) in the workflow or any webhook.
    let mut secrets = Secrets::card("4242424242424242", "", "", "");
    secrets.add("gateway token", "tok_visa", false);
    let mut seen = vec![("workflow".to_string(), w.to_string().into_bytes())];
    for e in api.store.order_events("T-2").await.expect("events") {
        seen.push((
            format!("webhook {}", e.event_type),
            e.payload.to_string().into_bytes(),
        ));
    }
    assert_no_card_data(&secrets, &seen);
    api.stop().await;
}

/// Retry policy: a declined charge is tried again 24 h later under a new
/// key, then the row fails with `trial.charge_failed` and the payment
/// confirmation is closed unsent. An order with no card on file fails at once.
async fn a_declined_charge_is_retried_once_then_fails(db: TestDb) {
    let (api, gateway, runner) = start(&db).await;
    let (st, v) = api
        .post("/v1/orders", &order("T-3", "tok_chargeDeclined", terms(3)))
        .await;
    assert_eq!(st, 201, "{v}");
    // At once: S&H declined (try 1), the confirmation and the offer (3 days: at the placing).
    runner.tick().await.expect("tick");
    let w = workflow(&api, "T-3").await;
    assert_eq!(w["rows"][0]["status"], "waiting", "{w}");
    assert!(
        w["rows"][0]["result"]
            .as_str()
            .is_some_and(|r| r.contains("declined (card_declined); retry at")),
        "{w}"
    );
    assert_eq!(gateway.charge_count(), 1);
    api.advance_ms(DAY - 1000);
    assert_eq!(runner.tick().await.expect("tick"), 0, "not before 24 h");
    api.advance_ms(1000);
    assert_eq!(runner.tick().await.expect("tick"), 1);
    assert_eq!(
        gateway.charge_count(),
        2,
        "the retry is a charge of its own"
    );
    let w = workflow(&api, "T-3").await;
    assert_eq!(w["rows"][0]["status"], "failed", "{w}");
    let failed = events(&api, "T-3", "trial.charge_failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["step"], "placed");
    // Day 3: the end-of-trial charge, declined twice 24 h apart.
    api.advance_ms(2 * DAY);
    runner.tick().await.expect("tick");
    api.advance_ms(DAY);
    runner.tick().await.expect("tick");
    let w = workflow(&api, "T-3").await;
    assert_eq!(
        statuses(&w),
        [
            "placed:failed",
            "confirmation:completed",
            "extension_offer:completed",
            "charge:failed",
            "payment_confirmation:failed"
        ],
        "{w}"
    );
    assert_eq!(events(&api, "T-3", "trial.charge_failed").await.len(), 2);
    assert!(events(&api, "T-3", "trial.charged").await.is_empty());
    let (st, _) = api.post("/v1/orders/T-3/trial/extend", "").await;
    assert_eq!(st, 409, "the charge was tried");

    // No card on file: failed at once, no retry.
    let body = json!({ "id": "T-4", "phone": "+923001234567", "amount": "100", "currency": "PKR", "customer": { "kind": "new" }, "trial": terms(15) });
    let (st, v) = api.post("/v1/orders", &body.to_string()).await;
    assert_eq!(st, 201, "{v}");
    runner.tick().await.expect("tick");
    let w = workflow(&api, "T-4").await;
    assert_eq!(w["rows"][0]["status"], "failed");
    assert_eq!(w["rows"][0]["result"], "failed: no card on file");
    api.stop().await;
}

/// Three runners (a restarted daemon and two nodes) tick the same due rows
/// at once: each step is recorded once, each event queued once. A charge
/// made before a crash (the row still at try 1) is the same charge when
/// the runner comes back: the gateway counts one.
async fn a_step_runs_once_however_many_runners_tick(db: TestDb) {
    let (api, gateway, first_runner) = start(&db).await;
    for id in ["R-1", "R-2", "R-3"] {
        let (st, v) = api
            .post("/v1/orders", &order(id, "tok_visa", terms(15)))
            .await;
        assert_eq!(st, 201, "{v}");
    }
    // The crash: R-1's S&H was charged under try 1's key, the row not written.
    let key = orderline::trial::charge_key("R-1", 1, 1);
    let token = orderline::payments::gateway::CardToken {
        token: "tok_visa".into(),
        brand: orderline::payments::Brand::Visa,
        last_four: orderline::payments::LastFour::parse("4242"),
    };
    let amount =
        orderline::money::Money::parse("250", orderline::money::Currency::PKR).expect("amount");
    let first = gateway
        .charge(
            &orderline::payments::IdempotencyKey::new(&key).expect("key"),
            &token,
            &amount,
        )
        .await
        .expect("charge");
    assert_eq!(gateway.charge_count(), 1);
    let (a, b, c) = (
        first_runner.clone(),
        first_runner,
        runner(&api, gateway.clone()),
    );
    let (ra, rb, rc) = tokio::join!(a.tick(), b.tick(), c.tick());
    let ran = ra.expect("a") + rb.expect("b") + rc.expect("c");
    assert_eq!(
        ran, 6,
        "three S&H charges and three confirmations, once each"
    );
    assert_eq!(
        gateway.charge_count(),
        3,
        "R-1's charge was the one made before the crash"
    );
    let w = workflow(&api, "R-1").await;
    assert_eq!(
        w["rows"][0]["result"],
        format!("approved: {}", first.transaction_id.expect("txn"))
    );
    for id in ["R-1", "R-2", "R-3"] {
        assert_eq!(
            events(&api, id, "trial.confirmation").await.len(),
            1,
            "{id}"
        );
    }
    api.stop().await;
}

/// The real daemon (`orderline serve`, SQLite, the sandbox gateway, webhooks
/// to a receiver on 127.0.0.1): a trial order's S&H charge and confirmation
/// run at once and the confirmation is delivered. Then, while the daemon is
/// down, a trial placed 20 days ago comes due (stored through the library,
/// as the API would have stored it then): the restarted daemon runs each
/// missed step once; killed (-9) and started again, it runs nothing twice.
#[test]
fn a_trial_through_the_daemon_and_its_restarts() {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};
    use support::http::{json as call, WebhookSink};
    const TOKEN: &str = "trial-token-7c2e";
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = WebhookSink::start();
    let http: SocketAddr = format!("127.0.0.1:{}", support::free_tcp_port())
        .parse()
        .expect("addr");
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n[webhooks]\nurl = \"{}\"\nsecret = \"trial-secret\"\n\n[campaign]\nunmatched = \"flag\"\nrules = []\n",
        sink.url()
    );
    let mut daemon =
        support::Daemon::start_with(dir.path(), support::free_tcp_port(), &tail, |_| {});
    let of = |kind: &str, id: &str| -> Vec<Value> {
        sink.received()
            .iter()
            .map(|h| h.json())
            .filter(|b| b["type"] == kind && b["data"]["order_id"] == id)
            .collect()
    };
    let wait = |what: &dyn Fn() -> bool| {
        let t0 = Instant::now();
        while !what() && t0.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (st, v) = call(
        http,
        "POST",
        "/v1/orders",
        TOKEN,
        Some(&order("D-1", "tok_visa", terms(15))),
    );
    assert_eq!(st, 201, "{v}");
    wait(&|| !of("trial.confirmation", "D-1").is_empty());
    assert_eq!(of("trial.confirmation", "D-1").len(), 1);
    let (_, w) = call(http, "GET", "/v1/orders/D-1/workflow", TOKEN, None);
    assert_eq!(
        &statuses(&w)[..2],
        ["placed:completed", "confirmation:completed"],
        "{w}"
    );

    // Down; meanwhile a trial placed 20 days ago is overdue.
    daemon.kill9();
    let url = format!("sqlite://{}", dir.path().join("orderline.db").display());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = orderline::store::Store::open(&url).await.expect("store");
        let placed = orderline::clock::Clock::system().now() - chrono::TimeDelta::days(20);
        let new: orderline::store::NewOrder =
            serde_json::from_str(&json!({ "id": "D-2", "phone": "+923001234567", "amount": "5249.50", "currency": "PKR", "customer_kind": "new", "items": [], "locale": null, "timezone": "Asia/Karachi", "project": "default" }).to_string())
                .expect("order");
        let input = orderline::trial::parse(&terms(15), orderline::money::Currency::PKR).expect("trial");
        let zone: chrono_tz::Tz = "Asia/Karachi".parse().expect("zone");
        let mut extras = orderline::store::OrderExtras::default();
        extras.card.token = Some("tok_visa".into());
        extras.trial = Some(orderline::trial::new_trial(input, "Asia/Karachi", zone, placed).expect("plan"));
        store
            .insert_order_with(&new, &extras, orderline::dialer::Decision::Flag, placed)
            .await
            .expect("insert");
        store.close().await;
    });
    let mut daemon =
        support::Daemon::spawn(&daemon.config.clone(), daemon.port, &daemon.log.clone());
    let kinds = [
        "trial.confirmation",
        "trial.reminder",
        "trial.extension_offer",
        "trial.charged",
    ];
    wait(&|| kinds.iter().all(|k| !of(k, "D-2").is_empty()));
    let (_, before) = call(http, "GET", "/v1/orders/D-2/workflow", TOKEN, None);
    assert!(
        statuses(&before).iter().all(|s| s.ends_with(":completed")),
        "{before}"
    );
    daemon.kill9();
    let _daemon = support::Daemon::spawn(&daemon.config.clone(), daemon.port, &daemon.log.clone());
    std::thread::sleep(Duration::from_secs(3));
    let (_, after) = call(http, "GET", "/v1/orders/D-2/workflow", TOKEN, None);
    assert_eq!(before["rows"], after["rows"], "nothing ran again");
    for k in kinds {
        assert_eq!(of(k, "D-2").len(), 1, "{k} once");
    }
    assert_eq!(of("trial.confirmation", "D-1").len(), 1);
    let charged = &of("trial.charged", "D-2")[0];
    assert_eq!(charged["data"]["charge"]["amount"], "4999.50");
    assert!(!charged.to_string().contains("tok_visa"), "{charged}");
}
