//! Two sans-IO endpoints in memory on simulated time (quinn's `Pair`,
//! str0m's loss emulator): every test runs minutes of SIP timers in
//! microseconds, with chosen datagrams dropped.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use orderline::sip::{
    CallRef, Endpoint, EndpointConfig, Input, Message, OutboundCall, SipEvent, Transmit, Transport,
};

const T1: Duration = Duration::from_millis(100);
const OFFER: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 101\r\na=sendrecv\r\n";
const ANSWER: &[u8] = b"v=0\r\no=- 9 9 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0 101\r\na=sendrecv\r\n";

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A wire record: who sent what, when.
#[derive(Debug, Clone)]
struct Wire {
    from: SocketAddr,
    msg: Message,
    at: Duration,
}

impl Wire {
    fn first_line(&self) -> String {
        String::from_utf8_lossy(&self.msg.to_bytes())
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }
}

/// Loss emulator: decides per datagram whether the network loses it.
type DropFn = Box<dyn FnMut(&Wire, usize) -> bool>;

struct Pair {
    start: Instant,
    now: Instant,
    a: Endpoint,
    b: Endpoint,
    events_a: Vec<(CallRef, SipEvent)>,
    events_b: Vec<(CallRef, SipEvent)>,
    wire: Vec<Wire>,
    /// Return true to drop this datagram (`n` counts datagrams of the same first line).
    drop: DropFn,
}

impl Pair {
    fn new() -> Pair {
        let cfg = |port, seed| EndpointConfig {
            listen: addr(port),
            t1: T1,
            seed,
            ..Default::default()
        };
        let start = Instant::now();
        Pair {
            start,
            now: start,
            a: Endpoint::new(cfg(5060, 1)),
            b: Endpoint::new(cfg(5070, 2)),
            events_a: Vec::new(),
            events_b: Vec::new(),
            wire: Vec::new(),
            drop: Box::new(|_, _| false),
        }
    }

    /// Deliver everything in flight (zero latency) until both are quiet.
    fn flush(&mut self) {
        loop {
            let mut moved = false;
            for side in 0..2 {
                let (src, from) = if side == 0 {
                    (&mut self.a, addr(5060))
                } else {
                    (&mut self.b, addr(5070))
                };
                let mut out: Vec<Transmit> = Vec::new();
                while let Some(t) = src.poll_transmit() {
                    out.push(t);
                }
                for t in out {
                    moved = true;
                    let msg = Message::parse(&t.bytes).expect("endpoints send valid SIP");
                    let w = Wire {
                        from,
                        msg,
                        at: self.now - self.start,
                    };
                    let n = self
                        .wire
                        .iter()
                        .filter(|x| x.first_line() == w.first_line() && x.from == from)
                        .count();
                    let dropped = (self.drop)(&w, n);
                    self.wire.push(w);
                    if dropped {
                        continue;
                    }
                    let dst = if t.dest == addr(5060) {
                        &mut self.a
                    } else {
                        &mut self.b
                    };
                    assert!(
                        t.dest == addr(5060) || t.dest == addr(5070),
                        "sent to {}",
                        t.dest
                    );
                    dst.handle_input(
                        self.now,
                        Input::Datagram {
                            from,
                            transport: Transport::Udp,
                            bytes: &t.bytes,
                        },
                    );
                }
            }
            while let Some(e) = self.a.poll_event() {
                self.events_a.push(e);
            }
            while let Some(e) = self.b.poll_event() {
                self.events_b.push(e);
            }
            if !moved {
                return;
            }
        }
    }

    /// Advance simulated time to `until`, firing timers on the way.
    fn run_until(&mut self, until: Duration) {
        self.flush();
        loop {
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= self.start + until => {
                    self.now = self.now.max(t);
                    self.a.handle_timeout(self.now);
                    self.b.handle_timeout(self.now);
                    self.flush();
                }
                _ => break,
            }
        }
        self.now = self.start + until;
        self.flush();
    }

    fn call(&mut self) -> CallRef {
        let c = OutboundCall {
            request_uri: "sip:0300123@127.0.0.1:5070".into(),
            from_user: "orderline".into(),
            to_user: "0300123".into(),
            sdp_offer: OFFER.to_vec(),
            credentials: None,
            outbound_proxy: None,
            transport: Transport::Udp,
        };
        let id = self.a.invite(self.now, c).expect("invite");
        self.flush();
        id
    }

    /// Hand A a message as if B sent it, then deliver what follows.
    fn deliver_from_b(&mut self, bytes: &[u8]) {
        let now = self.now;
        self.a.handle_input(
            now,
            Input::Datagram {
                from: addr(5070),
                transport: Transport::Udp,
                bytes,
            },
        );
        self.flush();
    }

    fn incoming(&self) -> CallRef {
        self.events_b
            .iter()
            .find_map(|(id, e)| matches!(e, SipEvent::Incoming(_)).then_some(*id))
            .expect("B saw the INVITE")
    }

    fn count(&self, first_line_prefix: &str) -> usize {
        self.wire
            .iter()
            .filter(|w| w.first_line().starts_with(first_line_prefix))
            .count()
    }
}

