//! A predictive line (issue #12): the customer is dialled with no agent
//! yet. Once answered, the line is either handed to a ready agent's
//! session ([`AnsweredLine`] goes into a
//! [`CustomerCall`](super::session::driver::CustomerCall) and is connected
//! into the live leg without a new INVITE), or, when no agent frees up
//! within the safe-harbor window, it plays the seller's message and hangs
//! up ([`AnsweredLine::play_message`]).
//!
//! Ringing follows the robo-call's rules: at least the mode's ring time
//! (≥ 15 s, 47 CFR 64.1200(a)(6)), then CANCEL (RFC 3261 §9.1); a 200 that
//! crosses our CANCEL gets a BYE.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::b2bua::LegEvent;
use super::engine::{CallError, Engine};
use super::leg_io::LegIo;
use super::live::LegCause;
use super::media_params;
use crate::media::MediaEvent;
use crate::sip::SipCommand;

/// How long the message may take before the line is hung up anyway.
const MESSAGE_LIMIT: Duration = Duration::from_secs(30);

/// A customer who answered a predictive line and waits for an agent (or
/// the message). Dropping it without [`AnsweredLine::hang_up`] leaves the
/// dialog to the far end: always end it one way or the other.
pub struct AnsweredLine {
    pub(super) io: Box<LegIo>,
    /// The customer's 200 OK reached us: the safe-harbor clock starts here.
    pub answered_at: Instant,
}

/// How a line's ringing ended.
pub enum LineEnd {
    Answered(AnsweredLine),
    /// Busy, no answer (our ring timeout), rejected, failed.
    Unanswered(LegCause),
}

impl std::fmt::Debug for AnsweredLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnsweredLine")
            .field("call", &self.io.call)
            .finish_non_exhaustive()
    }
}

/// Dial `to` through the first trunk that is up and ring it for `ring`.
pub async fn dial(engine: &Engine, to: &str, ring: Duration) -> Result<LineEnd, CallError> {
    let (_, trunk) = engine.pick_trunk()?;
    let number: String = to
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let mut io = LegIo::invite(engine, Some(trunk), Engine::request_uri(trunk, &number)).await?;
    tracing::info!(leg = %io.call, "predictive line: calling");
    let deadline = Instant::now() + ring;
    let mut cancelled = false;
    loop {
        let ev = tokio::select! {
            ev = io.recv() => io.input(ev),
            _ = sleep_until(deadline), if !cancelled => {
                cancelled = true;
                engine.sip().command(SipCommand::Cancel(io.call)).await?;
                continue;
            }
        };
        match ev {
            Some(LegEvent::Answered { usable_sdp: true }) if !cancelled => {
                return Ok(LineEnd::Answered(AnsweredLine {
                    io: Box::new(io),
                    answered_at: Instant::now(),
                }));
            }
            // Unusable media, or the 200 crossed our CANCEL (§9.1).
            Some(LegEvent::Answered { usable_sdp }) => {
                let _ = engine.sip().command(SipCommand::Bye(io.call)).await;
                let cause = if usable_sdp {
                    LegCause::NoAnswer
                } else {
                    LegCause::BadSdp
                };
                return Ok(LineEnd::Unanswered(cause));
            }
            Some(LegEvent::Failed { status }) => {
                return Ok(LineEnd::Unanswered(LegCause::from_failure(
                    status, cancelled,
                )));
            }
            Some(LegEvent::Ended { .. } | LegEvent::Gone) => {
                return Ok(LineEnd::Unanswered(LegCause::Error));
            }
            Some(LegEvent::MediaUpdate { .. } | LegEvent::MediaTimeout) | None => {}
        }
    }
}

impl AnsweredLine {
    /// Play `items` to the customer, then hang up (the safe-harbor
    /// message). Returns when the message ended or the customer hung up.
    pub async fn play_message(
        mut self,
        engine: &Engine,
        locale: &str,
        prompts: &[String],
    ) -> Result<(), CallError> {
        let (session, remote) = self.io.answered_media()?;
        let mut media = session.start(media_params(&remote));
        let played = async {
            media
                .play(engine.prompt_items(locale, prompts)?)
                .await
                .map_err(CallError::from)?;
            let limit = Instant::now() + MESSAGE_LIMIT;
            loop {
                tokio::select! {
                    ev = media.next_event() => match ev {
                        Some(MediaEvent::PlaybackDone) | None => return Ok(()),
                        Some(_) => {}
                    },
                    ev = self.io.recv() => {
                        // The customer hung up during the message.
                        if matches!(self.io.input(ev), Some(LegEvent::Ended { .. } | LegEvent::Gone)) {
                            return Ok::<(), CallError>(());
                        }
                    }
                    _ = sleep_until(limit) => return Ok(()),
                }
            }
        }
        .await;
        let _ = engine.sip().command(SipCommand::Bye(self.io.call)).await;
        media.stop().await;
        played
    }

    /// End the line with a BYE (nobody to connect and no message).
    pub async fn hang_up(self, engine: &Engine) {
        let _ = engine.sip().command(SipCommand::Bye(self.io.call)).await;
    }
}
