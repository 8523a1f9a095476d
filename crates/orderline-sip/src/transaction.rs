//! The four transaction state machines of RFC 3261 §17 (with the INVITE
//! server "Accepted" state of RFC 6026 §8.7), as pure functions of
//! `(Instant, input)`. No clock is read here: time is passed in and
//! [`Transaction::deadline`] tells the caller when to call back.
//!
//! A transaction's output is a list of [`TxOutput`]: octets to (re)send to
//! its peer, a response for the transaction user, a timeout, or the end.

use std::time::{Duration, Instant};

use super::header::MAGIC_COOKIE;
use super::message::{Message, Method, StartLine};

/// RFC 3261 §17.1.1.1 timer values (T1 configurable; tests use small T1).
#[derive(Debug, Clone, Copy)]
pub struct TimerConfig {
    pub t1: Duration,
    pub t2: Duration,
    pub t4: Duration,
}

impl TimerConfig {
    /// T2 and T4 scaled with T1 (defaults 500 ms / 4 s / 5 s).
    pub fn with_t1(t1: Duration) -> TimerConfig {
        TimerConfig {
            t1,
            t2: t1 * 8,
            t4: t1 * 10,
        }
    }
    /// 64·T1: Timers B, F, H, J, L.
    pub fn t64(&self) -> Duration {
        self.t1 * 64
    }
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig::with_t1(Duration::from_millis(500))
    }
}

/// What a transaction asks of its user and transport.
#[derive(Debug, Clone)]
pub enum TxOutput {
    /// Send these octets to the transaction's peer.
    Send(Vec<u8>),
    /// Client transactions: a response for the transaction user.
    Response(Box<Message>),
    /// Timer B/F (client, no final response) or H (server, no ACK).
    Timeout,
}

/// Transaction kind (RFC 3261 §17: four machines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    InviteClient,
    NonInviteClient,
    InviteServer,
    NonInviteServer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// INVITE client before any response; non-INVITE client "Trying".
    Calling,
    Trying,
    Proceeding,
    Completed,
    /// INVITE server after ACK (Timer I running).
    Confirmed,
    /// RFC 6026: INVITE server after a 2xx (Timer L running).
    Accepted,
    Terminated,
}

/// One transaction (RFC 3261 §17.1 or §17.2).
#[derive(Debug)]
pub struct Transaction {
    pub kind: Kind,
    pub state: State,
    reliable: bool,
    timers: TimerConfig,
    /// Client: the request; server: the last response sent.
    last_sent: Vec<u8>,
    /// INVITE client: the request, to build the ACK for a non-2xx (§17.1.1.3).
    invite: Option<Message>,
    ack: Option<Vec<u8>>,
    /// Retransmission timer (A, E or G) and its current interval.
    retransmit_at: Option<Instant>,
    interval: Duration,
    /// Timeout timer (B, F, H) or the end-of-state timer (D, K, I, J, L).
    end_at: Option<Instant>,
}

impl Transaction {
    /// Start a client transaction and return the octets to send first.
    /// `reliable` = TCP: no retransmissions, zero wait states (§17.1.1.2).
    pub fn client(
        now: Instant,
        request: &Message,
        reliable: bool,
        timers: TimerConfig,
    ) -> (Transaction, Vec<u8>) {
        let bytes = request.to_bytes();
        let invite = request.method() == Some(&Method::Invite);
        let tx = Transaction {
            kind: if invite {
                Kind::InviteClient
            } else {
                Kind::NonInviteClient
            },
            state: if invite {
                State::Calling
            } else {
                State::Trying
            },
            reliable,
            timers,
            last_sent: bytes.clone(),
            invite: invite.then(|| request.clone()),
            ack: None,
            retransmit_at: (!reliable).then(|| now + timers.t1),
            interval: timers.t1,
            end_at: Some(now + timers.t64()),
        };
        (tx, bytes)
    }

