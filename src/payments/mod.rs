//! Keypad payments: card entry validation, zeroizing card buffers, and the
//! gateway trait with its adapters.
//!
//! Rule of this module (the design handbook's "Card data", and
//! `docs/payments-contract.md`): card number, expiry and CVC
//! live only in memory, in zeroizing buffers, for the seconds the payment
//! needs; nothing here logs, and no error or `Debug` output carries a digit
//! of them. What may be kept: brand, last four, gateway token, transaction id.
//!
//! - [`card`]: pure validation (PAN, Luhn, brand, expiry, CVC, postal code).
//! - [`gateway`]: the [`PaymentGateway`] trait (tokenize, then charge with an
//!   idempotency key), [`gateway::pay`], and the default [`SandboxGateway`].
//! - [`http`]: the adapter for a processor's HTTP API (Stripe-style).
//! - [`on_file`]: one charge of a card on file (upsells, trial steps).
//! - [`request`]: [`PaymentRequest`], the one shape of a payment from the
//!   API through the store to the call layer; amounts are
//!   [`crate::money::Money`].
//! - [`GatewayConfig`]: which gateway a deployment uses (`sandbox` by default).

pub mod card;
pub mod gateway;
pub mod http;
pub mod on_file;
pub mod request;

use std::sync::Arc;

pub use card::{
    Brand, CardDetails, CardError, Cvc, DigitBuf, Expiry, LastFour, Pan, PostalCode, PostalRule,
    YearMonth,
};
pub use gateway::{
    pay, ChargeResult, ChargeStatus, GatewayError, IdempotencyKey, Money, PaymentGateway,
    SandboxGateway,
};
pub use http::{HttpProcessor, HttpProcessorConfig};
pub use request::{
    check_payment_amount, payment_amount, PaymentAmountError, PaymentRequest, MAX_PAYMENT_MAJOR,
};

/// Which gateway to use, e.g. in TOML:
///
/// ```toml
/// [payments.gateway]
/// kind = "http"
/// base_url = "https://api.processor.example"
/// secret_key = "sk_live_…"
/// timeout_ms = 10000
/// retries = 1
/// ```
///
/// The sandbox is the default so that a fresh install can never charge a
/// real card by accident.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GatewayConfig {
    #[default]
    Sandbox,
    Http(HttpProcessorConfig),
}

impl GatewayConfig {
    pub fn build(&self) -> Result<Arc<dyn PaymentGateway>, GatewayError> {
        Ok(match self {
            GatewayConfig::Sandbox => Arc::new(SandboxGateway::new()),
            GatewayConfig::Http(cfg) => Arc::new(HttpProcessor::new(cfg)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_config_defaults_to_sandbox_and_parses_http() {
        assert_eq!(
            GatewayConfig::default().build().expect("sandbox").name(),
            "sandbox"
        );
        let c: GatewayConfig = toml::from_str("kind = \"sandbox\"").expect("sandbox");
        assert!(matches!(c, GatewayConfig::Sandbox));
        let c: GatewayConfig = toml::from_str(
            "kind = \"http\"\nbase_url = \"http://127.0.0.1:9\"\nsecret_key = \"sk_test_1\"",
        )
        .expect("http");
        match &c {
            GatewayConfig::Http(h) => assert_eq!((h.timeout_ms, h.retries), (10_000, 1)),
            GatewayConfig::Sandbox => panic!("expected http"),
        }
        assert_eq!(c.build().expect("http").name(), "http");
        assert!(toml::from_str::<GatewayConfig>(
            "kind = \"http\"\nbase_url = \"x\"\nsecret_key = \"k\"\nbogus = 1"
        )
        .is_err());
    }
}
