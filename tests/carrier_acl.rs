//! Issue #14, who may talk to orderline: an INVITE from outside every
//! trunk's `inbound_from` (and not from a registered agent) is refused 403
//! before any call or media exists, and a flood of INVITEs and junk from
//! other loopback addresses neither refuses nor noticeably delays the
//! trunk's calls, which SIPp places from 127.0.0.1 while the flood runs.

#[macro_use]
mod support;

use std::net::UdpSocket;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::http::metric;
use support::*;

/// `[sip] rate_limit`/`rate_burst` for the test, and a 1 s message to callers.
fn prepare(dir: &Path) {
    add_sip_keys(dir, "rate_limit = 20.0\nrate_burst = 40\n");
    write_wav(
        &dir.join("prompts/en/callback_no_order.wav"),
        &vec![0; 8000],
    );
}

/// INVITE → 200 OK times (ms) of a SIPp run with `-trace_rtt`.
fn rtts(dir: &Path) -> Vec<f64> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("sipp dir").flatten() {
        if e.file_name().to_string_lossy().ends_with("_rtt.csv") {
            let text = std::fs::read_to_string(e.path()).unwrap_or_default();
            out.extend(
                text.lines()
                    .skip(1)
                    .filter_map(|l| l.split(';').nth(1)?.trim().parse::<f64>().ok()),
            );
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

/// `calls` trunk calls from 127.0.0.1, ten at a time; all must succeed.
fn trunk_calls(dir: &Path, name: &str, target: &str, calls: u32, daemon: &Daemon) -> Vec<f64> {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("mkdir");
    let n = calls.to_string();
    let sipp = Sipp::start(
        &Path::new(SCENARIOS).join("uac_callback.xml"),
        &d,
        &[
            target,
            "-m",
            &n,
            "-l",
            "10",
            "-r",
            "10",
            "-trace_rtt",
            "-rtt_freq",
            "1",
        ],
    );
    let (ok, errors) = sipp.finish(Duration::from_secs(90));
    assert!(
        ok,
        "trunk calls ({name}) failed: {errors}\n{}",
        daemon
            .logs()
            .lines()
            .rev()
            .take(80)
            .collect::<Vec<_>>()
            .join("\n")
    );
    let rtts = rtts(&d);
    assert_eq!(rtts.len(), calls as usize, "one INVITE→200 time per call");
    rtts
}

#[test]
fn strangers_get_403_and_a_flood_does_not_hold_up_the_trunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let tail = format!("[http]\nlisten = \"{http}\"\napi_tokens = [\"acl-token\"]\n");
    let daemon = Daemon::start_trunk(
        dir.path(),
        free_udp_port(),
        "inbound_from = [\"127.0.0.1/32\"]",
        &tail,
        prepare,
    );
    let target = format!("127.0.0.1:{}", daemon.port);

    // A stranger (127.0.0.2) calls: 403 each time, and no call starts.
    let d = dir.path().join("stranger");
    std::fs::create_dir_all(&d).expect("mkdir");
    let stranger = Sipp::start_at(
        "127.0.0.2",
        &Path::new(SCENARIOS).join("uac_forbidden.xml"),
        &d,
        free_udp_port(),
        &[&target, "-m", "3"],
    );
    let (ok, errors) = stranger.finish(Duration::from_secs(20));
    assert!(
        ok,
        "a stranger's INVITE was not refused 403: {errors}\n{}",
        daemon.logs()
    );
    // `/metrics` copies the driver's counts once a second.
    let t0 = Instant::now();
    while metric(http, "orderline_sip_forbidden_total") < 3.0 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "403s not counted in /metrics"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(metric(http, "orderline_sip_forbidden_total"), 3.0);
    assert!(
        !daemon.logs().contains("inbound call"),
        "a refused INVITE reached the call layer:\n{}",
        daemon.logs()
    );

    // Baseline: the trunk's calls on a quiet daemon.
    let quiet = trunk_calls(dir.path(), "quiet", &target, 20, &daemon);

    // The flood: SIPp INVITEs from 127.0.0.3 at 2,000 calls/s, and junk
    // datagrams from 127.0.0.4 as fast as a thread can send them.
    let d = dir.path().join("flood");
    std::fs::create_dir_all(&d).expect("mkdir");
    let flood = Sipp::start_at(
        "127.0.0.3",
        &Path::new(SCENARIOS).join("uac_flood.xml"),
        &d,
        free_udp_port(),
        &[&target, "-r", "2000", "-m", "10000000", "-l", "100000"],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let junk_sent = Arc::new(AtomicU64::new(0));
    let junk = {
        let (stop, sent, port) = (stop.clone(), junk_sent.clone(), daemon.port);
        std::thread::spawn(move || {
            let sock = UdpSocket::bind("127.0.0.4:0").expect("bind 127.0.0.4");
            let garbage = b"\x16\x03\x01 not SIP at all \r\n\r\nOPTIONS sip:x SIP/2.0\r\n\r\n";
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..64 {
                    if sock.send_to(garbage, ("127.0.0.1", port)).is_ok() {
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let limited_before = metric(http, "orderline_sip_rate_limited_total");
    let flooded = trunk_calls(dir.path(), "flooded", &target, 20, &daemon);
    let limited = metric(http, "orderline_sip_rate_limited_total");
    stop.store(true, Ordering::Relaxed);
    junk.join().expect("junk thread");
    drop(flood);

    let p = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    eprintln!(
        "INVITE→200 ms, quiet: median {:.0} max {:.0}; under flood: median {:.0} max {:.0}; \
         junk datagrams sent {}; requests dropped for rate {limited} ({} during the flooded calls)",
        p(&quiet, 0.5),
        p(&quiet, 1.0),
        p(&flooded, 0.5),
        p(&flooded, 1.0),
        junk_sent.load(Ordering::Relaxed),
        limited - limited_before,
    );
    assert!(
        limited - limited_before > 1000.0,
        "the flood was not being dropped while the trunk called ({limited_before} → {limited})"
    );
    // Refused calls would have failed above; "not delayed" is bounded
    // generously for two loaded cores: at worst a couple of UDP
    // retransmissions (500 ms, 1 s) of an INVITE the kernel dropped.
    assert!(
        p(&flooded, 1.0) < 4000.0,
        "the trunk's calls were held up by the flood: {flooded:?} (quiet: {quiet:?})"
    );
    // After the flood, strangers are still refused and the trunk still served.
    assert!(
        options_ping(daemon.port).is_some(),
        "daemon stopped answering"
    );
}
