//! Webhooks delivered concurrently, in order per order (issue #13): 500
//! events of 50 orders from a real outbox (SQLite and PostgreSQL) to a slow
//! receiver on 127.0.0.1. The receiver counts requests in flight: the
//! configured concurrency is reached and never passed, no order ever has two
//! requests in flight, each order's events arrive in outbox order, a failed
//! delivery holds only its own order's later events, and a restart of the
//! deliverer midway loses nothing and sends nothing twice.

#[macro_use]
mod support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use chrono::DateTime;
use orderline::api::{Metrics, WebhookDeliverer, WebhookOptions};
use orderline::config::WebhookConfig;
use orderline::dialer::{CustomerKind, Decision};
use orderline::store::{NewOrder, Store};
use serde_json::Value;
use sqlx::Executor;
use support::store::TestDb;

on_both_backends!(five_hundred_webhooks_concurrent_and_in_order_per_order);

const ORDERS: usize = 50;
const STEPS: usize = 10; // order.flagged + 9 more per order
const CONCURRENCY: usize = 8;
const SLOW: Duration = Duration::from_millis(40);
/// This order's step 3 is refused once (HTTP 500).
const FAILING: (&str, u64) = ("O07", 3);

#[derive(Debug, Clone)]
struct Hit {
    id: String,
    order: String,
    step: u64,
    start: Instant,
    end: Instant,
    ok: bool,
}

#[derive(Clone, Default)]
struct SlowReceiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    failed_once: Arc<Mutex<bool>>,
}

impl SlowReceiver {
    async fn start(self) -> (String, SlowReceiver) {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let me = me.clone();
                    async move {
                        let start = Instant::now();
                        let now = me.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        me.max_in_flight.fetch_max(now, Ordering::SeqCst);
                        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let order = v["data"]["order_id"].as_str().unwrap_or("?").to_string();
                        let step = v["data"]["step"].as_u64().unwrap_or(0);
                        tokio::time::sleep(SLOW).await;
                        let fail = (order.as_str(), step) == FAILING && {
                            let mut f = me.failed_once.lock().unwrap();
                            !std::mem::replace(&mut *f, true)
                        };
                        let id = headers
                            .get("webhook-id")
                            .and_then(|h| h.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        // Recorded before the answer leaves, so `end` precedes
                        // anything the deliverer does with the answer.
                        me.hits.lock().unwrap().push(Hit {
                            id,
                            order,
                            step,
                            start,
                            end: Instant::now(),
                            ok: !fail,
                        });
                        me.in_flight.fetch_sub(1, Ordering::SeqCst);
                        if fail {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::NO_CONTENT
                        }
                    }
                },
            ),
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

    fn delivered(&self) -> usize {
        self.hits().iter().filter(|h| h.ok).count()
    }

