//! The detector on synthetic signals whose right answer is known by
//! construction: chord bursts stand in for words (several partials, so never
//! tonal), silence for pauses, a sine for the beep, seeded noise for the line.

use orderline_amd::{classify, AmdConfig, AmdDetector, AmdReason, AmdResult, Decision};

const MS: usize = 8; // samples per millisecond at 8 kHz

/// A "word": three partials with a rising-falling envelope, `ms` long.
fn word(ms: usize, amp: f64) -> Vec<i16> {
    let n = ms * MS;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let env = (std::f64::consts::PI * i as f64 / n as f64).sin().sqrt();
            let s = (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                + 0.7 * (2.0 * std::f64::consts::PI * 660.0 * t).sin()
                + 0.5 * (2.0 * std::f64::consts::PI * 1540.0 * t).sin();
            (amp * env * s / 2.2) as i16
        })
        .collect()
}

/// `n` words of `word_ms`, each followed by `gap_ms` of silence.
fn words(n: usize, word_ms: usize, gap_ms: usize) -> Vec<i16> {
    (0..n)
        .flat_map(|_| [word(word_ms, 12000.0), silence(gap_ms)])
        .flatten()
        .collect()
}

fn silence(ms: usize) -> Vec<i16> {
    vec![0; ms * MS]
}

fn tone(hz: f64, ms: usize, amp: f64) -> Vec<i16> {
    (0..ms * MS)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / 8000.0).sin()) as i16)
        .collect()
}

/// Add seeded uniform noise (xorshift) of the given peak amplitude.
fn with_noise(sig: &[i16], peak: f64, mut seed: u32) -> Vec<i16> {
    sig.iter()
        .map(|&s| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let u = seed as f64 / u32::MAX as f64 * 2.0 - 1.0;
            (f64::from(s) + u * peak).clamp(-32768.0, 32767.0) as i16
        })
        .collect()
}

fn cat(parts: &[Vec<i16>]) -> Vec<i16> {
    parts.concat()
}

fn first(sig: &[i16]) -> Decision {
    classify(sig, AmdConfig::default())
        .expect("default config")
        .first
}

#[test]
fn hello_then_silence_is_human_800ms_after_the_greeting() {
    // 300 ms ring gap, a 450 ms "hello?", then silence.
    let sig = cat(&[silence(300), word(450, 12000.0), silence(2000)]);
    let d = first(&sig);
    assert_eq!(d.result, AmdResult::Human, "{d:?}");
    assert_eq!(d.reason, AmdReason::ShortGreetingThenSilence);
    let after_greeting = d.decision_ms as i64 - 750;
    assert!(
        (800..=900).contains(&after_greeting),
        "decided {after_greeting} ms after the greeting"
    );
    assert!(!d.beep);
    // The greeting's end, from which the safe-harbor window runs, is where
    // the voice stopped (within a frame or two of the word's edge, which
    // the frame grid and the envelope blur).
    let end = d.speech_end_ms.expect("someone spoke");
    assert!(
        (700..=780).contains(&end),
        "greeting ended at {end} ms: {d:?}"
    );
    assert_eq!(d.decision_ms - end, 800, "{d:?}");
}

#[test]
fn silence_only_has_no_speech_end() {
    let d = first(&silence(3000));
    assert_eq!(d.reason, AmdReason::InitialSilence, "{d:?}");
    assert_eq!(d.speech_end_ms, None);
}

#[test]
fn two_short_utterances_with_a_short_pause_are_still_human() {
    // "hello?" … 500 ms … "who is it?" then silence.
    let sig = cat(&[
        silence(500),
        word(400, 12000.0),
        silence(500),
        word(300, 10000.0),
        word(350, 10000.0),
        silence(1500),
    ]);
    assert_eq!(first(&sig).result, AmdResult::Human);
}

#[test]
fn a_long_greeting_is_a_machine_once_the_greeting_time_is_spent() {
    // Syllables of 250 ms run together (40 ms dips, under the between-words
    // silence) for 3.5 s: a recorded greeting read fluently.
    let parts = [silence(200), words(12, 250, 40)];
    let d = first(&cat(&parts));
    assert_eq!(d.result, AmdResult::Machine, "{d:?}");
    assert_eq!(d.reason, AmdReason::LongGreeting);
    // 1.3 s of voice is reached about 50 ms into the 6th syllable:
    // 200 + 5·290 + 50 = 1700 (20 ms frames straddle the dips, so a little
    // of each dip counts as voice and it comes up to a frame or three early).
    assert!((1600..=1760).contains(&d.decision_ms), "{d:?}");
}

