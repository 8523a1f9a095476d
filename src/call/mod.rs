//! One call: its SIP leg, its media, its flow, and how it ended.
//!
//! This is the async edge that joins the sans-IO pieces: SIP events and media
//! events become [`FlowInput`]s, the flow's [`FlowAction`]s become SIP
//! commands and playback. All the rules live in the flow; this file only
//! moves events and keeps the call's record.

pub mod agent_call;
pub mod b2bua;
pub mod engine;
mod incoming;
mod leg_io;
pub mod line;
pub mod live;
pub mod operator;
mod secure_payment;
pub mod session;

use std::net::SocketAddr;
use std::time::Duration;

use serde::Serialize;
use tokio::time::{sleep_until, Instant};

use crate::ivr::{Flow, FlowAction, FlowInput, Outcome};
use crate::media::{MediaEvent, MediaHandle, MediaParams};
use crate::sip::sdp::{self, Codec, RemoteMedia};
use crate::sip::{CallRef, SipCommand, SipEvent};

pub use engine::{CallError, CallSpec, Engine, PaymentKit};
pub use live::{AgentCallSpec, CallCommand, CallEnd, LiveEvent, PaymentRequest};
pub use operator::{HeldCustomer, OperatorAnswer, OperatorDesk, OperatorSeat};

/// What `orderline call` prints and the store records for one attempt.
#[derive(Debug, Clone, Serialize)]
pub struct CallReport {
    pub answered: bool,
    /// Every key the callee pressed, in order.
    pub digits: String,
    pub outcome: Outcome,
    /// The final SIP status of the INVITE (200 when answered).
    pub sip_status: u16,
    /// From answer to hang-up; 0 when never answered.
    pub duration_ms: u64,
    /// From INVITE to answer or failure.
    pub setup_ms: u64,
    /// Who hung up: `local` or `remote` (answered calls only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hangup_by: Option<&'static str>,
    /// The far end's media address, once known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_media: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<&'static str>,
    /// Why the call ended, when neither party nor the flow ended it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<EndCause>,
    /// Press 3, live (issue #13): the agent the customer was handed to
    /// (the call goes on in their session; `hangup_by` is then `operator`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

/// A call ended by orderline's own rule, not by a party or the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EndCause {
    /// No RTP or RTCP from the far end for `[sip] media_timeout`
    /// (`hold_timeout` on hold): it vanished without a BYE.
    MediaTimeout,
    /// No session refresh succeeded within the RFC 4028 interval (ours
    /// unanswered, or the peer, the refresher, sent none): BYE sent.
    SessionTimer,
}

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            EndCause::MediaTimeout => "media_timeout",
            EndCause::SessionTimer => "session_timer",
        }
    }
}

/// Whether the far end's SDP holds the call (RFC 3264 §8.4: `sendonly` or
/// `inactive`; RFC 2543's `c=0.0.0.0` parses as inactive): its media
/// timeout is then `hold_timeout`.
pub(crate) fn far_end_holds(remote: &RemoteMedia) -> bool {
    matches!(
        remote.direction,
        sdp::Direction::SendOnly | sdp::Direction::Inactive
    )
}

fn codec_name(c: Codec) -> &'static str {
    match c {
        Codec::Pcmu => "PCMU",
        Codec::Pcma => "PCMA",
    }
}

pub(crate) fn media_params(remote: &RemoteMedia) -> MediaParams {
    MediaParams {
        remote: remote.addr,
        law: match remote.codec {
            Codec::Pcmu => crate::media::Law::Mu,
            Codec::Pcma => crate::media::Law::A,
        },
        dtmf_pt: remote.dtmf_pt,
        ptime_ms: remote.ptime_ms,
        srtp: remote
            .srtp
            .and_then(|k| orderline_srtp::MasterKey::from_bytes(&k.0)),
    }
}

/// What bounds a flow's call: its longest duration and the key presses
/// that count (the trunk's `dtmf`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlowRules {
    pub max_duration: Duration,
    pub dtmf: crate::dtmf::DtmfMode,
}

/// Who ended a call that a flow drove: `local`, `remote`, or
/// [`HANDED_OVER`].
pub(crate) type HangupBy = &'static str;

/// `hangup_by` of a call the flow handed to an operator (press 3, live):
/// nobody hung up; the seat is in the caller's `seat`.
pub(crate) const HANDED_OVER: HangupBy = "operator";

