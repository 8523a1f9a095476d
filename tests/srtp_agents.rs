//! SDES-SRTP on the agent's leg (issue #14): `[[agents]] srtp`. The agent's
//! phone is baresip over SIP/TLS with `;mediaenc=srtp-mand` (libre's SRTP,
//! AES_CM_128_HMAC_SHA1_80); the customer is a plain baresip behind a UDP
//! trunk. The daemon listens for TLS too: the phone's BYE comes back to the
//! Contact we gave, over TLS. One daemon serves both checks:
//!
//! 1. an agent entry with `srtp = "off"` pointing at the same SRTP-only
//!    phone gets no bridged call (the phone refuses plain RTP);
//! 2. with `srtp = "required"` the click-to-call bridges, each side hears
//!    the other's tone through the SRTP leg, and the customer's in-band keys
//!    in mid-talk do not reach the agent (the bridge's squelch, through SRTP);
//! 3. the agent logs in: the session's nailed-up leg is SRTP as well, and a
//!    customer connected into it is heard both ways;
//! 4. an agent made through the API (`POST /v1/agents` with
//!    `"srtp": "required"`) whose phone registers over TLS logs in: its leg
//!    is rung over the registration's connection and agrees SRTP.
//!
//! A second daemon (the customer is SIPp keying in-band) takes a keypad
//! payment on an SRTP agent's call: the agent hears no key.

#[macro_use]
mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::agent_phone::{
    assert_heard_each_other, phone_saying, talk_with_keys, AGENT_ID, AGENT_TONE_AMP, AGENT_TONE_HZ,
};
use support::keypad::{customer_inband, tone_audio, KeyScript};
use support::payment_rig::*;
use support::test_pki::{Leaf, TestCa};
use support::tls_rig::{tls_listener_section, tls_listening};
use support::*;

/// The agent entry with `srtp` off, on the same phone.
const PLAIN_AGENT: &str = "bilal";
/// An agent made through the API, whose phone registers over TLS, with
/// `"srtp": "required"`.
const REGISTERING_AGENT: &str = "carol";
const REGISTERING_PASSWORD: &str = "phone-pass-5e1c0d";

/// The agent's phone: baresip over SIP/TLS (presenting `leaf`, trusting
/// `ca`), SRTP mandatory, saying 1 kHz for `talk` seconds after its first
/// answer and then hanging up. Returns it, its `sip_uri` (`;transport=tls`)
/// and its audio file.
fn srtp_agent_phone(
    dir: &Path,
    leaf: &Leaf,
    ca: &TestCa,
    talk: f64,
) -> (Baresip, String, std::path::PathBuf) {
    let src = dir.join("agent-says.wav");
    write_wav(&src, &tone_audio(talk, AGENT_TONE_HZ, AGENT_TONE_AMP));
    let mut agent = Baresip::tls_phone(
        dir,
        AGENT_ID,
        &src,
        60,
        &leaf.combined,
        &ca.cert,
        ";mediaenc=srtp-mand",
        &[],
    );
    tls_listening(&mut agent);
    agent.hang_up_after(talk, 60);
    let uri = format!(
        "sip:{AGENT_ID}@127.0.0.1:{};transport=tls",
        agent.tls_port()
    );
    (agent, uri, src)
}

/// The agent's phone agreed SRTP on its calls and decrypted all we sent.
fn assert_srtp_agreed(log: &str) {
    assert!(
        log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
        "the agent's phone did not agree SRTP:\n{log}"
    );
    assert!(log.contains("RTP/SAVP"), "no RTP/SAVP:\n{log}");
    assert!(
        !log.contains("failed to decrypt"),
        "the agent's phone could not decrypt our packets:\n{log}"
    );
}

