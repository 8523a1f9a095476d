//! Fast, self-contained checks of the DTMF layer (no external programs).

use orderline::dtmf::*;

fn decode(samples: &[i16]) -> String {
    decode_samples(samples).iter().map(|e| e.digit).collect()
}

fn timing(on_ms: u32, off_ms: u32, level: f32) -> DtmfTiming {
    DtmfTiming {
        on_ms,
        off_ms,
        low_dbm0: level,
        high_dbm0: level,
    }
}

#[test]
fn all_keys_default_timing() {
    let s = dtmf_samples("0123456789*#ABCD", DtmfTiming::default()).unwrap();
    assert_eq!(decode(&s), "0123456789*#ABCD");
}

#[test]
fn forty_ms_repeated_key_counts_every_press() {
    let s = dtmf_samples("1111555599", timing(40, 40, -10.0)).unwrap();
    assert_eq!(decode(&s), "1111555599");
}

#[test]
fn twenty_ms_rejected_at_every_alignment() {
    for lead in (0..102).step_by(7) {
        let mut s = vec![0i16; lead];
        s.extend(dtmf_samples("5", timing(20, 100, -5.0)).unwrap());
        assert_eq!(decode(&s), "", "lead {lead}");
    }
}

#[test]
fn ten_ms_break_does_not_split() {
    for lead in (0..102).step_by(9) {
        let mut s = vec![0i16; lead];
        s.extend(render(Tone::dual(852.0, 1477.0, -10.0, 480, 80)).unwrap());
        s.extend(render(Tone::dual(852.0, 1477.0, -10.0, 480, 400)).unwrap());
        assert_eq!(decode(&s), "9", "lead {lead}");
    }
}

#[test]
fn frame_size_does_not_matter() {
    let s = dtmf_samples("147*", timing(45, 45, -20.0)).unwrap();
    for frame in [1usize, 7, 51, 80, 160, 1000] {
        let mut d = Detector::new();
        let mut got = String::new();
        for f in s.chunks(frame) {
            d.push(f);
            while let Some(e) = d.poll_event() {
                got.push(e.digit);
            }
        }
        d.finish();
        while let Some(e) = d.poll_event() {
            got.push(e.digit);
        }
        assert_eq!(got, "147*", "frame {frame}");
        assert_eq!(d.samples_seen(), s.len() as u64);
    }
}

#[test]
fn event_timing_is_close() {
    let mut s = vec![0i16; 800];
    s.extend(dtmf_samples("3", timing(100, 100, -10.0)).unwrap());
    let ev = decode_samples(&s);
    assert_eq!(ev.len(), 1);
    assert!((ev[0].start as i64 - 800).abs() <= 60, "{ev:?}");
    assert!((ev[0].end as i64 - 1600).abs() <= 60, "{ev:?}");
    assert_eq!(ev[0].source, DigitSource::InBand);
}

#[test]
fn back_to_back_digits_without_pause_are_both_reported() {
    let t = |d| {
        let (r, c) = dtmf_freqs(d).unwrap();
        render(Tone::dual(r, c, -10.0, 800, 0)).unwrap()
    };
    let mut s = t('1');
    s.extend(t('2'));
    s.extend(vec![0i16; 800]);
    assert_eq!(decode(&s), "12");
}

#[test]
fn digit_running_into_end_of_stream_is_reported_by_finish() {
    let mut s = vec![0i16; 400];
    s.extend(dtmf_samples("7", timing(80, 0, -10.0)).unwrap());
    assert_eq!(decode(&s), "7");
}

#[test]
fn in_digit_reports_a_press_before_it_ends() {
    let s = dtmf_samples("5", timing(200, 0, -10.0)).unwrap();
    let mut d = Detector::new();
    d.push(&s[..800]); // 100 ms into the press
    assert!(d.in_digit());
    assert!(d.poll_event().is_none());
    d.push(&vec![0i16; 800]);
    assert!(!d.in_digit());
}

