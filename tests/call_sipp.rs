//! `orderline call` end to end against SIPp callees over 127.0.0.1: real SIP,
//! real RTP, in-band keys encoded by sox and RFC 4733 keys from SIPp's own
//! captures. Each test fails if the outcome, the digits or SIPp's view of the
//! dialog is wrong.

#[macro_use]
mod support;

use std::path::Path;
use std::time::Duration;

use support::*;

/// Run one call against a SIPp scenario and return orderline's JSON report.
fn call_against(dir: &Path, scenario_file: &Path, extra_cfg: &str) -> serde_json::Value {
    let sipp = Sipp::start(scenario_file, dir, &[]);
    let cfg = write_config(dir, free_udp_port(), sipp.port, extra_cfg);
    let (report, out) = orderline_call(
        &cfg,
        "03001234567",
        &["--amount", "2450", "--currency", "PKR"],
    );
    let (ok, errors) = sipp.finish(Duration::from_secs(20));
    assert!(
        ok,
        "SIPp saw a broken dialog: {errors}\norderline stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// A callee that answers (PCMU or PCMA) and keys the given presses in-band.
fn inband_call(presses: &[(f64, char, f64)], secs: f64, law: &str) -> serde_json::Value {
    inband_call_with("callee_inband.xml", presses, secs, law)
}

fn inband_call_with(
    template: &str,
    presses: &[(f64, char, f64)],
    secs: f64,
    law: &str,
) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("keys.wav");
    write_wav(&wav, &keypress_audio(presses, secs));
    let raw = dir.path().join(format!("keys.{law}"));
    sox_g711(&wav, &raw, law);
    let (pt, name) = if law == "ul" {
        ("0", "PCMU")
    } else {
        ("8", "PCMA")
    };
    let action = format!("rtp_stream=\"{},1,{pt}\"", raw.display());
    let sc = scenario(
        dir.path(),
        template,
        &[
            ("@CODEC_PT@", pt),
            ("@CODEC_NAME@", name),
            ("@MEDIA_ACTION@", &action),
        ],
    );
    call_against(dir.path(), &sc, "")
}

#[test]
fn early_media_183_then_answer_confirms() {
    // Audio starts flowing with the 183 (our media session starts on it); the
    // answer comes 1 s later with the same SDP; the key at 3.5 s (after the
    // 1.5 s intro) is read and the call confirms.
    let r = inband_call_with("callee_early_media.xml", &[(3.5, '1', 0.12)], 8.0, "ul");
    assert_eq!(r["outcome"], "confirmed", "{r}");
    assert_eq!(r["digits"], "1", "{r}");
    let setup = r["setup_ms"].as_u64().expect("setup_ms");
    assert!(
        setup >= 900,
        "answer came {setup} ms after INVITE; the 183 phase was skipped"
    );
}

#[test]
fn inband_one_confirms() {
    // Test prompts last ~2.5 s; the key comes after the menu.
    let r = inband_call(&[(4.0, '1', 0.12)], 8.0, "ul");
    assert_eq!(r["answered"], true, "{r}");
    assert_eq!(r["outcome"], "confirmed", "{r}");
    assert_eq!(r["digits"], "1", "{r}");
    assert_eq!(r["sip_status"], 200, "{r}");
    assert_eq!(r["codec"], "PCMU", "{r}");
    assert_eq!(r["hangup_by"], "local", "{r}");
}

#[test]
fn inband_two_cancels_over_pcma() {
    let r = inband_call(&[(4.0, '2', 0.1)], 8.0, "al");
    assert_eq!(r["outcome"], "cancelled", "{r}");
    assert_eq!(r["digits"], "2", "{r}");
    assert_eq!(r["codec"], "PCMA", "{r}");
}

#[test]
fn key_during_prompt_barges_in() {
    // 0.8 s in, the greeting is still playing: the key must count and stop it.
    let r = inband_call(&[(0.8, '1', 0.1)], 6.0, "ul");
    assert_eq!(r["outcome"], "confirmed", "{r}");
    // Without barge-in the call would last the whole intro (~2.5 s) + thanks.
    let ms = r["duration_ms"].as_u64().expect("duration_ms");
    assert!(ms < 2600, "barge-in did not cut the prompt short: {ms} ms");
}

#[test]
fn wrong_key_then_one_confirms() {
    let r = inband_call(&[(3.5, '5', 0.1), (6.0, '1', 0.1)], 10.0, "ul");
    assert_eq!(r["outcome"], "confirmed", "{r}");
    assert_eq!(r["digits"], "51", "{r}");
}

#[test]
fn silence_ends_as_no_input() {
    // Intro ~2.5 s, 2 s wait, repeat (~1.6 s), 2 s wait, goodbye: about 9 s.
    let r = inband_call(&[], 14.0, "ul");
    assert_eq!(r["answered"], true, "{r}");
    assert_eq!(r["outcome"], "no_input", "{r}");
    assert_eq!(r["digits"], "", "{r}");
}

/// RFC 4733 telephone-events from SIPp's bundled captures.
fn rfc4733_call(pcap: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = format!("/usr/share/sip-tester/{pcap}");
    assert!(
        Path::new(&path).exists(),
        "{path} missing: install sip-tester"
    );
    let action = format!("play_pcap_audio=\"{path}\"");
    let sc = scenario(
        dir.path(),
        "callee_inband.xml",
        &[
            ("@CODEC_PT@", "0"),
            ("@CODEC_NAME@", "PCMU"),
            ("@MEDIA_ACTION@", &action),
        ],
    );
    call_against(dir.path(), &sc, "")
}

#[test]
fn rfc4733_one_confirms() {
    let r = rfc4733_call("dtmf_2833_1.pcap");
    assert_eq!(r["outcome"], "confirmed", "{r}");
    assert_eq!(r["digits"], "1", "{r}");
}

#[test]
fn rfc4733_two_cancels() {
    let r = rfc4733_call("dtmf_2833_2.pcap");
    assert_eq!(r["outcome"], "cancelled", "{r}");
    assert_eq!(r["digits"], "2", "{r}");
}

#[test]
fn busy_callee_is_busy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = Path::new(SCENARIOS).join("callee_busy.xml");
    let r = call_against(dir.path(), &sc, "");
    assert_eq!(r["answered"], false, "{r}");
    assert_eq!(r["outcome"], "busy", "{r}");
    assert_eq!(r["sip_status"], 486, "{r}");
}