#[test]
fn call_answer_and_hang_up() {
    let mut p = Pair::new();
    let a = p.call();
    let b = p.incoming();
    if let Some((_, SipEvent::Incoming(inc))) = p.events_b.first() {
        assert_eq!(inc.sdp, OFFER);
        assert!(inc.request_uri.starts_with("sip:0300123@127.0.0.1:5070"));
    }
    p.b.ringing(p.now, b).unwrap();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.flush();
    assert!(p.events_a.contains(&(
        a,
        SipEvent::Progress {
            status: 100,
            sdp: None
        }
    )));
    assert!(p.events_a.contains(&(
        a,
        SipEvent::Progress {
            status: 180,
            sdp: None
        }
    )));
    assert!(p.events_a.contains(&(
        a,
        SipEvent::Answered {
            status: 200,
            sdp: ANSWER.to_vec()
        }
    )));
    assert!(
        p.events_b.contains(&(
            b,
            SipEvent::Answered {
                status: 200,
                sdp: OFFER.to_vec()
            }
        )),
        "ACK reached B"
    );
    assert_eq!(p.count("ACK "), 1);
    p.run_until(Duration::from_secs(30));
    assert_eq!(
        p.count("SIP/2.0 200"),
        1,
        "no 2xx retransmission once ACKed"
    );
    p.a.bye(p.now, a).unwrap();
    p.flush();
    assert_eq!(
        p.events_b.last(),
        Some(&(b, SipEvent::Ended { by_remote: true }))
    );
    assert_eq!(
        p.events_a.last(),
        Some(&(a, SipEvent::Ended { by_remote: false }))
    );
    p.run_until(Duration::from_secs(120));
    assert_eq!(p.a.call_count() + p.b.call_count(), 0, "no call leaks");
    assert_eq!(p.a.poll_timeout(), None, "A idle: every transaction ended");
    assert_eq!(p.b.poll_timeout(), None, "B idle: every transaction ended");
}

#[test]
fn lost_invites_and_lost_2xx_are_retransmitted() {
    let mut p = Pair::new();
    // Drop the first two INVITEs and the first two 200 OKs.
    p.drop = Box::new(|w, n| {
        (w.first_line().starts_with("INVITE") || w.first_line().starts_with("SIP/2.0 200")) && n < 2
    });
    let a = p.call();
    p.run_until(Duration::from_millis(350)); // Timer A: T1, 2·T1 later
    let b = p.incoming();
    assert_eq!(p.count("INVITE"), 3);
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.run_until(Duration::from_secs(5));
    assert!(p.events_a.contains(&(
        a,
        SipEvent::Answered {
            status: 200,
            sdp: ANSWER.to_vec()
        }
    )));
    assert_eq!(
        p.count("SIP/2.0 200"),
        3,
        "2xx retransmitted by the UAS core until it got through"
    );
    assert!(p
        .events_b
        .iter()
        .any(|(id, e)| *id == b && matches!(e, SipEvent::Answered { .. })));
    let answered = p
        .events_a
        .iter()
        .filter(|(_, e)| matches!(e, SipEvent::Answered { .. }))
        .count();
    assert_eq!(answered, 1, "one Answered event despite retransmissions");
}

#[test]
fn retransmitted_2xx_is_acked_again() {
    let mut p = Pair::new();
    // Lose the first ACK: B retransmits its 200, A must ACK again.
    p.drop = Box::new(|w, n| w.first_line().starts_with("ACK") && n == 0);
    let _a = p.call();
    let b = p.incoming();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.run_until(Duration::from_secs(5));
    assert_eq!(p.count("ACK"), 2);
    assert_eq!(p.count("SIP/2.0 200"), 2);
    assert!(p
        .events_b
        .iter()
        .any(|(id, e)| *id == b && matches!(e, SipEvent::Answered { .. })));
}

