//! `kill -9` of the daemon mid-shift with the operator dialer live (issue
//! #11), on SQLite and PostgreSQL: two baresip agents in sessions, SIPp
//! customers who answer (+92300…) or ring and never answer (+92303…). Two
//! calls are settled by the agents (a callback booked for the same agent,
//! a confirmation), then each agent is reserved for a ringing customer and
//! the daemon is killed without a drain. Restarted on the same database:
//! the disposition and the callback are kept, the two orders that were
//! ringing are back in `unprocessed` without an attempt spent, their call
//! rows are closed as interrupted, the admin counts match the orders at
//! each step, and once an agent logs in again the next order is dialled
//! once, with nothing settled dialled again.

#[macro_use]
mod support;
#[allow(dead_code, unused_macros)]
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::session_rig::{self, customers_by_number, Rig, AGENTS};
use support::store::TestDb;
use support::Daemon;

const DIALER: &str = r#"
[campaign.flag_above]
new = "1"

[[dialer.modes]]
id = "new"
kind = "new_leads"
pacing = "progressive"
put_off = "30m"
max_attempts = 3
status_after_max = "no_contact"
agents = ["ayesha", "bilal"]

[[dialer.statuses]]
name = "flagged"
mode = "new"

[[dialer.statuses]]
name = "no_contact"
"#;

/// (order id, phone): two customers who answer, then two who only ring.
const ORDERS: [(&str, &str); 4] = [
    ("C1", "+923000000001"),
    ("C2", "+923000000002"),
    ("R1", "+923030000001"),
    ("R2", "+923030000002"),
];

const WAIT: Duration = Duration::from_secs(20);

fn agent(rig: &Rig, id: &str) -> Value {
    let (st, v) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    assert_eq!(st, 200, "{v}");
    v
}

fn calls(rig: &Rig) -> Vec<Value> {
    let (st, v) = rig.api("GET", "/v1/calls", None);
    assert_eq!(st, 200, "{v}");
    v["calls"].as_array().cloned().unwrap_or_default()
}

