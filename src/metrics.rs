//! Process metrics in the Prometheus text format (version 0.0.4).
//!
//! Plain atomics rather than the `prometheus` crate: the set is small and
//! fixed (results are the closed [`Outcome`] enum, so no label can grow
//! without bound), updates sit on the call path and must not lock, and a
//! dependency with its own registry and protobuf support would cost more to
//! build than this file. Counters only ever grow; gauges are set.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

use crate::ivr::Outcome;

const OUTCOMES: [Outcome; 9] = [
    Outcome::Confirmed,
    Outcome::Cancelled,
    Outcome::NoInput,
    Outcome::Hangup,
    Outcome::NoAnswer,
    Outcome::Busy,
    Outcome::Rejected,
    Outcome::Failed,
    Outcome::Operator,
];

/// Counters and gauges shared by the call layer, the API and the webhook
/// deliverer (wrap in an `Arc`).
#[derive(Debug, Default)]
pub struct Metrics {
    active_calls: AtomicI64,
    attempts: [AtomicU64; 9],
    answered: AtomicU64,
    confirmations: AtomicU64,
    orders_created: AtomicU64,
    webhook_backlog: AtomicI64,
    webhook_delivered: AtomicU64,
    webhook_failures: AtomicU64,
    agent_calls: AtomicI64,
    /// Payments ended, by [`PAYMENT_STATUSES`].
    payments: [AtomicU64; 3],
    /// Attempts orderline could not place itself (put back, not burnt).
    local_refusals: AtomicU64,
    /// Agents' dispositions posted, by disposition (the configured
    /// `[operators] dispositions`, so the label set is bounded).
    dispositions: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
    /// SIP requests dropped for their source's rate (issue #14).
    sip_rate_limited: AtomicU64,
    /// INVITEs refused (403) for their source.
    sip_forbidden: AtomicU64,
    /// Per-trunk health, as the trunk watcher last saw it.
    trunks: std::sync::Mutex<Vec<orderline_sip::health::TrunkStatus>>,
}

/// How a keypad payment can end (the label values of `orderline_payments_total`).
pub const PAYMENT_STATUSES: [&str; 3] = ["succeeded", "failed", "cancelled"];

impl Metrics {
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A call started ringing; pair with [`Metrics::call_ended`] (or hold
    /// the guard from [`Metrics::active_call`]).
    pub fn call_started(&self) {
        self.active_calls.fetch_add(1, Relaxed);
    }

    pub fn call_ended(&self) {
        self.active_calls.fetch_sub(1, Relaxed);
    }

    /// Counts a live call until the guard is dropped, so a task that panics
    /// or returns early still decrements the gauge.
    pub fn active_call(&self) -> ActiveCall<'_> {
        self.call_started();
        ActiveCall(self)
    }

