//! Issue #14, trunk health and failover: two SIPp trunks answering OPTIONS
//! pings; the preferred one is killed in the middle of a campaign. No order
//! fails because of it: calls that reached the dead trunk go back to the
//! queue unburnt, the trunk is marked down (`orderline_trunk_up`), calls go
//! to the other; when the trunk answers again, calls come back to it.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use support::http::{json, request, WebhookSink};
use support::*;

const TOKEN: &str = "failover-token-9a1c";

/// A trunk: a SIPp callee pressing 1 that also answers OPTIONS.
fn trunk(dir: &Path, port: u16) -> Sipp {
    streaming_callee(
        dir,
        "callee_options.xml",
        &[(0.3, '1', 0.12)],
        3.0,
        port,
        &["-m", "100000", "-l", "50"],
    )
}

fn metrics(http: SocketAddr) -> String {
    let (st, text) = request(http, "GET", "/metrics", None, None);
    assert_eq!(st, 200, "{text}");
    text
}

fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
}

fn post(http: SocketAddr, id: &str) {
    let body = format!(
        r#"{{"id":"{id}","phone":"03001234567","amount":"900","currency":"PKR",
            "customer":{{"kind":"new"}},"items":[],"locale":"en"}}"#
    );
    let (st, v) = json(http, "POST", "/v1/orders", TOKEN, Some(&body));
    assert_eq!(st, 201, "{v}");
}

/// Wait until every order is confirmed with exactly one attempt recorded.
fn wait_confirmed(http: SocketAddr, ids: &[String], limit: Duration, logs: &dyn Fn() -> String) {
    let t0 = Instant::now();
    for id in ids {
        loop {
            let (st, v) = json(http, "GET", &format!("/v1/orders/{id}"), TOKEN, None);
            assert_eq!(st, 200, "{v}");
            if v["status"] == "confirmed" {
                let attempts = v["attempts"].as_array().expect("attempts");
                assert_eq!(attempts.len(), 1, "{id} used more than one attempt: {v}");
                break;
            }
            assert!(
                v["status"] != "flagged" && v["status"] != "cancelled",
                "{id}: {v}"
            );
            assert!(
                t0.elapsed() < limit,
                "{id} not confirmed after {limit:?}: {v}\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn wait_metric(http: SocketAddr, series: &str, want: f64, limit: Duration) {
    let t0 = Instant::now();
    loop {
        let text = metrics(http);
        if metric(&text, series) == Some(want) {
            return;
        }
        assert!(
            t0.elapsed() < limit,
            "{series} is not {want} after {limit:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn killing_the_preferred_trunk_mid_campaign_fails_no_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pa, pb) = (free_udp_port(), free_udp_port());
    let mut a = trunk(&dir.path().join("a"), pa);
    let _b = trunk(&dir.path().join("b"), pb);
    let sink = WebhookSink::start();
    let http: SocketAddr = ([127, 0, 0, 1], free_tcp_port()).into();
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n\
         [webhooks]\nurl = \"{}\"\nsecret = \"s\"\n",
        sink.url()
    );
    let trunks = format!(
        "priority = 10\noptions_interval = \"500ms\"\noptions_threshold = 1\n\n\
         [[trunks]]\nname = \"b\"\nuri = \"sip:127.0.0.1:{pb}\"\npriority = 20\n\
         options_interval = \"500ms\"\noptions_threshold = 1\n"
    );
    let daemon = Daemon::start_trunk(dir.path(), pa, &trunks, &tail, |_| {});
    let logs = || daemon.logs();
    wait_metric(
        http,
        "orderline_trunk_up{trunk=\"default\"}",
        1.0,
        Duration::from_secs(5),
    );
    wait_metric(
        http,
        "orderline_trunk_up{trunk=\"b\"}",
        1.0,
        Duration::from_secs(5),
    );

    // Phase 1: both up, the preferred trunk takes the calls.
    let first: Vec<String> = (0..3).map(|i| format!("fo-a-{i}")).collect();
    first.iter().for_each(|id| post(http, id));
    wait_confirmed(http, &first, Duration::from_secs(30), &logs);
    let text = metrics(http);
    assert_eq!(
        metric(&text, "orderline_trunk_calls_total{trunk=\"default\"}"),
        Some(3.0),
        "{text}"
    );
    assert!(
        metric(&text, "orderline_trunk_latency_seconds{trunk=\"default\"}").is_some(),
        "{text}"
    );

    // Phase 2: the preferred trunk dies; orders keep coming at once.
    let _ = a.child.kill();
    let _ = a.child.wait();
    let second: Vec<String> = (0..6).map(|i| format!("fo-b-{i}")).collect();
    second.iter().for_each(|id| post(http, id));
    wait_confirmed(http, &second, Duration::from_secs(60), &logs);
    let text = metrics(http);
    assert_eq!(
        metric(&text, "orderline_trunk_up{trunk=\"default\"}"),
        Some(0.0),
        "{text}"
    );
    assert!(
        metric(&text, "orderline_trunk_calls_total{trunk=\"b\"}").unwrap_or(0.0) >= 6.0,
        "{text}"
    );

    // Phase 3: the trunk comes back; calls return to it.
    a = trunk(&dir.path().join("a2"), pa);
    wait_metric(
        http,
        "orderline_trunk_up{trunk=\"default\"}",
        1.0,
        Duration::from_secs(10),
    );
    let before = metric(
        &metrics(http),
        "orderline_trunk_calls_total{trunk=\"default\"}",
    )
    .unwrap_or(0.0);
    let third: Vec<String> = (0..2).map(|i| format!("fo-c-{i}")).collect();
    third.iter().for_each(|id| post(http, id));
    wait_confirmed(http, &third, Duration::from_secs(30), &logs);
    let after = metric(
        &metrics(http),
        "orderline_trunk_calls_total{trunk=\"default\"}",
    )
    .unwrap_or(0.0);
    assert_eq!(
        after - before,
        2.0,
        "calls did not come back to the recovered trunk"
    );
    drop(a);
}
