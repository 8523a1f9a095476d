//! Inbound callbacks against the real daemon (issue #13): a SIPp caller
//! ringing `orderline serve` from the number of open orders, written in
//! national format (`03001234567` for orders placed as `+923001234567`),
//! hears the most recent one's confirmation flow, keys 1 in-band, and that
//! order becomes confirmed (recorded as an attempt of kind `inbound`, its
//! pending robo-call dropped, `order.confirmed` webhook sent); the older
//! order is untouched. An unknown number hears the polite message and is
//! hung up on, and no order changes.

#[macro_use]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::http::{json, WebhookSink};
use support::{
    free_tcp_port, keypress_audio, scenario, sox_g711, write_wav, Daemon, Sipp, SCENARIOS,
};

const TOKEN: &str = "callback-token-3f9d";

fn tail(http: SocketAddr, sink: &WebhookSink) -> String {
    format!(
        r#"
[http]
listen = "{http}"
api_tokens = ["{TOKEN}"]

[webhooks]
url = "{}"
secret = "callback-secret"

[campaign]
unmatched = "call"
"#,
        sink.url()
    )
}

fn order(http: SocketAddr, id: &str, phone: &str, amount: &str) {
    let body = format!(
        r#"{{"id":"{id}","phone":"{phone}","amount":"{amount}","currency":"PKR","customer":{{"kind":"returning"}},"items":[]}}"#
    );
    let (st, o) = json(http, "POST", "/v1/orders", TOKEN, Some(&body));
    assert_eq!(st, 201, "{o}");
    assert_eq!(o["status"], "calling", "{o}");
}

fn get(http: SocketAddr, id: &str) -> Value {
    let (st, o) = json(http, "GET", &format!("/v1/orders/{id}"), TOKEN, None);
    assert_eq!(st, 200, "{o}");
    o
}

