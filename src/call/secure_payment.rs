//! One keypad payment session on a bridged call: the async edge of the
//! sans-IO [`PaymentFlow`].
//!
//! The bridge task owns the audio; this feeds the flow the customer leg's
//! digits and playback events and carries out what it asks: prompts on the
//! customer leg only, progress for the agent, and the charge through the
//! gateway (spawned, so the call keeps serving media while the processor
//! answers). Digits are never logged here, not even at trace level: in a
//! payment every key is card data (PCI DSS Req. 3.3, 10.3).

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Datelike, Utc};
use tokio::sync::{mpsc, oneshot};

use super::engine::{CallError, Engine, PaymentKit};
use super::live::{LiveEvent, PaymentRequest};
use crate::ivr::payment::{ChargeOutcome, PaymentAction, PaymentOutcome};
use crate::ivr::{FlowInput, PaymentFlow};
use crate::media::{BridgeHandle, Side};
use crate::payments::{pay, ChargeResult, IdempotencyKey, YearMonth};

/// A running session. Dropping it drops the flow, whose card buffers zeroize.
pub(crate) struct SecurePayment {
    order: PaymentRequest,
    flow: PaymentFlow,
    /// The caller pressed a first key (the agent can no longer cancel).
    keyed: bool,
    /// The gateway's answer, while a charge is in flight.
    charging: Option<oneshot::Receiver<ChargeResult>>,
    /// What the gateway said, kept for the record (brand, last four, token, id).
    charge: Option<ChargeResult>,
}

impl std::fmt::Debug for SecurePayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecurePayment")
            .field("payment", &self.order.payment_id)
            .field("flow", &self.flow)
            .field("keyed", &self.keyed)
            .finish_non_exhaustive()
    }
}

/// The month of `now`, for the expiry check (cards expire at a month's end).
fn month_of(now: DateTime<Utc>) -> YearMonth {
    YearMonth {
        year: u16::try_from(now.year()).unwrap_or(u16::MAX),
        month: u8::try_from(now.month()).unwrap_or(1),
    }
}

impl SecurePayment {
    /// Build the flow (the amount read out in the payment locale) and start it.
    pub(crate) fn start(
        kit: &PaymentKit,
        order: PaymentRequest,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Result<Self, CallError> {
        let words = crate::media::say::money(&kit.locale, order.amount).unwrap_or_else(|e| {
            tracing::warn!(payment = %order.payment_id, error = %e, "amount cannot be read out; skipping it");
            Vec::new()
        });
        let mut vars = HashMap::new();
        vars.insert("amount".to_string(), words);
        let mut flow = PaymentFlow::new(&kit.plan, &vars, month_of(wall))?;
        flow.start(now);
        Ok(Self {
            order,
            flow,
            keyed: false,
            charging: None,
            charge: None,
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.order.payment_id
    }

    pub(crate) fn is_charging(&self) -> bool {
        self.charging.is_some()
    }

    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.flow.poll_timeout()
    }

    /// A key from the customer leg. Returns true for the session's first key.
    pub(crate) fn on_digit(&mut self, now: Instant, digit: char) -> bool {
        self.flow.handle_input(now, FlowInput::Digit(digit));
        let first = !self.keyed;
        self.keyed = true;
        first
    }

    pub(crate) fn on_playback_done(&mut self, now: Instant) {
        self.flow.handle_input(now, FlowInput::PlaybackDone);
    }

    pub(crate) fn on_timeout(&mut self, now: Instant) {
        self.flow.handle_timeout(now);
    }

    /// Either party left. A charge in flight still gets its answer recorded.
    pub(crate) fn on_hangup(&mut self, now: Instant) {
        self.flow.handle_input(now, FlowInput::RemoteHangup);
    }

    /// Wait for the charge in flight (pending forever when there is none, so
    /// it can sit in a `select!` guarded by [`SecurePayment::is_charging`]).
    pub(crate) async fn charged(&mut self) -> Option<ChargeResult> {
        match self.charging.as_mut() {
            Some(rx) => {
                let r = rx.await.ok();
                self.charging = None;
                r
            }
            None => std::future::pending().await,
        }
    }

    /// The gateway answered (or its task died: `None`, a failure).
    pub(crate) fn on_charged(&mut self, now: Instant, result: Option<ChargeResult>) {
        let outcome = match &result {
            Some(r) => ChargeOutcome::from(r),
            None => ChargeOutcome::Failed {
                reason: "gateway_task_failed".into(),
            },
        };
        self.charge = result;
        self.flow.handle_charge_result(now, outcome);
    }

    /// Carry out what the flow asked for. Returns the outcome (and the
    /// gateway's result) once the session is over; the caller then goes back
    /// to the agent.
    pub(crate) async fn act(
        &mut self,
        engine: &Engine,
        bridge: &BridgeHandle,
        out: &mpsc::Sender<LiveEvent>,
    ) -> Result<Option<(PaymentOutcome, Option<ChargeResult>)>, CallError> {
        let kit = engine.payments()?;
        while let Some(action) = self.flow.poll_action() {
            match action {
                PaymentAction::Play(names) => {
                    let items = engine.prompt_items(&kit.locale, &names)?;
                    bridge.play(Side::Customer, items).await?;
                }
                PaymentAction::StopPlayback => bridge.stop_playback(Side::Customer).await?,
                PaymentAction::Progress(event) => {
                    tracing::debug!(payment = %self.order.payment_id, step = event.step.as_str(), status = event.status.as_str(), "payment step");
                    let _ = out
                        .send(LiveEvent::PaymentStep {
                            payment_id: self.order.payment_id.clone(),
                            event,
                        })
                        .await;
                }
                PaymentAction::Charge(card) => {
                    let (tx, rx) = oneshot::channel();
                    self.charging = Some(rx);
                    let gateway = kit.gateway.clone();
                    let deadline = kit.gateway_timeout;
                    let amount = self.order.amount;
                    let key = IdempotencyKey::new(&format!("pay_{}", self.order.payment_id));
                    tracing::info!(payment = %self.order.payment_id, gateway = gateway.name(), "charging");
                    tokio::spawn(async move {
                        let result = match key {
                            Ok(key) => pay(&*gateway, &key, card, amount, deadline).await,
                            Err(e) => {
                                // Not reachable with our ids; keep the card from living on.
                                drop(card);
                                tracing::error!(error = %e, "payment id unusable as an idempotency key");
                                return;
                            }
                        };
                        let _ = tx.send(result);
                    });
                }
                PaymentAction::Finished(outcome) => {
                    return Ok(Some((outcome, self.charge.take())));
                }
            }
        }
        Ok(None)
    }
}
