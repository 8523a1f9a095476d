//! Issue #14, trunks by host name (RFC 3263): Debian's dnsmasq, started by
//! the test on 127.0.0.1 (a non-53 port, `[dns] servers`), serves NAPTR,
//! SRV and A records for `trunk.test`; two SIPp callees are its targets.
//! SRV priority picks the target; equal priorities share calls by weight.

#[macro_use]
mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use support::*;

/// dnsmasq in the foreground on 127.0.0.1:`port`, answering only what the
/// test gives it (no resolv.conf, no /etc/hosts), records with a 60 s TTL.
struct Dnsmasq(Child);

impl Dnsmasq {
    fn start(port: u16, records: &[String]) -> Dnsmasq {
        let bin = ["/usr/sbin/dnsmasq", "/sbin/dnsmasq"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or_else(|| {
                panic!("dnsmasq is required by this test; run `bash scripts/install-deps`")
            });
        let child = Command::new(bin)
            .args([
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--listen-address=127.0.0.1",
                "--local-ttl=60",
                "--pid-file=",
                "--log-facility=-",
                "--log-queries",
                &format!("--port={port}"),
            ])
            .args(records)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        std::thread::sleep(Duration::from_millis(300));
        Dnsmasq(child)
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A SIPp callee pressing 1, with its media on `mport` (so a report's
/// `remote_media` says which target took the call).
fn callee(dir: &Path, mport: u16) -> Sipp {
    let mport = mport.to_string();
    streaming_callee(
        dir,
        "callee_inband.xml",
        &[(0.3, '1', 0.12)],
        3.0,
        free_udp_port(),
        &["-m", "100", "-mp", &mport, "-l", "10"],
    )
}

/// The records for `trunk.test`: NAPTR → `_sip._udp.trunk.test` → the two
/// targets with (priority, weight) each, both at 127.0.0.1.
fn records(a: (u16, u16, u16), b: (u16, u16, u16)) -> Vec<String> {
    vec![
        "--naptr-record=trunk.test,10,50,s,SIP+D2U,,_sip._udp.trunk.test".into(),
        format!(
            "--srv-host=_sip._udp.trunk.test,sipa.trunk.test,{},{},{}",
            a.0, a.1, a.2
        ),
        format!(
            "--srv-host=_sip._udp.trunk.test,sipb.trunk.test,{},{},{}",
            b.0, b.1, b.2
        ),
        "--host-record=sipa.trunk.test,127.0.0.1".into(),
        "--host-record=sipb.trunk.test,127.0.0.1".into(),
    ]
}

/// A config whose trunk is `sip:trunk.test` and whose resolver is dnsmasq.
fn config(dir: &Path, dns_port: u16) -> std::path::PathBuf {
    let cfg = write_config_with(
        dir,
        free_udp_port(),
        9,
        "",
        &format!("[dns]\nservers = [\"127.0.0.1:{dns_port}\"]\n"),
    );
    let text = std::fs::read_to_string(&cfg).expect("read config");
    let text = text.replacen("uri = \"sip:127.0.0.1:9\"", "uri = \"sip:trunk.test\"", 1);
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

/// Place `n` calls with `orderline call`; count them by the target whose
/// media answered (`remote_media` port).
fn calls_by_media_port(cfg: &Path, n: usize) -> HashMap<u16, usize> {
    let mut by = HashMap::new();
    for i in 0..n {
        let (report, out) = orderline_call(cfg, "03001234567", &["--amount", "100"]);
        assert_eq!(
            report["outcome"],
            "confirmed",
            "call {i}: {report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let media: std::net::SocketAddr = report["remote_media"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no remote_media: {report}"));
        *by.entry(media.port()).or_insert(0) += 1;
    }
    by
}

#[test]
fn srv_priority_sends_every_call_to_the_preferred_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ma, mb) = (free_udp_block(4), free_udp_block(4));
    let a = callee(&dir.path().join("a"), ma);
    let b = callee(&dir.path().join("b"), mb);
    let dns_port = free_udp_port();
    let _dns = Dnsmasq::start(dns_port, &records((a.port, 10, 50), (b.port, 20, 50)));
    let cfg = config(dir.path(), dns_port);
    let by = calls_by_media_port(&cfg, 3);
    assert_eq!(by.get(&ma), Some(&3), "priority 10 target: {by:?}");
    assert_eq!(by.get(&mb), None, "priority 20 target got calls: {by:?}");
}

#[test]
fn equal_priority_targets_share_calls_by_weight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ma, mb) = (free_udp_block(4), free_udp_block(4));
    let a = callee(&dir.path().join("a"), ma);
    let b = callee(&dir.path().join("b"), mb);
    let dns_port = free_udp_port();
    let _dns = Dnsmasq::start(dns_port, &records((a.port, 10, 50), (b.port, 10, 50)));
    let cfg = config(dir.path(), dns_port);
    // 50/50 over 12 calls: both targets get some unless a 1-in-2,048 draw.
    let by = calls_by_media_port(&cfg, 12);
    assert_eq!(by.values().sum::<usize>(), 12, "{by:?}");
    assert!(
        by.get(&ma).is_some_and(|n| *n > 0) && by.get(&mb).is_some_and(|n| *n > 0),
        "equal-priority targets not shared: {by:?} (a media {ma}, b media {mb})"
    );
}

#[test]
fn a_name_that_dns_does_not_know_fails_the_call_with_a_dns_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dns_port = free_udp_port();
    let _dns = Dnsmasq::start(dns_port, &[]);
    let cfg = config(dir.path(), dns_port);
    let out = Command::new(env!("CARGO_BIN_EXE_orderline"))
        .args(["call", "--config"])
        .arg(&cfg)
        .arg("03001234567")
        .output()
        .expect("run orderline call");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("trunk.test"), "{text}");
}