    async fn wait_for_delivered(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.delivered() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} delivered",
                self.delivered()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn start(
    store: Store,
    url: &str,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let cfg: WebhookConfig = toml::from_str(&format!(
        "url = \"{url}\"\nsecret = \"concurrency-test\"\nconcurrency = {CONCURRENCY}\n"
    ))
    .expect("webhooks config");
    let mut opts = WebhookOptions::from_config(&cfg).expect("options");
    assert_eq!(opts.concurrency, CONCURRENCY, "the config key is read");
    opts.base_backoff = Duration::from_millis(300);
    opts.idle_poll = Duration::from_millis(20);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let deliverer = WebhookDeliverer::new(store, opts, Arc::new(Metrics::new())).expect("new");
    let task = tokio::spawn(deliverer.run(async move {
        let _ = rx.await;
    }));
    (tx, task)
}

/// 50 flagged orders (the store writes `order.flagged`), then 9 more events
/// per order written round-robin, so the outbox interleaves the orders.
async fn fill_outbox(db: &TestDb, store: &Store) {
    let past = orderline::clock::Clock::system().now_millis() - 60_000;
    let now = DateTime::from_timestamp_millis(past).unwrap();
    for o in 0..ORDERS {
        let order = NewOrder {
            id: format!("O{o:02}"),
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
        store
            .insert_order(&order, Decision::Flag, now)
            .await
            .expect("insert");
    }
    let mut raw = db.raw().await;
    for step in 1..STEPS {
        for o in 0..ORDERS {
            let sql = format!(
                "INSERT INTO webhook_outbox (id, event_type, order_id, payload, created_at, next_attempt_at, attempts) \
                 VALUES ('evt-O{o:02}-{step}', 'test.step', 'O{o:02}', '{{\"order_id\":\"O{o:02}\",\"step\":{step}}}', {past}, {past}, 0)"
            );
            raw.execute(sql.as_str()).await.expect("insert event");
        }
    }
}

async fn five_hundred_webhooks_concurrent_and_in_order_per_order(db: TestDb) {
    let store = db.open().await;
    fill_outbox(&db, &store).await;
    assert_eq!(
        store.outbox_backlog().await.unwrap(),
        (ORDERS * STEPS) as u64
    );
    let (url, receiver) = SlowReceiver::default().start().await;

    // First deliverer: stopped (as on SIGTERM) after 200 deliveries.
    let (stop, task) = start(store.clone(), &url);
    receiver.wait_for_delivered(200).await;
    let _ = stop.send(());
    task.await.expect("first deliverer stops");
    assert_eq!(
        receiver.in_flight.load(Ordering::SeqCst),
        0,
        "the stop waited for the requests in flight"
    );
    store.close().await;

    // Restart on a freshly opened store: the rest goes out.
    let reopened = db.open().await;
    let (stop, task) = start(reopened.clone(), &url);
    receiver.wait_for_delivered(ORDERS * STEPS).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = stop.send(());
    task.await.expect("second deliverer stops");

    let hits = receiver.hits();
    let ok: Vec<&Hit> = hits.iter().filter(|h| h.ok).collect();
    let ids: HashSet<&str> = ok.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids.len(), ORDERS * STEPS, "every event delivered");
    assert_eq!(ok.len(), ORDERS * STEPS, "none delivered twice");
    assert_eq!(reopened.outbox_backlog().await.unwrap(), 0);
    assert_eq!(
        receiver.max_in_flight.load(Ordering::SeqCst),
        CONCURRENCY,
        "the configured concurrency is reached and never passed"
    );

    // Per order: requests never overlap, and the delivered steps are 0..9 in order.
    let mut by_order: BTreeMap<&str, Vec<&Hit>> = BTreeMap::new();
    for h in &hits {
        by_order.entry(h.order.as_str()).or_default().push(h);
    }
    assert_eq!(by_order.len(), ORDERS);
    for (order, mut list) in by_order {
        list.sort_by_key(|h| h.start);
        for pair in list.windows(2) {
            assert!(
                pair[1].start >= pair[0].end,
                "{order}: step {} started before step {} was answered",
                pair[1].step,
                pair[0].step
            );
        }
        let steps: Vec<u64> = list.iter().filter(|h| h.ok).map(|h| h.step).collect();
        assert_eq!(steps, (0..STEPS as u64).collect::<Vec<_>>(), "{order}");
    }

    // The refused event held its own order, not the others.
    let failed = hits.iter().find(|h| !h.ok).expect("one refusal");
    assert_eq!((failed.order.as_str(), failed.step), FAILING);
    let retry = hits
        .iter()
        .find(|h| h.ok && (h.order.as_str(), h.step) == FAILING)
        .expect("retried");
    assert_eq!(retry.id, failed.id, "the retry keeps the webhook-id");
    let others_between = hits
        .iter()
        .filter(|h| h.order != failed.order && h.start > failed.end && h.end < retry.start)
        .count();
    assert!(
        others_between >= CONCURRENCY,
        "other orders went on while {} waited for its retry ({others_between} deliveries)",
        failed.order
    );
}
