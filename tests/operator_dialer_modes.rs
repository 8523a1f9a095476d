//! The operator dialer's queues with real peers (issue #11, "How it is
//! proven"): two baresip agents in sessions with *different* mode access,
//! SIPp customers acting by the number dialled (answer; +92302… busy;
//! +92303… ring and never answer), 30 orders across two projects and three
//! modes:
//!
//! | mode    | project | kind           | priority | agents         |
//! |---------|---------|----------------|----------|----------------|
//! | `a_new` | shopA   | new_leads      | 10 + `high_priority_new` | ayesha, bilal |
//! | `b_new` | shopB   | new_leads      | 10       | bilal          |
//! | `a_re`  | shopA   | reconfirmation | 5        | ayesha         |
//!
//! The test plays both operators (a disposition whenever one is in
//! wrap-up) and checks, from the calls the daemon placed: each agent only
//! dials modes it may work; inside a mode the first calls go oldest order
//! first; a mode below is started only once the modes above it have no
//! unprocessed order left (shopA's boosted new leads before shopB's, new
//! leads before reconfirmation); busy orders come back after their
//! put-off (3 s here), after the unprocessed ones, and the attempt cap (2)
//! moves them, and the never-answering one, to `no_contact`; a callback
//! set by Ayesha for herself goes back to her, as her first pick once due,
//! and never to Bilal; every answered order is dialled once; and the admin
//! counts match the orders at every disposition.

#[macro_use]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use support::session_rig::{counts_match_the_orders, customers_by_number, Rig, AGENTS};

const DIALER: &str = r#"
[campaign.flag_above]
new = "1"

[[dialer.modes]]
id = "a_new"
kind = "new_leads"
project = "shopA"
priority = 10
high_priority_new = true
put_off = "3s"
max_attempts = 2
status_after_max = "no_contact"
agents = ["ayesha", "bilal"]

[[dialer.modes]]
id = "b_new"
kind = "new_leads"
project = "shopB"
priority = 10
put_off = "3s"
max_attempts = 2
status_after_max = "no_contact"
agents = ["bilal"]

[[dialer.modes]]
id = "a_re"
kind = "reconfirmation"
project = "shopA"
priority = 5
put_off = "3s"
max_attempts = 2
status_after_max = "no_contact"
agents = ["ayesha"]

[[dialer.statuses]]
name = "flagged"
mode = "a_new"

[[dialer.statuses]]
name = "flagged"
mode = "b_new"

[[dialer.statuses]]
name = "reconfirm"
mode = "a_re"

[[dialer.statuses]]
name = "no_contact"
"#;

/// Orders not answered: busy (+92302…) and never answering (+92303…).
const BUSY: [&str; 2] = ["A05", "A09"];
const SILENT: &str = "B04";

/// (id, project, phone), in creation order: A01–A12 (a_new), B01–B10
/// (b_new), R01–R08 (a_re), interleaved so creation order is not mode order.
fn orders() -> Vec<(String, &'static str, String)> {
    let mut v = Vec::new();
    for i in 1..=12 {
        let id = format!("A{i:02}");
        let prefix = if BUSY.contains(&id.as_str()) {
            "302"
        } else {
            "300"
        };
        v.push((id, "shopA", format!("+92{prefix}10000{i:02}")));
        if i <= 10 {
            let id = format!("B{i:02}");
            let prefix = if id == SILENT { "303" } else { "300" };
            v.push((id, "shopB", format!("+92{prefix}20000{i:02}")));
        }
        if i <= 8 {
            v.push((format!("R{i:02}"), "shopA", format!("+9230030000{i:02}")));
        }
    }
    v
}

fn mode_of(order: &str) -> &'static str {
    match &order[..1] {
        "A" => "a_new",
        "B" => "b_new",
        _ => "a_re",
    }
}

fn agent(rig: &Rig, id: &str) -> Value {
    let (st, v) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    assert_eq!(st, 200, "{v}");
    v
}

/// A placed call as the test reads it back.
#[derive(Debug, Clone)]
struct Dial {
    agent: String,
    order: String,
    created: String,
    ended: Option<String>,
    customer_cause: Option<String>,
}

fn dials(rig: &Rig) -> Vec<Dial> {
    let (st, v) = rig.api("GET", "/v1/calls", None);
    assert_eq!(st, 200, "{v}");
    let mut out: Vec<Dial> = v["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| Dial {
            agent: c["agent"].as_str().unwrap_or_default().to_string(),
            order: c["order_id"].as_str().unwrap_or_default().to_string(),
            created: c["created_at"].as_str().unwrap_or_default().to_string(),
            ended: c["ended_at"].as_str().map(str::to_string),
            customer_cause: c["customer_cause"].as_str().map(str::to_string),
        })
        .collect();
    // RFC 3339 UTC with milliseconds: text order is time order.
    out.sort_by(|a, b| a.created.cmp(&b.created));
    out
}

