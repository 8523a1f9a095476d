//! What a party heard, checked from its recording:
//!
//! - **no DTMF**: spandsp's `dtmf_rx` (reference) and `orderline dtmf decode
//!   --json` find no digit, and a Goertzel sweep at the eight DTMF frequencies
//!   over 10 ms windows finds no fragment of a key tone — calibrated on the
//!   same recording: a 5 ms key fragment at −26 dBm0 per tone (the weakest a
//!   Q.24 receiver must accept) inserted where the recording is loudest must be
//!   caught, or the check proves nothing;
//! - **tones**: where a given frequency dominates (hold tone, marker, the other
//!   party's test tone).
#![allow(dead_code)]

use std::f64::consts::PI;
use std::path::Path;
use std::process::Command;

use super::dtmf_harness::{spandsp_rx, spandsp_tx};

pub const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
pub const COLS: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];

/// Sweep window: 10 ms, moved 2.5 ms at a time (so a 5 ms fragment lies
/// centred in some window).
pub const WINDOW: usize = 80;
pub const HOP: usize = 20;

/// A window "holds a key fragment" when its strongest row tone and its
/// strongest column tone both read at least this (amplitude of a full-window
/// sine, 16-bit linear; Hann-windowed Goertzel). 400 ≈ −35 dBm0: 9 dB below
/// the −26 dBm0 a Q.24 receiver must accept. Measured (tests/payments_harness):
/// a 5 ms key fragment at −26 dBm0 reads ≥ 800 wherever it lands (2×, 6 dB
/// over); the worst clean audio — a 425 Hz hold tone switched on and off
/// abruptly, through G.711 and baresip — reads ≈ 160 (2.5×, 8 dB under). A
/// hold tone, a 600 Hz marker and G.711 noise have no energy at the column
/// tones; a key always has both.
pub const FRAGMENT_THRESHOLD: f64 = 400.0;

/// 16-bit linear amplitude of a sine at `dbm0` (µ-law: +3.17 dBm0 = full scale 32124).
pub fn dbm0_amplitude(dbm0: f64) -> f64 {
    32124.0 * 10f64.powf((dbm0 - 3.17) / 20.0)
}

fn hann(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * PI * (i as f64 + 0.5) / n as f64).cos())
        .collect()
}

