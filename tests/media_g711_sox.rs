//! Cross-check of our G.711 encoders and decoders against sox, over every
//! one of the 65,536 16-bit input values (sox must be installed).

use std::process::Command;

use orderline::media::g711::{alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};

fn sox(args: &[&str]) {
    let st = Command::new("sox")
        .args(args)
        .status()
        .expect("sox must be installed");
    assert!(st.success(), "sox {args:?} failed");
}

fn sweep_raw(dir: &std::path::Path) -> (std::path::PathBuf, Vec<i16>) {
    let samples: Vec<i16> = (i16::MIN..=i16::MAX).collect();
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let path = dir.join("x.raw");
    std::fs::write(&path, bytes).unwrap();
    (path, samples)
}

#[test]
fn encoders_match_sox_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let (raw, samples) = sweep_raw(dir.path());
    let raw = raw.to_str().unwrap();
    for (ty, enc) in [("ul", ulaw_encode as fn(i16) -> u8), ("al", alaw_encode)] {
        let out = dir.path().join(format!("y.{ty}"));
        let out_s = out.to_str().unwrap();
        // -D: no dither (sox otherwise adds TPDF dither when the output has
        // fewer bits, which makes boundary samples random).
        sox(&[
            "-D", "-t", "raw", "-e", "signed", "-b", "16", "-r", "8000", "-c", "1", raw, "-t", ty,
            out_s,
        ]);
        let theirs = std::fs::read(&out).unwrap();
        assert_eq!(theirs.len(), samples.len());
        let mismatches: Vec<(i16, u8, u8)> = samples
            .iter()
            .zip(&theirs)
            .filter(|(s, t)| enc(**s) != **t)
            .map(|(s, t)| (*s, enc(*s), *t))
            .take(10)
            .collect();
        assert!(
            mismatches.is_empty(),
            "{ty}: (input, ours, sox) {mismatches:?}"
        );
    }
}

#[test]
fn decoders_match_sox_for_every_code() {
    let dir = tempfile::tempdir().unwrap();
    let codes: Vec<u8> = (0..=255).collect();
    for (ty, dec) in [("ul", ulaw_decode as fn(u8) -> i16), ("al", alaw_decode)] {
        let inp = dir.path().join(format!("c.{ty}"));
        std::fs::write(&inp, &codes).unwrap();
        let out = dir.path().join(format!("c_{ty}.raw"));
        sox(&[
            "-t",
            ty,
            "-r",
            "8000",
            "-c",
            "1",
            inp.to_str().unwrap(),
            "-t",
            "raw",
            "-e",
            "signed",
            "-b",
            "16",
            out.to_str().unwrap(),
        ]);
        let raw = std::fs::read(&out).unwrap();
        for (c, pair) in codes.iter().zip(raw.chunks_exact(2)) {
            let theirs = i16::from_le_bytes([pair[0], pair[1]]);
            assert_eq!(dec(*c), theirs, "{ty} code {c:#04x}");
        }
    }
}
