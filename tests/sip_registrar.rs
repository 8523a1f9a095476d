//! The registrar with real phones (issue #10): baresip phones register with
//! digest (their own REGISTER, `auth_pass`), their bindings are stored, a
//! click-to-call rings the agent's phone through its binding, a second
//! contact is kept beside the first, SIGTERM unregisters (baresip sends
//! `Expires: 0`), a phone that stops refreshing lapses on time, bindings
//! survive a daemon restart, and a password guesser on 127.0.0.2 is blocked
//! while a real phone on 127.0.0.1 still registers and takes a call.

#[macro_use]
mod support;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use orderline::sip::digest::{authorize, parse_challenge, DigestRequest};
use orderline::store::StoredBinding;
use support::http::json;
use support::*;

const MERCHANT: &str = "merchant-token-reg-5d1e7a";
const AGENT: &str = "ayesha";
const USER: &str = "1001";
const PASSWORD: &str = "phone-pass-7f3a9c";

struct Desk {
    dir: tempfile::TempDir,
    daemon: Daemon,
    http: SocketAddr,
    customer: Child,
    trunk: u16,
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = self.customer.kill();
        let _ = self.customer.wait();
    }
}

/// `orderline serve` with agent `ayesha` registering as 1001, short expiry
/// bounds (2–60 s) and `registrar` extra keys.
fn desk(registrar: &str) -> Desk {
    let dir = tempfile::tempdir().expect("tempdir");
    let trunk = free_udp_port();
    let customer = registering::customer(trunk);
    let http: SocketAddr = ([127, 0, 0, 1], free_tcp_port()).into();
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{MERCHANT}\"]\n\n\
         [[agents]]\nid = \"{AGENT}\"\nname = \"Ayesha Khan\"\nsip_user = \"{USER}\"\nsip_password = \"{PASSWORD}\"\n\n\
         [sip.registrar]\nmin_expires = 2\nmax_expires = 60\ndefault_expires = 60\n{registrar}\n"
    );
    let daemon = Daemon::start_with(dir.path(), trunk, &tail, |_| {});
    Desk {
        dir,
        daemon,
        http,
        customer,
        trunk,
    }
}

impl Desk {
    /// A baresip phone registering as 1001, speaking a tone for the call.
    fn phone(&self, name: &str, regint: u32) -> Baresip {
        let src = self.dir.path().join(format!("{name}.wav"));
        write_wav(&src, &support::keypad::tone_audio(3.0, 1000.0, 2300.0));
        Baresip::registering(
            self.dir.path(),
            name,
            USER,
            PASSWORD,
            self.daemon.port,
            regint,
            &src,
            120,
        )
    }

    /// Wait until the stored bindings satisfy `ok`.
    fn wait_bindings(
        &self,
        what: &str,
        limit: Duration,
        ok: impl Fn(&[StoredBinding]) -> bool,
    ) -> Vec<StoredBinding> {
        registering::wait_bindings(self.dir.path(), what, limit, || self.daemon.logs(), ok)
    }

