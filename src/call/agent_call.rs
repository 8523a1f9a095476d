//! Click-to-call as a B2BUA (issue #5): call the agent's phone, then the
//! customer through the trunk, and join the two legs in one media
//! [`Bridge`](crate::media::Bridge). Payment sessions run on the bridged call
//! ([`super::secure_payment`]). The rules (who ended it, causes, CANCEL/200
//! crossing, timeouts) are the sans-IO [`B2bua`]; this file is its driver.
//!
//! Each leg is its own SIP dialog (RFC 3261 §6: a B2BUA is a UAS on one
//! side and a UAC on the other, here a UAC on both). Either hang-up ends
//! both: a BYE on the live other leg, a CANCEL (§9) on one still ringing.
//! The call layer keeps no store: it reports [`LiveEvent`]s to whoever runs
//! it (the daemon's desk writes them down) and takes [`CallCommand`]s.
//!
//! A customer call into an agent's nailed-up session (issue #10) runs the
//! same driver ([`run_in_session`]) on the same rules
//! ([`B2bua::into_session`]): the session lends it the agent's leg and its
//! running bridge, and gets them back, with the customer disconnected, when
//! the call ends.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, Instant};

use super::b2bua::{Action, B2bua, Input, Leg, LegEvent, Milestone};
use super::engine::{CallError, Engine};
use super::leg_io::LegIo;
use super::line::AnsweredLine;
use super::live::{AgentCallSpec, CallCommand, CallEnd, EndedBy, LegCause, LiveEvent};
use super::secure_payment::SecurePayment;
use super::{far_end_holds, media_params};
use crate::ivr::payment::{FailReason, PaymentOutcome, Refusal};
use crate::media::{
    BridgeEvent, BridgeHandle, BridgeMode, CustomerSpan, MediaEvent, MediaSession, MediaTimeouts,
    Side,
};
use crate::sip::sdp::{self, RemoteMedia};
use crate::sip::{SipCommand, SipEvent};

/// How long a charge in flight may keep a hung-up call's session open.
const CHARGE_AFTER_HANGUP: Duration = Duration::from_secs(60);
/// A wake-up far enough away to mean "no timer".
const IDLE: Duration = Duration::from_secs(24 * 3600);

/// An agent's leg and its running bridge, lent by a session to one
/// customer call.
pub(super) struct Lent {
    pub(super) agent: LegIo,
    pub(super) bridge: BridgeHandle,
}

/// What a session's customer call gives back.
pub(super) struct Returned {
    /// `None` when the bridge failed to disconnect (its task is gone).
    pub(super) lent: Option<Lent>,
    pub(super) span: Option<CustomerSpan>,
    /// When the customer's 200 OK reached this driver.
    pub(super) answered_at: Option<Instant>,
    /// The agent leg's end, if it ended during the call (then the session
    /// is over too).
    pub(super) agent_end: Option<LegEvent>,
}

/// Everything the driver owns for one call.
struct CallIo<'a> {
    engine: &'a Engine,
    spec: &'a AgentCallSpec,
    out: &'a mpsc::Sender<LiveEvent>,
    agent: Option<LegIo>,
    customer: Option<LegIo>,
    bridge: Option<BridgeHandle>,
    payment: Option<SecurePayment>,
    /// A session's call: told when the customer is bridged.
    bridged: Option<oneshot::Sender<()>>,
    customer_answered_at: Option<Instant>,
    agent_end: Option<LegEvent>,
}

/// Run one click-to-call to its end. Reports go to `out`; the last is
/// always [`LiveEvent::Ended`].
pub async fn run(
    engine: Arc<Engine>,
    spec: AgentCallSpec,
    mut commands: mpsc::Receiver<CallCommand>,
    out: mpsc::Sender<LiveEvent>,
) {
    let mut io = CallIo {
        engine: &engine,
        spec: &spec,
        out: &out,
        agent: None,
        customer: None,
        bridge: None,
        payment: None,
        bridged: None,
        customer_answered_at: None,
        agent_end: None,
    };
    let end = drive_to_end(&mut io, B2bua::new, &mut commands).await;
    settle(&mut io, &engine, &out).await;
    if let Some(bridge) = io.bridge.take() {
        let stats = bridge.stop().await;
        tracing::debug!(call = %spec.call_id, ?stats, "bridge stopped");
    }
    tracing::info!(call = %spec.call_id, ?end, "agent call ended");
    let _ = out.send(LiveEvent::Ended(end)).await;
}

