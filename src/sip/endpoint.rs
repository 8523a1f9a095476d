//! The sans-IO SIP endpoint (str0m / quinn-proto style): octets and time in,
//! octets, events and the next deadline out. It is the transaction user of
//! RFC 3261 §17 and holds the dialogs (§12) of every call, UAC and UAS.
//!
//! It never reads a clock, never touches a socket, and its randomness (Call-ID,
//! tags, branches) comes from a seeded RNG, so two endpoints can be run
//! against each other in a test on simulated time.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use super::dialog::{CallRef, Transport};
use super::dialog::{reoffer, uri_addr, Call, CallState, PendingOk, Role};
use super::error::{sanitize_reason, SipError};
use super::header::{NameAddr, Via, MAGIC_COOKIE};
use super::message::{error_response_from_raw, Framing, Message, Method, RawMessage, StartLine};
use super::transaction::{client_key, Kind, ServerKey, State, TimerConfig, Transaction, TxOutput};
use super::uri::{SipUri, Uri};
use super::validate::{self, check_request, response_acceptable};

/// Endpoint settings.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// Where the driver listens (UDP and TCP).
    pub listen: SocketAddr,
    /// Address written into Via and Contact (DESIGN `[sip] public_addr`).
    pub public_addr: IpAddr,
    /// RFC 3261 T1; T2 = 8·T1, T4 = 10·T1.
    pub t1: Duration,
    pub user_agent: String,
    /// Seed of the RNG for Call-IDs, tags and branches.
    pub seed: u64,
    /// Calls (UAC + UAS) above which new INVITEs get 503 (RFC 3261 §21.5.4).
    pub max_calls: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 5060)),
            public_addr: IpAddr::from([127, 0, 0, 1]),
            t1: Duration::from_millis(500),
            user_agent: "orderline".into(),
            seed: 0,
            max_calls: 1000,
        }
    }
}

impl From<&crate::config::SipConfig> for EndpointConfig {
    /// `[sip] listen`, `public_addr`, `t1_ms`, `user_agent`; a fresh seed.
    fn from(c: &crate::config::SipConfig) -> Self {
        EndpointConfig {
            listen: c.listen,
            public_addr: c.public_addr,
            t1: Duration::from_millis(c.t1_ms.max(1)),
            user_agent: c.user_agent.clone(),
            seed: rand::random(),
            ..Default::default()
        }
    }
}

/// Digest credentials for 401/407 (RFC 3261 §22).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("username", &self.username).field("password", &"<redacted>").finish()
    }
}

/// An outbound call to place.
#[derive(Debug, Clone)]
pub struct OutboundCall {
    /// `sip:user@ip:port` (IP literal; resolve names before).
    pub request_uri: String,
    pub from_user: String,
    pub to_user: String,
    pub sdp_offer: Vec<u8>,
    pub credentials: Option<Credentials>,
    /// `sip:ip:port` of an outbound proxy, sent as a pre-loaded Route (§8.1.2).
    pub outbound_proxy: Option<String>,
    pub transport: Transport,
}

/// An inbound INVITE, as the application sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    pub request_uri: String,
    pub from: String,
    pub to: String,
    pub call_id: String,
    /// The SDP offer (empty for a late-offer INVITE).
    pub sdp: Vec<u8>,
    pub source: SocketAddr,
}

/// What happens to a call, in order, per call.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SipEvent {
    /// UAS: a new inbound call (answer, ring or reject it).
    Incoming(Box<IncomingCall>),
    /// UAC: 1xx, with SDP for early media (183).
    Progress { status: u16, sdp: Option<Vec<u8>> },
    /// UAC: 2xx with the remote SDP. UAS: the ACK arrived, with the offer.
    Answered { status: u16, sdp: Vec<u8> },
    /// The call attempt ended without a dialog: final status (408 on Timer B,
    /// 487 after CANCEL).
    Failed { status: u16, reason: String },
    /// A confirmed call ended by BYE.
    Ended { by_remote: bool },
    /// The remote re-INVITEd (hold/unhold): its new SDP.
    MediaUpdate { sdp: Vec<u8> },
}

/// Octets in.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// One UDP datagram, or one message framed off a TCP stream.
    Datagram { from: SocketAddr, transport: Transport, bytes: &'a [u8] },
}

/// Octets out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub dest: SocketAddr,
    pub transport: Transport,
    pub bytes: Vec<u8>,
}

/// What a client transaction was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Invite,
    Cancel,
    Bye,
}

struct ClientTx {
    tx: Transaction,
    dest: SocketAddr,
    transport: Transport,
    call: CallRef,
    purpose: Purpose,
}

struct ServerTx {
    tx: Transaction,
    dest: SocketAddr,
    transport: Transport,
    call: Option<CallRef>,
}

