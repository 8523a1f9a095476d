//! Confirmation campaigns end to end: a merchant posts orders to
//! `orderline serve`, the daemon calls SIPp callees over real SIP/RTP, the
//! outcome lands in the store and arrives at the merchant's webhook endpoint,
//! signed. Also: busy → retry scheduled, high value → flagged without a call
//! then decided, and a `kill -9` in the middle of 200 live orders.

#[macro_use]
mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::Mac;
use support::http::{json, WebhookSink};
use support::*;

const TOKEN: &str = "test-token-7f3a";
const SECRET: &str = "merchant-secret-91c2";

struct Campaign {
    dir: tempfile::TempDir,
    sink: WebhookSink,
    http: SocketAddr,
    daemon: Daemon,
    sipp: Option<Sipp>,
}

/// A callee scenario (SIPp, for `calls` calls) keying `key` 0.4 s after answering.
fn keying_callee(dir: &Path, key: char, calls: u32) -> Sipp {
    keying_callee_on(dir, key, calls, free_udp_port())
}

fn keying_callee_on(dir: &Path, key: char, calls: u32, port: u16) -> Sipp {
    let wav = dir.join("callee.wav");
    write_wav(&wav, &keypress_audio(&[(0.4, key, 0.12)], 4.0));
    let raw = dir.join("callee.ul");
    sox_g711(&wav, &raw, "ul");
    let action = format!("rtp_stream=\"{},1,0\"", raw.display());
    let sc = scenario(
        dir,
        "callee_inband.xml",
        &[
            ("@CODEC_PT@", "0"),
            ("@CODEC_NAME@", "PCMU"),
            ("@MEDIA_ACTION@", &action),
        ],
    );
    Sipp::start_on(&sc, dir, port, &["-m", &calls.to_string(), "-l", "200"])
}

fn tail(sink: &WebhookSink, http: SocketAddr, campaign: &str) -> String {
    format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n\
         [webhooks]\nurl = \"{}\"\nsecret = \"{SECRET}\"\n\n{campaign}\n",
        sink.url()
    )
}

fn free_tcp() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], support::free_tcp_port()))
}

impl Campaign {
    fn start(
        sipp: Option<Sipp>,
        trunk_port: u16,
        dir: tempfile::TempDir,
        campaign_cfg: &str,
    ) -> Campaign {
        Campaign::start_trunk(sipp, trunk_port, dir, "", campaign_cfg)
    }

    fn start_trunk(
        sipp: Option<Sipp>,
        trunk_port: u16,
        dir: tempfile::TempDir,
        trunk: &str,
        campaign_cfg: &str,
    ) -> Campaign {
        let sink = WebhookSink::start();
        let http = free_tcp();
        let daemon = Daemon::start_trunk(
            dir.path(),
            trunk_port,
            trunk,
            &tail(&sink, http, campaign_cfg),
            |_| {},
        );
        Campaign {
            dir,
            sink,
            http,
            daemon,
            sipp,
        }
    }

    fn post_order(&self, id: &str, amount: &str, kind: &str) {
        let body = format!(
            r#"{{"id":"{id}","phone":"03001234567","amount":"{amount}","currency":"PKR",
                "customer":{{"kind":"{kind}"}},"items":[{{"sku":"A1","qty":1}}],"locale":"en"}}"#
        );
        let (st, v) = json(self.http, "POST", "/v1/orders", TOKEN, Some(&body));
        assert_eq!(st, 201, "create {id}: {v}\n{}", self.daemon.logs());
    }

    fn order(&self, id: &str) -> serde_json::Value {
        let (st, v) = json(self.http, "GET", &format!("/v1/orders/{id}"), TOKEN, None);
        assert_eq!(st, 200, "get {id}: {v}");
        v
    }

    /// Poll until the order's status is one of `want`.
    fn wait_status(&self, id: &str, want: &[&str], limit: Duration) -> serde_json::Value {
        support::http::wait_order_status(self.http, TOKEN, id, want, limit, || self.daemon.logs())
    }

    /// Poll until the sink holds a webhook of `kind` for `order`.
    fn wait_hook(&self, kind: &str, order: &str, limit: Duration) -> support::http::Hook {
        let t0 = Instant::now();
        loop {
            if let Some(h) = self
                .sink
                .received()
                .into_iter()
                .find(|h| h.json()["type"] == kind && h.body.contains(&format!("\"{order}\"")))
            {
                return h;
            }
            assert!(
                t0.elapsed() < limit,
                "no {kind} webhook for {order}: {:?}",
                self.sink.received()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Recompute the Standard Webhooks signature independently of the daemon.
fn assert_signed(h: &support::http::Hook) {
    let id = h.header("webhook-id").expect("webhook-id header");
    let ts = h
        .header("webhook-timestamp")
        .expect("webhook-timestamp header");
    let sig = h
        .header("webhook-signature")
        .expect("webhook-signature header");
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).expect("hmac key");
    mac.update(format!("{id}.{ts}.{}", h.body).as_bytes());
    let expected = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    assert!(
        sig.split(' ').any(|s| s == expected),
        "bad signature {sig}, expected {expected}"
    );
    let age = chrono_age_secs(ts);
    assert!(age.abs() < 120, "webhook-timestamp {ts} is {age} s off");
}

fn chrono_age_secs(ts: &str) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    now - ts.parse::<i64>().expect("unix seconds")
}

#[test]
fn key_one_confirms_the_order_and_a_signed_webhook_arrives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = keying_callee(dir.path(), '1', 1);
    let port = sipp.port;
    let c = Campaign::start(Some(sipp), port, dir, "");
    c.post_order("ord-1001", "2450", "new");
    let v = c.wait_status("ord-1001", &["confirmed"], Duration::from_secs(20));
    let a = &v["attempts"][0];
    assert_eq!(a["result"], "confirmed", "{v}");
    assert_eq!(a["digits"], "1", "{v}");
    assert_eq!(a["sip_status"], 200, "{v}");
    let statuses: Vec<&str> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["to"].as_str())
        .collect();
    assert!(statuses.ends_with(&["confirmed"]), "history {statuses:?}");

    let confirmed = c.wait_hook("order.confirmed", "ord-1001", Duration::from_secs(10));
    assert_signed(&confirmed);
    let attempted = c.wait_hook("call.attempted", "ord-1001", Duration::from_secs(10));
    assert_signed(&attempted);
    assert_ne!(
        confirmed.header("webhook-id"),
        attempted.header("webhook-id")
    );
    let (ok, errors) = c.sipp.expect("sipp").finish(Duration::from_secs(10));
    assert!(ok, "SIPp saw a broken call: {errors}");
}

