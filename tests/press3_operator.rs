//! Press 3, live (issue #13): a robo-call customer (a baresip phone behind
//! the trunk) asks for a person. With a baresip operator logged in and
//! `ready` in the order's mode, the customer is connected into the
//! operator's session: the operator's tone reaches the customer and the
//! customer's reaches the operator, the order is on the operator's console
//! (`GET /v1/calls/{id}/order` with the agent's token), the attempt's
//! outcome is `operator`, `order.operator` says `connected` with the agent,
//! and the operator's disposition settles the order. With the operator
//! paused, the customer holds for `operator_wait` (3 s here, measured
//! between the markers heard), hears the callback words, and the order is a
//! callback in the operators' queue; with the operator logged out (nobody
//! of the mode in a session) the callback words follow the hold prompt at
//! once. One daemon and one operator phone for the three cases.
//!
//! Test prompts carry DTMF markers (as in `script_e2e`): `hello` A,
//! `calling_from` B, `operator_hold` C, `operator_callback` D, so the
//! digits decoded from the customer's recording spell what they heard.

#[macro_use]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

use orderline::dtmf::Detector;
use support::audio_check::{longest_run, read_8k, tone_frames};
use support::http::{json, WebhookSink};
use support::keypad::write_tone;
use support::session_rig::{agent_token, Rig};
use support::*;

const AGENT: (&str, &str, &str) = ("ayesha", "1001", "phone-pass-7f3a9c");
/// What the customer says once connected (the operator's phone sends 1 kHz).
const CUSTOMER_HZ: f64 = 600.0;
const OPERATOR_HZ: f64 = 1000.0;
const PHONE: &str = "03001234567";

fn marker(d: char) -> Vec<i16> {
    keypress_audio(&[(0.0, d, 0.08)], 0.14)
}

/// Marked prompts, and a copy of the dialplans whose `operator_wait` is 3 s.
fn prepare(dir: &Path) {
    let en = dir.join("prompts/en");
    for (name, d) in [
        ("hello", 'A'),
        ("calling_from", 'B'),
        ("operator_hold", 'C'),
    ] {
        write_wav(&en.join(format!("{name}.wav")), &marker(d));
    }
    // The last words before BYE: a second of tail so the recording holds it.
    write_wav(
        &en.join("operator_callback.wav"),
        &keypress_audio(&[(0.0, 'D', 0.08)], 1.0),
    );
    let plans = dir.join("dialplans");
    std::fs::create_dir_all(&plans).expect("mkdir dialplans");
    for f in ["confirm.toml", "payment.toml"] {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("dialplans")
                .join(f),
        )
        .expect("read dialplan");
        let text = text.replace("operator_wait = \"8s\"", "operator_wait = \"3s\"");
        std::fs::write(plans.join(f), text).expect("write dialplan");
    }
    let cfg = dir.join("orderline.toml");
    let text = std::fs::read_to_string(&cfg).expect("config");
    let text: String = text
        .lines()
        .map(|l| {
            if l.starts_with("dialplans_dir") {
                format!("dialplans_dir = \"{}\"", plans.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&cfg, text + "\n").expect("write config");
}

/// The customer: presses 3 at 4 s, then talks (600 Hz from 4.4 s) until hung up.
fn customer(rig: &Rig, name: &str, trunk: u16) -> Baresip {
    let src = rig.dir.path().join(format!("{name}.wav"));
    let mut audio = keypress_audio(&[(4.0, '3', 0.12)], 40.0);
    write_tone(&mut audio, 4.4, 40.0, CUSTOMER_HZ, 6000.0);
    write_wav(&src, &audio);
    let home = rig.dir.path().join(format!("phone-{name}"));
    std::fs::create_dir_all(&home).expect("mkdir phone home");
    Baresip::phone(&home, PHONE, trunk, &src, 60, "PCMU")
}

/// The digits decoded from a finished recording, and their start samples.
fn markers(audio: &[i16]) -> (String, Vec<usize>) {
    let mut det = Detector::new();
    let mut events = Vec::new();
    for block in audio.chunks(160) {
        det.push(block);
        events.extend(std::iter::from_fn(|| det.poll_event()));
    }
    (
        events.iter().map(|e| e.digit).collect(),
        events.iter().map(|e| e.start as usize).collect(),
    )
}

/// Seconds from the hold prompt's marker (C) to the callback words' (D),
/// the last two markers heard.
fn held_secs(digits: &str, starts: &[usize]) -> f64 {
    assert!(
        digits.ends_with("CD"),
        "hold, then the callback words: {digits:?}"
    );
    let n = starts.len();
    (starts[n - 1] - starts[n - 2]) as f64 / 8000.0
}

/// A recording once baresip has closed it (its size settles).
fn settled(path: impl Fn() -> std::path::PathBuf) -> Vec<i16> {
    let mut size = 0;
    let t0 = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = std::fs::metadata(path()).map_or(0, |m| m.len());
        if (now == size && now > 0) || t0.elapsed() > Duration::from_secs(5) {
            return read_8k(&path());
        }
        size = now;
    }
}

fn order(id: &str) -> String {
    format!(
        r#"{{"id":"{id}","number":"77","phone":"{PHONE}","amount":"500","currency":"PKR",
            "customer":{{"kind":"new"}},"locale":"en"}}"#
    )
}

