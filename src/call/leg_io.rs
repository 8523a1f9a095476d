//! One leg's SIP dialog as a call driver holds it (issue #9: shared by the
//! click-to-call B2BUA driver, the session driver and predictive lines, so
//! it lives below all three): the dialog's events, the media sockets bound
//! before the INVITE, and the answer's SDP once usable.

use std::collections::VecDeque;

use tokio::sync::mpsc;

use super::b2bua::LegEvent;
use super::engine::{CallError, Engine};
use crate::media::MediaSession;
use crate::sip::sdp::{self, LocalMedia, RemoteMedia};
use crate::sip::{CallRef, SipEvent};

/// One leg's SIP dialog and what the driver holds for it.
pub(crate) struct LegIo {
    pub(super) call: CallRef,
    events: mpsc::Receiver<SipEvent>,
    /// The stream ended; it is not polled again.
    closed: bool,
    /// Events [`LegIo::ended_meanwhile`] looked at, handed out by
    /// [`LegIo::recv`] before any newer one (nothing is lost by looking).
    held: VecDeque<SipEvent>,
    /// Bound before the INVITE; taken by the bridge once the leg answers.
    session: Option<MediaSession>,
    /// The answer's SDP, once usable.
    pub(super) remote: Option<RemoteMedia>,
    /// What our offer said (its SRTP key and policy: the answer is held to it).
    local: LocalMedia,
}

impl LegIo {
    pub(super) async fn recv(&mut self) -> Option<SipEvent> {
        if let Some(ev) = self.held.pop_front() {
            return Some(ev);
        }
        if self.closed {
            return std::future::pending().await;
        }
        self.events.recv().await
    }

    /// Bind media and send the INVITE (through `trunk`, or straight to
    /// `uri` for an agent's phone), offering SDES-SRTP as `srtp` says: a
    /// customer's leg follows its trunk's `srtp`, an agent's leg its
    /// `[[agents]] srtp` (RFC 4568; issue #14).
    pub(super) async fn invite(
        engine: &Engine,
        trunk: Option<&crate::config::TrunkConfig>,
        uri: String,
        srtp: crate::config::SrtpMode,
    ) -> Result<LegIo, CallError> {
        let (mut session, mut local) = engine.bind_media().await?;
        Engine::secure_media(srtp, &mut session, &mut local);
        let (call, events) = engine.invite_leg(trunk, uri, &local).await?;
        Ok(LegIo {
            call,
            events,
            closed: false,
            held: VecDeque::new(),
            session: Some(session),
            remote: None,
            local,
        })
    }

    /// A leg answered elsewhere (a robo-call whose customer pressed 3,
    /// issue #13): its dialog's events, the media sockets its flow used
    /// (released, [`crate::media::MediaHandle::release`]), the answer and
    /// our offer, as [`LegIo::invite`] would hold them after the answer.
    pub(super) fn answered(
        call: CallRef,
        events: mpsc::Receiver<SipEvent>,
        session: MediaSession,
        remote: RemoteMedia,
        local: LocalMedia,
    ) -> LegIo {
        LegIo {
            call,
            events,
            closed: false,
            held: VecDeque::new(),
            session: Some(session),
            remote: Some(remote),
            local,
        }
    }

    /// Without waiting: has the far end hung up (BYE) or the dialog gone
    /// since the last look? For a leg nobody is reading yet (a predictive
    /// customer waiting for an agent): it must not be handed to an agent or
    /// played a message once it is gone. The events it reads stay queued
    /// for [`LegIo::recv`].
    pub(super) fn ended_meanwhile(&mut self) -> bool {
        use tokio::sync::mpsc::error::TryRecvError;
        if self.closed {
            return true;
        }
        loop {
            match self.events.try_recv() {
                Ok(ev) => self.held.push_back(ev),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return true,
            }
        }
        self.held
            .iter()
            .any(|ev| matches!(ev, SipEvent::Ended { .. }))
    }

    /// A SIP event as a leg event; the answer's SDP is parsed here.
    pub(super) fn input(&mut self, ev: Option<SipEvent>) -> Option<LegEvent> {
        Some(match ev {
            None => {
                self.closed = true;
                LegEvent::Gone
            }
            Some(SipEvent::Answered { sdp: body, .. }) => {
                match sdp::parse_answer(&body).and_then(|r| sdp::check_srtp(&self.local, r)) {
                    Ok(remote) => {
                        self.remote = Some(remote);
                        LegEvent::Answered { usable_sdp: true }
                    }
                    Err(e) => {
                        tracing::warn!(call = %self.call, error = %e, "answer SDP unusable; hanging up");
                        LegEvent::Answered { usable_sdp: false }
                    }
                }
            }
            Some(SipEvent::Failed { status, .. }) => LegEvent::Failed { status },
            Some(SipEvent::Ended { by_remote }) => LegEvent::Ended { by_remote },
            Some(SipEvent::MediaUpdate { sdp }) => LegEvent::MediaUpdate { sdp },
            Some(_) => return None,
        })
    }

    /// Give back the sockets taken by [`LegIo::answered_media`] (released
    /// by a media task that listened first: a predictive line's AMD), so
    /// whoever takes the leg next finds them as if never started.
    pub(super) fn restore_media(&mut self, session: MediaSession) {
        self.session = Some(session);
    }

    /// The media session and answer of a leg that answered.
    pub(super) fn answered_media(&mut self) -> Result<(MediaSession, RemoteMedia), CallError> {
        match (self.session.take(), self.remote.clone()) {
            (Some(s), Some(r)) => Ok((s, r)),
            _ => Err(CallError::MediaGone),
        }
    }
}