/// Poll until `ok`; panics with the daemon log at the limit.
fn until(rig: &Rig, what: &str, ok: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(
            t0.elapsed() < WAIT,
            "{what}\n--- daemon ---\n{}",
            rig.daemon.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The shared count check, plus: calls live = orders in flight (the
/// daemon holds still here: every line left rings for 15 s).
fn counts_match_the_orders(rig: &Rig) -> Value {
    let ids: Vec<&str> = ORDERS.iter().map(|(id, _)| *id).collect();
    let overview = session_rig::counts_match_the_orders(rig, &ids);
    let counts = overview["modes"][0]["counts"].clone();
    let live = calls(rig)
        .iter()
        .filter(|c| {
            matches!(
                c["status"].as_str(),
                Some("dialing_agent" | "dialing_customer" | "bridged")
            )
        })
        .count() as u64;
    assert_eq!(
        counts["in_flight"].as_u64(),
        Some(live),
        "in flight = calls live: {counts}"
    );
    counts
}

fn kill9_mid_shift(db: TestDb) {
    let extra = format!("[database]\nurl = \"{}\"\n{DIALER}", db.url);
    let mut rig = Rig::start_with(customers_by_number, &extra);
    let _phones: Vec<_> = AGENTS
        .iter()
        .map(|(id, user, pass)| rig.phone(id, user, pass))
        .collect();
    rig.wait_registered(2);
    for (id, phone) in ORDERS {
        let body = format!(
            r#"{{"id":"{id}","phone":"{phone}","amount":"1200","currency":"PKR","customer":{{"kind":"new"}},"items":[]}}"#
        );
        let (st, v) = rig.api("POST", "/v1/orders", Some(&body));
        assert_eq!(st, 201, "{v}");
        std::thread::sleep(Duration::from_millis(5));
    }
    for (id, ..) in AGENTS {
        let (st, v) = rig.api("POST", &format!("/v1/agents/{id}/session"), None);
        assert_eq!(st, 201, "{v}");
    }
    for (id, ..) in AGENTS {
        until(&rig, "logged in, paused", || {
            agent(&rig, id)["state"] == "paused"
        });
        let (st, v) = rig.api(
            "PUT",
            &format!("/v1/agents/{id}/state"),
            Some(r#"{"state":"ready"}"#),
        );
        assert_eq!(st, 200, "{v}");
    }

    // The two answering customers talk and hang up: both agents in wrap-up.
    until(&rig, "both agents in wrap-up", || {
        AGENTS
            .iter()
            .all(|(id, ..)| agent(&rig, id)["state"] == "wrap_up")
    });
    let mut settled: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for (id, ..) in AGENTS {
        let call = agent(&rig, id)["call_id"]
            .as_str()
            .expect("call")
            .to_string();
        let (_, c) = rig.api("GET", &format!("/v1/calls/{call}"), None);
        let order = c["order_id"].as_str().expect("order").to_string();
        assert!(order.starts_with('C'), "answering customers first: {c}");
        settled.insert(id, (call, order));
    }
    // Ayesha's customer asks her to call back in two hours; Bilal's confirms.
    let in_two_hours = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
        + 7200;
    let at = chrono::DateTime::from_timestamp(in_two_hours as i64, 0)
        .expect("time")
        .to_rfc3339();
    let (a_call, a_order) = settled["ayesha"].clone();
    let (b_call, b_order) = settled["bilal"].clone();
    let body =
        format!(r#"{{"disposition":"callback","callback_at":"{at}","callback_same_agent":true}}"#);
    let (st, v) = rig.api(
        "POST",
        &format!("/v1/calls/{a_call}/disposition"),
        Some(&body),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = rig.api(
        "POST",
        &format!("/v1/calls/{b_call}/disposition"),
        Some(r#"{"disposition":"confirmed"}"#),
    );
    assert_eq!(st, 200, "{v}");

    // Both ready again: each is reserved for a customer who only rings.
    until(&rig, "both agents reserved for ringing customers", || {
        AGENTS
            .iter()
            .all(|(id, ..)| agent(&rig, id)["state"] == "reserved")
            && calls(&rig)
                .iter()
                .filter(|c| c["status"] == "dialing_customer")
                .count()
                == 2
    });
    let before = counts_match_the_orders(&rig);
    assert_eq!(
        (
            &before["unprocessed"],
            &before["callback"],
            &before["in_flight"]
        ),
        (&0.into(), &1.into(), &2.into()),
        "{before}"
    );
    let ringing: Vec<String> = calls(&rig)
        .iter()
        .filter(|c| c["status"] == "dialing_customer")
        .map(|c| c["id"].as_str().expect("id").to_string())
        .collect();

    // kill -9, then the same config and database.
    rig.daemon.kill9();
    let (cfg, log, port) = (
        rig.daemon.config.clone(),
        rig.daemon.log.clone(),
        rig.daemon.port,
    );
    rig.daemon = Daemon::spawn(&cfg, port, &log);

    let after = counts_match_the_orders(&rig);
    assert_eq!(
        (
            &after["unprocessed"],
            &after["no_answer"],
            &after["callback"],
            &after["in_flight"]
        ),
        (&2.into(), &0.into(), &1.into(), &0.into()),
        "the ringing orders are back, the callback kept: {after}"
    );
    let (_, line) = rig.api("GET", "/v1/dialer/queue", None);
    let line = line["orders"].as_array().cloned().expect("line");
    for r in ["R1", "R2"] {
        let item = line
            .iter()
            .find(|x| x["order_id"] == r)
            .unwrap_or_else(|| panic!("{r} in line: {line:?}"));
        assert_eq!(item["subqueue"], "unprocessed", "{item}");
        assert_eq!(
            item["attempts"], 0,
            "an interrupted call costs no attempt: {item}"
        );
    }
    let cb = line
        .iter()
        .find(|x| x["order_id"] == a_order.as_str())
        .unwrap_or_else(|| panic!("the callback in line: {line:?}"));
    assert_eq!(cb["subqueue"], "callback", "{cb}");
    assert_eq!(cb["callback_agent"], "ayesha", "for the same agent: {cb}");
    let (_, o) = rig.api("GET", &format!("/v1/orders/{b_order}"), None);
    assert_eq!(o["status"], "confirmed", "{o}");
    assert!(o["dialer"].is_null(), "{o}");
    for id in &ringing {
        let (_, c) = rig.api("GET", &format!("/v1/calls/{id}"), None);
        assert_eq!(c["status"], "ended", "{c}");
        assert_eq!(c["agent_cause"], "interrupted", "{c}");
    }
    for (id, ..) in AGENTS {
        assert_eq!(agent(&rig, id)["state"], "offline", "a restart logs out");
    }
    // The dispositions themselves are on the call rows.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt.block_on(db.open());
    for (call, want) in [(&a_call, "callback"), (&b_call, "confirmed")] {
        let d = rt
            .block_on(store.call_disposition(call))
            .expect("read disposition")
            .expect("a disposition");
        assert_eq!(d.disposition, want);
    }

    // Ayesha logs in again: the oldest order back in line (R1) is dialled,
    // once; nothing settled is dialled again, nothing for Bilal's R2.
    let (st, v) = rig.api("POST", "/v1/agents/ayesha/session", None);
    assert_eq!(st, 201, "{v}\n{}", rig.daemon.logs());
    until(&rig, "ayesha logged in again", || {
        agent(&rig, "ayesha")["state"] == "paused"
    });
    let (st, v) = rig.api(
        "PUT",
        "/v1/agents/ayesha/state",
        Some(r#"{"state":"ready"}"#),
    );
    assert_eq!(st, 200, "{v}");
    until(&rig, "ayesha reserved for R1", || {
        agent(&rig, "ayesha")["state"] == "reserved"
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut per_order: BTreeMap<String, usize> = BTreeMap::new();
    let all = calls(&rig);
    for c in &all {
        *per_order
            .entry(c["order_id"].as_str().unwrap_or("-").to_string())
            .or_default() += 1;
    }
    let want: BTreeMap<String, usize> = [
        ("C1".to_string(), 1),
        ("C2".to_string(), 1),
        ("R1".to_string(), 2),
        ("R2".to_string(), 1),
    ]
    .into();
    assert_eq!(per_order, want, "{all:?}");
    counts_match_the_orders(&rig);
}

#[test]
fn kill9_mid_shift_loses_nothing_on_sqlite() {
    kill9_mid_shift(support::store::sqlite_db());
}

#[test]
fn kill9_mid_shift_loses_nothing_on_postgres() {
    let db = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(support::store::postgres_db());
    kill9_mid_shift(db);
}