/// Run one customer call into a session's live agent leg (issue #10) to its
/// end: the customer is dialled, connected into `lent`'s bridge on its 200
/// OK (no INVITE to the agent) and disconnected at the end; `bridged` is
/// told when the parties hear each other. Reports go to `out` as for
/// [`run`]; the agent's leg and bridge are given back.
pub(super) async fn run_in_session(
    engine: Arc<Engine>,
    spec: AgentCallSpec,
    mut commands: mpsc::Receiver<CallCommand>,
    out: mpsc::Sender<LiveEvent>,
    lent: Lent,
    bridged: oneshot::Sender<()>,
    adopted: Option<AnsweredLine>,
) -> Returned {
    let (customer, customer_answered_at) = match adopted {
        Some(line) => (Some(*line.io), Some(line.answered_at)),
        None => (None, None),
    };
    let mut io = CallIo {
        engine: &engine,
        spec: &spec,
        out: &out,
        agent: Some(lent.agent),
        customer,
        bridge: Some(lent.bridge),
        payment: None,
        bridged: Some(bridged),
        customer_answered_at,
        agent_end: None,
    };
    let end = drive_to_end(&mut io, B2bua::into_session, &mut commands).await;
    settle(&mut io, &engine, &out).await;
    let mut span = None;
    let mut lent = None;
    if let (Some(mut bridge), Some(agent)) = (io.bridge.take(), io.agent.take()) {
        let usable = match bridge.disconnect().await {
            Ok(s) => {
                span = Some(s);
                true
            }
            // Never connected (the customer did not answer): nothing to release.
            Err(crate::media::MediaError::NotConnected) => true,
            Err(e) => {
                tracing::warn!(call = %spec.call_id, error = %e, "session bridge failed");
                false
            }
        };
        if usable {
            lent = Some(Lent { agent, bridge });
        }
    }
    tracing::info!(call = %spec.call_id, ?end, "session call ended");
    let _ = out.send(LiveEvent::Ended(end)).await;
    Returned {
        lent,
        span,
        answered_at: io.customer_answered_at,
        agent_end: io.agent_end,
    }
}

/// Drive a machine made by `start` (at now, with the ring timeout) to its end.
async fn drive_to_end(
    io: &mut CallIo<'_>,
    start: fn(std::time::Instant, Duration) -> B2bua,
    commands: &mut mpsc::Receiver<CallCommand>,
) -> CallEnd {
    match io.engine.config().calling.ring_timeout() {
        Ok(ring) => drive(io, start(Instant::now().into_std(), ring), commands).await,
        Err(e) => {
            tracing::warn!(call = %io.spec.call_id, error = %e, "agent call failed");
            CallEnd {
                failed: true,
                agent_cause: LegCause::Error,
                customer_cause: None,
                ended_by: EndedBy::Local,
            }
        }
    }
}

/// A payment still running when the call ended is settled and reported.
async fn settle(io: &mut CallIo<'_>, engine: &Engine, out: &mpsc::Sender<LiveEvent>) {
    if let Some(p) = io.payment.take() {
        if let Some(bridge) = &io.bridge {
            settle_after_hangup(engine, bridge, p, out).await;
        }
    }
}

/// Feed the machine until it ends: leg events, commands, the bridge's
/// events (digits for a payment), a charge's answer and timers.
async fn drive(
    io: &mut CallIo<'_>,
    mut b2b: B2bua,
    commands: &mut mpsc::Receiver<CallCommand>,
) -> CallEnd {
    let mut commands_open = true;
    loop {
        while let Some(action) = b2b.poll_action() {
            if let Action::End(end) = action {
                return end;
            }
            if let Err(e) = io.act(action, &mut b2b).await {
                tracing::warn!(call = %io.spec.call_id, error = %e, "agent call: local failure; ending both legs");
                b2b.handle_input(Input::LocalFailure, Instant::now().into_std());
            }
        }
        let machine_wake = b2b.poll_timeout().map(Instant::from_std);
        let payment_wake = io
            .payment
            .as_ref()
            .and_then(SecurePayment::deadline)
            .map(Instant::from_std);
        let wake = [machine_wake, payment_wake]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + IDLE);
        let charging = io.payment.as_ref().is_some_and(SecurePayment::is_charging);
        let bridged = b2b.is_bridged();
        let input = tokio::select! {
            ev = async { match io.agent.as_mut() { Some(l) => l.recv().await, None => std::future::pending().await } } => {
                io.leg_event(Leg::Agent, ev)
            },
            ev = async { match io.customer.as_mut() { Some(l) => l.recv().await, None => std::future::pending().await } } => {
                io.leg_event(Leg::Customer, ev)
            },
            cmd = commands.recv(), if commands_open => match cmd {
                Some(CallCommand::HangUp) => Some(Input::HangUp),
                None => {
                    commands_open = false;
                    Some(Input::HangUp)
                }
                Some(cmd) if bridged => match io.payment_command(cmd).await {
                    Ok(()) => None,
                    Err(e) => {
                        tracing::warn!(call = %io.spec.call_id, error = %e, "payment command failed");
                        Some(Input::LocalFailure)
                    }
                },
                Some(cmd) => {
                    refuse(io.out, &cmd).await;
                    None
                }
            },
            ev = async { match io.bridge.as_mut() { Some(b) => b.next_event().await, None => std::future::pending().await } }, if bridged => match ev {
                Some(ev) => io.bridge_event(ev).await,
                None => Some(Input::LocalFailure),
            },
            r = async { match io.payment.as_mut() { Some(p) => p.charged().await, None => std::future::pending().await } }, if charging => {
                if let Some(p) = io.payment.as_mut() {
                    p.on_charged(Instant::now().into_std(), r);
                }
                None
            },
            _ = sleep_until(wake) => {
                if let Some(p) = io.payment.as_mut() {
                    p.on_timeout(Instant::now().into_std());
                }
                Some(Input::Timeout)
            }
        };
        if let Some(input) = input {
            b2b.handle_input(input, Instant::now().into_std());
        }
        if b2b.is_bridged() {
            if let Err(e) = io.settle_payment_step().await {
                tracing::warn!(call = %io.spec.call_id, error = %e, "bridged call failed; hanging up both legs");
                b2b.handle_input(Input::LocalFailure, Instant::now().into_std());
            }
        }
    }
}