#[test]
fn unanswered_invite_fails_with_408_after_64_t1() {
    let mut p = Pair::new();
    p.drop = Box::new(|w, _| w.first_line().starts_with("INVITE"));
    let a = p.call();
    p.run_until(Duration::from_secs(60));
    let ev = p.events_a.last().cloned().unwrap();
    assert_eq!(
        ev,
        (
            a,
            SipEvent::Failed {
                status: 408,
                reason: "Request Timeout (no response)".into()
            }
        )
    );
    // Timer A: sent at 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1 (then Timer B at 64·T1 = 6.4 s).
    let sends: Vec<u128> = p
        .wire
        .iter()
        .filter(|w| w.first_line().starts_with("INVITE"))
        .map(|w| w.at.as_millis())
        .collect();
    assert_eq!(sends, vec![0, 100, 300, 700, 1500, 3100, 6300]);
    assert_eq!(p.a.call_count(), 0);
}

#[test]
fn busy_answer_is_failed_486_and_acked() {
    let mut p = Pair::new();
    let a = p.call();
    let b = p.incoming();
    p.b.reject(p.now, b, 486).unwrap();
    p.run_until(Duration::from_secs(20));
    assert!(p.events_a.contains(&(
        a,
        SipEvent::Failed {
            status: 486,
            reason: "Busy Here".into()
        }
    )));
    let ack = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("ACK"))
        .expect("ACK for 486");
    let inv = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("INVITE"))
        .unwrap();
    assert_eq!(
        ack.msg.via[0].branch(),
        inv.msg.via[0].branch(),
        "§17.1.1.3: same branch"
    );
    assert_eq!(p.count("SIP/2.0 486"), 1, "ACK stops Timer G");
    assert_eq!(p.b.poll_timeout(), None);
}

/// The application's queue of new calls full: 503 carries Retry-After
/// (RFC 3261 §21.5.4), as the endpoint's own call limit does.
#[test]
fn an_application_503_asks_to_retry_later() {
    let mut p = Pair::new();
    let a = p.call();
    let b = p.incoming();
    p.b.reject(p.now, b, 503).unwrap();
    p.run_until(Duration::from_secs(20));
    let refusal = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("SIP/2.0 503"))
        .expect("503 sent");
    let text = String::from_utf8_lossy(&refusal.msg.to_bytes()).to_string();
    assert!(text.contains("\r\nRetry-After: 5\r\n"), "{text}");
    assert!(p
        .events_a
        .iter()
        .any(|(c, e)| *c == a && matches!(e, SipEvent::Failed { status: 503, .. })));
    assert_eq!(p.b.poll_timeout(), None);
}

#[test]
fn lost_ack_for_486_gets_the_response_again() {
    let mut p = Pair::new();
    p.drop = Box::new(|w, n| w.first_line().starts_with("ACK") && n == 0);
    let _a = p.call();
    let b = p.incoming();
    p.b.reject(p.now, b, 486).unwrap();
    p.run_until(Duration::from_secs(20));
    assert_eq!(
        p.count("SIP/2.0 486"),
        2,
        "Timer G retransmits once the ACK is lost"
    );
    assert_eq!(
        p.count("ACK"),
        2,
        "the INVITE client transaction re-ACKs in Completed"
    );
    assert_eq!(
        p.events_a
            .iter()
            .filter(|(_, e)| matches!(e, SipEvent::Failed { .. }))
            .count(),
        1
    );
}

#[test]
fn cancel_after_ringing_gives_487_on_both_sides() {
    let mut p = Pair::new();
    let a = p.call();
    let b = p.incoming();
    p.b.ringing(p.now, b).unwrap();
    p.run_until(Duration::from_secs(2));
    p.a.cancel(p.now, a).unwrap();
    p.run_until(Duration::from_secs(40));
    let cancel = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("CANCEL"))
        .expect("CANCEL sent");
    let inv = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("INVITE"))
        .unwrap();
    assert_eq!(
        cancel.msg.via[0].branch(),
        inv.msg.via[0].branch(),
        "§9.1: CANCEL on the INVITE's branch"
    );
    assert_eq!(cancel.msg.cseq.seq, inv.msg.cseq.seq);
    assert!(p
        .events_a
        .iter()
        .any(|(id, e)| *id == a && matches!(e, SipEvent::Failed { status: 487, .. })));
    assert!(p
        .events_b
        .iter()
        .any(|(id, e)| *id == b && matches!(e, SipEvent::Failed { status: 487, .. })));
    assert_eq!(p.count("ACK"), 1, "487 is ACKed");
    assert_eq!(p.a.call_count() + p.b.call_count(), 0);
}

