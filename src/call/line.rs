//! A predictive line (issue #12): the customer is dialled with no agent
//! yet. Once answered, the line is either handed to a ready agent's
//! session ([`AnsweredLine`] goes into a
//! [`CustomerCall`](super::session::driver::CustomerCall) and is connected
//! into the live leg without a new INVITE), or, when no agent frees up
//! within the safe-harbor window, it plays the seller's message and hangs
//! up ([`AnsweredLine::play_message`]).
//!
//! With answering-machine detection on (the mode's `amd`), the answered
//! line first listens ([`MediaHandle::detect_machine`]) until the sans-IO
//! detector decides: a human (or unknown, routed like one) comes back as
//! [`LineEnd::Answered`] with the media stopped and its sockets back in the
//! leg, the safe-harbor window starting where the customer's greeting
//! ended; a machine comes back as [`LineEnd::Machine`], still listening
//! (for its beep, before a message).
//!
//! Ringing follows the robo-call's rules: at least the mode's ring time
//! (≥ 15 s, 47 CFR 64.1200(a)(6)), then CANCEL (RFC 3261 §9.1); a 200 that
//! crosses our CANCEL gets a BYE.

use std::time::Duration;

use orderline_amd::{AmdConfig, AmdReason, AmdResult, Decision};
use tokio::time::{sleep_until, Instant};

use super::b2bua::LegEvent;
use super::engine::{CallError, Engine};
use super::leg_io::LegIo;
use super::live::LegCause;
use super::media_params;
use super::operator::HeldCustomer;
use crate::media::{MediaEvent, MediaHandle};
use crate::sip::SipCommand;

/// How long the message may take before the line is hung up anyway.
const MESSAGE_LIMIT: Duration = Duration::from_secs(30);
/// After the detector's own analysis time, how long to wait for its
/// decision before routing the customer as `unknown` (a far end that sends
/// no RTP at all gives the detector nothing to decide on).
const AMD_GRACE: Duration = Duration::from_millis(500);
/// How long a machine's greeting may run on after `machine` before its
/// message starts anyway (no beep heard).
const BEEP_WAIT: Duration = Duration::from_secs(20);

/// A customer who answered a predictive line and waits for an agent (or
/// the message). Dropping it without [`AnsweredLine::hang_up`] leaves the
/// dialog to the far end: always end it one way or the other.
pub struct AnsweredLine {
    pub(super) io: Box<LegIo>,
    /// The customer's 200 OK reached us.
    pub answered_at: Instant,
    /// Where the safe-harbor window starts: the answer, or with AMD the end
    /// of the customer's greeting (47 CFR 64.1200(a)(7)(i): "within two
    /// seconds after the completed greeting"). Never before the answer.
    pub window_from: Instant,
    /// The detector's decision, when it listened.
    pub amd: Option<Decision>,
}

/// A line answered by a machine (AMD), still listening for its beep.
/// End it with [`MachineLine::hang_up`] or [`MachineLine::leave_message`].
pub struct MachineLine {
    io: Box<LegIo>,
    media: MediaHandle,
    /// The `machine` decision.
    pub decision: Decision,
}

/// How a line's ringing ended.
pub enum LineEnd {
    Answered(AnsweredLine),
    /// AMD heard an answering machine: never a live answer.
    Machine(MachineLine),
    /// Busy, no answer (our ring timeout), rejected, failed; or the
    /// customer hung up while AMD listened ([`LegCause::Hangup`]).
    Unanswered(LegCause),
}

impl std::fmt::Debug for AnsweredLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnsweredLine")
            .field("call", &self.io.call)
            .finish_non_exhaustive()
    }
}

