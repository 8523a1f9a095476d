//! Issue #14, call limits: `[sip] max_calls` caps the calls up at once, an
//! inbound INVITE over it gets 503 with `Retry-After` (checked by SIPp), and
//! an attempt orderline cannot place for its own limit goes back to the
//! queue instead of being burnt as the customer's `failed` attempt.

#[macro_use]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::http::{json, metric, WebhookSink};
use support::*;

const TOKEN: &str = "carrier-token-5d1e";

/// Put `max_calls = N` under `[sip]` of the test config, and make the
/// daemon's message to callers `secs` long (an inbound call then holds one
/// call slot that long).
fn limit_calls(dir: &Path, max_calls: u32, secs: u32) {
    add_sip_keys(dir, &format!("max_calls = {max_calls}\n"));
    write_wav(
        &dir.join("prompts/en/callback_no_order.wav"),
        &vec![0; 8000 * secs as usize],
    );
}

#[test]
fn inbound_invites_over_max_calls_get_503_with_retry_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::start_with(dir.path(), free_udp_port(), "", |d| limit_calls(d, 2, 4));
    let target = format!("127.0.0.1:{}", daemon.port);

    // Two customers call in and hold both slots for 4 s.
    let held_dir = dir.path().join("held");
    std::fs::create_dir_all(&held_dir).expect("mkdir");
    let held = Sipp::start(
        &Path::new(SCENARIOS).join("uac_callback.xml"),
        &held_dir,
        &[&target, "-m", "2", "-l", "2"],
    );
    std::thread::sleep(Duration::from_millis(1200));

    // Three more while they are up: each refused with 503 + Retry-After.
    let refused_dir = dir.path().join("refused");
    std::fs::create_dir_all(&refused_dir).expect("mkdir");
    let refused = Sipp::start(
        &Path::new(SCENARIOS).join("uac_refused.xml"),
        &refused_dir,
        &[&target, "-m", "3"],
    );
    let (ok, errors) = refused.finish(Duration::from_secs(15));
    assert!(
        ok,
        "calls over the limit were not refused with 503 + Retry-After: {errors}\n{}",
        daemon.logs()
    );
    let (ok, errors) = held.finish(Duration::from_secs(20));
    assert!(
        ok,
        "the calls within the limit failed: {errors}\n{}",
        daemon.logs()
    );

    // The slots are free again: the next caller is answered, not refused.
    let after_dir = dir.path().join("after");
    std::fs::create_dir_all(&after_dir).expect("mkdir");
    let after = Sipp::start(
        &Path::new(SCENARIOS).join("uac_callback.xml"),
        &after_dir,
        &[&target],
    );
    let (ok, errors) = after.finish(Duration::from_secs(20));
    assert!(
        ok,
        "a call after the limit cleared failed: {errors}\n{}",
        daemon.logs()
    );
}

#[test]
fn an_attempt_refused_by_our_own_call_limit_is_put_back_not_burnt() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The trunk: a callee pressing 1.
    let callee = streaming_callee(
        dir.path(),
        "callee_inband.xml",
        &[(0.4, '1', 0.12)],
        4.0,
        free_udp_port(),
        &[],
    );

    let sink = WebhookSink::start();
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n\
         [webhooks]\nurl = \"{}\"\nsecret = \"s\"\n",
        sink.url()
    );
    // One call at a time, and a customer calling in holds it for 5 s.
    let daemon = Daemon::start_with(dir.path(), callee.port, &tail, |d| limit_calls(d, 1, 5));
    let caller_dir = dir.path().join("caller");
    std::fs::create_dir_all(&caller_dir).expect("mkdir");
    let inbound = Sipp::start(
        &Path::new(SCENARIOS).join("uac_callback.xml"),
        &caller_dir,
        &[&format!("127.0.0.1:{}", daemon.port)],
    );
    std::thread::sleep(Duration::from_millis(800));

    let body = r#"{"id":"ord-limit-1","phone":"03001234567","amount":"1200","currency":"PKR",
        "customer":{"kind":"new"},"items":[],"locale":"en"}"#;
    let (st, v) = json(http, "POST", "/v1/orders", TOKEN, Some(body));
    assert_eq!(st, 201, "{v}\n{}", daemon.logs());

    // While the inbound call holds the only slot, the attempt is refused
    // locally (counted) and put back.
    let t0 = Instant::now();
    while metric(http, "orderline_local_refusals_total") < 1.0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no local refusal while at the call limit\n{}",
            daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, errors) = inbound.finish(Duration::from_secs(20));
    assert!(ok, "inbound call failed: {errors}\n{}", daemon.logs());

    // Once the slot is free, the same attempt reaches the customer.
    let v = loop {
        let (st, v) = json(http, "GET", "/v1/orders/ord-limit-1", TOKEN, None);
        assert_eq!(st, 200, "{v}");
        if v["status"] == "confirmed" {
            break v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(40),
            "order not confirmed after the call limit cleared: {v}\n{}",
            daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let attempts = v["attempts"].as_array().expect("attempts");
    assert_eq!(
        attempts.len(),
        1,
        "a local refusal was recorded as an attempt: {v}"
    );
    assert_eq!(attempts[0]["result"], "confirmed", "{v}");
    assert!(
        !daemon
            .logs()
            .contains("too many calls in progress\" outcome"),
        "{}",
        daemon.logs()
    );
    let (ok, errors) = callee.finish(Duration::from_secs(15));
    assert!(ok, "callee: {errors}");
}

#[test]
fn max_calls_defaults_to_one_call_per_rtp_pair() {
    use orderline::config::Config;
    // The handbook's default range holds 5,000 pairs: 5,000 calls, not 1,000.
    let cfg = Config::from_toml("[sip]\nrtp_ports = \"20000-29999\"\n").expect("config");
    assert_eq!(cfg.sip.max_calls().expect("max_calls"), 5_000);
    let cfg = Config::from_toml("[sip]\nrtp_ports = \"20001-20010\"\n").expect("config");
    assert_eq!(cfg.sip.max_calls().expect("max_calls"), 4); // 20002, 20004, 20006, 20008
    let cfg = Config::from_toml("[sip]\nmax_calls = 120\n").expect("config");
    assert_eq!(cfg.sip.max_calls().expect("max_calls"), 120);
    let err = Config::from_toml("[sip]\nmax_calls = 0\n").expect_err("zero refused");
    assert!(err.to_string().contains("sip.max_calls"), "{err}");
    let err = Config::from_toml("[sip]\nmedia_timeout = \"60s\"\nhold_timeout = \"10s\"\n")
        .expect_err("hold shorter than media refused");
    assert!(err.to_string().contains("sip.hold_timeout"), "{err}");
}
