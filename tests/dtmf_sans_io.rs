//! Structural promises of the DTMF layer: sans-IO (no runtime, sockets or clock reads in
//! `crates/orderline-dtmf`), no allocation per frame on any hot path, small per-channel state.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use orderline::dtmf::*;

struct Counting;
thread_local! {
    /// Allocations made by this thread (tests run in parallel threads).
    static ALLOCS: Cell<usize> = const { Cell::new(0) };
}

fn allocs() -> usize {
    ALLOCS.with(Cell::get)
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn no_runtime_sockets_or_clock_in_src_dtmf() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/orderline-dtmf/src");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        for banned in [
            "tokio",
            "std::net",
            "UdpSocket",
            "Instant",
            "SystemTime",
            "thread::sleep",
            ".unwrap()",
        ] {
            let hits: Vec<&str> = text
                .lines()
                .filter(|l| l.contains(banned) && !l.trim_start().starts_with("//"))
                .collect();
            assert!(
                hits.is_empty(),
                "{} uses {banned}: {hits:?}",
                path.display()
            );
        }
    }
}

#[test]
fn hot_paths_do_not_allocate() {
    // Everything constructed and warmed up first (tables are built on first use).
    let audio = dtmf_samples(
        "0123456789*#ABCD",
        DtmfTiming {
            on_ms: 50,
            off_ms: 50,
            low_dbm0: -10.0,
            high_dbm0: -10.0,
        },
    )
    .unwrap();
    let mut det = Detector::new();
    let mut sq = Squelch::new();
    let mut gen = ToneGenerator::new();
    let mut rx = EventReceiver::new();
    let tx = EventSender::new();
    let mut out = vec![0i16; 160];
    det.push(&audio[..160]);

    let before = allocs();
    let mut digits = 0;
    for frame in audio.chunks(160) {
        det.push(frame);
        while det.poll_event().is_some() {
            digits += 1;
        }
        sq.process(frame, &mut out[..frame.len()]);
    }
    gen.queue_digits("123", DtmfTiming::default()).unwrap();
    while gen.fill(&mut out) == out.len() {}
    for p in tx.digit('7', 1000, 1600).unwrap() {
        rx.on_packet(p.timestamp, &p.payload);
    }
    rx.on_clock(100_000);
    let after = allocs();
    assert_eq!(after - before, 0, "allocations on the hot path");
    assert_eq!(digits, 16);
}

#[test]
fn per_channel_state_is_small() {
    use std::mem::size_of;
    eprintln!(
        "state sizes: Detector {} B, Squelch {} B, EventReceiver {} B, ToneGenerator {} B",
        size_of::<Detector>(),
        size_of::<Squelch>(),
        size_of::<EventReceiver>(),
        size_of::<ToneGenerator>()
    );
    assert!(size_of::<Detector>() <= 512);
    assert!(size_of::<EventReceiver>() <= 128);
    assert!(size_of::<Squelch>() <= 1024);
    assert!(size_of::<ToneGenerator>() <= 1024);
}
