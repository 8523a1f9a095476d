//! Webhook delivery from the outbox, signed in the Standard Webhooks manner.
//!
//! Every status change and call attempt already sits in the store's outbox,
//! written in the same transaction as the change itself; this task only
//! carries events out. Its whole state is in the outbox (`attempts`,
//! `next_attempt_at`, `delivered_at`), so a restart resumes where the last
//! run stopped and an event is never dropped: it is retried with growing
//! back-off until the receiver answers 2xx.
//!
//! Headers (<https://www.standardwebhooks.com/>): `webhook-id` is the outbox
//! event's UUIDv7, the same on every retry, so a receiver de-duplicates on it;
//! `webhook-timestamp` is the send time in Unix seconds; `webhook-signature`
//! is `v1,` + base64(HMAC-SHA256(secret, "{id}.{timestamp}.{body}")).
//!
//! Secret: a `[webhooks] secret` starting with `whsec_` is base64-decoded
//! after the prefix, exactly as Standard Webhooks libraries do, so a
//! merchant can verify with their stock library; any other secret is used
//! as its raw UTF-8 bytes.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::Clock;
use crate::config::WebhookConfig;
use crate::metrics::Metrics;
use crate::store::{OutboxEvent, Store, StoreError};

/// Why the deliverer cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    #[error("webhooks.url {url:?}: {reason}")]
    Url { url: String, reason: String },
    #[error("webhooks.secret: a whsec_ secret must be base64 after the prefix")]
    Secret,
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

/// How the deliverer sends and retries. [`WebhookOptions::from_config`] gives
/// the production values; tests shorten the times.
#[derive(Clone)]
pub struct WebhookOptions {
    pub url: String,
    secret: Vec<u8>,
    /// Per request, connect included; a slower receiver counts as failed.
    pub timeout: Duration,
    /// Back-off after the first failure; doubles with each further one.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// How long an event is leased while being sent (longer than `timeout`,
    /// so two deliverers never send it at once).
    pub lease: Duration,
    /// Longest sleep when nothing is due, so events written by another
    /// process are picked up promptly.
    pub idle_poll: Duration,
}

impl std::fmt::Debug for WebhookOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookOptions")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("base_backoff", &self.base_backoff)
            .field("max_backoff", &self.max_backoff)
            .finish_non_exhaustive()
    }
}

