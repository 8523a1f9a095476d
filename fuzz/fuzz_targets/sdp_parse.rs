//! Any bytes as an SDP answer and as an SDP offer: no panic, and what we answer is itself
//! a consistent SDP (same m-line count as the offer, readable back, directions mirrored).
#![no_main]

use std::net::{IpAddr, Ipv4Addr};

use libfuzzer_sys::fuzz_target;
use orderline_sip::sdp::{answer, parse_answer, LocalMedia};

fuzz_target!(|data: &[u8]| {
    let _ = parse_answer(data);

    let local = LocalMedia {
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
        port: 20000,
        session_id: 1,
        version: 1,
        srtp: None,
    };
    if let Ok((sdp, remote)) = answer(data, &local) {
        let offered = data
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"m="))
            .count();
        let answered = sdp.lines().filter(|l| l.starts_with("m=")).count();
        assert_eq!(
            offered, answered,
            "RFC 3264 §6: one answer m-line per offer m-line"
        );
        assert!(!sdp.contains('\0'));
        let back = parse_answer(sdp.as_bytes()).ok();
        // Our accepted stream may follow rejected ones; parse_answer reads the first m-line,
        // so only check it when ours is first.
        if sdp
            .lines()
            .find(|l| l.starts_with("m="))
            .is_some_and(|l| l.starts_with("m=audio 20000 "))
        {
            let back = back.expect("our own answer parses");
            assert_eq!(back.codec, remote.codec);
            assert_eq!(back.dtmf_pt, remote.dtmf_pt);
            assert_eq!(back.direction, remote.direction.mirrored());
            assert_eq!(back.addr.port(), 20000);
        }
    }
});
