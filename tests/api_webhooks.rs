//! Webhook delivery to a real HTTP receiver on 127.0.0.1, from a real
//! outbox (SQLite and PostgreSQL): signatures checked by an independent HMAC
//! computation, a stable `webhook-id` across retries, growing back-off, and
//! an undelivered event surviving a deliverer restart.

#[macro_use]
mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use chrono::DateTime;
use hmac::{Hmac, Mac};
use orderline::api::{Metrics, WebhookDeliverer, WebhookOptions};
use orderline::config::WebhookConfig;
use orderline::dialer::{CustomerKind, Decision};
use orderline::store::{Inserted, NewOrder, OutboxEvent, Store};
use serde_json::Value;
use support::store::TestDb;

on_both_backends!(
    retries_keep_the_id_and_back_off,
    undelivered_event_survives_a_restart
);

/// `whsec_` + base64 of the key bytes, as Standard Webhooks writes secrets.
const KEY: &[u8] = b"orderline test key \x00\xff bytes";

fn secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(KEY)
    )
}

#[derive(Debug, Clone)]
struct Hit {
    id: String,
    timestamp: String,
    signature: String,
    body: Vec<u8>,
    at: Instant,
    answered: u16,
}

/// A merchant endpoint that fails the first `fail_first` requests with 500
/// (or all of them while `down` is set) and records every request.
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_first: usize,
    down: Arc<AtomicBool>,
    count: Arc<AtomicUsize>,
}

