//! Any datagram into an SRTP context as SRTP and as SRTCP: no panic, a
//! refused packet leaves the context as it was (the next genuine packet
//! still opens), and what a sender protects always opens again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use orderline_srtp::{MasterKey, SrtpContext};

fuzz_target!(|data: &[u8]| {
    let key = MasterKey::from_bytes(&[0x5a; 30]).expect("30 octets");
    let (mut tx, mut rx) = (SrtpContext::new(&key), SrtpContext::new(&key));
    let mut buf = data.to_vec();
    let _ = rx.unprotect_rtp(&mut buf);
    let mut buf = data.to_vec();
    let _ = rx.unprotect_rtcp(&mut buf);
    // Whatever came in, a genuine packet still opens (failures keep no state).
    let mut pkt = [0u8; 64];
    pkt[0] = 0x80;
    pkt[2..4].copy_from_slice(&data.get(..2).map_or([0, 1], |b| [b[0], b[1]]));
    pkt[8..12].copy_from_slice(&[1, 2, 3, 4]);
    let n = tx.protect_rtp(&mut pkt, 40).expect("room for the tag");
    let got = rx.unprotect_rtp(&mut pkt[..n]);
    assert!(got.is_ok() || got == Err(orderline_srtp::SrtpError::Replay), "{got:?}");
});