#[test]
fn cancel_before_any_provisional_waits_for_one() {
    let mut p = Pair::new();
    // B's 100 Trying is lost, so A has seen no provisional when it cancels.
    p.drop = Box::new(|w, _| w.first_line().starts_with("SIP/2.0 100"));
    let a = p.call();
    let b = p.incoming();
    p.a.cancel(p.now, a).unwrap();
    p.flush();
    assert_eq!(
        p.count("CANCEL"),
        0,
        "§9.1: no CANCEL before a provisional response"
    );
    p.b.ringing(p.now, b).unwrap();
    p.run_until(Duration::from_secs(1));
    assert_eq!(p.count("CANCEL"), 1);
    assert!(p
        .events_a
        .iter()
        .any(|(id, e)| *id == a && matches!(e, SipEvent::Failed { status: 487, .. })));
}

#[test]
fn answer_racing_cancel_is_acked_then_byed() {
    let mut p = Pair::new();
    // The CANCEL is lost; B answers; A must ACK the 200 and then send BYE.
    p.drop = Box::new(|w, _| w.first_line().starts_with("CANCEL"));
    let a = p.call();
    let b = p.incoming();
    p.b.ringing(p.now, b).unwrap();
    p.flush();
    p.a.cancel(p.now, a).unwrap();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.run_until(Duration::from_secs(2));
    let lines: Vec<String> = p.wire.iter().map(Wire::first_line).collect();
    let ack = lines
        .iter()
        .position(|l| l.starts_with("ACK"))
        .expect("ACK");
    let bye = lines
        .iter()
        .position(|l| l.starts_with("BYE"))
        .expect("BYE");
    assert!(ack < bye);
    assert!(p
        .events_a
        .iter()
        .any(|(id, e)| *id == a && matches!(e, SipEvent::Failed { status: 487, .. })));
    assert!(!p
        .events_a
        .iter()
        .any(|(_, e)| matches!(e, SipEvent::Answered { .. } | SipEvent::Ended { .. })));
    assert_eq!(
        p.events_b.last(),
        Some(&(b, SipEvent::Ended { by_remote: true }))
    );
}

#[test]
fn uas_bye_and_in_dialog_options() {
    let mut p = Pair::new();
    let a = p.call();
    let b = p.incoming();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.flush();
    // In-dialog OPTIONS from "A" built by hand from the ACK it sent.
    let ack = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("ACK"))
        .unwrap()
        .msg
        .clone();
    let mut opt = ack.clone();
    opt.start = orderline::sip::StartLine::Request {
        method: orderline::sip::Method::Options,
        uri: ack.to.uri.clone(),
    };
    opt.cseq = orderline::sip::header::CSeq {
        seq: 2,
        method: "OPTIONS".into(),
    };
    opt.via[0].params = vec![("branch".into(), Some("z9hG4bKopt1".into()))];
    p.b.handle_input(
        p.now,
        Input::Datagram {
            from: addr(5060),
            transport: Transport::Udp,
            bytes: &opt.to_bytes(),
        },
    );
    let r = Message::parse(&p.b.poll_transmit().unwrap().bytes).unwrap();
    assert_eq!(r.status(), Some(200));
    assert!(r.header("Allow").is_some());
    p.b.bye(p.now, b).unwrap();
    p.flush();
    assert_eq!(
        p.events_a.last(),
        Some(&(a, SipEvent::Ended { by_remote: true }))
    );
    assert_eq!(
        p.events_b.last(),
        Some(&(b, SipEvent::Ended { by_remote: false }))
    );
    // BYE in a dialog that no longer exists: 481.
    let mut bye = opt;
    bye.start = orderline::sip::StartLine::Request {
        method: orderline::sip::Method::Bye,
        uri: ack.to.uri.clone(),
    };
    bye.cseq = orderline::sip::header::CSeq {
        seq: 3,
        method: "BYE".into(),
    };
    bye.via[0].params = vec![("branch".into(), Some("z9hG4bKbye9".into()))];
    p.b.handle_input(
        p.now,
        Input::Datagram {
            from: addr(5060),
            transport: Transport::Udp,
            bytes: &bye.to_bytes(),
        },
    );
    assert_eq!(
        Message::parse(&p.b.poll_transmit().unwrap().bytes)
            .unwrap()
            .status(),
        Some(481)
    );
}

