//! "No allocation per packet": a counting global allocator, a media session
//! (and a bridge of two legs) sending 20 ms frames and receiving RTP, RTCP
//! and junk from allocation-free peer threads, and a steady-state window in
//! which the number of heap allocations must stay (near) zero while ~100
//! packets go each way on each leg. The counter is process-wide, so the
//! tests take turns.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use orderline::config::PortRange;
use orderline::media::{
    Bridge, BridgeMode, Law, MediaParams, MediaSession, PlayItem, PortAllocator, Side,
};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator, only counting calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// One measurement at a time: the allocation counter is global.
static SERIAL: Mutex<()> = Mutex::new(());

/// A far end sending audio (payload type `pt`), RTCP and junk to `port`
/// every 15 ms and reading what it is sent, without allocating. Returns the
/// number of packets it received.
fn peer(sock: StdUdpSocket, port: u16, pt: u8, stop: Arc<AtomicBool>) -> JoinHandle<u32> {
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let rtp_to = SocketAddr::new(LOCAL, port);
    let rtcp_to = SocketAddr::new(LOCAL, port + 1);
    std::thread::spawn(move || {
        let mut pkt = [0u8; 172];
        pkt[0] = 0x80;
        pkt[1] = pt;
        pkt[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        let rr = [0x80u8, 201, 0, 1, 1, 2, 3, 4];
        let mut rbuf = [0u8; 2048];
        let mut seq: u16 = 1;
        let mut ts: u32 = 0;
        let mut received = 0u32;
        while !stop.load(Ordering::Relaxed) {
            pkt[2..4].copy_from_slice(&seq.to_be_bytes());
            pkt[4..8].copy_from_slice(&ts.to_be_bytes());
            for (i, b) in pkt[12..].iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(seq as u8) ^ 0x55;
            }
            let _ = sock.send_to(&pkt, rtp_to);
            if seq % 10 == 0 {
                let _ = sock.send_to(&rr, rtcp_to);
                let _ = sock.send_to(b"junk", rtp_to);
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            if sock.recv_from(&mut rbuf).is_ok() {
                received += 1;
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        received
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Warm up for 0.5 s, then count the allocations of the next 2 s; the
/// peers are told to stop.
async fn steady_state_allocations(stop: &AtomicBool) -> u64 {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = ALLOCS.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = ALLOCS.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    during
}

fn prompt() -> PlayItem {
    PlayItem::Prompt(
        (0..8000 * 10)
            .map(|i: i32| ((i * 37) % 4000 - 2000) as i16)
            .collect(),
    )
}

#[test]
fn steady_state_send_and_receive_do_not_allocate() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let peer_sock = StdUdpSocket::bind((LOCAL, 0)).unwrap();
    let pool = Arc::new(PortAllocator::new(PortRange {
        first: 30_300,
        last: 30_319,
    }));

    let (port, handle) = rt.block_on(async {
        let s = MediaSession::bind(LOCAL, &pool).await.unwrap();
        let port = s.local_port();
        let h = s.start(MediaParams {
            remote: peer_sock.local_addr().unwrap(),
            law: Law::A,
            dtmf_pt: Some(101),
            ptime_ms: 20,
            srtp: None,
        });
        h.play(vec![prompt()]).await.unwrap();
        (port, h)
    });

    let stop = Arc::new(AtomicBool::new(false));
    let peer_thread = peer(peer_sock, port, 8, stop.clone());

    // Run the runtime on this thread: warm up, then measure.
    rt.block_on(async {
        let during = steady_state_allocations(&stop).await;
        let received = peer_thread.join().unwrap();
        let stats = handle.stop().await;
        assert!(
            stats.packets_sent >= 100 && stats.packets_received >= 100,
            "{stats:?}"
        );
        assert!(received >= 50, "peer heard {received}");
        assert!(stats.rtcp >= 10 && stats.invalid >= 10, "{stats:?}");
        // ~100 frames sent and ~130 received in the window: a per-packet
        // allocation would show up as hundreds.
        assert!(during <= 5, "{during} allocations in 2 s of steady state");
    });
}

/// The bridge: both legs sending and receiving (PCMA agent, PCMU customer,
/// so every forwarded frame is transcoded and the customer's goes through
/// the squelch), a prompt playing on one leg.
#[test]
fn bridge_steady_state_does_not_allocate() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let agent_sock = StdUdpSocket::bind((LOCAL, 0)).unwrap();
    let customer_sock = StdUdpSocket::bind((LOCAL, 0)).unwrap();
    let pool = Arc::new(PortAllocator::new(PortRange {
        first: 30_340,
        last: 30_359,
    }));
    let params = |s: &StdUdpSocket, law| MediaParams {
        remote: s.local_addr().unwrap(),
        law,
        dtmf_pt: Some(101),
        ptime_ms: 20,
        srtp: None,
    };
    let (ap, cp, bridge) = rt.block_on(async {
        let a = MediaSession::bind(LOCAL, &pool).await.unwrap();
        let c = MediaSession::bind(LOCAL, &pool).await.unwrap();
        let (ap, cp) = (a.local_port(), c.local_port());
        let b = Bridge::start(a, params(&agent_sock, Law::A)).unwrap();
        b.connect(c, params(&customer_sock, Law::Mu)).await.unwrap();
        b.set_mode(BridgeMode::Talk).await.unwrap();
        b.play(Side::Agent, vec![prompt()]).await.unwrap();
        (ap, cp, b)
    });
    let stop = Arc::new(AtomicBool::new(false));
    let agent = peer(agent_sock, ap, 8, stop.clone());
    let customer = peer(customer_sock, cp, 0, stop.clone());

    rt.block_on(async {
        let during = steady_state_allocations(&stop).await;
        let heard = (agent.join().unwrap(), customer.join().unwrap());
        let stats = bridge.stop().await;
        for s in [stats.agent, stats.customer] {
            assert!(
                s.packets_sent >= 100 && s.packets_received >= 100,
                "{stats:?}"
            );
            assert!(s.rtcp >= 10 && s.invalid >= 10, "{stats:?}");
        }
        assert!(heard.0 >= 50 && heard.1 >= 50, "peers heard {heard:?}");
        // ~200 frames sent and ~260 received in the window, both legs.
        assert!(
            during <= 5,
            "{during} allocations in 2 s of bridge steady state"
        );
    });
}

/// A far end speaking SRTP (issue #14): protects each packet with its own
/// key (no allocation: fixed buffers, a context made before the loop),
/// sends junk and a replay now and then, and counts what it could
/// authenticate and decrypt of ours.
fn srtp_peer(
    sock: StdUdpSocket,
    port: u16,
    keys: (orderline_srtp::MasterKey, orderline_srtp::MasterKey),
    stop: Arc<AtomicBool>,
) -> JoinHandle<u32> {
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let to = SocketAddr::new(LOCAL, port);
    let rtcp_to = SocketAddr::new(LOCAL, port + 1);
    std::thread::spawn(move || {
        let mut tx = orderline_srtp::SrtpContext::new(&keys.0);
        let mut rx = orderline_srtp::SrtpContext::new(&keys.1);
        let mut pkt = [0u8; 256];
        let mut last = [0u8; 256];
        let mut last_len = 0;
        let mut rbuf = [0u8; 2048];
        let (mut seq, mut ts, mut opened) = (1u16, 0u32, 0u32);
        while !stop.load(Ordering::Relaxed) {
            pkt[0] = 0x80;
            pkt[1] = 8;
            pkt[2..4].copy_from_slice(&seq.to_be_bytes());
            pkt[4..8].copy_from_slice(&ts.to_be_bytes());
            pkt[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
            for (i, b) in pkt[12..172].iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(seq as u8) ^ 0x55;
            }
            if let Ok(n) = tx.protect_rtp(&mut pkt, 172) {
                let _ = sock.send_to(&pkt[..n], to);
                last[..n].copy_from_slice(&pkt[..n]);
                last_len = n;
            }
            if seq % 10 == 0 {
                let _ = sock.send_to(b"junk", to);
                let _ = sock.send_to(&last[..last_len], to); // a replay
                                                             // SRTCP on the RTCP port, and a plain RR that must not count.
                let mut rr = [0u8; 64];
                rr[..8].copy_from_slice(&[0x80, 201, 0, 1, 0x12, 0x34, 0x56, 0x78]);
                let _ = sock.send_to(&rr[..8], rtcp_to);
                if let Ok(n) = tx.protect_rtcp(&mut rr, 8) {
                    let _ = sock.send_to(&rr[..n], rtcp_to);
                }
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            if let Ok((n, _)) = sock.recv_from(&mut rbuf) {
                if rx.unprotect_rtp(&mut rbuf[..n]).is_ok() {
                    opened += 1;
                }
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        opened
    })
}

#[test]
fn srtp_steady_state_does_not_allocate() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let rt = runtime();
    let peer_sock = StdUdpSocket::bind((LOCAL, 0)).unwrap();
    let pool = Arc::new(PortAllocator::new(PortRange {
        first: 30_380,
        last: 30_399,
    }));
    let ours = orderline_srtp::MasterKey::from_bytes(&[3u8; 30]).unwrap();
    let theirs = orderline_srtp::MasterKey::from_bytes(&[9u8; 30]).unwrap();
    let (port, handle) = rt.block_on(async {
        let mut s = MediaSession::bind(LOCAL, &pool).await.unwrap();
        s.secure(ours);
        let port = s.local_port();
        let h = s.start(MediaParams {
            remote: peer_sock.local_addr().unwrap(),
            law: Law::A,
            dtmf_pt: Some(101),
            ptime_ms: 20,
            srtp: Some(theirs),
        });
        h.play(vec![prompt()]).await.unwrap();
        (port, h)
    });
    let stop = Arc::new(AtomicBool::new(false));
    let peer_thread = srtp_peer(peer_sock, port, (theirs, ours), stop.clone());
    rt.block_on(async {
        let during = steady_state_allocations(&stop).await;
        let opened = peer_thread.join().unwrap();
        let stats = handle.stop().await;
        assert!(
            stats.packets_sent >= 100 && stats.packets_received >= 100,
            "{stats:?}"
        );
        // The peer authenticated and decrypted what we sent.
        assert!(opened >= 50, "peer opened {opened} of our SRTP packets");
        // Junk, replays and plain RTCP were refused by the SRTP check;
        // SRTCP was taken.
        assert!(stats.invalid >= 30, "{stats:?}");
        assert!(stats.rtcp >= 10, "{stats:?}");
        assert!(
            during <= 5,
            "{during} allocations in 2 s of SRTP steady state"
        );
    });
}
