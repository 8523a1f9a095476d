//! Kamailio (Debian `kamailio` + `kamailio-tls-modules`) as the tests run it:
//! - fronting a TLS trunk (issue #14): its `tls` module faces orderline,
//!   plain UDP faces the carrier's side (a SIPp peer). The config is
//!   `tests/peers/kamailio_tls_front.cfg` with its ports filled in; every
//!   request it routes is logged with the transport it arrived on
//!   (`HOP <method> proto=<udp|tls>`);
//! - with `dispatcher` in front of several orderline nodes (issue #16):
//!   `tests/peers/kamailio_dispatcher.cfg`, logging each new request's node
//!   (`ROUTE <method> <call-id> to=<uri>`), retries (`RETRY …`) and probe
//!   verdicts (`NODE DOWN <uri>`, `NODE UP <uri>`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::test_pki::TestCa;
use super::{free_tcp_port, free_udp_port, require, REPO};

pub struct Kamailio {
    child: Child,
    /// Where orderline's TLS trunk points.
    pub tls_port: u16,
    /// Where the carrier's side (SIPp) sends and is sent from.
    pub udp_port: u16,
    log: PathBuf,
}

impl Kamailio {
    /// Start Kamailio under `dir` with a certificate of `ca` for 127.0.0.1,
    /// relaying requests that arrive over TLS to the carrier at
    /// 127.0.0.1:`carrier_port` (UDP), and the others to orderline's TLS
    /// listener at 127.0.0.1:`orderline_tls_port`. Returns once both of its
    /// sockets are open.
    pub fn start(dir: &Path, ca: &TestCa, carrier_port: u16, orderline_tls_port: u16) -> Kamailio {
        require("kamailio");
        let home = dir.join("kamailio");
        std::fs::create_dir_all(home.join("run")).expect("mkdir kamailio");
        let leaf = ca.leaf("kamailio");
        let tls_cfg = home.join("tls.cfg");
        // Server side (orderline connects): our leaf. Client side (Kamailio
        // connects to orderline's listener): verify orderline against the CA.
        std::fs::write(
            &tls_cfg,
            format!(
                "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n\
                 private_key = {key}\ncertificate = {cert}\nca_list = {ca}\n\n\
                 [client:default]\nmethod = TLSv1.2+\nverify_certificate = yes\nrequire_certificate = yes\n\
                 ca_list = {ca}\n",
                key = leaf.key.display(),
                cert = leaf.cert.display(),
                ca = ca.cert.display(),
            ),
        )
        .expect("write tls.cfg");
        let (udp_port, tls_port) = (free_udp_port(), free_tcp_port());
        let template =
            std::fs::read_to_string(Path::new(REPO).join("tests/peers/kamailio_tls_front.cfg"))
                .expect("read the Kamailio config template");
        let cfg = home.join("kamailio.cfg");
        std::fs::write(
            &cfg,
            template
                .replace("@UDP_PORT@", &udp_port.to_string())
                .replace("@TLS_PORT@", &tls_port.to_string())
                .replace("@TLS_CFG@", &tls_cfg.display().to_string())
                .replace("@CARRIER_PORT@", &carrier_port.to_string())
                .replace("@ORDERLINE_TLS_PORT@", &orderline_tls_port.to_string()),
        )
        .expect("write kamailio.cfg");
        let mut k = Kamailio::spawn(&home, &cfg, tls_port, udp_port);
        k.wait_listening();
        k
    }

    /// Start Kamailio under `dir` with `dispatcher` in front of orderline
    /// nodes listening on UDP at 127.0.0.1:`nodes` (set 1, probed every
    /// second). Returns once its UDP socket is open; callers send to
    /// `udp_port`.
    pub fn dispatcher(dir: &Path, nodes: &[u16]) -> Kamailio {
        require("kamailio");
        let home = dir.join("kamailio");
        std::fs::create_dir_all(home.join("run")).expect("mkdir kamailio");
        let list = home.join("dispatcher.list");
        let lines: String = nodes
            .iter()
            .map(|p| format!("1 sip:127.0.0.1:{p}\n"))
            .collect();
        std::fs::write(&list, lines).expect("write dispatcher.list");
        let udp_port = free_udp_port();
        let template =
            std::fs::read_to_string(Path::new(REPO).join("tests/peers/kamailio_dispatcher.cfg"))
                .expect("read the Kamailio dispatcher config");
        let cfg = home.join("kamailio.cfg");
        std::fs::write(
            &cfg,
            template
                .replace("@UDP_PORT@", &udp_port.to_string())
                .replace("@LIST@", &list.display().to_string()),
        )
        .expect("write kamailio.cfg");
        let mut k = Kamailio::spawn(&home, &cfg, 0, udp_port);
        k.wait_udp();
        k
    }

    fn spawn(home: &Path, cfg: &Path, tls_port: u16, udp_port: u16) -> Kamailio {
        let log = home.join("kamailio.log");
        let out = std::fs::File::create(&log).expect("kamailio log");
        // -DD: stay in the foreground (with its children); -E: log to stderr.
        let child = Command::new("kamailio")
            .arg("-f")
            .arg(cfg)
            .args(["-DD", "-E", "-m", "32", "-M", "4"])
            .arg("-Y")
            .arg(home.join("run"))
            .arg("-w")
            .arg(home)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("dup log"))
            .stderr(out)
            .spawn()
            .expect("start kamailio");
        Kamailio {
            child,
            tls_port,
            udp_port,
            log,
        }
    }

    /// Wait until the UDP port is bound (/proc/net/udp) and its workers
    /// are up.
    fn wait_udp(&mut self) {
        let local = format!("0100007F:{:04X}", self.udp_port);
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("kamailio exited ({status}):\n{}", self.logs());
            }
            let table = std::fs::read_to_string("/proc/net/udp").expect("read /proc/net/udp");
            if table
                .lines()
                .any(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
            {
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "kamailio did not bind UDP in 20 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Lines of its log containing `what`, from `what` on.
    pub fn lines_with(&self, what: &str) -> Vec<String> {
        self.logs()
            .lines()
            .filter_map(|l| l.find(what).map(|i| l[i..].to_string()))
            .collect()
    }

    /// Wait until the TLS port listens (/proc/net/tcp, state 0A), without
    /// connecting to it.
    fn wait_listening(&mut self) {
        let local = format!("0100007F:{:04X}", self.tls_port);
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "kamailio exited ({status}; its tls.so comes with the Debian package \
                     kamailio-tls-modules: run `bash scripts/install-deps`):\n{}",
                    self.logs()
                );
            }
            let table = std::fs::read_to_string("/proc/net/tcp").expect("read /proc/net/tcp");
            if table.lines().any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.get(1) == Some(&local.as_str()) && f.get(3) == Some(&"0A")
            }) {
                // Listening; its workers come up a moment after the socket.
                std::thread::sleep(Duration::from_millis(300));
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "kamailio did not listen for TLS in 20 s:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The `HOP` lines: each routed request with its arrival transport.
    pub fn hops(&self) -> Vec<String> {
        self.lines_with("HOP ")
    }
}

impl Drop for Kamailio {
    /// SIGTERM: the main process ends its workers (SIGKILL would orphan them).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