/// The SIP endpoint.
pub struct Endpoint {
    cfg: EndpointConfig,
    timers: TimerConfig,
    rng: StdRng,
    next_call: u64,
    calls: HashMap<CallRef, Call>,
    /// (Call-ID, local tag) → call.
    dialogs: HashMap<(String, String), CallRef>,
    client_txs: HashMap<(String, String), ClientTx>,
    server_txs: HashMap<ServerKey, ServerTx>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<(CallRef, SipEvent)>,
    credentials: HashMap<CallRef, Option<Credentials>>,
    /// Calls whose end was already reported (CANCEL/2xx race): no `Ended` for their BYE.
    quiet: std::collections::HashSet<CallRef>,
}

/// Server transactions kept for answers the TU gives itself (OPTIONS, 4xx):
/// each lives 64·T1; beyond this many, such answers are sent statelessly.
const MAX_SERVER_TRANSACTIONS: usize = 10_000;

/// RFC 3261 §21 reason phrases for the statuses we send.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        _ => "Unknown",
    }
}

/// Never answer toward broadcast, multicast or unspecified addresses (RFC 4475 §3.3.10).
fn sendable(a: &SocketAddr) -> bool {
    let ip_ok = match a.ip() {
        IpAddr::V4(v4) => !(v4.is_broadcast() || v4.is_multicast() || v4.is_unspecified()),
        IpAddr::V6(v6) => !(v6.is_multicast() || v6.is_unspecified()),
    };
    ip_ok && a.port() != 0
}

impl Endpoint {
    pub fn new(cfg: EndpointConfig) -> Endpoint {
        Endpoint {
            timers: TimerConfig::with_t1(cfg.t1),
            rng: StdRng::seed_from_u64(cfg.seed),
            cfg,
            next_call: 1,
            calls: HashMap::new(),
            dialogs: HashMap::new(),
            client_txs: HashMap::new(),
            server_txs: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            credentials: HashMap::new(),
            quiet: Default::default(),
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// Calls alive (any state).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Calls alive, with their state (for shutdown).
    pub fn calls(&self) -> Vec<(CallRef, bool)> {
        self.calls.iter().map(|(r, c)| (*r, c.state == CallState::Confirmed)).collect()
    }

    fn token(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n).map(|_| A[self.rng.gen_range(0..A.len())] as char).collect()
    }

    fn via(&mut self, t: Transport) -> Via {
        Via {
            transport: t.via_token().into(),
            host: self.cfg.public_addr.to_string(),
            port: Some(self.cfg.listen.port()),
            params: vec![("branch".into(), Some(format!("{MAGIC_COOKIE}{}", self.token(16)))), ("rport".into(), None)],
        }
    }

    fn contact(&self, user: &str, t: Transport) -> NameAddr {
        let mut u = SipUri::new(Some(user), &self.cfg.public_addr.to_string(), Some(self.cfg.listen.port()));
        if t == Transport::Tcp {
            u.params.push(("transport".into(), Some("tcp".into())));
        }
        NameAddr::new(Uri::Sip(u))
    }

    fn push(&mut self, dest: SocketAddr, transport: Transport, bytes: Vec<u8>) {
        if sendable(&dest) {
            self.transmits.push_back(Transmit { dest, transport, bytes });
        }
    }

    fn emit(&mut self, call: CallRef, ev: SipEvent) {
        self.events.push_back((call, ev));
    }

    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn poll_event(&mut self) -> Option<(CallRef, SipEvent)> {
        self.events.pop_front()
    }

    /// The earliest instant [`Endpoint::handle_timeout`] must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let tx = self.client_txs.values().filter_map(|t| t.tx.deadline());
        let stx = self.server_txs.values().filter_map(|t| t.tx.deadline());
        let calls = self.calls.values().flat_map(|c| {
            [c.cancel_deadline, c.pending_ok.as_ref().and_then(|p| p.next), c.pending_ok.as_ref().map(|p| p.give_up)]
        });
        tx.chain(stx).chain(calls.flatten()).min()
    }

    // ---------------------------------------------------------------- commands