#[test]
fn unanswered_call_is_cancelled_at_ring_timeout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sc = Path::new(SCENARIOS).join("callee_ring_forever.xml");
    let r = call_against(dir.path(), &sc, "");
    assert_eq!(r["answered"], false, "{r}");
    assert_eq!(r["outcome"], "no_answer", "{r}");
    assert_eq!(r["sip_status"], 487, "{r}");
    let setup = r["setup_ms"].as_u64().expect("setup_ms");
    assert!(
        (15_000..17_000).contains(&setup),
        "CANCEL not at the 15 s ring timeout: {setup} ms"
    );
}

#[test]
fn digest_challenge_is_answered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wav = dir.path().join("keys.wav");
    write_wav(&wav, &keypress_audio(&[(4.0, '1', 0.1)], 8.0));
    let raw = dir.path().join("keys.ul");
    sox_g711(&wav, &raw, "ul");
    let sc = scenario(
        dir.path(),
        "callee_auth.xml",
        &[("@AUDIO@", &raw.display().to_string())],
    );
    let r = call_against(
        dir.path(),
        &sc,
        "username = \"trunkuser\"\npassword = \"s3cret-pass\"",
    );
    assert_eq!(r["outcome"], "confirmed", "{r}");
    assert_eq!(r["sip_status"], 200, "{r}");
}
