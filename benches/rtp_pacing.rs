//! RTP send pacing under load: N concurrent media sessions, each sending
//! 20 ms G.711 frames to a receiver socket on 127.0.0.1.
//!
//!     cargo bench --bench rtp_pacing                 # 1 stream, then 1,000
//!     cargo bench --bench rtp_pacing -- 500 10       # streams, seconds
//!
//! The receiver stamps every datagram with the kernel's arrival time
//! (SO_TIMESTAMPNS), so how fast the receiving thread drains the socket does
//! not enter the figures: what is measured is when each packet left the
//! session and crossed loopback. Per stream, the interval between
//! consecutive packets is compared with 20 ms; the report gives the p50,
//! p99 and max of |interval − 20 ms| over all intervals of all streams, the
//! worst stream's p99, the drift of each stream's whole span against
//! (packets − 1) × 20 ms, and CPU time used.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, UdpSocket as StdUdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use orderline::config::PortRange;
use orderline::media::{Law, MediaParams, MediaSession, PlayItem, PortAllocator};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Report {
    streams: usize,
    intervals: usize,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    worst_stream_p99_us: f64,
    worst_drift_ms: f64,
    received: u64,
    expected: u64,
    frames_skipped: u64,
    cpu_percent: f64,
    within_1ms: f64,
    load: String,
    /// Time this process's threads spent runnable but not running.
    rq_wait_ms: f64,
    /// System-wide CPU pressure (PSI "some avg10") at the end of the run.
    psi: String,
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --all-targets` runs this
    // binary without it: then only a short smoke run (10 streams, 1 s).
    let benching = std::env::args().any(|a| a == "--bench");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let many: usize = args
        .first()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 1000 } else { 10 });
    let secs: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(if benching { 10 } else { 1 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    println!("rtp_pacing: 2 tokio workers, {secs} s measured per run, kernel RX timestamps");
    let one = run(&rt, 1, secs);
    print(&one);
    let n = run(&rt, many, secs);
    print(&n);
    println!(
        "ratio p99({} streams) / p99(1 stream) = {:.2}",
        n.streams,
        n.p99_us / one.p99_us.max(1.0)
    );
}

fn print(r: &Report) {
    if r.intervals == 0 {
        println!(
            "{:>5} streams: no packets measured (receiver got nothing in the window)",
            r.streams
        );
        return;
    }
    println!(
        "{:>5} streams: |interval-20ms| p50 {:>7.1} us  p99 {:>8.1} us  max {:>8.1} us  \
         worst-stream p99 {:>8.1} us  within 1 ms {:.1}%  worst drift {:+.2} ms  rx {}/{} pkts  skipped {}  \
         cpu {:.0}%  waited for a CPU {:.0} ms  ({} intervals, loadavg {}, cpu pressure {})",
        r.streams,
        r.p50_us,
        r.p99_us,
        r.max_us,
        r.worst_stream_p99_us,
        r.within_1ms,
        r.worst_drift_ms,
        r.received,
        r.expected,
        r.frames_skipped,
        r.cpu_percent,
        r.rq_wait_ms,
        r.intervals,
        r.load,
        r.psi
    );
}

fn run(rt: &tokio::runtime::Runtime, streams: usize, secs: u64) -> Report {
    let receiver = StdUdpSocket::bind((LOCAL, 0)).expect("bind receiver");
    enable_timestamps(&receiver);
    let dest = receiver.local_addr().expect("receiver addr");
    let stop = Arc::new(AtomicBool::new(false));
    receiver
        .set_read_timeout(Some(Duration::from_millis(100)))
        .ok();
    let stop_rx = stop.clone();
    let rx_thread = std::thread::spawn(move || receive(receiver, &stop_rx));

    let pool = Arc::new(PortAllocator::new(PortRange {
        first: 40_000,
        last: 40_000 + 2 * streams as u16 + 100,
    }));
    let params = MediaParams {
        remote: dest,
        law: Law::Mu,
        dtmf_pt: Some(101),
        ptime_ms: 20,
        srtp: None,
    };
    let prompt: Arc<[i16]> = (0..8000 * 60)
        .map(|i: i64| ((i * 7919) % 16001 - 8000) as i16)
        .collect();
    let load_before = loadavg();
    let handles = rt.block_on(async {
        let mut hs = Vec::with_capacity(streams);
        for _ in 0..streams {
            let s = MediaSession::bind(LOCAL, &pool)
                .await
                .expect("bind session");
            let h = s.start(params);
            // Something to encode, like a real call: a long shared prompt.
            h.play(vec![PlayItem::Prompt(prompt.clone())])
                .await
                .expect("play");
            hs.push(h);
            // Spread start times over one period, as calls arrive.
            if streams > 1 {
                tokio::time::sleep(Duration::from_micros(20_000 / streams as u64)).await;
            }
        }
        hs
    });
    // Warm-up, then the measured window.
    std::thread::sleep(Duration::from_secs(1));
    let cpu0 = cpu_time();
    let rq0 = runqueue_wait_ns();
    let wall0 = Instant::now();
    let t_begin = realtime_ns();
    std::thread::sleep(Duration::from_secs(secs));
    let t_end = realtime_ns();
    let cpu = cpu_time() - cpu0;
    let rq_wait_ms = runqueue_wait_ns().saturating_sub(rq0) as f64 / 1e6;
    let psi = cpu_pressure();
    let wall = wall0.elapsed().as_secs_f64();
    let stats: Vec<_> = rt.block_on(async {
        let mut out = Vec::with_capacity(handles.len());
        for h in handles {
            out.push(h.stop().await);
        }
        out
    });
    stop.store(true, Ordering::Relaxed);
    let per_ssrc = rx_thread.join().expect("receiver thread");
    let load = format!("{load_before} -> {}", loadavg());

    let mut all = Vec::new();
    let mut worst_stream_p99 = 0f64;
    let mut worst_drift = 0f64;
    let mut received = 0u64;
    let mut within_1ms = 0usize;
    for pkts in per_ssrc.values() {
        let win: Vec<&(i64, u16, u32)> = pkts
            .iter()
            .filter(|(t, _, _)| *t >= t_begin && *t < t_end)
            .collect();
        received += win.len() as u64;
        let mut devs = Vec::with_capacity(win.len());
        for w in win.windows(2) {
            if w[1].1 != w[0].1.wrapping_add(1) {
                continue; // lost or reordered on loopback: not a pacing interval
            }
            devs.push(((w[1].0 - w[0].0) as f64 / 1000.0 - 20_000.0).abs());
        }
        // Drift: how far the send clock moved against the RTP clock over
        // the window — the median of (arrival − RTP time) over the last 50
        // packets minus the same over the first 50, so one late packet at
        // either end is not mistaken for drift (skipped frames advance the
        // RTP clock, so they are not drift either).
        if win.len() >= 100 {
            let base = win[0].2;
            let offsets = |part: &[&(i64, u16, u32)]| {
                let mut v: Vec<f64> = part
                    .iter()
                    .map(|p| p.0 as f64 / 1e6 - p.2.wrapping_sub(base) as f64 / 8.0)
                    .collect();
                v.sort_by(f64::total_cmp);
                v[v.len() / 2]
            };
            let drift_ms = offsets(&win[win.len() - 50..]) - offsets(&win[..50]);
            if drift_ms.abs() > worst_drift.abs() {
                worst_drift = drift_ms;
            }
        }
        devs.sort_by(f64::total_cmp);
        within_1ms += devs.iter().filter(|&&d| d <= 1000.0).count();
        worst_stream_p99 = worst_stream_p99.max(pct(&devs, 0.99));
        all.extend(devs);
    }
    all.sort_by(f64::total_cmp);
    Report {
        streams,
        intervals: all.len(),
        p50_us: pct(&all, 0.50),
        p99_us: pct(&all, 0.99),
        max_us: all.last().copied().unwrap_or(0.0),
        worst_stream_p99_us: worst_stream_p99,
        worst_drift_ms: worst_drift,
        received,
        expected: streams as u64 * secs * 50,
        frames_skipped: stats.iter().map(|s| s.frames_skipped).sum(),
        cpu_percent: 100.0 * cpu / wall,
        within_1ms: within_1ms as f64 / all.len().max(1) as f64 * 100.0,
        rq_wait_ms,
        psi,
        load,
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Drain the socket; per SSRC, (kernel arrival ns, RTP seq, RTP timestamp).
fn receive(sock: StdUdpSocket, stop: &AtomicBool) -> HashMap<u32, Vec<(i64, u16, u32)>> {
    let mut map: HashMap<u32, Vec<(i64, u16, u32)>> = HashMap::new();
    let mut buf = [0u8; 2048];
    let mut cmsg = [0u64; 16];
    while !stop.load(Ordering::Relaxed) {
        let Some((n, t)) = recv_stamped(&sock, &mut buf, &mut cmsg) else {
            continue;
        };
        if n < 12 {
            continue;
        }
        let seq = u16::from_be_bytes([buf[2], buf[3]]);
        let ts = u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]);
        let ssrc = u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]);
        map.entry(ssrc)
            .or_insert_with(|| Vec::with_capacity(4096))
            .push((t, seq, ts));
    }
    map
}

fn enable_timestamps(sock: &StdUdpSocket) {
    let one: libc::c_int = 1;
    let big: libc::c_int = 16 << 20;
    // SAFETY: valid fd and option pointers of the right size.
    unsafe {
        let fd = sock.as_raw_fd();
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let r = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&one as *const libc::c_int).cast(),
            sz,
        );
        assert_eq!(r, 0, "SO_TIMESTAMPNS");
        // Best effort: a larger buffer (FORCE needs CAP_NET_ADMIN).
        if libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            (&big as *const libc::c_int).cast(),
            sz,
        ) != 0
        {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&big as *const libc::c_int).cast(),
                sz,
            );
        }
    }
}

fn recv_stamped(sock: &StdUdpSocket, buf: &mut [u8], cmsg: &mut [u64; 16]) -> Option<(usize, i64)> {
    // SAFETY: msghdr points at live buffers for the duration of the call;
    // control messages are walked with the libc CMSG macros.
    unsafe {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cmsg.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(cmsg) as _;
        let n = libc::recvmsg(sock.as_raw_fd(), &mut msg, 0);
        if n < 0 {
            return None;
        }
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                return Some((n as usize, ts.tv_sec * 1_000_000_000 + ts.tv_nsec));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
        None
    }
}

fn realtime_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

/// User + system CPU seconds of this process.
fn cpu_time() -> f64 {
    // SAFETY: valid out pointer.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_default()
}

/// Sum over this process's threads of the time spent waiting on a run
/// queue (`/proc/self/task/*/schedstat`, second field, ns): how much the
/// scheduler kept us from running, whoever else was using the CPUs.
fn runqueue_wait_ns() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// PSI "some avg10" for CPU: share of the last 10 s in which some task
/// waited for a CPU, machine-wide.
fn cpu_pressure() -> String {
    std::fs::read_to_string("/proc/pressure/cpu")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .map(|v| v.trim_start_matches("avg10=").to_owned() + "%")
        })
        .unwrap_or_default()
}
