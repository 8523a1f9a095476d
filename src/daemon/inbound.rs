//! Customers calling in (issue #13): the daemon's side of an inbound call.
//! The caller's number (From) is matched against open orders
//! ([`crate::dialer::callback`], pure); a match hears that order's
//! confirmation flow ([`Engine::take_callback`]) and the call is recorded as
//! an attempt of kind `inbound`; no match hears the polite message
//! ([`Engine::take_incoming`]). The call layer never sees the store.

use std::sync::Arc;

use crate::call::{CallError, CallSpec, Engine};
use crate::dialer::callback;
use crate::dialer::OrderStatus;
use crate::sip::{CallRef, IncomingCall, SipEvent};
use crate::store::{AttemptReport, Order, Store};

/// What the daemon needs to take an inbound call.
#[derive(Clone)]
pub struct Inbound {
    pub engine: Arc<Engine>,
    pub store: Store,
    pub dialup: Option<super::Dialup>,
}

impl Inbound {
    /// Take one inbound call to its end.
    pub async fn take(
        &self,
        call: CallRef,
        incoming: IncomingCall,
        events: tokio::sync::mpsc::Receiver<SipEvent>,
    ) -> Result<(), CallError> {
        let caller = callback::caller_number(&incoming.from);
        let order = match &caller {
            Some(number) => self.find_order(number).await,
            None => None,
        };
        let Some(order) = order else {
            tracing::info!(%call, caller = ?caller, "inbound call matches no open order");
            return self.engine.take_incoming(call, incoming, events).await;
        };
        tracing::info!(%call, order = %order.id, "inbound call about an open order");
        let default_locale = &self.engine.config().calling.default_locale;
        let locale = order
            .locale
            .clone()
            .unwrap_or_else(|| default_locale.clone());
        let amount_words = crate::media::say::money(&locale, order.money).unwrap_or_else(|e| {
            tracing::warn!(order = %order.id, error = %e, "amount cannot be read out; skipping it");
            Vec::new()
        });
        let spec = CallSpec {
            target: caller.unwrap_or_default(),
            vars: super::scheduler::script_vars(&self.engine, &locale, &order),
            locale,
            amount_words,
            order_id: Some(order.id.clone()),
        };
        let started = self.engine.clock().now();
        let report = match self
            .engine
            .take_callback(call, incoming, events, &spec)
            .await
        {
            Ok(Some(r)) => AttemptReport {
                outcome: r.outcome,
                trunk: None,
                sip_status: Some(r.sip_status),
                digits: r.digits,
                duration_ms: i64::try_from(r.duration_ms).unwrap_or(i64::MAX),
                error: None,
                operator: r.operator,
            },
            // Refused before an answer (not for us, no usable media): no attempt.
            Ok(None) => return Ok(()),
            Err(e) => AttemptReport {
                outcome: crate::ivr::Outcome::Failed,
                trunk: None,
                sip_status: Some(200),
                digits: String::new(),
                duration_ms: 0,
                error: Some(e.to_string()),
                operator: None,
            },
        };
        let now = self.engine.clock().now();
        match self
            .store
            .record_inbound_attempt(&order.id, &report, started, now)
            .await
        {
            Ok(done) => {
                tracing::info!(order = %order.id, outcome = report.outcome.as_str(), status = done.order_status.as_str(), "inbound call recorded");
                // Handed to an operator live: in flight for them (their disposition moves it).
                let moved = done.order_status != order.status && report.operator.is_none();
                if let (Some(dialup), true) = (&self.dialup, moved) {
                    if let Err(e) = dialup.follow(&order.id, now).await {
                        tracing::error!(order = %order.id, error = %e, "dial-up move not written; repaired on start");
                    }
                }
                // Press 3 with nobody taking the call: a callback, as from a robo-call.
                let callback =
                    report.outcome == crate::ivr::Outcome::Operator && report.operator.is_none();
                if let (Some(dialup), true) = (&self.dialup, callback) {
                    if let Err(e) = dialup.callback_now(&order.id, now).await {
                        tracing::error!(order = %order.id, error = %e, "operator callback not queued");
                    }
                }
            }
            Err(e) => {
                tracing::error!(order = %order.id, error = %e, "inbound call not recorded")
            }
        }
        Ok(())
    }

    /// The most recent open order whose number is the caller's.
    async fn find_order(&self, caller: &str) -> Option<Order> {
        let candidates = match self
            .store
            .open_orders_ending_with(&callback::phone_tail(caller))
            .await
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot look up the caller's orders; treating as unknown");
                return None;
            }
        };
        callback::pick(caller, &candidates, |o| {
            (o.phone.as_str(), o.locale.as_deref())
        })
        .filter(|o| {
            matches!(
                o.status,
                OrderStatus::Pending | OrderStatus::Calling | OrderStatus::Flagged
            )
        })
        .cloned()
    }
}