#[test]
fn press_3_reaches_a_ready_operator_live_else_a_callback_after_the_wait_or_at_once() {
    let t_start = Instant::now();
    let sink = WebhookSink::start();
    let trunk = AtomicU16::new(0);
    let extra = format!(
        "[webhooks]\nurl = \"{}\"\nsecret = \"whsec-press3\"\n\n\
         [merchant]\nname = \"Lawn House\"\n\n\
         [[dialer.modes]]\nid = \"operators\"\nkind = \"new_leads\"\npriority = 10\n\
         status_after_max = \"no_contact\"\nagents = [\"ayesha\"]\n\n\
         [[dialer.statuses]]\nname = \"no_contact\"\n",
        sink.url()
    );
    // The trunk's peer is each case's customer phone, started below; the
    // rig's own peer is a placeholder process.
    let rig = Rig::start_agents(
        &[AGENT],
        |_, port| {
            trunk.store(port, Ordering::SeqCst);
            Command::new("sleep")
                .arg("120")
                .stdout(Stdio::null())
                .spawn()
                .expect("sleep")
        },
        &extra,
        prepare,
    );
    let trunk = trunk.load(Ordering::SeqCst);
    let (id, user, pass) = AGENT;
    let op_phone = rig.phone(id, user, pass);
    rig.wait_registered(1);
    rig.log_in_ready(id);

    // 1. Ready operator: the customer is connected to them.
    let phone = customer(&rig, "live", trunk);
    let (st, v) = rig.api("POST", "/v1/orders", Some(&order("P3-1")));
    assert_eq!(st, 201, "{v}");
    let agent = rig.wait(
        "the operator takes the customer",
        &format!("/v1/agents/{id}"),
        Duration::from_secs(30),
        |st, v| st == 200 && v["state"] == "in_call",
    );
    let call_id = agent["call_id"].as_str().expect("call id").to_string();
    // The order pops on the operator's console (the agent's own token).
    let (st, pop) = json(
        rig.http,
        "GET",
        &format!("/v1/calls/{call_id}/order"),
        &agent_token(id),
        None,
    );
    assert_eq!(st, 200, "{pop}");
    assert_eq!(pop["id"], "P3-1", "{pop}");
    // Talk both ways for 2 s, then the customer hangs up.
    std::thread::sleep(Duration::from_secs(2));
    assert!(phone.hang_up());
    let heard = settled(|| phone.heard());
    let (digits, _) = markers(&heard);
    // The operator was ready: "please hold" is cut short or never heard,
    // and the callback words never.
    assert!(
        digits.starts_with("AB") && !digits.contains('D'),
        "the greeting, no callback words: {digits:?}\n{}",
        rig.daemon.logs()
    );
    let (_, run) = longest_run(&tone_frames(&heard, OPERATOR_HZ, 800.0));
    assert!(
        run >= 40,
        "the customer heard the operator for {run} frames\n{}",
        rig.daemon.logs()
    );
    rig.wait(
        "wrap-up",
        &format!("/v1/agents/{id}"),
        Duration::from_secs(10),
        |_, v| v["state"] == "wrap_up",
    );
    // The session's connect latency runs from the hand-over, not from the
    // robo-call's answer seconds before.
    let sess = rig.wait(
        "the session's connect timing",
        &format!("/v1/agents/{id}/session"),
        Duration::from_secs(10),
        |_, v| v["last_connect"]["call_id"] == call_id.as_str(),
    );
    let latency = sess["last_connect"]["latency_us"]
        .as_u64()
        .expect("latency");
    assert!(latency < 1_500_000, "connect latency {latency} µs: {sess}");
    println!(
        "press 3 live: connect latency {latency} µs, customer heard the operator {run} frames"
    );
    let o = rig.wait(
        "the attempt is recorded",
        "/v1/orders/P3-1",
        Duration::from_secs(10),
        |_, v| v["attempts"][0]["result"] == "operator",
    );
    assert_eq!(o["attempts"][0]["digits"], "3", "{o}");
    // The operator's disposition settles the order.
    assert_eq!(rig.confirm_wrap_ups(&[id]), 1);
    rig.wait(
        "the disposition confirms the order",
        "/v1/orders/P3-1",
        Duration::from_secs(10),
        |_, v| v["status"] == "confirmed",
    );
    drop(phone);

    // 2. The operator paused: hold for operator_wait, the callback words,
    //    a callback for anyone in the operators' queue.
    let (st, v) = rig.api(
        "PUT",
        &format!("/v1/agents/{id}/state"),
        Some(r#"{"state":"paused","pause_code":"break"}"#),
    );
    assert_eq!(st, 200, "{v}");
    let phone = customer(&rig, "later", trunk);
    let (st, v) = rig.api("POST", "/v1/orders", Some(&order("P3-2")));
    assert_eq!(st, 201, "{v}");
    let o = rig.wait(
        "the callback is queued",
        "/v1/orders/P3-2",
        Duration::from_secs(30),
        |_, v| v["dialer"]["subqueue"] == "callback",
    );
    assert_eq!(o["dialer"]["mode"], "operators", "{o}");
    assert_eq!(o["attempts"][0]["result"], "operator", "{o}");
    let heard = settled(|| phone.heard());
    let (digits, starts) = markers(&heard);
    assert!(digits.starts_with("AB"), "{digits:?}");
    let held = held_secs(&digits, &starts);
    assert!(
        (2.8..4.5).contains(&held),
        "held {held:.2} s for operator_wait = 3 s"
    );
    println!("operator paused: held {held:.2} s before the callback words");
    drop(phone);
    let (_, st) = rig.api("GET", &format!("/v1/agents/{id}"), None);
    assert_eq!(st["state"], "paused", "the wait reserved nobody: {st}");

    // order.operator says which.
    let t0 = Instant::now();
    let hooks = loop {
        let hooks: Vec<serde_json::Value> = sink
            .received()
            .iter()
            .filter(|h| h.body.contains("order.operator"))
            .filter_map(|h| serde_json::from_str(&h.body).ok())
            .collect();
        if hooks.len() >= 2 || t0.elapsed() > Duration::from_secs(15) {
            break hooks;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let data = |order: &str| {
        hooks
            .iter()
            .map(|h| {
                if h["data"].is_null() {
                    h.clone()
                } else {
                    h["data"].clone()
                }
            })
            .find(|d| d["order_id"] == order)
            .unwrap_or_else(|| panic!("no order.operator for {order}: {hooks:?}"))
    };
    assert_eq!(data("P3-1")["connected"], true);
    assert_eq!(data("P3-1")["agent_id"], id);
    assert_eq!(data("P3-2")["connected"], false);

    // What the operator heard: the customer's tone, on the session call
    // (complete once the logout has ended it).
    let (st, v) = rig.api("DELETE", &format!("/v1/agents/{id}/session"), None);
    assert_eq!(st, 202, "{v}");
    let heard = settled(|| op_phone.heard());
    let (_, run) = longest_run(&tone_frames(&heard, CUSTOMER_HZ, 800.0));
    assert!(
        run >= 40,
        "the operator heard the customer for {run} frames"
    );

    // 3. Nobody of the mode in a session: no point holding; the callback
    //    words follow the hold prompt at once.
    rig.wait(
        "logged out",
        &format!("/v1/agents/{id}"),
        Duration::from_secs(10),
        |_, v| v["state"] == "offline",
    );
    let phone = customer(&rig, "nobody", trunk);
    let (st, v) = rig.api("POST", "/v1/orders", Some(&order("P3-3")));
    assert_eq!(st, 201, "{v}");
    rig.wait(
        "the callback is queued",
        "/v1/orders/P3-3",
        Duration::from_secs(30),
        |_, v| v["dialer"]["subqueue"] == "callback",
    );
    let heard = settled(|| phone.heard());
    let (digits, starts) = markers(&heard);
    let held = held_secs(&digits, &starts);
    assert!(held < 1.0, "held {held:.2} s with nobody to wait for");
    println!("nobody in a session: held {held:.2} s before the callback words");
    println!("press3_operator: {:.1} s", t_start.elapsed().as_secs_f64());
}
