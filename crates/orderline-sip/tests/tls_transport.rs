//! SIP over TLS as the sans-IO core sees it (RFC 3261 §26.2, RFC 5630):
//! the driver owns the handshake; the core names the TLS listener's port in
//! Via and Contact, marks the hop `transport=tls`, and treats the stream as
//! reliable (no INVITE retransmissions, §17.1.1.2).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orderline_sip::{Endpoint, EndpointConfig, Input, Message, OutboundCall, Transport};

fn endpoint() -> Endpoint {
    Endpoint::new(EndpointConfig {
        listen: "127.0.0.1:5060".parse().expect("addr"),
        tls_port: Some(5061),
        seed: 7,
        ..Default::default()
    })
}

fn call(transport: Transport) -> OutboundCall {
    OutboundCall {
        request_uri: "sip:0300@127.0.0.1:5071;transport=tls".into(),
        from_user: "orderline".into(),
        to_user: "0300".into(),
        sdp_offer: b"v=0\r\n".to_vec(),
        credentials: None,
        outbound_proxy: None,
        transport,
    }
}

#[test]
fn an_invite_over_tls_names_the_tls_port_and_is_not_retransmitted() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    ep.invite(t0, call(Transport::Tls)).expect("invite");
    let tx = ep.poll_transmit().expect("INVITE out");
    assert_eq!(tx.transport, Transport::Tls);
    assert_eq!(
        tx.dest,
        "127.0.0.1:5071".parse::<SocketAddr>().expect("addr")
    );
    let m = Message::parse(&tx.bytes).expect("parse");
    let text = String::from_utf8_lossy(&tx.bytes);
    assert_eq!(m.via[0].transport, "TLS");
    assert_eq!(m.via[0].port, Some(5061), "{text}");
    assert!(
        text.contains("Contact: <sip:orderline@127.0.0.1:5061;transport=tls>"),
        "{text}"
    );
    // A reliable transport: Timer A is not set (§17.1.1.2).
    ep.handle_timeout(t0 + Duration::from_secs(4));
    assert!(ep.poll_transmit().is_none(), "no retransmission over TLS");
}

#[test]
fn udp_keeps_the_plain_port_and_a_request_over_tls_is_answered_over_tls() {
    let mut ep = endpoint();
    let t0 = Instant::now();
    ep.invite(t0, call(Transport::Udp)).expect("invite");
    let tx = ep.poll_transmit().expect("INVITE out");
    let m = Message::parse(&tx.bytes).expect("parse");
    assert_eq!(m.via[0].port, Some(5060));
    assert!(
        String::from_utf8_lossy(&tx.bytes).contains("Contact: <sip:orderline@127.0.0.1:5060>"),
        "UDP's Contact has the plain port and no transport parameter"
    );

    let peer: SocketAddr = "127.0.0.1:40001".parse().expect("addr");
    let options = "OPTIONS sip:127.0.0.1:5061;transport=tls SIP/2.0\r\n\
        Via: SIP/2.0/TLS 127.0.0.1:40001;branch=z9hG4bKtls1;rport\r\n\
        From: <sip:probe@127.0.0.1>;tag=a\r\nTo: <sip:127.0.0.1>\r\n\
        Call-ID: tls-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n";
    ep.handle_input(
        t0,
        Input::Datagram {
            from: peer,
            transport: Transport::Tls,
            bytes: options.as_bytes(),
        },
    );
    let out = std::iter::from_fn(|| ep.poll_transmit())
        .find(|t| t.dest == peer)
        .expect("an answer to the OPTIONS");
    assert_eq!(out.transport, Transport::Tls);
    assert!(String::from_utf8_lossy(&out.bytes).starts_with("SIP/2.0 200"));
}

#[test]
fn transport_params_round_trip() {
    for t in [Transport::Udp, Transport::Tcp, Transport::Tls] {
        assert_eq!(Transport::from_param(t.param()), Some(t));
        assert_eq!(t.reliable(), t != Transport::Udp);
    }
    assert_eq!(Transport::from_param("TLS"), Some(Transport::Tls));
    assert_eq!(Transport::from_param("sctp"), None);
}

#[test]
fn debug_output_never_shows_sdp_bodies() {
    let sdp = b"v=0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:SECRETSECRET\r\n".to_vec();
    let ev = orderline_sip::SipEvent::Answered {
        status: 200,
        sdp: sdp.clone(),
    };
    let shown = format!("{ev:?}");
    assert!(
        shown.contains("bytes of SDP") && !shown.contains("83, 69, 67"),
        "{shown}"
    );
    let mut c = call(Transport::Tls);
    c.sdp_offer = sdp;
    let shown = format!("{c:?}");
    assert!(
        shown.contains("bytes of SDP") && !shown.contains("SECRET"),
        "{shown}"
    );
}
