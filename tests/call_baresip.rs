//! What the callee actually hears. baresip answers our call, records the
//! audio it received, and keys `1`; the test then looks inside that recording:
//! a DTMF marker placed in the greeting prompt must come out intact, first,
//! and on time, followed by the next prompt's tone at the right pitch and level.
//! That proves our RTP (G.711 encoding, timestamps, pacing) is right, not just sent.

#[macro_use]
mod support;

use std::time::Duration;

use orderline::dtmf::Detector;
use support::audio_check::amplitude_at;
use support::*;

#[test]
fn baresip_hears_the_prompts_intact_and_on_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The callee keys 1 three seconds after answering.
    let src = dir.path().join("callee.wav");
    write_wav(&src, &keypress_audio(&[(3.0, '1', 0.12)], 8.0));
    let phone = Baresip::start(dir.path(), &src, 20);

    let cfg = write_config(dir.path(), free_udp_port(), phone.port, "");
    // Greeting = a DTMF marker "953" (80 ms tones, 60 ms gaps), made by the test.
    let marker = keypress_audio(
        &[(0.0, '9', 0.08), (0.14, '5', 0.08), (0.28, '3', 0.08)],
        0.4,
    );
    write_wav(&dir.path().join("prompts/en/greeting.wav"), &marker);

    let target = format!("sip:callee@127.0.0.1:{}", phone.port);
    let (r, out) = orderline_call(&cfg, &target, &["--amount", "5", "--currency", "USD"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(r["outcome"], "confirmed", "{r}\n{stderr}");
    assert_eq!(r["digits"], "1", "{r}");
    std::thread::sleep(Duration::from_millis(500));

    let heard = orderline::audio::read_wav_8k(&phone.heard()).expect("read baresip's recording");
    assert!(
        heard.len() > 8000,
        "recording too short: {} samples",
        heard.len()
    );

    // 1. The marker comes out intact, first.
    let mut det = Detector::new();
    det.push(&heard);
    let events: Vec<_> = std::iter::from_fn(|| det.poll_event()).collect();
    let digits: String = events.iter().map(|e| e.digit).collect();
    assert!(
        digits.starts_with("953"),
        "callee heard digits {digits:?}, expected the 953 marker first"
    );

    // 2. On time: it starts at the top of the call (within 300 ms of media start)
    //    and its tones keep their 140 ms spacing (pacing and timestamps are right).
    let first = events[0].start;
    assert!(
        first < 2400,
        "marker started {} ms into the call",
        first / 8
    );
    let gap1 = events[1].start as i64 - events[0].start as i64;
    let gap2 = events[2].start as i64 - events[1].start as i64;
    for g in [gap1, gap2] {
        assert!(
            (g - 1120).abs() <= 80,
            "marker spacing {} ms, expected 140 ms",
            g / 8
        );
    }

    // 3. The next prompt (order_total: a 600 Hz tone at amplitude 6000, 300 ms)
    //    follows right after the 400 ms greeting, at its level (G.711 is within 0.5 dB).
    let seg_start = (first as usize) + 3200 + 400; // greeting end + 50 ms margin
    let seg = &heard[seg_start..seg_start + 1600];
    let a600 = amplitude_at(seg, 600.0);
    assert!(
        (a600 - 6000.0).abs() < 400.0,
        "order_total tone amplitude {a600:.0}, expected ~6000"
    );
    let a700 = amplitude_at(seg, 700.0);
    assert!(a700 < 600.0, "menu tone arrived too early: {a700:.0}");
}
