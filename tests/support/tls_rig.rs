//! The TLS/SRTP real-peer rig (issue #14): a test CA, baresip as a callee
//! over TLS that keys `1` three seconds after answering, and the config of
//! a `transport = "tls"` trunk pointing at it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::test_pki::{Leaf, TestCa};
use super::{free_udp_port, keypress_audio, write_config_with, write_wav, Baresip};

/// Wait (60 s at most) until baresip listens for TLS (its SIP port + 1), as
/// /proc/net/tcp lists it (state 0A), without connecting to it.
pub fn tls_listening(phone: &mut Baresip) {
    let local = format!("0100007F:{:04X}", phone.tls_port());
    let t0 = std::time::Instant::now();
    loop {
        if let Ok(Some(status)) = phone.child.try_wait() {
            panic!("baresip exited ({status}) before it listened for TLS");
        }
        let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
        if table.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")
        }) {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "baresip did not listen for TLS in 60 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Audio of a callee who keys `1` three seconds after answering.
pub fn keypress_source(dir: &Path) -> PathBuf {
    let src = dir.join("callee.wav");
    write_wav(&src, &keypress_audio(&[(3.0, '1', 0.12)], 8.0));
    src
}

/// A CA, and baresip answering over TLS with a certificate it signed
/// (`account_params` e.g. `;mediaenc=srtp-mand`), listening, hanging up
/// 8 s after answering.
pub fn tls_callee(dir: &Path, account_params: &str, run_secs: u32) -> (TestCa, Baresip) {
    let ca = TestCa::new(dir, "lab");
    let leaf = ca.leaf("phone");
    let src = keypress_source(dir);
    let mut phone = Baresip::tls_phone(
        dir,
        "callee",
        &src,
        run_secs,
        &leaf.combined,
        &ca.cert,
        account_params,
        &[],
    );
    tls_listening(&mut phone);
    (ca, phone)
}

/// The config of a TLS trunk to `phone` (`trunk_extra`: more trunk keys),
/// trusting `ca_file`, under `dir`.
pub fn tls_trunk_config(
    dir: &Path,
    phone: &Baresip,
    trunk_extra: &str,
    ca_file: &Path,
    verify: bool,
) -> PathBuf {
    write_config_with(
        dir,
        free_udp_port(),
        phone.tls_port(),
        &format!("transport = \"tls\"\n{trunk_extra}"),
        &format!(
            "[sip.tls]\nca_file = \"{}\"\nverify = {verify}\n",
            ca_file.display()
        ),
    )
}

/// `sip:callee@127.0.0.1:<TLS port>`.
pub fn tls_target(phone: &Baresip) -> String {
    format!("sip:callee@127.0.0.1:{}", phone.tls_port())
}

/// `orderline call` that may fail (no JSON line then): its output.
pub fn orderline_call_raw(cfg: &Path, target: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_orderline"))
        .args(["call", "--config"])
        .arg(cfg)
        .arg(target)
        .args(["--amount", "5", "--currency", "USD"])
        .output()
        .expect("run orderline call")
}

/// `[sip.tls]` with a listener on 127.0.0.1:`port` presenting `ours`, and
/// `ca` as the trust anchor.
pub fn tls_listener_section(port: u16, ours: &Leaf, ca: &Path) -> String {
    format!(
        "[sip.tls]\nlisten = \"127.0.0.1:{port}\"\ncertificate = \"{}\"\nkey = \"{}\"\nca_file = \"{}\"\n",
        ours.cert.display(),
        ours.key.display(),
        ca.display()
    )
}
