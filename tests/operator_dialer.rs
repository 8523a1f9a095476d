//! The operator dialer with real peers (issue #11): two baresip agents
//! register and log in (one INVITE each for the whole shift), 30 orders
//! flow into a call mode, and once the agents say `ready` orderline dials
//! the orders one line per ready agent, connecting each answering SIPp
//! customer into the agent's live leg. The test plays the operators: each
//! time an agent is in `wrap_up` it posts the disposition, which settles
//! the order (status `confirmed`) and makes the agent ready for the next.
//! Proven: every order dialled exactly once and confirmed, no phone rung
//! twice, a paused agent gets no call, and each agent's log reads
//! reserve → customer_connected → customer_ended → disposition per call.

#[macro_use]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use support::session_rig::{answers, busy_customers, Rig, AGENTS};

const ORDERS: usize = 30;

/// Flagged orders (every order: 1 is above the threshold for a new
/// customer) go to people, in mode `new` worked by both agents.
const DIALER: &str = r#"
[campaign.flag_above]
new = "1"

[[dialer.modes]]
id = "new"
kind = "new_leads"
pacing = "progressive"
status_after_max = "no_contact"
agents = ["ayesha", "bilal"]

[[dialer.statuses]]
name = "flagged"
mode = "new"

[[dialer.statuses]]
name = "no_contact"
"#;

fn order(i: usize) -> String {
    format!(
        r#"{{"id":"OD{i:02}","phone":"+92300{i:07}","amount":"1500","currency":"PKR","customer":{{"kind":"new"}},"items":[{{"sku":"A1","qty":1}}]}}"#
    )
}

fn state(rig: &Rig, agent: &str) -> serde_json::Value {
    let (st, v) = rig.api("GET", &format!("/v1/agents/{agent}"), None);
    assert_eq!(st, 200, "{v}");
    v
}

