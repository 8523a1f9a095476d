//! The UAS half of the endpoint: requests we receive (RFC 3261 §8.2, §12.2.2,
//! §9.2 CANCEL, §14.2 re-INVITE, §15.1.2 BYE) and the answers the application
//! gives to inbound calls (§13.3.1).

use std::net::SocketAddr;
use std::time::Instant;

use super::dialog::{reoffer, Call, CallState, PendingOk, Role};
use super::endpoint::{Endpoint, ServerTx, MAX_SERVER_TRANSACTIONS};
use super::error::{sanitize_reason, SipError};
use super::message::{Message, Method, StartLine};
use super::session_timer::{self, UasTimer};
use super::transaction::{Kind, ServerKey, State, Transaction, TxOutput};
use super::types::{reason_phrase, retry_after, CallRef, IncomingCall, SipEvent, Transport};
use super::uri::{SipUri, Uri};
use super::validate::{self, check_request};
use rand::Rng;

/// An out-of-dialog request the endpoint hands to the application.
#[derive(Debug, Clone)]
pub struct InboundRequest {
    pub from: SocketAddr,
    pub transport: Transport,
    pub message: Message,
}

impl Endpoint {
    pub(super) fn uas_respond(
        &mut self,
        now: Instant,
        id: CallRef,
        status: u16,
        body: Option<Vec<u8>>,
    ) -> Result<(), SipError> {
        let ua = self.cfg.user_agent.clone();
        let allow = self.allow();
        let c = self.calls.get_mut(&id).ok_or(SipError::UnknownCall)?;
        if c.role != Role::Uas || !matches!(c.state, CallState::Initial | CallState::Early) {
            return Err(SipError::InvalidState(
                "only an unanswered inbound call can be answered, rung or rejected",
            ));
        }
        let inv = c
            .uas_invite
            .clone()
            .ok_or(SipError::InvalidState("no INVITE"))?;
        let tag = c.local.tag().unwrap_or("").to_string();
        let (timer, require) = if (200..300).contains(&status) {
            let answer = c.timer_answer.take();
            self.timer_answer_headers(now, id, answer)
        } else {
            (Vec::new(), false)
        };
        let c = self.calls.get_mut(&id).ok_or(SipError::UnknownCall)?;
        let mut r = inv.response(status, reason_phrase(status), Some(&tag));
        r.other.push(("Server".into(), ua));
        r.other.extend(timer);
        if require {
            r.require.push("timer".into());
        }
        if status < 300 {
            r.contact = vec![c.contact.clone()];
        }
        if (200..300).contains(&status) {
            r.other.push(("Allow".into(), allow.into()));
        }
        if status == 503 {
            r.other.push(retry_after());
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
        let status = if (300..700).contains(&status) {
            status
        } else {
            603
        };
        self.uas_respond(now, id, status, None)
    }

    /// Hand REGISTER requests to the application (its registrar) instead of
    /// refusing them with 405: see [`Endpoint::poll_register`].
    pub fn accept_registrations(&mut self) {
        self.registrations.get_or_insert_with(Default::default);
    }

    /// The Allow header's value: REGISTER is listed once a registrar takes
    /// REGISTERs ([`Endpoint::accept_registrations`]).
    pub fn allow(&self) -> &'static str {
        if self.registrations.is_some() {
            validate::ALLOW_WITH_REGISTER
        } else {
            validate::ALLOW
        }
    }

    /// The next REGISTER waiting for the registrar (Via already stamped with
    /// `received`/`rport`, RFC 3581 §4). Answer it with [`Endpoint::reply`].
    pub fn poll_register(&mut self) -> Option<InboundRequest> {
        self.registrations.as_mut()?.pop_front()
    }