#[test]
fn app_amd_settings_call_a_second_hello_a_machine_and_ours_do_not() {
    // "hello?" … 700 ms … "hello?": app_amd fires MAXWORDS on the 2nd word.
    let sig = cat(&[
        silence(400),
        word(400, 12000.0),
        silence(700),
        word(400, 12000.0),
        silence(1500),
    ]);
    let ours = first(&sig);
    assert_eq!(ours.result, AmdResult::Human, "{ours:?}");
    let theirs = classify(&sig, AmdConfig::app_amd()).expect("config").first;
    assert_eq!(
        (theirs.result, theirs.reason),
        (AmdResult::Machine, AmdReason::MaxWords)
    );
}

#[test]
fn a_longer_second_utterance_after_a_pause_is_still_human() {
    // "hello?", 600 ms of nothing, then 1.4 s of voice (a run-on "hello,
    // can you hear me?"): over the first-utterance limit, under the repeat one.
    let parts = [
        silence(300),
        word(400, 12000.0),
        silence(600),
        words(7, 200, 20),
        silence(1500),
    ];
    let d = first(&cat(&parts));
    assert_eq!(d.result, AmdResult::Human, "{d:?}");
    // The same 1.4 s as the first thing said is a long greeting.
    let d = first(&cat(&parts[2..]));
    assert_eq!(
        (d.result, d.reason),
        (AmdResult::Machine, AmdReason::LongGreeting)
    );
}

#[test]
fn many_short_words_hit_max_words_before_the_greeting_time() {
    let mut parts = vec![silence(200), words(10, 120, 80)];
    parts.push(silence(1000));
    let d = first(&cat(&parts));
    assert_eq!(d.result, AmdResult::Machine, "{d:?}");
    assert_eq!(d.reason, AmdReason::MaxWords);
}

#[test]
fn silence_from_the_start_is_unknown_at_the_initial_silence_time() {
    let d = first(&silence(4000));
    assert_eq!(d.result, AmdResult::Unknown);
    assert_eq!(d.reason, AmdReason::InitialSilence);
    assert_eq!(d.decision_ms, 2500);
}

#[test]
fn sparse_words_run_out_the_analysis_time_as_unknown() {
    // 700 ms gaps: never the 800 ms after-greeting silence.
    let parts = [silence(100), words(8, 200, 700)];
    let d = first(&cat(&parts));
    assert_eq!(d.result, AmdResult::Unknown, "{d:?}");
    assert_eq!(d.reason, AmdReason::Timeout);
    assert_eq!(d.decision_ms, 5000);
}

#[test]
fn a_short_greeting_then_a_beep_is_a_machine_with_beep() {
    // "Leave a message" (short), 300 ms, a 1 kHz beep of 400 ms.
    let sig = cat(&[
        silence(300),
        word(500, 12000.0),
        silence(300),
        tone(1000.0, 400, 10000.0),
        silence(1500),
    ]);
    let d = first(&sig);
    assert_eq!(d.result, AmdResult::Machine, "{d:?}");
    assert_eq!(d.reason, AmdReason::Beep);
    assert!(d.beep);
    // Reported when the beep ends (within a frame or two).
    assert!((1500..=1560).contains(&d.decision_ms), "{d:?}");
}

#[test]
fn a_long_greeting_then_a_beep_gives_machine_then_the_beep() {
    let mut parts = vec![silence(200), words(12, 250, 40)];
    parts.push(silence(400));
    parts.push(tone(440.0, 600, 9000.0));
    parts.push(silence(500));
    let out = classify(&cat(&parts), AmdConfig::default()).expect("config");
    let first = out.first;
    assert_eq!(
        (first.result, first.reason),
        (AmdResult::Machine, AmdReason::LongGreeting)
    );
    let beep = out.beep.expect("the beep after the greeting");
    assert!(beep.beep && beep.result == AmdResult::Machine);
    assert!(beep.decision_ms > first.decision_ms);
}