#[test]
fn reinvite_hold_is_answered_with_mirrored_sdp() {
    let mut p = Pair::new();
    let _a = p.call();
    let b = p.incoming();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.flush();
    let ack = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("ACK"))
        .unwrap()
        .msg
        .clone();
    let hold = b"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=sendonly\r\n";
    let mut re = ack.clone();
    re.start = orderline::sip::StartLine::Request {
        method: orderline::sip::Method::Invite,
        uri: ack.to.uri.clone(),
    };
    re.cseq = orderline::sip::header::CSeq {
        seq: 2,
        method: "INVITE".into(),
    };
    re.via[0].params = vec![("branch".into(), Some("z9hG4bKhold".into()))];
    re.content_type = Some("application/sdp".into());
    re.body = hold.to_vec();
    p.b.handle_input(
        p.now,
        Input::Datagram {
            from: addr(5060),
            transport: Transport::Udp,
            bytes: &re.to_bytes(),
        },
    );
    let r = Message::parse(&p.b.poll_transmit().unwrap().bytes).unwrap();
    assert_eq!(r.status(), Some(200));
    let body = String::from_utf8(r.body.clone()).unwrap();
    assert!(
        body.contains("a=recvonly") && body.contains("o=- 9 10 IN IP4"),
        "{body}"
    );
    assert!(std::iter::from_fn(|| p.b.poll_event())
        .any(|e| e == (b, SipEvent::MediaUpdate { sdp: hold.to_vec() })));
}

#[test]
fn same_seed_same_bytes() {
    let run = || {
        let mut p = Pair::new();
        p.call();
        p.wire.iter().map(|w| w.msg.to_bytes()).collect::<Vec<_>>()
    };
    assert_eq!(run(), run());
}

/// 401 then 407: each challenge is answered once, with CSeq + 1, the same
/// Call-ID and From tag, and a response `digest::verify` accepts; a third
/// challenge of the same kind after a failed answer ends the call.
#[test]
fn digest_challenges_are_answered_once_each() {
    use orderline::sip::{digest, Credentials};
    let cfg = EndpointConfig {
        listen: addr(5060),
        t1: T1,
        seed: 7,
        ..Default::default()
    };
    let mut a = Endpoint::new(cfg);
    let now = Instant::now();
    let id = a
        .invite(
            now,
            OutboundCall {
                request_uri: "sip:0300@127.0.0.1:5070".into(),
                from_user: "ol".into(),
                to_user: "0300".into(),
                sdp_offer: OFFER.to_vec(),
                credentials: Some(Credentials {
                    username: "shop".into(),
                    password: "s3cret".into(),
                }),
                outbound_proxy: None,
                transport: Transport::Udp,
            },
        )
        .unwrap();
    let inv1 = Message::parse(&a.poll_transmit().unwrap().bytes).unwrap();
    let mut challenge = |inv: &Message, status: u16, header: &str, alg: &str| {
        let mut r = inv.response(status, "Unauthorized", Some("srv"));
        r.other.push((
            header.into(),
            format!("Digest realm=\"pbx\", nonce=\"n{status}\", qop=\"auth\", algorithm={alg}"),
        ));
        a.handle_input(
            now,
            Input::Datagram {
                from: addr(5070),
                transport: Transport::Udp,
                bytes: &r.to_bytes(),
            },
        );
        let mut out = Vec::new();
        while let Some(t) = a.poll_transmit() {
            out.push(Message::parse(&t.bytes).unwrap());
        }
        let events: Vec<_> = std::iter::from_fn(|| a.poll_event()).collect();
        (out, events)
    };
    let (out, ev) = challenge(&inv1, 401, "WWW-Authenticate", "MD5");
    assert!(ev.is_empty());
    assert_eq!(out[0].method(), Some(&orderline::sip::Method::Ack));
    let inv2 = out[1].clone();
    assert_eq!(
        (inv2.cseq.seq, inv2.call_id.as_str(), inv2.from.tag()),
        (2, inv1.call_id.as_str(), inv1.from.tag())
    );
    assert_ne!(
        inv2.via[0].branch(),
        inv1.via[0].branch(),
        "a new transaction"
    );
    let auth = inv2.header("Authorization").expect("Authorization");
    assert!(digest::verify(auth, "INVITE", "s3cret", "pbx", "n401").unwrap());
    let (out, _) = challenge(&inv2, 407, "Proxy-Authenticate", "SHA-256");
    let inv3 = out[1].clone();
    assert_eq!(inv3.cseq.seq, 3);
    let pauth = inv3
        .header("Proxy-Authorization")
        .expect("Proxy-Authorization");
    assert!(pauth.contains("algorithm=SHA-256"), "{pauth}");
    assert!(digest::verify(pauth, "INVITE", "s3cret", "pbx", "n407").unwrap());
    assert!(
        inv3.header("Authorization").is_some(),
        "the 401 answer is kept"
    );
    let (out, ev) = challenge(&inv3, 401, "WWW-Authenticate", "MD5");
    assert_eq!(out.len(), 1, "only the ACK: no endless retry loop");
    assert!(matches!(ev.as_slice(), [(i, SipEvent::Failed { status: 401, .. })] if *i == id));
}

