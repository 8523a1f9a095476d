//! "No allocation per packet": a counting global allocator, a media session
//! sending 20 ms frames and receiving RTP, RTCP and junk from an
//! allocation-free peer thread, and a steady-state window in which the
//! number of heap allocations must stay (near) zero while ~100 packets go
//! each way.

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket as StdUdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use orderline::config::PortRange;
use orderline::media::{Law, MediaParams, MediaSession, PlayItem, PortAllocator};

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

#[test]
fn steady_state_send_and_receive_do_not_allocate() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let peer = StdUdpSocket::bind((LOCAL, 0)).unwrap();
    peer.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let pool = Arc::new(PortAllocator::new(PortRange {
        first: 30_300,
        last: 30_319,
    }));
    let prompt: Arc<[i16]> = (0..8000 * 10)
        .map(|i: i32| ((i * 37) % 4000 - 2000) as i16)
        .collect();

    let (port, handle) = rt.block_on(async {
        let s = MediaSession::bind(LOCAL, &pool).await.unwrap();
        let port = s.local_port();
        let h = s.start(MediaParams {
            remote: peer.local_addr().unwrap(),
            law: Law::A,
            dtmf_pt: Some(101),
            ptime_ms: 20,
        });
        h.play(vec![PlayItem::Prompt(prompt.clone())])
            .await
            .unwrap();
        (port, h)
    });

    // Peer: echo-like far end sending audio, RTCP and junk, no allocation.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let rtp_to = SocketAddr::new(LOCAL, port);
    let rtcp_to = SocketAddr::new(LOCAL, port + 1);
    let peer_thread = std::thread::spawn(move || {
        let mut pkt = [0u8; 172];
        pkt[0] = 0x80;
        pkt[1] = 8;
        pkt[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        let rr = [0x80u8, 201, 0, 1, 1, 2, 3, 4];
        let mut rbuf = [0u8; 2048];
        let mut seq: u16 = 1;
        let mut ts: u32 = 0;
        let mut received = 0u32;
        while !stop2.load(Ordering::Relaxed) {
            pkt[2..4].copy_from_slice(&seq.to_be_bytes());
            pkt[4..8].copy_from_slice(&ts.to_be_bytes());
            for (i, b) in pkt[12..].iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(seq as u8) ^ 0x55;
            }
            let _ = peer.send_to(&pkt, rtp_to);
            if seq % 10 == 0 {
                let _ = peer.send_to(&rr, rtcp_to);
                let _ = peer.send_to(b"junk", rtp_to);
            }
            seq = seq.wrapping_add(1);
            ts = ts.wrapping_add(160);
            if peer.recv_from(&mut rbuf).is_ok() {
                received += 1;
            }
            std::thread::sleep(Duration::from_millis(15));
        }
        received
    });

    // Run the runtime on this thread: warm up, then measure.
    rt.block_on(async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = ALLOCS.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let during = ALLOCS.load(Ordering::Relaxed) - before;
        stop.store(true, Ordering::Relaxed);
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
