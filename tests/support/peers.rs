//! The one free-port allocator of the tests: ports on 127.0.0.1 for a peer
//! (SIPp, baresip, `orderline serve`, an HTTP listener) to bind later.
//! `tests/support` re-exports it.
#![allow(dead_code)]

use std::net::{TcpListener, UdpSocket};
use std::sync::Mutex;

/// Ports handed to peers come from this band, below Linux's ephemeral range
/// (32768–60999): a port picked by binding `:0` could be taken again by any
/// other socket's `:0` bind (a driver's listener, an HTTP client's connection)
/// between our check and the peer's own bind, and the peer would fail to start
/// (`sip_baresip` once timed out waiting for an INVITE from a baresip that
/// could not bind; a load test once lost its daemon's SIP port to one of its
/// own HTTP connections). No `:0` bind ever lands here; and the band lies
/// below the RTP ranges the tests and the default config use (20000 and up).
const BAND: std::ops::Range<u16> = 12_000..20_000;

/// An even port `p` with `p..p + n` free on UDP and `p`, `p + 1` free on TCP
/// (a SIP port is bound on UDP and TCP; baresip opens TCP on its SIP port + 1;
/// SIPp's `-mp` takes four UDP ports). Each port is handed out once per test
/// binary, so test threads never race for the same one; binaries start at
/// different places in the band, by process id.
pub fn free_block(n: u16) -> u16 {
    static TAKEN: Mutex<Vec<u16>> = Mutex::new(Vec::new());
    let n = n.max(2);
    let slots = (BAND.end - BAND.start) / 2;
    let offset = (std::process::id() % u32::from(slots)) as u16;
    let mut taken = TAKEN.lock().unwrap_or_else(|e| e.into_inner());
    for k in 0..slots {
        let p = BAND.start + 2 * ((k + offset) % slots);
        if p + n > BAND.end || (p..p + n).any(|q| taken.contains(&q)) {
            continue;
        }
        let udp = |q: u16| UdpSocket::bind(("127.0.0.1", q)).is_ok();
        let tcp = |q: u16| TcpListener::bind(("127.0.0.1", q)).is_ok();
        if (p..p + n).all(udp) && tcp(p) && tcp(p + 1) {
            taken.extend(p..p + n);
            return p;
        }
    }
    panic!("no {n} free ports in 127.0.0.1:{BAND:?}");
}

/// A port for a SIP peer: free on UDP and TCP, with the port after it free too.
pub fn free_port() -> u16 {
    free_block(2)
}

/// An RTP/RTCP pair (even port and the next).
pub fn free_udp_port() -> u16 {
    free_block(2)
}

/// An even port with the `n - 1` after it free on UDP.
pub fn free_udp_block(n: u16) -> u16 {
    free_block(n)
}

/// A port for a TCP listener (HTTP).
pub fn free_tcp_port() -> u16 {
    free_block(2)
}