    /// A call attempt finished with `outcome`. Also counts `answered`
    /// (confirmed, cancelled, no_input and hangup all mean someone picked up)
    /// and `confirmations` (the buyer pressed the confirm key).
    pub fn attempt_finished(&self, outcome: Outcome) {
        if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
            self.attempts[i].fetch_add(1, Relaxed);
        }
        if matches!(
            outcome,
            Outcome::Confirmed
                | Outcome::Cancelled
                | Outcome::NoInput
                | Outcome::Hangup
                | Outcome::Operator
        ) {
            self.answered.fetch_add(1, Relaxed);
        }
        if outcome == Outcome::Confirmed {
            self.confirmations.fetch_add(1, Relaxed);
        }
    }

    pub fn order_created(&self) {
        self.orders_created.fetch_add(1, Relaxed);
    }

    /// Undelivered webhook events (set by the deliverer after each pass).
    pub fn set_webhook_backlog(&self, n: u64) {
        self.webhook_backlog
            .store(i64::try_from(n).unwrap_or(i64::MAX), Relaxed);
    }

    pub fn webhook_delivered(&self) {
        self.webhook_delivered.fetch_add(1, Relaxed);
    }

    pub fn webhook_failed(&self) {
        self.webhook_failures.fetch_add(1, Relaxed);
    }

    /// An agent click-to-call started (+1) or ended (-1).
    pub fn agent_call_delta(&self, d: i64) {
        self.agent_calls.fetch_add(d, Relaxed);
    }

    /// A keypad payment ended with `status` (one of [`PAYMENT_STATUSES`];
    /// others are ignored). Labels carry the status only, never card data.
    pub fn payment_finished(&self, status: &str) {
        if let Some(i) = PAYMENT_STATUSES.iter().position(|s| *s == status) {
            self.payments[i].fetch_add(1, Relaxed);
        }
    }

    /// An agent posted `disposition` (already checked against the
    /// configured list by the caller: labels stay bounded).
    pub fn disposition_posted(&self, disposition: &str) {
        let mut d = self.dispositions.lock().unwrap_or_else(|p| p.into_inner());
        *d.entry(disposition.to_string()).or_default() += 1;
    }

    /// An attempt was not placed for want of our own resources (RTP port,
    /// call limit, a trunk up) and went back to the queue.
    pub fn local_refusal(&self) {
        self.local_refusals.fetch_add(1, Relaxed);
    }

    /// The trunks' health snapshot for `/metrics` (names come from the
    /// config, so the label set is bounded).
    pub fn set_trunks(&self, trunks: Vec<orderline_sip::health::TrunkStatus>) {
        *self.trunks.lock().unwrap_or_else(|p| p.into_inner()) = trunks;
    }

    /// The SIP driver's admission counts (totals, copied as they are).
    pub fn set_admission(&self, counts: orderline_sip::admission::AdmissionCounts) {
        self.sip_rate_limited.store(counts.rate_limited, Relaxed);
        self.sip_forbidden.store(counts.forbidden, Relaxed);
    }

    pub fn active_calls(&self) -> i64 {
        self.active_calls.load(Relaxed)
    }

    /// The exposition text for `GET /metrics`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(2048);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let gauge = |n: &AtomicI64| vec![(String::new(), n.load(Relaxed).to_string())];
        let counter = |n: &AtomicU64| vec![(String::new(), n.load(Relaxed).to_string())];
        let by_result: Vec<(String, String)> = OUTCOMES
            .iter()
            .zip(&self.attempts)
            .map(|(o, n)| {
                (
                    format!("{{result=\"{}\"}}", o.as_str()),
                    n.load(Relaxed).to_string(),
                )
            })
            .collect();
        let trunks = self
            .trunks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let label = |name: &str| format!("{{trunk=\"{}\"}}", escape(name));
        let trunk_up: Vec<(String, String)> = trunks
            .iter()
            .map(|t| (label(&t.name), u8::from(t.up).to_string()))
            .collect();
        let trunk_latency: Vec<(String, String)> = trunks
            .iter()
            .filter_map(|t| Some((label(&t.name), t.latency?.as_secs_f64().to_string())))
            .collect();
        let trunk_calls: Vec<(String, String)> = trunks
            .iter()
            .map(|t| (label(&t.name), t.calls.to_string()))
            .collect();
        let payments: Vec<(String, String)> = PAYMENT_STATUSES
            .iter()
            .zip(&self.payments)
            .map(|(s, n)| (format!("{{status=\"{s}\"}}"), n.load(Relaxed).to_string()))
            .collect();
        let dispositions: Vec<(String, String)> = self
            .dispositions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(d, n)| (format!("{{disposition=\"{}\"}}", escape(d)), n.to_string()))
            .collect();
        #[rustfmt::skip]
        let families = [
            ("orderline_active_calls", "gauge", "Calls in progress.", gauge(&self.active_calls)),
            ("orderline_call_attempts_total", "counter", "Finished confirmation call attempts by result.", by_result),
            ("orderline_calls_answered_total", "counter", "Call attempts a person answered.", counter(&self.answered)),
            ("orderline_confirmations_total", "counter", "Orders the buyer confirmed on a call.", counter(&self.confirmations)),
            ("orderline_orders_created_total", "counter", "New orders accepted by the API.", counter(&self.orders_created)),
            ("orderline_webhook_backlog", "gauge", "Webhook events not yet delivered.", gauge(&self.webhook_backlog)),
            ("orderline_webhook_deliveries_total", "counter", "Webhook events the receiver acknowledged.", counter(&self.webhook_delivered)),
            ("orderline_webhook_failures_total", "counter", "Failed webhook delivery attempts (each is retried).", counter(&self.webhook_failures)),
            ("orderline_agent_calls", "gauge", "Agent click-to-call calls in progress (ringing or bridged).", gauge(&self.agent_calls)),
            ("orderline_payments_total", "counter", "Keypad payments ended, by status.", payments),
            ("orderline_dispositions_total", "counter", "Agents' dispositions of their calls, by disposition.", dispositions),
            ("orderline_trunk_up", "gauge", "1 while the trunk answers its OPTIONS pings (and calls), 0 once marked down.", trunk_up),
            ("orderline_trunk_latency_seconds", "gauge", "Round trip of the trunk's last answered OPTIONS ping.", trunk_latency),
            ("orderline_trunk_calls_total", "counter", "Calls placed through the trunk.", trunk_calls),
            ("orderline_local_refusals_total", "counter", "Call attempts orderline could not place itself (no RTP port, call limit, no trunk up); put back, not counted against the order.", counter(&self.local_refusals)),
            ("orderline_sip_rate_limited_total", "counter", "SIP requests dropped unanswered: their source (outside the trunks' inbound_from) sent over [sip] rate_limit.", counter(&self.sip_rate_limited)),
            ("orderline_sip_forbidden_total", "counter", "INVITEs refused with 403: not from a trunk's inbound_from nor a registered agent.", counter(&self.sip_forbidden)),
        ];
        for (name, kind, help, samples) in &families {
            family(name, kind, help, samples);
        }
        out
    }
}

