//! Trial orders' due steps (issue #15), run on a tick.
//!
//! What is due is `orderline_trial::due`'s answer from the stored rows and
//! the clock; this task carries it out: a charge through the card-on-file
//! path the upsells use (`payments::on_file`), a notification as a webhook
//! through the outbox (the existing `WebhookDeliverer` sends it, exactly
//! once per event id). Each step's row is written back guarded by what was
//! read (`Store::finish_trial_step`), with its webhook in the same
//! transaction, so a second runner or a restart never records a step twice.
//!
//! A crash between a charge and its row's write leaves the row at the same
//! try, and the next run charges under the same idempotency key
//! (`trial::charge_key`): the processor answers with the first charge (a
//! real processor keeps keys for at least a day; the in-memory sandbox only
//! for its process). A daemon that was down at the due time runs every
//! missed step once, in row order, when it comes back.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::payments::{on_file, PaymentGateway};
use crate::store::{Store, StoreError, StoredTrial};
use crate::trial::{self, ChargeOutcome, Row, Work};
use crate::upsell::CardOnFile;

/// How often the store is asked for due steps.
pub const TICK: Duration = Duration::from_secs(1);
/// Most orders served per tick.
const BATCH: u32 = 100;
/// Passes over one order per tick: a payment confirmation follows its
/// charge's write, and an order has at most a handful of rows due at once.
const PASSES: usize = 4;

/// Runs trial steps when they come due.
#[derive(Clone)]
pub struct TrialRunner {
    store: Store,
    gateway: Option<Arc<dyn PaymentGateway>>,
    clock: Clock,
}

impl TrialRunner {
    /// `gateway`: the one the API charges upsells through (`ApiState::gateway`).
    pub fn new(store: Store, gateway: Option<Arc<dyn PaymentGateway>>, clock: Clock) -> Self {
        TrialRunner {
            store,
            gateway,
            clock,
        }
    }

    /// Tick until `stop` fires.
    pub async fn run(self, stop: CancellationToken) {
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = every.tick() => {}
            }
            if let Err(e) = self.tick().await {
                tracing::warn!(error = %e, "trial steps: tick failed; retrying next tick");
            }
        }
    }

    /// One pass over every order with a due step; the steps run.
    pub async fn tick(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut ran = 0;
        for id in self.store.due_trials(now, BATCH).await? {
            ran += self.run_order(&id, now).await?;
        }
        Ok(ran)
    }

    async fn run_order(&self, id: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut ran = 0;
        for _ in 0..PASSES {
            let Some(t) = self.store.trial(id).await? else {
                break;
            };
            let work = trial::due(&t.rows, now);
            if work.is_empty() {
                break;
            }
            let card = self.store.order_extras(id).await?.card;
            for w in work {
                if self.run_step(id, &t, &card, w, now).await? {
                    ran += 1;
                }
            }
        }
        Ok(ran)
    }

    /// Run one step and record it; `false` when another runner had.
    async fn run_step(
        &self,
        id: &str,
        t: &StoredTrial,
        card: &CardOnFile,
        work: Work,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let row = |seq: u32| t.rows.iter().find(|r| r.seq == seq);
        match work {
            Work::Charge { seq, step, attempt } => {
                let Some(before) = row(seq) else {
                    return Ok(false);
                };
                let outcome = if card.token.is_none() {
                    ChargeOutcome::NoCard
                } else {
                    let amount = trial::amount_of(&t.terms, step);
                    let key = trial::charge_key(id, seq, attempt);
                    let end = on_file::charge(self.gateway.as_ref(), &key, card, &amount).await;
                    let reason = end.reason.clone().unwrap_or_else(|| "unspecified".into());
                    match end.status {
                        "approved" => ChargeOutcome::Approved {
                            transaction_id: end.transaction_id,
                        },
                        "declined" => ChargeOutcome::Declined { reason },
                        _ => ChargeOutcome::Failed { reason },
                    }
                };
                let (after, event) = trial::charged(before, attempt, &outcome, now);
                tracing::info!(order = %id, row = seq, attempt, status = after.status.as_str(), "trial charge");
                let data =
                    trial::event_data(id, &t.terms, &with(&t.rows, &after), &after, card, now);
                self.store
                    .finish_trial_step(id, before, |_| after, event.map(|e| (e, &data)), now)
                    .await
            }
            Work::Notify { seq, event } => {
                let Some(before) = row(seq) else {
                    return Ok(false);
                };
                let data = trial::event_data(id, &t.terms, &t.rows, before, card, now);
                self.store
                    .finish_trial_step(
                        id,
                        before,
                        |event_id| trial::notified(before, event_id.unwrap_or_default(), now),
                        Some((event, &data)),
                        now,
                    )
                    .await
            }
            Work::Close(after) => {
                let Some(before) = row(after.seq) else {
                    return Ok(false);
                };
                self.store
                    .finish_trial_step(id, before, |_| after, None, now)
                    .await
            }
        }
    }
}

/// `rows` with `row` written over its `seq`.
fn with(rows: &[Row], row: &Row) -> Vec<Row> {
    rows.iter()
        .map(|r| {
            if r.seq == row.seq {
                row.clone()
            } else {
                r.clone()
            }
        })
        .collect()
}