    /// Start a server transaction for a received request (§17.2).
    pub fn server(request: &Message, reliable: bool, timers: TimerConfig) -> Transaction {
        let invite = request.method() == Some(&Method::Invite);
        Transaction {
            kind: if invite {
                Kind::InviteServer
            } else {
                Kind::NonInviteServer
            },
            state: if invite {
                State::Proceeding
            } else {
                State::Trying
            },
            reliable,
            timers,
            last_sent: Vec::new(),
            invite: None,
            ack: None,
            retransmit_at: None,
            interval: timers.t1,
            end_at: None,
        }
    }

    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    /// The earliest instant at which [`Transaction::on_timeout`] must run.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.end_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn wait(&self, unreliable: Duration) -> Duration {
        if self.reliable {
            Duration::ZERO
        } else {
            unreliable
        }
    }

    /// Fire every timer due at `now`.
    pub fn on_timeout(&mut self, now: Instant, out: &mut Vec<TxOutput>) {
        if let Some(end) = self.end_at.filter(|&e| e <= now) {
            let _ = end;
            self.end_at = None;
            self.retransmit_at = None;
            let timed_out = match (self.kind, self.state) {
                (Kind::InviteClient, State::Calling) => true, // Timer B
                (Kind::NonInviteClient, State::Trying | State::Proceeding) => true, // Timer F
                (Kind::InviteServer, State::Completed) => true, // Timer H
                (Kind::InviteClient, State::Proceeding) => {
                    // No Timer B after a provisional (§17.1.1.2); the TU cancels.
                    return;
                }
                _ => false, // D, K, I, J, L
            };
            self.state = State::Terminated;
            if timed_out {
                out.push(TxOutput::Timeout);
            }
            return;
        }
        if let Some(at) = self.retransmit_at.filter(|&a| a <= now) {
            let _ = at;
            match (self.kind, self.state) {
                // Timer A: doubles without cap (§17.1.1.2).
                (Kind::InviteClient, State::Calling) => {
                    self.interval *= 2;
                    out.push(TxOutput::Send(self.last_sent.clone()));
                }
                // Timer E: doubles up to T2; T2 once Proceeding (§17.1.2.2).
                (Kind::NonInviteClient, State::Trying) => {
                    self.interval = (self.interval * 2).min(self.timers.t2);
                    out.push(TxOutput::Send(self.last_sent.clone()));
                }
                (Kind::NonInviteClient, State::Proceeding) => {
                    self.interval = self.timers.t2;
                    out.push(TxOutput::Send(self.last_sent.clone()));
                }
                // Timer G: response retransmission, doubles up to T2 (§17.2.1).
                (Kind::InviteServer, State::Completed) => {
                    self.interval = (self.interval * 2).min(self.timers.t2);
                    out.push(TxOutput::Send(self.last_sent.clone()));
                }
                _ => {
                    self.retransmit_at = None;
                    return;
                }
            }
            self.retransmit_at = Some(now + self.interval);
        }
    }

    /// Client transactions: a response matched to this transaction (§17.1.3).
    pub fn on_response(&mut self, now: Instant, resp: Message, out: &mut Vec<TxOutput>) {
        let Some(status) = resp.status() else { return };
        match (self.kind, self.state) {
            (Kind::InviteClient, State::Calling | State::Proceeding) => {
                if status < 200 {
                    self.state = State::Proceeding;
                    self.retransmit_at = None;
                    if self.end_at.is_some() && self.state == State::Proceeding {
                        self.end_at = None;
                    }
                    out.push(TxOutput::Response(Box::new(resp)));
                } else if status < 300 {
                    // 2xx: the TU (dialog) sends the ACK (§13.2.2.4).
                    self.state = State::Terminated;
                    self.retransmit_at = None;
                    self.end_at = None;
                    out.push(TxOutput::Response(Box::new(resp)));
                } else {
                    let ack = self.ack_for(&resp);
                    out.push(TxOutput::Send(ack.clone()));
                    self.ack = Some(ack);
                    self.state = State::Completed;
                    self.retransmit_at = None;
                    self.end_at =
                        Some(now + self.wait(Duration::from_secs(32).min(self.timers.t64()))); // Timer D
                    out.push(TxOutput::Response(Box::new(resp)));
                }
            }
            (Kind::InviteClient, State::Completed) => {
                // Retransmitted final response: ACK again, not passed up.
                if let Some(ack) = &self.ack {
                    out.push(TxOutput::Send(ack.clone()));
                }
            }
            (Kind::NonInviteClient, State::Trying | State::Proceeding) => {
                if status < 200 {
                    self.state = State::Proceeding;
                } else {
                    self.state = State::Completed;
                    self.retransmit_at = None;
                    self.end_at = Some(now + self.wait(self.timers.t4)); // Timer K
                }
                out.push(TxOutput::Response(Box::new(resp)));
            }
            _ => {}
        }
    }

    /// ACK for a non-2xx final response (RFC 3261 §17.1.1.3).
    fn ack_for(&self, resp: &Message) -> Vec<u8> {
        let Some(inv) = &self.invite else {
            return Vec::new();
        };
        let mut ack = inv.clone();
        if let StartLine::Request { method, .. } = &mut ack.start {
            *method = Method::Ack;
        }
        ack.via.truncate(1);
        ack.to = resp.to.clone();
        ack.cseq.method = "ACK".into();
        ack.body.clear();
        ack.content_type = None;
        ack.contact.clear();
        ack.other
            .retain(|(n, _)| n == "Authorization" || n == "Proxy-Authorization");
        ack.to_bytes()
    }

    /// Server transactions: the TU sends a response (§17.2.1, §17.2.2).
    pub fn send_response(
        &mut self,
        now: Instant,
        status: u16,
        bytes: Vec<u8>,
        out: &mut Vec<TxOutput>,
    ) {
        match (self.kind, self.state) {
            (Kind::InviteServer, State::Proceeding) => {
                out.push(TxOutput::Send(bytes.clone()));
                self.last_sent = bytes;
                if (200..300).contains(&status) {
                    self.state = State::Accepted;
                    self.end_at = Some(now + self.timers.t64()); // Timer L
                } else if status >= 300 {
                    self.state = State::Completed;
                    self.interval = self.timers.t1;
                    self.retransmit_at = (!self.reliable).then(|| now + self.timers.t1); // Timer G
                    self.end_at = Some(now + self.timers.t64()); // Timer H
                }
            }
            (Kind::NonInviteServer, State::Trying | State::Proceeding) => {
                out.push(TxOutput::Send(bytes.clone()));
                self.last_sent = bytes;
                if status < 200 {
                    self.state = State::Proceeding;
                } else {
                    self.state = State::Completed;
                    self.end_at = Some(now + self.wait(self.timers.t64())); // Timer J
                }
            }
            _ => {}
        }
    }

    /// Server transactions: the request arrived again (§17.2.1, §17.2.2).
    pub fn on_retransmitted_request(&mut self, out: &mut Vec<TxOutput>) {
        let resend = matches!(
            (self.kind, self.state),
            (
                Kind::InviteServer | Kind::NonInviteServer,
                State::Proceeding | State::Completed
            )
        );
        if resend && !self.last_sent.is_empty() {
            out.push(TxOutput::Send(self.last_sent.clone()));
        }
    }

    /// INVITE server: ACK for our non-2xx final (§17.2.1) → Confirmed, Timer I.
    pub fn on_ack(&mut self, now: Instant) {
        if self.kind == Kind::InviteServer && self.state == State::Completed {
            self.state = State::Confirmed;
            self.retransmit_at = None;
            self.end_at = Some(now + self.wait(self.timers.t4));
        }
    }
}

