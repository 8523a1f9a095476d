//! The trunk watcher: sends each trunk's OPTIONS ping when the sans-IO
//! [`TrunkHealth`](orderline_sip::health::TrunkHealth) says it is due, feeds
//! the answers back, and publishes every trunk's up/down, latency and call
//! count to `/metrics`. A trunk marked down gets no calls until it answers
//! again; calls fail over to the next by priority and weight.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::call::Engine;
use crate::metrics::Metrics;

/// Longest sleep between looks (metrics stay fresh without pings too).
const TICK: Duration = Duration::from_secs(1);

/// Run until `stop`.
pub async fn watch(engine: Arc<Engine>, metrics: Arc<Metrics>, stop: CancellationToken) {
    loop {
        let now = Instant::now();
        for i in engine.trunks_due(now.into_std()) {
            let engine = engine.clone();
            tokio::spawn(async move {
                // No answer within the transaction's timeout is a 408; a
                // lookup or send failure counts as no answer too.
                let status = engine.ping_trunk(i).await.unwrap_or_else(|e| {
                    tracing::debug!(trunk = i, error = %e, "trunk ping not sent");
                    408
                });
                engine.trunk_answered(i, status, Instant::now().into_std());
            });
        }
        metrics.set_trunks(engine.trunk_status());
        metrics.set_admission(engine.sip().admission_counts());
        let next = engine
            .next_ping()
            .map(Instant::from_std)
            .map_or(now + TICK, |t| t.min(now + TICK));
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = sleep_until(next) => {}
        }
    }
}