    /// Click-to-call; returns the call id.
    fn dial(&self) -> (u16, serde_json::Value) {
        json(
            self.http,
            "POST",
            "/v1/calls",
            MERCHANT,
            Some(&format!(r#"{{"agent":"{AGENT}","to":"923001234567"}}"#)),
        )
    }

    /// Click-to-call and wait for `phone` to answer it.
    fn call_reaches(&self, phone: &Baresip) {
        registering::call_reaches(self.http, MERCHANT, AGENT, phone, || self.daemon.logs());
        let _ = self.trunk;
    }
}

fn sigterm(phone: &Baresip) {
    let st = Command::new("kill")
        .args(["-TERM", &phone.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success());
}

#[test]
fn baresip_registers_with_digest_is_called_through_its_binding_and_unregisters() {
    let desk = desk("");
    let mut a = desk.phone("phone-a", 60);
    let b1 = desk.wait_bindings("phone A registers", Duration::from_secs(10), |b| {
        b.len() == 1
    });
    assert_eq!(b1[0].agent_id, AGENT);
    assert!(b1[0].contact.contains(&format!(":{}", a.port)), "{b1:?}");
    assert_eq!(b1[0].source, format!("127.0.0.1:{}", a.port));
    let logs = desk.daemon.logs();
    assert!(
        logs.contains("401") || a.logs().contains("401"),
        "no digest challenge seen"
    );

    // The API shows the binding.
    let (st, agents) = json(desk.http, "GET", "/v1/agents", MERCHANT, None);
    assert_eq!(st, 200, "{agents}");
    let regs = &agents["agents"][0]["registrations"];
    assert_eq!(regs.as_array().map(Vec::len), Some(1), "{agents}");
    assert_eq!(
        regs[0]["source"],
        format!("127.0.0.1:{}", a.port),
        "{agents}"
    );
    assert!(
        regs[0]["expires_in"]
            .as_u64()
            .is_some_and(|s| s > 50 && s <= 60),
        "{agents}"
    );

    // Click-to-call rings the registered phone (it auto-answers).
    desk.call_reaches(&a);

    // A second contact for the same agent: both bindings are kept, and the
    // most recent one is rung.
    let mut b = desk.phone("phone-b", 60);
    let two = desk.wait_bindings("phone B registers", Duration::from_secs(10), |b| {
        b.len() == 2
    });
    assert!(two.iter().all(|x| x.agent_id == AGENT));
    std::thread::sleep(Duration::from_secs(4));
    desk.call_reaches(&b);

    // SIGTERM: baresip unregisters (Expires: 0) and its binding goes.
    sigterm(&b);
    assert!(b.wait_exit(Duration::from_secs(10)));
    let left = desk.wait_bindings("phone B unregisters", Duration::from_secs(10), |b| {
        b.len() == 1
    });
    assert!(left[0].contact.contains(&format!(":{}", a.port)));
    sigterm(&a);
    assert!(a.wait_exit(Duration::from_secs(10)));
    desk.wait_bindings("phone A unregisters", Duration::from_secs(10), |b| {
        b.is_empty()
    });

    // No binding: click-to-call is refused rather than ringing nobody.
    let (st, v) = desk.dial();
    assert_eq!(st, 503, "{v}");
    assert!(v.to_string().contains("not registered"), "{v}");
}

#[test]
fn a_phone_that_stops_refreshing_lapses_on_time() {
    let desk = desk("");
    let mut phone = desk.phone("short", 3);
    let b = desk.wait_bindings("phone registers", Duration::from_secs(10), |b| b.len() == 1);
    let granted_ms = b[0].expires_at - b[0].updated_at;
    assert!(
        (2_000..=3_000).contains(&granted_ms),
        "granted {granted_ms} ms"
    );
    // kill -9: no unregister; the binding must lapse by itself.
    let _ = phone.child.kill();
    let _ = phone.child.wait();
    let t0 = Instant::now();
    desk.wait_bindings("binding lapses", Duration::from_secs(10), |b| b.is_empty());
    eprintln!(
        "binding gone {} ms after the phone died",
        t0.elapsed().as_millis()
    );
    let (st, _) = desk.dial();
    assert_eq!(st, 503);
}

#[test]
fn bindings_survive_a_daemon_restart() {
    let mut desk = desk("");
    let phone = desk.phone("phone", 60);
    desk.wait_bindings("phone registers", Duration::from_secs(10), |b| b.len() == 1);
    let registers = |p: &Baresip| p.logs().matches("200 OK").count();
    let before = registers(&phone);
    // kill -9 and start again on the same config and database.
    desk.daemon.kill9();
    let (cfg, port, log) = (
        desk.daemon.config.clone(),
        desk.daemon.port,
        desk.daemon.log.clone(),
    );
    desk.daemon = Daemon::spawn(&cfg, port, &log);
    // The phone has not registered again (regint 60), yet it is reached.
    desk.call_reaches(&phone);
    assert_eq!(
        registers(&phone),
        before,
        "the phone registered again; the test proves nothing"
    );
    assert!(
        desk.daemon.logs().contains("restored=1"),
        "{}",
        desk.daemon.logs()
    );
}

/// A REGISTER for 1001 from `sock`, with `auth` if given.
/// The Authorization value answering the 401 `challenge` with `password`.
fn digest_answer(challenge: &str, port: u16, password: &str) -> String {
    let www = challenge
        .lines()
        .find_map(|l| l.strip_prefix("WWW-Authenticate: "))
        .expect("a challenge");
    let ch = parse_challenge(www).expect("challenge parses");
    let uri = format!("sip:127.0.0.1:{port}");
    authorize(
        &ch,
        &DigestRequest {
            method: "REGISTER",
            uri: &uri,
            username: USER,
            password,
            cnonce: "abc",
            nc: 1,
            body: b"",
        },
    )
    .expect("authorize")
}

fn register(sock: &UdpSocket, to: u16, cseq: u32, auth: Option<&str>) -> String {
    let me = sock.local_addr().expect("addr");
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let msg = format!(
        "REGISTER sip:127.0.0.1:{to} SIP/2.0\r\nVia: SIP/2.0/UDP {me};rport;branch=z9hG4bKguess{cseq}\r\n\
         Max-Forwards: 70\r\nFrom: <sip:{USER}@127.0.0.1>;tag=g1\r\nTo: <sip:{USER}@127.0.0.1>\r\n\
         Call-ID: guess@{me}\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:{USER}@{me}>\r\nExpires: 60\r\n\
         {auth}Content-Length: 0\r\n\r\n"
    );
    sock.send_to(msg.as_bytes(), ("127.0.0.1", to))
        .expect("send");
    let mut buf = [0u8; 4096];
    let (n, _) = sock.recv_from(&mut buf).expect("an answer");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

#[test]
fn a_password_guesser_is_blocked_while_a_real_phone_registers_and_takes_a_call() {
    let desk = desk("max_auth_failures = 5\nauth_failure_window = \"1m\"\nblock_for = \"10m\"\n");
    let port = desk.daemon.port;
    let sock = UdpSocket::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let t0 = Instant::now();
    let mut statuses = Vec::new();
    for (i, guess) in [
        "123456", "password", "1001", "letmein", "qwerty", "dragon", "monkey", "000000",
    ]
    .iter()
    .enumerate()
    {
        let cseq = 2 * i as u32 + 1;
        let first = register(&sock, port, cseq, None);
        let status = first.split_whitespace().nth(1).unwrap_or("").to_string();
        if status != "401" {
            statuses.push(status);
            continue;
        }
        let auth = digest_answer(&first, port, guess);
        let answer = register(&sock, port, cseq + 1, Some(&auth));
        statuses.push(answer.split_whitespace().nth(1).unwrap_or("").to_string());
    }
    eprintln!(
        "guesser's answers: {statuses:?} in {} ms",
        t0.elapsed().as_millis()
    );
    // Five failures are answered like any wrong password; from then on, 403
    // without a challenge.
    assert_eq!(&statuses[..5], ["401"; 5], "{statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| s == "403"),
        "not blocked: {statuses:?}"
    );
    // Even the right password from there is refused now.
    let blocked = register(&sock, port, 100, None);
    assert!(blocked.starts_with("SIP/2.0 403"), "{blocked}");

    // A real phone from 127.0.0.1 registers and takes a call.
    let phone = desk.phone("real", 60);
    desk.wait_bindings("the real phone registers", Duration::from_secs(10), |b| {
        b.len() == 1
    });
    desk.call_reaches(&phone);
}

/// Over TCP, through the driver alone: a double-CRLF ping gets a CRLF pong
/// (RFC 5626 §4.4.1) and a REGISTER on the same connection is challenged
/// on it; an OPTIONS (a phone's keep-alive) is answered 200.
#[tokio::test]
async fn tcp_keepalive_ping_gets_a_pong_and_register_is_answered_on_the_connection() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let sip = driver_with_registrar(Default::default()).await;
    let port = sip.local_addr().port();
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let me = tcp.local_addr().expect("addr");
    async fn read(tcp: &mut tokio::net::TcpStream) -> String {
        let mut buf = vec![0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    tcp.write_all(b"\r\n\r\n").await.expect("ping");
    assert_eq!(read(&mut tcp).await, "\r\n", "no pong");
    let register = format!(
        "REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP {me};rport;branch=z9hG4bKtcp1\r\nMax-Forwards: 70\r\n\
         From: <sip:{USER}@127.0.0.1>;tag=t1\r\nTo: <sip:{USER}@127.0.0.1>\r\nCall-ID: tcp-reg@test\r\n\
         CSeq: 1 REGISTER\r\nContact: <sip:{USER}@{me};transport=tcp>\r\nContent-Length: 0\r\n\r\n"
    );
    tcp.write_all(register.as_bytes()).await.expect("register");
    let answer = read(&mut tcp).await;
    assert!(answer.starts_with("SIP/2.0 401"), "{answer}");
    assert!(
        answer.contains("algorithm=MD5") && answer.contains("qop=\"auth\""),
        "{answer}"
    );
    let options = format!(
        "OPTIONS sip:{USER}@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/TCP {me};rport;branch=z9hG4bKtcp2\r\nMax-Forwards: 70\r\n\
         From: <sip:{USER}@127.0.0.1>;tag=t2\r\nTo: <sip:{USER}@127.0.0.1>\r\nCall-ID: tcp-opt@test\r\n\
         CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    );
    tcp.write_all(options.as_bytes()).await.expect("options");
    let answer = read(&mut tcp).await;
    assert!(answer.starts_with("SIP/2.0 200"), "{answer}");
    sip.shutdown().await;
}

/// Issue #14, through the driver: with no trunk network to take calls from,
/// a phone's INVITE is refused 403 until the phone registers; from the
/// source of its live binding, the same INVITE becomes an inbound call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_registered_phone_may_call_in() {
    use orderline::sip::admission::AdmissionConfig;

    let mut sip = driver_with_registrar(AdmissionConfig {
        inbound_from: Some(Vec::new()),
        ..Default::default()
    })
    .await;
    let port = sip.local_addr().port();
    let sock = UdpSocket::bind("127.0.0.7:0").expect("bind 127.0.0.7");
    sock.set_read_timeout(Some(Duration::from_secs(3)))
        .expect("timeout");
    let me = sock.local_addr().expect("addr");
    let invite = |n: u32| {
        let msg = format!(
            "INVITE sip:orders@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP {me};rport;branch=z9hG4bKin{n}\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{USER}@127.0.0.1>;tag=i{n}\r\nTo: <sip:orders@127.0.0.1>\r\n\
             Call-ID: in{n}@{me}\r\nCSeq: 1 INVITE\r\nContact: <sip:{USER}@{me}>\r\nContent-Length: 0\r\n\r\n"
        );
        sock.send_to(msg.as_bytes(), ("127.0.0.1", port))
            .expect("send");
        let mut buf = [0u8; 4096];
        let (n, _) = sock.recv_from(&mut buf).expect("an answer");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let before = invite(1);
    assert!(before.starts_with("SIP/2.0 403"), "{before}");

    let first = register(&sock, port, 1, None);
    let auth = digest_answer(&first, port, PASSWORD);
    let ok = register(&sock, port, 2, Some(&auth));
    assert!(ok.starts_with("SIP/2.0 200"), "{ok}");

    let after = invite(2);
    assert!(after.starts_with("SIP/2.0 100"), "{after}");
    let (_, incoming, _) = tokio::time::timeout(Duration::from_secs(5), sip.next_incoming())
        .await
        .expect("the call reaches the application")
        .expect("driver running");
    assert_eq!(incoming.source, me);
    assert_eq!(sip.client().admission_counts().forbidden, 1);
    sip.shutdown().await;
}

/// The SIP driver alone on an ephemeral port with `admission`, its
/// registrar holding the test agent's account.
async fn driver_with_registrar(
    admission: orderline::sip::admission::AdmissionConfig,
) -> orderline::sip::SipHandle {
    use orderline::sip::registrar::{Account, Registrar, RegistrarConfig};
    use orderline::sip::{EndpointConfig, RegistrarLink, SipHandle};
    use std::sync::{Arc, Mutex};
    let sip = SipHandle::bind(EndpointConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        admission,
        ..Default::default()
    })
    .await
    .expect("bind");
    let cfg = RegistrarConfig::default();
    let accounts = vec![Account::from_password(AGENT, USER, &cfg.domain, PASSWORD)];
    let link = RegistrarLink {
        registrar: Arc::new(Mutex::new(Registrar::new(cfg, accounts, [3; 32]))),
        changed: Arc::new(tokio::sync::Notify::new()),
        clock: orderline::clock::Clock::system(),
    };
    sip.client().attach_registrar(link).await.expect("attach");
    sip
}