impl Receiver {
    async fn start(self) -> (String, Receiver) {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let me = me.clone();
                async move {
                    let n = me.count.fetch_add(1, Ordering::SeqCst);
                    let status = if n < me.fail_first || me.down.load(Ordering::SeqCst) {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::NO_CONTENT
                    };
                    let h = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    me.hits.lock().unwrap().push(Hit {
                        id: h("webhook-id"),
                        timestamp: h("webhook-timestamp"),
                        signature: h("webhook-signature"),
                        body: body.to_vec(),
                        at: Instant::now(),
                        answered: status.as_u16(),
                    });
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        (url, self)
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    async fn wait_for(&self, what: &str, done: impl Fn(&[Hit]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !done(&self.hits()) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}: {:?}",
                self.hits()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn options(url: &str) -> WebhookOptions {
    let mut o = WebhookOptions::from_config(&WebhookConfig {
        url: url.into(),
        secret: secret().into(),
        concurrency: orderline::config::DEFAULT_WEBHOOK_CONCURRENCY,
    })
    .expect("options");
    o.base_backoff = Duration::from_millis(200);
    o.timeout = Duration::from_secs(5);
    o.idle_poll = Duration::from_millis(20);
    o
}

/// One outbox event: a flagged order (the store writes `order.flagged`).
async fn flagged_event(store: &Store) -> OutboxEvent {
    let order = NewOrder {
        id: "W-1".into(),
        phone: "+923001234567".into(),
        amount: "75000".into(),
        currency: "PKR".into(),
        customer_kind: CustomerKind::New,
        items: serde_json::json!([]),
        locale: None,
        timezone: None,
        project: "default".into(),
        script: Default::default(),
    };
    // Written a minute ago on the real clock, so it is due for the deliverer.
    let now =
        DateTime::from_timestamp_millis(orderline::clock::Clock::system().now_millis() - 60_000)
            .unwrap();
    assert!(matches!(
        store
            .insert_order(&order, Decision::Flag, now)
            .await
            .expect("insert"),
        Inserted::Created(_)
    ));
    let mut events = store.order_events("W-1").await.expect("events");
    assert_eq!(events.len(), 1);
    events.remove(0)
}

/// Recompute the signature with `hmac` + `base64` directly.
fn independent_signature(id: &str, ts: &str, body: &[u8]) -> String {
    signature_with_key(KEY, id, ts, body)
}

/// What a receiver computes with `key` (Standard Webhooks: HMAC-SHA256 over
/// `id.timestamp.body`, base64), written here without orderline's code.
fn signature_with_key(key: &[u8], id: &str, ts: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn start(
    store: Store,
    url: &str,
    metrics: Arc<Metrics>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let deliverer = WebhookDeliverer::new(store, options(url), metrics).expect("deliverer");
    let task = tokio::spawn(deliverer.run(async move {
        let _ = rx.await;
    }));
    (tx, task)
}

/// 500, 500, then 204: three posts of the same event with the same id,
/// each correctly signed, the second back-off longer than the first can be.
async fn retries_keep_the_id_and_back_off(db: TestDb) {
    let store = db.open().await;
    let event = flagged_event(&store).await;
    let (url, receiver) = Receiver {
        fail_first: 2,
        ..Receiver::default()
    }
    .start()
    .await;
    let metrics = Arc::new(Metrics::new());
    let (stop, task) = start(store.clone(), &url, metrics.clone());
    receiver.wait_for("3 deliveries", |h| h.len() >= 3).await;
    // Give a wrongly repeated delivery the chance to show up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let _ = stop.send(());
    task.await.expect("deliverer task");

    let hits = receiver.hits();
    assert_eq!(hits.len(), 3, "delivered once after two failures: {hits:?}");
    assert_eq!(
        hits.iter().map(|h| h.answered).collect::<Vec<_>>(),
        [500, 500, 204]
    );
    for h in &hits {
        assert_eq!(h.id, event.id, "webhook-id is the outbox id on every retry");
        assert_eq!(
            h.signature,
            independent_signature(&h.id, &h.timestamp, &h.body)
        );
        let _: i64 = h.timestamp.parse().expect("unix seconds");
        assert_ne!(
            h.signature,
            signature_with_key(b"wrong", &h.id, &h.timestamp, &h.body),
            "a receiver with another secret must not accept it"
        );
        let body: Value = serde_json::from_slice(&h.body).expect("JSON body");
        assert_eq!(body["type"], "order.flagged");
        assert_eq!(
            body["timestamp"],
            event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        );
        assert_eq!(body["data"]["order_id"], "W-1");
        assert_eq!(body["data"]["status"], "flagged");
    }
    assert_eq!(
        hits[0].body, hits[2].body,
        "the body is the same on every retry"
    );
    let gap1 = hits[1].at - hits[0].at;
    let gap2 = hits[2].at - hits[1].at;
    assert!(
        gap1 >= Duration::from_millis(150),
        "first back-off ≥ 0.75 × 200 ms: {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(300),
        "second back-off ≥ 0.75 × 400 ms: {gap2:?}"
    );
    // Growth, proven by lower bounds only (machine load can only lengthen a
    // gap): the second wait is at least 300 ms, more than the first back-off
    // can ever be (200 ms at full jitter).
    assert!(
        gap2 > Duration::from_millis(200),
        "back-off grows: {gap1:?} then {gap2:?}"
    );

    let stored = store.get_event(&event.id).await.unwrap().unwrap();
    assert!(stored.delivered_at.is_some());
    assert_eq!(stored.attempts, 2);
    let text = metrics.render();
    for line in [
        "orderline_webhook_deliveries_total 1",
        "orderline_webhook_failures_total 2",
        "orderline_webhook_backlog 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
    }
}

/// The receiver is down; the deliverer is stopped; a new deliverer on a
/// freshly opened store delivers the event exactly once.
async fn undelivered_event_survives_a_restart(db: TestDb) {
    let store = db.open().await;
    let event = flagged_event(&store).await;
    let (url, receiver) = Receiver::default().start().await;
    receiver.down.store(true, Ordering::SeqCst);
    let (stop, task) = start(store.clone(), &url, Arc::new(Metrics::new()));
    receiver
        .wait_for("a failed delivery", |h| !h.is_empty())
        .await;
    let _ = stop.send(());
    task.await.expect("first deliverer stops");
    let failed = receiver.hits().len();
    let pending = store.get_event(&event.id).await.unwrap().unwrap();
    assert!(pending.delivered_at.is_none());
    assert_eq!(
        pending.attempts as usize, failed,
        "every failure is recorded in the outbox"
    );
    assert_eq!(pending.last_error.as_deref(), Some("HTTP 500"));
    store.close().await;

    receiver.down.store(false, Ordering::SeqCst);
    let reopened = db.open().await;
    let (stop, task) = start(reopened.clone(), &url, Arc::new(Metrics::new()));
    receiver
        .wait_for("the delivery after restart", |h| {
            h.iter().any(|h| h.answered == 204)
        })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = stop.send(());
    task.await.expect("second deliverer stops");
    let ok: Vec<Hit> = receiver
        .hits()
        .into_iter()
        .filter(|h| h.answered == 204)
        .collect();
    assert_eq!(ok.len(), 1, "delivered exactly once");
    assert_eq!(ok[0].id, event.id);
    assert!(reopened
        .get_event(&event.id)
        .await
        .unwrap()
        .unwrap()
        .delivered_at
        .is_some());
    assert_eq!(reopened.outbox_backlog().await.unwrap(), 0);
}

/// A receiver slower than the timeout counts as a failure and is retried.
#[tokio::test]
async fn a_slow_receiver_times_out_and_is_retried() {
    let db = support::store::sqlite_db();
    let store = db.open().await;
    let event = flagged_event(&store).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = axum::Router::new().route(
        "/hooks",
        axum::routing::post(move || {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    let mut opts = options(&url);
    opts.timeout = Duration::from_millis(300);
    let deliverer = WebhookDeliverer::new(store.clone(), opts, Arc::new(Metrics::new())).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(deliverer.run(async move {
        let _ = rx.await;
    }));
    let deadline = Instant::now() + Duration::from_secs(10);
    while store
        .get_event(&event.id)
        .await
        .unwrap()
        .unwrap()
        .delivered_at
        .is_none()
    {
        assert!(Instant::now() < deadline, "never delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = tx.send(());
    task.await.unwrap();
    let stored = store.get_event(&event.id).await.unwrap().unwrap();
    assert_eq!(stored.attempts, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}
