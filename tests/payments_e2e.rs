//! Keypad payments end to end (issue #5, `docs/payments-contract.md`):
//! `orderline serve` (SQLite file, trace logs) calls the agent's phone
//! (baresip, PCMU), then the customer through the trunk (SIPp keying the card
//! in-band or as RFC 4733 events), bridges them; the agent requests a payment
//! through the API; the customer keys the card while the agent hears a hold
//! tone; the merchant's webhook sink gets the signed result.
//!
//! Every payment case also proves, from what the test itself captured:
//! - the agent's recording holds no key: spandsp's `dtmf_rx` and `orderline
//!   dtmf decode --json` find no digit, a Goertzel sweep at the eight DTMF
//!   frequencies over 10 ms windows finds no fragment (its threshold calibrated
//!   on the same recording with a planted 5 ms fragment), and no RFC 4733 event
//!   reached the phone;
//! - no card data (card number, its first 12 digits, expiry as MMYY and MM/YY,
//!   CVC and postal code as standalone tokens) in any trace-level log line, the
//!   SQLite file with its -wal/-shm, any webhook or any API/SSE response, and
//!   no log line carries a keyed digit;
//! - the caller was back with the agent afterwards: the caller's 600 Hz marker,
//!   sent after the keys, is in the agent's recording after the last hold beep.
//!
//! Card values are chosen so no timestamp or port can look like them: CVCs and
//! postal codes with a leading zero (no printed number has one).
//!
//! The cases mostly wait on real-time calls (CPU stays low), so they may run
//! many at a time: `cargo test --test payments_e2e -- --test-threads 10` takes
//! about 40 s (about 2 min at the default two threads). `ORDERLINE_E2E_KEEP=1`
//! keeps each case's directory (config, database, daemon log, recordings).

#[macro_use]
mod support;
#[allow(dead_code, unused_macros)]
use std::time::Duration;

use serde_json::Value;
use support::agent_phone::*;
use support::audio_check::*;
use support::card_data::Secrets;
use support::http::{Hook, SseEvent};
use support::keypad::*;
use support::payment_rig::*;

const VISA: &str = "4242424242424242";
const DECLINED: &str = "4000000000000002";
const NO_FUNDS: &str = "4000000000009995";
const LUHN_BAD: &str = "4242424242424241";

enum Keys {
    InBand,
    Rfc4733,
}

/// One finished payment case, daemon and phones still up for the checks.
struct Run {
    rig: Rig,
    call_id: String,
    payment: Value,
    events: Vec<SseEvent>,
    hook: Hook,
    call: Value,
}

/// Place the call, request the payment once bridged, let the customer key
/// `script`, and wait for the end of the payment (webhook `hook_kind`), of
/// the SSE stream and of the call (the agent hangs up 3 s after the
/// customer's script would end). `during` runs right after the request.
fn run_payment(
    script: KeyScript,
    keys: Keys,
    payments: &str,
    hook_kind: &str,
    during: impl FnOnce(&mut Rig, &Value),
) -> Run {
    run_payment_on(None, false, script, keys, payments, hook_kind, during)
}

/// As [`run_payment`], the daemon's `[database]` at `database` (a URL) if
/// given; with `session`, the agent logs in first (issue #10) and the call
/// is connected into that live leg instead of ringing the phone.
fn run_payment_on(
    database: Option<&str>,
    session: bool,
    script: KeyScript,
    keys: Keys,
    payments: &str,
    hook_kind: &str,
    during: impl FnOnce(&mut Rig, &Value),
) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = match keys {
        Keys::InBand => customer_inband(dir.path(), &script),
        Keys::Rfc4733 => customer_rfc4733(dir.path(), &script),
    };
    let layout = script.layout();
    let talk = layout.total + 3.0;
    let agent = agent_phone(dir.path(), talk, 20);
    let mut rig = Rig::start_on(dir, agent, sipp.port, payments, database);
    if session {
        rig.log_in();
    }

    let call_id = rig.dial(CUSTOMER);
    let bridged = rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    assert!(
        bridged["agent_answered_at"].is_string() && bridged["bridged_at"].is_string(),
        "{bridged}"
    );
    let created = rig.request_payment(&call_id);
    let pid = created["id"].as_str().expect("payment id").to_string();
    let follower = rig.follow_events(&pid, Duration::from_secs_f64(talk + 30.0));
    during(&mut rig, &created);

    let payment = rig.wait_payment_end(&pid, Duration::from_secs_f64(layout.total + 30.0));
    let hook = rig.wait_hook(hook_kind, &pid, Duration::from_secs(20));
    let events = rig.keep_events(&pid, follower.join().expect("SSE thread"));
    let call = rig.wait_call(&call_id, &["ended"], Duration::from_secs_f64(talk + 20.0));
    let (ok, errors) = sipp.finish(Duration::from_secs(15));
    assert!(
        ok,
        "the customer (SIPp) saw a broken call: {errors}\n{}",
        rig.tail_logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    eprintln!(
        "call {call_id}: created {} answered {} bridged {} ended {}; payment {} → {}",
        call["created_at"],
        call["agent_answered_at"],
        call["bridged_at"],
        call["ended_at"],
        payment["created_at"],
        payment["updated_at"]
    );
    Run {
        rig,
        call_id,
        payment,
        events,
        hook,
        call,
    }
}

