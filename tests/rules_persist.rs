//! `PUT /v1/rules` persists (issue #13): rules put over the API survive a
//! restart of the real daemon (`orderline serve`, SIGTERM then start on the
//! same database), `GET /v1/rules` shows them, and orders are planned with
//! them, not with the config file's `[campaign]` — on SQLite and PostgreSQL.

#[macro_use]
mod support;
#[allow(dead_code, unused_macros)]
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http::json;
use support::{free_tcp_port, Daemon};

const TOKEN: &str = "rules-token-7c2a";

/// The file calls every order (no rules, unmatched = call).
fn tail(http: SocketAddr, database: &str) -> String {
    format!(
        r#"
[http]
listen = "{http}"
api_tokens = ["{TOKEN}"]

{database}

[campaign]
unmatched = "call"
"#
    )
}

const PUT_RULES: &str = r#"{"campaign":{"unmatched":"call","flag_above":{"new":"1000"},"rules":[{"kinds":["returning"],"action":"confirm"}]}}"#;

fn order(http: SocketAddr, id: &str, amount: &str, kind: &str) -> Value {
    let body = format!(
        r#"{{"id":"{id}","phone":"+923001234567","amount":"{amount}","currency":"PKR","customer":{{"kind":"{kind}"}},"items":[]}}"#
    );
    let (st, o) = json(http, "POST", "/v1/orders", TOKEN, Some(&body));
    assert_eq!(st, 201, "{o}");
    o
}

fn stop(daemon: &mut Daemon) {
    let pid = daemon.child.id().to_string();
    let st = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(st.success());
    let t0 = Instant::now();
    while daemon.child.try_wait().expect("wait").is_none() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "daemon did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn rules_survive_a_restart(database: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port())
        .parse()
        .expect("addr");
    // The trunk port has no peer: calls placed fail, which does not matter here.
    let mut daemon = Daemon::start_with(dir.path(), free_tcp_port(), &tail(http, database), |_| {});
    let (st, before) = json(http, "GET", "/v1/rules", TOKEN, None);
    assert_eq!(st, 200, "{before}");
    assert_eq!(before["persisted"], false, "{before}");
    assert_eq!(before["campaign"]["rules"], Value::Null, "{before}");
    // The file's rules call a returning customer.
    assert_eq!(order(http, "A-1", "5000", "returning")["status"], "calling");

    let (st, put) = json(http, "PUT", "/v1/rules", TOKEN, Some(PUT_RULES));
    assert_eq!(st, 200, "{put}");
    assert_eq!(put["persisted"], true, "{put}");
    let (_, shown) = json(http, "GET", "/v1/rules", TOKEN, None);
    assert_eq!(shown["campaign"], put["campaign"]);

    stop(&mut daemon);
    let (cfg, log, port) = (daemon.config.clone(), daemon.log.clone(), daemon.port);
    drop(daemon);
    let daemon = Daemon::spawn(&cfg, port, &log);

    let (st, after) = json(http, "GET", "/v1/rules", TOKEN, None);
    assert_eq!(st, 200, "{after}");
    assert_eq!(after["persisted"], true, "{after}");
    assert_eq!(
        after["campaign"], put["campaign"],
        "GET after a restart shows the PUT rules, not the file's"
    );
    assert_eq!(after["campaign"]["flag_above"]["new"], "1000");
    assert_eq!(after["campaign"]["rules"][0]["action"], "confirm");
    // Planned with the stored rules: returning → confirmed without a call,
    // new above 1000 → flagged, anyone else → called (the unmatched action).
    let b1 = order(http, "B-1", "5000", "returning");
    assert_eq!(b1["status"], "confirmed", "{b1}");
    assert_eq!(order(http, "B-2", "5000", "new")["status"], "flagged");
    assert_eq!(
        order(http, "B-3", "500", "platform_returning")["status"],
        "calling"
    );
    assert!(
        daemon
            .logs()
            .contains("the version stored by PUT /v1/rules"),
        "the start says which rules it took:\n{}",
        daemon.logs()
    );
}

#[test]
fn rules_put_over_the_api_survive_a_restart_on_sqlite() {
    rules_survive_a_restart("");
}

#[test]
fn rules_put_over_the_api_survive_a_restart_on_postgres() {
    let db = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(support::store::postgres_db());
    rules_survive_a_restart(&format!("[database]\nurl = \"{}\"", db.url));
}
