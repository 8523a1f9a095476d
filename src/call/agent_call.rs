//! Click-to-call as a B2BUA (issue #5): call the agent's phone, then the
//! customer through the trunk, and join the two legs in one media
//! [`Bridge`](crate::media::Bridge). Payment sessions run on the bridged call
//! ([`super::secure_payment`]).
//!
//! Each leg is its own SIP dialog (RFC 3261 §6: a B2BUA is a UAS on one
//! side and a UAC on the other, here a UAC on both). Either hang-up ends
//! both: a BYE on the live other leg, a CANCEL (§9) on one still ringing.
//! The call layer keeps no store: it reports [`LiveEvent`]s to whoever runs
//! it (the daemon's desk writes them down) and takes [`CallCommand`]s.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::engine::{CallError, Engine};
use super::media_params;
use super::live::{AgentCallSpec, CallCommand, CallEnd, LiveEvent};
use super::secure_payment::SecurePayment;
use crate::ivr::payment::{FailReason, PaymentOutcome};
use crate::media::{BridgeEvent, BridgeHandle, BridgeMode, MediaEvent, MediaSession, Side};
use crate::sip::sdp::{self, RemoteMedia};
use crate::sip::{CallRef, SipCommand, SipEvent};

/// Longest a bridged call may last.
const MAX_BRIDGED: Duration = Duration::from_secs(4 * 3600);
/// How long a charge in flight may keep a hung-up call's session open.
const CHARGE_AFTER_HANGUP: Duration = Duration::from_secs(60);

/// One leg's dialog once it is up.
struct Up {
    call: CallRef,
    events: mpsc::Receiver<SipEvent>,
}

