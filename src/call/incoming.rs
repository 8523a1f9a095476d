//! Calls customers make to us (issue #13): answering an inbound INVITE,
//! the polite message for a caller with no open order, and the order's
//! confirmation flow for one calling back (press 3 reaches an operator as
//! from a robo-call). Split from `engine.rs`, which it builds on.

use tokio::time::{sleep_until, Duration, Instant};

use super::engine::{local_if_handed, CallError, CallSpec, Customer, Engine, MAX_CALL};
use super::{codec_name, media_params, run_flow, CallReport};
use crate::sip::sdp::{self, LocalMedia};
use crate::sip::{CallRef, IncomingCall, SipCommand, SipEvent};

impl Engine {
    /// Accept an inbound INVITE for us with a usable offer: answer it and
    /// start its media. `None` when it was refused (foreign domain 404,
    /// offerless or no common codec 488).
    async fn answer_incoming(
        &self,
        call: CallRef,
        incoming: &IncomingCall,
    ) -> Result<Option<(crate::media::MediaHandle, sdp::RemoteMedia, LocalMedia)>, CallError> {
        if !self.is_ours(&incoming.request_uri) {
            // RFC 3261 §8.2.2.1: not an address we accept requests for.
            tracing::info!(%call, uri = %incoming.request_uri, "inbound call for a foreign domain");
            self.sip()
                .command(SipCommand::Reject { call, status: 404 })
                .await?;
            return Ok(None);
        }
        let offer = incoming.sdp.as_slice();
        if offer.is_empty() {
            // Offerless INVITE (RFC 3261 §13.2.1): not supported for IVR calls.
            self.sip()
                .command(SipCommand::Reject { call, status: 488 })
                .await?;
            return Ok(None);
        }
        let (mut media, mut local) = self.bind_media().await?;
        // SRTP as the calling trunk's `srtp` says (off for anyone else).
        let srtp = self
            .config()
            .trunk_from(incoming.source.ip())
            .map_or(crate::config::SrtpMode::Off, |t| t.srtp);
        Self::secure_media(srtp, &mut media, &mut local);
        let (answer, remote) = match sdp::answer(offer, &local) {
            Ok(x) => x,
            Err(e) => {
                tracing::info!(%call, error = %e, "no usable media in offer");
                self.sip()
                    .command(SipCommand::Reject { call, status: 488 })
                    .await?;
                return Ok(None);
            }
        };
        self.sip()
            .command(SipCommand::Answer {
                call,
                sdp: answer.into_bytes(),
            })
            .await?;
        let handle = media.start(media_params(&remote));
        Ok(Some((handle, remote, local)))
    }

    /// Answer a customer's call that matches no open order: play the polite
    /// "no pending order" message and hang up.
    pub async fn take_incoming(
        &self,
        call: CallRef,
        incoming: IncomingCall,
        mut events: tokio::sync::mpsc::Receiver<SipEvent>,
    ) -> Result<(), CallError> {
        let Some((mut handle, ..)) = self.answer_incoming(call, &incoming).await? else {
            return Ok(());
        };
        let items = self.prompt_items(
            &self.config().calling.default_locale,
            &["callback_no_order".to_string()],
        )?;
        handle.play(items).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            tokio::select! {
                ev = handle.next_event() => match ev {
                    Some(crate::media::MediaEvent::PlaybackDone) | None => {
                        self.sip().command(SipCommand::Bye(call)).await?;
                        break;
                    }
                    Some(_) => {}
                },
                ev = events.recv() => match ev {
                    Some(SipEvent::Ended { .. }) | None => break,
                    Some(_) => {}
                },
                _ = sleep_until(deadline) => {
                    self.sip().command(SipCommand::Bye(call)).await?;
                    break;
                }
            }
        }
        handle.stop().await;
        Ok(())
    }

    /// Answer a customer calling back about an open order (issue #13): the
    /// order's confirmation flow, as a robo-call would play it once answered.
    /// `None` when the call was refused before an answer.
    pub async fn take_callback(
        &self,
        call: CallRef,
        incoming: IncomingCall,
        mut events: tokio::sync::mpsc::Receiver<SipEvent>,
        spec: &CallSpec,
    ) -> Result<Option<CallReport>, CallError> {
        let mut flow = self.confirm_flow(spec)?;
        let Some((mut handle, remote, local)) = self.answer_incoming(call, &incoming).await? else {
            return Ok(None);
        };
        let answered_at = Instant::now();
        let mut seat = None;
        let result = run_flow(
            self,
            call,
            &mut events,
            &mut handle,
            &mut flow,
            spec,
            // A caller's trunk is not known here: every source counts.
            super::FlowRules {
                max_duration: MAX_CALL,
                dtmf: crate::dtmf::DtmfMode::Auto,
            },
            &mut seat,
        )
        .await;
        let duration_ms = answered_at.elapsed().as_millis() as u64;
        let leg = Customer {
            call,
            events,
            remote: remote.clone(),
            local,
        };
        let operator = self
            .end_media(leg, handle, seat.take().filter(|_| result.is_ok()))
            .await;
        let (outcome, by, cause) = result?;
        use crate::ivr::Flow;
        Ok(Some(CallReport {
            operator: operator.clone(),
            hangup_by: Some(if operator.is_some() {
                by
            } else {
                local_if_handed(by)
            }),
            cause,
            answered: true,
            digits: flow.digits().to_string(),
            outcome,
            sip_status: 200,
            duration_ms,
            setup_ms: 0,
            remote_media: Some(remote.addr),
            codec: Some(codec_name(remote.codec)),
        }))
    }
}
