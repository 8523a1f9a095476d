//! SIP over TLS against a real peer (issue #14): baresip 1.0 with a
//! certificate from a CA made at test time (`support::test_pki`), both
//! directions, with peer verification on.
//!
//! - a robo-call through a `transport = "tls"` trunk: baresip answers over
//!   TLS and its key press is heard (the call's whole path, config to RTP);
//! - the same trunk trusting another CA: the handshake is refused and no
//!   INVITE reaches the phone, until `verify = false` says otherwise;
//! - baresip dials our TLS listener: we answer, then hang up over TLS to
//!   the phone's own TLS listener (its Contact), verifying its certificate;
//! - an agent's phone registers over TLS (digest) and is rung back over
//!   the very connection it registered on (the binding says `tls`).

#[macro_use]
mod support;

use std::time::Duration;

use orderline::config::TlsSection;
use orderline::sip::{EndpointConfig, SipCommand, SipEvent, SipHandle, SipTls};
use support::test_pki::TestCa;
use support::tls_rig::*;
use support::*;

const ARGS: [&str; 4] = ["--amount", "5", "--currency", "USD"];

#[test]
fn a_robo_call_over_a_tls_trunk_is_answered_and_hears_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, phone) = tls_callee(dir.path(), "", 40);
    phone.hang_up_after(8.0, 40);
    let cfg = tls_trunk_config(dir.path(), &phone, "", &ca.cert, true);
    let target = tls_target(&phone);
    let (r, out) = orderline_call(&cfg, &target, &ARGS);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(r["outcome"], "confirmed", "{r}\n{stderr}");
    assert_eq!(r["digits"], "1", "{r}");
    // baresip's trace: our INVITE came over TLS and names our TLS port.
    let log = phone.logs();
    assert!(
        log.contains("INVITE sip:callee@127.0.0.1") && log.contains("Via: SIP/2.0/TLS 127.0.0.1"),
        "baresip did not log a TLS INVITE:\n{log}"
    );
}

#[test]
fn a_trunk_certificate_from_another_ca_is_refused_unless_verify_is_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, phone) = tls_callee(dir.path(), "", 60);
    let stranger = TestCa::new(dir.path(), "stranger");
    let target = tls_target(&phone);

    // Trusting only the stranger CA: the phone's certificate does not verify.
    let refused = dir.path().join("refused");
    std::fs::create_dir_all(&refused).expect("mkdir");
    let cfg = tls_trunk_config(&refused, &phone, "", &stranger.cert, true);
    // The trunk never took the call: `orderline call` reports it and fails.
    let out = orderline_call_raw(&cfg, &target);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("TLS connection failed") && stderr.contains("UnknownIssuer"),
        "no certificate error logged:\n{stderr}"
    );
    assert!(
        !phone.logs().contains("INVITE sip:callee"),
        "an INVITE reached the phone over an unverified connection"
    );

    // `verify = false` (a lab's explicit choice) takes any certificate, warning.
    let lax = dir.path().join("lax");
    std::fs::create_dir_all(&lax).expect("mkdir");
    phone.hang_up_after(8.0, 50);
    let cfg = tls_trunk_config(&lax, &phone, "", &stranger.cert, false);
    let (r, out) = orderline_call(&cfg, &target, &ARGS);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(r["outcome"], "confirmed", "{r}\n{stderr}");
    assert!(
        stderr.contains("NOT authenticated"),
        "verify = false gave no warning:\n{stderr}"
    );
}

const OFFER: &[u8] = b"v=0\r\no=orderline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

async fn next(rx: &mut tokio::sync::mpsc::Receiver<SipEvent>) -> SipEvent {
    match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
        Ok(Some(e)) => e,
        other => panic!("no SIP event: {other:?}"),
    }
}

