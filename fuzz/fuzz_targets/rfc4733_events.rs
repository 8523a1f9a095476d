//! Any stream of RFC 4733 telephone-event payloads (each 4 bytes behind a
//! 4-byte RTP timestamp) into the receiver, with the clock moving: no panic,
//! every reported digit is a DTMF key with `start <= end`, and no more
//! digits come out than packets went in. A payload that parses prints back
//! to the same four bytes, but for the reserved R bit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderline_dtmf::{EventReceiver, TelephoneEvent};

fuzz_target!(|data: &[u8]| {
    let mut rx = EventReceiver::new();
    let mut packets = 0usize;
    let mut digits = Vec::new();
    for chunk in data.chunks(8) {
        if chunk.len() < 8 {
            rx.on_clock(u32::from_be_bytes([chunk[0], 0, 0, 0]));
            break;
        }
        let ts = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let payload = &chunk[4..];
        if let Ok(ev) = TelephoneEvent::parse(payload) {
            // The R bit (0x40) is reserved: ignored on receipt, sent as 0 (RFC 4733 §2.3).
            let sent = [payload[0], payload[1] & !0x40, payload[2], payload[3]];
            assert_eq!(ev.to_bytes(), sent, "parse/print round trip");
        }
        packets += 1;
        digits.extend(rx.on_packet(ts, payload));
        digits.extend(rx.on_clock(ts));
        while let Some(d) = rx.poll_event() {
            digits.push(d);
        }
    }
    assert!(digits.len() <= packets + 1);
    for d in digits {
        assert!("0123456789*#ABCD".contains(d.digit), "{:?}", d.digit);
        assert!(d.start <= d.end);
    }
});
