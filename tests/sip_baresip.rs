//! baresip 1.0 (a real softphone) against the tokio driver over 127.0.0.1,
//! both directions. A missing `baresip` fails with a clear message.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use orderline::sip::{EndpointConfig, OutboundCall, SipCommand, SipEvent, SipHandle, Transport};
use tokio::sync::mpsc;

#[macro_use]
mod support;
use support::peers::free_port;

const OFFER: &[u8] = b"v=0\r\no=orderline 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n";

/// A headless auto-answering baresip on `port`, playing 1 s of tone.
fn baresip(dir: &Path, port: u16, extra: &[&str]) -> Child {
    let tone = dir.join("tone.wav");
    let samples: Vec<i16> = (0..8000)
        .map(|i| {
            ((f64::from(i) * 2.0 * std::f64::consts::PI * 440.0 / 8000.0).sin() * 8000.0) as i16
        })
        .collect();
    orderline::audio::write_wav_8k(&tone, &samples).expect("write tone");
    let config = format!(
        "poll_method epoll\nsip_listen 127.0.0.1:{port}\nnet_interface 127.0.0.1\n\
         audio_source aufile,{t}\naudio_player aufile,{h}\naudio_alert aufile,{t}\n\
         module_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
         module_app account.so\nmodule_app menu.so\nrtp_ports 30000-30999\n",
        t = tone.display(),
        h = dir.join("heard.wav").display(),
    );
    std::fs::write(dir.join("config"), config).expect("config");
    std::fs::write(
        dir.join("accounts"),
        "<sip:bob@127.0.0.1>;regint=0;answermode=auto\n",
    )
    .expect("accounts");
    let mut cmd = Command::new("baresip");
    cmd.arg("-f")
        .arg(dir)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            panic!("cannot start `baresip` ({e}): install baresip (Debian package baresip-core)")
        }
    }
}

async fn driver() -> SipHandle {
    let cfg = EndpointConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        seed: 9,
        ..Default::default()
    };
    SipHandle::bind(cfg).await.expect("bind driver")
}

/// The phone's INVITE, waiting as long as a loaded machine may need to start
/// baresip (60 s) but failing at once, with its exit status, if the phone
/// died first (a lost port, a bad config) instead of at the deadline.
async fn invite_from(
    phone: &mut Child,
    h: &mut SipHandle,
) -> (
    orderline::sip::CallRef,
    orderline::sip::IncomingCall,
    mpsc::Receiver<SipEvent>,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = phone.try_wait() {
            panic!("baresip exited ({status}) before its INVITE arrived");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "baresip's INVITE did not arrive in 60 s"
        );
        if let Ok(incoming) =
            tokio::time::timeout(Duration::from_millis(250), h.next_incoming()).await
        {
            return incoming.expect("driver running");
        }
    }
}

/// Wait (60 s at most) until a UDP socket is bound to 127.0.0.1:`port`, as
/// the kernel lists it in /proc/net/udp: probing by binding the port
/// ourselves could take it from baresip in the same instant.
async fn listening(phone: &mut Child, port: u16) {
    let local = format!("0100007F:{port:04X}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = phone.try_wait() {
            panic!("baresip exited ({status}) before it bound port {port}");
        }
        let table = std::fs::read_to_string("/proc/net/udp").expect("read /proc/net/udp");
        if table
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "baresip did not bind 127.0.0.1:{port} in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGTERM: baresip stops its user agents (a BYE for a live call) and exits.
fn terminate(phone: &Child) {
    let pid = i32::try_from(phone.id()).expect("pid fits");
    // SAFETY: kill(2) on our own child's pid; no memory is touched.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0, "SIGTERM to baresip");
}

async fn next(rx: &mut mpsc::Receiver<SipEvent>) -> SipEvent {
    match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
        Ok(Some(e)) => e,
        other => panic!("no SIP event: {other:?}"),
    }
}

#[tokio::test]
async fn we_call_baresip_it_answers_we_hang_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut phone = baresip(dir.path(), port, &["-t", "60"]);
    // Not a fixed sleep: under load baresip can take longer to bind.
    listening(&mut phone, port).await;
    let h = driver().await;
    let call = OutboundCall {
        request_uri: format!("sip:bob@127.0.0.1:{port}"),
        from_user: "orderline".into(),
        to_user: "bob".into(),
        sdp_offer: OFFER.to_vec(),
        credentials: None,
        outbound_proxy: None,
        transport: Transport::Udp,
    };
    let (id, mut rx) = h.invite(call).await.expect("invite");
    let answer = loop {
        match next(&mut rx).await {
            SipEvent::Progress { .. } => continue,
            SipEvent::Answered { sdp, .. } => break sdp,
            e => panic!("expected Answered, got {e:?}"),
        }
    };
    let answer = String::from_utf8_lossy(&answer).to_string();
    assert!(
        answer.contains("m=audio") && answer.contains("PCMU"),
        "{answer}"
    );
    h.command(SipCommand::Bye(id)).await.unwrap();
    assert_eq!(
        next(&mut rx).await,
        SipEvent::Ended { by_remote: false },
        "baresip answered our BYE"
    );
    h.shutdown().await;
    let _ = phone.kill();
    let _ = phone.wait();
}

#[tokio::test]
async fn baresip_calls_us_we_answer_it_hangs_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = driver().await;
    let target = format!("/dial sip:0300@127.0.0.1:{}", h.local_addr().port());
    let port = free_port();
    // `-t` only as a safety net: baresip's quit timer runs from its start,
    // so a short one (it was 6 s) can fire before a start-up slowed by a
    // loaded machine has even dialled. The hang-up is ours to trigger below.
    let mut phone = baresip(dir.path(), port, &["-e", &target, "-t", "60"]);
    let (id, incoming, mut rx) = invite_from(&mut phone, &mut h).await;
    assert!(String::from_utf8_lossy(&incoming.sdp).contains("m=audio"));
    h.command(SipCommand::Ringing(id)).await.unwrap();
    h.command(SipCommand::Answer {
        call: id,
        sdp: OFFER.to_vec(),
    })
    .await
    .unwrap();
    assert!(
        matches!(next(&mut rx).await, SipEvent::Answered { .. }),
        "baresip ACKed our 200"
    );
    // baresip quits on SIGTERM and hangs up on the way out.
    terminate(&phone);
    assert_eq!(next(&mut rx).await, SipEvent::Ended { by_remote: true });
    let _ = phone.kill();
    let _ = phone.wait();
    h.shutdown().await;
}