#[test]
fn a_beep_in_20db_noise_is_found_and_noise_alone_is_not_a_beep() {
    let clean = cat(&[
        silence(400),
        word(400, 12000.0),
        silence(300),
        tone(1000.0, 300, 8000.0),
        silence(1000),
    ]);
    // Uniform noise of peak 980 has RMS ≈ 566: 20 dB under the beep's 5657.
    let noisy = with_noise(&clean, 980.0, 11);
    let d = first(&noisy);
    assert!(d.beep && d.reason == AmdReason::Beep, "{d:?}");
    let out =
        classify(&with_noise(&silence(6000), 1400.0, 5), AmdConfig::default()).expect("config");
    assert!(!out.heard_beep(), "{out:?}");
}

#[test]
fn background_noise_above_app_amds_fixed_threshold_does_not_hide_a_human() {
    // Noise with mean |x| ≈ 700 (> 256: app_amd would hear one endless word),
    // a "hello?" about 20 dB above it, then only the noise again.
    let clean = cat(&[silence(800), word(500, 14000.0), silence(2500)]);
    let sig = with_noise(&clean, 1400.0, 99);
    let d = first(&sig);
    assert_eq!(d.result, AmdResult::Human, "{d:?}");
    assert_eq!(d.reason, AmdReason::ShortGreetingThenSilence);
    assert!(d.decision_ms <= 1300 + 1000, "{d:?}");
}

#[test]
fn chunk_size_does_not_change_the_decision() {
    let sig = cat(&[
        silence(300),
        word(450, 12000.0),
        silence(300),
        tone(1000.0, 250, 9000.0),
        silence(1200),
    ]);
    let whole = first(&sig);
    let mut det = AmdDetector::new(AmdConfig::default()).expect("config");
    let mut got = None;
    for chunk in sig.chunks(37) {
        det.push(chunk);
        if let Some(d) = det.poll_decision() {
            got.get_or_insert(d);
        }
    }
    assert_eq!(got, Some(whole));
}

#[test]
fn a_bad_config_is_refused_with_a_typed_error() {
    let cfg = AmdConfig {
        beep_min_hz: 2500.0,
        beep_max_hz: 1000.0,
        ..AmdConfig::default()
    };
    assert!(matches!(
        AmdDetector::new(cfg),
        Err(orderline_amd::ConfigError::BeepBand { .. })
    ));
    let cfg = AmdConfig {
        greeting_ms: 0,
        ..AmdConfig::default()
    };
    assert!(matches!(
        AmdDetector::new(cfg),
        Err(orderline_amd::ConfigError::TooShort {
            field: "greeting_ms",
            ..
        })
    ));
}

#[test]
fn a_beep_after_the_listening_window_is_not_reported() {
    // A long greeting, then a beep only at 5 s: with a 4 s window the
    // detector has stopped listening (is_done) and reports no beep.
    let parts = [
        silence(200),
        words(12, 250, 40),
        silence(1200),
        tone(1000.0, 400, 9000.0),
        silence(500),
    ];
    let sig = cat(&parts);
    let short = AmdConfig {
        beep_listen_ms: 4000,
        ..AmdConfig::default()
    };
    let out = classify(&sig, short.clone()).expect("config");
    assert_eq!(out.first.result, AmdResult::Machine);
    assert_eq!(out.beep, None);
    let mut det = AmdDetector::new(short).expect("config");
    det.push(&sig[..4100 * MS]);
    assert!(det.is_done());
    // With the default 30 s window the same beep is heard.
    let out = classify(&sig, AmdConfig::default()).expect("config");
    assert!(out
        .beep
        .is_some_and(|d| d.beep && d.reason == AmdReason::Beep));
}

#[test]
fn a_beep_still_sounding_when_the_audio_ends_is_reported_by_finish() {
    let sig = cat(&[
        silence(300),
        word(400, 12000.0),
        silence(300),
        tone(800.0, 300, 9000.0),
    ]);
    let mut det = AmdDetector::new(AmdConfig::default()).expect("config");
    det.push(&sig);
    assert_eq!(det.poll_decision(), None);
    det.finish();
    let d = det.poll_decision().expect("a decision at the end");
    assert_eq!(
        (d.result, d.reason, d.beep),
        (AmdResult::Machine, AmdReason::Beep, true)
    );
    assert_eq!(d.decision_ms, det.elapsed_ms());
    assert!(det.is_done());
}

#[test]
fn an_endless_tone_is_unknown_at_the_analysis_time_not_a_beep() {
    let sig = cat(&[silence(500), tone(1000.0, 8000, 9000.0)]);
    let d = first(&sig);
    assert_eq!(
        (d.result, d.reason, d.decision_ms, d.beep),
        (AmdResult::Unknown, AmdReason::Timeout, 5000, false)
    );
}
