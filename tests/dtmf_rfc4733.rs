//! RFC 4733 telephone-event receive and send over hand-built packet sequences and
//! SIPp's bundled RFC 2833 captures.

#[macro_use]
mod support;

use orderline::dtmf::*;

/// Payload bytes for (event, end, duration).
fn p(event: u8, end: bool, duration: u16) -> [u8; 4] {
    TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

fn feed(rx: &mut EventReceiver, packets: &[(u32, [u8; 4])]) -> Vec<DigitEvent> {
    let mut out = Vec::new();
    for (ts, pl) in packets {
        out.extend(rx.on_packet(*ts, pl));
        out.extend(rx.poll_event());
    }
    out
}

/// A normal press: updates every 160, three End packets.
fn press(event: u8, ts: u32, dur: u16) -> Vec<(u32, [u8; 4])> {
    let mut v: Vec<_> = (1..)
        .map(|k| k * 160)
        .take_while(|&d| d < dur)
        .map(|d| (ts, p(event, false, d)))
        .collect();
    v.extend([(ts, p(event, true, dur)); 3]);
    v
}

#[test]
fn three_end_packets_are_one_digit() {
    let mut rx = EventReceiver::new();
    let ev = feed(&mut rx, &press(5, 1000, 800));
    assert_eq!(
        ev,
        vec![DigitEvent {
            digit: '5',
            start: 1000,
            end: 1800,
            source: DigitSource::Rfc4733
        }]
    );
}

#[test]
fn marker_bit_is_irrelevant_and_end_bit_rules() {
    // The receiver never sees the marker; a press that starts mid-way (first packets
    // lost, as with a carrier that drops the marked packet) still yields one digit.
    let mut rx = EventReceiver::new();
    let seq = press(1, 50_000, 1280);
    let ev = feed(&mut rx, &seq[3..]);
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].digit, ev[0].start, ev[0].end), ('1', 50_000, 51_280));
}

#[test]
fn repeated_key_gives_one_digit_per_press() {
    let mut rx = EventReceiver::new();
    let mut seq = Vec::new();
    for k in 0..4u32 {
        seq.extend(press(1, 8000 + k * 1200, 480));
    }
    let ev = feed(&mut rx, &seq);
    assert_eq!(ev.iter().map(|e| e.digit).collect::<String>(), "1111");
}

#[test]
fn long_press_with_irregular_durations_is_one_digit() {
    let mut rx = EventReceiver::new();
    let ts = 4242;
    let durs = [
        160u16, 400, 320, 960, 960, 1500, 1400, 4000, 8000, 7999, 12000,
    ];
    let mut seq: Vec<_> = durs.iter().map(|&d| (ts, p(11, false, d))).collect();
    seq.extend([
        (ts, p(11, true, 12_800)),
        (ts, p(11, true, 12_800)),
        (ts, p(11, true, 12_640)),
    ]);
    let ev = feed(&mut rx, &seq);
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].digit, ev[0].end - ev[0].start), ('#', 12_800));
}

#[test]
fn lost_end_packets_end_on_clock() {
    let mut rx = EventReceiver::new();
    let seq = press(9, 10_000, 960);
    assert!(feed(&mut rx, &seq[..seq.len() - 3]).is_empty());
    // Not yet: 100 ms after the last update.
    assert_eq!(rx.on_clock(10_000 + 800 + 800), None);
    let ev = rx.on_clock(10_000 + 800 + 1600).expect("timed out press");
    assert_eq!((ev.digit, ev.start, ev.end), ('9', 10_000, 10_800));
    assert_eq!(rx.on_clock(30_000), None);
    // A straggling End packet afterwards is not a second digit.
    assert_eq!(rx.on_packet(10_000, &p(9, true, 960)), None);
}

#[test]
fn lost_end_packets_end_at_next_press() {
    let mut rx = EventReceiver::new();
    let mut a = press(2, 1000, 640);
    a.truncate(a.len() - 3);
    let mut seq = a;
    seq.extend(press(3, 3000, 640));
    let ev = feed(&mut rx, &seq);
    assert_eq!(ev.iter().map(|e| e.digit).collect::<String>(), "23");
}