impl Run {
    fn pid(&self) -> &str {
        self.payment["id"].as_str().expect("payment id")
    }

    /// Status, CRM note, webhook, SSE and call record agree on `status`.
    fn assert_result(&self, status: &str) {
        let p = &self.payment;
        assert_eq!(p["status"], status, "{p}");
        assert_eq!(p["call_id"], self.call_id.as_str(), "{p}");
        assert_eq!(p["agent"], AGENT_ID, "{p}");
        assert_eq!(
            (
                p["item"].as_str(),
                p["amount"].as_str(),
                p["currency"].as_str()
            ),
            (Some(ITEM), Some(AMOUNT), Some(CURRENCY)),
            "{p}"
        );

        // The CRM note, written when the payment ended.
        let note = &p["note"];
        assert_eq!(note["agent_name"], AGENT_NAME, "note {note}");
        assert_eq!(note["product"], ITEM, "note {note}");
        assert_eq!(note["amount"], AMOUNT, "note {note}");
        assert_eq!(note["currency"], CURRENCY, "note {note}");
        assert_eq!(note["status"], status, "note {note}");
        assert_eq!(
            note["transaction_id"], p["transaction_id"],
            "note {note} vs payment {p}"
        );
        assert_note_timestamp(&note["timestamp"]);

        // The merchant's webhook, signed, with the documented fields.
        assert_signed(&self.hook);
        let h = self.hook.json();
        let kind = if status == "succeeded" {
            "payment.completed"
        } else {
            "payment.failed"
        };
        assert_eq!(h["type"], kind, "{h}");
        let d = &h["data"];
        for field in [
            "payment_id",
            "call_id",
            "order_id",
            "agent_id",
            "agent_name",
            "product",
            "transaction_id",
            "amount",
            "currency",
            "status",
            "timestamp",
            "brand",
            "last_four",
            "reason",
        ] {
            assert!(d.get(field).is_some(), "webhook data lacks {field}: {h}");
        }
        assert_eq!(d["payment_id"], self.pid(), "{h}");
        assert_eq!(d["call_id"], self.call_id.as_str(), "{h}");
        assert_eq!(d["order_id"], Value::Null, "{h}");
        assert_eq!(d["agent_id"], AGENT_ID, "{h}");
        assert_eq!(d["agent_name"], AGENT_NAME, "{h}");
        assert_eq!(d["product"], ITEM, "{h}");
        assert_eq!(d["amount"], AMOUNT, "{h}");
        assert_eq!(d["currency"], CURRENCY, "{h}");
        assert_eq!(d["status"], status, "{h}");
        assert_eq!(d["transaction_id"], p["transaction_id"], "{h}");
        assert_eq!(d["reason"], p["reason"], "{h}");
        assert_note_timestamp(&d["timestamp"]);
        let same_kind = self
            .rig
            .sink
            .received()
            .iter()
            .filter(|x| x.json()["type"] == kind && x.json()["data"]["payment_id"] == self.pid())
            .count();
        assert_eq!(same_kind, 1, "one {kind} per payment");

        // The agent's live view: stored steps and status first, live events,
        // then the result (the payment object) and the end of the stream.
        let names: Vec<&str> = self.events.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(names.last(), Some(&"result"), "SSE events {names:?}");
        assert!(names.contains(&"status"), "SSE events {names:?}");
        let result: Value =
            serde_json::from_str(&self.events.last().expect("result").1).expect("result is JSON");
        assert_eq!(result["id"], self.pid(), "{result}");
        assert_eq!(result["status"], status, "{result}");
        for (e, data) in &self.events {
            let v: Value = serde_json::from_str(data)
                .unwrap_or_else(|_| panic!("SSE {e} data is not JSON: {data}"));
            if e == "step" {
                assert!(
                    STEPS.contains(&v["step"].as_str().unwrap_or("")),
                    "SSE step {v}"
                );
            }
        }

        // The call: back to talking after the payment, then ended by the agent.
        let c = &self.call;
        assert_eq!(c["status"], "ended", "{c}");
        assert_eq!(c["ended_by"], "agent", "{c}");
        assert_eq!(c["agent_cause"], "hangup", "{c}");
        assert!(
            c["customer_cause"].as_str().is_some_and(|s| !s.is_empty()),
            "{c}"
        );
        assert!(
            c["payments"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == self.pid())),
            "{c}"
        );
    }

    /// The steps streamed over SSE, in order.
    fn sse_steps(&self) -> Vec<(String, String, Option<String>)> {
        self.events
            .iter()
            .filter(|(e, _)| e == "step")
            .map(|(_, d)| {
                let v: Value = serde_json::from_str(d).expect("step JSON");
                (
                    v["step"].as_str().unwrap_or_default().to_string(),
                    v["status"].as_str().unwrap_or_default().to_string(),
                    v["reason"].as_str().map(str::to_string),
                )
            })
            .collect()
    }

    fn assert_all_steps_completed(&self) {
        for list in [steps(&self.payment), self.sse_steps()] {
            for step in STEPS {
                assert_eq!(
                    last_status(&list, step).as_deref(),
                    Some("completed"),
                    "{step} in {list:?}"
                );
            }
            assert!(list.iter().all(|(_, st, _)| st != "failed"), "{list:?}");
        }
    }

    /// No key reached the agent and no card data left memory.
    fn assert_secure(&self, secrets: &Secrets) {
        let report = self.rig.assert_agent_heard_no_dtmf();
        eprintln!("agent recording: {report:?} (threshold {FRAGMENT_THRESHOLD})");
        self.rig.assert_no_card_data(secrets, &[]);
    }
}