impl WebhookOptions {
    /// Production values: 10 s timeout, back-off 1 s·2ⁿ capped at 1 h.
    pub fn from_config(cfg: &WebhookConfig) -> Result<WebhookOptions, WebhookError> {
        let url = reqwest::Url::parse(&cfg.url).map_err(|e| WebhookError::Url {
            url: cfg.url.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(WebhookError::Url {
                url: cfg.url.clone(),
                reason: "must be http:// or https://".into(),
            });
        }
        Ok(WebhookOptions {
            url: cfg.url.clone(),
            secret: secret_bytes(cfg.secret.expose_secret())?,
            timeout: Duration::from_secs(10),
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(3600),
            lease: Duration::from_secs(60),
            idle_poll: Duration::from_secs(1),
        })
    }
}

/// The HMAC key for a configured secret (see the module docs).
pub fn secret_bytes(secret: &str) -> Result<Vec<u8>, WebhookError> {
    match secret.strip_prefix("whsec_") {
        Some(b64) => B64.decode(b64).map_err(|_| WebhookError::Secret),
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// `v1,<base64 HMAC-SHA256 over "{id}.{timestamp}.{body}">`.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    format!("v1,{}", B64.encode(mac(key, id, timestamp, body)))
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; new_from_slice cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts every key length"),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// Check a `webhook-signature` header (space-separated `v1,<sig>` entries;
/// any one matching is enough, which allows secret rotation) against the
/// configured secret, in constant time. Checks the signature only: a
/// receiver should also reject a `webhook-timestamp` far from its clock
/// (Standard Webhooks suggests 5 minutes) to stop replays. A receiver's
/// tool, kept here to test the signer against; not part of orderline's API.
#[cfg(test)]
fn verify_signature(secret: &str, id: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(key) = secret_bytes(secret) else {
        return false;
    };
    let expected = mac(&key, id, timestamp, body);
    header
        .split(' ')
        .filter_map(|entry| entry.strip_prefix("v1,"))
        .filter_map(|sig| B64.decode(sig).ok())
        .fold(false, |ok, sig| ok | bool::from(sig.ct_eq(&expected)))
}

/// The delay after the `failures`-th failed delivery (1 = first failure):
/// `base · 2^(failures-1)` capped at `max`, then scaled into [75 %, 100 %]
/// by `jitter` ∈ [0, 1] so that many events failing together (a receiver
/// outage) do not all retry in the same second, while each delay stays
/// longer than the one before.
pub fn backoff(failures: u32, base: Duration, max: Duration, jitter: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(31);
    let cap = base.saturating_mul(1u32 << exp).min(max);
    cap.mul_f64(0.75 + 0.25 * jitter.clamp(0.0, 1.0))
}

/// The JSON body posted for an event.
pub fn event_body(event: &OutboxEvent) -> Vec<u8> {
    serde_json::json!({
        "type": event.event_type,
        "timestamp": event.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        "data": event.payload,
    })
    .to_string()
    .into_bytes()
}

/// Sends outbox events to the merchant. Start one per daemon with
/// `tokio::spawn(deliverer.run(shutdown))`; more are safe (leases keep them
/// apart) but not needed.
pub struct WebhookDeliverer {
    store: Store,
    opts: WebhookOptions,
    metrics: Arc<Metrics>,
    clock: Clock,
    client: reqwest::Client,
}

impl WebhookDeliverer {
    pub fn new(
        store: Store,
        opts: WebhookOptions,
        metrics: Arc<Metrics>,
    ) -> Result<WebhookDeliverer, WebhookError> {
        let client = reqwest::Client::builder()
            .timeout(opts.timeout)
            .connect_timeout(opts.timeout)
            // A redirect is not an acknowledgement: retry until a 2xx.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("orderline-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(WebhookError::Client)?;
        Ok(WebhookDeliverer {
            store,
            opts,
            metrics,
            clock: Clock::system(),
            client,
        })
    }

    /// Use another clock (the daemon's, or a test's) for lease and retry times.
    pub fn with_clock(mut self, clock: Clock) -> WebhookDeliverer {
        self.clock = clock;
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Deliver until `shutdown` completes. A request in flight when it does
    /// is finished (bounded by the timeout) and recorded, so no event is left
    /// leased; then the loop returns.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let stop = AtomicBool::new(false);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            {
                let pass = self.deliver_due(&stop);
                let mut pass = std::pin::pin!(pass);
                tokio::select! {
                    r = &mut pass => self.log_pass(r),
                    () = &mut shutdown => {
                        stop.store(true, Ordering::SeqCst);
                        self.log_pass(pass.await);
                        return;
                    }
                }
            }
            let pause = self.idle_pause().await;
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                () = &mut shutdown => return,
            }
        }
    }

    fn log_pass(&self, r: Result<usize, StoreError>) {
        if let Err(e) = r {
            tracing::error!(error = %e, "webhook outbox unavailable; retrying");
        }
    }