    /// Answer a request taken from [`Endpoint::poll_register`] through a
    /// server transaction (retransmissions get the same answer, §17.2.2),
    /// sent to where it came from (RFC 3581 §4: the source port).
    pub fn reply(
        &mut self,
        now: Instant,
        req: &InboundRequest,
        status: u16,
        reason: &str,
        headers: Vec<(String, String)>,
    ) {
        let reason = sanitize_reason(reason);
        self.respond(
            now,
            &req.message,
            (req.from, req.transport),
            status,
            &reason,
            headers,
        );
    }

    /// Answer `req` statelessly-from-the-TU's view: a server transaction is
    /// created so retransmissions of the request get the same response.
    pub(super) fn respond(
        &mut self,
        now: Instant,
        req: &Message,
        (from, t): (SocketAddr, Transport),
        status: u16,
        reason: &str,
        headers: Vec<(String, String)>,
    ) {
        if req.method() == Some(&Method::Ack) {
            return;
        }
        let tag = self.token(10);
        let mut r = req.response(status, reason, Some(&tag));
        r.other.extend(headers);
        let bytes = r.to_bytes();
        let method = req
            .method()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        let mut out = Vec::new();
        // Past the cap, answer statelessly: a flood cannot grow the table.
        // A request inside a live dialog (a BYE) always gets its transaction:
        // those are bounded by the calls, and the INVITE transactions kept
        // 64·T1 after each 2xx (RFC 6026) alone pass the cap at 200 setups a
        // second; a stateless 200 to a BYE whose 200 was lost made the BYE's
        // retransmission meet 481 (issue #16).
        let in_dialog = req.to.tag().is_some_and(|tag| {
            self.dialogs
                .contains_key(&(req.call_id.clone(), tag.to_string()))
        });
        let key = ServerKey::of(req, &method)
            .filter(|_| in_dialog || self.server_txs.len() < MAX_SERVER_TRANSACTIONS);
        match key {
            Some(k) => {
                let mut tx = Transaction::server(req, t.reliable(), self.timers);
                tx.send_response(now, status, bytes, &mut out);
                self.keep_server_tx(k, tx, from, t, None, out);
            }
            None => {
                out.push(TxOutput::Send(bytes));
                self.flush(from, t, out);
            }
        }
    }

    /// Keep a server transaction (RFC 3261 §17.2) that has produced its first
    /// response, so retransmitted requests are answered from it, and send
    /// that response.
    pub(super) fn keep_server_tx(
        &mut self,
        key: ServerKey,
        tx: Transaction,
        from: SocketAddr,
        t: Transport,
        call: Option<CallRef>,
        out: Vec<TxOutput>,
    ) {
        self.server_txs.insert(
            key,
            ServerTx {
                tx,
                dest: from,
                transport: t,
                call,
            },
        );
        self.flush(from, t, out);
    }

