//! A TLS trunk fronted by Kamailio's `tls` module (issue #14): orderline
//! speaks SIP over TLS to Kamailio (Debian `kamailio-tls-modules`), which
//! relays over UDP to the carrier's side, a SIPp callee who keys `1` in-band.
//! Kamailio record-routes, so the ACK and our BYE come back through it over
//! TLS. The robo-call confirms end to end, and Kamailio's log shows each of
//! orderline's requests arriving over TLS (`proto=tls`).

#[macro_use]
mod support;

use std::time::Duration;

use support::kamailio::Kamailio;
use support::test_pki::TestCa;
use support::tls_rig::tls_listener_section;
use support::*;

#[test]
fn a_robo_call_over_tls_through_kamailio_confirms_and_every_hop_to_orderline_is_tls() {
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let callee_dir = dir.path().join("callee");
    let callee = streaming_callee(
        &callee_dir,
        "callee_inband_rr.xml",
        &[(3.0, '1', 0.12)],
        8.0,
        free_udp_port(),
        &[],
    );
    let kamailio = Kamailio::start(dir.path(), &ca, callee.port, free_tcp_port());
    let cfg = write_config_with(
        dir.path(),
        free_udp_port(),
        kamailio.tls_port,
        "transport = \"tls\"",
        &format!("[sip.tls]\nca_file = \"{}\"\n", ca.cert.display()),
    );
    let (r, out) = orderline_call(&cfg, "03001234567", &["--amount", "5", "--currency", "USD"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (ok, errors) = callee.finish(Duration::from_secs(15));
    let hops = kamailio.hops();
    assert_eq!(
        r["outcome"],
        "confirmed",
        "{r}\n{stderr}\nKamailio:\n{}",
        kamailio.logs()
    );
    assert_eq!(r["digits"], "1", "{r}");
    assert!(ok, "the SIPp callee saw a broken call: {errors}\n{hops:#?}");
    // orderline's INVITE, ACK and BYE each reached Kamailio over TLS; the
    // callee's side was UDP.
    for method in ["INVITE", "ACK", "BYE"] {
        assert!(
            hops.iter()
                .any(|h| h.starts_with(&format!("HOP {method} proto=tls"))),
            "no {method} from orderline over TLS in Kamailio's log: {hops:#?}"
        );
        assert!(
            !hops
                .iter()
                .any(|h| h.starts_with(&format!("HOP {method} proto=udp"))),
            "a {method} reached Kamailio over UDP: {hops:#?}"
        );
    }
    eprintln!("{hops:#?}\n{:.1} s", t0.elapsed().as_secs_f64());
}

/// Inbound: a SIPp caller → Kamailio (UDP) → orderline's TLS listener. We
/// answer (the "no pending order" prompt, a 1,300 Hz test tone here), hang
/// up, and our BYE goes back through Kamailio over TLS; Kamailio's log shows
/// our 200 OK and our BYE arriving over TLS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inbound_call_through_kamailio_reaches_orderline_over_tls() {
    let t0 = std::time::Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = TestCa::new(dir.path(), "lab");
    let ours = ca.leaf("orderline");
    let tls_port = free_tcp_port();
    let kamailio = Kamailio::start(dir.path(), &ca, free_udp_port(), tls_port);
    let path = write_config_with(
        dir.path(),
        free_udp_port(),
        kamailio.tls_port,
        "transport = \"tls\"",
        &tls_listener_section(tls_port, &ours, &ca.cert),
    );
    let cfg = orderline::config::Config::load(&path).expect("config");
    let (engine, mut sip) = orderline::call::Engine::start(cfg).await.expect("engine");
    let caller = Sipp::start(
        &std::path::Path::new(SCENARIOS).join("uac_via_proxy.xml"),
        dir.path(),
        &[&format!("127.0.0.1:{}", kamailio.udp_port)],
    );
    let (call, incoming, events) =
        match tokio::time::timeout(Duration::from_secs(20), sip.next_incoming()).await {
            Ok(Some(c)) => c,
            other => panic!(
                "no INVITE through Kamailio ({other:?}):\n{}",
                kamailio.logs()
            ),
        };
    engine
        .take_incoming(call, incoming, events)
        .await
        .expect("answered and played");
    let (ok, errors) = tokio::task::spawn_blocking(move || caller.finish(Duration::from_secs(15)))
        .await
        .expect("join");
    let hops = kamailio.hops();
    assert!(ok, "the caller saw a broken call: {errors}\n{hops:#?}");
    let log = kamailio.logs();
    assert!(
        hops.iter().any(|h| h.starts_with("HOP INVITE proto=udp")),
        "{hops:#?}"
    );
    assert!(
        hops.iter().any(|h| h.starts_with("HOP BYE proto=tls")),
        "our BYE did not reach Kamailio over TLS: {hops:#?}"
    );
    assert!(
        log.lines().any(|l| l.contains("REPLY 200 proto=tls")),
        "our 200 OK did not reach Kamailio over TLS:\n{log}"
    );
    sip.shutdown().await;
    eprintln!("{hops:#?}\n{:.1} s", t0.elapsed().as_secs_f64());
}
