//! baresip as the agent's phone (and, in the bridge test, as a customer's):
//! auto-answers, "speaks" a steady test tone so the other side can be checked,
//! hangs up when that is said (`talk_secs` after answering, through
//! `ctrl_tcp`: baresip 1.0 keeps the call up when its file ends), and records
//! what it heard (sndfile.so).
#![allow(dead_code)]

use std::path::Path;

use super::audio_check::{longest_run, read_8k, tone_frames};
use super::keypad::{
    tone_audio, write_tone, KEY_LEVEL_DBM0, KEY_OFF_MS, KEY_ON_MS, KEY_TWIST_DB, MARKER_AMP,
    MARKER_HZ,
};
use super::{free_udp_port, write_wav, Baresip};

pub const AGENT_ID: &str = "ayesha";
pub const AGENT_NAME: &str = "Ayesha Khan";
/// What the agent's phone sends: a quiet 1 kHz tone (≈ −20 dBm0).
pub const AGENT_TONE_HZ: f64 = 1000.0;
pub const AGENT_TONE_AMP: f64 = 2300.0;

/// The agent's phone: answers as `sip:ayesha@127.0.0.1:<port>` with PCMU
/// only, talks for `talk_secs` after answering (then hangs up).
pub fn agent_phone(dir: &Path, talk_secs: f64, linger_secs: u32) -> Baresip {
    phone(
        dir,
        AGENT_ID,
        "PCMU",
        talk_secs,
        AGENT_TONE_HZ,
        AGENT_TONE_AMP,
        linger_secs,
    )
}

/// A phone that answers as `user`, offers `codecs`, sends `hz` and hangs up
/// `talk_secs` after answering; the process quits `linger_secs` after that.
pub fn phone(
    dir: &Path,
    user: &str,
    codecs: &str,
    talk_secs: f64,
    hz: f64,
    amp: f64,
    linger_secs: u32,
) -> Baresip {
    phone_saying(
        dir,
        user,
        codecs,
        &tone_audio(talk_secs, hz, amp),
        linger_secs,
    )
}

/// A phone that answers as `user`, offers `codecs`, sends `audio` (8 kHz)
/// and hangs up when it has sent it all.
pub fn phone_saying(
    dir: &Path,
    user: &str,
    codecs: &str,
    audio: &[i16],
    linger_secs: u32,
) -> Baresip {
    let talk_secs = audio.len() as f64 / 8000.0;
    let src = dir.join(format!("{user}-says.wav"));
    write_wav(&src, audio);
    let run = talk_secs.ceil() as u32 + linger_secs;
    let b = Baresip::phone(dir, user, free_udp_port(), &src, run, codecs);
    b.hang_up_after(talk_secs, run);
    b
}

/// Lines where baresip reports telephone-events it received (RFC 4733 that
/// reached this phone): `received event: '5' (end=0)`, `call: received DTMF: …`.
pub fn received_dtmf_lines(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("received event") || l.contains("received DTMF"))
        .map(str::to_string)
        .collect()
}

/// A customer's talk, `secs` long at 8 kHz: the 600 Hz marker, pausing (with
/// soft edges) around "5", "#", "0" keyed in-band at 3 s, as callers do in
/// the middle of a conversation.
pub fn talk_with_keys(secs: f64) -> Vec<i16> {
    let mut says = vec![0i16; (secs * 8000.0) as usize];
    write_tone(&mut says, 0.0, 2.8, MARKER_HZ, MARKER_AMP);
    write_tone(&mut says, 4.0, secs, MARKER_HZ, MARKER_AMP);
    let keys =
        super::dtmf_harness::spandsp_tx("5#0", KEY_LEVEL_DBM0, KEY_TWIST_DB, KEY_ON_MS, KEY_OFF_MS);
    says[24_000..24_000 + keys.len()].copy_from_slice(&keys);
    says
}

/// Each side heard the other for at least 1.5 s (longest run of 20 ms
/// frames): the agent the customer's marker, the customer the agent's tone.
/// Returns both runs in ms; `what` names the call in a failure.
pub fn assert_heard_each_other(
    agent_heard: &Path,
    customer_heard: &Path,
    what: &str,
) -> (usize, usize) {
    let (_, a) = longest_run(&tone_frames(&read_8k(agent_heard), MARKER_HZ, 1500.0));
    let (_, c) = longest_run(&tone_frames(&read_8k(customer_heard), AGENT_TONE_HZ, 800.0));
    assert!(
        a >= 75,
        "{what}: the agent heard the customer's {MARKER_HZ} Hz for only {} ms",
        a * 20
    );
    assert!(
        c >= 75,
        "{what}: the customer heard the agent's {AGENT_TONE_HZ} Hz for only {} ms",
        c * 20
    );
    (a * 20, c * 20)
}
