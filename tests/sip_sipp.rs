//! Real peers over 127.0.0.1: SIPp (package sip-tester) as callee and caller
//! of the tokio driver, and the RFC 4475 messages sent over UDP to it.
//! A missing `sipp` binary fails the tests with a clear message.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use orderline::sip::{
    CallRef, Credentials, EndpointConfig, OutboundCall, SipCommand, SipEvent, SipHandle, Transport,
};
use tokio::sync::mpsc;

#[macro_use]
mod support;
use support::peers::free_port;

const OFFER: &[u8] = b"v=0\r\no=orderline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

fn scenario(name: &str) -> String {
    let p: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "scenarios", name]
        .iter()
        .collect();
    p.to_string_lossy().into_owned()
}

/// Start sipp with `args`; panics with an install hint if it is missing.
fn sipp(args: &[&str]) -> Child {
    let mut cmd = Command::new("sipp");
    cmd.args(args)
        .args(["-nostdin", "-timeout", "30s", "-timeout_error"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    match cmd.spawn() {
        Ok(c) => c,
        Err(e) => panic!("cannot start `sipp` ({e}): install SIPp (Debian package sip-tester) to run these tests"),
    }
}

/// Wait for sipp to exit (bounded) and return its exit code.
async fn sipp_exit(mut child: Child) -> i32 {
    for _ in 0..400 {
        if let Ok(Some(st)) = child.try_wait() {
            if !st.success() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut e, &mut err);
                }
                eprintln!("sipp stderr: {err}");
            }
            return st.code().unwrap_or(-1);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("sipp did not exit within 40 s");
}

async fn driver(t1_ms: u64) -> SipHandle {
    let cfg = EndpointConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        t1: Duration::from_millis(t1_ms),
        seed: 42,
        ..Default::default()
    };
    SipHandle::bind(cfg).await.expect("bind driver")
}

fn call_to(port: u16, transport: Transport, credentials: Option<Credentials>) -> OutboundCall {
    OutboundCall {
        request_uri: format!("sip:0300111222@127.0.0.1:{port}"),
        from_user: "orderline".into(),
        to_user: "0300111222".into(),
        sdp_offer: OFFER.to_vec(),
        credentials,
        outbound_proxy: None,
        transport,
    }
}

async fn next(rx: &mut mpsc::Receiver<SipEvent>) -> SipEvent {
    match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
        Ok(Some(e)) => e,
        Ok(None) => panic!("event channel closed"),
        Err(_) => panic!("no SIP event within 15 s"),
    }
}

/// Skip Progress events; return the first other one.
async fn final_event(rx: &mut mpsc::Receiver<SipEvent>) -> SipEvent {
    loop {
        match next(rx).await {
            SipEvent::Progress { .. } => continue,
            e => return e,
        }
    }
}

