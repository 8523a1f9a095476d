//! Shared by the real-peer tests: free ports on 127.0.0.1 for a peer to bind.
#![allow(dead_code)]

use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};

/// Ports handed to peers come from this band, below Linux's ephemeral range
/// (32768–60999): a port picked by binding `:0` could be taken again by any
/// other socket's `:0` bind (a driver's listener, an HTTP client's connection)
/// between our check and the peer's own bind, and the peer would fail to start
/// (`sip_baresip` once timed out waiting for an INVITE from a baresip that
/// could not bind). No `:0` bind ever lands here; and the band lies below the
/// RTP ranges the tests and the default config use (20000 and up).
const BAND: std::ops::Range<u16> = 12_000..20_000;

/// An even port free for UDP and TCP on 127.0.0.1, with the port after it free
/// too (baresip opens TCP on its SIP port + 1), each handed out once per test
/// binary (test threads never race for the same one). Test binaries start at
/// different places in the band, by process id.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let span = (BAND.end - BAND.start) / 2;
    let offset = (std::process::id() % u32::from(span)) as u16;
    for _ in 0..span {
        let k = (NEXT.fetch_add(1, Ordering::Relaxed) + offset) % span;
        let p = BAND.start + 2 * k;
        let free = |q: u16| {
            UdpSocket::bind(("127.0.0.1", q)).is_ok() && TcpListener::bind(("127.0.0.1", q)).is_ok()
        };
        if free(p) && free(p + 1) {
            return p;
        }
    }
    panic!("no free port pair in 127.0.0.1:{BAND:?}");
}