/// Refuse payment orders that arrive before the bridge is up.
async fn refuse(out: &mpsc::Sender<LiveEvent>, cmd: &CallCommand) {
    if let CallCommand::StartPayment(o) = cmd {
        let _ = out
            .send(LiveEvent::PaymentRefused {
                payment_id: o.payment_id.clone(),
                reason: Refusal::NotBridged,
            })
            .await;
    }
}

impl CallIo<'_> {
    fn leg(&mut self, leg: Leg) -> Option<&mut LegIo> {
        match leg {
            Leg::Agent => self.agent.as_mut(),
            Leg::Customer => self.customer.as_mut(),
        }
    }

    /// A SIP event as the machine's input; the answer's SDP is parsed here.
    fn leg_event(&mut self, leg: Leg, ev: Option<SipEvent>) -> Option<Input> {
        let event = self.leg(leg)?.input(ev)?;
        match (&event, leg) {
            (LegEvent::Answered { usable_sdp: true }, Leg::Customer) => {
                self.customer_answered_at = Some(Instant::now());
            }
            (LegEvent::Ended { .. } | LegEvent::Gone, Leg::Agent) => {
                self.agent_end = Some(event.clone());
            }
            _ => {}
        }
        Some(Input::Leg(leg, event))
    }

    /// Carry out one action of the machine.
    async fn act(&mut self, action: Action, b2b: &mut B2bua) -> Result<(), CallError> {
        let sip = self.engine.sip();
        match action {
            // A predictive line's customer already answered (issue #12):
            // no INVITE, the machine hears the answer it was waiting for.
            Action::Invite(Leg::Customer) if self.customer.is_some() => {
                b2b.handle_input(
                    Input::Leg(Leg::Customer, LegEvent::Answered { usable_sdp: true }),
                    Instant::now().into_std(),
                );
            }
            Action::Invite(leg) => {
                let io = match leg {
                    Leg::Agent => {
                        LegIo::invite(
                            self.engine,
                            None,
                            self.spec.agent_uri.clone(),
                            self.spec.agent_srtp,
                        )
                        .await?
                    }
                    Leg::Customer => {
                        let (_, trunk) = self.engine.pick_trunk()?;
                        let number: String = self
                            .spec
                            .to
                            .chars()
                            .filter(|c| c.is_ascii_digit() || *c == '+')
                            .collect();
                        LegIo::invite(
                            self.engine,
                            Some(trunk),
                            Engine::request_uri(trunk, &number),
                            trunk.srtp,
                        )
                        .await?
                    }
                };
                tracing::info!(call = %self.spec.call_id, leg = %io.call, ?leg, "calling");
                match leg {
                    Leg::Agent => self.agent = Some(io),
                    Leg::Customer => self.customer = Some(io),
                }
            }
            Action::Cancel(leg) => {
                if let Some(io) = self.leg(leg) {
                    let call = io.call;
                    sip.command(SipCommand::Cancel(call)).await?;
                }
            }
            Action::Bye(leg) => {
                if let Some(io) = self.leg(leg) {
                    let call = io.call;
                    let _ = sip.command(SipCommand::Bye(call)).await;
                }
            }
            Action::StartBridge => {
                let (session, remote) = self.answered_media(Leg::Agent)?;
                self.bridge = Some(crate::media::Bridge::start(session, media_params(&remote))?);
                b2b.handle_input(Input::MediaReady, Instant::now().into_std());
            }
            Action::ConnectCustomer => {
                let (session, remote) = self.answered_media(Leg::Customer)?;
                let stale = session.discard_queued();
                if stale > 0 {
                    tracing::debug!(call = %self.spec.call_id, stale, "queued customer audio dropped before the bridge");
                }
                let bridge = self.bridge.as_mut().ok_or(CallError::MediaGone)?;
                bridge.connect(session, media_params(&remote)).await?;
                // Bridged: a leg whose far end goes silent ends the call
                // (issue #14: an agent listened to a vanished customer).
                let timeouts = self.engine.media_timeouts();
                let agent_holds = self
                    .agent
                    .as_ref()
                    .and_then(|a| a.remote.as_ref())
                    .is_some_and(far_end_holds);
                bridge
                    .watch_media(Side::Agent, timeouts, agent_holds)
                    .await?;
                bridge
                    .watch_media(Side::Customer, timeouts, far_end_holds(&remote))
                    .await?;
                tracing::info!(call = %self.spec.call_id, "bridged");
                b2b.handle_input(Input::MediaReady, Instant::now().into_std());
            }
            Action::UpdateMedia { leg, sdp } => {
                if let Some(bridge) = &self.bridge {
                    let side = if leg == Leg::Agent {
                        Side::Agent
                    } else {
                        Side::Customer
                    };
                    update(bridge, side, &sdp, self.engine.media_timeouts()).await?;
                }
            }
            Action::Report(m) => {
                let ev = match m {
                    Milestone::AgentAnswered => LiveEvent::AgentAnswered,
                    Milestone::Bridged => {
                        if let Some(tx) = self.bridged.take() {
                            let _ = tx.send(());
                        }
                        LiveEvent::Bridged
                    }
                };
                let _ = self.out.send(ev).await;
            }
            Action::End(_) => {}
        }
        Ok(())
    }

    /// The media session and answer of a leg that answered.
    fn answered_media(&mut self, leg: Leg) -> Result<(MediaSession, RemoteMedia), CallError> {
        self.leg(leg).ok_or(CallError::MediaGone)?.answered_media()
    }

    /// A payment order or cancel on the bridged call.
    async fn payment_command(&mut self, cmd: CallCommand) -> Result<(), CallError> {
        let Some(bridge) = self.bridge.as_ref() else {
            return Ok(());
        };
        let call_id = &self.spec.call_id;
        match cmd {
            CallCommand::StartPayment(order) => {
                if self.payment.is_some() {
                    let _ = self
                        .out
                        .send(LiveEvent::PaymentRefused {
                            payment_id: order.payment_id,
                            reason: Refusal::Busy,
                        })
                        .await;
                    return Ok(());
                }
                let kit = match self.engine.payments() {
                    Ok(k) => k,
                    Err(e) => {
                        tracing::warn!(call = %call_id, error = %e, "payment refused");
                        let _ = self
                            .out
                            .send(LiveEvent::PaymentRefused {
                                payment_id: order.payment_id,
                                reason: Refusal::PaymentsOff,
                            })
                            .await;
                        return Ok(());
                    }
                };
                tracing::info!(call = %call_id, payment = %order.payment_id, "payment session: agent on hold");
                bridge.set_mode(BridgeMode::Secure).await?;
                self.payment = Some(SecurePayment::start(
                    kit,
                    order,
                    Instant::now().into_std(),
                    self.engine.clock().now(),
                )?);
            }
            CallCommand::CancelPayment { payment_id } => {
                // The store already moved it pending → cancelled, so the
                // desk had not recorded a first key: obey even if a key
                // raced this command in. Only a charge in flight goes on
                // (it cannot be called back; its result is logged).
                match self.payment.as_ref() {
                    Some(p) if p.id() == payment_id && p.is_charging() => {
                        tracing::error!(call = %call_id, payment = %payment_id, "agent cancelled a payment whose charge is in flight");
                    }
                    Some(p) if p.id() == payment_id => {
                        tracing::info!(call = %call_id, payment = %payment_id, "payment cancelled by the agent");
                        self.payment = None;
                        bridge.stop_playback(Side::Customer).await?;
                        bridge.set_mode(BridgeMode::Talk).await?;
                        let kit = self.engine.payments()?;
                        let words = self.engine.prompt_items(&kit.locale, &kit.plan.cancelled)?;
                        bridge.play(Side::Customer, words).await?;
                    }
                    _ => {}
                }
            }
            CallCommand::HangUp => {}
        }
        Ok(())
    }

    /// The customer's keys and prompt ends feed a running payment; a leg's
    /// media timeout is the machine's input.
    async fn bridge_event(&mut self, ev: BridgeEvent) -> Option<Input> {
        if let MediaEvent::MediaTimeout { silent } = ev.event {
            let leg = match ev.side {
                Side::Agent => Leg::Agent,
                Side::Customer => Leg::Customer,
            };
            tracing::warn!(call = %self.spec.call_id, ?leg, silent_ms = silent.as_millis() as u64, "media timeout; ending the call");
            return Some(Input::Leg(leg, LegEvent::MediaTimeout));
        }
        let p = self.payment.as_mut()?;
        match ev {
            BridgeEvent {
                side: Side::Customer,
                event: MediaEvent::Digit(d),
            } => {
                // The key itself stays in the flow's zeroizing buffer.
                let first_key = p.on_digit(Instant::now().into_std(), d.digit);
                if first_key {
                    let _ = self
                        .out
                        .send(LiveEvent::PaymentKeyed {
                            payment_id: p.id().to_string(),
                        })
                        .await;
                }
            }
            BridgeEvent {
                side: Side::Customer,
                event: MediaEvent::PlaybackDone,
            } => p.on_playback_done(Instant::now().into_std()),
            _ => {}
        }
        None
    }

    /// Let a running payment act; when it is over, the caller is back with
    /// the agent and its end is reported.
    async fn settle_payment_step(&mut self) -> Result<(), CallError> {
        let (Some(p), Some(bridge)) = (self.payment.as_mut(), self.bridge.as_ref()) else {
            return Ok(());
        };
        if let Some((outcome, charge)) = p.act(self.engine, bridge, self.out).await? {
            tracing::info!(call = %self.spec.call_id, payment = %p.id(), status = outcome.status(), "payment session over: back to the agent");
            let payment_id = p.id().to_string();
            self.payment = None;
            bridge.set_mode(BridgeMode::Talk).await?;
            let _ = self
                .out
                .send(LiveEvent::PaymentEnded {
                    payment_id,
                    outcome,
                    charge,
                })
                .await;
        }
        Ok(())
    }
}

