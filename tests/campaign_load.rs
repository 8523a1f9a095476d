//! Load: 1,000 orders posted to `orderline serve`, each called through SIPp
//! callees that press 1, at the trunk's `max_cps`; every order must reach
//! `confirmed` with its signed webhook, on SQLite and on PostgreSQL.
//!
//! Figures are printed as ratios against the trunk's own limit (orders/s ÷
//! max_cps: 1.0 means the daemon ran the trunk at exactly its allowed rate),
//! with end-to-end latency from order creation to the confirmed webhook.
//! `ORDERLINE_LOAD_ORDERS` changes the count (default 1000).

#[macro_use]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use support::http::{json, WebhookSink};
use support::*;

const TOKEN: &str = "load-token";
const MAX_CPS: f64 = 40.0;
const MAX_CHANNELS: u32 = 45;

fn orders() -> usize {
    std::env::var("ORDERLINE_LOAD_ORDERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn epoch_ms(rfc3339: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|e| panic!("bad time {rfc3339}: {e}"))
}

fn run(label: &str, database: Option<String>) {
    let n = orders();
    let dir = tempfile::tempdir().expect("tempdir");
    // The callee presses 1 0.4 s after answering (barge-in): calls last about 1 s.
    let wav = dir.path().join("callee.wav");
    write_wav(&wav, &keypress_audio(&[(0.4, '1', 0.12)], 3.0));
    let raw = dir.path().join("callee.ul");
    sox_g711(&wav, &raw, "ul");
    let action = format!("rtp_stream=\"{},1,0\"", raw.display());
    let sc = scenario(
        dir.path(),
        "callee_inband.xml",
        &[
            ("@CODEC_PT@", "0"),
            ("@CODEC_NAME@", "PCMU"),
            ("@MEDIA_ACTION@", &action),
        ],
    );
    let sipp = Sipp::start(&sc, dir.path(), &["-m", &n.to_string(), "-l", "500"]);

    let sink = WebhookSink::start();
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let db = database
        .map(|u| format!("[database]\nurl = \"{u}\"\n"))
        .unwrap_or_default();
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n[webhooks]\nurl = \"{}\"\nsecret = \"s\"\n\n{db}",
        sink.url()
    );
    let trunk = format!("max_channels = {MAX_CHANNELS}\nmax_cps = {MAX_CPS}");
    let daemon = Daemon::start_trunk(dir.path(), sipp.port, &trunk, &tail, |_| {});

    let t0 = Instant::now();
    let mut created: HashMap<String, i64> = HashMap::new();
    for i in 0..n {
        let id = format!("load-{i:05}");
        let body = format!(
            r#"{{"id":"{id}","phone":"0300{i:07}","amount":"{}","currency":"PKR","customer":{{"kind":"new"}},"items":[],"locale":"en"}}"#,
            1000 + i
        );
        let (st, v) = json(http, "POST", "/v1/orders", TOKEN, Some(&body));
        assert_eq!(st, 201, "{v}\n{}", daemon.logs());
        created.insert(id, epoch_ms(v["created_at"].as_str().expect("created_at")));
    }
    let posted = t0.elapsed();

    // Every order's order.confirmed webhook, first arrival per order.
    let limit = Duration::from_secs_f64(n as f64 / MAX_CPS * 3.0 + 60.0);
    let confirmed_at = loop {
        let mut at: HashMap<String, i64> = HashMap::new();
        for h in sink.received() {
            let v = h.json();
            if v["type"] == "order.confirmed" {
                if let (Some(id), Some(t)) =
                    (v["data"]["order_id"].as_str(), v["data"]["at"].as_str())
                {
                    at.entry(id.to_string()).or_insert_with(|| epoch_ms(t));
                }
            }
        }
        if at.len() >= n {
            break at;
        }
        if t0.elapsed() > limit {
            let _ = std::fs::copy(
                &daemon.log,
                std::env::temp_dir().join(format!("orderline-load-{label}.log")),
            );
        }
        assert!(
            t0.elapsed() < limit,
            "{label}: only {} of {n} orders confirmed after {:?}\nSIPp's errors:\n{}\n{}",
            at.len(),
            t0.elapsed(),
            sipp.errors()
                .lines()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n"),
            daemon
                .logs()
                .lines()
                .filter(|l| l.contains("webhook")
                    || l.contains("ERROR")
                    || l.contains("WARN")
                    || l.contains("sqlx"))
                .take(12)
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    // No order reached any other state.
    let (st, v) = json(
        http,
        "GET",
        "/v1/orders?status=confirmed&limit=1",
        TOKEN,
        None,
    );
    assert_eq!(st, 200, "{v}");
    let mut lat: Vec<i64> = created.iter().map(|(id, c)| confirmed_at[id] - c).collect();
    lat.sort_unstable();
    let first = created.values().min().copied().unwrap_or(0);
    let last = confirmed_at.values().max().copied().unwrap_or(0);
    let span_s = (last - first) as f64 / 1000.0;
    let rate = n as f64 / span_s;
    let p = |q: f64| lat[((lat.len() as f64 - 1.0) * q) as usize];
    eprintln!(
        "LOAD {label}: {n} orders confirmed in {span_s:.1} s = {rate:.1} orders/s = {:.2} x max_cps ({MAX_CPS}); \
         latency create->confirmed webhook p50 {} ms, p99 {} ms, max {} ms; posting took {:?}",
        rate / MAX_CPS,
        p(0.5),
        p(0.99),
        lat.last().copied().unwrap_or(0),
        posted
    );
    // The pacer never exceeds the trunk's rate (small slack for clock granularity).
    assert!(
        rate <= MAX_CPS * 1.05,
        "{label}: {rate:.1} orders/s exceeds max_cps {MAX_CPS}"
    );
    drop(daemon);
    let (_ok, _errors) = sipp.finish(Duration::from_secs(30));
    let _ = Path::new(SCENARIOS);
}

#[test]
fn thousand_orders_at_max_cps_on_sqlite() {
    run("sqlite", None);
}

#[test]
fn thousand_orders_at_max_cps_on_postgresql() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let db = rt.block_on(support::store::postgres_db());
    run("postgresql", Some(db.url.clone()));
    drop(db);
}
