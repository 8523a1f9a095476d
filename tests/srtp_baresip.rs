//! SDES-SRTP against a real peer (issue #14): baresip 1.0 with
//! `;mediaenc=srtp-mand` (its `srtp.so`: libre's SRTP, AES_CM_128_HMAC_SHA1_80)
//! over SIP/TLS. A robo-call through a trunk with `srtp = "required"`:
//! baresip hears our greeting through SRTP (a DTMF marker found intact in
//! its recording), and its in-band key press reaches our detector through
//! SRTP (outcome `confirmed`, digit `1`). A trunk with SRTP off meets the
//! same phone: the SAVP-only peer gets no plain RTP call.

#[macro_use]
mod support;

use std::time::Duration;

use orderline::dtmf::Detector;
use support::test_pki::TestCa;
use support::tls_rig::*;
use support::*;

#[test]
fn srtp_both_ways_with_baresip_keys_heard_and_greeting_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, phone) = tls_callee(dir.path(), ";mediaenc=srtp-mand", 40);
    phone.hang_up_after(8.0, 40);
    let cfg = tls_trunk_config(dir.path(), &phone, "srtp = \"required\"", &ca.cert, true);
    // Greeting = a DTMF marker "953": what baresip decrypted must hold it.
    let marker = keypress_audio(
        &[(0.0, '9', 0.08), (0.14, '5', 0.08), (0.28, '3', 0.08)],
        0.4,
    );
    write_wav(&dir.path().join("prompts/en/greeting.wav"), &marker);

    let (r, out) = orderline_call(
        &cfg,
        &tls_target(&phone),
        &["--amount", "5", "--currency", "USD"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(r["outcome"], "confirmed", "{r}\n{stderr}");
    assert_eq!(r["digits"], "1", "{r}");

    let log = phone.logs();
    assert!(
        log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
        "baresip did not agree SRTP:\n{log}"
    );
    assert!(
        log.contains("m=audio") && log.contains("RTP/SAVP"),
        "no RTP/SAVP in the trace:\n{log}"
    );
    assert!(
        !log.contains("failed to decrypt"),
        "baresip could not decrypt our packets:\n{log}"
    );
    // The keys themselves never reach our logs.
    let key_line = log
        .lines()
        .find(|l| l.starts_with("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"))
        .expect("a crypto line in baresip's trace");
    let b64 = key_line.rsplit("inline:").next().unwrap_or_default().trim();
    assert!(!stderr.contains(b64), "an SRTP key reached orderline's log");

    std::thread::sleep(Duration::from_millis(500));
    let heard = orderline::audio::read_wav_8k(&phone.heard()).expect("baresip's recording");
    let mut det = Detector::new();
    det.push(&heard);
    let digits: String = std::iter::from_fn(|| det.poll_event())
        .map(|e| e.digit)
        .collect();
    assert!(
        digits.starts_with("953"),
        "baresip heard {digits:?} through SRTP, expected the 953 marker first"
    );
}

#[test]
fn a_trunk_without_srtp_gets_no_call_from_an_srtp_only_phone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, phone) = tls_callee(dir.path(), ";mediaenc=srtp-mand", 40);
    phone.hang_up_after(8.0, 40);
    let cfg = tls_trunk_config(dir.path(), &phone, "", &ca.cert, true);
    let out = orderline_call_raw(&cfg, &tls_target(&phone));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("\"confirmed\""),
        "a plain-RTP call was confirmed with an SRTP-only phone:\n{stdout}\n{stderr}"
    );
}

/// Inbound: baresip (srtp-mand) calls our TLS listener from the trunk's
/// address; the trunk's `srtp = "required"` answers RTP/SAVP with our key,
/// and baresip hears the "no pending order" prompt (a 1,300 Hz test tone)
/// through SRTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_srtp_call_is_answered_in_kind_and_heard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let ours = ca.leaf("orderline");
    let theirs = ca.leaf("phone");
    let tls_port = free_tcp_port();
    let path = write_config_with(
        dir.path(),
        free_udp_port(),
        5999,
        "transport = \"tls\"\nsrtp = \"required\"",
        &tls_listener_section(tls_port, &ours, &ca.cert),
    );
    let cfg = orderline::config::Config::load(&path).expect("config");
    let (engine, mut sip) = orderline::call::Engine::start(cfg).await.expect("engine");
    let src = dir.path().join("silence.wav");
    write_wav(&src, &vec![0i16; 8000 * 8]);
    let dial = format!("/dial sip:orderline@127.0.0.1:{tls_port};transport=tls");
    let mut phone = Baresip::tls_phone(
        dir.path(),
        "caller",
        &src,
        30,
        &theirs.combined,
        &ca.cert,
        ";mediaenc=srtp-mand",
        &[dial],
    );
    let (call, incoming, events) =
        match tokio::time::timeout(Duration::from_secs(60), sip.next_incoming()).await {
            Ok(Some(c)) => c,
            other => panic!("no INVITE ({other:?}):\n{}", phone.logs()),
        };
    engine
        .take_incoming(call, incoming, events)
        .await
        .expect("answered and played");
    let t0 = std::time::Instant::now();
    while phone.child.try_wait().ok().flatten().is_none() && t0.elapsed() < Duration::from_secs(10)
    {
        if phone.logs().contains("session closed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let log = phone.logs();
    assert!(
        log.contains("SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)"),
        "baresip did not agree SRTP:\n{log}"
    );
    assert!(!log.contains("failed to decrypt"), "{log}");
    let _ = phone.child.kill();
    let heard = orderline::audio::read_wav_8k(&phone.heard()).expect("baresip's recording");
    let tone = support::audio_check::amplitude_at(&heard, 1300.0);
    assert!(
        tone > 500.0,
        "baresip heard no prompt through SRTP ({tone:.0})"
    );
    sip.shutdown().await;
}