fn card(lead: f64, pan: &str, expiry: &str, cvc: &str, postal: &str) -> KeyScript {
    KeyScript::card(lead, pan, expiry, cvc, postal)
}

#[test]
fn inband_card_is_charged_and_the_caller_returns_to_the_agent() {
    let run = run_payment(
        card(3.0, VISA, "0831", "071", "06193"),
        Keys::InBand,
        "",
        "payment.completed",
        |_, _| {},
    );
    run.assert_result("succeeded");
    let p = &run.payment;
    assert_eq!(p["brand"], "visa", "{p}");
    assert_eq!(p["last_four"], "4242", "{p}");
    assert!(
        p["transaction_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{p}"
    );
    assert_eq!(p["reason"], Value::Null, "{p}");
    let d = &run.hook.json()["data"];
    assert_eq!(
        (d["brand"].as_str(), d["last_four"].as_str()),
        (Some("visa"), Some("4242")),
        "{d}"
    );
    run.assert_all_steps_completed();
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(VISA, "0831", "071", "06193"));
}

/// Issue #10: the same payment on a customer call connected into the
/// agent's nailed-up session (one INVITE to the phone, at login): the agent
/// is muted, hears no key, and has the caller back afterwards.
#[test]
fn inband_card_is_charged_on_a_call_connected_into_a_session() {
    let run = run_payment_on(
        None,
        true,
        card(3.0, VISA, "0831", "071", "06193"),
        Keys::InBand,
        "",
        "payment.completed",
        |_, _| {},
    );
    run.assert_result("succeeded");
    assert_eq!(run.payment["last_four"], "4242", "{}", run.payment);
    assert_eq!(
        run.rig.agent.logs().matches("call: answering call").count(),
        1,
        "the phone was rung once, for the session:\n{}",
        run.rig.agent.logs()
    );
    run.assert_all_steps_completed();
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(VISA, "0831", "071", "06193"));
}