#[test]
fn an_srtp_agent_phone_over_tls_is_bridged_both_ways_in_a_call_and_in_a_session() {
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let leaf = ca.leaf("agent");
    let ours = ca.leaf("orderline");

    // The agent's phone says 1 kHz for 8 s after answering (then hangs up;
    // counted from its first answer: the refused call below is never answered).
    let (agent, agent_uri, src) = srtp_agent_phone(dir.path(), &leaf, &ca, 8.0);

    // The customer (plain RTP behind the UDP trunk): the 600 Hz marker with
    // "5#0" keyed in-band at 3 s, in mid-talk.
    let says = talk_with_keys(20.0);
    let customer_dir = dir.path().join("customer");
    std::fs::create_dir_all(&customer_dir).expect("mkdir");
    let customer = phone_saying(&customer_dir, "923001234567", "PCMU", &says, 20);

    let tls_port = free_tcp_port();
    let line = AgentLine {
        uri: Some(agent_uri.clone()),
        keys: "srtp = \"required\"".into(),
        tail: format!(
            "[[agents]]\nid = \"{PLAIN_AGENT}\"\nname = \"Bilal\"\nsip_uri = \"{agent_uri}\"\n\n{}",
            tls_listener_section(tls_port, &ours, &ca.cert)
        ),
    };
    let mut rig = Rig::start_line(dir, agent, customer.port, &line);

    // 1. The same phone under an agent entry without SRTP: no bridge.
    let (st, v) = rig.api(
        "POST",
        "/v1/calls",
        Some(&json!({"agent": PLAIN_AGENT, "to": CUSTOMER})),
    );
    assert_eq!(st, 201, "{v}");
    let plain_id = v["id"].as_str().expect("call id").to_string();
    let plain = rig.wait_call(&plain_id, &["failed", "ended"], Duration::from_secs(20));
    assert!(plain["bridged_at"].is_null(), "bridged in clear: {plain}");
    assert!(
        !customer.answered(),
        "the customer was rung for an agent whose phone refused plain RTP"
    );
    let refused = rig.agent.logs();
    assert!(
        refused.contains("488 Not Acceptable Here") && !refused.contains("answering call"),
        "the SRTP-only phone did not refuse our plain offer: {plain}\n{refused}"
    );
    eprintln!("plain offer refused: {plain}");
    let refused_at = refused.len();

    // 2. The agent entry with `srtp = "required"`.
    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    let call = rig.wait_call(&call_id, &["ended"], Duration::from_secs(25));
    assert_eq!(call["ended_by"], "agent", "{call}");
    std::thread::sleep(Duration::from_millis(500));

    let log = rig.agent.logs();
    let this_call = &log[refused_at.min(log.len())..];
    assert_srtp_agreed(this_call);
    // The keys never reach the daemon's log.
    let key = this_call
        .lines()
        .find_map(|l| l.strip_prefix("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"))
        .expect("a crypto line in the phone's trace")
        .trim();
    assert!(
        !rig.daemon.logs().contains(key),
        "an SRTP key reached orderline's log"
    );

    let (a, c) = assert_heard_each_other(
        &rig.agent.heard(),
        &customer.heard(),
        "click-to-call through SRTP",
    );
    let report = rig.assert_agent_heard_no_dtmf();
    eprintln!(
        "click-to-call: agent heard the customer {a} ms, customer heard the agent {c} ms; {report:?}; {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // 3. The agent logs in: the session's leg is SRTP too, and a customer
    // connected into it hears the agent (and the agent the customer).
    let srtp_legs = |log: &str| log.matches("SRTP is Enabled").count();
    let before = srtp_legs(&rig.agent.logs());
    rig.log_in();
    assert!(
        srtp_legs(&rig.agent.logs()) > before,
        "the session's leg did not agree SRTP:\n{}",
        rig.agent.logs()
    );
    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    std::thread::sleep(Duration::from_secs(3));
    assert!(rig.agent.hang_up(), "the agent's phone took no hangup");
    rig.wait_call(&call_id, &["ended"], Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(500));
    assert!(!rig.agent.logs().contains("failed to decrypt"));
    let (a, c) = assert_heard_each_other(
        &rig.agent.last_heard(),
        &customer.last_heard(),
        "a call in the SRTP session",
    );
    eprintln!(
        "session: customer heard the agent {c} ms, agent heard the customer {a} ms; {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    // 4. A phone that registers over TLS (digest) under an agent made
    // through the API with `"srtp": "required"`: its session's leg is rung
    // on the registration's connection and agrees SRTP.
    let (st, v) = rig.api(
        "POST",
        "/v1/agents",
        Some(
            &json!({"id": REGISTERING_AGENT, "name": "Carol", "sip_user": "1002",
            "sip_password": REGISTERING_PASSWORD, "srtp": "required"}),
        ),
    );
    assert_eq!((st, &v["srtp"]), (201, &json!("required")), "{v}");
    let (st, v) = rig.api(
        "POST",
        "/v1/agents",
        Some(&json!({"id": "dora", "name": "Dora", "sip_uri": agent_uri, "srtp": "always"})),
    );
    assert_eq!((st, &v["field"]), (422, &json!("srtp")), "{v}");
    let account = format!(
        "<sip:1002@127.0.0.1:{tls_port};transport=tls>;auth_pass={REGISTERING_PASSWORD};\
         regint=60;answermode=auto;audio_codecs=PCMU;mediaenc=srtp-mand\n"
    );
    let carol = Baresip::tls_phone_with_account(
        &rig.dir,
        "1002",
        &src,
        30,
        (&leaf.combined, &ca.cert),
        &account,
        &[],
    );
    let reg = std::time::Instant::now();
    loop {
        let (_, v) = rig.api("GET", "/v1/agents", None);
        let carol_row = v["agents"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["id"] == REGISTERING_AGENT));
        if carol_row
            .is_some_and(|x| x["srtp"] == "required" && x["registrations"][0]["transport"] == "tls")
        {
            break;
        }
        assert!(
            reg.elapsed() < Duration::from_secs(15),
            "no TLS registration: {v}\n{}",
            carol.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    rig.log_in_as(REGISTERING_AGENT);
    let log = carol.logs();
    let lines: Vec<&str> = log.lines().collect();
    // baresip's trace: our INVITE came over TLS, from our listener's side
    // of the connection the REGISTER opened.
    let invite_over_tls = lines.windows(2).any(|w| {
        w[0].starts_with(&format!("TLS 127.0.0.1:{tls_port} -> "))
            && w[1].starts_with("INVITE sip:1002")
    });
    assert!(
        invite_over_tls && log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
        "the registered phone's session leg is not SRTP over TLS:\n{log}"
    );
    eprintln!(
        "registered over TLS: session up with SRTP; {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}

/// A keypad payment on a click-to-call whose agent leg is SRTP: the caller
/// keys the amount's `1` and then cancels in the card number (`424242*`)
/// in-band; the agent, on hold meanwhile, hears the hold tone and none of
/// the keys through SRTP, and is back with the caller afterwards.
#[test]
fn a_keypad_payment_on_an_srtp_agent_leg_keeps_every_key_from_the_agent() {
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let leaf = ca.leaf("agent");
    let ours = ca.leaf("orderline");
    let script = KeyScript::star_cancel();
    let customer = customer_inband(dir.path(), &script);
    let total = script.layout().total;
    let (agent, agent_uri, _) = srtp_agent_phone(dir.path(), &leaf, &ca, total + 3.0);
    let line = AgentLine {
        uri: Some(agent_uri),
        keys: "srtp = \"required\"".into(),
        tail: tls_listener_section(free_tcp_port(), &ours, &ca.cert),
    };
    let mut rig = Rig::start_line(dir, agent, customer.port, &line);
    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    let created = rig.request_payment(&call_id);
    let pid = created["id"].as_str().expect("payment id").to_string();
    let payment = rig.wait_payment_end(&pid, Duration::from_secs_f64(total + 20.0));
    assert_eq!(payment["status"], "cancelled", "{payment}");
    let call = rig.wait_call(&call_id, &["ended"], Duration::from_secs_f64(total + 20.0));
    let (ok, errors) = customer.finish(Duration::from_secs(15));
    assert!(ok, "the customer (SIPp) saw a broken call: {errors}");
    std::thread::sleep(Duration::from_millis(300));
    assert_srtp_agreed(&rig.agent.logs());
    let report = rig.assert_agent_heard_no_dtmf();
    rig.assert_back_with_agent(&call, &payment, true);
    eprintln!(
        "payment through SRTP: {report:?}; {:.1} s",
        t0.elapsed().as_secs_f64()
    );
}
