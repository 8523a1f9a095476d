//! The durable scheduler: due attempts live in the store, this task claims
//! them, paces them onto the trunk and records each result.
//!
//! Durability comes from the store, not from this task: an attempt is
//! claimed (`live`) in one statement before its INVITE, and finished in the
//! same transaction as the order's status change and its webhook event. A
//! `kill -9` leaves at most the calls that were up as `live`; the next start
//! closes them as failed and schedules the re-attempt, so no order is lost
//! and no attempt is dialled twice. In a `[cluster]` the claim carries this
//! node's name and a lease, and the pacer keeps to this node's share of the
//! trunk (`daemon::cluster`, issue #16).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{sleep, sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::api::SharedCampaign;
use crate::call::{CallSpec, Engine};
use crate::dialer::{CallPacer, Campaign, OrderStatus, Wait};
use crate::ivr::Outcome;
use crate::metrics::Metrics;
use crate::store::{AttemptReport, ClaimedAttempt, Store, StoreError};
use orderline_dialer::lease::node_share;

/// How often the store is asked for due attempts when nothing else wakes us.
const POLL: Duration = Duration::from_millis(250);
/// A locally refused attempt goes back to the queue, due again this much later.
const LOCAL_RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(5);
/// Most attempts claimed in one go (bounded further by free channels and cps).
const BATCH: u32 = 50;

pub struct Scheduler {
    store: Store,
    engine: Arc<Engine>,
    campaign: SharedCampaign,
    pacer: CallPacer,
    /// Most attempts claimed per pass: one second of starts at `max_cps`.
    burst: u32,
    trunk: Option<String>,
    default_locale: String,
    metrics: Arc<Metrics>,
    /// The call-mode queue robo-call outcomes feed (issue #11), if any.
    dialup: Option<super::Dialup>,
    /// The trunk's own limits; a cluster node paces within its share.
    limits: (Option<u32>, Option<f64>),
    /// Live cluster nodes (issue #16); always 1 outside a cluster.
    nodes: Option<tokio::sync::watch::Receiver<u32>>,
}

impl Scheduler {
    /// `campaign` is the live rule set the API can change (`PUT /v1/rules`).
    pub fn new(
        store: Store,
        engine: Arc<Engine>,
        campaign: SharedCampaign,
        metrics: Arc<Metrics>,
    ) -> Self {
        let cfg = engine.config();
        let trunk = cfg.default_trunk();
        let limits = (
            trunk.and_then(|t| t.max_channels),
            trunk.and_then(|t| t.max_cps),
        );
        Scheduler {
            pacer: CallPacer::new(limits.0, limits.1),
            burst: burst(limits.1),
            limits,
            nodes: None,
            trunk: trunk.map(|t| t.name.clone()),
            default_locale: cfg.calling.default_locale.clone(),
            store,
            engine,
            campaign,
            metrics,
            dialup: None,
        }
    }

    /// Feed robo-call outcomes into the call modes: an order whose new status
    /// is ticked enters its mode, one whose status is not leaves dial-up.
    pub fn with_dialup(mut self, dialup: super::Dialup) -> Self {
        self.dialup = Some(dialup);
        self
    }

    /// Pace within this node's share of the trunk as live cluster nodes
    /// come and go (issue #16): floor(max_channels / nodes), max_cps / nodes.
    pub fn with_node_share(mut self, nodes: tokio::sync::watch::Receiver<u32>) -> Self {
        self.nodes = Some(nodes);
        self
    }

    /// Take a changed node count into the pacer.
    fn follow_share(&mut self) {
        let Some(rx) = self.nodes.as_mut() else {
            return;
        };
        if !rx.has_changed().unwrap_or(false) {
            return;
        }
        let nodes = *rx.borrow_and_update();
        let (channels, cps) = node_share(self.limits.0, self.limits.1, nodes);
        self.pacer.set_limits(channels, cps);
        self.burst = burst(cps);
        if self.limits != (None, None) {
            tracing::info!(nodes, max_channels = ?channels, max_cps = ?cps, "trunk share for this node");
        }
    }