#[test]
fn rfc4733_card_is_charged_and_no_event_reaches_the_agent() {
    let run = run_payment(
        card(3.0, VISA, "0831", "058", "04817"),
        Keys::Rfc4733,
        "",
        "payment.completed",
        |_, _| {},
    );
    run.assert_result("succeeded");
    assert_eq!(
        (
            run.payment["brand"].as_str(),
            run.payment["last_four"].as_str()
        ),
        (Some("visa"), Some("4242"))
    );
    run.assert_all_steps_completed();
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(VISA, "0831", "058", "04817"));
}

#[test]
fn declined_card_fails_with_its_reason() {
    let run = run_payment(
        card(3.0, DECLINED, "0729", "093", "05362"),
        Keys::InBand,
        "",
        "payment.failed",
        |_, _| {},
    );
    run.assert_result("failed");
    let reason = run.payment["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("card_declined"),
        "reason {reason:?}: {}",
        run.payment
    );
    assert!(run.hook.json()["data"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("card_declined")));
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(DECLINED, "0729", "093", "05362"));
}

#[test]
fn insufficient_funds_fails_with_its_reason() {
    let run = run_payment(
        card(3.0, NO_FUNDS, "0532", "084", "07251"),
        Keys::InBand,
        "",
        "payment.failed",
        |_, _| {},
    );
    run.assert_result("failed");
    let reason = run.payment["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("insufficient_funds"),
        "reason {reason:?}: {}",
        run.payment
    );
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(NO_FUNDS, "0532", "084", "07251"));
}

#[test]
fn star_in_the_card_number_cancels_and_the_caller_returns_to_the_agent() {
    let script = KeyScript::star_cancel();
    let run = run_payment(script, Keys::InBand, "", "payment.failed", |_, _| {});
    run.assert_result("cancelled");
    let list = steps(&run.payment);
    assert_eq!(
        last_status(&list, "amount").as_deref(),
        Some("completed"),
        "{list:?}"
    );
    assert!(
        list.iter()
            .any(|(s, st, _)| s == "card_number" && st == "failed"),
        "the card number step shows the cancel: {list:?}"
    );
    assert!(
        list.iter()
            .all(|(s, _, _)| s == "amount" || s == "card_number"),
        "{list:?}"
    );
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(VISA, "", "", ""));
}

#[test]
fn luhn_invalid_number_is_re_entered_then_charged() {
    let mut script = card(3.0, VISA, "0831", "062", "03718");
    script.groups.insert(1, format!("{LUHN_BAD}#"));
    let run = run_payment(script, Keys::InBand, "", "payment.completed", |_, _| {});
    run.assert_result("succeeded");
    run.assert_all_steps_completed();
    for list in [steps(&run.payment), run.sse_steps()] {
        let card: Vec<_> = list.iter().filter(|(s, _, _)| s == "card_number").collect();
        let re = card
            .iter()
            .position(|(_, st, _)| st == "re-entering")
            .unwrap_or_else(|| panic!("no re-entering: {list:?}"));
        let done = card
            .iter()
            .rposition(|(_, st, _)| st == "completed")
            .expect("completed");
        assert!(re < done, "re-entering then completed: {card:?}");
        assert!(
            card[re]
                .2
                .as_deref()
                .is_some_and(|r| r.contains("check_digit") || r.contains("luhn")),
            "reason: {card:?}"
        );
    }
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    let mut secrets = Secrets::card(VISA, "0831", "062", "03718");
    secrets.add_pan(LUHN_BAD);
    run.assert_secure(&secrets);
}