fn inject(ep: &mut Endpoint, now: Instant, bytes: &[u8]) -> Vec<Vec<u8>> {
    ep.handle_input(
        now,
        Input::Datagram {
            from: addr(5999),
            transport: Transport::Udp,
            bytes,
        },
    );
    std::iter::from_fn(|| ep.poll_transmit().map(|t| t.bytes)).collect()
}

fn torture(file: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../shared/testdata/rfc4475/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// §17.2.3 matching, with the RFC 2543 fallback (RFC 4475 §3.2.1): a
/// retransmitted request gets the very same response, not a new one.
#[test]
fn retransmissions_are_absorbed_by_the_server_transaction() {
    for file in ["lwsdisp.dat", "badbranch.dat"] {
        let mut ep = Endpoint::new(EndpointConfig::default());
        let now = Instant::now();
        let first = inject(&mut ep, now, &torture(file));
        let again = inject(&mut ep, now + Duration::from_millis(500), &torture(file));
        assert_eq!(first.len(), 1, "{file}");
        assert_eq!(
            first, again,
            "{file}: same response (same To tag) to the retransmission"
        );
    }
    let mut ep = Endpoint::new(EndpointConfig::default());
    let now = Instant::now();
    let inv = torture("inv2543.dat"); // no branch at all
    let first = inject(&mut ep, now, &inv);
    let again = inject(&mut ep, now + Duration::from_millis(500), &inv);
    assert_eq!(first, again, "100 Trying resent");
    let incoming = std::iter::from_fn(|| ep.poll_event())
        .filter(|(_, e)| matches!(e, SipEvent::Incoming(_)))
        .count();
    assert_eq!(incoming, 1, "one call, not two");
}

/// At thousands of setups a second the INVITE transactions kept 64·T1 after
/// each 2xx fill the table's cap for answers of our own; a BYE inside a live
/// dialog still gets its transaction, so when its 200 is lost the
/// retransmitted BYE is answered 200 again, not 481 (issue #16).
#[test]
fn a_bye_past_the_server_transaction_cap_is_still_absorbed() {
    let mut p = Pair::new();
    let a = p.call();
    let b = p.incoming();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.flush();
    for i in 0..10_000 {
        let options = format!(
            "OPTIONS sip:orders@127.0.0.1:5070 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKfill{i}\r\n\
             From: <sip:probe@127.0.0.1:5999>;tag=f{i}\r\n\
             To: <sip:orders@127.0.0.1:5070>\r\n\
             Call-ID: fill{i}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n"
        );
        let out = inject(&mut p.b, p.now, options.as_bytes());
        assert!(out[0].starts_with(b"SIP/2.0 200"));
    }
    let mut lost = false;
    p.drop = Box::new(move |w, _| {
        let first =
            !lost && w.first_line().starts_with("SIP/2.0 200") && w.msg.cseq.method == "BYE";
        lost |= first;
        first
    });
    p.a.bye(p.now, a).unwrap();
    p.run_until(Duration::from_secs(5));
    assert_eq!(p.count("BYE"), 2, "the BYE was retransmitted");
    assert_eq!(
        p.count("SIP/2.0 481"),
        0,
        "the BYE's transaction answered it"
    );
    assert!(p
        .events_a
        .contains(&(a, SipEvent::Ended { by_remote: false })));
}

#[test]
fn outbound_proxy_is_a_preloaded_route_and_record_route_is_followed() {
    let cfg = EndpointConfig {
        listen: addr(5060),
        t1: T1,
        seed: 3,
        ..Default::default()
    };
    let mut a = Endpoint::new(cfg);
    let now = Instant::now();
    a.invite(
        now,
        OutboundCall {
            request_uri: "sip:0300@192.0.2.10:5080".into(),
            from_user: "ol".into(),
            to_user: "0300".into(),
            sdp_offer: OFFER.to_vec(),
            credentials: None,
            outbound_proxy: Some("sip:127.0.0.1:5090".into()),
            transport: Transport::Udp,
        },
    )
    .unwrap();
    let t = a.poll_transmit().unwrap();
    assert_eq!(t.dest, addr(5090), "first hop is the proxy");
    let inv = Message::parse(&t.bytes).unwrap();
    assert_eq!(inv.route.len(), 1);
    assert_eq!(inv.route[0].uri.to_string(), "sip:127.0.0.1:5090;lr");
    assert!(inv
        .to_bytes()
        .starts_with(b"INVITE sip:0300@192.0.2.10:5080 SIP/2.0"));
    // 200 through two record-routing proxies.
    let mut ok = inv.response(200, "OK", Some("b1"));
    ok.record_route = vec![
        orderline::sip::header::NameAddr::parse("<sip:127.0.0.1:5091;lr>", "Record-Route").unwrap(),
        orderline::sip::header::NameAddr::parse("<sip:127.0.0.1:5090;lr>", "Record-Route").unwrap(),
    ];
    ok.contact =
        vec![
            orderline::sip::header::NameAddr::parse("<sip:callee@192.0.2.10:5080>", "Contact")
                .unwrap(),
        ];
    ok.content_type = Some("application/sdp".into());
    ok.body = ANSWER.to_vec();
    a.handle_input(
        now,
        Input::Datagram {
            from: addr(5090),
            transport: Transport::Udp,
            bytes: &ok.to_bytes(),
        },
    );
    let ack = a.poll_transmit().unwrap();
    assert_eq!(ack.dest, addr(5090), "§12.2.1.1: to the first route");
    let ack = Message::parse(&ack.bytes).unwrap();
    let routes: Vec<String> = ack.route.iter().map(|r| r.uri.to_string()).collect();
    assert_eq!(
        routes,
        vec!["sip:127.0.0.1:5090;lr", "sip:127.0.0.1:5091;lr"],
        "UAC reverses Record-Route"
    );
    assert!(
        ack.to_bytes()
            .starts_with(b"ACK sip:callee@192.0.2.10:5080 SIP/2.0"),
        "Request-URI = remote target"
    );
    assert_eq!(ack.to.tag(), Some("b1"));
}

#[test]
fn calls_beyond_the_limit_get_503() {
    let mut ep = Endpoint::new(EndpointConfig {
        max_calls: 1,
        ..Default::default()
    });
    let now = Instant::now();
    let one = inject(&mut ep, now, &torture("esc01.dat"));
    assert!(one[0].starts_with(b"SIP/2.0 100"));
    let two = inject(&mut ep, now, &torture("baddate.dat"));
    assert!(
        two[0].starts_with(b"SIP/2.0 503"),
        "{}",
        String::from_utf8_lossy(&two[0])
    );
}

/// 183 with SDP is early media: Progress carries the SDP; the 2xx then answers.
#[test]
fn early_media_183_carries_sdp() {
    let mut p = Pair::new();
    let a = p.call();
    let inv = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("INVITE"))
        .unwrap()
        .msg
        .clone();
    let mut r183 = inv.response(183, "Session Progress", Some("em1"));
    r183.content_type = Some("application/sdp".into());
    r183.body = ANSWER.to_vec();
    p.deliver_from_b(&r183.to_bytes());
    assert!(p.events_a.contains(&(
        a,
        SipEvent::Progress {
            status: 183,
            sdp: Some(ANSWER.to_vec())
        }
    )));
    // CANCEL is now allowed at once (a provisional arrived).
    p.a.cancel(p.now, a).unwrap();
    p.flush();
    let cancel = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("CANCEL"))
        .expect("CANCEL")
        .msg
        .clone();
    assert_eq!(
        cancel.to.tag(),
        None,
        "§9.1: CANCEL's To is the INVITE's (no tag)"
    );
}

