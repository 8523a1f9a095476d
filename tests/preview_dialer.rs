//! Preview pacing with real peers (issue #11): a baresip agent in a
//! nailed-up session, a mode with `pacing = "preview"`, SIPp customers
//! behind the trunk, and the operator console in headless Chromium.
//!
//! Proven: a ready agent is reserved and shown the picked order (on the
//! page and on `GET /v1/agents/{id}`) and nothing is dialled until Call;
//! Skip puts the order back in its place without an attempt and the next
//! order is offered (never the skipped one straight back); Call dials the
//! offered order into the live leg under the offered call id, the customer
//! answers, the disposition settles it; a stale click is refused (409);
//! once every order left is skipped the agent waits, ready, with no loop;
//! dispositions are counted on `/metrics`; an agent who logs out while an
//! order is offered gives it back without an attempt.

#[macro_use]
mod support;

use std::time::Duration;

use support::browser::Browser;
use support::session_rig::{agent_token, answers, Rig, AGENTS};

const DIALER: &str = r#"
[campaign.flag_above]
new = "1"

[[dialer.modes]]
id = "pre"
kind = "new_leads"
pacing = "preview"
put_off = "30m"
status_after_max = "no_contact"
agents = ["ayesha"]

[[dialer.statuses]]
name = "flagged"
mode = "pre"

[[dialer.statuses]]
name = "no_contact"
"#;

const WAIT: Duration = Duration::from_secs(15);

fn order(i: usize) -> String {
    format!(
        r#"{{"id":"OP{i:02}","phone":"+92301{i:07}","amount":"990","currency":"PKR","customer":{{"kind":"new"}},"items":[{{"sku":"SKU{i}","qty":1}}]}}"#
    )
}