#[test]
fn single_packet_press_after_lost_ends_gives_both() {
    let mut rx = EventReceiver::new();
    let mut seq = press(4, 1000, 640);
    seq.truncate(seq.len() - 3);
    seq.push((3000, p(6, true, 400)));
    let ev = feed(&mut rx, &seq);
    assert_eq!(ev.iter().map(|e| e.digit).collect::<String>(), "46");
}

#[test]
fn late_and_reordered_packets_are_ignored() {
    let mut rx = EventReceiver::new();
    let mut seq = press(7, 5000, 800);
    // An update arriving after the End packets.
    seq.push((5000, p(7, false, 480)));
    // A packet of an older press.
    seq.push((2000, p(7, false, 160)));
    let ev = feed(&mut rx, &seq);
    assert_eq!(ev.len(), 1);
    // Nothing was left pending that a later clock tick could turn into a digit.
    assert_eq!(rx.on_clock(100_000), None);
}

#[test]
fn timestamp_wrap() {
    let mut rx = EventReceiver::new();
    let t0 = u32::MAX - 500;
    let mut seq = press(0, t0, 800);
    seq.extend(press(8, t0.wrapping_add(2000), 800));
    let ev = feed(&mut rx, &seq);
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].start, u64::from(t0));
    assert_eq!(ev[0].end, u64::from(t0) + 800);
    assert_eq!(ev[1].start, u64::from(t0) + 2000);
    assert_eq!(ev[1].digit, '8');
    // The clock across the wrap still times out a press with lost ends.
    let mut rx = EventReceiver::new();
    rx.on_packet(u32::MAX - 100, &p(3, false, 160));
    assert!(rx.on_clock(1500).is_none());
    assert!(rx.on_clock(1700).is_some());
}

#[test]
fn malformed_and_non_dtmf_payloads_never_panic() {
    let mut rx = EventReceiver::new();
    assert_eq!(rx.on_packet(0, &[]), None);
    assert_eq!(rx.on_packet(0, &[1, 2, 3]), None);
    assert_eq!(rx.on_packet(0, &p(16, true, 100)), None); // flash: not a digit
    assert_eq!(rx.on_packet(0, &p(200, true, 100)), None);
    let mut x: u64 = 0x1234_5678;
    for i in 0..20_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bytes = x.to_le_bytes();
        let len = (x % 9) as usize;
        let ev = rx.on_packet((x >> 32) as u32 % 100_000, &bytes[..len]);
        if let Some(e) = ev {
            assert!("0123456789*#ABCD".contains(e.digit));
            assert!(e.end >= e.start);
        }
        rx.on_clock(i * 40);
    }
}

#[test]
fn sender_packets_follow_rfc4733() {
    let tx = EventSender::new();
    let pk: Vec<EventPacket> = tx.digit('#', 7000, 800).unwrap().collect();
    // 160, 320, 480, 640, then 800 x3 (End)
    assert_eq!(pk.len(), 7);
    assert!(pk[0].marker && pk[1..].iter().all(|p| !p.marker));
    assert!(pk.iter().all(|p| p.timestamp == 7000));
    let parsed: Vec<TelephoneEvent> = pk
        .iter()
        .map(|p| TelephoneEvent::parse(&p.payload).unwrap())
        .collect();
    assert!(parsed.iter().all(|e| e.event == 11 && e.volume == 10));
    assert_eq!(
        parsed.iter().map(|e| e.duration).collect::<Vec<_>>(),
        vec![160, 320, 480, 640, 800, 800, 800]
    );
    assert_eq!(parsed.iter().filter(|e| e.end).count(), 3);
    assert_eq!(
        pk.iter().map(|p| p.send_at).collect::<Vec<_>>(),
        vec![160, 320, 480, 640, 800, 800, 800]
    );
    assert!(tx.digit('x', 0, 800).is_err());
    assert!(EventSender::new().with_interval(0).is_err());
}