#[test]
fn key_two_cancels_the_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = keying_callee(dir.path(), '2', 1);
    let port = sipp.port;
    let c = Campaign::start(Some(sipp), port, dir, "");
    c.post_order("ord-2002", "999.50", "returning");
    let v = c.wait_status("ord-2002", &["cancelled"], Duration::from_secs(20));
    assert_eq!(v["attempts"][0]["digits"], "2", "{v}");
    assert_signed(&c.wait_hook("order.cancelled", "ord-2002", Duration::from_secs(10)));
}

#[test]
fn busy_callee_records_the_attempt_and_schedules_a_retry_three_hours_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = Sipp::start(
        &Path::new(SCENARIOS).join("callee_busy.xml"),
        dir.path(),
        &[],
    );
    let port = sipp.port;
    let c = Campaign::start(Some(sipp), port, dir, "");
    c.post_order("ord-3003", "1500", "new");
    let t0 = Instant::now();
    let v = loop {
        let v = c.order("ord-3003");
        if v["attempts"].as_array().is_some_and(|a| a.len() >= 2) {
            break v;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no retry scheduled: {v}\n{}",
            c.daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let first = &v["attempts"][0];
    assert_eq!(first["result"], "busy", "{v}");
    assert_eq!(first["sip_status"], 486, "{v}");
    let retry = &v["attempts"][1];
    assert_eq!(retry["state"], "due", "{v}");
    let started =
        chrono::DateTime::parse_from_rfc3339(first["time"].as_str().expect("first started"))
            .expect("time");
    let due =
        chrono::DateTime::parse_from_rfc3339(retry["scheduled_at"].as_str().expect("scheduled"))
            .expect("time");
    let gap = (due - started).num_minutes();
    // 3 h later, unless that falls outside the test window (00:00-23:59 UTC).
    assert!(
        gap == 180 || (due.format("%H:%M").to_string() == "00:00"),
        "retry {gap} min after the call: {v}"
    );
    assert_ne!(v["status"], "confirmed");
    assert_signed(&c.wait_hook("call.attempted", "ord-3003", Duration::from_secs(10)));
}

#[test]
fn high_value_order_is_flagged_without_a_call_then_the_merchant_decides() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The trunk is a socket we hold: any INVITE would arrive here.
    let trunk = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind trunk");
    trunk
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let port = trunk.local_addr().expect("addr").port();
    let c = Campaign::start(None, port, dir, "[campaign.flag_above]\nnew = \"50000\"\n");
    c.post_order("ord-4004", "75000", "new");
    let v = c.wait_status("ord-4004", &["flagged"], Duration::from_secs(5));
    assert_eq!(
        v["attempts"].as_array().map(Vec::len),
        Some(0),
        "a flagged order is not called: {v}"
    );
    assert_signed(&c.wait_hook("order.flagged", "ord-4004", Duration::from_secs(10)));
    let mut buf = [0u8; 2048];
    assert!(
        trunk.recv_from(&mut buf).is_err(),
        "the daemon sent SIP to the trunk for a flagged order"
    );

    let (st, body) = json(
        c.http,
        "POST",
        "/v1/orders/ord-4004/decision",
        TOKEN,
        Some(r#"{"decision":"confirm"}"#),
    );
    assert_eq!(st, 200, "{body}");
    c.wait_status("ord-4004", &["confirmed"], Duration::from_secs(5));
    assert_signed(&c.wait_hook("order.confirmed", "ord-4004", Duration::from_secs(10)));
}

#[test]
fn kill_dash_nine_with_200_orders_in_flight_loses_nothing_and_calls_nothing_twice() {
    let n = 200;
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = keying_callee(dir.path(), '1', 10_000);
    let port = sipp.port;
    let mut c = Campaign::start_trunk(Some(sipp), port, dir, "max_channels = 20", "");
    for i in 0..n {
        c.post_order(&format!("crash-{i:03}"), "1200", "new");
    }
    // Let some calls complete and others be live, then kill without a drain.
    let t0 = Instant::now();
    loop {
        let done = c
            .sink
            .received()
            .iter()
            .filter(|h| h.json()["type"] == "order.confirmed")
            .count();
        if done >= 60 || t0.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    c.daemon.kill9();
    let killed_at = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now());
    // The carrier side: dialogs of the killed calls never get their BYE. A real
    // trunk times them out (no RTP, session timers); SIPp would hold them for
    // ever and starve its RTP streamer, so the fake carrier restarts too.
    drop(c.sipp.take());
    c.sipp = Some(keying_callee_on(c.dir.path(), '1', 10_000, port));

    // Restart on the same database and config.
    let cfg = c.daemon.config.clone();
    let log = c.daemon.log.clone();
    c.daemon = Daemon::spawn(&cfg, c.daemon.port, &log);

    // Every order reaches a final state or a correctly scheduled retry.
    let t0 = Instant::now();
    let mut last = HashMap::new();
    loop {
        let mut pending = 0;
        for i in 0..n {
            let id = format!("crash-{i:03}");
            let v = c.order(&id);
            let attempts = v["attempts"].as_array().cloned().unwrap_or_default();
            let settled = v["status"] == "confirmed"
                || attempts
                    .last()
                    .is_some_and(|a| a["state"] == "due" && a["attempt_no"].as_u64() > Some(1));
            if !settled {
                pending += 1;
            }
            last.insert(id, v);
        }
        if pending == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "{pending} orders unsettled after restart\n{}",
            c.daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    let mut confirmed = HashSet::new();
    let mut interrupted = 0;
    for (id, v) in &last {
        let attempts = v["attempts"].as_array().expect("attempts");
        let completed = attempts
            .iter()
            .filter(|a| a["result"] == "confirmed")
            .count();
        assert!(completed <= 1, "{id} has {completed} completed calls: {v}");
        for a in attempts.iter().filter(|a| {
            a["error"]
                .as_str()
                .is_some_and(|e| e.contains("interrupted"))
        }) {
            interrupted += 1;
            assert_eq!(
                a["result"], "failed",
                "{id}: an interrupted attempt counts as failed: {v}"
            );
        }
        if v["status"] == "confirmed" {
            assert_eq!(completed, 1, "{id} confirmed without a completed call: {v}");
            confirmed.insert(id.clone());
        } else {
            // Re-scheduled per the rules: the next attempt is 3 h after the interrupted one.
            let next = attempts.last().expect("a retry");
            let due =
                chrono::DateTime::parse_from_rfc3339(next["scheduled_at"].as_str().expect("due"))
                    .expect("time");
            assert!(
                due > killed_at + chrono::TimeDelta::minutes(170),
                "{id} retry due too soon: {v}"
            );
        }
    }
    // Every confirmed order's webhook arrives (deduplicated by webhook-id).
    let t0 = Instant::now();
    loop {
        let hooks = c.sink.received();
        let ids: HashSet<String> = hooks
            .iter()
            .filter(|h| h.json()["type"] == "order.confirmed")
            .filter_map(|h| h.json()["data"]["order_id"].as_str().map(str::to_string))
            .collect();
        if confirmed.is_subset(&ids) {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{} confirmed orders without a webhook",
            confirmed.difference(&ids).count()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let by_id: HashMap<String, String> = c
        .sink
        .received()
        .iter()
        .filter_map(|h| Some((h.header("webhook-id")?.to_string(), h.body.clone())))
        .collect();
    for h in c.sink.received() {
        let id = h.header("webhook-id").expect("id");
        assert_eq!(
            by_id[id], h.body,
            "a redelivered webhook kept its id but changed its body"
        );
    }
    if let Some((id, v)) = last
        .iter()
        .find(|(_, v)| v["status"] != "confirmed" && !v.to_string().contains("interrupted"))
    {
        eprintln!("a re-scheduled order, {id}: {v}");
    }
    eprintln!("killed at {killed_at}");
    eprintln!(
        "crash test: {} confirmed, {} re-scheduled, {} interrupted attempts, {} webhooks",
        confirmed.len(),
        n - confirmed.len(),
        interrupted,
        c.sink.received().len()
    );
    assert_eq!(last.len(), n);
    assert!(
        interrupted > 0,
        "the kill hit no live call: the crash path was not exercised"
    );
    // Orders not interrupted by the kill were all confirmed: nothing failed for local reasons.
    assert_eq!(
        confirmed.len() + interrupted,
        n,
        "orders neither confirmed nor interrupted"
    );
}