#[test]
fn ready_agents_get_the_queued_orders_one_line_each() {
    let rig = Rig::start(ORDERS, DIALER);
    let phones: Vec<_> = AGENTS
        .iter()
        .map(|(id, user, pass)| rig.phone(id, user, pass))
        .collect();
    rig.wait_registered(2);
    for i in 0..ORDERS {
        let (st, v) = rig.api("POST", "/v1/orders", Some(&order(i)));
        assert_eq!(st, 201, "{v}");
        assert_eq!(v["status"], "flagged", "{v}");
    }
    rig.wait(
        "the orders are queued in mode new",
        "/v1/dialer/modes/new",
        Duration::from_secs(5),
        |st, v| st == 200 && v.to_string().contains(&format!("\"unprocessed\":{ORDERS}")),
    );

    // Log in: each agent's phone is called once; the agent starts paused,
    // so nothing is dialled yet.
    let logged_in = Instant::now();
    for (id, ..) in AGENTS {
        let (st, v) = rig.api("POST", &format!("/v1/agents/{id}/session"), None);
        assert_eq!(st, 201, "{v}\n{}", rig.daemon.logs());
    }
    for (id, ..) in AGENTS {
        rig.wait(
            "the agent is logged in, paused",
            &format!("/v1/agents/{id}"),
            Duration::from_secs(10),
            |st, v| st == 200 && v["state"] == "paused",
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    let (_, calls) = rig.api("GET", "/v1/calls", None);
    assert_eq!(
        calls["calls"].as_array().map(Vec::len),
        Some(0),
        "a paused agent gets no call: {calls}"
    );

    for (id, ..) in AGENTS {
        let (st, v) = rig.api(
            "PUT",
            &format!("/v1/agents/{id}/state"),
            Some(r#"{"state":"ready"}"#),
        );
        assert_eq!(st, 200, "{v}");
    }

    // Work the shift: dispose of each call when its agent is in wrap-up.
    let mut disposed: BTreeMap<String, String> = BTreeMap::new();
    let mut per_agent: BTreeMap<&str, usize> = BTreeMap::new();
    let t0 = Instant::now();
    while disposed.len() < ORDERS {
        assert!(
            t0.elapsed() < Duration::from_secs(180),
            "{} of {ORDERS} orders disposed: {disposed:?}\n{}",
            disposed.len(),
            rig.daemon.logs()
        );
        for (id, ..) in AGENTS {
            let v = state(&rig, id);
            if v["state"] != "wrap_up" {
                continue;
            }
            let call = v["call_id"]
                .as_str()
                .expect("wrap-up names its call")
                .to_string();
            // The floor (wrap-up) and the call row (ended) are written by
            // two tasks; the row follows within moments.
            let c = rig.wait(
                "the call row ends",
                &format!("/v1/calls/{call}"),
                Duration::from_secs(5),
                |st, c| st == 200 && c["status"] == "ended",
            );
            let order = c["order_id"]
                .as_str()
                .expect("a dialled call names its order");
            // Bilal takes a break after his third call: dispose and pause
            // in one step, so no customer is handed to him in between.
            let n = per_agent.entry(id).or_default();
            *n += 1;
            let body = if id == "bilal" && *n == 3 {
                r#"{"disposition":"confirmed","pause_code":"break"}"#
            } else {
                r#"{"disposition":"confirmed"}"#
            };
            let (st, d) = rig.api("POST", &format!("/v1/calls/{call}/disposition"), Some(body));
            assert_eq!(st, 200, "{d}");
            assert!(
                disposed.insert(order.to_string(), id.to_string()).is_none(),
                "order {order} was dialled twice"
            );
        }
        std::thread::sleep(Duration::from_millis(25));
    }

    // Every order confirmed, once; nothing left in the mode.
    for i in 0..ORDERS {
        let (st, o) = rig.api("GET", &format!("/v1/orders/OD{i:02}"), None);
        assert_eq!(st, 200, "{o}");
        assert_eq!(o["status"], "confirmed", "{o}");
    }
    let (_, calls) = rig.api("GET", "/v1/calls", None);
    let dialled: Vec<&str> = calls["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["order_id"].as_str())
        .collect();
    let distinct: BTreeSet<&str> = dialled.iter().copied().collect();
    assert_eq!(dialled.len(), ORDERS, "one call per order: {calls}");
    assert_eq!(distinct.len(), ORDERS);
    assert_eq!(per_agent.get("bilal"), Some(&3), "no call after the pause");
    assert_eq!(per_agent.get("ayesha"), Some(&(ORDERS - 3)));
    for p in &phones {
        assert_eq!(
            answers(p),
            1,
            "one INVITE per phone for the shift:\n{}",
            p.logs()
        );
    }
    let v = state(&rig, "bilal");
    assert_eq!(v["state"], "paused", "{v}");
    assert_eq!(v["pause_code"], "break", "{v}");

    // The agent log's day seconds add up: never more than the time since
    // login, and Ayesha talked for most of her 27 calls of 1.5 s each.
    let shift = logged_in.elapsed().as_secs() + 2;
    for (id, ..) in AGENTS {
        let v = state(&rig, id);
        let day = &v["today"];
        let secs = |k: &str| day[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
        let total = secs("paused") + secs("waiting") + secs("talking") + secs("wrap_up");
        assert!(
            total <= shift,
            "{id}: {total} s logged in a {shift} s shift: {v}"
        );
    }
    let talking = state(&rig, "ayesha")["today"]["talking"]
        .as_u64()
        .unwrap_or(0);
    assert!(talking >= 20, "ayesha talked {talking} s over 27 calls");
}

/// A busy customer: the agent is released back to `ready` at once (no
/// wrap-up, nothing to dispose), the order costs one attempt and is put off
/// in `no_answer` for the mode's `put_off`, so it is not dialled again now.
#[test]
fn a_busy_customer_puts_the_order_off_and_frees_the_agent() {
    let config = DIALER.replace(
        "pacing = \"progressive\"",
        "pacing = \"progressive\"\nput_off = \"30m\"",
    );
    let rig = Rig::start_with(busy_customers, &config);
    let (id, user, pass) = AGENTS[0];
    let phone = rig.phone(id, user, pass);
    rig.wait_registered(1);
    let (st, v) = rig.api("POST", "/v1/orders", Some(&order(1)));
    assert_eq!(st, 201, "{v}");
    rig.log_in_ready(id);

    let mode = rig.wait(
        "the order is put off after the busy call",
        "/v1/dialer/modes/new",
        Duration::from_secs(15),
        |st, v| st == 200 && v.to_string().contains("\"no_answer\":1"),
    );
    assert!(mode.to_string().contains("\"in_flight\":0"), "{mode}");
    let v = state(&rig, id);
    assert_eq!(v["state"], "ready", "released, no wrap-up: {v}");
    // Not dialled again while put off.
    std::thread::sleep(Duration::from_secs(2));
    let (_, calls) = rig.api("GET", "/v1/calls", None);
    let calls = calls["calls"].as_array().expect("calls").clone();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["status"], "failed", "{:?}", calls[0]);
    assert_eq!(calls[0]["customer_cause"], "busy", "{:?}", calls[0]);
    assert_eq!(calls[0]["order_id"], "OD01");
    let (_, o) = rig.api("GET", "/v1/orders/OD01", None);
    assert_eq!(o["status"], "flagged", "still to be called: {o}");
    assert_eq!(answers(&phone), 1, "{}", phone.logs());
}