/// Server transaction key (RFC 3261 §17.2.3), with the RFC 2543 fallback
/// when the top Via branch lacks the magic cookie (RFC 4475 §3.2.1).
/// ACK and CANCEL are keyed with the method they refer to by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: String,
    },
    Rfc2543 {
        request_uri: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
        via: String,
        method: String,
    },
}

impl ServerKey {
    /// The key of `req`, treating it as if its method were `method`
    /// (INVITE for an ACK to a non-2xx; the request's own method otherwise).
    pub fn of(req: &Message, method: &str) -> Option<ServerKey> {
        let top = req.via.first()?;
        match top.branch() {
            Some(b) if b.starts_with(MAGIC_COOKIE) && b.len() > MAGIC_COOKIE.len() => {
                Some(ServerKey::Rfc3261 {
                    branch: b.to_string(),
                    sent_by: top.sent_by(),
                    method: method.to_string(),
                })
            }
            _ => {
                let StartLine::Request { uri, .. } = &req.start else {
                    return None;
                };
                Some(ServerKey::Rfc2543 {
                    request_uri: uri.to_string(),
                    from_tag: req.from.tag().unwrap_or("").to_string(),
                    call_id: req.call_id.clone(),
                    cseq: req.cseq.seq,
                    via: top.to_string(),
                    method: method.to_string(),
                })
            }
        }
    }
}