/// Dial `to` through the first trunk that is up and ring it for `ring`;
/// with `amd`, classify the answer before returning it.
pub async fn dial(
    engine: &Engine,
    to: &str,
    ring: Duration,
    amd: Option<&AmdConfig>,
) -> Result<LineEnd, CallError> {
    let (_, trunk) = engine.pick_trunk()?;
    let number: String = to
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+')
        .collect();
    let mut io = LegIo::invite(
        engine,
        Some(trunk),
        Engine::request_uri(trunk, &number),
        trunk.srtp,
    )
    .await?;
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
                let answered_at = Instant::now();
                let io = Box::new(io);
                return match amd {
                    None => Ok(LineEnd::Answered(AnsweredLine {
                        io,
                        answered_at,
                        window_from: answered_at,
                        amd: None,
                    })),
                    Some(cfg) => listen(engine, io, answered_at, cfg).await,
                };
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

/// Run the answering-machine detector on the answered line until it
/// decides, the customer hangs up, or its analysis time (plus
/// [`AMD_GRACE`]) runs out, which routes the customer as `unknown`.
async fn listen(
    engine: &Engine,
    mut io: Box<LegIo>,
    answered_at: Instant,
    cfg: &AmdConfig,
) -> Result<LineEnd, CallError> {
    let (session, remote) = match io.answered_media() {
        Ok(m) => m,
        Err(e) => {
            let _ = engine.sip().command(SipCommand::Bye(io.call)).await;
            return Err(e);
        }
    };
    let mut media = session.start(media_params(&remote));
    if let Err(e) = media.detect_machine(cfg.clone()).await {
        let _ = engine.sip().command(SipCommand::Bye(io.call)).await;
        media.stop().await;
        return Err(e.into());
    }
    let guard = answered_at + Duration::from_millis(u64::from(cfg.total_analysis_ms)) + AMD_GRACE;
    let unknown = |reason| Decision {
        result: AmdResult::Unknown,
        reason,
        decision_ms: answered_at.elapsed().as_millis() as u32,
        beep: false,
        speech_end_ms: None,
    };
    let decision = loop {
        tokio::select! {
            ev = media.next_event() => match ev {
                Some(MediaEvent::Amd(d)) => break d,
                Some(_) => {}
                None => break unknown(AmdReason::EndOfAudio),
            },
            ev = io.recv() => {
                if matches!(io.input(ev), Some(LegEvent::Ended { .. } | LegEvent::Gone)) {
                    media.stop().await;
                    return Ok(LineEnd::Unanswered(LegCause::Hangup));
                }
            }
            _ = sleep_until(guard) => break unknown(AmdReason::Timeout),
        }
    };
    tracing::info!(leg = %io.call, result = decision.result.as_str(), reason = decision.reason.as_str(), decision_ms = decision.decision_ms, "predictive line: answering-machine detection");
    if decision.result == AmdResult::Machine {
        return Ok(LineEnd::Machine(MachineLine {
            io,
            media,
            decision,
        }));
    }
    let (session, stats) = match media.release().await {
        Ok(r) => r,
        Err(e) => {
            // The task is gone and its sockets with it: nobody can take
            // this customer; end the call rather than leave it up.
            let _ = engine.sip().command(SipCommand::Bye(io.call)).await;
            return Err(e.into());
        }
    };
    if decision.reason == AmdReason::Timeout {
        tracing::debug!(leg = %io.call, ?stats, "AMD ran out of time");
    }
    io.restore_media(session);
    // The detector's clock is the audio's: the greeting ended this long
    // after the first packet, which came no earlier than the answer.
    let window_from = decision.speech_end_ms.map_or(answered_at, |ms| {
        answered_at + Duration::from_millis(u64::from(ms))
    });
    Ok(LineEnd::Answered(AnsweredLine {
        io,
        answered_at,
        window_from,
        amd: Some(decision),
    }))
}

impl MachineLine {
    /// End the call now (`amd = "hangup"`).
    pub async fn hang_up(self, engine: &Engine) {
        let _ = engine.sip().command(SipCommand::Bye(self.io.call)).await;
        self.media.stop().await;
    }

    /// Wait for the greeting's beep (at most [`BEEP_WAIT`]), play `prompts`
    /// onto the recording, then hang up (`amd = "message"`).
    pub async fn leave_message(
        mut self,
        engine: &Engine,
        locale: &str,
        prompts: &[String],
    ) -> Result<(), CallError> {
        let until = Instant::now() + BEEP_WAIT;
        let gone = loop {
            tokio::select! {
                ev = self.media.next_event() => match ev {
                    Some(MediaEvent::Amd(d)) if d.beep => break false,
                    Some(_) => {}
                    None => break false,
                },
                ev = self.io.recv() => {
                    if matches!(self.io.input(ev), Some(LegEvent::Ended { .. } | LegEvent::Gone)) {
                        break true;
                    }
                }
                _ = sleep_until(until) => break false,
            }
        };
        let played = if gone {
            Ok(())
        } else {
            play_then_end(
                engine,
                &mut self.io,
                &mut self.media,
                locale,
                prompts,
                |_| {},
            )
            .await
        };
        let _ = engine.sip().command(SipCommand::Bye(self.io.call)).await;
        self.media.stop().await;
        played
    }
}

/// Play `prompts` to the far end and wait until they end, the far end hangs
/// up, or [`MESSAGE_LIMIT`] passes. `first_audio` hears when the prompts'
/// first packet went out.
async fn play_then_end(
    engine: &Engine,
    io: &mut LegIo,
    media: &mut MediaHandle,
    locale: &str,
    prompts: &[String],
    mut first_audio: impl FnMut(Instant),
) -> Result<(), CallError> {
    media
        .play(engine.prompt_items(locale, prompts)?)
        .await
        .map_err(CallError::from)?;
    let limit = Instant::now() + MESSAGE_LIMIT;
    loop {
        tokio::select! {
            ev = media.next_event() => match ev {
                Some(MediaEvent::PlaybackDone) | None => return Ok(()),
                Some(MediaEvent::PlaybackStarted { at }) => first_audio(Instant::from_std(at)),
                Some(_) => {}
            },
            ev = io.recv() => {
                if matches!(io.input(ev), Some(LegEvent::Ended { .. } | LegEvent::Gone)) {
                    return Ok(());
                }
            }
            _ = sleep_until(limit) => return Ok(()),
        }
    }
}

impl AnsweredLine {
    /// A robo-call's customer handed to an operator (press 3, issue #13),
    /// as a line a session takes. Its `answered_at` is the hand-over, not
    /// the robo-call's 200 OK: the session's connect latency (and its
    /// metric) then measures our connect, not the script heard before it.
    pub fn held(customer: Box<HeldCustomer>) -> AnsweredLine {
        let HeldCustomer {
            call,
            events,
            session,
            remote,
            local,
        } = *customer;
        let now = Instant::now();
        AnsweredLine {
            io: Box::new(LegIo::answered(call, events, session, remote, local)),
            answered_at: now,
            window_from: now,
            amd: None,
        }
    }

    /// Play `items` to the customer, then hang up (the safe-harbor
    /// message). Returns when the message ended or the customer hung up.
    /// Logs when its first packet was sent, counted from the window's start
    /// (`heard_after_ms`: what the 2 s rule measures, 16 CFR
    /// 310.4(b)(4)(iii)) and from the answer.
    pub async fn play_message(
        mut self,
        engine: &Engine,
        locale: &str,
        prompts: &[String],
    ) -> Result<(), CallError> {
        let (session, remote) = self.io.answered_media()?;
        let mut media = session.start(media_params(&remote));
        let (call, window_from, answered_at) = (self.io.call, self.window_from, self.answered_at);
        let first_audio = |at: Instant| {
            let ms = |from: Instant| at.saturating_duration_since(from).as_millis() as u64;
            tracing::info!(leg = %call, heard_after_ms = ms(window_from), since_answer_ms = ms(answered_at), "safe-harbor message: first audio sent");
        };
        let played = play_then_end(
            engine,
            &mut self.io,
            &mut media,
            locale,
            prompts,
            first_audio,
        )
        .await;
        let _ = engine.sip().command(SipCommand::Bye(self.io.call)).await;
        media.stop().await;
        played
    }

    /// The customer hung up (or the dialog went) while nobody was reading
    /// the line: checked before it is handed to an agent or played the
    /// message.
    pub fn hung_up(&mut self) -> bool {
        self.io.ended_meanwhile()
    }

    /// End the line with a BYE (nobody to connect and no message).
    pub async fn hang_up(self, engine: &Engine) {
        let _ = engine.sip().command(SipCommand::Bye(self.io.call)).await;
    }
}
