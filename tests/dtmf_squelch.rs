//! Squelch: a key press pushed through [`Squelch`] must leave no digit for spandsp's
//! detector or ours, and no tone fragment — not at the onset, not at the tail (the leak
//! of signalwire/freeswitch#2560). Speech without key presses must pass, delayed only.

#[macro_use]
mod support;

use orderline::dtmf::*;
use support::dtmf_harness::*;

fn squelch(input: &[i16], frame: usize) -> Vec<i16> {
    let mut sq = Squelch::new();
    assert!(sq.delay_samples() <= 320, "look-ahead above 40 ms");
    let mut out = vec![0i16; input.len()];
    for (i, o) in input.chunks(frame).zip(out.chunks_mut(frame)) {
        sq.process(i, o);
    }
    out
}

/// Largest energy (dBm0-equivalent sine level) at any DTMF frequency in any 64-sample
/// (8 ms) window, hop 16.
fn max_dtmf_level(s: &[i16]) -> f64 {
    let freqs = [697.0, 770.0, 852.0, 941.0, 1209.0, 1336.0, 1477.0, 1633.0];
    let n = 64;
    let mut worst = -120.0f64;
    for start in (0..s.len().saturating_sub(n)).step_by(16) {
        for f in freqs {
            let w = 2.0 * std::f64::consts::PI * f / 8000.0;
            let (mut re, mut im) = (0.0, 0.0);
            for (k, &x) in s[start..start + n].iter().enumerate() {
                re += f64::from(x) * (w * k as f64).cos();
                im += f64::from(x) * (w * k as f64).sin();
            }
            let amp = 2.0 * (re * re + im * im).sqrt() / n as f64;
            let db = f64::from(orderline::dtmf::amplitude_to_dbm0(amp.max(1e-9) as f32));
            worst = worst.max(db);
        }
    }
    worst
}

#[test]
fn key_presses_leave_no_digit_and_no_fragment() {
    let d = 320;
    let mut input = vec![0i16; 2000];
    let mut tone_mask = vec![false; 2000];
    let cases = [
        (40u32, -6.0f32),
        (45, -20.0),
        (60, 0.0),
        (100, -10.0),
        (200, -26.0),
        (500, -3.0),
        (41, -30.0),
    ];
    for (i, c) in "0123456789*#ABCD".chars().enumerate() {
        let (on, level) = cases[i % cases.len()];
        let t = DtmfTiming {
            on_ms: on,
            off_ms: 150,
            low_dbm0: level,
            high_dbm0: level + 1.0,
        };
        let s = dtmf_samples(&c.to_string(), t).unwrap();
        tone_mask.extend((0..s.len()).map(|k| k < on as usize * 8));
        input.extend(s);
        input.extend(vec![0i16; 37 * i]); // vary alignment
        tone_mask.extend(vec![false; 37 * i]);
    }
    input.extend(vec![0i16; 2000]);
    tone_mask.extend(vec![false; 2000]);
    assert_eq!(
        decode_samples(&input).len(),
        16,
        "the input itself must hold 16 digits"
    );

    for frame in [160usize, 1, 33, 80, 240] {
        let out = squelch(&input, frame);
        let leaked = (d..out.len())
            .filter(|&t| tone_mask[t - d] && out[t] != 0)
            .count();
        let ours: String = decode_samples(&out).iter().map(|e| e.digit).collect();
        let theirs = spandsp_rx(std::slice::from_ref(&out)).remove(0);
        let level = max_dtmf_level(&out);
        eprintln!("squelch frame {frame:>3}: leaked tone samples {leaked}, orderline '{ours}', spandsp '{theirs}', max DTMF-band level {level:.1} dBm0");
        assert_eq!(leaked, 0, "frame {frame}");
        assert!(ours.is_empty() && theirs.is_empty(), "frame {frame}");
        assert!(level < -60.0, "frame {frame}: {level}");
    }
}