#[test]
fn generator_levels_and_queue() {
    // A 0 dBm0 sine has peak ~22 880 (G.711 full scale is +3.14 dBm0).
    let s = render(Tone::single(1000.0, 0.0, 800, 0)).unwrap();
    let peak = s.iter().map(|x| i32::from(*x).abs()).max().unwrap();
    assert!((22_700..=22_900).contains(&peak), "{peak}");
    assert!((amplitude_to_dbm0(dbm0_to_amplitude(-13.0)) + 13.0).abs() < 1e-3);
    let mut g = ToneGenerator::new();
    assert!(g.queue_digits("12x", DtmfTiming::default()).is_err());
    assert!(g.is_idle(), "all or nothing");
    g.queue_digits("12", DtmfTiming::default()).unwrap();
    let mut buf = vec![0i16; 8000];
    let n = g.fill(&mut buf);
    assert_eq!(n, 2 * 1600);
    assert!(g.is_idle());
    assert_eq!(decode(&buf), "12");
    g.play_repeating(Tone::hold()).unwrap();
    let mut buf = vec![0i16; 80_000];
    assert_eq!(g.fill(&mut buf), buf.len());
    assert!(!g.is_idle());
    g.stop();
    assert_eq!(g.fill(&mut buf[..10]), 0);
    assert!(ToneGenerator::new()
        .queue(Tone::single(5000.0, -10.0, 10, 0))
        .is_err());
}

/// Every key at 34 alignments against the 51-sample hop, at the edges of the
/// specification (40 ms tones and pauses, 8 dB / 4 dB twist, ±1.5 %, −26 dBm0, and
/// combinations), three presses each; and the reject side (±3.5 %, 14 dB / 10 dB twist,
/// 20 ms) at the same alignments. Sidelobe effects depend on where windows fall, so a
/// detector can pass a few hand-picked vectors and still fail here.
#[test]
fn every_alignment_sweep() {
    #[rustfmt::skip]
    let conds: [(&str, f32, f32, f32, f32, u32, bool); 15] = [
        ("nominal 40 ms", 0.0, 0.0, -10.0, -10.0, 320, true),
        ("twist +8 dB", 0.0, 0.0, -10.0, -18.0, 320, true),
        ("twist -4 dB", 0.0, 0.0, -14.0, -10.0, 320, true),
        ("+1.5/+1.5 %", 0.015, 0.015, -10.0, -10.0, 320, true),
        ("+1.5/-1.5 %", 0.015, -0.015, -10.0, -10.0, 320, true),
        ("-1.5/+1.5 %", -0.015, 0.015, -10.0, -10.0, 320, true),
        ("-1.5/-1.5 %", -0.015, -0.015, -10.0, -10.0, 320, true),
        ("+8 dB, 1.5 %", 0.015, -0.015, -10.0, -18.0, 320, true),
        ("-4 dB, 1.5 %", -0.015, 0.015, -14.0, -10.0, 320, true),
        ("-26 dBm0", 0.0, 0.0, -26.0, -26.0, 320, true),
        ("row +3.5 %", 0.035, 0.0, -10.0, -10.0, 800, false),
        ("col -3.5 %", 0.0, -0.035, -10.0, -10.0, 800, false),
        ("twist +14 dB", 0.0, 0.0, -6.0, -20.0, 800, false),
        ("twist -10 dB", 0.0, 0.0, -16.0, -6.0, 800, false),
        ("20 ms", 0.0, 0.0, -6.0, -6.0, 160, false),
    ];
    let mut failures = Vec::new();
    for (name, rd, cd, lo, hi, on, accept) in conds {
        for d in "0123456789*#ABCD".chars() {
            for lead in (0..102).step_by(3) {
                let (r, c) = dtmf_freqs(d).unwrap();
                let t = Tone {
                    freqs: [r * (1.0 + rd), c * (1.0 + cd)],
                    levels_dbm0: [lo, hi],
                    on_samples: on,
                    off_samples: 320,
                };
                let mut v = vec![0i16; lead];
                for _ in 0..3 {
                    v.extend(render(t).unwrap());
                }
                let got = decode(&v);
                let want = if accept {
                    d.to_string().repeat(3)
                } else {
                    String::new()
                };
                if got != want {
                    failures.push(format!("{name} key {d} lead {lead}: got {got:?}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(8)]
    );
}
