//! RFC 4475 torture tests: every file of the shared manifest is fed to the
//! sans-IO endpoint as a UDP datagram; what it sends back (or not) must be
//! what the manifest's `what_the_rfc_expects` column allows.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orderline::sip::{
    Endpoint, EndpointConfig, Framing, Input, Message, RawMessage, SipEvent, Transport,
};

#[macro_use]
mod support;
use support::rfc4475::{expected, manifest, Outcome, DIR};

fn status(m: &RawMessage) -> Option<u16> {
    m.start_line
        .strip_prefix("SIP/2.0 ")?
        .get(..3)?
        .parse()
        .ok()
}

fn reason(m: &RawMessage) -> &str {
    m.start_line.get(12..).unwrap_or("")
}

fn outcome(ep: &mut Endpoint, bytes: &[u8], from: SocketAddr) -> (Outcome, Vec<RawMessage>) {
    let now = Instant::now();
    ep.handle_input(
        now,
        Input::Datagram {
            from,
            transport: Transport::Udp,
            bytes,
        },
    );
    let mut sent = Vec::new();
    while let Some(t) = ep.poll_transmit() {
        assert_eq!(t.dest, from, "answers go back to the source");
        // An error response copies the offending request's headers verbatim,
        // so it may itself be malformed: read its status line only.
        let (raw, _) =
            RawMessage::parse(&t.bytes, Framing::Datagram).expect("we send framed messages");
        sent.push(raw);
    }
    let incoming =
        std::iter::from_fn(|| ep.poll_event()).any(|(_, e)| matches!(e, SipEvent::Incoming(_)));
    let o = if incoming {
        assert_eq!(sent.iter().map(status).collect::<Vec<_>>(), vec![Some(100)]);
        Outcome::Incoming
    } else if let Some(last) = sent.last() {
        assert_eq!(sent.len(), 1, "one answer, got {sent:?}");
        Outcome::Status(status(last).unwrap_or(0))
    } else {
        Outcome::Silent
    };
    (o, sent)
}

#[test]
fn every_manifest_file_gets_the_rfc_answer() {
    let from: SocketAddr = "127.0.0.1:5999".parse().unwrap();
    let files = manifest();
    assert_eq!(files.len(), 49, "the manifest lists 49 messages");
    let mut handled = 0;
    let mut failures = Vec::new();
    for (file, class, what) in &files {
        let bytes =
            std::fs::read(format!("{DIR}/{file}")).unwrap_or_else(|e| panic!("{file}: {e}"));
        let want = expected(file).unwrap_or_else(|| panic!("no expectation written for {file}"));
        // A fresh endpoint per file: no state leaks between torture messages.
        let mut ep = Endpoint::new(EndpointConfig {
            t1: Duration::from_millis(50),
            ..Default::default()
        });
        let (got, sent) = outcome(&mut ep, &bytes, from);
        if want.contains(&got) {
            handled += 1;
        } else {
            failures.push(format!(
                "{file} ({class}: {what}): got {got:?}, want {want:?}"
            ));
        }
        if class == "valid" {
            assert!(
                Message::parse(&bytes).is_ok(),
                "{file}: valid message must parse: {:?}",
                Message::parse(&bytes).err()
            );
        }
        if class == "invalid" {
            assert!(
                sent.iter()
                    .all(|m| !status(m).is_some_and(|s| (200..300).contains(&s))),
                "{file}: 2xx to invalid"
            );
        }
        if let Some(m) = sent.last() {
            if let Some(s @ 400..=699) = status(m) {
                assert!(
                    !reason(m).trim().is_empty(),
                    "{file}: {s} without reason phrase"
                );
            }
        }
    }
    eprintln!("RFC 4475: {handled}/49 handled as the manifest says");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn specific_answers_carry_their_headers() {
    let from: SocketAddr = "127.0.0.1:5999".parse().unwrap();
    let get = |file: &str| {
        let mut ep = Endpoint::new(EndpointConfig::default());
        let bytes = std::fs::read(format!("{DIR}/{file}")).unwrap();
        let raw = outcome(&mut ep, &bytes, from).1.pop().unwrap();
        let mut buf = raw.start_line.clone().into_bytes();
        for (n, v) in &raw.headers {
            buf.extend_from_slice(format!("\r\n{n}: {v}").as_bytes());
        }
        buf.extend_from_slice(b"\r\n\r\n");
        (raw, Message::parse(&buf))
    };
    let r = get("bext01.dat").1.unwrap();
    assert_eq!(
        r.header("Unsupported"),
        Some("nothingSupportsThis, nothingSupportsThisEither")
    );
    assert_eq!(
        get("invut.dat").1.unwrap().header("Accept"),
        Some("application/sdp")
    );
    assert!(get("intmeth.dat")
        .1
        .unwrap()
        .header("Allow")
        .is_some_and(|a| a.contains("INVITE")));
    let (raw, bad) = get("lwsstart.dat");
    assert!(reason(&raw).contains("Request-Line"), "{}", raw.start_line);
    let bad = bad.unwrap();
    assert_eq!(
        bad.call_id,
        "lwsstart.dfknq234oi243099adsdfnawe3@example.com"
    );
    assert!(bad.to.tag().is_some(), "error responses add a To tag");
}

#[test]
fn escaped_uris_survive_a_round_trip() {
    let bytes = std::fs::read(format!("{DIR}/esc01.dat")).unwrap();
    let m = Message::parse(&bytes).unwrap();
    let printed = m.to_bytes();
    let s = String::from_utf8_lossy(&printed);
    assert!(
        s.contains("<sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>"),
        "{s}"
    );
    assert!(s.starts_with("INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0\r\n"));
    let to = m.to.uri.as_sip().unwrap();
    assert_eq!(to.user_unescaped().unwrap(), b"user");
}
