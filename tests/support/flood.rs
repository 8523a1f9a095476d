//! A flooder thread for the "a flood on a media port starves nothing" tests:
//! `pkt` and a 4-byte junk datagram, 200 of each per millisecond, to
//! 127.0.0.1:`port` until `stop`; returns how many datagrams it sent.

use std::net::{Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

pub fn flood(port: u16, pkt: Vec<u8>, stop: Arc<AtomicBool>) -> JoinHandle<u64> {
    std::thread::spawn(move || {
        let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let to = (Ipv4Addr::LOCALHOST, port);
        let mut sent = 0u64;
        while !stop.load(Ordering::Relaxed) {
            for _ in 0..200 {
                let _ = s.send_to(&pkt, to);
                let _ = s.send_to(b"junk", to);
            }
            sent += 400;
            std::thread::sleep(Duration::from_millis(1));
        }
        sent
    })
}
