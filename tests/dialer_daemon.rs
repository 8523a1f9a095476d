//! Call modes across a `kill -9` of the real daemon (`orderline serve`, issue
//! #11): orders moved into and out of modes over HTTP, the daemon killed
//! without a drain, restarted on the same database (SQLite and PostgreSQL):
//! every order keeps its status and place, the admin counts and the line are
//! the same.

#[macro_use]
mod support;
#[allow(dead_code, unused_macros)]
use std::net::SocketAddr;

use serde_json::Value;
use support::http::json;
use support::{free_tcp_port, Daemon};

const TOKEN: &str = "dialer-token-5e1b";

/// Orders are flagged without a call (new customers above 50000, so no
/// robo-call runs), and `flagged` is ticked into `new`; `reconfirm` into `recheck`.
fn tail(http: SocketAddr, database: &str) -> String {
    format!(
        r#"
[http]
listen = "{http}"
api_tokens = ["{TOKEN}"]

{database}

[campaign.flag_above]
new = "50000"

[[dialer.modes]]
id = "new"
kind = "new_leads"
priority = 10
status_after_max = "no_contact"
agents = ["a1"]

[[dialer.modes]]
id = "recheck"
kind = "reconfirmation"
priority = 5

[[dialer.statuses]]
name = "flagged"
mode = "new"

[[dialer.statuses]]
name = "reconfirm"
mode = "recheck"

[[dialer.statuses]]
name = "shipped"

[[dialer.statuses]]
name = "no_contact"
"#
    )
}

/// Everything the merchant can see of the dial-up.
fn snapshot(http: SocketAddr, ids: &[String]) -> (Value, Value, Vec<(Value, Value)>) {
    let (st, overview) = json(http, "GET", "/v1/dialer/overview", TOKEN, None);
    assert_eq!(st, 200, "{overview}");
    let (st, line) = json(http, "GET", "/v1/dialer/queue", TOKEN, None);
    assert_eq!(st, 200, "{line}");
    let orders = ids
        .iter()
        .map(|id| {
            let (st, o) = json(http, "GET", &format!("/v1/orders/{id}"), TOKEN, None);
            assert_eq!(st, 200, "{o}");
            (o["status"].clone(), o["dialer"].clone())
        })
        .collect();
    (overview, line, orders)
}

fn kill9_keeps_the_dial_up(database: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port())
        .parse()
        .expect("addr");
    // No trunk peer is needed: no order is called.
    let mut daemon = Daemon::start_with(dir.path(), free_tcp_port(), &tail(http, database), |_| {});
    let ids: Vec<String> = (0..10).map(|i| format!("K{i}")).collect();
    for id in &ids {
        let body = format!(
            r#"{{"id":"{id}","phone":"+923001234567","amount":"75000","currency":"PKR","customer":{{"kind":"new"}},"items":[]}}"#
        );
        let (st, o) = json(http, "POST", "/v1/orders", TOKEN, Some(&body));
        assert_eq!(st, 201, "{o}");
        assert_eq!(o["dialer"]["mode"], "new", "{o}");
    }
    for (id, status) in [
        ("K1", "reconfirm"),
        ("K2", "reconfirm"),
        ("K3", "reconfirm"),
        ("K4", "shipped"),
        ("K5", "shipped"),
    ] {
        let body = format!(r#"{{"status":"{status}"}}"#);
        let (st, o) = json(
            http,
            "PUT",
            &format!("/v1/orders/{id}/status"),
            TOKEN,
            Some(&body),
        );
        assert_eq!(st, 200, "{o}");
    }
    let before = snapshot(http, &ids);
    let counts = |o: &Value, i: usize| o["modes"][i]["counts"]["unprocessed"].clone();
    assert_eq!(
        (counts(&before.0, 0), counts(&before.0, 1)),
        (5.into(), 3.into()),
        "{}",
        before.0
    );
    assert_eq!(before.1["orders"].as_array().map(Vec::len), Some(8));

    daemon.kill9();
    let (cfg, log, port) = (daemon.config.clone(), daemon.log.clone(), daemon.port);
    drop(daemon);
    let _daemon = Daemon::spawn(&cfg, port, &log);
    let after = snapshot(http, &ids);
    assert_eq!(after.0, before.0, "the admin table survives kill -9");
    assert_eq!(after.2, before.2, "every order keeps its status and place");
    let order_ids = |v: &Value| -> Vec<Value> {
        v["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| o["order_id"].clone())
            .collect()
    };
    assert_eq!(
        order_ids(&after.1),
        order_ids(&before.1),
        "the same line, in the same order"
    );
}

#[test]
fn kill9_keeps_the_dial_up_on_sqlite() {
    kill9_keeps_the_dial_up("");
}

#[test]
fn kill9_keeps_the_dial_up_on_postgres() {
    let db = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(support::store::postgres_db());
    kill9_keeps_the_dial_up(&format!("[database]\nurl = \"{}\"", db.url));
}