#[test]
fn bad_uris_and_users_are_refused_before_anything_is_sent() {
    let mut ep = Endpoint::new(EndpointConfig::default());
    let now = Instant::now();
    let call = |uri: &str, user: &str| OutboundCall {
        request_uri: uri.into(),
        from_user: "orderline".into(),
        to_user: user.into(),
        sdp_offer: OFFER.to_vec(),
        credentials: None,
        outbound_proxy: None,
        transport: Transport::Udp,
    };
    use orderline::sip::SipError;
    assert!(matches!(
        ep.invite(now, call("sip:0300@127.0.0.1:5070", "03 00")),
        Err(SipError::InvalidUri { .. })
    ));
    assert!(matches!(
        ep.invite(now, call("sip:0300@pbx.example.com", "0300")),
        Err(SipError::Unroutable(_))
    ));
    assert!(matches!(
        ep.invite(now, call("<sip:0300@127.0.0.1>", "0300")),
        Err(SipError::InvalidUri { .. })
    ));
    assert!(ep
        .invite(now, call("sip:0300@127.0.0.1:5070", "%2B92300"))
        .is_ok());
    assert_eq!(ep.call_count(), 1);
}

/// A forked INVITE answered twice: the first 2xx makes the call; the second
/// fork's 2xx is ACKed and BYEd (§13.2.2.4) without any event.
#[test]
fn second_fork_2xx_is_acked_and_byed() {
    let mut p = Pair::new();
    p.drop = Box::new(|w, _| w.from == addr(5060)); // B never hears A: we play the forks
    let a = p.call();
    let inv = p
        .wire
        .iter()
        .find(|w| w.first_line().starts_with("INVITE"))
        .unwrap()
        .msg
        .clone();
    let answer = |tag: &str| {
        let mut ok = inv.response(200, "OK", Some(tag));
        ok.contact = vec![orderline::sip::header::NameAddr::parse(
            &format!("<sip:{tag}@127.0.0.1:5070>"),
            "Contact",
        )
        .unwrap()];
        ok.content_type = Some("application/sdp".into());
        ok.body = ANSWER.to_vec();
        ok.to_bytes()
    };
    p.deliver_from_b(&answer("fork1"));
    p.deliver_from_b(&answer("fork2"));
    let to_fork2: Vec<String> = p
        .wire
        .iter()
        .filter(|w| w.from == addr(5060) && w.msg.to.tag() == Some("fork2"))
        .map(Wire::first_line)
        .collect();
    assert_eq!(
        to_fork2,
        vec![
            "ACK sip:fork2@127.0.0.1:5070 SIP/2.0",
            "BYE sip:fork2@127.0.0.1:5070 SIP/2.0"
        ]
    );
    let answered: Vec<_> = p
        .events_a
        .iter()
        .filter(|(_, e)| matches!(e, SipEvent::Answered { .. }))
        .collect();
    assert_eq!(answered.len(), 1);
    // Retransmitted 2xx of the first fork: re-ACK, nothing else.
    p.deliver_from_b(&answer("fork1"));
    let acks_fork1 = p
        .wire
        .iter()
        .filter(|w| w.first_line().starts_with("ACK") && w.msg.to.tag() == Some("fork1"))
        .count();
    assert_eq!(acks_fork1, 2);
    assert!(!p
        .events_a
        .iter()
        .any(|(id, e)| *id == a && matches!(e, SipEvent::Ended { .. })));
}

/// After the CANCEL/2xx race was reported as Failed 487, a BYE from the far
/// end (crossing ours) produces no further event.
#[test]
fn crossing_byes_after_cancel_race_stay_quiet() {
    let mut p = Pair::new();
    p.drop = Box::new(|w, _| {
        let l = w.first_line();
        l.starts_with("CANCEL") || (l.starts_with("BYE") && w.from == addr(5060))
    });
    let a = p.call();
    let b = p.incoming();
    p.b.ringing(p.now, b).unwrap();
    p.flush();
    p.a.cancel(p.now, a).unwrap();
    p.b.answer(p.now, b, ANSWER.to_vec()).unwrap();
    p.flush();
    p.b.bye(p.now, b).unwrap();
    p.run_until(Duration::from_secs(30));
    let after_failed: Vec<_> = p
        .events_a
        .iter()
        .skip_while(|(_, e)| !matches!(e, SipEvent::Failed { status: 487, .. }))
        .collect();
    assert_eq!(
        after_failed.len(),
        1,
        "nothing after Failed 487: {:?}",
        p.events_a
    );
    assert_eq!(p.a.call_count(), 0);
}
