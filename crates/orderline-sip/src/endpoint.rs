//! The sans-IO SIP endpoint (str0m / quinn-proto style): octets and time in,
//! octets, events and the next deadline out. It is the transaction user of
//! RFC 3261 §17 and holds the dialogs (§12) of every call, UAC and UAS.
//!
//! It never reads a clock, never touches a socket, and its randomness (Call-ID,
//! tags, branches) comes from a seeded RNG, so two endpoints can be run
//! against each other in a test on simulated time.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::dialog::{uri_addr, Call, CallState, Role};
use super::error::SipError;
use super::header::{NameAddr, Via, MAGIC_COOKIE};
use super::message::{error_response_from_raw, Framing, Message, Method, RawMessage, StartLine};
use super::timed::Timed;
use super::transaction::{ServerKey, TimerConfig, Transaction, TxOutput};
pub use super::types::*;
use super::uri::{SipUri, Uri};

/// What a client transaction was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Invite,
    Cancel,
    Bye,
    /// BYE to a dialog the application never saw (a second fork's 2xx).
    Cleanup,
    /// An out-of-dialog OPTIONS (trunk health); answered with [`SipEvent::Pong`].
    Ping,
    /// A session refresh we sent as the refresher (RFC 4028 §7.4): UPDATE or re-INVITE.
    Refresh,
}

pub(super) struct ClientTx {
    pub(super) tx: Transaction,
    pub(super) dest: SocketAddr,
    pub(super) transport: Transport,
    pub(super) call: CallRef,
    pub(super) purpose: Purpose,
}

pub(super) struct ServerTx {
    pub(super) tx: Transaction,
    pub(super) dest: SocketAddr,
    pub(super) transport: Transport,
    pub(super) call: Option<CallRef>,
}

/// The SIP endpoint.
pub struct Endpoint {
    pub(super) cfg: EndpointConfig,
    pub(super) timers: TimerConfig,
    pub(super) rng: StdRng,
    pub(super) next_call: u64,
    /// Calls, client and server transactions: maps with a deadline index
    /// ([`super::timed`]), so the next timer is found without a scan.
    pub(super) calls: Timed<CallRef, Call>,
    /// (Call-ID, local tag) → call.
    pub(super) dialogs: HashMap<(String, String), CallRef>,
    pub(super) client_txs: Timed<(String, String), ClientTx>,
    pub(super) server_txs: Timed<ServerKey, ServerTx>,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<(CallRef, SipEvent)>,
    pub(super) credentials: HashMap<CallRef, Option<Credentials>>,
    /// Calls whose end was already reported (CANCEL/2xx race): no `Ended` for their BYE.
    pub(super) quiet: std::collections::HashSet<CallRef>,
    /// REGISTERs for the application's registrar, when it has one
    /// ([`Endpoint::accept_registrations`]); without one they get 405.
    pub(super) registrations: Option<VecDeque<super::uas::InboundRequest>>,
    /// The allow list for new calls and the per-source request buckets.
    pub(super) admission: super::admission::Admission,
}