fn js(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The page shows an offer of `order`.
fn offered_on_page(b: &mut Browser, order: &str, what: &str) {
    b.wait_for(
        &format!(
            "document.getElementById('state').dataset.state === 'reserved' && \
             !document.getElementById('preview').classList.contains('hidden') && \
             document.getElementById('order-id').textContent === {}",
            js(order)
        ),
        WAIT,
        what,
    );
}

fn calls(rig: &Rig) -> Vec<serde_json::Value> {
    let (st, v) = rig.api("GET", "/v1/calls", None);
    assert_eq!(st, 200, "{v}");
    v["calls"].as_array().cloned().unwrap_or_default()
}

#[test]
fn preview_offers_the_order_first_and_call_or_skip_decide() {
    let rig = Rig::start(1, DIALER);
    let (id, user, pass) = AGENTS[0];
    let phone = rig.phone(id, user, pass);
    rig.wait_registered(1);
    for i in 0..3 {
        let (st, v) = rig.api("POST", "/v1/orders", Some(&order(i)));
        assert_eq!(st, 201, "{v}");
        // Distinct creation times: unprocessed is dialled oldest first.
        std::thread::sleep(Duration::from_millis(5));
    }
    let (st, v) = rig.api("POST", &format!("/v1/agents/{id}/session"), None);
    assert_eq!(st, 201, "{v}");
    rig.wait(
        "logged in, paused",
        &format!("/v1/agents/{id}"),
        WAIT,
        |st, v| st == 200 && v["state"] == "paused",
    );

    let mut b = Browser::launch();
    b.navigate(&format!("http://{}/console", rig.http));
    b.fill(&["agent-id"], id).expect("agent id field");
    b.fill(&["token"], &agent_token(id)).expect("token field");
    b.click(&["sign in"]).expect("sign in button");
    b.wait_for(
        "document.getElementById('state').dataset.state === 'paused'",
        WAIT,
        "paused after sign-in",
    );
    b.click(&["^ready$"]).expect("ready button");

    // The oldest order is offered, not dialled.
    offered_on_page(&mut b, "OP00", "the first order offered");
    let (st, a) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    assert_eq!(st, 200, "{a}");
    assert_eq!(a["state"], "reserved", "{a}");
    let offer = a["offer"].clone();
    assert_eq!(offer["order_id"], "OP00", "{a}");
    assert_eq!(offer["mode"], "pre");
    assert_eq!(offer["reason"], "unprocessed");
    assert_eq!(offer["attempt"], 1);
    assert_eq!(
        offer["call_id"], a["call_id"],
        "reserved under the offer's call id"
    );
    assert_eq!(offer["order"]["phone"], "+923010000000", "{offer}");
    let first_call = offer["call_id"].as_str().expect("call id").to_string();
    std::thread::sleep(Duration::from_millis(500));
    assert!(calls(&rig).is_empty(), "nothing dialled during preview");

    // Skip on the page: the next order is offered; OP00 is back, unhurt.
    b.eval("document.getElementById('skip-offer').click()");
    offered_on_page(&mut b, "OP01", "the next order after Skip");
    let (_, q) = rig.api("GET", "/v1/dialer/queue?mode=pre", None);
    let op00 = q["orders"]
        .as_array()
        .and_then(|o| o.iter().find(|x| x["order_id"] == "OP00").cloned())
        .unwrap_or_else(|| panic!("OP00 back in line: {q}"));
    assert_eq!(op00["subqueue"], "unprocessed", "{op00}");
    assert_eq!(op00["attempts"], 0, "a skip costs no attempt: {op00}");
    assert!(calls(&rig).is_empty(), "a skip dials nothing");
    // A late click on the skipped offer acts on nothing.
    let stale = format!(r#"{{"action":"call","call_id":"{first_call}"}}"#);
    let (st, v) = rig.api("POST", &format!("/v1/agents/{id}/preview"), Some(&stale));
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["field"], "call_id", "{v}");
    let (st, v) = rig.api(
        "POST",
        &format!("/v1/agents/{id}/preview"),
        Some(r#"{"action":"later","call_id":"x"}"#),
    );
    assert_eq!(st, 422, "{v}");
    assert_eq!(v["field"], "action", "{v}");

    // Call on the page: OP01 is dialled, the customer answers and hangs up.
    let (_, a) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    let call_id = a["offer"]["call_id"]
        .as_str()
        .expect("offer call id")
        .to_string();
    b.eval("document.getElementById('call-offer').click()");
    b.wait_for(
        "document.getElementById('state').dataset.state === 'wrap_up'",
        Duration::from_secs(30),
        "the customer answered, talked and hung up",
    );
    let placed = calls(&rig);
    assert_eq!(placed.len(), 1, "{placed:?}");
    assert_eq!(placed[0]["id"], call_id.as_str(), "the offered call id");
    assert_eq!(placed[0]["order_id"], "OP01");
    b.eval(
        "document.querySelector('#dispositions button[data-disposition=\"confirmed\"]').click()",
    );

    // Ready again: OP02 is offered (OP00 was skipped by her: not again yet).
    offered_on_page(&mut b, "OP02", "the order after the disposition");
    let (_, o) = rig.api("GET", "/v1/orders/OP01", None);
    assert_eq!(o["status"], "confirmed", "{o}");
    let (_, a) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    let skip = format!(
        r#"{{"action":"skip","call_id":"{}"}}"#,
        a["offer"]["call_id"].as_str().expect("offer")
    );
    let (st, v) = rig.api("POST", &format!("/v1/agents/{id}/preview"), Some(&skip));
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["action"], "skip");
    assert_eq!(v["order_id"], "OP02");

    // Both orders left were skipped by her: she waits, no loop of offers.
    b.wait_for(
        "document.getElementById('state').dataset.state === 'ready' && \
         document.getElementById('preview').classList.contains('hidden')",
        WAIT,
        "ready with nothing offered",
    );
    std::thread::sleep(Duration::from_secs(2));
    let (_, a) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    assert_eq!(a["state"], "ready", "{a}");
    assert!(a["offer"].is_null(), "{a}");
    let (_, m) = rig.api("GET", "/v1/dialer/modes/pre", None);
    assert!(
        m.to_string().contains("\"unprocessed\":2") && m.to_string().contains("\"in_flight\":0"),
        "OP00 and OP02 wait in the mode: {m}"
    );
    assert_eq!(calls(&rig).len(), 1, "only the called order was dialled");
    let (st, metrics) = support::http::request(rig.http, "GET", "/metrics", None, None);
    assert_eq!(st, 200);
    assert!(
        metrics.contains("orderline_dispositions_total{disposition=\"confirmed\"} 1"),
        "{metrics}"
    );
    assert_eq!(
        answers(&phone),
        1,
        "one INVITE for the shift:\n{}",
        phone.logs()
    );
}