/// The call ended during a payment: the flow fails it, unless a charge is in
/// flight, whose answer is waited for and recorded (a charge the processor
/// took must not be reported as failed). Always reports the payment's end.
async fn settle_after_hangup(
    engine: &Engine,
    bridge: &BridgeHandle,
    mut p: SecurePayment,
    out: &mpsc::Sender<LiveEvent>,
) {
    p.on_hangup(Instant::now().into_std());
    let give_up = Instant::now() + CHARGE_AFTER_HANGUP;
    let (outcome, charge) = loop {
        match p.act(engine, bridge, out).await {
            Ok(Some(end)) => break end,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(payment = %p.id(), error = %e, "payment ended by an error");
                // A charge in flight still decides the outcome.
                if !p.is_charging() {
                    break (PaymentOutcome::Failed(FailReason::Interrupted), None);
                }
            }
        }
        let wake = p
            .deadline()
            .map_or(give_up, |d| Instant::from_std(d).min(give_up));
        let charging = p.is_charging();
        tokio::select! {
            r = p.charged(), if charging => p.on_charged(Instant::now().into_std(), r),
            _ = sleep_until(wake) => {
                if Instant::now() >= give_up {
                    tracing::error!(payment = %p.id(), "no outcome after the call ended; recording a failure");
                    break (PaymentOutcome::Failed(FailReason::ChargeTimeout), None);
                }
                p.on_timeout(Instant::now().into_std());
            }
        }
    };
    let _ = out
        .send(LiveEvent::PaymentEnded {
            payment_id: p.id().to_string(),
            outcome,
            charge,
        })
        .await;
}

/// A re-INVITE on one leg (hold, codec change): move that leg's media, and
/// its media timeout to `hold_timeout` while the far end holds the call.
pub(super) async fn update(
    bridge: &BridgeHandle,
    side: Side,
    body: &[u8],
    timeouts: MediaTimeouts,
) -> Result<(), CallError> {
    match sdp::parse_answer(body) {
        Ok(remote) => {
            bridge.update_remote(side, media_params(&remote)).await?;
            bridge
                .watch_media(side, timeouts, far_end_holds(&remote))
                .await?;
        }
        Err(e) => tracing::warn!(?side, error = %e, "re-INVITE SDP not usable; media unchanged"),
    }
    Ok(())
}