#[test]
fn silent_caller_fails_on_no_input() {
    // no_input_timeout 3 s: the amount prompt (< 1 s), 3 s of silence, the
    // failure words; the caller's marker at 9 s finds them back with the agent.
    let script = KeyScript::silent(9.0, 2.5, 1.0);
    let t0 = std::time::Instant::now();
    let run = run_payment(
        script,
        Keys::InBand,
        "no_input_timeout = \"3s\"",
        "payment.failed",
        |_, _| {},
    );
    run.assert_result("failed");
    let reason = run.payment["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("no_input"),
        "reason {reason:?}: {}",
        run.payment
    );
    let list = steps(&run.payment);
    assert!(
        list.iter().any(|(s, st, r)| s == "amount"
            && st == "failed"
            && r.as_deref().is_some_and(|r| r.contains("no_input"))),
        "{list:?}"
    );
    let created = chrono::DateTime::parse_from_rfc3339(
        run.payment["created_at"].as_str().expect("created_at"),
    )
    .expect("created_at");
    let updated = chrono::DateTime::parse_from_rfc3339(
        run.payment["updated_at"].as_str().expect("updated_at"),
    )
    .expect("updated_at");
    let secs = (updated - created).num_milliseconds() as f64 / 1000.0;
    assert!(
        (2.5..12.0).contains(&secs),
        "failed {secs:.1} s after the request (timeout 3 s)"
    );
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(VISA, "", "", ""));
    eprintln!("no-input case took {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn agent_cancels_a_pending_payment_and_a_second_cancel_is_409() {
    let script = KeyScript::silent(5.0, 2.5, 1.0);
    let run = run_payment(
        script,
        Keys::InBand,
        "",
        "payment.failed",
        |rig, created| {
            let pid = created["id"].as_str().expect("id");
            let (st, v) = rig.api_as(AGENT_TOKEN, "DELETE", &format!("/v1/payments/{pid}"), None);
            assert_eq!(st, 200, "the agent's X on a pending payment: {v}");
            assert_eq!(v["status"], "cancelled", "{v}");
            let (st, v) = rig.api_as(AGENT_TOKEN, "DELETE", &format!("/v1/payments/{pid}"), None);
            assert_eq!(st, 409, "a second X: {v}");
        },
    );
    run.assert_result("cancelled");
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, false);
    run.assert_secure(&Secrets::card(VISA, "", "", ""));
}

/// Two baresip phones: the agent (PCMU, says 1 kHz) and the customer (PCMA,
/// says 600 Hz, and at 3 s presses "5", "#", "0" in-band, as callers do in
/// the middle of a conversation); `agent_talk`/`customer_talk` seconds after
/// answering each hangs up. Returns the rig, the call id, the final call and
/// the customer.
fn bridge_call(agent_talk: f64, customer_talk: f64) -> (Rig, String, Value, support::Baresip) {
    let dir = tempfile::tempdir().expect("tempdir");
    let says = talk_with_keys(customer_talk);
    let customer = phone_saying(dir.path(), CUSTOMER, "PCMA", &says, 20);
    let agent = agent_phone(dir.path(), agent_talk, 20);
    let trunk = customer.port;
    let mut rig = Rig::start(dir, agent, trunk, "");
    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    let call = rig.wait_call(
        &call_id,
        &["ended"],
        Duration::from_secs_f64(agent_talk.max(customer_talk) + 15.0),
    );
    std::thread::sleep(Duration::from_millis(500));
    (rig, call_id, call, customer)
}

/// Each side heard the other's tone for at least 1.5 s; PCMU on the agent's
/// leg, PCMA on the customer's (so the bridge transcoded); the customer's keys
/// in the middle of the talk did not reach the agent (squelched, not a
/// fragment left).
fn assert_talked(rig: &Rig, customer: &support::Baresip) {
    let (a, c) = assert_heard_each_other(&rig.agent.heard(), &customer.heard(), "bridge");
    assert!(
        rig.agent.logs().contains("Set audio encoder: PCMU"),
        "agent leg codec:\n{}",
        rig.agent.logs()
    );
    assert!(
        customer.logs().contains("Set audio encoder: PCMA"),
        "customer leg codec:\n{}",
        customer.logs()
    );
    // The customer really pressed the keys (its own phone's recording of what it sent).
    let (sent, _) = decode_both(&read_8k(&customer.said()));
    assert_eq!(sent, "5#0", "the customer's phone sent {sent:?}");
    let report = rig.assert_agent_heard_no_dtmf();
    eprintln!("agent recording: {report:?} (threshold {FRAGMENT_THRESHOLD}); heard the customer {a} ms, customer heard the agent {c} ms");
}