    /// Claim, pace and place calls until `stop` fires; then let live calls
    /// finish (the SIP drain sends their BYEs) and record them.
    pub async fn run(mut self, stop: CancellationToken) {
        // One task per call; a finished task (returned or panicked) frees its
        // trunk channel, and is reaped here so the set stays as small as the
        // calls in flight.
        let mut calls = JoinSet::new();
        'outer: loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(done) = calls.join_next(), if !calls.is_empty() => self.call_ended(done),
                _ = sleep(POLL) => {}
            }
            while let Some(done) = calls.try_join_next() {
                self.call_ended(done);
            }
            self.follow_share();
            // Bounded by the trunk's channels and by RTP ports: the range less the
            // calls we have in flight (exact, even before their tasks bind), and
            // what is free right now (inbound calls hold ports too).
            let capacity = u32::try_from(self.engine.media_capacity()).unwrap_or(u32::MAX);
            let free_now = u32::try_from(self.engine.free_media_ports()).unwrap_or(u32::MAX);
            let ports = capacity.saturating_sub(self.pacer.active()).min(free_now);
            // And by one second of starts at the trunk's rate: a claimed attempt
            // is `live`, and one waiting long for its cps slot would count as
            // interrupted (an attempt spent without a call) if we crashed.
            let free = self.pacer.free_channels().min(ports).min(self.burst);
            if free == 0 {
                continue;
            }
            let now = self.engine.clock().now();
            let claimed = match self.store.due_attempts(now, free).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "cannot claim due attempts; retrying");
                    continue;
                }
            };
            let mut pending = claimed.into_iter();
            while let Some(c) = pending.next() {
                let tz = c.rule_state().timezone;
                if let Some(at) = self.rules().defer_until(tz, self.engine.clock().now()) {
                    tracing::info!(order = %c.order.id, %at, "outside the calling window; deferred");
                    if let Err(e) = self.store.defer_attempt(c.attempt.id, at).await {
                        tracing::error!(order = %c.order.id, error = %e, "cannot defer attempt");
                    }
                    continue;
                }
                // Pace: wait for the trunk's next cps slot (channels were reserved by `free`).
                loop {
                    match self.pacer.try_start(Instant::now().into_std()) {
                        Ok(()) => break,
                        Err(Wait::Until(t)) => {
                            tokio::select! {
                                _ = stop.cancelled() => {
                                    self.release(std::iter::once(c).chain(pending)).await;
                                    break 'outer;
                                }
                                _ = sleep_until(Instant::from_std(t)) => {}
                            }
                        }
                        Err(Wait::ChannelsFull) => {
                            // A call ended late; wait for one to finish.
                            tokio::select! {
                                _ = stop.cancelled() => {
                                    self.release(std::iter::once(c).chain(pending)).await;
                                    break 'outer;
                                }
                                done = calls.join_next() => match done {
                                    Some(done) => self.call_ended(done),
                                    // Nothing in flight yet no channel free: claims are
                                    // bounded by free channels, so this cannot happen;
                                    // if it does, wait for stop rather than spin.
                                    None => {
                                        stop.cancelled().await;
                                        self.release(std::iter::once(c).chain(pending)).await;
                                        break 'outer;
                                    }
                                },
                            }
                        }
                    }
                }
                if stop.is_cancelled() {
                    // Draining: nothing new starts; the claim goes back, due now.
                    self.release(std::iter::once(c).chain(pending)).await;
                    break 'outer;
                }
                let job = Attempt {
                    store: self.store.clone(),
                    engine: self.engine.clone(),
                    campaign: self.campaign.clone(),
                    trunk: self.trunk.clone(),
                    locale: c
                        .order
                        .locale
                        .clone()
                        .unwrap_or_else(|| self.default_locale.clone()),
                    metrics: self.metrics.clone(),
                    dialup: self.dialup.clone(),
                };
                calls.spawn(job.run(c));
            }
        }
        // Calls still up finish as the SIP drain hangs them up; wait (bounded) so
        // each result is written. Anything cut off here is reconciled on start.
        let drain = tokio::time::timeout(Duration::from_secs(15), async {
            while calls.join_next().await.is_some() {}
        });
        if drain.await.is_err() {
            tracing::warn!(
                left = calls.len(),
                "calls still running at shutdown; they will be reconciled on start"
            );
        }
    }

    /// A call task ended: its channel is free again.
    fn call_ended(&mut self, done: Result<(), tokio::task::JoinError>) {
        self.pacer.finished();
        if let Err(e) = done {
            tracing::error!(error = %e, "call task failed; its attempt will be reconciled on start");
        }
    }

    /// A snapshot of the live rules.
    fn rules(&self) -> Campaign {
        snapshot(&self.campaign)
    }

    /// Put claimed but never-dialled attempts back, due now.
    async fn release(&self, attempts: impl Iterator<Item = ClaimedAttempt>) {
        for c in attempts {
            if let Err(e) = self
                .store
                .defer_attempt(c.attempt.id, self.engine.clock().now())
                .await
            {
                tracing::error!(order = %c.order.id, error = %e, "cannot release attempt");
            }
        }
    }
}

/// One attempt: call, then record the result and what follows.
struct Attempt {
    store: Store,
    engine: Arc<Engine>,
    campaign: SharedCampaign,
    trunk: Option<String>,
    locale: String,
    metrics: Arc<Metrics>,
    dialup: Option<super::Dialup>,
}

/// Most attempts claimed per pass: one second of starts at `max_cps`.
fn burst(max_cps: Option<f64>) -> u32 {
    max_cps.map_or(BATCH, |cps| (cps.ceil() as u32).clamp(1, BATCH))
}

