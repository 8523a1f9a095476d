//! `DialQueue::pick` with 100,000 queued orders.
//!
//! Each iteration picks the next order for an agent and releases it again, so
//! the queue stays at 100,000 and every iteration does the real work (choose,
//! take out of the index, put back). The reference in the same run is the
//! orders-in-line view cut to one item: it ranks every order, which is what a
//! picker without indexes would have to do. Report the ratio, not the times.
//!
//! `cargo bench -p orderline-dialer --bench pick`

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use orderline_dialer::modes::{DialQueue, DialResult, DialerConfig, OrderCard, QueueFilter};
use orderline_dialer::window::{parse_timezone, CallWindow};

const ORDERS: usize = 100_000;

const CONFIG: &str = r#"
[[dialer.modes]]
id = "new_a"
kind = "new_leads"
project = "a"
priority = 10
high_priority_new = true
agents = ["a1"]
[[dialer.modes]]
id = "new_b"
kind = "new_leads"
project = "b"
priority = 10
agents = ["a1"]
[[dialer.modes]]
id = "re_a"
kind = "reconfirmation"
project = "a"
priority = 5
agents = ["a1"]
[[dialer.statuses]]
name = "processing"
mode = "new_a"
[[dialer.statuses]]
name = "processing"
mode = "new_b"
[[dialer.statuses]]
name = "reconfirm"
mode = "re_a"
"#;

#[derive(serde::Deserialize)]
struct Root {
    dialer: DialerConfig,
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("bench timestamp")
        .with_timezone(&Utc)
}

/// 100,000 orders over two projects, three modes and four zones; a tenth
/// already tried once (no_answer, due), a few hundred callbacks for anyone.
fn queue(now: DateTime<Utc>) -> DialQueue {
    let root: Root = toml::from_str(CONFIG).expect("bench config parses");
    let calling = CallWindow::parse("09:00-21:00", "UTC").expect("static window");
    let rules = root
        .dialer
        .validate(&calling)
        .expect("bench config is valid");
    let mut q = DialQueue::new(rules);
    let zones = [
        "Asia/Karachi",
        "America/New_York",
        "Europe/Paris",
        "Asia/Dubai",
    ]
    .map(|z| parse_timezone(z).expect("zone"));
    let start = now - TimeDelta::hours(6);
    for i in 0..ORDERS {
        let card = OrderCard {
            id: format!("ord-{i:06}"),
            project: if i % 3 == 0 { "b" } else { "a" }.into(),
            timezone: Some(zones[i % zones.len()]),
            created_at: now - TimeDelta::seconds((ORDERS - i) as i64),
            upsell_eligible: false,
        };
        // Only project a has a reconfirmation mode.
        let status = if i % 7 == 0 && i % 3 != 0 {
            "reconfirm"
        } else {
            "processing"
        };
        q.set_status(card, status, start).expect("known status");
    }
    for i in 0..ORDERS / 10 {
        let Some(p) = q.pick("a1", start) else { break };
        let outcome = if i % 50 == 0 {
            DialResult::Callback {
                at: now - TimeDelta::minutes(5),
                same_agent: false,
            }
        } else {
            DialResult::NoAnswer
        };
        q.finish(&p.order_id, outcome, start).expect("in flight");
    }
    q
}

fn bench(c: &mut Criterion) {
    // 15:00Z: Karachi 20:00 and Dubai 19:00 open, Paris 16:00 open, New York 10:00 open.
    // 18:00Z: Karachi and Dubai closed, so the picker must look past their heads.
    for (label, now) in [
        ("all zones open", at("2026-12-07T15:00:00Z")),
        ("half the zones closed", at("2026-12-07T18:00:00Z")),
    ] {
        let mut q = queue(now);
        assert_eq!(q.len(), ORDERS);
        c.bench_function(&format!("pick+release, 100k orders, {label}"), |b| {
            b.iter(|| {
                let p = q.pick("a1", now).expect("something is due");
                q.release_in_flight(&p.order_id, now).expect("just picked");
                black_box(p)
            })
        });
        let one = QueueFilter {
            limit: Some(1),
            ..Default::default()
        };
        c.bench_function(&format!("reference: rank all 100k, {label}"), |b| {
            b.iter(|| black_box(q.queue(&one, now)))
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
