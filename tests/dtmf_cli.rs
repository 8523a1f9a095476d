//! `orderline dtmf decode FILE.wav` — the stable CLI contract: one line on stdout with
//! the digits and nothing else; any sample rate, mono, 16-bit. multimon-ng, an
//! independent decoder, is run on the same files as a cross-check.

#[macro_use]
mod support;

use std::path::Path;
use std::process::Command;

use orderline::dtmf::{dtmf_samples, DtmfTiming};

fn orderline(args: &[&str], file: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_orderline"))
        .args(["dtmf", "decode"])
        .args(args)
        .arg(file)
        .output()
        .expect("run orderline")
}

/// Write `samples` (8 kHz) as a WAV at `rate` via sox.
fn wav_at(dir: &Path, samples: &[i16], rate: u32) -> std::path::PathBuf {
    let raw = dir.join(format!("in{rate}.raw"));
    support::dtmf_harness::write_raw(&raw, samples);
    let wav = dir.join(format!("digits_{rate}.wav"));
    let st = Command::new("sox")
        .args([
            "-t",
            "raw",
            "-r",
            "8000",
            "-e",
            "signed-integer",
            "-b",
            "16",
            "-c",
            "1",
        ])
        .arg(&raw)
        .args(["-r", &rate.to_string(), "-b", "16", "-c", "1"])
        .arg(&wav)
        .status()
        .expect("sox (Debian: sox)");
    assert!(st.success());
    wav
}

#[test]
fn decode_prints_the_digits_at_any_rate() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = vec![0i16; 4000];
    s.extend(
        dtmf_samples(
            "4111111111111111#",
            DtmfTiming {
                on_ms: 60,
                off_ms: 60,
                low_dbm0: -12.0,
                high_dbm0: -10.0,
            },
        )
        .unwrap(),
    );
    s.extend(vec![0i16; 4000]);
    for rate in [8000u32, 11025, 16000, 22050, 44100, 48000] {
        let wav = wav_at(dir.path(), &s, rate);
        let out = orderline(&[], &wav);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "4111111111111111#\n",
            "rate {rate}"
        );
        if rate == 22050 {
            // Independent cross-check of the test vector itself.
            let mm = Command::new("multimon-ng")
                .args(["-q", "-a", "DTMF", "-t", "wav"])
                .arg(&wav)
                .output()
                .expect("multimon-ng (Debian: multimon-ng)");
            let text = String::from_utf8_lossy(&mm.stdout);
            let digits: String = text
                .lines()
                .filter_map(|l| l.strip_prefix("DTMF: "))
                .collect();
            assert_eq!(digits, "4111111111111111#", "multimon-ng: {text}");
        }
    }
    let wav = wav_at(dir.path(), &s, 16000);
    let out = orderline(&["--json"], &wav);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["digits"], "4111111111111111#");
    assert_eq!(v["events"].as_array().unwrap().len(), 17);
    let first = v["events"][0]["start_ms"].as_f64().unwrap();
    assert!((first - 500.0).abs() < 10.0, "{first}");
}

#[test]
fn silence_prints_an_empty_line_and_errors_go_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let wav = wav_at(dir.path(), &vec![0i16; 8000], 8000);
    let out = orderline(&[], &wav);
    assert!(out.status.success());
    assert_eq!(out.stdout, b"\n");

    let missing = dir.path().join("nope.wav");
    let out = orderline(&[], &missing);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(!out.stderr.is_empty());

    // Stereo is refused (the contract is mono).
    let stereo = dir.path().join("stereo.wav");
    let st = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "2", "-b", "16"])
        .arg(&stereo)
        .args(["trim", "0", "0.1"])
        .status()
        .unwrap();
    assert!(st.success());
    let out = orderline(&[], &stereo);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
}