/// How ringing ended.
enum Rang {
    Answered(Up, RemoteMedia, MediaSession),
    /// No dialog: the cause to record.
    Failed(String),
    /// The other side of the B2BUA went away (or the API hung up) first.
    Abandoned(String, &'static str),
}

fn failure_cause(status: u16, cancelled: bool) -> String {
    match status {
        _ if cancelled => "no_answer".into(),
        486 | 600 => "busy".into(),
        408 | 480 => "no_answer".into(),
        s => format!("rejected:{s}"),
    }
}

/// Run one click-to-call to its end. Reports go to `out`; the last is
/// always [`LiveEvent::Ended`].
pub async fn run(engine: Arc<Engine>, spec: AgentCallSpec, mut commands: mpsc::Receiver<CallCommand>, out: mpsc::Sender<LiveEvent>) {
    let end = match drive(&engine, &spec, &mut commands, &out).await {
        Ok(end) => end,
        Err(e) => {
            tracing::warn!(call = %spec.call_id, error = %e, "agent call failed");
            CallEnd {
                failed: true,
                agent_cause: "error".into(),
                customer_cause: None,
                ended_by: "local",
            }
        }
    };
    tracing::info!(call = %spec.call_id, ?end, "agent call ended");
    let _ = out.send(LiveEvent::Ended(end)).await;
}

/// Refuse payment orders that arrive before the bridge is up.
async fn refuse(out: &mpsc::Sender<LiveEvent>, cmd: &CallCommand) {
    if let CallCommand::StartPayment(o) = cmd {
        let _ = out
            .send(LiveEvent::PaymentRefused {
                payment_id: o.payment_id.clone(),
                reason: "not_bridged",
            })
            .await;
    }
}

/// Ring one leg until it answers, fails, or `other` (the agent's live leg,
/// while the customer rings) hangs up.
async fn ring(
    engine: &Engine,
    session: MediaSession,
    (call, mut events): (CallRef, mpsc::Receiver<SipEvent>),
    other: Option<&mut Up>,
    commands: &mut mpsc::Receiver<CallCommand>,
    out: &mpsc::Sender<LiveEvent>,
) -> Result<Rang, CallError> {
    let deadline = Instant::now() + engine.config().calling.ring_timeout()?;
    let mut cancelled: Option<(String, &'static str)> = None;
    let mut timed_out = false;
    let mut other = other;
    loop {
        let other_ev = async {
            match other.as_deref_mut() {
                Some(up) => up.events.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            ev = events.recv() => match ev {
                Some(SipEvent::Answered { sdp: body, .. }) => {
                    let up = Up { call, events };
                    if let Some((cause, by)) = cancelled {
                        // The 200 crossed our CANCEL (RFC 3261 §9.1): end it with BYE.
                        engine.sip().command(SipCommand::Bye(up.call)).await?;
                        return Ok(Rang::Abandoned(cause, by));
                    }
                    return match sdp::parse_answer(&body) {
                        Ok(remote) => Ok(Rang::Answered(up, remote, session)),
                        Err(e) => {
                            tracing::warn!(%call, error = %e, "answer SDP unusable; hanging up");
                            engine.sip().command(SipCommand::Bye(up.call)).await?;
                            Ok(Rang::Failed("bad_sdp".into()))
                        }
                    };
                }
                Some(SipEvent::Failed { status, .. }) => {
                    return Ok(match cancelled {
                        Some((cause, by)) => Rang::Abandoned(cause, by),
                        None => Rang::Failed(failure_cause(status, timed_out)),
                    });
                }
                Some(_) => {}
                None => return Err(CallError::Sip(crate::sip::SipError::Stopped)),
            },
            ev = other_ev, if cancelled.is_none() => {
                // The agent's leg while the customer rings: only its end matters.
                let gone = match ev {
                    Some(SipEvent::Ended { by_remote }) => Some(by_remote),
                    None => Some(false),
                    Some(_) => None,
                };
                if let Some(by_remote) = gone {
                    engine.sip().command(SipCommand::Cancel(call)).await?;
                    cancelled = Some(if by_remote { ("hangup".into(), "agent") } else { ("shutdown".into(), "local") });
                }
            },
            cmd = commands.recv(), if cancelled.is_none() => match cmd {
                Some(CallCommand::HangUp) | None => {
                    engine.sip().command(SipCommand::Cancel(call)).await?;
                    cancelled = Some(("api_hangup".into(), "api"));
                }
                Some(other) => refuse(out, &other).await,
            },
            _ = sleep_until(deadline), if !timed_out && cancelled.is_none() => {
                tracing::info!(%call, "ring timeout; cancelling");
                timed_out = true;
                engine.sip().command(SipCommand::Cancel(call)).await?;
            }
        }
    }
}

async fn drive(
    engine: &Engine,
    spec: &AgentCallSpec,
    commands: &mut mpsc::Receiver<CallCommand>,
    out: &mpsc::Sender<LiveEvent>,
) -> Result<CallEnd, CallError> {
    // Leg 1: the agent's phone, directly.
    let (session, local) = engine.bind_media().await?;
    let dialog = engine
        .sip()
        .invite(engine.outbound_call(None, spec.agent_uri.clone(), &local))
        .await?;
    tracing::info!(call = %spec.call_id, leg = %dialog.0, "calling the agent");
    let (mut agent, agent_media, session) = match ring(engine, session, dialog, None, commands, out).await? {
        Rang::Answered(up, remote, session) => (up, remote, session),
        Rang::Failed(cause) => {
            return Ok(CallEnd { failed: true, agent_cause: cause, customer_cause: None, ended_by: "local" });
        }
        Rang::Abandoned(cause, by) => {
            return Ok(CallEnd { failed: true, agent_cause: cause, customer_cause: None, ended_by: by });
        }
    };
    let _ = out.send(LiveEvent::AgentAnswered).await;
    let mut bridge = match crate::media::Bridge::start(session, media_params(&agent_media)) {
        Ok(b) => b,
        Err(e) => {
            let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
            return Err(e.into());
        }
    };

    // Leg 2: the customer, through the trunk; the agent hears ringback.
    // Any local failure here (no trunk, no RTP port) must not leave the agent's leg up.
    let rang = async {
        let trunk = engine.config().default_trunk().ok_or(CallError::NoTrunk)?;
        let (session, local) = engine.bind_media().await?;
        let number: String = spec.to.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect();
        let request_uri = Engine::request_uri(trunk, &number);
        let dialog = engine.sip().invite(engine.outbound_call(Some(trunk), request_uri, &local)).await?;
        tracing::info!(call = %spec.call_id, leg = %dialog.0, "calling the customer");
        ring(engine, session, dialog, Some(&mut agent), commands, out).await
    }
    .await;
    let (mut customer, customer_media, session) = match rang {
        Ok(Rang::Answered(up, remote, session)) => (up, remote, session),
        Ok(Rang::Failed(cause)) => {
            let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
            bridge.stop().await;
            return Ok(CallEnd {
                failed: true,
                agent_cause: "hangup".into(),
                customer_cause: Some(cause),
                ended_by: "local",
            });
        }
        Ok(Rang::Abandoned(cause, by)) => {
            if by != "agent" {
                let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
            }
            bridge.stop().await;
            let agent_cause = if by == "agent" { "hangup".to_string() } else { cause };
            // The customer never answered: we cancelled its ringing.
            return Ok(CallEnd { failed: true, agent_cause, customer_cause: Some("cancelled".into()), ended_by: by });
        }
        Err(e) => {
            let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
            bridge.stop().await;
            return Err(e);
        }
    };
    if let Err(e) = bridge.connect(session, media_params(&customer_media)).await {
        let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
        let _ = engine.sip().command(SipCommand::Bye(customer.call)).await;
        bridge.stop().await;
        return Err(e.into());
    }
    let _ = out.send(LiveEvent::Bridged).await;
    tracing::info!(call = %spec.call_id, "bridged");

    let mut payment = None;
    let end = match talk(engine, spec, &mut agent, &mut customer, &mut bridge, &mut payment, commands, out).await {
        Ok(end) => end,
        Err(e) => {
            // Media or SIP failed under a live call: end both legs, never leave one up.
            tracing::warn!(call = %spec.call_id, error = %e, "bridged call failed; hanging up both legs");
            let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
            let _ = engine.sip().command(SipCommand::Bye(customer.call)).await;
            end_bridged("error", "error", "local")
        }
    };
    if let Some(p) = payment.take() {
        settle_after_hangup(engine, &bridge, p, out).await;
    }
    let stats = bridge.stop().await;
    tracing::debug!(call = %spec.call_id, ?stats, "bridge stopped");
    Ok(end)
}

/// The bridged call: relay re-INVITEs, run payments, end both legs together.
/// A payment still open when the call ends is left in `payment` for
/// [`settle_after_hangup`].
#[allow(clippy::too_many_arguments)]
async fn talk(
    engine: &Engine,
    spec: &AgentCallSpec,
    agent: &mut Up,
    customer: &mut Up,
    bridge: &mut BridgeHandle,
    payment: &mut Option<SecurePayment>,
    commands: &mut mpsc::Receiver<CallCommand>,
    out: &mpsc::Sender<LiveEvent>,
) -> Result<CallEnd, CallError> {
    let hard_stop = Instant::now() + MAX_BRIDGED;
    loop {
        let wake = payment
            .as_ref()
            .and_then(SecurePayment::deadline)
            .map_or(hard_stop, |d| Instant::from_std(d).min(hard_stop));
        let charging = payment.as_ref().is_some_and(SecurePayment::is_charging);
        tokio::select! {
            ev = agent.events.recv() => match ev {
                Some(SipEvent::Ended { by_remote }) => {
                    let _ = engine.sip().command(SipCommand::Bye(customer.call)).await;
                    return Ok(if by_remote {
                        end_bridged("hangup", "hangup", "agent")
                    } else {
                        end_bridged("shutdown", "shutdown", "local")
                    });
                }
                Some(SipEvent::MediaUpdate { sdp: body }) => update(bridge, Side::Agent, &body).await?,
                Some(_) => {}
                None => return Ok(end_bridged("error", "hangup", "local")),
            },
            ev = customer.events.recv() => match ev {
                Some(SipEvent::Ended { by_remote }) => {
                    let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
                    return Ok(if by_remote {
                        end_bridged("hangup", "hangup", "customer")
                    } else {
                        end_bridged("shutdown", "shutdown", "local")
                    });
                }
                Some(SipEvent::MediaUpdate { sdp: body }) => update(bridge, Side::Customer, &body).await?,
                Some(_) => {}
                None => return Ok(end_bridged("hangup", "error", "local")),
            },
            cmd = commands.recv() => match cmd {
                Some(CallCommand::HangUp) | None => {
                    let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
                    let _ = engine.sip().command(SipCommand::Bye(customer.call)).await;
                    return Ok(end_bridged("api_hangup", "api_hangup", "api"));
                }
                Some(CallCommand::StartPayment(order)) => {
                    if payment.is_some() {
                        let _ = out.send(LiveEvent::PaymentRefused { payment_id: order.payment_id, reason: "busy" }).await;
                        continue;
                    }
                    let kit = match engine.payments() {
                        Ok(k) => k,
                        Err(e) => {
                            tracing::warn!(call = %spec.call_id, error = %e, "payment refused");
                            let _ = out.send(LiveEvent::PaymentRefused { payment_id: order.payment_id, reason: "payments_off" }).await;
                            continue;
                        }
                    };
                    tracing::info!(call = %spec.call_id, payment = %order.payment_id, "payment session: agent on hold");
                    bridge.set_mode(BridgeMode::Secure).await?;
                    *payment = Some(SecurePayment::start(kit, order, Instant::now().into_std())?);
                }
                Some(CallCommand::CancelPayment { payment_id }) => {
                    // The store already moved it pending → cancelled, so the
                    // desk had not recorded a first key: obey even if a key
                    // raced this command in. Only a charge in flight goes on
                    // (it cannot be called back; its result is logged).
                    match payment.as_ref() {
                        Some(p) if p.id() == payment_id && p.is_charging() => {
                            tracing::error!(call = %spec.call_id, payment = %payment_id, "agent cancelled a payment whose charge is in flight");
                        }
                        Some(p) if p.id() == payment_id => {
                            tracing::info!(call = %spec.call_id, payment = %payment_id, "payment cancelled by the agent");
                            *payment = None;
                            bridge.stop_playback(Side::Customer).await?;
                            bridge.set_mode(BridgeMode::Talk).await?;
                            let kit = engine.payments()?;
                            let words = engine.prompt_items(&kit.locale, &kit.plan.cancelled)?;
                            bridge.play(Side::Customer, words).await?;
                        }
                        _ => {}
                    }
                }
            },
            ev = bridge.next_event() => match ev {
                Some(BridgeEvent { side: Side::Customer, event: MediaEvent::Digit(d) }) => {
                    if let Some(p) = payment.as_mut() {
                        if p.on_digit(Instant::now().into_std(), d.digit) {
                            let _ = out.send(LiveEvent::PaymentKeyed { payment_id: p.id().to_string() }).await;
                        }
                    }
                }
                Some(BridgeEvent { side: Side::Customer, event: MediaEvent::PlaybackDone }) => {
                    if let Some(p) = payment.as_mut() {
                        p.on_playback_done(Instant::now().into_std());
                    }
                }
                Some(_) => {}
                None => return Ok(end_bridged("error", "error", "local")),
            },
            r = async { match payment.as_mut() { Some(p) => p.charged().await, None => std::future::pending().await } }, if charging => {
                if let Some(p) = payment.as_mut() {
                    p.on_charged(Instant::now().into_std(), r);
                }
            },
            _ = sleep_until(wake) => {
                if Instant::now() >= hard_stop {
                    let _ = engine.sip().command(SipCommand::Bye(agent.call)).await;
                    let _ = engine.sip().command(SipCommand::Bye(customer.call)).await;
                    return Ok(end_bridged("max_duration", "max_duration", "local"));
                }
                if let Some(p) = payment.as_mut() {
                    p.on_timeout(Instant::now().into_std());
                }
            }
        }
        if let Some(p) = payment.as_mut() {
            if let Some((outcome, charge)) = p.act(engine, bridge, out).await? {
                tracing::info!(call = %spec.call_id, payment = %p.id(), status = outcome.status(), "payment session over: back to the agent");
                let payment_id = p.id().to_string();
                *payment = None;
                bridge.set_mode(BridgeMode::Talk).await?;
                let _ = out.send(LiveEvent::PaymentEnded { payment_id, outcome, charge }).await;
            }
        }
    }
}

fn end_bridged(agent_cause: &str, customer_cause: &str, by: &'static str) -> CallEnd {
    CallEnd {
        failed: false,
        agent_cause: agent_cause.into(),
        customer_cause: Some(customer_cause.into()),
        ended_by: by,
    }
}

/// The call ended during a payment: the flow fails it, unless a charge is in
/// flight, whose answer is waited for and recorded (a charge the processor
/// took must not be reported as failed). Always reports the payment's end.
async fn settle_after_hangup(engine: &Engine, bridge: &BridgeHandle, mut p: SecurePayment, out: &mpsc::Sender<LiveEvent>) {
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
        let wake = p.deadline().map_or(give_up, |d| Instant::from_std(d).min(give_up));
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
        .send(LiveEvent::PaymentEnded { payment_id: p.id().to_string(), outcome, charge })
        .await;
}

/// A re-INVITE on one leg (hold, codec change): move that leg's media.
async fn update(bridge: &BridgeHandle, side: Side, body: &[u8]) -> Result<(), CallError> {
    match sdp::parse_answer(body) {
        Ok(remote) => bridge.update_remote(side, media_params(&remote)).await?,
        Err(e) => tracing::warn!(?side, error = %e, "re-INVITE SDP not usable; media unchanged"),
    }
    Ok(())
}