    /// Place a call: INVITE with our SDP offer (RFC 3261 §13.2.1).
    pub fn invite(&mut self, now: Instant, call: OutboundCall) -> Result<CallRef, SipError> {
        if self.calls.len() >= self.cfg.max_calls {
            return Err(SipError::Overloaded);
        }
        let ruri = Uri::parse(&call.request_uri).map_err(|source| SipError::InvalidUri { uri: call.request_uri.clone(), source })?;
        let host = ruri.as_sip().map(|s| s.host.clone()).unwrap_or_default();
        let proxy = match &call.outbound_proxy {
            Some(p) => {
                let u = Uri::parse(p).map_err(|source| SipError::InvalidUri { uri: p.clone(), source })?;
                let mut u = match u {
                    Uri::Sip(s) => s,
                    Uri::Other { .. } => return Err(SipError::Unroutable(p.clone())),
                };
                if u.param("lr").is_none() {
                    u.params.push(("lr".into(), None));
                }
                Some(NameAddr::new(Uri::Sip(u)))
            }
            None => None,
        };
        let dest = match &proxy {
            Some(p) => uri_addr(&p.uri),
            None => uri_addr(&ruri),
        }
        .ok_or_else(|| SipError::Unroutable(host.clone()))?;
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let mut local = NameAddr::new(Uri::Sip(SipUri::new(Some(&call.from_user), &self.cfg.public_addr.to_string(), None)));
        let tag = self.token(10);
        local.set_tag(&tag);
        let remote = NameAddr::new(Uri::Sip(SipUri::new(Some(&call.to_user), &host, None)));
        let call_id = format!("{}@{}", self.token(20), self.cfg.public_addr);
        let contact = self.contact(&call.from_user, call.transport);
        let c = Call {
            role: Role::Uac,
            state: CallState::Initial,
            call_id: call_id.clone(),
            local,
            remote,
            remote_target: ruri,
            route_set: Vec::new(),
            outbound_proxy: proxy,
            local_seq: 1,
            remote_seq: None,
            peer: dest,
            transport: call.transport,
            contact,
            invite: None,
            auth_attempts: 0,
            cancel_wanted: false,
            cancel_sent: false,
            cancel_deadline: None,
            ack: None,
            local_sdp: call.sdp_offer,
            uas_invite: None,
            pending_ok: None,
            remote_sdp: Vec::new(),
        };
        self.dialogs.insert((call_id, tag), id);
        self.calls.insert(id, c);
        self.credentials.insert(id, call.credentials);
        self.send_invite(now, id, Vec::new());
        Ok(id)
    }

    fn send_invite(&mut self, now: Instant, id: CallRef, auth: Vec<(String, String)>) {
        let via = {
            let t = match self.calls.get(&id) {
                Some(c) => c.transport,
                None => return,
            };
            self.via(t)
        };
        let ua = self.cfg.user_agent.clone();
        let Some(c) = self.calls.get_mut(&id) else { return };
        let mut m = c.request(Method::Invite, c.local_seq, via);
        m.content_type = Some("application/sdp".into());
        m.body = c.local_sdp.clone();
        m.other.push(("Allow".into(), validate::ALLOW.into()));
        m.other.push(("User-Agent".into(), ua));
        m.other.extend(auth);
        c.invite = Some(m.clone());
        let (dest, transport) = (c.next_hop(), c.transport);
        self.start_client(now, id, &m, dest, transport, Purpose::Invite);
    }

    fn start_client(&mut self, now: Instant, id: CallRef, m: &Message, dest: SocketAddr, transport: Transport, purpose: Purpose) {
        let (tx, bytes) = Transaction::client(now, m, transport.reliable(), self.timers);
        let branch = m.via.first().and_then(|v| v.branch()).unwrap_or("").to_string();
        self.client_txs.insert((branch, m.cseq.method.clone()), ClientTx { tx, dest, transport, call: id, purpose });
        self.push(dest, transport, bytes);
    }

    /// CANCEL a call we placed (RFC 3261 §9.1): sent at once if a provisional
    /// arrived, else as soon as one does. Ends a confirmed call with BYE.
    pub fn cancel(&mut self, now: Instant, id: CallRef) -> Result<(), SipError> {
        let c = self.calls.get_mut(&id).ok_or(SipError::UnknownCall)?;
        match (c.role, c.state) {
            (Role::Uac, CallState::Initial) => {
                c.cancel_wanted = true;
                Ok(())
            }
            (Role::Uac, CallState::Early) => {
                c.cancel_wanted = true;
                self.send_cancel(now, id);
                Ok(())
            }
            (_, CallState::Confirmed | CallState::Answered) => self.bye(now, id),
            (Role::Uas, CallState::Initial | CallState::Early) => self.reject(now, id, 487),
            (_, CallState::Ending) => Ok(()),
        }
    }

