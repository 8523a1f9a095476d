//! Issue #14, key presses by SIP INFO: a robo-call answered by a SIPp callee
//! that keys `1` as in-dialog INFO (`application/dtmf-relay`) — no tones, no
//! RFC 4733 — confirms the order, on a trunk set to `dtmf = "info"`. The
//! same callee on a trunk set to `dtmf = "rfc4733"` confirms nothing: the
//! mode decides which keys count.

#[macro_use]
mod support;

use std::time::Duration;

use support::http::{json, wait_order_status};
use support::*;

const TOKEN: &str = "info-token-3c9a";

/// A daemon whose trunk is a SIPp callee keying `1` by INFO `key_at_ms`
/// after answering; one order placed. Returns what the order became.
fn call_with(dtmf: &str, want: &[&str]) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let callee_dir = dir.path().join("callee");
    std::fs::create_dir_all(&callee_dir).expect("mkdir");
    let sc = scenario(&callee_dir, "callee_info.xml", &[("@KEY_AT_MS@", "1500")]);
    let callee_port = free_udp_port();
    let callee = Sipp::start_on(&sc, &callee_dir, callee_port, &[]);
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let tail = format!("[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n");
    let daemon = Daemon::start_trunk(
        dir.path(),
        callee_port,
        &format!("dtmf = \"{dtmf}\""),
        &tail,
        |_| {},
    );
    let body = r#"{"id":"ord-info-1","phone":"03001234567","amount":"1200","currency":"PKR",
        "customer":{"kind":"new"},"items":[],"locale":"en"}"#;
    let (st, v) = json(http, "POST", "/v1/orders", TOKEN, Some(body));
    assert_eq!(st, 201, "{v}\n{}", daemon.logs());
    let v = wait_order_status(
        http,
        TOKEN,
        "ord-info-1",
        want,
        Duration::from_secs(60),
        || daemon.logs(),
    );
    let (ok, errors) = callee.finish(Duration::from_secs(60));
    assert!(ok, "callee ({dtmf}): {errors}\n{}", daemon.logs());
    // The call is over: the order as it stands now.
    let (st, after) = json(http, "GET", "/v1/orders/ord-info-1", TOKEN, None);
    assert_eq!(st, 200, "{after}");
    assert_eq!(v["id"], after["id"]);
    (after, daemon.logs())
}

#[test]
fn a_key_sent_by_info_confirms_the_order() {
    let (v, logs) = call_with("info", &["confirmed"]);
    let attempts = v["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{v}");
    assert_eq!(attempts[0]["result"], "confirmed", "{v}");
    assert!(logs.contains("source=\"info\""), "{logs}");
}

#[test]
fn a_trunk_set_to_rfc4733_ignores_info_keys() {
    // Any status: the call runs to its end (no key counted) before we look.
    let any = ["pending", "calling", "confirmed", "cancelled", "flagged"];
    let (v, logs) = call_with("rfc4733", &any);
    assert_ne!(v["status"], "confirmed", "{v}");
    assert!(
        logs.contains("SIP INFO key ignored by the trunk's dtmf mode"),
        "{logs}"
    );
    assert!(!logs.contains("source=\"info\""), "{logs}");
}

#[test]
fn a_bad_dtmf_mode_is_refused_naming_the_key() {
    let err = orderline::config::Config::from_toml(
        "[[trunks]]\nname = \"t1\"\nuri = \"sip:127.0.0.1:5070\"\ndtmf = \"sip-info\"\n",
    )
    .expect_err("unknown mode");
    assert!(err.to_string().contains("trunks.t1.dtmf"), "{err}");
}