fn snapshot(c: &SharedCampaign) -> Campaign {
    c.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The confirm script's variables for `order` (issue #13), for a robo-call
/// and for the customer calling back alike; names come from the TTS cache,
/// rendered when the order arrived.
pub(super) fn script_vars(
    engine: &Engine,
    locale: &str,
    order: &crate::store::Order,
) -> HashMap<String, Vec<String>> {
    let s = &order.script;
    let currency = order.money.currency();
    let text = crate::ivr::script::OrderText {
        locale,
        number: s.number.as_deref().unwrap_or(&order.id),
        amount: &order.amount,
        currency: currency.code(),
        delivery_fee: s.delivery_fee.as_deref(),
        items: &order.items,
        store: s.store.as_deref(),
        customer_name: s.customer_name.as_deref(),
        max_items: engine.confirm_plan().max_items,
    };
    let mut vars = crate::ivr::script::script_vars(&text, |t| engine.rendered(locale, t));
    if let Some(phrases) = engine.phrases(locale) {
        phrases.add_rendered(&mut vars, &text, |t| engine.rendered(locale, t));
    }
    vars
}

impl Attempt {
    fn script_vars(&self, order: &crate::store::Order) -> HashMap<String, Vec<String>> {
        script_vars(&self.engine, &self.locale, order)
    }

    async fn run(self, c: ClaimedAttempt) {
        let _live = self.metrics.active_call();
        let order = &c.order;
        // The phone becomes the user part of a Request-URI: only dialable characters.
        let number: String = order
            .phone
            .chars()
            .filter(|ch| ch.is_ascii_digit() || *ch == '+')
            .collect();
        let amount_words = crate::media::say::money(&self.locale, order.money)
        .unwrap_or_else(|e| {
            tracing::warn!(order = %order.id, error = %e, "amount cannot be read out; skipping it");
            Vec::new()
        });
        let report = if number.is_empty() {
            AttemptReport {
                outcome: Outcome::Failed,
                trunk: self.trunk.clone(),
                sip_status: None,
                digits: String::new(),
                duration_ms: 0,
                error: Some("phone number has no digits".into()),
                operator: None,
            }
        } else {
            tracing::info!(order = %order.id, attempt = c.attempt.attempt_no, "calling");
            match self
                .engine
                .place_confirm_call(&CallSpec {
                    target: number,
                    locale: self.locale.clone(),
                    amount_words,
                    vars: self.script_vars(order),
                    order_id: Some(order.id.clone()),
                })
                .await
            {
                Ok(r) => AttemptReport {
                    outcome: r.outcome,
                    trunk: self.trunk.clone(),
                    sip_status: Some(r.sip_status),
                    digits: r.digits,
                    duration_ms: r.duration_ms as i64,
                    error: r.cause.map(|c| c.as_str().to_string()),
                    operator: r.operator,
                },
                Err(e) if e.is_local_refusal() => {
                    // Our resource, not the buyer's answer: put the attempt back, unburnt.
                    let at = self.engine.clock().now() + LOCAL_RETRY;
                    tracing::warn!(order = %order.id, error = %e, "call not placed; attempt put back");
                    self.metrics.local_refusal();
                    if let Err(e) = self.store.defer_attempt(c.attempt.id, at).await {
                        tracing::error!(order = %order.id, error = %e, "cannot put attempt back");
                    }
                    return;
                }
                Err(e) => AttemptReport {
                    outcome: Outcome::Failed,
                    trunk: self.trunk.clone(),
                    sip_status: None,
                    digits: String::new(),
                    duration_ms: 0,
                    error: Some(e.to_string()),
                    operator: None,
                },
            }
        };
        self.metrics.attempt_finished(report.outcome);
        let now = self.engine.clock().now();
        let next = snapshot(&self.campaign).after_attempt(&c.rule_state(), report.outcome, now);
        tracing::info!(order = %order.id, outcome = report.outcome.as_str(), ?next, "attempt finished");
        // The write must not be lost to a passing database error.
        for wait in [0u64, 200, 1000, 5000] {
            sleep(Duration::from_millis(wait)).await;
            match self
                .store
                .finish_attempt(c.attempt.id, &report, next, now)
                .await
            {
                Ok(finished) => {
                    // A robo-call outcome may tick the order into a call mode
                    // (e.g. flagged → a human) or take it out (issue #11).
                    // A customer handed to an operator (press 3, live) is in
                    // flight for them: their disposition moves the order.
                    if let (Some(dialup), true, None) = (
                        &self.dialup,
                        finished.order_status != OrderStatus::Calling,
                        &report.operator,
                    ) {
                        if let Err(e) = dialup.follow(&order.id, now).await {
                            tracing::error!(order = %order.id, error = %e, "dial-up move not written; repaired on start");
                        }
                        // Press 3 with nobody ready: a callback for anyone, due now (issue #13).
                        if report.outcome == Outcome::Operator {
                            if let Err(e) = dialup.callback_now(&order.id, now).await {
                                tracing::error!(order = %order.id, error = %e, "operator callback not queued");
                            }
                        }
                    }
                    return;
                }
                Err(StoreError::AttemptNotLive(_)) => {
                    // Closed as interrupted by another node: our lease ran
                    // out (issue #16). Its re-attempt is already scheduled.
                    tracing::warn!(order = %order.id, "attempt was closed by another node; result not recorded");
                    return;
                }
                Err(e) => {
                    tracing::error!(order = %order.id, error = %e, "cannot record attempt; retrying")
                }
            }
        }
        tracing::error!(order = %order.id, "attempt result not recorded; it will be reconciled on start");
    }
}
