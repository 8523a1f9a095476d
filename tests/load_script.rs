//! `scripts/load` (issue #16) kept working: its measuring half,
//! `scripts/load.py`, run small against the debug binary and a real SIPp
//! callee. The figures of a debug build mean nothing; what is checked is
//! that the script holds every call live at once, sees every call's RTP at
//! SIPp's socket, measures both processes' CPU, and that every call ends
//! the way a silent customer's must (`no_input`), none failed.

mod support;

use std::process::{Command, Stdio};

use support::require;

/// Run `scripts/load.py ARGS --json` against the debug binary; its JSON line,
/// after checking it exited 0.
fn load(args: &[&str]) -> serde_json::Value {
    let out = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/load.py"))
        .args(args)
        .args(["--json", "--binary", env!("CARGO_BIN_EXE_orderline")])
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/load.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("no JSON line ({e}):\n{stdout}\n{stderr}"));
    assert!(
        out.status.success(),
        "load.py {args:?} failed: {v}\n{stderr}"
    );
    v
}

#[test]
fn the_load_script_holds_every_call_and_reports_its_figures() {
    for bin in ["python3", "sipp", "sox", "tcpdump"] {
        require(bin);
    }
    let calls = 24;
    let v = load(&[
        "--calls", "24", "--cps", "40", "--window", "2", "--hold", "4",
    ]);
    assert_eq!(v["calls"], calls, "{v}");
    assert_eq!(v["live_in_window"], calls, "every call up at once: {v}");
    assert_eq!(v["rtp_streams_seen"], calls, "each call's RTP at SIPp: {v}");
    assert_eq!(v["results"]["no_input"], calls, "{v}");
    assert_eq!(v["failed"], 0, "{v}");
    for key in ["orderline_cpu_cores", "sipp_cpu_cores", "calls_per_core"] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
    let p50 = v["rtp_interval_dev_ms_p50"].as_f64().expect("p50");
    let p99 = v["rtp_interval_dev_ms_p99"].as_f64().expect("p99");
    assert!(p50 <= p99, "{v}");
    assert!(v["rss_per_call_kib"].as_f64().is_some(), "{v}");
}

#[test]
fn the_setup_rate_script_counts_every_short_call() {
    for bin in ["python3", "sipp"] {
        require(bin);
    }
    let v = load(&["setups", "--rate", "40", "--seconds", "2"]);
    assert_eq!(v["calls"], 80, "{v}");
    assert_eq!(
        v["succeeded"], 80,
        "SIPp's own count of answered and hung-up calls: {v}"
    );
    assert_eq!(v["failed"], 0, "{v}");
    for key in ["orderline_cpu_cores", "sipp_cpu_cores", "achieved_per_s"] {
        assert!(v[key].as_f64().is_some_and(|x| x > 0.0), "{key}: {v}");
    }
}
