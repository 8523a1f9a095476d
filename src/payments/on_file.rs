//! One charge of a card on file (issue #15): the gateway token kept from the
//! order's payment, charged under a caller's idempotency key. Upsell
//! purchases and trial steps both charge through here.
//!
//! Every gateway error ends the charge `failed` with its reason code, and a
//! decline carries the processor's code kept to `[a-z_]`
//! ([`super::gateway::reason_code`]): never text that could echo card data
//! (the design handbook's "Card data").

use std::sync::Arc;
use std::time::Duration;

use super::card::{Brand, LastFour};
use super::gateway::{reason_code, CardToken, GatewayError, IdempotencyKey, PaymentGateway};
use crate::money::Money;
use crate::upsell::CardOnFile;

/// How long the gateway may take for one card-on-file charge.
pub const CHARGE_DEADLINE: Duration = Duration::from_secs(20);

/// How a card-on-file charge ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeEnd {
    /// `approved`, `declined` or `failed`.
    pub status: &'static str,
    pub transaction_id: Option<String>,
    /// A reason code (`card_declined`, `timeout`, `no_gateway`, …).
    pub reason: Option<String>,
}

impl ChargeEnd {
    fn failed(reason: String) -> ChargeEnd {
        ChargeEnd {
            status: "failed",
            transaction_id: None,
            reason: Some(reason),
        }
    }
}

/// Charge `amount` to `card` (its token must be set; `no_card` otherwise)
/// with `key`, the same key for every retry of the same charge.
pub async fn charge(
    gateway: Option<&Arc<dyn PaymentGateway>>,
    key: &str,
    card: &CardOnFile,
    amount: &Money,
) -> ChargeEnd {
    let Some(gateway) = gateway else {
        return ChargeEnd::failed("no_gateway".into());
    };
    let Some(token) = card.token.clone() else {
        return ChargeEnd::failed("no_card".into());
    };
    let key = match IdempotencyKey::new(key) {
        Ok(k) => k,
        Err(e) => return ChargeEnd::failed(e.reason()),
    };
    let token = CardToken {
        token,
        brand: card.brand.unwrap_or(Brand::Unknown),
        last_four: card.last4.as_deref().and_then(LastFour::parse),
    };
    match tokio::time::timeout(CHARGE_DEADLINE, gateway.charge(&key, &token, amount)).await {
        Err(_) => ChargeEnd::failed(GatewayError::Timeout.reason()),
        Ok(Err(GatewayError::Declined(code))) => ChargeEnd {
            status: "declined",
            transaction_id: None,
            reason: Some(reason_code(&code)),
        },
        Ok(Err(e)) => ChargeEnd::failed(e.reason()),
        Ok(Ok(receipt)) => match receipt.decline {
            None => ChargeEnd {
                status: "approved",
                transaction_id: receipt.transaction_id,
                reason: None,
            },
            Some(code) => ChargeEnd {
                status: "declined",
                transaction_id: receipt.transaction_id,
                reason: Some(reason_code(&code)),
            },
        },
    }
}
