//! RFC 4028 session timers in the endpoint: refreshing as the refresher
//! (UPDATE, or re-INVITE to a peer whose Allow lacks UPDATE, §7.4), ending
//! the dialog with BYE when no refresh succeeded in time (§10), and
//! answering UPDATE (RFC 3311; orderline answered 405 before).
//! The negotiation rules themselves are [`super::session_timer`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::dialog::{reoffer, CallState};
use super::endpoint::{Endpoint, Purpose};
use super::message::{Message, Method};
use super::session_timer::{self, Refresher, SessionExpires, SessionTimer, UasTimer};
use super::transaction::{ServerKey, Transaction};
use super::types::{CallRef, SipEvent, Transport};

impl Endpoint {
    /// Look at a confirmed call's session timer at `now`: refresh, or end
    /// the call when the session expired.
    pub(super) fn session_timer_due(&mut self, now: Instant, id: CallRef) {
        let Some(c) = self.calls.get(&id) else { return };
        let Some(tm) = c.timer.filter(|_| c.state == CallState::Confirmed) else {
            return;
        };
        if tm.expires_at <= now {
            // §10: the refresher's refresh never succeeded (408), or the
            // peer, the refresher, sent none (0).
            self.session_expired(now, id, if tm.we_refresh { 408 } else { 0 });
        } else if tm.refresh_at.is_some_and(|r| r <= now) {
            self.send_refresh(now, id);
        }
    }

    /// The session is over: tell the application why, then BYE (§10).
    pub(super) fn session_expired(&mut self, now: Instant, id: CallRef, status: u16) {
        if let Some(c) = self.calls.get_mut(&id) {
            c.timer = None;
        }
        tracing::info!(call = %id, status, "session timer expired; sending BYE");
        self.emit(id, SipEvent::SessionExpired { status });
        let _ = self.bye(now, id);
    }

    /// Send a session refresh as the refresher: UPDATE without a body when
    /// the peer allows it, else a re-INVITE with our unchanged SDP (the same
    /// `o=` version: no new offer, RFC 3264 §8).
    fn send_refresh(&mut self, now: Instant, id: CallRef) {
        let cfg = self.cfg.session_timer;
        let allow = self.allow();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(tm) = c.timer.as_mut() else { return };
        tm.refresh_at = None;
        let secs = tm.interval_secs();
        c.local_seq += 1;
        let (seq, t) = (c.local_seq, c.transport);
        let via = self.via(t);
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let method = if c.peer_update {
            Method::Update
        } else {
            Method::Invite
        };
        let mut m = c.request(method.clone(), seq, via);
        let se = SessionExpires {
            secs,
            refresher: Some(Refresher::Uac),
        };
        m.other.push(("Session-Expires".into(), se.value()));
        m.other
            .push(("Min-SE".into(), cfg.min_se_secs().min(secs).to_string()));
        m.other.push(("Supported".into(), "timer".into()));
        m.other.push(("Allow".into(), allow.into()));
        if method == Method::Invite {
            m.content_type = Some("application/sdp".into());
            m.body = c.local_sdp.clone();
        }
        tracing::debug!(call = %id, method = method.as_str(), secs, "session refresh");
        let dest = c.next_hop();
        self.start_client(now, id, &m, dest, t, Purpose::Refresh);
    }