    pub(super) fn on_request(
        &mut self,
        now: Instant,
        from: SocketAddr,
        t: Transport,
        mut req: Message,
    ) {
        if let Some(v) = req.via.first_mut() {
            v.stamp_source(from);
        }
        let method = req.method().cloned().unwrap_or(Method::Ack);
        // Transaction layer first (§17.2.3): retransmissions and ACK to non-2xx.
        let key_method = if method == Method::Ack {
            "INVITE"
        } else {
            method.as_str()
        };
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
        if method == Method::Register && req.require.is_empty() {
            if let Some(q) = self.registrations.as_mut() {
                if q.len() < MAX_SERVER_TRANSACTIONS {
                    q.push_back(InboundRequest {
                        from,
                        transport: t,
                        message: req,
                    });
                }
                return;
            }
        }
        if let Err(rej) = check_request(&req) {
            let reason = sanitize_reason(&rej.reason);
            let allow = self.allow();
            let headers = rej
                .headers
                .into_iter()
                .map(|(k, v)| {
                    if k == "Allow" {
                        (k, allow.to_string())
                    } else {
                        (k, v)
                    }
                })
                .collect();
            self.respond(now, &req, (from, t), rej.status, &reason, headers);
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
                let h = vec![
                    ("Allow".into(), self.allow().into()),
                    ("Accept".into(), validate::ACCEPT.into()),
                ];
                self.respond(now, &req, (from, t), 200, "OK", h);
            }
            _ => self.respond(now, &req, (from, t), 481, reason_phrase(481), Vec::new()),
        }
    }

    /// In-dialog INFO: a key press is answered 200 and reported; an empty
    /// INFO (a keep-alive) gets 200; any other body 415 with what we take.
    fn on_info(&mut self, now: Instant, id: CallRef, from: (SocketAddr, Transport), req: &Message) {
        let media = req.media_type().unwrap_or_default();
        if req.body.is_empty() {
            self.respond(now, req, from, 200, "OK", Vec::new());
            return;
        }
        match crate::info::parse_dtmf(&media, &req.body) {
            Some(d) => {
                self.respond(now, req, from, 200, "OK", Vec::new());
                self.emit(id, SipEvent::Dtmf(d));
            }
            None => {
                let accept = (
                    "Accept".to_string(),
                    "application/dtmf-relay, application/dtmf".to_string(),
                );
                self.respond(now, req, from, 415, "Unsupported Media Type", vec![accept]);
            }
        }
    }

    fn on_ack(&mut self, _now: Instant, req: Message) {
        let Some(tag) = req.to.tag() else { return };
        let Some(id) = self
            .dialogs
            .get(&(req.call_id.clone(), tag.to_string()))
            .copied()
        else {
            return;
        };
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if c.pending_ok
            .as_ref()
            .is_some_and(|p| p.cseq == req.cseq.seq)
        {
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
        let Some(ikey) = ServerKey::of(req, "INVITE") else {
            return;
        };
        let Some(st) = self.server_txs.get(&ikey) else {
            self.respond(now, req, (from, t), 481, reason_phrase(481), Vec::new());
            return;
        };
        let call = st.call;
        let pending = st.tx.kind == Kind::InviteServer && st.tx.state == State::Proceeding;
        self.respond(now, req, (from, t), 200, "OK", Vec::new());
        if let (true, Some(id)) = (pending, call) {
            if self.uas_respond(now, id, 487, None).is_ok() {
                self.emit(
                    id,
                    SipEvent::Failed {
                        status: 487,
                        reason: "cancelled by caller".into(),
                    },
                );
            }
        }
    }

    fn new_invite(&mut self, now: Instant, from: SocketAddr, t: Transport, req: Message) {
        // Issue #14: only trunk networks and registered agents place calls;
        // the rest is refused before any call state (or media) exists.
        if !self.admission.may_call(now, from.ip()) {
            tracing::debug!(%from, "INVITE from a source not allowed to call: 403");
            self.respond(now, &req, (from, t), 403, "Forbidden", Vec::new());
            return;
        }
        if self.calls.len() >= self.cfg.max_calls {
            self.respond(
                now,
                &req,
                (from, t),
                503,
                "Service Unavailable",
                vec![retry_after()],
            );
            return;
        }
        // RFC 4028 §9: too short a session interval is refused with our Min-SE.
        let timer = session_timer::negotiate_uas(&req, &self.cfg.session_timer);
        if let UasTimer::TooSmall { min_se } = timer {
            self.too_small(now, &req, (from, t), min_se);
            return;
        }
        let Some(key) = ServerKey::of(&req, "INVITE") else {
            return;
        };
        let id = CallRef(self.next_call);
        self.next_call += 1;
        let tag = self.token(10);
        let mut local = req.to.clone();
        local.set_tag(&tag);
        let user = req
            .to
            .uri
            .as_sip()
            .and_then(|u| u.user.clone())
            .unwrap_or_else(|| "orderline".into());
        let contact = self.contact(&user, t);
        let remote_target = req
            .contact
            .first()
            .map(|c| c.uri.clone())
            .unwrap_or_else(|| {
                Uri::Sip(SipUri::new(None, &from.ip().to_string(), Some(from.port())))
            });
        let mut c = Call::new(
            Role::Uas,
            req.call_id.clone(),
            local,
            req.from.clone(),
            remote_target,
            (from, t),
            contact,
        );
        c.route_set = req.record_route.clone();
        c.local_seq = self.rng.gen_range(1..10_000);
        c.remote_seq = Some(req.cseq.seq);
        c.uas_invite = Some(req.clone());
        c.remote_sdp = req.body.clone();
        c.timer_answer = Some(timer);
        c.peer_update = session_timer::allows_update(&req);
        let mut tx = Transaction::server(&req, t.reliable(), self.timers);
        // 100 Trying at once (§17.2.1): stops the caller's INVITE retransmissions.
        let trying = req.response(100, "Trying", None).to_bytes();
        let mut out = Vec::new();
        tx.send_response(now, 100, trying, &mut out);
        self.keep_server_tx(key, tx, from, t, Some(id), out);
        self.dialogs.insert((req.call_id.clone(), tag), id);
        self.calls.insert(id, c);
        let StartLine::Request { uri, .. } = &req.start else {
            return;
        };
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

    fn in_dialog(
        &mut self,
        now: Instant,
        id: CallRef,
        from: SocketAddr,
        t: Transport,
        req: Message,
    ) {
        let method = req.method().cloned().unwrap_or(Method::Ack);
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        // §12.2.2: lower CSeq than the last one is out of order → 500.
        if c.remote_seq.is_some_and(|s| req.cseq.seq < s) {
            self.respond(
                now,
                &req,
                (from, t),
                500,
                "Server Internal Error (CSeq out of order)",
                Vec::new(),
            );
            return;
        }
        c.remote_seq = Some(req.cseq.seq);
        match method {
            Method::Bye => {
                let was_confirmed = matches!(
                    c.state,
                    CallState::Confirmed | CallState::Answered | CallState::Ending
                );
                self.respond(now, &req, (from, t), 200, "OK", Vec::new());
                let ev = if was_confirmed {
                    SipEvent::Ended { by_remote: true }
                } else {
                    SipEvent::Failed {
                        status: 487,
                        reason: "BYE before answer".into(),
                    }
                };
                // A call whose end was already reported (CANCEL/2xx race) stays quiet.
                if !self.quiet.contains(&id) {
                    self.emit(id, ev);
                }
                self.remove_call(id);
            }
            Method::Options => {
                let h = vec![
                    ("Allow".into(), self.allow().into()),
                    ("Accept".into(), validate::ACCEPT.into()),
                ];
                self.respond(now, &req, (from, t), 200, "OK", h);
            }
            Method::Invite if c.state == CallState::Confirmed => {
                // A re-INVITE is also a session refresh (RFC 4028 §9).
                let timer = session_timer::negotiate_uas(&req, &self.cfg.session_timer);
                if let UasTimer::TooSmall { min_se } = timer {
                    self.too_small(now, &req, (from, t), min_se);
                    return;
                }
                let (timer, require) = self.timer_answer_headers(now, id, Some(timer));
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
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
                r.other.extend(timer);
                if require {
                    r.require.push("timer".into());
                }
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
                    self.keep_server_tx(k, tx, from, t, Some(id), out);
                }
                if !req.body.is_empty() {
                    self.emit(id, SipEvent::MediaUpdate { sdp: req.body });
                }
            }
            Method::Invite => {
                self.respond(now, &req, (from, t), 491, "Request Pending", Vec::new());
            }
            Method::Update if c.state == CallState::Confirmed => {
                self.on_update(now, id, from, t, req);
            }
            Method::Info => self.on_info(now, id, (from, t), &req),
            _ => {
                let h = vec![("Allow".into(), self.allow().into())];
                self.respond(now, &req, (from, t), 405, "Method Not Allowed", h);
            }
        }
    }
}
