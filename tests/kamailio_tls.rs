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