#[test]
fn sender_to_receiver_round_trip() {
    for interval in [80u32, 160, 400] {
        let tx = EventSender::new().with_interval(interval).unwrap();
        let mut rx = EventReceiver::new();
        let mut ts = u32::MAX - 30_000; // crosses the wrap on the way
        let mut got = String::new();
        for (i, d) in "0123456789*#ABCD".chars().enumerate() {
            let dur = 320 + (i as u32 * 97) % 1200;
            for pk in tx.digit(d, ts, dur).unwrap() {
                if let Some(e) = rx.on_packet(pk.timestamp, &pk.payload) {
                    assert_eq!(e.end - e.start, u64::from(dur));
                    got.push(e.digit);
                }
            }
            ts = ts.wrapping_add(dur + 400);
        }
        assert_eq!(got, "0123456789*#ABCD", "interval {interval}");
    }
}

#[test]
fn very_long_press_is_segmented_and_rejoined() {
    // 20 s: three segments (§2.5.2.3).
    let dur = 160_000;
    let pk: Vec<EventPacket> = EventSender::new().digit('0', 1234, dur).unwrap().collect();
    let stamps: std::collections::BTreeSet<u32> = pk.iter().map(|p| p.timestamp).collect();
    assert_eq!(stamps.len(), 3);
    assert_eq!(pk.iter().filter(|p| p.marker).count(), 1);
    let mut rx = EventReceiver::new();
    let ev: Vec<DigitEvent> = pk
        .iter()
        .filter_map(|p| rx.on_packet(p.timestamp, &p.payload))
        .collect();
    assert_eq!(ev.len(), 1);
    assert_eq!((ev[0].start, ev[0].end), (1234, 1234 + u64::from(dur)));
}

/// SIPp's bundled RFC 2833 captures (Debian `sip-tester`): one digit each.
#[test]
fn sipp_bundled_captures() {
    for cap in support::sipp_captures::rfc2833_captures() {
        let name = cap.name;
        let mut rx = EventReceiver::new();
        let mut events = Vec::new();
        let mut packets = 0;
        for rtp in &cap.datagrams {
            let (pt, ts, payload) = rtp_fields(rtp);
            if pt == 101 {
                packets += 1;
                events.extend(rx.on_packet(ts, payload));
            }
        }
        assert!(packets >= 4, "{name}: {packets} packets");
        assert_eq!(events.len(), 1, "{name}: {events:?}");
        assert_eq!(events[0].digit, cap.digit);
        assert_eq!(events[0].end - events[0].start, 2240, "{name}");
    }
}

/// (payload type, timestamp, payload) of one RTP packet (RFC 3550 §5.1).
fn rtp_fields(rtp: &[u8]) -> (u8, u32, &[u8]) {
    let cc = usize::from(rtp[0] & 15);
    let ts = u32::from_be_bytes([rtp[4], rtp[5], rtp[6], rtp[7]]);
    (rtp[1] & 0x7f, ts, &rtp[12 + 4 * cc..])
}

/// The IVR must not care where a digit came from: the same press, sent in-band and as
/// RFC 4733, gives the same digit at (nearly) the same time.
#[test]
fn in_band_and_rfc4733_agree() {
    let lead = 4000u32;
    for d in "0123456789*#ABCD".chars() {
        let timing = DtmfTiming {
            on_ms: 120,
            off_ms: 100,
            low_dbm0: -10.0,
            high_dbm0: -8.0,
        };
        let mut audio = vec![0i16; lead as usize];
        audio.extend(dtmf_samples(&d.to_string(), timing).unwrap());
        let inband = decode_samples(&audio);
        let mut rx = EventReceiver::new();
        let oob: Vec<DigitEvent> = EventSender::new()
            .digit(d, lead, 960)
            .unwrap()
            .filter_map(|p| rx.on_packet(p.timestamp, &p.payload))
            .collect();
        assert_eq!(inband.len(), 1);
        assert_eq!(oob.len(), 1);
        assert_eq!(inband[0].digit, oob[0].digit);
        assert!(
            (inband[0].start as i64 - oob[0].start as i64).abs() <= 64,
            "{inband:?} {oob:?}"
        );
        assert!(
            (inband[0].end as i64 - oob[0].end as i64).abs() <= 64,
            "{inband:?} {oob:?}"
        );
    }
}