#[test]
fn speech_passes_and_digits_inside_speech_are_removed() {
    let speech = espeak(
        "en-us",
        50,
        150,
        "Hello, I would like to pay for my order now. My card number is on the back of the card.",
        -3,
    );
    // Speech alone: delayed by exactly the look-ahead, barely touched.
    let out = squelch(&speech, 160);
    let d = Squelch::new().delay_samples();
    let same = (d..out.len()).filter(|&t| out[t] == speech[t - d]).count();
    let kept = same as f64 / (out.len() - d) as f64;
    eprintln!(
        "squelch on speech: {:.1} % of samples passed unchanged",
        kept * 100.0
    );
    assert!(kept > 0.97, "speech muted too much: {kept}");

    // Digits mixed into the speech at -10 dBm0.
    let keys = "4111111111111111";
    let mut mix = speech.clone();
    let mut mask = vec![false; mix.len()];
    let t = DtmfTiming {
        on_ms: 60,
        off_ms: 60,
        low_dbm0: -10.0,
        high_dbm0: -9.0,
    };
    let tones = dtmf_samples(keys, t).unwrap();
    let at = 3000;
    for (k, &x) in tones.iter().enumerate() {
        if at + k < mix.len() {
            mix[at + k] = mix[at + k].saturating_add(x);
            mask[at + k] = x != 0;
        }
    }
    let out = squelch(&mix, 160);
    let ours: String = decode_samples(&out).iter().map(|e| e.digit).collect();
    let theirs = spandsp_rx(std::slice::from_ref(&out)).remove(0);
    let before = spandsp_rx(std::slice::from_ref(&mix)).remove(0);
    eprintln!("digits in speech: spandsp before squelch '{before}', after: spandsp '{theirs}', orderline '{ours}'");
    assert!(!before.is_empty(), "the mix must contain detectable digits");
    assert!(ours.is_empty() && theirs.is_empty());
    let leaked = (d..out.len())
        .filter(|&t| mask[t - d] && out[t] != 0)
        .count();
    assert_eq!(leaked, 0);
}

/// Tones at the edges of what the detector accepts (twist, frequency offset, low level,
/// noise) must be squelched just as well: whatever could be detected must not leak.
#[test]
fn edge_of_spec_tones_are_squelched() {
    let noise = sox_noise(20, 300.0);
    let mut input = vec![0i16; 1000];
    let mut mask = vec![false; 1000];
    let mut i = 0usize;
    for d in "0123456789*#ABCD".chars() {
        for (dev, lo, hi) in [
            (0.015f32, -10.0f32, -18.0f32),
            (-0.015, -14.0, -10.0),
            (0.0, -26.0, -26.0),
            (0.0, -30.0, -28.0),
        ] {
            let (r, c) = dtmf_freqs(d).unwrap();
            let on = 320 + (i * 41) % 400;
            let t = Tone {
                freqs: [r * (1.0 + dev), c * (1.0 - dev)],
                levels_dbm0: [lo, hi],
                on_samples: on as u32,
                off_samples: 400 + (i as u32 * 13) % 100,
            };
            let s = render(t).unwrap();
            mask.extend((0..s.len()).map(|k| k < on));
            input.extend(s);
            i += 1;
        }
    }
    for (s, n) in input.iter_mut().zip(&noise) {
        *s = s.saturating_add(*n);
    }
    let before = decode_samples(&input).len();
    assert!(
        before >= 60,
        "the input must be detectable: {before} digits"
    );
    let out = squelch(&input, 160);
    let d = 320;
    // Noise samples around the tones may pass; no sample from inside a tone may.
    let leaked = (d..out.len())
        .filter(|&t| mask[t - d] && out[t] != 0)
        .count();
    let ours = decode_samples(&out).len();
    let theirs = spandsp_rx(std::slice::from_ref(&out)).remove(0);
    eprintln!("edge-of-spec squelch: input {before} digits; output: leaked tone samples {leaked}, orderline {ours}, spandsp '{theirs}'");
    assert_eq!(leaked, 0);
    assert_eq!(ours, 0);
    assert!(theirs.is_empty());
}