/// A label value in the text format: backslash and quote escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// See [`Metrics::active_call`].
#[derive(Debug)]
pub struct ActiveCall<'a>(&'a Metrics);

impl Drop for ActiveCall<'_> {
    fn drop(&mut self) {
        self.0.call_ended();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_calls_and_payments_are_exposed_by_status_only() {
        let m = Metrics::new();
        m.agent_call_delta(1);
        m.agent_call_delta(1);
        m.agent_call_delta(-1);
        m.payment_finished("succeeded");
        m.payment_finished("succeeded");
        m.payment_finished("cancelled");
        m.payment_finished("4242424242424242"); // not a status: ignored, never a label
        let text = m.render();
        assert!(text.contains("\norderline_agent_calls 1\n"), "{text}");
        assert!(
            text.contains("orderline_payments_total{status=\"succeeded\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("orderline_payments_total{status=\"failed\"} 0\n"),
            "{text}"
        );
        assert!(
            text.contains("orderline_payments_total{status=\"cancelled\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("4242"), "{text}");
    }

    #[test]
    fn dispositions_are_counted_by_name_with_labels_escaped() {
        let m = Metrics::new();
        m.disposition_posted("confirmed");
        m.disposition_posted("confirmed");
        m.disposition_posted("callback");
        m.disposition_posted("odd\"name");
        let text = m.render();
        assert!(
            text.contains("# TYPE orderline_dispositions_total counter\n"),
            "{text}"
        );
        assert!(
            text.contains("orderline_dispositions_total{disposition=\"confirmed\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("orderline_dispositions_total{disposition=\"callback\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("orderline_dispositions_total{disposition=\"odd\\\"name\"} 1\n"),
            "{text}"
        );
    }
}
