//! The UAC half of the endpoint: responses to the requests we sent (RFC 3261
//! §13.2.2 INVITE responses, ACK for 2xx §13.2.2.4, digest retry §22.2, the
//! CANCEL/2xx race of §9.1).

use std::time::Instant;

use super::dialog::{Call, CallState, Role};
use super::endpoint::{Endpoint, Purpose};
use super::error::sanitize_reason;
use super::message::{Message, Method, StartLine};
use super::transaction::{client_key, TxOutput};
use super::types::{reason_phrase, CallRef, SipEvent};
use super::validate::response_acceptable;

impl Endpoint {
    pub(super) fn on_response(&mut self, now: Instant, resp: Message) {
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
    fn stray_response(&mut self, now: Instant, resp: Message) {
        if resp.cseq.method != "INVITE" || !resp.status().is_some_and(|s| (200..300).contains(&s)) {
            return;
        }
        let key = (
            resp.call_id.clone(),
            resp.from.tag().unwrap_or("").to_string(),
        );
        let Some(id) = self.dialogs.get(&key).copied() else {
            return;
        };
        let Some(c) = self.calls.get(&id) else { return };
        if resp.to.tag().is_some() && resp.to.tag() != c.remote.tag() {
            self.reject_fork(now, id, &resp);
            return;
        }
        if let Some(ack) = c.ack.clone() {
            let (dest, t) = (c.next_hop(), c.transport);
            self.push(dest, t, ack);
        }
    }

    /// A 2xx from a second fork after the call is up (RFC 3261 §13.2.2.4): that
    /// dialog is ACKed and at once ended with BYE; the application hears nothing.
    fn reject_fork(&mut self, now: Instant, id: CallRef, resp: &Message) {
        let Some(c) = self.calls.get(&id) else { return };
        let target = resp
            .contact
            .first()
            .map(|ct| ct.uri.clone())
            .unwrap_or_else(|| c.remote_target.clone());
        let mut fork = Call::new(
            Role::Uac,
            c.call_id.clone(),
            c.local.clone(),
            resp.to.clone(),
            target,
            (c.peer, c.transport),
            c.contact.clone(),
        );
        fork.route_set = resp.record_route.iter().rev().cloned().collect();
        fork.outbound_proxy = c.outbound_proxy.clone();
        let t = c.transport;
        let (ack_via, bye_via) = (self.via(t), self.via(t));
        let mut ack = fork.request(Method::Ack, resp.cseq.seq, ack_via);
        ack.contact.clear();
        let bye = fork.request(Method::Bye, resp.cseq.seq + 1, bye_via);
        let dest = fork.next_hop();
        self.push(dest, t, ack.to_bytes());
        self.start_client(now, id, &bye, dest, t, Purpose::Cleanup);
    }

    fn tu_response(&mut self, now: Instant, id: CallRef, purpose: Purpose, r: Message) {
        let status = r.status().unwrap_or(0);
        match purpose {
            Purpose::Cancel | Purpose::Cleanup => {}
            Purpose::Ping => {
                if status >= 200 {
                    self.emit(id, SipEvent::Pong { status });
                }
            }
            Purpose::Bye => {
                if status >= 200 {
                    self.end_by_us(id);
                }
            }
            Purpose::Invite => self.invite_response(now, id, r, status),
            Purpose::Refresh => self.refresh_response(now, id, r),
        }
    }

    fn invite_response(&mut self, now: Instant, id: CallRef, r: Message, status: u16) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
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
                // RFC 4028 §7.2: the 2xx says whether a timer runs and who refreshes.
                c.timer = super::session_timer::SessionTimer::from_response(now, &r);
                c.peer_update = super::session_timer::allows_update(&r);
                let cancelled = c.cancel_wanted;
                let seq = c.invite.as_ref().map(|i| i.cseq.seq).unwrap_or(c.local_seq);
                let t = c.transport;
                let via = self.via(t);
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                let mut ack = c.request(Method::Ack, seq, via);
                ack.contact.clear();
                if let Some(inv) = &c.invite {
                    ack.other.extend(
                        inv.other
                            .iter()
                            .filter(|(n, _)| n == "Authorization" || n == "Proxy-Authorization")
                            .cloned(),
                    );
                }
                let bytes = ack.to_bytes();
                c.ack = Some(bytes.clone());
                let dest = c.next_hop();
                self.push(dest, t, bytes);
                if cancelled {
                    // §9.1 race: the 2xx won over our CANCEL. ACK, then BYE.
                    self.emit(
                        id,
                        SipEvent::Failed {
                            status: 487,
                            reason: "cancelled (answered during CANCEL, BYE sent)".into(),
                        },
                    );
                    let _ = self.bye(now, id);
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.cancel_wanted = false;
                    }
                    self.quiet.insert(id);
                } else {
                    self.emit(
                        id,
                        SipEvent::Answered {
                            status,
                            sdp: r.body,
                        },
                    );
                }
            }
            401 | 407 if !c.cancel_wanted => {
                let hname = if status == 401 {
                    "WWW-Authenticate"
                } else {
                    "Proxy-Authenticate"
                };
                let aname = if status == 401 {
                    "Authorization"
                } else {
                    "Proxy-Authorization"
                };
                let creds = self.credentials.get(&id).cloned().flatten();
                let cnonce = self.token(16);
                let Some(c) = self.calls.get_mut(&id) else {
                    return;
                };
                let uri = c.remote_target.to_string();
                let bit = if status == 401 { 1 } else { 2 };
                let value = creds.filter(|_| c.auth_attempts & bit == 0).and_then(|cr| {
                    super::auth::answer_challenge(
                        r.headers(hname),
                        "INVITE",
                        &uri,
                        &cr,
                        &cnonce,
                        &c.local_sdp,
                    )
                });
                match value {
                    Some(v) => {
                        c.auth_attempts |= bit;
                        c.local_seq += 1; // §22.2: CSeq + 1, same Call-ID and tags.
                        let mut auth: Vec<(String, String)> = c
                            .invite
                            .as_ref()
                            .map(|i| {
                                i.other
                                    .iter()
                                    .filter(|(n, _)| {
                                        n == "Authorization" || n == "Proxy-Authorization"
                                    })
                                    .filter(|(n, _)| n != aname)
                                    .cloned()
                                    .collect()
                            })
                            .unwrap_or_default();
                        auth.push((aname.to_string(), v));
                        self.send_invite(now, id, auth);
                    }
                    None => {
                        self.fail(id, status, reason_text(&r));
                    }
                }
            }
            // RFC 4028 §7.4: the UAS wants a longer interval: ask again with it.
            422 if !c.cancel_wanted
                && super::session_timer::min_se(&r).is_some_and(|m| m > c.timer_asked) =>
            {
                c.timer_asked = super::session_timer::min_se(&r).unwrap_or(c.timer_asked);
                c.local_seq += 1;
                self.send_invite(now, id, Vec::new());
            }
            _ => {
                self.fail(id, status, reason_text(&r));
            }
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