    /// How long to sleep: until the next event is due, at most `idle_poll`.
    async fn idle_pause(&self) -> Duration {
        match self.store.outbox_next_due_at().await {
            Ok(Some(due)) => (due - self.now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .min(self.opts.idle_poll),
            Ok(None) => self.opts.idle_poll,
            Err(_) => self.opts.idle_poll,
        }
    }

    /// Send every event due now, one at a time in outbox order, until none is
    /// due or `stop` is set. Leasing one event at a time means a stop leaves
    /// nothing leased and unsent. Returns how many were delivered.
    pub async fn deliver_due(&self, stop: &AtomicBool) -> Result<usize, StoreError> {
        let mut delivered = 0;
        while !stop.load(Ordering::SeqCst) {
            let Some(event) = self
                .store
                .next_due(self.now(), self.opts.lease, 1)
                .await?
                .pop()
            else {
                break;
            };
            match self.send(&event).await {
                Ok(()) => {
                    self.store.mark_delivered(&event.id, self.now()).await?;
                    self.metrics.webhook_delivered();
                    delivered += 1;
                }
                Err(reason) => {
                    let delay = backoff(
                        event.attempts + 1,
                        self.opts.base_backoff,
                        self.opts.max_backoff,
                        rand::random::<f64>(),
                    );
                    self.store
                        .mark_failed(&event.id, &reason, delay, self.now())
                        .await?;
                    self.metrics.webhook_failed();
                    tracing::warn!(event = %event.id, kind = %event.event_type, failures = event.attempts + 1, retry_in_ms = delay.as_millis() as u64, %reason, "webhook delivery failed");
                }
            }
        }
        self.metrics
            .set_webhook_backlog(self.store.outbox_backlog().await?);
        Ok(delivered)
    }

    /// One POST; `Err` says why it did not count as delivered.
    async fn send(&self, event: &OutboxEvent) -> Result<(), String> {
        let body = event_body(event);
        let timestamp = self.now().timestamp();
        let signature = sign(&self.opts.secret, &event.id, timestamp, &body);
        let response = self
            .client
            .post(&self.opts.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    format!("timed out after {:?}", self.opts.timeout)
                } else {
                    format!("request failed: {e}")
                }
            })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jitter_never_shrinks_it_below_the_previous() {
        let (b, max) = (Duration::from_secs(1), Duration::from_secs(3600));
        assert_eq!(backoff(1, b, max, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(1, b, max, 0.0).as_millis(), 750);
        assert_eq!(backoff(2, b, max, 0.0).as_millis(), 1500);
        assert_eq!(backoff(13, b, max, 1.0), max, "2^12 s is past the 1 h cap");
        assert_eq!(backoff(40, b, max, 0.0), Duration::from_secs(2700));
        for n in 1..12 {
            assert!(
                backoff(n + 1, b, max, 0.0) > backoff(n, b, max, 1.0),
                "n={n}"
            );
        }
    }

    #[test]
    fn whsec_secrets_are_base64_and_others_raw() {
        assert_eq!(secret_bytes("whsec_aGVsbG8=").unwrap(), b"hello");
        assert_eq!(secret_bytes("change-me").unwrap(), b"change-me");
        assert!(secret_bytes("whsec_***").is_err());
    }

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let sig = sign(b"change-me", "msg_1", 1_700_000_000, b"{}");
        assert!(verify_signature(
            "change-me",
            "msg_1",
            1_700_000_000,
            b"{}",
            &sig
        ));
        assert!(verify_signature(
            "change-me",
            "msg_1",
            1_700_000_000,
            b"{}",
            &format!("v1,AAAA {sig}")
        ));
        assert!(!verify_signature(
            "change-me",
            "msg_1",
            1_700_000_001,
            b"{}",
            &sig
        ));
        assert!(!verify_signature(
            "change-me",
            "msg_2",
            1_700_000_000,
            b"{}",
            &sig
        ));
        assert!(!verify_signature(
            "other",
            "msg_1",
            1_700_000_000,
            b"{}",
            &sig
        ));
        assert!(!verify_signature(
            "change-me",
            "msg_1",
            1_700_000_000,
            b"{} ",
            &sig
        ));
    }

    /// The Standard Webhooks reference test vector (their libraries' tests).
    #[test]
    fn standard_webhooks_reference_vector() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let ts = 1614265330;
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&secret_bytes(secret).unwrap(), id, ts, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
