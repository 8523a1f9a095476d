//! A running API on 127.0.0.1 over a real store, with a clock the test moves.

#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use orderline::api::{self, ApiState, Metrics};
use orderline::config::Config;
use orderline::store::Store;
use serde_json::Value;

pub const TOKEN: &str = "t0k-merchant";

/// Flag new customers above 50000; call everything else.
pub const CONFIG: &str = r#"
[http]
api_tokens = ["t0k-merchant", "second-token"]

[calling]
window = "09:00-21:00"
timezone = "UTC"

[campaign.flag_above]
new = "50000"
"#;

/// 2026-11-23T10:00:00Z, inside the calling window.
pub const T0: i64 = 1_795_428_000_000;

pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
    pub clock: Arc<AtomicI64>,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Api {
    pub async fn start(store: Store) -> Api {
        Api::start_with(store, CONFIG, |state| state).await
    }

    /// With another config and a hook to finish the state (e.g. connect a
    /// call layer) before it is served.
    pub async fn start_with(
        store: Store,
        config: &str,
        setup: impl FnOnce(ApiState) -> ApiState,
    ) -> Api {
        let config = Config::from_toml(config).expect("test config");
        let metrics = Arc::new(Metrics::new());
        let clock = Arc::new(AtomicI64::new(T0));
        let c = clock.clone();
        let state = setup(
            ApiState::new(store.clone(), &config, metrics.clone())
                .expect("campaign")
                .with_clock(orderline::clock::Clock::from_millis(move || {
                    c.load(Ordering::SeqCst)
                })),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(api::serve(listener, state, async move {
            let _ = rx.await;
        }));
        Api {
            base,
            http: reqwest::Client::new(),
            clock,
            store,
            metrics,
            stop: Some(tx),
            server: Some(server),
        }
    }

    pub fn advance_ms(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        self.send_as(Some(TOKEN), method, path, body).await
    }

    /// [`Api::send`] with another bearer token, or none.
    pub async fn send_as(
        &self,
        token: Option<&str>,
        method: reqwest::Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {text:?}"));
        (status, json)
    }

    pub async fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body)).await
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.send(reqwest::Method::GET, path, None).await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(s) = self.server.take() {
            s.await.expect("server task").expect("server");
        }
    }
}

/// A valid order body; `amount` is inserted as given (include quotes for a string).
pub fn order_body(id: &str, amount: &str, kind: &str) -> String {
    format!(
        r#"{{"id":"{id}","phone":"+923001234567","amount":{amount},"currency":"PKR","customer":{{"kind":"{kind}"}},"items":[{{"sku":"A1","qty":2}}],"locale":"ur-PK"}}"#
    )
}
