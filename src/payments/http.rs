//! An adapter for a card processor's HTTP API in the Stripe style:
//! form-encoded requests, a bearer secret key, JSON answers.
//!
//! - `POST {base}/v1/tokens` with `card[number]`, `card[exp_month]`,
//!   `card[exp_year]`, `card[cvc]` and optionally `card[address_zip]`
//!   → `200 {"id": "tok_…"}`;
//! - `POST {base}/v1/charges` with `amount` (minor units), `currency`,
//!   `source` (the token) and the header `Idempotency-Key: <session key>`
//!   → `200 {"id": "ch_…", "status": "succeeded" | "failed", "failure_code"}`,
//!   or `402 {"error": {"code", "decline_code", "charge"}}` for a decline.
//!
//! Each request has its own timeout; a 5xx, a timeout or a refused connection
//! is retried (`retries` times) with the **same** idempotency key, which is
//! what makes the retry safe. Other 4xx are not retried. Every failure maps
//! to a [`GatewayError`] code — never the processor's text, which might echo
//! what we sent.
//!
//! Card data: the form body is built in a [`Zeroizing`] buffer of fixed
//! capacity (no reallocation copies). Known limit: reqwest/hyper/rustls take
//! their own copy of the body and free it without zeroizing; that copy lives
//! for the duration of one request. Nothing here logs.

use std::fmt;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::card::CardDetails;
use super::gateway::{
    CardToken, ChargeReceipt, GatewayError, GatewayFuture, IdempotencyKey, Money, PaymentGateway,
};

/// Where the processor is and how long to wait for it.
/// `secret_key` is a [`SecretString`]: `Debug` prints `[REDACTED]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpProcessorConfig {
    /// e.g. `https://api.processor.example`; no trailing slash needed.
    pub base_url: String,
    /// The processor's secret API key (sent as `Authorization: Bearer`).
    pub secret_key: SecretString,
    /// Per-request timeout.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Extra attempts after a timeout, a 5xx or a refused connection.
    #[serde(default = "default_retries")]
    pub retries: u32,
}

fn default_timeout_ms() -> u64 {
    10_000
}

fn default_retries() -> u32 {
    1
}

/// The HTTP processor adapter.
pub struct HttpProcessor {
    client: reqwest::Client,
    base: String,
    secret: Zeroizing<String>,
    retries: u32,
}

impl fmt::Debug for HttpProcessor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpProcessor")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenBody {
    id: String,
}

#[derive(Deserialize)]
struct ChargeBody {
    id: Option<String>,
    status: String,
    failure_code: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    code: Option<String>,
    decline_code: Option<String>,
    charge: Option<String>,
}

/// Percent-encode for `application/x-www-form-urlencoded` (RFC 3986
/// unreserved characters pass; card values are digits and pass as they are).
fn push_encoded(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            out.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
}

fn push_field(out: &mut String, name: &str, value: &str) {
    if !out.is_empty() {
        out.push('&');
    }
    push_encoded(out, name);
    out.push('=');
    push_encoded(out, value);
}

/// Accept a processor's token or charge id only if it looks like one
/// (`[A-Za-z0-9_-]`, at most 255): these are kept and shown, so anything else
/// (a message, an echo of what we sent) is refused.
fn processor_id(id: String) -> Option<String> {
    let ok = !id.is_empty()
        && id.len() <= 255
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(id)
}

/// Enough for the card fields; allocated once so the buffer never moves.
const CARD_FORM_CAPACITY: usize = 512;

enum Attempt {
    Done(reqwest::StatusCode, Vec<u8>),
    Retry(GatewayError),
}

