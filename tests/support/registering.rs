//! Helpers for the tests where real phones register (`sip_registrar*.rs`):
//! the SIPp customer behind the trunk, the bindings as stored, and a
//! click-to-call that must reach a registered phone.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use orderline::store::{Store, StoredBinding};

use super::http::json;
use super::{free_udp_block, require, Baresip};

/// SIPp's built-in UAS as the customer behind the trunk: answers calls.
pub fn customer(port: u16) -> Child {
    require("sipp");
    let mport = free_udp_block(4);
    Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-i",
            "127.0.0.1",
            "-mi",
            "127.0.0.1",
            "-nostdin",
        ])
        .args(["-p", &port.to_string(), "-mp", &mport.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sipp")
}

/// The live bindings stored in the daemon's SQLite database in `dir`.
pub fn bindings(dir: &Path) -> Vec<StoredBinding> {
    let url = format!("sqlite://{}", dir.join("orderline.db").display());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let store = Store::open(&url).await.expect("open store");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis();
        let now = chrono::DateTime::from_timestamp_millis(now_ms as i64).expect("now");
        let b = store.live_bindings(now).await.expect("bindings");
        store.close().await;
        b
    })
}

/// Wait until the stored bindings satisfy `ok`; `logs` explains a failure.
pub fn wait_bindings(
    dir: &Path,
    what: &str,
    limit: Duration,
    logs: impl Fn() -> String,
    ok: impl Fn(&[StoredBinding]) -> bool,
) -> Vec<StoredBinding> {
    let t0 = Instant::now();
    loop {
        let b = bindings(dir);
        if ok(&b) {
            return b;
        }
        assert!(t0.elapsed() < limit, "{what}: bindings {b:#?}\n{}", logs());
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Click-to-call `agent` (merchant token) and wait for `phone` to answer.
pub fn call_reaches(
    http: SocketAddr,
    merchant: &str,
    agent: &str,
    phone: &Baresip,
    logs: impl Fn() -> String,
) {
    let (st, v) = json(
        http,
        "POST",
        "/v1/calls",
        merchant,
        Some(&format!(r#"{{"agent":"{agent}","to":"923001234567"}}"#)),
    );
    assert_eq!(st, 201, "POST /v1/calls: {v}\n{}", logs());
    let t0 = Instant::now();
    while !phone.answered() {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "the phone never answered:\n{}\n--- daemon ---\n{}",
            phone.logs(),
            logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = phone.hang_up();
}