#[test]
fn bridge_talks_both_ways_pcmu_to_pcma_and_the_agent_hanging_up_ends_both() {
    let (rig, _, call, customer) = bridge_call(7.0, 20.0);
    assert_eq!(call["status"], "ended", "{call}");
    assert_eq!(call["ended_by"], "agent", "{call}");
    assert_eq!(call["agent_cause"], "hangup", "{call}");
    assert!(
        call["customer_cause"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{call}"
    );
    assert!(call["ended_at"].is_string(), "{call}");
    // The customer's leg ended with the agent's: its recording stops long
    // before its own 20 s.
    let secs = read_8k(&customer.heard()).len() as f64 / 8000.0;
    assert!(
        secs < 12.0,
        "the customer stayed on the line {secs:.1} s after the agent hung up at 7 s"
    );
    assert_talked(&rig, &customer);
}

#[test]
fn bridge_the_customer_hanging_up_ends_both() {
    let (rig, _, call, customer) = bridge_call(20.0, 6.0);
    assert_eq!(call["status"], "ended", "{call}");
    assert_eq!(call["ended_by"], "customer", "{call}");
    assert_eq!(call["customer_cause"], "hangup", "{call}");
    assert!(
        call["agent_cause"].as_str().is_some_and(|s| !s.is_empty()),
        "{call}"
    );
    let secs = read_8k(&rig.agent.heard()).len() as f64 / 8000.0;
    assert!(
        secs < 13.0,
        "the agent stayed on the line {secs:.1} s after the customer hung up at 6 s"
    );
    assert_talked(&rig, &customer);
}

#[test]
fn kill9_mid_payment_loses_no_outcome() {
    // The customer confirms the amount, keys and confirms the card number,
    // then pauses 40 s (the expiry never comes): the kill lands while the
    // payment is in progress, asking for the expiry.
    let script = KeyScript {
        lead: 3.0,
        groups: vec!["1".into(), format!("{VISA}#"), "1".into()],
        gap: 1.3,
        before_marker: 40.0,
        marker: 0.0,
        tail: 1.0,
    };
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let sipp = customer_inband(dir.path(), &script);
    let layout = script.layout();
    let agent = agent_phone(dir.path(), layout.total + 3.0, 20);
    let mut rig = Rig::start(dir, agent, sipp.port, "");

    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    let created = rig.request_payment(&call_id);
    let pid = created["id"].as_str().expect("payment id").to_string();

    // Wait for the card number to be taken (the payment is then in progress,
    // the expiry being asked for), then kill at once.
    let limit = Duration::from_secs_f64(layout.groups[2].1 + 20.0);
    let waited = std::time::Instant::now();
    let before = loop {
        let p = rig.payment(&pid);
        if last_status(&steps(&p), "card_number").as_deref() == Some("completed") {
            break p;
        }
        assert!(
            waited.elapsed() < limit
                && p["status"] != "failed"
                && p["status"] != "succeeded"
                && p["status"] != "cancelled",
            "the card number was not taken: {p}\n{}",
            rig.tail_logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        before["status"], "in_progress",
        "the kill must hit a live payment: {before}"
    );
    assert_eq!(
        before["note"],
        Value::Null,
        "no note before the payment ends: {before}"
    );
    assert!(
        !rig.sink
            .received()
            .iter()
            .any(|h| h.json()["data"]["payment_id"] == pid.as_str()),
        "a webhook before the kill"
    );
    let live = rig.call(&call_id);
    assert_eq!(live["status"], "bridged", "{live}");
    eprintln!(
        "killing with the payment in progress, steps {:?}",
        steps(&before)
    );
    let killed_at = std::time::Instant::now();
    rig.kill9_and_restart();
    eprintln!(
        "restarted {:.1} s after the kill",
        killed_at.elapsed().as_secs_f64()
    );
    // The carrier's dialog of the killed call never gets its BYE: hang up the customer.
    drop(sipp);

    // The payment: failed, reason interrupted, with its CRM note.
    let p = rig.wait_payment_end(&pid, Duration::from_secs(10));
    assert_eq!(p["status"], "failed", "{p}");
    assert_eq!(p["reason"], "interrupted", "{p}");
    assert_eq!(p["call_id"], call_id.as_str(), "{p}");
    let note = &p["note"];
    assert_eq!(note["agent_name"], AGENT_NAME, "note {note}");
    assert_eq!(note["product"], ITEM, "note {note}");
    assert_eq!(note["amount"], AMOUNT, "note {note}");
    assert_eq!(note["currency"], CURRENCY, "note {note}");
    assert_eq!(note["status"], "failed", "note {note}");
    assert_eq!(
        note["transaction_id"], p["transaction_id"],
        "note {note} vs {p}"
    );
    assert_note_timestamp(&note["timestamp"]);
    // The steps taken before the kill are kept.
    assert_eq!(
        last_status(&steps(&p), "card_number").as_deref(),
        Some("completed"),
        "{p}"
    );

    // The call: ended by the restart, both legs interrupted.
    let c = rig.call(&call_id);
    assert!(c["status"] == "ended" || c["status"] == "failed", "{c}");
    assert_eq!(c["agent_cause"], "interrupted", "{c}");
    assert_eq!(c["customer_cause"], "interrupted", "{c}");
    assert_eq!(c["ended_by"], "local", "{c}");
    assert!(c["ended_at"].is_string(), "{c}");
    assert!(
        c["payments"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == pid.as_str())),
        "{c}"
    );

    // Exactly one signed payment.failed for it (wait a while for duplicates).
    let hook = rig.wait_hook("payment.failed", &pid, Duration::from_secs(20));
    assert_signed(&hook);
    let d = &hook.json()["data"];
    assert_eq!(d["payment_id"], pid.as_str(), "{d}");
    assert_eq!(d["call_id"], call_id.as_str(), "{d}");
    assert_eq!(d["agent_id"], AGENT_ID, "{d}");
    assert_eq!(d["agent_name"], AGENT_NAME, "{d}");
    assert_eq!(d["product"], ITEM, "{d}");
    assert_eq!(
        (d["amount"].as_str(), d["currency"].as_str()),
        (Some(AMOUNT), Some(CURRENCY)),
        "{d}"
    );
    assert_eq!(d["status"], "failed", "{d}");
    assert_eq!(d["reason"], "interrupted", "{d}");
    assert_eq!(d["transaction_id"], p["transaction_id"], "{d}");
    assert_note_timestamp(&d["timestamp"]);
    std::thread::sleep(Duration::from_secs(3));
    let about: Vec<String> = rig
        .sink
        .received()
        .iter()
        .filter(|h| h.json()["data"]["payment_id"] == pid.as_str())
        .map(|h| h.body.clone())
        .collect();
    assert_eq!(
        about.len(),
        1,
        "one webhook about the payment, got {about:#?}"
    );

    // Both runs wrote to the one log; card data is nowhere (logs of both
    // runs, the SQLite files, webhooks, API bodies).
    let log = support::card_data::strip_ansi(&rig.daemon.logs());
    let starts = log.matches("reconciled interrupted attempts").count();
    assert_eq!(starts, 2, "the log holds {starts} daemon starts");
    assert!(
        log.lines().any(|l| l
            .contains("closed agent calls and payments left open by the last stop")
            && l.contains("payments=1")),
        "the restart does not say it closed the payment:\n{}",
        rig.tail_logs()
    );
    rig.assert_no_card_data(&Secrets::card(VISA, "", "", ""), &[]);
    eprintln!("kill -9 case took {:.1} s", t0.elapsed().as_secs_f64());
}

#[test]
fn inband_card_is_charged_on_postgresql() {
    let t0 = std::time::Instant::now();
    let db = tokio::runtime::Runtime::new()
        .expect("tokio")
        .block_on(support::store::postgres_db());
    assert!(db.url.starts_with("postgres://"), "{}", db.url);
    let run = run_payment_on(
        Some(&db.url),
        false,
        card(3.0, VISA, "0831", "047", "08326"),
        Keys::InBand,
        "",
        "payment.completed",
        |_, _| {},
    );
    run.assert_result("succeeded");
    let p = &run.payment;
    assert_eq!(
        (p["brand"].as_str(), p["last_four"].as_str()),
        (Some("visa"), Some("4242")),
        "{p}"
    );
    assert!(
        p["transaction_id"].as_str().is_some_and(|t| !t.is_empty()),
        "{p}"
    );
    assert_eq!(p["reason"], Value::Null, "{p}");
    run.assert_all_steps_completed();
    // The daemon really ran on PostgreSQL: the payment row is there.
    let rt = tokio::runtime::Runtime::new().expect("tokio");
    let (status, note): (String, Option<String>) = rt.block_on(async {
        use sqlx::Row;
        let mut conn = db.raw().await;
        let row = sqlx::query("SELECT status, note FROM payments WHERE id = $1")
            .bind(run.pid())
            .fetch_one(&mut conn)
            .await
            .expect("the payment row in PostgreSQL");
        (
            row.try_get("status").expect("status"),
            row.try_get("note").expect("note"),
        )
    });
    assert_eq!(status, "succeeded");
    assert!(
        note.is_some_and(|n| n.contains(AGENT_NAME)),
        "the note in PostgreSQL"
    );
    run.rig
        .assert_back_with_agent(&run.call, &run.payment, true);
    run.assert_secure(&Secrets::card(VISA, "0831", "047", "08326"));
    eprintln!("PostgreSQL case took {:.1} s", t0.elapsed().as_secs_f64());
}