impl HttpProcessor {
    pub fn new(cfg: &HttpProcessorConfig) -> Result<Self, GatewayError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.timeout_ms))
            .connect_timeout(Duration::from_millis(cfg.timeout_ms))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|_| GatewayError::Unreachable)?;
        Ok(Self {
            client,
            base: cfg.base_url.trim_end_matches('/').to_string(),
            secret: Zeroizing::new(cfg.secret_key.expose_secret().to_owned()),
            retries: cfg.retries,
        })
    }

    async fn attempt(&self, path: &str, key: &str, body: &[u8]) -> Attempt {
        let resp = self
            .client
            .post(format!("{}{}", self.base, path))
            .bearer_auth(self.secret.as_str())
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_vec())
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) if e.is_timeout() => return Attempt::Retry(GatewayError::Timeout),
            Err(_) => return Attempt::Retry(GatewayError::Unreachable),
        };
        let status = resp.status();
        if status.is_server_error() {
            return Attempt::Retry(GatewayError::Processor(status.as_u16()));
        }
        match resp.bytes().await {
            Ok(b) => Attempt::Done(status, b.to_vec()),
            Err(e) if e.is_timeout() => Attempt::Retry(GatewayError::Timeout),
            Err(_) => Attempt::Retry(GatewayError::Unreachable),
        }
    }

    /// POST with retries under one idempotency key.
    async fn post(
        &self,
        path: &str,
        key: &str,
        body: &[u8],
    ) -> Result<(reqwest::StatusCode, Vec<u8>), GatewayError> {
        let mut last = GatewayError::Unreachable;
        for _ in 0..=self.retries {
            match self.attempt(path, key, body).await {
                Attempt::Done(s, b) => return Ok((s, b)),
                Attempt::Retry(e) => last = e,
            }
        }
        Err(last)
    }

    /// Map a non-2xx answer: 402 is a decline, anything else an error.
    fn refusal(status: reqwest::StatusCode, body: &[u8]) -> Result<ChargeReceipt, GatewayError> {
        if status != reqwest::StatusCode::PAYMENT_REQUIRED {
            return Err(GatewayError::Processor(status.as_u16()));
        }
        let e: ErrorBody = serde_json::from_slice(body).map_err(|_| GatewayError::BadResponse)?;
        let code = e
            .error
            .decline_code
            .or(e.error.code)
            .unwrap_or_else(|| "card_declined".into());
        Ok(ChargeReceipt {
            transaction_id: e.error.charge.and_then(processor_id),
            decline: Some(code),
        })
    }

    async fn do_tokenize(
        &self,
        key: &IdempotencyKey,
        card: &CardDetails,
    ) -> Result<CardToken, GatewayError> {
        let mut form = Zeroizing::new(String::with_capacity(CARD_FORM_CAPACITY));
        push_field(&mut form, "card[number]", card.pan.expose_str());
        push_field(&mut form, "card[exp_month]", card.expiry.expose_month());
        push_field(&mut form, "card[exp_year]", card.expiry.expose_year2());
        push_field(&mut form, "card[cvc]", card.cvc.expose_str());
        if let Some(p) = &card.postal {
            push_field(&mut form, "card[address_zip]", p.expose_str());
        }
        let tok_key = format!("{}:tokenize", key.as_str());
        let (status, body) = self.post("/v1/tokens", &tok_key, form.as_bytes()).await?;
        if !status.is_success() {
            // A processor may refuse the card already here (e.g. 402 incorrect_number).
            return match Self::refusal(status, &body)? {
                ChargeReceipt {
                    decline: Some(code),
                    ..
                } => Err(GatewayError::Declined(code)),
                _ => Err(GatewayError::BadResponse),
            };
        }
        let t: TokenBody = serde_json::from_slice(&body).map_err(|_| GatewayError::BadResponse)?;
        Ok(CardToken {
            token: processor_id(t.id).ok_or(GatewayError::BadResponse)?,
            brand: card.brand(),
            last_four: Some(card.last_four()),
        })
    }

    async fn do_charge(
        &self,
        key: &IdempotencyKey,
        token: &CardToken,
        amount: &Money,
    ) -> Result<ChargeReceipt, GatewayError> {
        let mut form = String::new();
        push_field(&mut form, "amount", &amount.minor().to_string());
        push_field(
            &mut form,
            "currency",
            &amount.currency().code().to_ascii_lowercase(),
        );
        push_field(&mut form, "source", &token.token);
        let (status, body) = self
            .post("/v1/charges", key.as_str(), form.as_bytes())
            .await?;
        if !status.is_success() {
            return Self::refusal(status, &body);
        }
        let c: ChargeBody = serde_json::from_slice(&body).map_err(|_| GatewayError::BadResponse)?;
        match c.status.as_str() {
            "succeeded" => Ok(ChargeReceipt {
                transaction_id: c.id.and_then(processor_id),
                decline: None,
            }),
            "failed" => Ok(ChargeReceipt {
                transaction_id: c.id.and_then(processor_id),
                decline: Some(c.failure_code.unwrap_or_else(|| "card_declined".into())),
            }),
            _ => Err(GatewayError::BadResponse),
        }
    }
}

impl PaymentGateway for HttpProcessor {
    fn name(&self) -> &'static str {
        "http"
    }

    fn tokenize<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        card: &'a CardDetails,
    ) -> GatewayFuture<'a, CardToken> {
        Box::pin(self.do_tokenize(key, card))
    }

    fn charge<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        token: &'a CardToken,
        amount: &'a Money,
    ) -> GatewayFuture<'a, ChargeReceipt> {
        Box::pin(self.do_charge(key, token, amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_are_encoded() {
        let mut s = String::new();
        push_field(&mut s, "card[number]", "4242");
        push_field(&mut s, "source", "tok a&b");
        assert_eq!(s, "card%5Bnumber%5D=4242&source=tok%20a%26b");
    }

    #[test]
    fn processor_ids_are_checked() {
        assert_eq!(processor_id("ch_3Nx-9".into()).as_deref(), Some("ch_3Nx-9"));
        assert_eq!(processor_id("card 4242 declined".into()), None);
        assert_eq!(processor_id(String::new()), None);
        assert_eq!(processor_id("x".repeat(256)), None);
    }

    #[test]
    fn config_debug_hides_the_secret() {
        let cfg = HttpProcessorConfig {
            base_url: "http://127.0.0.1:1".into(),
            secret_key: "sk_live_supersecret".into(),
            timeout_ms: 1,
            retries: 0,
        };
        assert!(!format!("{cfg:?}").contains("supersecret"));
    }
}