async fn outbound_call_answered_then_bye(h: &SipHandle, transport: Transport) {
    let port = free_port();
    let p = port.to_string();
    let t = if transport == Transport::Tcp {
        "t1"
    } else {
        "u1"
    };
    let child = sipp(&[
        "-sn",
        "uas",
        "-i",
        "127.0.0.1",
        "-p",
        &p,
        "-m",
        "1",
        "-t",
        t,
    ]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (id, mut rx) = h
        .invite(call_to(port, transport, None))
        .await
        .expect("invite");
    match final_event(&mut rx).await {
        SipEvent::Answered { status: 200, sdp } => {
            assert!(String::from_utf8_lossy(&sdp).contains("m=audio"))
        }
        e => panic!("expected Answered, got {e:?}"),
    }
    h.command(SipCommand::Bye(id)).await.expect("bye");
    assert_eq!(next(&mut rx).await, SipEvent::Ended { by_remote: false });
    assert_eq!(sipp_exit(child).await, 0, "sipp uas saw a complete call");
}

#[tokio::test]
async fn outbound_call_to_sipp_uas_udp() {
    let h = driver(500).await;
    outbound_call_answered_then_bye(&h, Transport::Udp).await;
    h.shutdown().await;
}

#[tokio::test]
async fn outbound_call_to_sipp_uas_tcp() {
    let h = driver(500).await;
    outbound_call_answered_then_bye(&h, Transport::Tcp).await;
    h.shutdown().await;
}

#[tokio::test]
async fn busy_callee_fails_486() {
    let h = driver(500).await;
    let port = free_port();
    let child = sipp(&[
        "-sf",
        &scenario("uas_busy.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        "1",
    ]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, mut rx) = h.invite(call_to(port, Transport::Udp, None)).await.unwrap();
    match final_event(&mut rx).await {
        SipEvent::Failed { status: 486, .. } => {}
        e => panic!("expected Failed 486, got {e:?}"),
    }
    assert_eq!(sipp_exit(child).await, 0, "sipp got its ACK");
}

#[tokio::test]
async fn ringing_callee_is_cancelled_487() {
    let h = driver(500).await;
    let port = free_port();
    let child = sipp(&[
        "-sf",
        &scenario("uas_ring_cancel.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        "1",
    ]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (id, mut rx) = h.invite(call_to(port, Transport::Udp, None)).await.unwrap();
    loop {
        if let SipEvent::Progress { status: 180, .. } = next(&mut rx).await {
            break;
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await; // the "no answer" time, test-short
    h.command(SipCommand::Cancel(id)).await.unwrap();
    match final_event(&mut rx).await {
        SipEvent::Failed { status: 487, .. } => {}
        e => panic!("expected Failed 487, got {e:?}"),
    }
    assert_eq!(
        sipp_exit(child).await,
        0,
        "sipp saw CANCEL and the ACK for 487"
    );
}

#[tokio::test]
async fn digest_challenge_is_answered() {
    let h = driver(500).await;
    let port = free_port();
    let child = sipp(&[
        "-sf",
        &scenario("uas_auth.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        "1",
    ]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let creds = Credentials {
        username: "shop".into(),
        password: "s3cret".into(),
    };
    let (id, mut rx) = h
        .invite(call_to(port, Transport::Udp, Some(creds)))
        .await
        .unwrap();
    match final_event(&mut rx).await {
        SipEvent::Answered { status: 200, .. } => {}
        e => panic!("expected Answered after 401 (SIPp verifyauth), got {e:?}"),
    }
    h.command(SipCommand::Bye(id)).await.unwrap();
    assert_eq!(next(&mut rx).await, SipEvent::Ended { by_remote: false });
    assert_eq!(
        sipp_exit(child).await,
        0,
        "SIPp verifyauth accepted our MD5 response"
    );
}

/// An application task answering every inbound call; reports what it saw.
fn answering_app(
    mut h: SipHandle,
) -> (
    tokio::task::JoinHandle<Vec<SipEvent>>,
    orderline::sip::SipClient,
) {
    let client = h.client();
    let task = tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut live: Vec<(CallRef, mpsc::Receiver<SipEvent>)> = Vec::new();
        loop {
            tokio::select! {
                inc = h.next_incoming() => match inc {
                    Some((id, call, rx)) => {
                        if call.sdp.is_empty() {
                            let _ = h.command(SipCommand::Reject { call: id, status: 488 }).await;
                        } else {
                            let _ = h.command(SipCommand::Ringing(id)).await;
                            let _ = h.command(SipCommand::Answer { call: id, sdp: OFFER.to_vec() }).await;
                        }
                        live.push((id, rx));
                    }
                    None => return seen,
                },
                _ = tokio::time::sleep(Duration::from_millis(20)) => {
                    for (_, rx) in live.iter_mut() {
                        while let Ok(e) = rx.try_recv() {
                            seen.push(e);
                        }
                    }
                    if seen.iter().any(|e| matches!(e, SipEvent::Ended { by_remote: true })) {
                        return seen;
                    }
                }
            }
        }
    });
    (task, client)
}

async fn sipp_calls_us(extra: &[&str]) -> Vec<SipEvent> {
    let h = driver(500).await;
    let target = h.local_addr().to_string();
    let (app, client) = answering_app(h);
    let port = free_port();
    let p = port.to_string();
    let mut args = vec![
        target.as_str(),
        "-i",
        "127.0.0.1",
        "-p",
        &p,
        "-m",
        "1",
        "-s",
        "0300999",
    ];
    args.extend_from_slice(extra);
    let child = sipp(&args);
    assert_eq!(
        sipp_exit(child).await,
        0,
        "sipp {extra:?}: every step of the call succeeded"
    );
    let seen = tokio::time::timeout(Duration::from_secs(5), app)
        .await
        .expect("app ended")
        .expect("app task");
    assert!(
        seen.iter().any(|e| matches!(e, SipEvent::Answered { .. })),
        "ACK seen: {seen:?}"
    );
    assert!(
        seen.contains(&SipEvent::Ended { by_remote: true }),
        "{seen:?}"
    );
    client.shutdown().await;
    seen
}

#[tokio::test]
async fn sipp_uac_calls_us_udp() {
    sipp_calls_us(&["-sn", "uac", "-d", "200"]).await;
}

#[tokio::test]
async fn sipp_uac_calls_us_tcp() {
    sipp_calls_us(&["-sn", "uac", "-d", "200", "-t", "t1"]).await;
}

/// SIPp re-INVITEs with a=sendonly: we answer 200 with a=recvonly (the scenario
/// checks the body) and the application gets a MediaUpdate.
#[tokio::test]
async fn sipp_uac_puts_us_on_hold() {
    let seen = sipp_calls_us(&["-sf", &scenario("uac_hold.xml")]).await;
    assert!(
        seen.iter().any(|e| matches!(e, SipEvent::MediaUpdate { sdp } if String::from_utf8_lossy(sdp).contains("a=sendonly"))),
        "{seen:?}"
    );
}

/// Shutdown drains: BYE to the confirmed call, CANCEL to the ringing one.
#[tokio::test]
async fn shutdown_byes_confirmed_and_cancels_pending() {
    let h = driver(500).await;
    let (p1, p2) = (free_port(), free_port());
    let uas = sipp(&[
        "-sn",
        "uas",
        "-i",
        "127.0.0.1",
        "-p",
        &p1.to_string(),
        "-m",
        "1",
    ]);
    let ring = sipp(&[
        "-sf",
        &scenario("uas_ring_cancel.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        &p2.to_string(),
        "-m",
        "1",
    ]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, mut rx1) = h.invite(call_to(p1, Transport::Udp, None)).await.unwrap();
    assert!(matches!(
        final_event(&mut rx1).await,
        SipEvent::Answered { .. }
    ));
    let (_, mut rx2) = h.invite(call_to(p2, Transport::Udp, None)).await.unwrap();
    loop {
        if let SipEvent::Progress { status: 180, .. } = next(&mut rx2).await {
            break;
        }
    }
    tokio::time::timeout(Duration::from_secs(20), h.shutdown())
        .await
        .expect("shutdown completes");
    assert_eq!(next(&mut rx1).await, SipEvent::Ended { by_remote: false });
    assert!(matches!(
        next(&mut rx2).await,
        SipEvent::Failed { status: 487, .. }
    ));
    assert_eq!(sipp_exit(uas).await, 0);
    assert_eq!(sipp_exit(ring).await, 0);
    assert!(
        h.invite(call_to(p1, Transport::Udp, None)).await.is_err(),
        "driver stopped"
    );
}

#[tokio::test]
async fn rfc4475_over_udp_then_a_call_still_works() {
    use support::rfc4475::{expected, manifest, Outcome, DIR};
    let h = driver(500).await;
    let target: SocketAddr = h.local_addr();
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut buf = vec![0u8; 70_000];
    let mut handled = 0;
    let mut failures = Vec::new();
    for (file, class, _) in manifest() {
        let bytes = std::fs::read(format!("{DIR}/{file}")).unwrap();
        sock.send_to(&bytes, target).await.unwrap();
        let mut got = Vec::new();
        while let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_millis(150), sock.recv_from(&mut buf)).await
        {
            let line = String::from_utf8_lossy(&buf[..n])
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            got.push(line);
        }
        let status = |l: &String| {
            l.strip_prefix("SIP/2.0 ")
                .and_then(|r| r.get(..3))
                .and_then(|c| c.parse::<u16>().ok())
        };
        let outcome = match got.first() {
            None => Outcome::Silent,
            Some(l) if status(l) == Some(100) => Outcome::Incoming,
            Some(l) => Outcome::Status(status(l).unwrap_or(0)),
        };
        if class == "invalid" {
            assert!(
                !got.iter()
                    .any(|l| status(l).is_some_and(|s| (200..300).contains(&s))),
                "{file}: 2xx to an invalid message"
            );
        }
        if expected(&file).expect("expectation").contains(&outcome) {
            handled += 1;
        } else {
            failures.push(format!("{file}: got {got:?}"));
        }
    }
    eprintln!("RFC 4475 over UDP: {handled}/49");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The torture did not hurt: a real call still completes.
    outbound_call_answered_then_bye(&h, Transport::Udp).await;
}

/// Throughput (run with `--ignored`, numbers go to docs/decisions.md): SIPp
/// places `CALLS` calls at `RATE`/s against the driver, an app task answers
/// each; every call must succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn load_sipp_uac_against_driver() {
    let calls = std::env::var("LOAD_CALLS").unwrap_or_else(|_| "3000".into());
    let rate = std::env::var("LOAD_RATE").unwrap_or_else(|_| "600".into());
    let mut h = driver(500).await;
    let target = h.local_addr().to_string();
    let client = h.client();
    tokio::spawn(async move {
        while let Some((id, _call, mut rx)) = h.next_incoming().await {
            let _ = h
                .command(SipCommand::Answer {
                    call: id,
                    sdp: OFFER.to_vec(),
                })
                .await;
            tokio::spawn(async move { while rx.recv().await.is_some() {} });
        }
    });
    let port = free_port();
    let started = std::time::Instant::now();
    let child = sipp(&[
        "-sn",
        "uac",
        &target,
        "-i",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-m",
        &calls,
        "-r",
        &rate,
        "-l",
        "2000",
    ]);
    assert_eq!(sipp_exit(child).await, 0, "every call succeeded");
    let secs = started.elapsed().as_secs_f64();
    let n: f64 = calls.parse().unwrap_or(0.0);
    eprintln!(
        "{calls} calls offered at {rate}/s completed in {secs:.2} s: {:.0} calls/s",
        n / secs
    );
    client.shutdown().await;
}

/// Junk flood (run with `--ignored`): 50,000 datagrams of garbage and RFC 4475
/// invalid messages as fast as one socket sends them, then a real call must
/// still complete. Prints how many answers came back (400s, never 2xx).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn junk_flood_then_call() {
    use support::rfc4475::{manifest, DIR};
    let h = driver(500).await;
    let target = h.local_addr();
    let mut junk: Vec<Vec<u8>> = manifest()
        .into_iter()
        .filter(|(_, class, _)| class == "invalid")
        .map(|(f, _, _)| std::fs::read(format!("{DIR}/{f}")).unwrap())
        .collect();
    junk.push(b"\x00\x01garbage\r\n\r\n".to_vec());
    junk.push(vec![0xff; 1400]);
    let sock = std::sync::Arc::new(tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let rx_sock = sock.clone();
    let counter = tokio::spawn(async move {
        let mut buf = vec![0u8; 70_000];
        let (mut answers, mut ok) = (0u32, 0u32);
        while let Ok(Ok((n, _))) =
            tokio::time::timeout(Duration::from_secs(2), rx_sock.recv_from(&mut buf)).await
        {
            answers += 1;
            if buf[..n].starts_with(b"SIP/2.0 2") {
                ok += 1;
            }
        }
        (answers, ok)
    });
    let started = std::time::Instant::now();
    for i in 0..50_000usize {
        let _ = sock.send_to(&junk[i % junk.len()], target).await;
        if i % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    let sent_in = started.elapsed().as_secs_f64();
    let (answers, ok) = counter.await.unwrap();
    eprintln!("flood: 50000 datagrams sent in {sent_in:.2} s; {answers} answers, {ok} 2xx");
    assert_eq!(ok, 0);
    outbound_call_answered_then_bye(&h, Transport::Udp).await;
}