    fn send_cancel(&mut self, now: Instant, id: CallRef) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.cancel_sent {
            return;
        }
        let Some(m) = c.cancel_request() else { return };
        c.cancel_sent = true;
        c.cancel_deadline = Some(now + self.timers.t64());
        let (dest, transport) = (c.next_hop(), c.transport);
        self.start_client(now, id, &m, dest, transport, Purpose::Cancel);
    }

    /// Hang up (RFC 3261 §15.1.1). Before the dialog is confirmed this is
    /// CANCEL (UAC) or a 480 rejection (UAS).
    pub fn bye(&mut self, now: Instant, id: CallRef) -> Result<(), SipError> {
        let c = self.calls.get_mut(&id).ok_or(SipError::UnknownCall)?;
        match (c.role, c.state) {
            (Role::Uac, CallState::Initial | CallState::Early) => return self.cancel(now, id),
            (Role::Uas, CallState::Initial | CallState::Early) => return self.reject(now, id, 480),
            (_, CallState::Ending) => return Ok(()),
            _ => {}
        }
        c.state = CallState::Ending;
        c.pending_ok = None;
        c.local_seq += 1;
        let seq = c.local_seq;
        let t = c.transport;
        let via = self.via(t);
        let Some(c) = self.calls.get_mut(&id) else { return Ok(()) };
        let m = c.request(Method::Bye, seq, via);
        let dest = c.next_hop();
        self.start_client(now, id, &m, dest, t, Purpose::Bye);
        Ok(())
    }

    fn uas_respond(&mut self, now: Instant, id: CallRef, status: u16, body: Option<Vec<u8>>) -> Result<(), SipError> {
        let ua = self.cfg.user_agent.clone();
        let c = self.calls.get_mut(&id).ok_or(SipError::UnknownCall)?;
        if c.role != Role::Uas || !matches!(c.state, CallState::Initial | CallState::Early) {
            return Err(SipError::InvalidState("only an unanswered inbound call can be answered, rung or rejected"));
        }
        let inv = c.uas_invite.clone().ok_or(SipError::InvalidState("no INVITE"))?;
        let tag = c.local.tag().unwrap_or("").to_string();
        let mut r = inv.response(status, reason_phrase(status), Some(&tag));
        r.other.push(("Server".into(), ua));
        if status < 300 {
            r.contact = vec![c.contact.clone()];
        }
        if (200..300).contains(&status) {
            r.other.push(("Allow".into(), validate::ALLOW.into()));
        }
        if let Some(b) = body {
            r.content_type = Some("application/sdp".into());
            r.body = b;
        }
        let bytes = r.to_bytes();
        let reliable = c.transport.reliable();
        match status {
            100..=199 => c.state = CallState::Early,
            200..=299 => {
                c.state = CallState::Answered;
                c.pending_ok = Some(PendingOk {
                    bytes: bytes.clone(),
                    cseq: inv.cseq.seq,
                    next: (!reliable).then(|| now + self.timers.t1),
                    interval: self.timers.t1,
                    give_up: now + self.timers.t64(),
                });
            }
            _ => {}
        }
        let key = ServerKey::of(&inv, "INVITE");
        let mut out = Vec::new();
        if let Some(st) = key.as_ref().and_then(|k| self.server_txs.get_mut(k)) {
            st.tx.send_response(now, status, bytes, &mut out);
            let (dest, t) = (st.dest, st.transport);
            self.flush(dest, t, out);
        }
        if status >= 300 {
            self.remove_call(id);
        }
        Ok(())
    }

    /// Answer an inbound call with our SDP (200 OK, retransmitted until ACK, §13.3.1.4).
    pub fn answer(&mut self, now: Instant, id: CallRef, sdp: Vec<u8>) -> Result<(), SipError> {
        if let Some(c) = self.calls.get_mut(&id) {
            c.local_sdp = sdp.clone();
        }
        self.uas_respond(now, id, 200, Some(sdp))
    }

    /// 180 Ringing.
    pub fn ringing(&mut self, now: Instant, id: CallRef) -> Result<(), SipError> {
        self.uas_respond(now, id, 180, None)
    }

    /// Reject an inbound call with a final status ≥ 300.
    pub fn reject(&mut self, now: Instant, id: CallRef, status: u16) -> Result<(), SipError> {
        let status = if (300..700).contains(&status) { status } else { 603 };
        self.uas_respond(now, id, status, None)
    }

    fn end_by_us(&mut self, id: CallRef) {
        if !self.quiet.remove(&id) && self.calls.contains_key(&id) {
            self.emit(id, SipEvent::Ended { by_remote: false });
        }
        self.remove_call(id);
    }

    fn remove_call(&mut self, id: CallRef) {
        if let Some(c) = self.calls.remove(&id) {
            self.dialogs.remove(&(c.call_id.clone(), c.local.tag().unwrap_or("").to_string()));
        }
        self.credentials.remove(&id);
    }

    fn flush(&mut self, dest: SocketAddr, transport: Transport, out: Vec<TxOutput>) {
        for o in out {
            if let TxOutput::Send(b) = o {
                self.push(dest, transport, b);
            }
        }
    }

    // ---------------------------------------------------------------- input

    /// Feed received octets.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        let Input::Datagram { from, transport, bytes } = input;
        let raw = match RawMessage::parse(bytes, Framing::Datagram) {
            Ok((raw, _)) => raw,
            Err(e) => {
                tracing::debug!(%from, error = %e, "unframable SIP message dropped");
                return;
            }
        };
        let msg = match Message::from_raw(&raw) {
            Ok(m) => m,
            Err(e) => {
                tracing::debug!(%from, error = %e, "malformed SIP message");
                let tag = self.token(10);
                if let Some(resp) = error_response_from_raw(&raw, e.status(), &e.reason_phrase(), &tag) {
                    self.push(from, transport, resp);
                }
                return;
            }
        };
        match &msg.start {
            StartLine::Response { .. } => self.on_response(now, msg),
            StartLine::Request { .. } => self.on_request(now, from, transport, msg),
        }
    }

    fn on_response(&mut self, now: Instant, resp: Message) {
        if !response_acceptable(&resp) {
            tracing::debug!(call_id = %resp.call_id, "response with several Vias discarded");
            return;
        }
        let Some(key) = client_key(&resp) else { return };
        let Some(ctx) = self.client_txs.get_mut(&key) else {
            self.stray_response(now, resp);
            return;
        };
        let mut out = Vec::new();
        ctx.tx.on_response(now, resp, &mut out);
        let (dest, t, call, purpose) = (ctx.dest, ctx.transport, ctx.call, ctx.purpose);
        let terminated = ctx.tx.is_terminated();
        for o in out {
            match o {
                TxOutput::Send(b) => self.push(dest, t, b),
                TxOutput::Response(r) => self.tu_response(now, call, purpose, *r),
                TxOutput::Timeout => {}
            }
        }
        if terminated {
            self.client_txs.remove(&key);
        }
    }

    /// A 2xx retransmitted after the INVITE transaction ended: ACK it again (§13.2.2.4).
    fn stray_response(&mut self, _now: Instant, resp: Message) {
        if resp.cseq.method != "INVITE" || !resp.status().is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
        let key = (resp.call_id.clone(), resp.from.tag().unwrap_or("").to_string());
        let Some(id) = self.dialogs.get(&key).copied() else { return };
        let Some(c) = self.calls.get(&id) else { return };
        if let Some(ack) = c.ack.clone() {
            let (dest, t) = (c.next_hop(), c.transport);
            self.push(dest, t, ack);
        }
    }

    fn tu_response(&mut self, now: Instant, id: CallRef, purpose: Purpose, r: Message) {
        let status = r.status().unwrap_or(0);
        match purpose {
            Purpose::Cancel => {}
            Purpose::Bye => {
                if status >= 200 {
                    self.end_by_us(id);
                }
            }
            Purpose::Invite => self.invite_response(now, id, r, status),
        }
    }

    fn invite_response(&mut self, now: Instant, id: CallRef, r: Message, status: u16) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.role != Role::Uac {
            return;
        }
        let sdp = (!r.body.is_empty()).then(|| r.body.clone());
        match status {
            100..=199 => {
                if status > 100 {
                    c.state = CallState::Early;
                    if r.to.tag().is_some() {
                        c.remote = r.to.clone();
                    }
                }
                let cancel = c.cancel_wanted && c.state == CallState::Early;
                self.emit(id, SipEvent::Progress { status, sdp });
                if cancel {
                    self.send_cancel(now, id);
                }
            }
            200..=299 => {
                if c.state == CallState::Confirmed {
                    return;
                }
                c.state = CallState::Confirmed;
                c.remote = r.to.clone();
                if let Some(ct) = r.contact.first() {
                    c.remote_target = ct.uri.clone();
                }
                c.route_set = r.record_route.iter().rev().cloned().collect();
                c.remote_sdp = r.body.clone();
                c.cancel_deadline = None;
                let cancelled = c.cancel_wanted;
                let seq = c.invite.as_ref().map(|i| i.cseq.seq).unwrap_or(c.local_seq);
                let t = c.transport;
                let via = self.via(t);
                let Some(c) = self.calls.get_mut(&id) else { return };
                let mut ack = c.request(Method::Ack, seq, via);
                ack.contact.clear();
                if let Some(inv) = &c.invite {
                    ack.other.extend(inv.other.iter().filter(|(n, _)| n == "Authorization" || n == "Proxy-Authorization").cloned());
                }
                let bytes = ack.to_bytes();
                c.ack = Some(bytes.clone());
                let dest = c.next_hop();
                self.push(dest, t, bytes);
                if cancelled {
                    // §9.1 race: the 2xx won over our CANCEL. ACK, then BYE.
                    self.emit(id, SipEvent::Failed { status: 487, reason: "cancelled (answered during CANCEL, BYE sent)".into() });
                    let _ = self.bye(now, id);
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.cancel_wanted = false;
                    }
                    self.quiet.insert(id);
                } else {
                    self.emit(id, SipEvent::Answered { status, sdp: r.body });
                }
            }
            401 | 407 if !c.cancel_wanted => {
                let hname = if status == 401 { "WWW-Authenticate" } else { "Proxy-Authenticate" };
                let aname = if status == 401 { "Authorization" } else { "Proxy-Authorization" };
                let creds = self.credentials.get(&id).cloned().flatten();
                let cnonce = self.token(16);
                let Some(c) = self.calls.get_mut(&id) else { return };
                let uri = c.remote_target.to_string();
                let bit = if status == 401 { 1 } else { 2 };
                let value = creds.filter(|_| c.auth_attempts & bit == 0).and_then(|cr| {
                    super::auth::answer_challenge(r.headers(hname), "INVITE", &uri, &cr, &cnonce, &c.local_sdp)
                });
                match value {
                    Some(v) => {
                        c.auth_attempts |= bit;
                        c.local_seq += 1; // §22.2: CSeq + 1, same Call-ID and tags.
                        let mut auth: Vec<(String, String)> = c
                            .invite
                            .as_ref()
                            .map(|i| i.other.iter().filter(|(n, _)| n == "Authorization" || n == "Proxy-Authorization").filter(|(n, _)| n != aname).cloned().collect())
                            .unwrap_or_default();
                        auth.push((aname.to_string(), v));
                        self.send_invite(now, id, auth);
                    }
                    None => {
                        self.emit(id, SipEvent::Failed { status, reason: reason_text(&r) });
                        self.remove_call(id);
                    }
                }
            }
            _ => {
                self.emit(id, SipEvent::Failed { status, reason: reason_text(&r) });
                self.remove_call(id);
            }
        }
    }

    /// Answer `req` statelessly-from-the-TU's view: a server transaction is
    /// created so retransmissions of the request get the same response.
    fn respond(&mut self, now: Instant, req: &Message, (from, t): (SocketAddr, Transport), status: u16, reason: &str, headers: Vec<(String, String)>) {
        if req.method() == Some(&Method::Ack) {
            return;
        }
        let tag = self.token(10);
        let mut r = req.response(status, reason, Some(&tag));
        r.other.extend(headers);
        let bytes = r.to_bytes();
        let method = req.method().map(|m| m.as_str().to_string()).unwrap_or_default();
        let mut out = Vec::new();
        // Past the cap, answer statelessly: a flood cannot grow the table.
        let key = ServerKey::of(req, &method).filter(|_| self.server_txs.len() < MAX_SERVER_TRANSACTIONS);
        match key {
            Some(k) => {
                let mut tx = Transaction::server(req, t.reliable(), self.timers);
                tx.send_response(now, status, bytes, &mut out);
                self.server_txs.insert(k, ServerTx { tx, dest: from, transport: t, call: None });
            }
            None => out.push(TxOutput::Send(bytes)),
        }
        self.flush(from, t, out);
    }

    fn on_request(&mut self, now: Instant, from: SocketAddr, t: Transport, mut req: Message) {
        if let Some(v) = req.via.first_mut() {
            v.stamp_source(from);
        }
        let method = req.method().cloned().unwrap_or(Method::Ack);
        // Transaction layer first (§17.2.3): retransmissions and ACK to non-2xx.
        let key_method = if method == Method::Ack { "INVITE" } else { method.as_str() };
        if let Some(key) = ServerKey::of(&req, key_method) {
            if let Some(st) = self.server_txs.get_mut(&key) {
                let mut out = Vec::new();
                if method == Method::Ack {
                    if st.tx.state == State::Completed {
                        st.tx.on_ack(now);
                        return;
                    }
                } else {
                    st.tx.on_retransmitted_request(&mut out);
                    let (dest, tt) = (st.dest, st.transport);
                    self.flush(dest, tt, out);
                    return;
                }
            }
        }
        if method == Method::Ack {
            self.on_ack(now, req);
            return;
        }
        if let Err(rej) = check_request(&req) {
            let reason = sanitize_reason(&rej.reason);
            self.respond(now, &req, (from, t), rej.status, &reason, rej.headers);
            return;
        }
        if method == Method::Cancel {
            self.on_cancel(now, from, t, &req);
            return;
        }
        if let Some(to_tag) = req.to.tag().map(str::to_string) {
            let key = (req.call_id.clone(), to_tag);
            match self.dialogs.get(&key).copied() {
                Some(id) => self.in_dialog(now, id, from, t, req),
                None => self.respond(now, &req, (from, t), 481, reason_phrase(481), Vec::new()),
            }
            return;
        }
        match method {
            Method::Invite => self.new_invite(now, from, t, req),
            Method::Options => {
                let h = vec![("Allow".into(), validate::ALLOW.into()), ("Accept".into(), validate::ACCEPT.into())];
                self.respond(now, &req, (from, t), 200, "OK", h);
            }
            _ => self.respond(now, &req, (from, t), 481, reason_phrase(481), Vec::new()),
        }
    }

    fn on_ack(&mut self, _now: Instant, req: Message) {
        let Some(tag) = req.to.tag() else { return };
        let Some(id) = self.dialogs.get(&(req.call_id.clone(), tag.to_string())).copied() else { return };
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.pending_ok.as_ref().is_some_and(|p| p.cseq == req.cseq.seq) {
            c.pending_ok = None;
            if c.state == CallState::Answered {
                c.state = CallState::Confirmed;
                if !req.body.is_empty() {
                    c.remote_sdp = req.body.clone();
                }
                let sdp = c.remote_sdp.clone();
                self.emit(id, SipEvent::Answered { status: 200, sdp });
            }
        }
    }

    fn on_cancel(&mut self, now: Instant, from: SocketAddr, t: Transport, req: &Message) {
        let Some(ikey) = ServerKey::of(req, "INVITE") else { return };
        let Some(st) = self.server_txs.get(&ikey) else {
            self.respond(now, req, (from, t), 481, reason_phrase(481), Vec::new());
            return;
        };
        let call = st.call;
        let pending = st.tx.kind == Kind::InviteServer && st.tx.state == State::Proceeding;
        self.respond(now, req, (from, t), 200, "OK", Vec::new());
        if let (true, Some(id)) = (pending, call) {
            if self.uas_respond(now, id, 487, None).is_ok() {
                self.emit(id, SipEvent::Failed { status: 487, reason: "cancelled by caller".into() });
            }
        }
    }

    fn new_invite(&mut self, now: Instant, from: SocketAddr, t: Transport, req: Message) {
        if self.calls.len() >= self.cfg.max_calls {
            self.respond(now, &req, (from, t), 503, "Service Unavailable", vec![("Retry-After".into(), "5".into())]);
            return;
        }
        let Some(key) = ServerKey::of(&req, "INVITE") else { return };
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let tag = self.token(10);
        let mut local = req.to.clone();
        local.set_tag(&tag);
        let user = req.to.uri.as_sip().and_then(|u| u.user.clone()).unwrap_or_else(|| "orderline".into());
        let contact = self.contact(&user, t);
        let remote_target = req.contact.first().map(|c| c.uri.clone()).unwrap_or_else(|| {
            Uri::Sip(SipUri::new(None, &from.ip().to_string(), Some(from.port())))
        });
        let c = Call {
            role: Role::Uas,
            state: CallState::Initial,
            call_id: req.call_id.clone(),
            local,
            remote: req.from.clone(),
            remote_target,
            route_set: req.record_route.clone(),
            outbound_proxy: None,
            local_seq: self.rng.gen_range(1..10_000),
            remote_seq: Some(req.cseq.seq),
            peer: from,
            transport: t,
            contact,
            invite: None,
            auth_attempts: 0,
            cancel_wanted: false,
            cancel_sent: false,
            cancel_deadline: None,
            ack: None,
            local_sdp: Vec::new(),
            uas_invite: Some(req.clone()),
            pending_ok: None,
            remote_sdp: req.body.clone(),
        };
        let mut tx = Transaction::server(&req, t.reliable(), self.timers);
        // 100 Trying at once (§17.2.1): stops the caller's INVITE retransmissions.
        let trying = req.response(100, "Trying", None).to_bytes();
        let mut out = Vec::new();
        tx.send_response(now, 100, trying, &mut out);
        self.server_txs.insert(key, ServerTx { tx, dest: from, transport: t, call: Some(id) });
        self.flush(from, t, out);
        self.dialogs.insert((req.call_id.clone(), tag), id);
        self.calls.insert(id, c);
        let StartLine::Request { uri, .. } = &req.start else { return };
        let ev = IncomingCall {
            request_uri: uri.to_string(),
            from: req.from.to_string(),
            to: req.to.to_string(),
            call_id: req.call_id.clone(),
            sdp: req.body.clone(),
            source: from,
        };
        self.emit(id, SipEvent::Incoming(Box::new(ev)));
    }

    fn in_dialog(&mut self, now: Instant, id: CallRef, from: SocketAddr, t: Transport, req: Message) {
        let method = req.method().cloned().unwrap_or(Method::Ack);
        let Some(c) = self.calls.get_mut(&id) else { return };
        // §12.2.2: lower CSeq than the last one is out of order → 500.
        if c.remote_seq.is_some_and(|s| req.cseq.seq < s) {
            self.respond(now, &req, (from, t), 500, "Server Internal Error (CSeq out of order)", Vec::new());
            return;
        }
        c.remote_seq = Some(req.cseq.seq);
        match method {
            Method::Bye => {
                let was_confirmed = matches!(c.state, CallState::Confirmed | CallState::Answered | CallState::Ending);
                self.respond(now, &req, (from, t), 200, "OK", Vec::new());
                let ev = if was_confirmed {
                    SipEvent::Ended { by_remote: true }
                } else {
                    SipEvent::Failed { status: 487, reason: "BYE before answer".into() }
                };
                self.emit(id, ev);
                self.remove_call(id);
            }
            Method::Options => {
                let h = vec![("Allow".into(), validate::ALLOW.into()), ("Accept".into(), validate::ACCEPT.into())];
                self.respond(now, &req, (from, t), 200, "OK", h);
            }
            Method::Invite if c.state == CallState::Confirmed => {
                // re-INVITE (§14.2): answer with our SDP re-offered, mirrored.
                if !req.body.is_empty() {
                    c.local_sdp = reoffer(&c.local_sdp, &req.body);
                    c.remote_sdp = req.body.clone();
                }
                if let Some(ct) = req.contact.first() {
                    c.remote_target = ct.uri.clone();
                }
                let contact = c.contact.clone();
                let sdp = c.local_sdp.clone();
                let tag = c.local.tag().unwrap_or("").to_string();
                let mut r = req.response(200, "OK", Some(&tag));
                r.contact = vec![contact];
                r.content_type = Some("application/sdp".into());
                r.body = sdp;
                let bytes = r.to_bytes();
                c.pending_ok = Some(PendingOk {
                    bytes: bytes.clone(),
                    cseq: req.cseq.seq,
                    next: (!t.reliable()).then(|| now + self.timers.t1),
                    interval: self.timers.t1,
                    give_up: now + self.timers.t64(),
                });
                if let Some(k) = ServerKey::of(&req, "INVITE") {
                    let mut tx = Transaction::server(&req, t.reliable(), self.timers);
                    let mut out = Vec::new();
                    tx.send_response(now, 200, bytes, &mut out);
                    self.server_txs.insert(k, ServerTx { tx, dest: from, transport: t, call: Some(id) });
                    self.flush(from, t, out);
                }
                if !req.body.is_empty() {
                    self.emit(id, SipEvent::MediaUpdate { sdp: req.body });
                }
            }
            Method::Invite => {
                self.respond(now, &req, (from, t), 491, "Request Pending", Vec::new());
            }
            _ => {
                let h = vec![("Allow".into(), validate::ALLOW.into())];
                self.respond(now, &req, (from, t), 405, "Method Not Allowed", h);
            }
        }
    }

    // ---------------------------------------------------------------- time

    /// Run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<(String, String)> =
            self.client_txs.iter().filter(|(_, t)| t.tx.deadline().is_some_and(|d| d <= now)).map(|(k, _)| k.clone()).collect();
        for k in due {
            let Some(ctx) = self.client_txs.get_mut(&k) else { continue };
            let mut out = Vec::new();
            ctx.tx.on_timeout(now, &mut out);
            let (dest, t, call, purpose, done) = (ctx.dest, ctx.transport, ctx.call, ctx.purpose, ctx.tx.is_terminated());
            for o in out {
                match o {
                    TxOutput::Send(b) => self.push(dest, t, b),
                    TxOutput::Timeout => self.client_timeout(call, purpose),
                    TxOutput::Response(_) => {}
                }
            }
            if done {
                self.client_txs.remove(&k);
            }
        }
        let due: Vec<ServerKey> =
            self.server_txs.iter().filter(|(_, t)| t.tx.deadline().is_some_and(|d| d <= now)).map(|(k, _)| k.clone()).collect();
        for k in due {
            let Some(st) = self.server_txs.get_mut(&k) else { continue };
            let mut out = Vec::new();
            st.tx.on_timeout(now, &mut out);
            let (dest, t, done) = (st.dest, st.transport, st.tx.is_terminated());
            self.flush(dest, t, out);
            if done {
                self.server_txs.remove(&k);
            }
        }
        let ids: Vec<CallRef> = self.calls.keys().copied().collect();
        for id in ids {
            self.call_timers(now, id);
        }
    }

    fn client_timeout(&mut self, id: CallRef, purpose: Purpose) {
        match purpose {
            Purpose::Invite => {
                if self.calls.get(&id).is_some_and(|c| matches!(c.state, CallState::Initial | CallState::Early)) {
                    self.emit(id, SipEvent::Failed { status: 408, reason: "Request Timeout (no response)".into() });
                    self.remove_call(id);
                }
            }
            Purpose::Bye => self.end_by_us(id),
            Purpose::Cancel => {}
        }
    }

    fn call_timers(&mut self, now: Instant, id: CallRef) {
        let Some(c) = self.calls.get_mut(&id) else { return };
        if c.cancel_deadline.is_some_and(|d| d <= now) {
            // §9.1: no final response 64·T1 after CANCEL: give up.
            c.cancel_deadline = None;
            self.emit(id, SipEvent::Failed { status: 408, reason: "no final response after CANCEL".into() });
            self.remove_call(id);
            return;
        }
        let Some(p) = c.pending_ok.as_mut() else { return };
        if p.give_up <= now {
            // §13.3.1.4: no ACK for our 2xx: end the dialog with BYE.
            c.pending_ok = None;
            let answered = c.state == CallState::Answered;
            if answered {
                c.state = CallState::Confirmed;
            }
            let _ = self.bye(now, id);
            return;
        }
        if p.next.is_some_and(|n| n <= now) {
            p.interval = (p.interval * 2).min(self.timers.t2);
            p.next = Some(now + p.interval);
            let bytes = p.bytes.clone();
            let (dest, t) = (c.peer, c.transport);
            self.push(dest, t, bytes);
        }
    }
}

fn reason_text(r: &Message) -> String {
    match &r.start {
        StartLine::Response { reason, .. } if !reason.is_empty() => sanitize_reason(reason),
        StartLine::Response { status, .. } => reason_phrase(*status).to_string(),
        StartLine::Request { .. } => String::new(),
    }
}