    /// The final answer to our refresh (§7.2–§7.4, §10).
    pub(super) fn refresh_response(&mut self, now: Instant, id: CallRef, r: Message) {
        let status = r.status().unwrap_or(0);
        if status < 200 {
            return;
        }
        let t = match self.calls.get(&id) {
            Some(c) if c.state == CallState::Confirmed => c.transport,
            _ => return,
        };
        let was_invite = r.cseq.method == "INVITE";
        if (200..300).contains(&status) {
            let via = was_invite.then(|| self.via(t));
            let Some(c) = self.calls.get_mut(&id) else {
                return;
            };
            if let Some(via) = via {
                let mut ack = c.request(Method::Ack, r.cseq.seq, via);
                ack.contact.clear();
                let bytes = ack.to_bytes();
                c.ack = Some(bytes.clone());
                let dest = c.next_hop();
                self.push(dest, t, bytes);
            }
            let Some(c) = self.calls.get_mut(&id) else {
                return;
            };
            if was_invite && !r.body.is_empty() {
                c.remote_sdp = r.body.clone();
            }
            // §7.2: a 2xx without Session-Expires turns the timer off.
            c.timer = SessionTimer::from_response(now, &r);
            return;
        }
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let Some(tm) = c.timer.as_mut() else { return };
        match status {
            // §7.4: retry at once with the interval the peer takes.
            422 => {
                if let Some(m) = session_timer::min_se(&r).filter(|m| *m > tm.interval_secs()) {
                    tm.interval = Duration::from_secs(u64::from(m));
                    tm.refresh_at = Some(now);
                }
            }
            // An UPDATE the peer does not take after all: re-INVITE instead.
            405 | 501 if !was_invite => {
                c.peer_update = false;
                tm.refresh_at = Some(now);
            }
            // Glare (RFC 3261 §14.1): try again shortly.
            491 => tm.refresh_at = Some(now + Duration::from_secs(2)),
            // §10: the dialog is gone or unreachable: BYE now.
            408 | 481 => self.session_expired(now, id, status),
            // Anything else leaves the session to run out (§10).
            _ => {}
        }
    }

    /// The 2xx headers for a negotiated timer, starting it at `now` (we are
    /// the UAS of the transaction: `refresher=uas` is us).
    pub(super) fn timer_answer_headers(
        &mut self,
        now: Instant,
        id: CallRef,
        answer: Option<UasTimer>,
    ) -> (Vec<(String, String)>, bool) {
        let Some(c) = self.calls.get_mut(&id) else {
            return (Vec::new(), false);
        };
        match answer {
            Some(UasTimer::Run { expires, require }) => {
                let we = expires.refresher == Some(Refresher::Uas);
                c.timer = Some(SessionTimer::start(now, expires.secs, we));
                (vec![("Session-Expires".into(), expires.value())], require)
            }
            _ => {
                c.timer = None;
                (Vec::new(), false)
            }
        }
    }

    /// 422 Session Interval Too Small, with our `Min-SE` (§9).
    pub(super) fn too_small(
        &mut self,
        now: Instant,
        req: &Message,
        from: (SocketAddr, Transport),
        min_se: u32,
    ) {
        self.respond(
            now,
            req,
            from,
            422,
            "Session Interval Too Small",
            vec![("Min-SE".into(), min_se.to_string())],
        );
    }

    /// An UPDATE within a dialog (RFC 3311): a session refresh and/or a new
    /// offer. Answered 200 with our SDP when it carries one (the application
    /// hears `MediaUpdate`), and with the negotiated timer.
    pub(super) fn on_update(
        &mut self,
        now: Instant,
        id: CallRef,
        from: SocketAddr,
        t: Transport,
        req: Message,
    ) {
        let answer = session_timer::negotiate_uas(&req, &self.cfg.session_timer);
        if let UasTimer::TooSmall { min_se } = answer {
            self.too_small(now, &req, (from, t), min_se);
            return;
        }
        if session_timer::allows_update(&req) {
            if let Some(c) = self.calls.get_mut(&id) {
                c.peer_update = true;
            }
        }
        let (headers, require) = self.timer_answer_headers(now, id, Some(answer));
        let allow = self.allow();
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let tag = c.local.tag().unwrap_or("").to_string();
        let mut r = req.response(200, "OK", Some(&tag));
        r.contact = vec![c.contact.clone()];
        r.other.extend(headers);
        r.other.push(("Allow".into(), allow.into()));
        if require {
            r.require.push("timer".into());
        }
        let offer = !req.body.is_empty();
        if offer {
            c.local_sdp = reoffer(&c.local_sdp, &req.body);
            c.remote_sdp = req.body.clone();
            r.content_type = Some("application/sdp".into());
            r.body = c.local_sdp.clone();
        }
        if let Some(k) = ServerKey::of(&req, "UPDATE") {
            let mut tx = Transaction::server(&req, t.reliable(), self.timers);
            let mut out = Vec::new();
            tx.send_response(now, 200, r.to_bytes(), &mut out);
            self.keep_server_tx(k, tx, from, t, Some(id), out);
        }
        if offer {
            self.emit(id, SipEvent::MediaUpdate { sdp: req.body });
        }
    }
}

#[cfg(test)]
mod tests;