/// Server transactions kept for answers the TU gives itself (OPTIONS, 4xx):
/// each lives 64·T1; beyond this many, such answers are sent statelessly.
pub(super) const MAX_SERVER_TRANSACTIONS: usize = 10_000;

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
            admission: super::admission::Admission::new(cfg.admission.clone()),
            cfg,
            next_call: 1,
            calls: Timed::new(Call::next_deadline),
            dialogs: HashMap::new(),
            client_txs: Timed::new(|t: &ClientTx| t.tx.deadline()),
            server_txs: Timed::new(|t: &ServerTx| t.tx.deadline()),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            credentials: HashMap::new(),
            quiet: Default::default(),
            registrations: None,
        }
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.cfg
    }

    /// Registered agents' phones may place calls here: their sources, each
    /// until its binding lapses (see [`super::admission::Admission::set_agents`]).
    pub fn set_agent_sources(&mut self, agents: impl IntoIterator<Item = (IpAddr, Instant)>) {
        self.admission.set_agents(agents);
    }

    /// What the admission rules refused so far.
    pub fn admission_counts(&self) -> super::admission::AdmissionCounts {
        self.admission.counts()
    }

    /// Calls alive (any state).
    pub fn call_count(&self) -> usize {
        self.calls.len()
    }

    /// Calls alive, with their state (for shutdown).
    pub fn calls(&self) -> Vec<(CallRef, bool)> {
        self.calls
            .iter()
            .map(|(r, c)| (*r, c.state == CallState::Confirmed))
            .collect()
    }

    pub(super) fn token(&mut self, n: usize) -> String {
        const A: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| A[self.rng.gen_range(0..A.len())] as char)
            .collect()
    }

    /// Our port for transport `t`: the TLS listener's for TLS, else the
    /// UDP/TCP one.
    fn port_for(&self, t: Transport) -> u16 {
        match (t, self.cfg.tls_port) {
            (Transport::Tls, Some(p)) => p,
            _ => self.cfg.listen.port(),
        }
    }

    pub(super) fn via(&mut self, t: Transport) -> Via {
        Via {
            transport: t.via_token().into(),
            host: self.cfg.public_addr.to_string(),
            port: Some(self.port_for(t)),
            params: vec![
                (
                    "branch".into(),
                    Some(format!("{MAGIC_COOKIE}{}", self.token(16))),
                ),
                ("rport".into(), None),
            ],
        }
    }

    pub(super) fn contact(&self, user: &str, t: Transport) -> NameAddr {
        let mut u = SipUri::new(
            Some(user),
            &self.cfg.public_addr.to_string(),
            Some(self.port_for(t)),
        );
        // RFC 5630 §3.1.3: `sip:` with `transport=tls` says "this hop over
        // TLS" without claiming TLS end to end, which `sips:` would.
        if t != Transport::Udp {
            u.params.push(("transport".into(), Some(t.param().into())));
        }
        NameAddr::new(Uri::Sip(u))
    }

    pub(super) fn push(&mut self, dest: SocketAddr, transport: Transport, bytes: Vec<u8>) {
        if sendable(&dest) {
            self.transmits.push_back(Transmit {
                dest,
                transport,
                bytes,
            });
        }
    }

    pub(super) fn emit(&mut self, call: CallRef, ev: SipEvent) {
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
        [
            self.client_txs.next_deadline(),
            self.server_txs.next_deadline(),
            self.calls.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    // ---------------------------------------------------------------- commands

    /// Place a call: INVITE with our SDP offer (RFC 3261 §13.2.1).
    pub fn invite(&mut self, now: Instant, call: OutboundCall) -> Result<CallRef, SipError> {
        self.invite_via(now, call, None)
    }

    /// [`Endpoint::invite`] to a hop located beforehand (RFC 3263: the
    /// Request-URI keeps its host name; requests go to `hop`, until the
    /// dialog's route set or remote target say otherwise).
    pub fn invite_via(
        &mut self,
        now: Instant,
        call: OutboundCall,
        hop: Option<SocketAddr>,
    ) -> Result<CallRef, SipError> {
        if self.calls.len() >= self.cfg.max_calls {
            return Err(SipError::Overloaded);
        }
        let ruri = Uri::parse(&call.request_uri).map_err(|source| SipError::InvalidUri {
            uri: call.request_uri.clone(),
            source,
        })?;
        let host = ruri.as_sip().map(|s| s.host.clone()).unwrap_or_default();
        let proxy = match &call.outbound_proxy {
            Some(p) => {
                let u = Uri::parse(p).map_err(|source| SipError::InvalidUri {
                    uri: p.clone(),
                    source,
                })?;
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
        let dest = match (hop, &proxy) {
            (Some(hop), _) => Some(hop),
            (None, Some(p)) => uri_addr(&p.uri),
            (None, None) => uri_addr(&ruri),
        }
        .ok_or_else(|| SipError::Unroutable(host.clone()))?;
        let id = CallRef(self.next_call);
        self.next_call += 1;
        // Users become URI user parts: they must follow §25.1 `user` (escaped if need be).
        let user_uri = |user: &str, host: &str| {
            let s = format!("sip:{user}@{host}");
            Uri::parse(&s).map_err(|source| SipError::InvalidUri { uri: s, source })
        };
        let mut local = NameAddr::new(user_uri(
            &call.from_user,
            &self.cfg.public_addr.to_string(),
        )?);
        let remote = NameAddr::new(user_uri(&call.to_user, &host)?);
        let tag = self.token(10);
        local.set_tag(&tag);
        let call_id = format!("{}@{}", self.token(20), self.cfg.public_addr);
        let contact = self.contact(&call.from_user, call.transport);
        let mut c = Call::new(
            Role::Uac,
            call_id.clone(),
            local,
            remote,
            ruri,
            (dest, call.transport),
            contact,
        );
        c.outbound_proxy = proxy;
        c.local_sdp = call.sdp_offer;
        self.dialogs.insert((call_id, tag), id);
        self.calls.insert(id, c);
        self.credentials.insert(id, call.credentials);
        self.send_invite(now, id, Vec::new());
        Ok(id)
    }

    pub(super) fn send_invite(&mut self, now: Instant, id: CallRef, auth: Vec<(String, String)>) {
        let via = {
            let t = match self.calls.get(&id) {
                Some(c) => c.transport,
                None => return,
            };
            self.via(t)
        };
        let ua = self.cfg.user_agent.clone();
        let allow = self.allow();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let mut m = c.request(Method::Invite, c.local_seq, via);
        // RFC 4028 §7.1: ask for a session timer (a 422 raises the interval).
        if c.timer_asked == 0 {
            c.timer_asked = self.cfg.session_timer.expires_secs();
        }
        m.other.extend(super::session_timer::request_headers(
            c.timer_asked,
            &self.cfg.session_timer,
        ));
        m.content_type = Some("application/sdp".into());
        m.body = c.local_sdp.clone();
        m.other.push(("Allow".into(), allow.into()));
        m.other.push(("User-Agent".into(), ua));
        m.other.extend(auth);
        c.invite = Some(m.clone());
        let (dest, transport) = (c.next_hop(), c.transport);
        self.start_client(now, id, &m, dest, transport, Purpose::Invite);
    }

    pub(super) fn start_client(
        &mut self,
        now: Instant,
        id: CallRef,
        m: &Message,
        dest: SocketAddr,
        transport: Transport,
        purpose: Purpose,
    ) {
        let (tx, bytes) = Transaction::client(now, m, transport.reliable(), self.timers);
        let branch = m
            .via
            .first()
            .and_then(|v| v.branch())
            .unwrap_or("")
            .to_string();
        self.client_txs.insert(
            (branch, m.cseq.method.clone()),
            ClientTx {
                tx,
                dest,
                transport,
                call: id,
                purpose,
            },
        );
        self.push(dest, transport, bytes);
    }

    /// Send an OPTIONS to `uri` at `dest` (RFC 3261 §11), outside any dialog.
    /// Its final answer comes back as [`SipEvent::Pong`] under the returned
    /// reference (408 when the transaction times out, §17.1.2.2).
    pub fn ping(
        &mut self,
        now: Instant,
        uri: &str,
        dest: SocketAddr,
        transport: Transport,
    ) -> Result<CallRef, SipError> {
        let target = Uri::parse(uri).map_err(|source| SipError::InvalidUri {
            uri: uri.to_string(),
            source,
        })?;
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let from_uri = format!("sip:{}@{}", self.cfg.user_agent, self.cfg.public_addr);
        let mut from =
            NameAddr::new(
                Uri::parse(&from_uri).map_err(|source| SipError::InvalidUri {
                    uri: from_uri.clone(),
                    source,
                })?,
            );
        let tag = self.token(10);
        from.set_tag(&tag);
        let via = self.via(transport);
        let m = Message {
            start: StartLine::Request {
                method: Method::Options,
                uri: target.clone(),
            },
            via: vec![via],
            from,
            to: NameAddr::new(target),
            call_id: format!("{}@{}", self.token(20), self.cfg.public_addr),
            cseq: super::header::CSeq {
                seq: 1,
                method: "OPTIONS".into(),
            },
            max_forwards: Some(70),
            contact: Vec::new(),
            record_route: Vec::new(),
            route: Vec::new(),
            content_type: None,
            require: Vec::new(),
            proxy_require: Vec::new(),
            other: vec![("User-Agent".into(), self.cfg.user_agent.clone())],
            body: Vec::new(),
        };
        self.start_client(now, id, &m, dest, transport, Purpose::Ping);
        Ok(id)
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

    pub(super) fn send_cancel(&mut self, now: Instant, id: CallRef) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
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
        let Some(c) = self.calls.get_mut(&id) else {
            return Ok(());
        };
        let m = c.request(Method::Bye, seq, via);
        let dest = c.next_hop();
        self.start_client(now, id, &m, dest, t, Purpose::Bye);
        Ok(())
    }

    /// The call attempt ended without a dialog: report `Failed` and forget it.
    pub(super) fn fail(&mut self, id: CallRef, status: u16, reason: impl Into<String>) {
        self.emit(
            id,
            SipEvent::Failed {
                status,
                reason: reason.into(),
            },
        );
        self.remove_call(id);
    }

    pub(super) fn end_by_us(&mut self, id: CallRef) {
        if !self.quiet.remove(&id) && self.calls.contains_key(&id) {
            self.emit(id, SipEvent::Ended { by_remote: false });
        }
        self.remove_call(id);
    }

    pub(super) fn remove_call(&mut self, id: CallRef) {
        if let Some(c) = self.calls.remove(&id) {
            self.dialogs
                .remove(&(c.call_id.clone(), c.local.tag().unwrap_or("").to_string()));
        }
        self.credentials.remove(&id);
        self.quiet.remove(&id);
    }

    pub(super) fn flush(&mut self, dest: SocketAddr, transport: Transport, out: Vec<TxOutput>) {
        for o in out {
            if let TxOutput::Send(b) = o {
                self.push(dest, transport, b);
            }
        }
    }

    // ---------------------------------------------------------------- input

    /// Feed received octets.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        let Input::Datagram {
            from,
            transport,
            bytes,
        } = input;
        // Responses only match our own client transactions (§17.1.3); requests
        // (and junk) count against their source's rate before any parsing.
        if !bytes.starts_with(b"SIP/") && !self.admission.admit_request(now, from.ip()) {
            tracing::trace!(%from, "request over its source's rate dropped");
            return;
        }
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
                if let Some(resp) =
                    error_response_from_raw(&raw, e.status(), &e.reason_phrase(), &tag)
                {
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

    // ---------------------------------------------------------------- time

    /// Run every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for k in self.client_txs.due(now) {
            let Some(ctx) = self.client_txs.get_mut(&k) else {
                continue;
            };
            let mut out = Vec::new();
            ctx.tx.on_timeout(now, &mut out);
            let (dest, t, call, purpose, done) = (
                ctx.dest,
                ctx.transport,
                ctx.call,
                ctx.purpose,
                ctx.tx.is_terminated(),
            );
            for o in out {
                match o {
                    TxOutput::Send(b) => self.push(dest, t, b),
                    TxOutput::Timeout => self.client_timeout(now, call, purpose),
                    TxOutput::Response(_) => {}
                }
            }
            if done {
                self.client_txs.remove(&k);
            }
        }
        for k in self.server_txs.due(now) {
            let Some(st) = self.server_txs.get_mut(&k) else {
                continue;
            };
            let mut out = Vec::new();
            st.tx.on_timeout(now, &mut out);
            let (dest, t, done) = (st.dest, st.transport, st.tx.is_terminated());
            self.flush(dest, t, out);
            if done {
                self.server_txs.remove(&k);
            }
        }
        for id in self.calls.due(now) {
            self.call_timers(now, id);
        }
    }

    fn client_timeout(&mut self, now: Instant, id: CallRef, purpose: Purpose) {
        match purpose {
            Purpose::Invite => {
                if self
                    .calls
                    .get(&id)
                    .is_some_and(|c| matches!(c.state, CallState::Initial | CallState::Early))
                {
                    self.fail(id, 408, "Request Timeout (no response)");
                }
            }
            Purpose::Bye => self.end_by_us(id),
            Purpose::Ping => self.emit(id, SipEvent::Pong { status: 408 }),
            // RFC 4028 §10: an unanswered refresh ends the session.
            Purpose::Refresh => self.session_expired(now, id, 408),
            Purpose::Cancel | Purpose::Cleanup => {}
        }
    }

    fn call_timers(&mut self, now: Instant, id: CallRef) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if c.cancel_deadline.is_some_and(|d| d <= now) {
            // §9.1: no final response 64·T1 after CANCEL: give up.
            c.cancel_deadline = None;
            self.fail(id, 408, "no final response after CANCEL");
            return;
        }
        if c.timer.is_some() {
            self.session_timer_due(now, id);
        }
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(p) = c.pending_ok.as_mut() else {
            return;
        };
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