/// The SIP driver alone with a TLS listener on an ephemeral port, presenting
/// a certificate of `ca` and trusting `ca`: the handle and the TLS port.
async fn tls_driver(ca: &TestCa, seed: u64) -> (SipHandle, u16) {
    let ours = ca.leaf("orderline");
    let section = TlsSection {
        listen: Some("127.0.0.1:0".parse().expect("addr")),
        certificate: Some(ours.cert.clone()),
        key: Some(ours.key.clone()),
        ca_file: Some(ca.cert.clone()),
        verify: true,
    };
    section.check().expect("a valid [sip.tls]");
    let tls = SipTls::from_config(Some(&section)).expect("tls setup");
    let h = SipHandle::bind_tls(
        EndpointConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            seed,
            ..Default::default()
        },
        tls,
    )
    .await
    .expect("bind");
    let port = h.tls_port().expect("a TLS listener");
    assert_ne!(port, h.local_addr().port());
    (h, port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_calls_our_tls_listener_and_we_hang_up_over_tls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let theirs = ca.leaf("phone");
    let (mut h, tls_port) = tls_driver(&ca, 11).await;

    let src = keypress_source(dir.path());
    let dial = format!("/dial sip:orderline@127.0.0.1:{tls_port};transport=tls");
    let mut phone = Baresip::tls_phone(
        dir.path(),
        "caller",
        &src,
        60,
        &theirs.combined,
        &ca.cert,
        "",
        &[dial],
    );
    let (id, incoming, mut events) =
        match tokio::time::timeout(Duration::from_secs(60), h.next_incoming()).await {
            Ok(Some(c)) => c,
            other => panic!("no INVITE over TLS ({other:?}):\n{}", phone.logs()),
        };
    assert!(
        incoming.request_uri.contains("transport=tls"),
        "{incoming:?}"
    );
    assert_ne!(
        incoming.source.port(),
        phone.port,
        "the INVITE came over a TLS connection, not baresip's UDP port"
    );
    h.command(SipCommand::Answer {
        call: id,
        sdp: OFFER.to_vec(),
    })
    .await
    .expect("answer");
    match next(&mut events).await {
        SipEvent::Answered { .. } => {}
        other => panic!("expected the ACK, got {other:?}"),
    }
    // Our BYE goes to the phone's Contact (its TLS listener on port + 1),
    // over a new connection that verifies the phone's certificate.
    h.command(SipCommand::Bye(id)).await.expect("bye");
    match next(&mut events).await {
        SipEvent::Ended { by_remote: false } => {}
        other => panic!("expected our BYE answered, got {other:?}"),
    }
    let log = phone.logs();
    let ack_or_bye = log.matches("BYE sip:caller").count();
    assert!(ack_or_bye >= 1, "baresip never got our BYE:\n{log}");
    assert!(
        log.contains(&format!("Via: SIP/2.0/TLS 127.0.0.1:{tls_port}")),
        "our requests did not name our TLS port:\n{log}"
    );
    let _ = phone.child.kill();
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_registers_over_tls_and_is_rung_back_on_its_connection() {
    use orderline::sip::registrar::{Account, Registrar, RegistrarConfig};
    use orderline::sip::{OutboundCall, RegistrarLink, Transport};
    use std::sync::{Arc, Mutex};
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let theirs = ca.leaf("phone");
    let (h, tls_port) = tls_driver(&ca, 12).await;
    let cfg = RegistrarConfig::default();
    let accounts = vec![Account::from_password(
        "ayesha",
        "1001",
        &cfg.domain,
        "phone-pass-7f3a9c",
    )];
    let link = RegistrarLink {
        registrar: Arc::new(Mutex::new(Registrar::new(cfg, accounts, [5; 32]))),
        changed: Arc::new(tokio::sync::Notify::new()),
        clock: orderline::clock::Clock::system(),
    };
    h.client()
        .attach_registrar(link.clone())
        .await
        .expect("attach");

    let src = keypress_source(dir.path());
    // The phone registers with our registrar over TLS (digest, RFC 3261 §10).
    let account = format!(
        "<sip:1001@127.0.0.1:{tls_port};transport=tls>;auth_pass=phone-pass-7f3a9c;\
         regint=60;answermode=auto;audio_codecs=PCMU\n"
    );
    let phone = Baresip::tls_phone_with_account(
        dir.path(),
        "1001",
        &src,
        60,
        (&theirs.combined, &ca.cert),
        &account,
        &[],
    );
    let target = {
        let t0 = std::time::Instant::now();
        loop {
            let now = link.unix_ms();
            if let Some(Some(uri)) =
                orderline::daemon::registrations::agent_target(&link, "ayesha", now)
            {
                break uri;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "no TLS registration:\n{}",
                phone.logs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    assert!(target.ends_with(";transport=tls"), "{target}");
    let (call, mut events) = h
        .invite(OutboundCall {
            request_uri: target.clone(),
            from_user: "orderline".into(),
            to_user: "1001".into(),
            sdp_offer: OFFER.to_vec(),
            credentials: None,
            outbound_proxy: None,
            transport: Transport::Tls,
        })
        .await
        .expect("invite");
    loop {
        match next(&mut events).await {
            SipEvent::Answered { .. } => break,
            SipEvent::Progress { .. } => continue,
            other => panic!(
                "expected the phone to answer {target}, got {other:?}:\n{}",
                phone.logs()
            ),
        }
    }
    h.command(SipCommand::Bye(call)).await.expect("bye");
    let _ = next(&mut events).await;
    // baresip's trace: the INVITE came from our TLS listener's side of the
    // connection the REGISTER opened (no new connection to the phone).
    let log = phone.logs();
    let port = target
        .split(':')
        .nth(2)
        .and_then(|p| p.split(';').next())
        .expect("the binding's port");
    assert!(
        log.contains(&format!(
            "TLS 127.0.0.1:{tls_port} -> 127.0.0.1:{port}\nINVITE sip:1001"
        )),
        "{log}"
    );
    let mut phone = phone;
    let _ = phone.child.kill();
    h.shutdown().await;
}