/// Wait until the order's first robo-call (busy) is recorded and its retry is due.
fn wait_first_call_done(http: SocketAddr, id: &str, daemon: &Daemon) -> Value {
    let t0 = Instant::now();
    loop {
        let o = get(http, id);
        let attempts = o["attempts"].as_array().cloned().unwrap_or_default();
        if attempts.iter().any(|a| a["state"] == "due") && attempts.len() >= 2 {
            return o;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{id}: first call not recorded: {o}\n{}",
            daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A customer calling the daemon from `caller`, keying `presses` in-band.
fn customer(dir: &Path, daemon: &Daemon, caller: &str, presses: &[(f64, char, f64)]) -> Sipp {
    let wav = dir.join(format!("{caller}.wav"));
    write_wav(&wav, &keypress_audio(presses, 6.0));
    let raw = dir.join(format!("{caller}.ul"));
    sox_g711(&wav, &raw, "ul");
    let action = format!("rtp_stream=\"{},1,0\"", raw.display());
    let sc = scenario(
        dir,
        "uac_callback_keys.xml",
        &[("@CALLER@", caller), ("@MEDIA_ACTION@", &action)],
    );
    let renamed = dir.join(format!("callback_{caller}.xml"));
    std::fs::rename(&sc, &renamed).expect("rename scenario");
    Sipp::start(&renamed, dir, &[&format!("127.0.0.1:{}", daemon.port)])
}

/// The daemon with a webhook sink and a trunk that answers `calls` robo-calls
/// busy (each then has a retry due in 3 h); `prepare` adjusts the test prompts.
struct Rig {
    dir: tempfile::TempDir,
    sink: WebhookSink,
    http: SocketAddr,
    _trunk: Sipp,
    daemon: Daemon,
}

fn rig(calls: u32, prepare: impl FnOnce(&Path)) -> Rig {
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = WebhookSink::start();
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port())
        .parse()
        .expect("addr");
    let trunk = Sipp::start(
        &Path::new(SCENARIOS).join("callee_busy.xml"),
        dir.path(),
        &["-m", &calls.to_string()],
    );
    let daemon = Daemon::start_with(dir.path(), trunk.port, &tail(http, &sink), prepare);
    Rig {
        dir,
        sink,
        http,
        _trunk: trunk,
        daemon,
    }
}

#[test]
fn a_customer_calling_back_from_a_national_number_confirms_the_latest_open_order() {
    let Rig {
        dir,
        sink,
        http,
        daemon,
        _trunk,
    } = rig(3, |_| {});
    order(http, "CB-OLD", "+923001234567", "500");
    wait_first_call_done(http, "CB-OLD", &daemon);
    std::thread::sleep(Duration::from_millis(20));
    order(http, "CB-NEW", "+923001234567", "700");
    wait_first_call_done(http, "CB-NEW", &daemon);
    order(http, "CB-OTHER", "+923009999999", "900");
    wait_first_call_done(http, "CB-OTHER", &daemon);

    // The customer rings back from the national form of the number and keys 1.
    let caller = customer(dir.path(), &daemon, "03001234567", &[(1.0, '1', 0.12)]);
    let (ok, errors) = caller.finish(Duration::from_secs(30));
    assert!(
        ok,
        "the callback did not end with orderline's BYE: {errors}\n{}",
        daemon.logs()
    );

    let new = get(http, "CB-NEW");
    assert_eq!(new["status"], "confirmed", "{new}\n{}", daemon.logs());
    let attempts = new["attempts"].as_array().expect("attempts");
    let inbound: Vec<&Value> = attempts.iter().filter(|a| a["kind"] == "inbound").collect();
    assert_eq!(inbound.len(), 1, "{new}");
    assert_eq!(inbound[0]["result"], "confirmed", "{new}");
    assert_eq!(inbound[0]["digits"], "1", "{new}");
    assert_eq!(inbound[0]["attempt_no"], 1001, "{new}");
    assert!(
        attempts.iter().all(|a| a["state"] != "due"),
        "a settled order keeps no robo-call to place: {new}"
    );
    // Several open orders: only the most recent one is taken.
    let old = get(http, "CB-OLD");
    assert_eq!(old["status"], "calling", "{old}");
    assert!(old["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .all(|a| a["kind"] == "outbound"));
    assert_eq!(get(http, "CB-OTHER")["status"], "calling");

    // The merchant hears about it.
    let t0 = Instant::now();
    loop {
        let hooks = sink.received();
        let types: Vec<String> = hooks
            .iter()
            .map(|h| h.json())
            .filter(|v| v["data"]["order_id"] == "CB-NEW")
            .map(|v| v["type"].as_str().unwrap_or("").to_string())
            .collect();
        if types.iter().any(|t| t == "order.confirmed") {
            let inbound_attempt = hooks.iter().map(|h| h.json()).any(|v| {
                v["type"] == "call.attempted"
                    && v["data"]["order_id"] == "CB-NEW"
                    && v["data"]["kind"] == "inbound"
            });
            assert!(inbound_attempt, "{types:?}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no order.confirmed webhook for CB-NEW: {types:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_unknown_number_hears_the_polite_message_then_bye() {
    // A 2.5 s polite message, so its playing shows in the call's length.
    let Rig {
        dir,
        sink: _sink,
        http,
        _trunk,
        daemon,
    } = rig(1, |d| {
        let x: Vec<i16> = (0..20_000)
            .map(|i| {
                (5000.0 * (2.0 * std::f64::consts::PI * 1300.0 * i as f64 / 8000.0).sin()) as i16
            })
            .collect();
        write_wav(&d.join("prompts/en/callback_no_order.wav"), &x);
    });
    order(http, "CB-1", "+923001234567", "500");
    wait_first_call_done(http, "CB-1", &daemon);

    let t0 = Instant::now();
    // A key pressed does nothing: there is no menu.
    let caller = customer(dir.path(), &daemon, "03111111111", &[(0.5, '1', 0.12)]);
    let (ok, errors) = caller.finish(Duration::from_secs(30));
    let took = t0.elapsed();
    assert!(ok, "no BYE after the message: {errors}\n{}", daemon.logs());
    assert!(
        took >= Duration::from_millis(2_500) && took < Duration::from_secs(10),
        "the call lasted {took:?}: the 2.5 s message was not played through before the BYE"
    );
    assert!(
        daemon.logs().contains("inbound call matches no open order"),
        "{}",
        daemon.logs()
    );
    let o = get(http, "CB-1");
    assert_eq!(o["status"], "calling", "{o}");
    assert!(o["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .all(|a| a["kind"] == "outbound"));
}

/// A customer ringing back who presses 3 (issue #13): with no operator of
/// the order's mode in a session (this daemon has no call modes) they hear
/// the callback words at once and the merchant gets `order.operator`, not
/// connected, for the inbound attempt, as for a robo-call's customer.
#[test]
fn a_customer_calling_back_who_presses_3_is_told_to_the_merchant() {
    let Rig {
        dir,
        sink,
        http,
        daemon,
        _trunk,
    } = rig(1, |_| {});
    order(http, "CB-3", "+923001234567", "500");
    wait_first_call_done(http, "CB-3", &daemon);

    let caller = customer(dir.path(), &daemon, "03001234567", &[(1.0, '3', 0.12)]);
    let (ok, errors) = caller.finish(Duration::from_secs(30));
    assert!(ok, "no BYE after press 3: {errors}\n{}", daemon.logs());

    let o = get(http, "CB-3");
    let inbound: Vec<&Value> = o["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter(|a| a["kind"] == "inbound")
        .collect();
    assert_eq!(inbound.len(), 1, "{o}");
    assert_eq!(
        (&inbound[0]["result"], &inbound[0]["digits"]),
        (&Value::from("operator"), &Value::from("3")),
        "{o}"
    );

    let t0 = Instant::now();
    loop {
        let hook = sink.received().iter().map(|h| h.json()).find(|v| {
            v["type"] == "order.operator"
                && v["data"]["order_id"] == "CB-3"
                && v["data"]["attempt"] == inbound[0]["attempt_no"]
        });
        if let Some(v) = hook {
            assert_eq!(v["data"]["connected"], false, "{v}");
            assert!(v["data"]["agent_id"].is_null(), "{v}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "no order.operator webhook for the inbound press 3\n{}",
            daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