/// Drive an answered call's flow until it ends. Returns the outcome and who
/// hung up; [`HANDED_OVER`] with the operator's seat in `seat` when a ready
/// operator took the customer (no BYE: the caller hands the line over).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn run_flow<F: Flow>(
    engine: &Engine,
    call: CallRef,
    events: &mut tokio::sync::mpsc::Receiver<SipEvent>,
    media: &mut MediaHandle,
    flow: &mut F,
    spec: &CallSpec,
    rules: FlowRules,
    seat: &mut Option<OperatorSeat>,
) -> Result<(Outcome, HangupBy, Option<EndCause>), CallError> {
    let FlowRules { max_duration, dtmf } = rules;
    let (locale, order_id) = (spec.locale.as_str(), spec.order_id.as_deref());
    let hard_stop = Instant::now() + max_duration;
    // Set when the call ended by our own BYE from outside the flow (shutdown):
    // an undecided call then counts as failed, not as the callee hanging up.
    let mut interrupted = false;
    // Press 3: the desk's answer, awaited while the customer holds.
    let mut seeking: Option<tokio::sync::oneshot::Receiver<OperatorAnswer>> = None;
    flow.handle_input(Instant::now().into_std(), FlowInput::Answered);
    loop {
        while let Some(action) = flow.poll_action() {
            match action {
                FlowAction::Play(names) => {
                    let items = engine.prompt_items(locale, &names)?;
                    media.play(items).await?;
                }
                FlowAction::StopPlayback => {
                    // The session sends no PlaybackDone for a stopped queue.
                    media.stop_playback().await?;
                }
                FlowAction::Hangup(outcome) => {
                    engine.sip().command(SipCommand::Bye(call)).await?;
                    return Ok((outcome, "local", None));
                }
                FlowAction::Finished(Outcome::Hangup) if interrupted => {
                    return Ok((Outcome::Failed, "local", None))
                }
                FlowAction::Finished(Outcome::Operator) if seat.is_some() => {
                    return Ok((Outcome::Operator, HANDED_OVER, None))
                }
                FlowAction::Finished(outcome) => {
                    return Ok((outcome, if interrupted { "local" } else { "remote" }, None))
                }
                FlowAction::SeekOperator => {
                    // No desk (the CLI) or no order: hold, then the callback.
                    seeking = engine.seek_operator(order_id);
                }
            }
        }
        // A seat the flow did not take (it had stopped holding) frees its
        // operator; so does giving up the search once the flow stops holding.
        *seat = None;
        if !flow.holding() {
            seeking = None;
        }
        let flow_deadline = flow.poll_timeout().map(Instant::from_std);
        let wake = flow_deadline.map_or(hard_stop, |d| d.min(hard_stop));
        tokio::select! {
            answer = async {
                match seeking.as_mut() {
                    Some(rx) => rx.await,
                    None => std::future::pending().await,
                }
            } => {
                seeking = None;
                let now = Instant::now().into_std();
                match answer {
                    Ok(OperatorAnswer::Seat(s)) => {
                        tracing::info!(%call, agent = %s.agent_id, "an operator is reserved for the customer");
                        *seat = Some(s);
                        flow.handle_input(now, FlowInput::OperatorTook);
                    }
                    // Nobody, or the desk is gone (shutting down).
                    Ok(OperatorAnswer::Nobody) | Err(_) => flow.handle_input(now, FlowInput::NoOperator),
                }
            }
            ev = events.recv() => match ev {
                Some(SipEvent::Ended { by_remote: false }) => {
                    // We hung up outside the flow: the daemon is draining.
                    flow.handle_input(Instant::now().into_std(), FlowInput::RemoteHangup);
                    interrupted = true;
                }
                Some(SipEvent::Ended { .. }) | None => {
                    flow.handle_input(Instant::now().into_std(), FlowInput::RemoteHangup);
                }
                Some(SipEvent::Dtmf(d)) => {
                    // The same digit events as in-band and RFC 4733, by signalling.
                    if dtmf.accepts(crate::dtmf::DigitSource::Info) {
                        tracing::info!(%call, digit = %d.digit, source = "info", "key pressed");
                        flow.handle_input(Instant::now().into_std(), FlowInput::Digit(d.digit));
                    } else {
                        tracing::debug!(%call, ?dtmf, "SIP INFO key ignored by the trunk's dtmf mode");
                    }
                }
                Some(SipEvent::SessionExpired { status }) => {
                    // The endpoint has sent BYE already (RFC 4028 §10).
                    tracing::warn!(%call, status, "session timer expired; call ended");
                    return Ok((Outcome::Failed, "local", Some(EndCause::SessionTimer)));
                }
                Some(SipEvent::MediaUpdate { sdp }) => {
                    match sdp::parse_answer(&sdp) {
                        Ok(remote) => {
                            media.update_remote(media_params(&remote)).await?;
                            media.watch_media(engine.media_timeouts(), far_end_holds(&remote)).await?;
                        }
                        Err(e) => tracing::warn!(%call, error = %e, "re-INVITE SDP not usable; media unchanged"),
                    }
                }
                Some(other) => tracing::debug!(%call, event = ?other, "ignored in-call SIP event"),
            },
            ev = media.next_event() => match ev {
                Some(MediaEvent::Digit(d)) if !dtmf.accepts(d.source) => {
                    tracing::debug!(%call, source = ?d.source, ?dtmf, "key ignored by the trunk's dtmf mode");
                }
                Some(MediaEvent::Digit(d)) => {
                    tracing::info!(%call, digit = %d.digit, source = ?d.source, "key pressed");
                    flow.handle_input(Instant::now().into_std(), FlowInput::Digit(d.digit));
                }
                Some(MediaEvent::PlaybackDone) => {
                    flow.handle_input(Instant::now().into_std(), FlowInput::PlaybackDone);
                }
                Some(MediaEvent::MediaTimeout { silent }) => {
                    // The far end vanished without a BYE: ours ends the dialog.
                    tracing::warn!(%call, silent_ms = silent.as_millis() as u64, "media timeout; hanging up");
                    engine.sip().command(SipCommand::Bye(call)).await?;
                    return Ok((Outcome::Failed, "local", Some(EndCause::MediaTimeout)));
                }
                Some(_) => {}
                None => return Err(CallError::MediaGone),
            },
            _ = sleep_until(wake) => {
                if Instant::now() >= hard_stop {
                    tracing::warn!(%call, "call reached its maximum duration; hanging up");
                    engine.sip().command(SipCommand::Bye(call)).await?;
                    return Ok((Outcome::Failed, "local", None));
                }
                flow.handle_timeout(Instant::now().into_std());
            }
        }
    }
}
