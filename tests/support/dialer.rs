//! Shared by the call-mode API tests (`api_dialer.rs`, `api_dialer_restart.rs`):
//! the config, the daemon's side (`Dialup::start` as `daemon::run` does it) and
//! the checks that compare the admin counts with the stored rows.

#![allow(dead_code)]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use orderline::config::Config;
use orderline::dialup::Dialup;
use orderline::store::Store;
use reqwest::Method;
use serde_json::{json, Value};

use crate::support::api::{Api, T0};

/// Two projects, three modes; `processing` ticked per project, `flagged`
/// (built-in) ticked into `new` so a flagged order goes to a human.
pub const CONFIG: &str = r#"
[http]
api_tokens = ["t0k-merchant"]

[calling]
window = "09:00-21:00"
timezone = "UTC"

[campaign.flag_above]
new = "50000"

[[agents]]
id = "a1"
name = "Ayesha"
sip_uri = "sip:a1@127.0.0.1:5080"
api_token = "a1-token-0123456789"

[[dialer.modes]]
id = "new"
kind = "new_leads"
project = "default"
priority = 10
put_off = "30m"
max_attempts = 3
status_after_max = "no_contact"
agents = ["a1"]

[[dialer.modes]]
id = "shop2_new"
kind = "new_leads"
project = "shop2"
priority = 5
agents = ["a2"]

[[dialer.modes]]
id = "pickup"
kind = "before_buyout"
project = "default"
priority = 1

[[dialer.statuses]]
name = "processing"
mode = "new"

[[dialer.statuses]]
name = "processing"
mode = "shop2_new"

[[dialer.statuses]]
name = "awaiting_pickup"
mode = "pickup"

[[dialer.statuses]]
name = "shipped"

[[dialer.statuses]]
name = "no_contact"

[[dialer.statuses]]
name = "flagged"
mode = "new"
"#;

pub const AGENT_TOKEN: &str = "a1-token-0123456789";

pub fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("time")
}

/// The daemon's side: the queue rebuilt from the store, as `daemon::run` does.
pub async fn daemon(store: &Store, now_ms: i64) -> (Dialup, orderline::daemon::Restored) {
    daemon_on(CONFIG, store, now_ms).await
}

/// [`daemon`] under another config (e.g. `tests/api_upsell_mode.rs`'s).
pub async fn daemon_on(
    config: &str,
    store: &Store,
    now_ms: i64,
) -> (Dialup, orderline::daemon::Restored) {
    let config = Config::from_toml(config).expect("config");
    store
        .sync_config_agents(&config.agents, at(now_ms))
        .await
        .expect("agents");
    Dialup::start(store.clone(), &config, at(now_ms))
        .await
        .expect("dial-up restored")
}

pub async fn start(store: Store) -> (Api, Dialup) {
    start_on(CONFIG, store).await
}

/// [`start`] under another config.
pub async fn start_on(config: &str, store: Store) -> (Api, Dialup) {
    let (dialup, restored) = daemon_on(config, &store, T0).await;
    assert!(restored.released.is_empty(), "{restored:?}");
    let handle = dialup.clone();
    let api = Api::start_with(store, config, move |s| s.with_dialup(handle)).await;
    (api, dialup)
}

pub fn with_project(body: &str, project: &str) -> String {
    let mut v: Value = serde_json::from_str(body).expect("body");
    v["project"] = json!(project);
    v.to_string()
}

pub async fn put_status(api: &Api, id: &str, status: &str) -> (u16, Value) {
    api.send(
        Method::PUT,
        &format!("/v1/orders/{id}/status"),
        Some(&json!({ "status": status }).to_string()),
    )
    .await
}

/// `{mode: {subqueue: n}}` from the API's overview, and the same from the
/// stored rows; asserts they agree and returns the API's.
pub async fn counts(api: &Api) -> BTreeMap<String, BTreeMap<String, u64>> {
    let (status, overview) = api.get("/v1/dialer/overview").await;
    assert_eq!(status, 200, "{overview}");
    let mut shown = BTreeMap::new();
    for m in overview["modes"].as_array().expect("modes") {
        let mut c = BTreeMap::new();
        for sub in ["unprocessed", "no_answer", "callback", "in_flight"] {
            let n = m["counts"][sub].as_u64().expect("count");
            if n > 0 {
                c.insert(sub.to_string(), n);
            }
        }
        shown.insert(m["id"].as_str().expect("id").to_string(), c);
    }
    let mut stored: BTreeMap<String, BTreeMap<String, u64>> =
        shown.keys().map(|k| (k.clone(), BTreeMap::new())).collect();
    for c in api.store.dialup_counts().await.expect("stored counts") {
        let sub = if c.in_flight {
            "in_flight".to_string()
        } else {
            serde_json::to_value(c.subqueue)
                .expect("sub")
                .as_str()
                .expect("str")
                .to_string()
        };
        *stored.entry(c.mode).or_default().entry(sub).or_default() += c.count;
    }
    assert_eq!(shown, stored, "the admin counts match the stored rows");
    shown
}

pub fn count_map(pairs: &[(&str, &[(&str, u64)])]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut all: BTreeMap<String, BTreeMap<String, u64>> = ["new", "shop2_new", "pickup"]
        .iter()
        .map(|m| (m.to_string(), BTreeMap::new()))
        .collect();
    for (mode, subs) in pairs {
        for (sub, n) in *subs {
            all.get_mut(*mode)
                .expect("mode")
                .insert(sub.to_string(), *n);
        }
    }
    all
}

pub async fn line(api: &Api, query: &str) -> Vec<String> {
    let (status, body) = api.get(&format!("/v1/dialer/queue{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["order_id"].as_str().expect("id").to_string())
        .collect()
}
