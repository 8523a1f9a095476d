//! Issue #14, calls that go quiet: no RTP and no RTCP from the far end for
//! `[sip] media_timeout` ends the call with cause `media_timeout` — a
//! robo-call (SIPp callee that stops streaming) and a bridged agent call
//! (the agent's phone gets BYE). A far end that keeps streaming is never cut.

#[macro_use]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use support::agent_phone::agent_phone;
use support::payment_rig::{Rig, CUSTOMER};
use support::*;

/// A SIPp callee that answers and streams `secs` of audio (keys as given),
/// then nothing more; it expects our BYE.
fn callee(dir: &Path, presses: &[(f64, char, f64)], secs: f64) -> Sipp {
    streaming_callee(
        dir,
        "callee_inband.xml",
        presses,
        secs,
        free_udp_port(),
        &[],
    )
}

/// A test config with `media_timeout` in `[sip]`.
fn config_with_timeout(dir: &Path, trunk_port: u16, timeout: &str) -> std::path::PathBuf {
    let cfg = write_config(dir, free_udp_port(), trunk_port, "");
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let text = text.replacen(
        "t1_ms = 100\n",
        &format!("t1_ms = 100\nmedia_timeout = \"{timeout}\"\n"),
        1,
    );
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

#[test]
fn a_callee_that_stops_sending_rtp_is_hung_up_with_cause_media_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    // One second of (keyless) audio, then silence on the wire: no RTP, no RTCP.
    let sipp = callee(dir.path(), &[], 1.0);
    let cfg = config_with_timeout(dir.path(), sipp.port, "2s");
    let (report, out) = orderline_call(&cfg, "03001234567", &["--amount", "100"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (ok, errors) = sipp.finish(Duration::from_secs(20));
    assert!(ok, "the callee did not get our BYE: {errors}\n{stderr}");
    assert_eq!(report["answered"], true, "{report}");
    assert_eq!(report["cause"], "media_timeout", "{report}\n{stderr}");
    assert_eq!(report["outcome"], "failed", "{report}");
    assert_eq!(report["hangup_by"], "local", "{report}");
    // 1 s of media kept it up, then 2 s of silence ended it: well before the
    // flow's own no-input handling (5 s after the ~1.5 s of prompts, twice).
    let ms = report["duration_ms"].as_u64().expect("duration_ms");
    assert!(
        (2_700..5_500).contains(&ms),
        "call lasted {ms} ms: {report}\n{stderr}"
    );
}

#[test]
fn a_callee_that_keeps_streaming_is_not_cut_by_the_media_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 6 s of audio with the confirm key at 4 s: longer than the 2 s timeout
    // end to end, but never 2 s without a packet.
    let sipp = callee(dir.path(), &[(4.0, '1', 0.12)], 6.0);
    let cfg = config_with_timeout(dir.path(), sipp.port, "2s");
    let (report, out) = orderline_call(&cfg, "03001234567", &["--amount", "100"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (ok, errors) = sipp.finish(Duration::from_secs(20));
    assert!(ok, "SIPp: {errors}\n{stderr}");
    assert_eq!(report["outcome"], "confirmed", "{report}\n{stderr}");
    assert!(report.get("cause").is_none(), "{report}");
}

#[test]
fn a_bridged_customer_that_goes_silent_ends_the_call_and_the_agent_gets_bye() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The customer streams 1.5 s after answering, then vanishes without a BYE.
    let customer_dir = dir.path().join("customer");
    std::fs::create_dir_all(&customer_dir).expect("mkdir");
    let customer = callee(&customer_dir, &[], 1.5);
    // The agent's phone would talk for 30 s.
    let agent = agent_phone(dir.path(), 30.0, 10);
    let mut rig = Rig::start_with_sip(dir, agent, customer.port, "media_timeout = \"2s\"");
    let call_id = rig.dial(CUSTOMER);
    rig.wait_call(&call_id, &["bridged"], Duration::from_secs(20));
    let bridged = Instant::now();
    let call = rig.wait_call(&call_id, &["ended"], Duration::from_secs(15));
    let took = bridged.elapsed();
    assert!(
        took < Duration::from_secs(8),
        "the silent call lasted {took:?} after bridging: {call}"
    );
    assert_eq!(call["customer_cause"], "media_timeout", "{call}");
    assert_eq!(call["agent_cause"], "media_timeout", "{call}");
    assert_eq!(call["ended_by"], "local", "{call}");
    // Both far ends got our BYE: SIPp's scenario ends only on it, and the
    // agent's phone logs the dialog closed by the peer.
    let (ok, errors) = customer.finish(Duration::from_secs(10));
    assert!(ok, "the silent customer got no BYE: {errors}");
    let t0 = Instant::now();
    while !rig.agent.logs().to_lowercase().contains("closed") {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the agent's phone saw no BYE:\n{}",
            rig.agent.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_b2bua_ends_a_bridged_call_on_either_legs_media_timeout() {
    use orderline::call::b2bua::{Action, B2bua, Input, Leg, LegEvent};
    use orderline::call::live::LegCause;
    for silent in [Leg::Agent, Leg::Customer] {
        let t0 = std::time::Instant::now();
        let mut b = B2bua::new(t0, Duration::from_secs(30));
        let mut t = t0;
        let mut step = |b: &mut B2bua, input: Input| {
            t += Duration::from_millis(10);
            b.handle_input(input, t);
            std::iter::from_fn(|| b.poll_action()).collect::<Vec<_>>()
        };
        let answered = LegEvent::Answered { usable_sdp: true };
        let _ = std::iter::from_fn(|| b.poll_action()).count();
        step(&mut b, Input::Leg(Leg::Agent, answered.clone()));
        step(&mut b, Input::MediaReady);
        step(&mut b, Input::Leg(Leg::Customer, answered));
        step(&mut b, Input::MediaReady);
        assert!(b.is_bridged());
        let actions = step(&mut b, Input::Leg(silent, LegEvent::MediaTimeout));
        assert!(actions.contains(&Action::Bye(Leg::Agent)), "{actions:?}");
        assert!(actions.contains(&Action::Bye(Leg::Customer)), "{actions:?}");
        match actions.last() {
            Some(Action::End(end)) => {
                assert_eq!(end.agent_cause, LegCause::MediaTimeout);
                assert_eq!(end.customer_cause, Some(LegCause::MediaTimeout));
                assert!(!end.failed);
            }
            other => panic!("no End after a media timeout: {other:?}"),
        }
    }
}
