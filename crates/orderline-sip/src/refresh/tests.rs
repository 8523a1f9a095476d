//! Session timers between two endpoints on simulated time (RFC 4028).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::endpoint::{
    CallRef, Endpoint, EndpointConfig, Input, OutboundCall, SipEvent, Transport,
};
use crate::session_timer::SessionTimerConfig;

const SDP: &[u8] = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn timers(expires: u64, min_se: u64) -> SessionTimerConfig {
    SessionTimerConfig {
        expires: Duration::from_secs(expires),
        min_se: Duration::from_secs(min_se),
    }
}

/// Two endpoints wired back to back; `filter` sees every message (from a?,
/// text) and may drop it (`None`) or rewrite it.
struct Net {
    a: Endpoint,
    b: Endpoint,
    a_addr: SocketAddr,
    b_addr: SocketAddr,
    now: Instant,
    filter: Box<dyn FnMut(bool, String) -> Option<String>>,
    seen: Vec<(bool, String)>,
    a_events: Vec<SipEvent>,
    b_events: Vec<SipEvent>,
}

impl Net {
    fn new(a: SessionTimerConfig, b: SessionTimerConfig) -> Net {
        let a_addr: SocketAddr = "127.0.0.1:5060".parse().expect("addr");
        let b_addr: SocketAddr = "127.0.0.2:5060".parse().expect("addr");
        let cfg = |listen, seed, session_timer| EndpointConfig {
            listen,
            public_addr: listen.ip(),
            t1: Duration::from_millis(100),
            seed,
            session_timer,
            ..Default::default()
        };
        Net {
            a: Endpoint::new(cfg(a_addr, 1, a)),
            b: Endpoint::new(cfg(b_addr, 2, b)),
            a_addr,
            b_addr,
            now: Instant::now(),
            filter: Box::new(|_, m| Some(m)),
            seen: Vec::new(),
            a_events: Vec::new(),
            b_events: Vec::new(),
        }
    }

    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(t) = self.a.poll_transmit() {
                moved = true;
                let text = String::from_utf8_lossy(&t.bytes).into_owned();
                self.seen.push((true, text.clone()));
                if let Some(m) = (self.filter)(true, text) {
                    let input = Input::Datagram {
                        from: self.a_addr,
                        transport: Transport::Udp,
                        bytes: m.as_bytes(),
                    };
                    self.b.handle_input(self.now, input);
                }
            }
            while let Some(t) = self.b.poll_transmit() {
                moved = true;
                let text = String::from_utf8_lossy(&t.bytes).into_owned();
                self.seen.push((false, text.clone()));
                if let Some(m) = (self.filter)(false, text) {
                    let input = Input::Datagram {
                        from: self.b_addr,
                        transport: Transport::Udp,
                        bytes: m.as_bytes(),
                    };
                    self.a.handle_input(self.now, input);
                }
            }
            while let Some((id, ev)) = self.b.poll_event() {
                if matches!(ev, SipEvent::Incoming(_)) {
                    self.b.answer(self.now, id, SDP.to_vec()).expect("answer");
                }
                self.b_events.push(ev);
                moved = true;
            }
            while let Some((_, ev)) = self.a.poll_event() {
                self.a_events.push(ev);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }

    /// Run both endpoints' timers until `d` from now has passed.
    fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        loop {
            self.pump();
            let next = [self.a.poll_timeout(), self.b.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(t) if t <= end => {
                    self.now = self.now.max(t);
                    self.a.handle_timeout(self.now);
                    self.b.handle_timeout(self.now);
                }
                _ => {
                    self.now = end;
                    self.pump();
                    return;
                }
            }
        }
    }

    fn call(&mut self) -> CallRef {
        let call = OutboundCall {
            request_uri: format!("sip:0300@{}", self.b_addr),
            from_user: "orderline".into(),
            to_user: "0300".into(),
            sdp_offer: SDP.to_vec(),
            credentials: None,
            outbound_proxy: None,
            transport: Transport::Udp,
        };
        let id = self.a.invite(self.now, call).expect("invite");
        self.run_for(Duration::from_millis(500));
        assert!(
            self.a_events
                .iter()
                .any(|e| matches!(e, SipEvent::Answered { .. })),
            "not answered: {:?}",
            self.a_events
        );
        id
    }

    fn sent(&self, by_a: bool, start: &str) -> usize {
        self.seen
            .iter()
            .filter(|(a, m)| *a == by_a && m.starts_with(start))
            .count()
    }

    fn ended(events: &[SipEvent]) -> bool {
        events.iter().any(|e| matches!(e, SipEvent::Ended { .. }))
    }
}