fn rfc3339_in(secs: u64) -> String {
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
        + (secs * 1000) as i64;
    chrono::DateTime::from_timestamp_millis(at)
        .expect("time")
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn two_agents_work_three_modes_of_two_projects_in_dial_order() {
    let rig = Rig::start_with(customers_by_number, DIALER);
    let _phones: Vec<_> = AGENTS
        .iter()
        .map(|(id, user, pass)| rig.phone(id, user, pass))
        .collect();
    rig.wait_registered(2);
    let all = orders();
    let ids: Vec<&str> = all.iter().map(|(id, ..)| id.as_str()).collect();
    for (id, project, phone) in &all {
        let body = format!(
            r#"{{"id":"{id}","project":"{project}","phone":"{phone}","amount":"1800","currency":"PKR","customer":{{"kind":"new"}},"items":[]}}"#
        );
        let (st, v) = rig.api("POST", "/v1/orders", Some(&body));
        assert_eq!(st, 201, "{v}");
        if id.starts_with('R') {
            let (st, v) = rig.api(
                "PUT",
                &format!("/v1/orders/{id}/status"),
                Some(r#"{"status":"reconfirm"}"#),
            );
            assert_eq!(st, 200, "{v}");
        }
        // Distinct creation times: unprocessed goes oldest first.
        std::thread::sleep(Duration::from_millis(3));
    }
    let start = counts_match_the_orders(&rig, &ids);
    let unprocessed: BTreeMap<String, u64> = start["modes"]
        .as_array()
        .expect("modes")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap_or_default().to_string(),
                m["counts"]["unprocessed"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        unprocessed,
        [
            ("a_new".into(), 12),
            ("b_new".into(), 10),
            ("a_re".into(), 8)
        ]
        .into(),
        "{start}"
    );

    for (id, ..) in AGENTS {
        let (st, v) = rig.api("POST", &format!("/v1/agents/{id}/session"), None);
        assert_eq!(st, 201, "{v}");
    }
    for (id, ..) in AGENTS {
        rig.wait(
            "logged in, paused",
            &format!("/v1/agents/{id}"),
            Duration::from_secs(10),
            |st, v| st == 200 && v["state"] == "paused",
        );
    }
    for (id, ..) in AGENTS {
        let (st, v) = rig.api(
            "PUT",
            &format!("/v1/agents/{id}/state"),
            Some(r#"{"state":"ready"}"#),
        );
        assert_eq!(st, 200, "{v}");
    }

    // The shift: dispose of each answered call. Ayesha's first shopA new
    // lead asks her to call back in 5 s; everything else is confirmed.
    let mut callback: Option<(String, String)> = None; // (order, due)
    let mut disposed = 0usize;
    let t0 = Instant::now();
    loop {
        let open = ids.iter().any(|id| {
            let (_, o) = rig.api("GET", &format!("/v1/orders/{id}"), None);
            !o["dialer"].is_null()
        });
        if !open {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(150),
            "{disposed} dispositions so far; orders still in dial-up\n{}",
            rig.daemon.logs()
        );
        for (id, ..) in AGENTS {
            let a = agent(&rig, id);
            if a["state"] != "wrap_up" {
                continue;
            }
            let call = a["call_id"].as_str().expect("call").to_string();
            let (_, c) = rig.api("GET", &format!("/v1/calls/{call}"), None);
            let order = c["order_id"].as_str().expect("order").to_string();
            let body = if callback.is_none() && id == "ayesha" && order.starts_with('A') {
                let due = rfc3339_in(5);
                callback = Some((order.clone(), due.clone()));
                format!(
                    r#"{{"disposition":"callback","callback_at":"{due}","callback_same_agent":true}}"#
                )
            } else {
                r#"{"disposition":"confirmed"}"#.to_string()
            };
            let (st, d) = rig.api(
                "POST",
                &format!("/v1/calls/{call}/disposition"),
                Some(&body),
            );
            assert_eq!(st, 200, "{d}");
            disposed += 1;
            counts_match_the_orders(&rig, &ids);
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let shift = t0.elapsed();

    let log = dials(&rig);
    let trace: Vec<String> = log
        .iter()
        .map(|d| format!("{} {} {}", d.created, d.agent, d.order))
        .collect();
    let trace = trace.join("\n");
    let calls_of =
        |order: &str| -> Vec<&Dial> { log.iter().filter(|d| d.order == order).collect() };

    // Access: each agent only in the modes it may work.
    for d in &log {
        let may = match d.agent.as_str() {
            "ayesha" => ["a_new", "a_re"],
            _ => ["a_new", "b_new"],
        };
        assert!(may.contains(&mode_of(&d.order)), "{d:?}\n{trace}");
    }

    // First calls per mode: oldest order first.
    let mut first: Vec<&Dial> = Vec::new();
    for d in &log {
        if !first.iter().any(|f| f.order == d.order) {
            first.push(d);
        }
    }
    for mode in ["a_new", "b_new", "a_re"] {
        let seq: Vec<&str> = first
            .iter()
            .filter(|d| mode_of(&d.order) == mode)
            .map(|d| d.order.as_str())
            .collect();
        let mut sorted = seq.clone();
        sorted.sort();
        assert_eq!(seq, sorted, "mode {mode} oldest first\n{trace}");
        assert_eq!(
            seq.len(),
            unprocessed[mode] as usize,
            "{mode}: every order dialled"
        );
    }

    // Priority: a mode below starts once the ones above have no
    // unprocessed order left (for the agent who works both).
    let last_first = |mode: &str| {
        first
            .iter()
            .filter(|d| mode_of(&d.order) == mode)
            .map(|d| d.created.clone())
            .max()
            .expect("dialled")
    };
    let first_of = |agent: &str, mode: &str| {
        log.iter()
            .filter(|d| d.agent == agent && mode_of(&d.order) == mode)
            .map(|d| d.created.clone())
            .min()
            .expect("dialled")
    };
    let a_new_done = last_first("a_new");
    assert!(
        first_of("bilal", "b_new") > a_new_done,
        "shopA's boosted new leads before shopB's\n{trace}"
    );
    assert!(
        first_of("ayesha", "a_re") > a_new_done,
        "new leads (10) before reconfirmation (5)\n{trace}"
    );

    // Busy: back after the put-off and after the unprocessed ones, then
    // the cap moves them to no_contact; so does the never-answering one.
    for id in BUSY.iter().chain([&SILENT]) {
        let tries = calls_of(id);
        assert_eq!(tries.len(), 2, "{id}: the cap is 2\n{trace}");
        let cause = if *id == SILENT { "no_answer" } else { "busy" };
        for t in &tries {
            assert_eq!(t.customer_cause.as_deref(), Some(cause), "{t:?}");
        }
        let ended = chrono::DateTime::parse_from_rfc3339(tries[0].ended.as_deref().expect("ended"))
            .expect("time");
        let again = chrono::DateTime::parse_from_rfc3339(&tries[1].created).expect("time");
        assert!(
            again - ended >= chrono::Duration::seconds(3),
            "{id} came back after its 3 s put-off: {tries:?}"
        );
        assert!(
            tries[1].created > last_first(mode_of(id)),
            "{id}: no_answer after the mode's unprocessed\n{trace}"
        );
        let (_, o) = rig.api("GET", &format!("/v1/orders/{id}"), None);
        assert_eq!(o["status"], "no_contact", "{o}");
    }

    // The callback goes back to Ayesha, as her first pick once due.
    let (cb, due) = callback.expect("ayesha set a callback");
    let tries = calls_of(&cb);
    assert_eq!(tries.len(), 2, "{cb}\n{trace}");
    assert_eq!(tries[1].agent, "ayesha", "same agent\n{trace}");
    assert!(
        tries[1].created >= due,
        "not before it is due ({due})\n{trace}"
    );
    let her_next = log
        .iter()
        .find(|d| d.agent == "ayesha" && d.created >= due)
        .expect("ayesha dialled after the callback fell due");
    assert_eq!(her_next.order, cb, "callbacks first\n{trace}");

    // Every answered order once (the callback twice), confirmed.
    let mut per_order: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &log {
        *per_order.entry(d.order.as_str()).or_default() += 1;
    }
    for id in &ids {
        let unanswered = BUSY.contains(id) || *id == SILENT;
        let want = if unanswered || *id == cb { 2 } else { 1 };
        assert_eq!(per_order.get(id), Some(&want), "{id}\n{trace}");
        if !unanswered {
            let (_, o) = rig.api("GET", &format!("/v1/orders/{id}"), None);
            assert_eq!(o["status"], "confirmed", "{o}");
        }
    }
    let end = counts_match_the_orders(&rig, &ids);
    for m in end["modes"].as_array().expect("modes") {
        let c = &m["counts"];
        assert_eq!(
            (
                &c["unprocessed"],
                &c["no_answer"],
                &c["callback"],
                &c["in_flight"]
            ),
            (&0.into(), &0.into(), &0.into(), &0.into()),
            "{end}"
        );
    }
    eprintln!(
        "shift of {} calls for 30 orders took {:.1} s",
        log.len(),
        shift.as_secs_f64()
    );
}