/// Amplitude of `freq` in `x` under window `w` (a full-length sine of peak A reads ≈ A).
fn goertzel(x: &[i16], w: &[f64], freq: f64) -> f64 {
    let k = 2.0 * (2.0 * PI * freq / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for (v, wi) in x.iter().zip(w) {
        let s = f64::from(*v) * wi + k * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let p = s1 * s1 + s2 * s2 - k * s1 * s2;
    2.0 * p.max(0.0).sqrt() / w.iter().sum::<f64>()
}

/// Amplitude of `freq` in `x` (Goertzel, no window), scaled to a sine's peak
/// amplitude: the tone check of the tests that look at a recording.
pub fn amplitude_at(x: &[i16], freq: f64) -> f64 {
    goertzel(x, &vec![1.0; x.len()], freq)
}

/// Result of the DTMF-fragment sweep.
#[derive(Debug, Clone)]
pub struct FragmentScan {
    /// The highest min(row, column) over all windows, and where (sample).
    pub worst: f64,
    pub worst_at: usize,
    /// Windows at or over [`FRAGMENT_THRESHOLD`]: (sample, min(row, col)).
    pub hits: Vec<(usize, f64)>,
}

pub fn scan_fragments(x: &[i16]) -> FragmentScan {
    let w = hann(WINDOW);
    let mut scan = FragmentScan {
        worst: 0.0,
        worst_at: 0,
        hits: Vec::new(),
    };
    let mut at = 0;
    while at + WINDOW <= x.len() {
        let win = &x[at..at + WINDOW];
        let row = ROWS
            .iter()
            .map(|&f| goertzel(win, &w, f))
            .fold(0.0, f64::max);
        let col = COLS
            .iter()
            .map(|&f| goertzel(win, &w, f))
            .fold(0.0, f64::max);
        let m = row.min(col);
        if m > scan.worst {
            scan.worst = m;
            scan.worst_at = at;
        }
        if m >= FRAGMENT_THRESHOLD {
            scan.hits.push((at, m));
        }
        at += HOP;
    }
    scan
}

/// Add a `ms`-long key `digit` at `dbm0` per tone (spandsp's generator) at sample `at`.
pub fn insert_fragment(x: &[i16], at: usize, digit: char, ms: u32, dbm0: i32) -> Vec<i16> {
    let tone = spandsp_tx(&digit.to_string(), dbm0, 0, ms, 0);
    let mut y = x.to_vec();
    let n = (ms as usize * 8).min(tone.len());
    for (s, t) in y.iter_mut().skip(at).zip(&tone[..n]) {
        *s = (i32::from(*s) + i32::from(*t)).clamp(-32768, 32767) as i16;
    }
    y
}

/// Read a recording (any rate, mono 16-bit) as 8 kHz.
pub fn read_8k(path: &Path) -> Vec<i16> {
    orderline::audio::read_wav_8k(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `orderline dtmf decode --json FILE`: the digits and the number of events.
pub fn orderline_decode_cli(path: &Path) -> (String, usize) {
    let out = Command::new(env!("CARGO_BIN_EXE_orderline"))
        .args(["dtmf", "decode", "--json"])
        .arg(path)
        .output()
        .expect("run orderline dtmf decode");
    assert!(
        out.status.success(),
        "orderline dtmf decode failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("dtmf decode --json prints JSON");
    let digits = v["digits"].as_str().expect("digits").to_string();
    let events = v["events"].as_array().map_or(0, Vec::len);
    (digits, events)
}

/// What [`assert_no_dtmf`] measured, for the test's report.
#[derive(Debug, Clone)]
pub struct NoDtmfReport {
    pub seconds: f64,
    pub worst: f64,
    pub worst_at_ms: usize,
    pub fragment_reads: f64,
}

/// The whole "this party heard no key" proof over a recording file; panics
/// with what was found.
pub fn assert_no_dtmf(path: &Path, who: &str) -> NoDtmfReport {
    check_no_dtmf(path, who).unwrap_or_else(|e| panic!("{e}"))
}

/// As [`assert_no_dtmf`], returning what was found instead of panicking.
pub fn check_no_dtmf(path: &Path, who: &str) -> Result<NoDtmfReport, String> {
    let x = read_8k(path);
    if x.len() <= 8000 {
        return Err(format!(
            "{who}'s recording is too short ({} samples)",
            x.len()
        ));
    }
    let theirs = spandsp_rx(std::slice::from_ref(&x)).remove(0);
    if !theirs.is_empty() {
        return Err(format!(
            "spandsp's dtmf_rx found {theirs:?} in what {who} heard ({})",
            path.display()
        ));
    }
    let (ours, events) = orderline_decode_cli(path);
    if !ours.is_empty() || events != 0 {
        return Err(format!(
            "orderline dtmf decode found {ours:?} in what {who} heard ({})",
            path.display()
        ));
    }
    let scan = scan_fragments(&x);
    if !scan.hits.is_empty() {
        return Err(format!(
            "{who} heard DTMF tone fragments (row and column tones ≥ {FRAGMENT_THRESHOLD}) at (ms, level) {:?} in {}",
            scan.hits.iter().take(20).map(|(at, m)| (at / 8, *m as i64)).collect::<Vec<_>>(),
            path.display()
        ));
    }
    // Calibration on the same audio: a 5 ms fragment at the weakest level a
    // receiver accepts, put on top of the loudest spot, must be caught.
    let loudest = loudest_window(&x);
    let planted = insert_fragment(&x, loudest, '5', 5, -26);
    let caught = scan_fragments(&planted);
    let near = caught
        .hits
        .iter()
        .filter(|(at, _)| at.abs_diff(loudest) < 2 * WINDOW)
        .map(|(_, m)| *m)
        .fold(0.0, f64::max);
    if near < FRAGMENT_THRESHOLD {
        return Err(format!(
            "calibration: a 5 ms −26 dBm0 key fragment at {} ms of {who}'s recording was not caught (read {near:.0}, clean worst {:.0})",
            loudest / 8,
            scan.worst
        ));
    }
    Ok(NoDtmfReport {
        seconds: x.len() as f64 / 8000.0,
        worst: scan.worst,
        worst_at_ms: scan.worst_at / 8,
        fragment_reads: near,
    })
}

/// Start of the 10 ms window with the most energy.
pub fn loudest_window(x: &[i16]) -> usize {
    let mut best = (0.0, 0usize);
    let mut at = 0;
    while at + WINDOW <= x.len() {
        let e: f64 = x[at..at + WINDOW]
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum();
        if e > best.0 {
            best = (e, at);
        }
        at += WINDOW;
    }
    best.1
}

/// 20 ms frames (index = ms / 20) where `hz` dominates: it reads at least
/// `min_amp` and carries at least half the frame's energy.
pub fn tone_frames(x: &[i16], hz: f64, min_amp: f64) -> Vec<usize> {
    let n = 160;
    let w = hann(n);
    let wsum2: f64 = w.iter().map(|v| v * v).sum();
    x.chunks_exact(n)
        .enumerate()
        .filter(|(_, f)| {
            let a = goertzel(f, &w, hz);
            // The frame's windowed power, as the amplitude of one sine carrying it all.
            let p: f64 = f
                .iter()
                .zip(&w)
                .map(|(v, wi)| (f64::from(*v) * wi).powi(2))
                .sum();
            let all2 = 2.0 * p / wsum2;
            a >= min_amp && a * a >= 0.5 * all2
        })
        .map(|(i, _)| i)
        .collect()
}

/// Longest run of consecutive frames in a sorted frame list: (first, length).
pub fn longest_run(frames: &[usize]) -> (usize, usize) {
    let mut best = (0, 0);
    let mut i = 0;
    while i < frames.len() {
        let mut j = i;
        while j + 1 < frames.len() && frames[j + 1] == frames[j] + 1 {
            j += 1;
        }
        if j - i + 1 > best.1 {
            best = (frames[i], j - i + 1);
        }
        i = j + 1;
    }
    best
}

/// [`check_no_dtmf`] over samples (written to `dir` as a WAV for the CLI).
pub fn check_no_dtmf_samples(x: &[i16], dir: &Path, who: &str) -> Result<NoDtmfReport, String> {
    let name: String = who
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let path = dir.join(format!("{name}.wav"));
    super::write_wav(&path, x);
    check_no_dtmf(&path, who)
}