/// Client transaction key (RFC 3261 §17.1.3): branch and CSeq method.
pub fn client_key(resp: &Message) -> Option<(String, String)> {
    let b = resp.via.first()?.branch()?;
    Some((b.to_string(), resp.cseq.method.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Message {
        Message::parse(b"INVITE sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n").unwrap()
    }

    fn drive(tx: &mut Transaction, from: Instant, until: Duration) -> Vec<Duration> {
        let mut sends = Vec::new();
        while let Some(d) = tx.deadline() {
            if d > from + until {
                break;
            }
            let mut out = Vec::new();
            tx.on_timeout(d, &mut out);
            for o in out {
                if let TxOutput::Send(_) = o {
                    sends.push(d - from);
                }
                if let TxOutput::Timeout = o {
                    sends.push(Duration::MAX);
                }
            }
        }
        sends
    }

    #[test]
    fn timer_a_doubles_and_b_fires_at_64_t1() {
        let t0 = Instant::now();
        let timers = TimerConfig::with_t1(Duration::from_millis(10));
        let (mut tx, _) = Transaction::client(t0, &invite(), false, timers);
        let s = drive(&mut tx, t0, Duration::from_secs(5));
        let ms: Vec<u128> = s
            .iter()
            .filter(|d| **d != Duration::MAX)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(ms, vec![10, 30, 70, 150, 310, 630]);
        assert_eq!(
            s.last(),
            Some(&Duration::MAX),
            "Timer B must report a timeout"
        );
        assert!(tx.is_terminated());
    }

    #[test]
    fn non_2xx_gets_ack_on_same_branch_and_retransmits_are_reacked() {
        let t0 = Instant::now();
        let (mut tx, _) = Transaction::client(t0, &invite(), false, TimerConfig::default());
        let inv = invite();
        let mut resp = inv.response(486, "Busy Here", Some("xyz"));
        resp.via.truncate(1);
        let mut out = Vec::new();
        tx.on_response(t0, resp.clone(), &mut out);
        let acks: Vec<_> = out
            .iter()
            .filter_map(|o| {
                if let TxOutput::Send(b) = o {
                    Some(b.clone())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(acks.len(), 1);
        let ack = Message::parse(&acks[0]).unwrap();
        assert_eq!(ack.method(), Some(&Method::Ack));
        assert_eq!(ack.via[0].branch(), Some("z9hG4bK1"));
        assert_eq!(ack.to.tag(), Some("xyz"));
        assert_eq!(
            ack.cseq,
            CSeq {
                seq: 1,
                method: "ACK".into()
            }
        );
        let mut out2 = Vec::new();
        tx.on_response(t0, resp, &mut out2);
        assert!(
            matches!(out2.as_slice(), [TxOutput::Send(_)]),
            "retransmitted final is re-ACKed, not passed up"
        );
    }

    #[test]
    fn invite_server_timer_g_and_h() {
        let t0 = Instant::now();
        let timers = TimerConfig::with_t1(Duration::from_millis(10));
        let mut tx = Transaction::server(&invite(), false, timers);
        let mut out = Vec::new();
        tx.send_response(t0, 486, b"resp".to_vec(), &mut out);
        assert_eq!(tx.state, State::Completed);
        let s = drive(&mut tx, t0, Duration::from_secs(5));
        let ms: Vec<u128> = s
            .iter()
            .filter(|d| **d != Duration::MAX)
            .map(|d| d.as_millis())
            .collect();
        assert_eq!(ms[..4], [10, 30, 70, 150]);
        assert!(
            ms.windows(2).all(|w| w[1] - w[0] <= 80),
            "G capped at T2: {ms:?}"
        );
        assert_eq!(s.last(), Some(&Duration::MAX));
    }

    #[test]
    fn reliable_transport_has_no_retransmissions() {
        let t0 = Instant::now();
        let (mut tx, _) = Transaction::client(t0, &invite(), true, TimerConfig::default());
        let s = drive(&mut tx, t0, Duration::from_secs(60));
        assert_eq!(s, vec![Duration::MAX]);
    }

    use super::super::header::CSeq;
}
