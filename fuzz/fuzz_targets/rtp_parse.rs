//! Any datagram on an RTP port: `media::rtp::parse` (the root crate's file,
//! compiled here on its own: it needs only `rtp-rs`, `rand` and `thiserror`)
//! never panics; RTCP multiplexed on the port (RFC 5761 §4) is told apart;
//! an RTP packet's payload lies inside the datagram after the fixed header.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../src/media/rtp.rs"]
#[allow(dead_code)]
mod rtp;

fuzz_target!(|data: &[u8]| {
    match rtp::parse(data) {
        Ok(rtp::Datagram::Rtp(p)) => {
            assert!(data.len() >= 12);
            assert!(p.payload.len() <= data.len() - 12);
            assert!(p.payload_type < 128);
            let start = p.payload.as_ptr() as usize - data.as_ptr() as usize;
            assert!(start >= 12 && start + p.payload.len() <= data.len());
        }
        Ok(rtp::Datagram::Rtcp) => assert!((192..=223).contains(&data[1])),
        Err(_) => {}
    }
});