#[test]
fn the_uac_refreshes_with_update_and_the_call_lives_on() {
    let mut n = Net::new(timers(4, 2), timers(1800, 2));
    n.call();
    let ok = n
        .seen
        .iter()
        .find(|(a, m)| !a && m.starts_with("SIP/2.0 200"))
        .expect("200")
        .1
        .clone();
    assert!(
        ok.contains("Session-Expires: 4;refresher=uac") && ok.contains("Require: timer"),
        "{ok}"
    );
    n.run_for(Duration::from_secs(11));
    // Every half interval: at 2, 4, 6, 8, 10 s.
    assert_eq!(n.sent(true, "UPDATE "), 5, "{:?}", n.seen);
    assert_eq!(n.sent(true, "INVITE "), 1);
    assert!(!Net::ended(&n.a_events) && !Net::ended(&n.b_events));
    assert_eq!(n.a.call_count(), 1);
    assert_eq!(n.b.call_count(), 1);
}

#[test]
fn without_update_in_allow_the_refresh_is_a_reinvite_with_our_sdp() {
    let mut n = Net::new(timers(4, 2), timers(1800, 2));
    n.filter = Box::new(|from_a, m| Some(if from_a { m } else { m.replace(", UPDATE", "") }));
    n.call();
    n.run_for(Duration::from_secs(5));
    assert_eq!(n.sent(true, "UPDATE "), 0);
    assert_eq!(
        n.sent(true, "INVITE "),
        3,
        "the call, then refreshes at 2 and 4 s"
    );
    let reinvite = n
        .seen
        .iter()
        .filter(|(a, m)| *a && m.starts_with("INVITE "))
        .nth(1)
        .expect("refresh")
        .1
        .clone();
    assert!(
        reinvite.contains("o=- 1 1 IN IP4")
            && reinvite.contains("Session-Expires: 4;refresher=uac"),
        "{reinvite}"
    );
    assert!(n.sent(true, "ACK ") >= 3, "each 2xx ACKed");
    assert!(!Net::ended(&n.a_events) && !Net::ended(&n.b_events));
}

#[test]
fn a_too_short_interval_gets_422_and_the_uac_asks_again() {
    let mut n = Net::new(timers(4, 2), timers(1800, 10));
    n.call();
    let refused = n
        .seen
        .iter()
        .find(|(a, m)| !a && m.starts_with("SIP/2.0 422"))
        .expect("422")
        .1
        .clone();
    assert!(refused.contains("Min-SE: 10"), "{refused}");
    let second = n
        .seen
        .iter()
        .filter(|(a, m)| *a && m.starts_with("INVITE "))
        .nth(1)
        .expect("retry")
        .1
        .clone();
    assert!(second.contains("Session-Expires: 10\r\n"), "{second}");
    n.run_for(Duration::from_secs(6));
    assert_eq!(n.sent(true, "UPDATE "), 1, "refresh at half of 10 s");
}

#[test]
fn an_unanswered_refresh_ends_the_call_with_bye() {
    let mut n = Net::new(timers(4, 2), timers(1800, 2));
    let id = n.call();
    // The far end vanishes: nothing goes either way any more.
    n.filter = Box::new(|_, _| None);
    n.run_for(Duration::from_secs(6));
    let expired = n
        .a_events
        .iter()
        .find(|e| matches!(e, SipEvent::SessionExpired { .. }));
    assert_eq!(expired, Some(&SipEvent::SessionExpired { status: 408 }));
    assert!(n.sent(true, "BYE ") >= 1, "BYE sent");
    n.run_for(Duration::from_secs(10));
    assert!(Net::ended(&n.a_events), "{:?}", n.a_events);
    assert_eq!(n.a.call_count(), 0, "{id} forgotten");
}

#[test]
fn the_other_side_ends_a_session_nobody_refreshes() {
    let mut n = Net::new(timers(6, 2), timers(1800, 2));
    n.call();
    // The refresher (a) never gets its UPDATE through.
    n.filter = Box::new(|_, m| (!m.starts_with("UPDATE ")).then_some(m));
    n.run_for(Duration::from_secs(3));
    assert!(n
        .b_events
        .iter()
        .all(|e| !matches!(e, SipEvent::SessionExpired { .. })));
    // §10: BYE at interval - min(32, interval/3) = 4 s.
    n.run_for(Duration::from_millis(1100));
    assert!(
        n.b_events.contains(&SipEvent::SessionExpired { status: 0 }),
        "{:?}",
        n.b_events
    );
    assert!(n.sent(false, "BYE ") >= 1);
}
