//! The payment gateway: tokenize a card, then charge the token.
//!
//! Shape: an object-safe trait of two async steps returning boxed futures, so
//! the daemon can hold an `Arc<dyn PaymentGateway>` chosen by config. The
//! gateway is I/O at the edge (the driver awaits it); the flow stays sans-IO
//! and only sees [`PaymentAction::Charge`](crate::ivr::payment::PaymentAction)
//! go out and a [`ChargeOutcome`] come back.
//!
//! Why tokenize first: the card leaves our memory once, in the tokenize call;
//! the charge (and any retry of it) carries only the token (PCI DSS Req. 3.5:
//! render the PAN unreadable wherever it would otherwise travel or rest).
//!
//! Idempotency: every session has one [`IdempotencyKey`]; the charge is sent
//! with it, so a retry after a timeout or a 5xx cannot charge twice.
//!
//! [`pay`] runs both steps under one deadline and turns every error into a
//! failed [`ChargeResult`] with a reason code: the caller is never left hanging.
//! Results carry only brand, last four, token, transaction id, amount, status
//! and reason (PCI DSS Req. 3.3, 3.4.1).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use super::card::{Brand, CardDetails, LastFour};
use crate::ivr::payment::ChargeOutcome;

/// One key per payment session, sent with the charge so that retries are safe.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// 1–200 characters of `A-Z a-z 0-9 _ - :` (what processors accept in the
    /// `Idempotency-Key` header), e.g. `pay_<payment id>`.
    pub fn new(key: &str) -> Result<Self, GatewayError> {
        let ok = !key.is_empty()
            && key.len() <= 200
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':'));
        if ok {
            Ok(Self(key.to_string()))
        } else {
            Err(GatewayError::BadIdempotencyKey)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Amounts are the one money type: minor units at the currency's ISO 4217
/// scale (a processor's "zero-decimal" JPY is 2500 for ¥2500).
pub use crate::money::Money;

/// A processor's token for a card: not card data, safe to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardToken {
    pub token: String,
    pub brand: Brand,
    /// Known when we tokenized the card; a token the merchant handed over
    /// (a card on file, issue #15) may come without it.
    pub last_four: Option<LastFour>,
}

/// The processor's answer to a charge it understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeReceipt {
    pub transaction_id: Option<String>,
    /// `None` when approved, else the decline code (e.g. `insufficient_funds`).
    pub decline: Option<String>,
}

/// Why a gateway call did not produce a receipt. Reasons are codes, never
/// processor text (which might echo what we sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    #[error("the card was declined ({0})")]
    Declined(String),
    #[error("the processor did not answer in time")]
    Timeout,
    #[error("the processor could not be reached")]
    Unreachable,
    #[error("the processor answered HTTP {0}")]
    Processor(u16),
    #[error("the processor's answer was not understood")]
    BadResponse,
    #[error("idempotency key must be 1-200 of A-Z a-z 0-9 _ - :")]
    BadIdempotencyKey,
}

impl GatewayError {
    /// The reason code put into a failed [`ChargeResult`].
    pub fn reason(&self) -> String {
        match self {
            GatewayError::Declined(code) => code.clone(),
            GatewayError::Timeout => "timeout".into(),
            GatewayError::Unreachable => "unreachable".into(),
            GatewayError::Processor(s) => format!("processor_error_{s}"),
            GatewayError::BadResponse => "bad_response".into(),
            GatewayError::BadIdempotencyKey => "bad_idempotency_key".into(),
        }
    }
}

/// Keep a processor-supplied code to `[a-z_]`, at most 64 characters: no
/// digit can pass, so a processor echoing the card cannot leak it into our
/// logs, database or webhooks through a "reason".
pub fn reason_code(raw: &str) -> String {
    let s: String = raw
        .chars()
        .filter_map(|c| {
            let c = c.to_ascii_lowercase();
            (c.is_ascii_lowercase() || c == '_').then_some(c)
        })
        .take(64)
        .collect();
    if s.is_empty() {
        "unspecified".into()
    } else {
        s
    }
}

/// A boxed future, so the trait stays object-safe (`dyn PaymentGateway`).
pub type GatewayFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, GatewayError>> + Send + 'a>>;

/// A card processor: tokenize, then charge the token.
pub trait PaymentGateway: Send + Sync {
    /// A short name for logs and the CRM note (`sandbox`, `http`).
    fn name(&self) -> &'static str;

    /// Exchange the card for a token. The only call that sees card data.
    fn tokenize<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        card: &'a CardDetails,
    ) -> GatewayFuture<'a, CardToken>;

    /// Charge the token; the same `key` always means the same charge.
    fn charge<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        token: &'a CardToken,
        amount: &'a Money,
    ) -> GatewayFuture<'a, ChargeReceipt>;
}

/// Final status of a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChargeStatus {
    Approved,
    Declined,
    Failed,
}

/// What is kept of a payment: no card number, expiry or CVC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChargeResult {
    pub status: ChargeStatus,
    pub brand: Brand,
    pub last_four: LastFour,
    pub token: Option<String>,
    pub transaction_id: Option<String>,
    pub amount: Money,
    pub reason: Option<String>,
}

impl From<&ChargeResult> for ChargeOutcome {
    fn from(r: &ChargeResult) -> Self {
        let reason = r.reason.clone().unwrap_or_else(|| "unspecified".into());
        match r.status {
            ChargeStatus::Approved => ChargeOutcome::Approved,
            ChargeStatus::Declined => ChargeOutcome::Declined { reason },
            ChargeStatus::Failed => ChargeOutcome::Failed { reason },
        }
    }
}

/// Tokenize then charge, all within `deadline`. The card is taken by value
/// and dropped (zeroized) as soon as it is tokenized. Never fails: errors
/// become a `Failed` (or `Declined`) result with a reason code.
pub async fn pay(
    gateway: &dyn PaymentGateway,
    key: &IdempotencyKey,
    card: CardDetails,
    amount: Money,
    deadline: Duration,
) -> ChargeResult {
    let brand = card.brand();
    let last_four = card.last_four();
    let mut token_kept = None;
    let run = async {
        let token = gateway.tokenize(key, &card).await;
        drop(card);
        let token = token?;
        token_kept = Some(token.token.clone());
        gateway.charge(key, &token, &amount).await
    };
    let outcome = match tokio::time::timeout(deadline, run).await {
        Ok(r) => r,
        Err(_) => Err(GatewayError::Timeout),
    };
    let (status, transaction_id, reason) = match outcome {
        Ok(ChargeReceipt {
            transaction_id,
            decline: None,
        }) => (ChargeStatus::Approved, transaction_id, None),
        Ok(ChargeReceipt {
            transaction_id,
            decline: Some(code),
        }) => (
            ChargeStatus::Declined,
            transaction_id,
            Some(reason_code(&code)),
        ),
        Err(GatewayError::Declined(code)) => {
            (ChargeStatus::Declined, None, Some(reason_code(&code)))
        }
        Err(e) => (ChargeStatus::Failed, None, Some(e.reason())),
    };
    ChargeResult {
        status,
        brand,
        last_four,
        token: token_kept,
        transaction_id,
        amount,
        reason,
    }
}

/// The sandbox's documented test cards. Any other card is declined with
/// `sandbox_test_cards_only`, so a sandbox left on in production can never
/// report a real card as paid.
pub const SANDBOX_CARDS: &[(&str, SandboxBehaviour)] = &[
    ("4242424242424242", SandboxBehaviour::Approve),
    ("5555555555554444", SandboxBehaviour::Approve),
    ("378282246310005", SandboxBehaviour::Approve),
    (
        "4000000000000002",
        SandboxBehaviour::Decline("card_declined"),
    ),
    (
        "4000000000009995",
        SandboxBehaviour::Decline("insufficient_funds"),
    ),
];

/// Cards on file the sandbox knows by token, as a processor's test mode
/// does (issue #15: a merchant's stored card charged without card entry).
pub const SANDBOX_TOKENS: &[(&str, SandboxBehaviour)] = &[
    ("tok_visa", SandboxBehaviour::Approve),
    ("tok_mastercard", SandboxBehaviour::Approve),
    (
        "tok_chargeDeclined",
        SandboxBehaviour::Decline("card_declined"),
    ),
    (
        "tok_chargeDeclinedInsufficientFunds",
        SandboxBehaviour::Decline("insufficient_funds"),
    ),
];

/// What the sandbox does with a test card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxBehaviour {
    Approve,
    Decline(&'static str),
}

#[derive(Default)]
struct SandboxState {
    next: u64,
    tokens: HashMap<String, SandboxBehaviour>,
    charges: HashMap<IdempotencyKey, ChargeReceipt>,
}

/// The default gateway: in memory, deterministic, no network. Charges are
/// idempotent per key, as a real processor's are.
#[derive(Default)]
pub struct SandboxGateway {
    state: Mutex<SandboxState>,
}

impl fmt::Debug for SandboxGateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SandboxGateway")
    }
}

impl SandboxGateway {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many distinct charges were made (for tests of idempotency).
    pub fn charge_count(&self) -> usize {
        self.state.lock().map(|s| s.charges.len()).unwrap_or(0)
    }
}

impl PaymentGateway for SandboxGateway {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn tokenize<'a>(
        &'a self,
        _key: &'a IdempotencyKey,
        card: &'a CardDetails,
    ) -> GatewayFuture<'a, CardToken> {
        let behaviour = SANDBOX_CARDS
            .iter()
            .find(|(pan, _)| *pan == card.pan.expose_str())
            .map_or(
                SandboxBehaviour::Decline("sandbox_test_cards_only"),
                |(_, b)| *b,
            );
        let result = self
            .state
            .lock()
            .map_err(|_| GatewayError::Unreachable)
            .map(|mut s| {
                s.next += 1;
                let token = format!("tok_sandbox_{}", s.next);
                s.tokens.insert(token.clone(), behaviour);
                CardToken {
                    token,
                    brand: card.brand(),
                    last_four: Some(card.last_four()),
                }
            });
        Box::pin(std::future::ready(result))
    }

    fn charge<'a>(
        &'a self,
        key: &'a IdempotencyKey,
        token: &'a CardToken,
        _amount: &'a Money,
    ) -> GatewayFuture<'a, ChargeReceipt> {
        let result = self
            .state
            .lock()
            .map_err(|_| GatewayError::Unreachable)
            .map(|mut s| {
                if let Some(done) = s.charges.get(key) {
                    return done.clone();
                }
                // A token it issued, else a test card on file, else a decline.
                let behaviour = s.tokens.get(&token.token).copied().unwrap_or_else(|| {
                    SANDBOX_TOKENS
                        .iter()
                        .find(|(t, _)| *t == token.token)
                        .map_or(
                            SandboxBehaviour::Decline("sandbox_test_tokens_only"),
                            |(_, b)| *b,
                        )
                });
                s.next += 1;
                let receipt = ChargeReceipt {
                    transaction_id: Some(format!("txn_sandbox_{}", s.next)),
                    decline: match behaviour {
                        SandboxBehaviour::Approve => None,
                        SandboxBehaviour::Decline(code) => Some(code.to_string()),
                    },
                };
                s.charges.insert(key.clone(), receipt.clone());
                receipt
            });
        Box::pin(std::future::ready(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;
    use crate::payments::card::{Cvc, Expiry, Pan, YearMonth};

    fn usd() -> Currency {
        Currency::parse("USD").expect("USD")
    }

    fn card(pan: &str) -> CardDetails {
        let pan = Pan::parse(pan).expect("pan");
        let cvc = Cvc::parse(
            if pan.brand() == Brand::Amex {
                "1234"
            } else {
                "123"
            },
            pan.brand(),
        )
        .expect("cvc");
        CardDetails {
            pan,
            expiry: Expiry::parse(
                "1230",
                YearMonth {
                    year: 2026,
                    month: 11,
                },
            )
            .expect("exp"),
            cvc,
            postal: None,
        }
    }

    fn run<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
            .block_on(f)
    }

    fn key(s: &str) -> IdempotencyKey {
        IdempotencyKey::new(s).expect("key")
    }

    const SECS: Duration = Duration::from_secs(5);

    /// One 0.01 USD sandbox payment of a test card under session key `k`.
    fn sandbox_pay(gw: &SandboxGateway, k: &str, pan: &str) -> ChargeResult {
        run(pay(
            gw,
            &key(k),
            card(pan),
            Money::from_minor(1, usd()),
            SECS,
        ))
    }

    #[test]
    fn sandbox_test_cards() {
        let gw = SandboxGateway::new();
        let r = run(pay(
            &gw,
            &key("pay_1"),
            card("4242424242424242"),
            Money::from_minor(245_000, Currency::PKR),
            SECS,
        ));
        assert_eq!(r.status, ChargeStatus::Approved);
        assert_eq!(r.brand, Brand::Visa);
        assert_eq!(r.last_four.as_str(), "4242");
        assert!(r.token.as_deref().is_some_and(|t| t.starts_with("tok_")));
        assert!(r.transaction_id.is_some());
        assert_eq!(r.amount, Money::from_minor(245_000, Currency::PKR));
        assert_eq!(r.reason, None);
        assert_eq!(ChargeOutcome::from(&r), ChargeOutcome::Approved);

        let r = sandbox_pay(&gw, "pay_2", "4000000000000002");
        assert_eq!(
            (r.status, r.reason.as_deref()),
            (ChargeStatus::Declined, Some("card_declined"))
        );

        let r = sandbox_pay(&gw, "pay_3", "4000000000009995");
        assert_eq!(
            (r.status, r.reason.as_deref()),
            (ChargeStatus::Declined, Some("insufficient_funds"))
        );
        assert_eq!(
            ChargeOutcome::from(&r),
            ChargeOutcome::Declined {
                reason: "insufficient_funds".into()
            }
        );

        let r = sandbox_pay(&gw, "pay_4", "378282246310005");
        assert_eq!((r.status, r.brand), (ChargeStatus::Approved, Brand::Amex));
        // A card that is not a test card is never approved by the sandbox.
        let r = sandbox_pay(&gw, "pay_5", "6011111111111117");
        assert_eq!(
            (r.status, r.reason.as_deref()),
            (ChargeStatus::Declined, Some("sandbox_test_cards_only"))
        );
    }

    #[test]
    fn sandbox_charge_is_idempotent_per_key() {
        let gw = SandboxGateway::new();
        let k = key("pay_same");
        let a = run(pay(
            &gw,
            &k,
            card("4242424242424242"),
            Money::from_minor(100, usd()),
            SECS,
        ));
        let b = run(pay(
            &gw,
            &k,
            card("4242424242424242"),
            Money::from_minor(100, usd()),
            SECS,
        ));
        assert_eq!(a.transaction_id, b.transaction_id);
        assert_eq!(gw.charge_count(), 1);
        let c = run(pay(
            &gw,
            &key("pay_other"),
            card("4242424242424242"),
            Money::from_minor(100, usd()),
            SECS,
        ));
        assert_ne!(a.transaction_id, c.transaction_id);
        assert_eq!(gw.charge_count(), 2);
    }

    #[test]
    fn reason_codes_keep_no_digits() {
        assert_eq!(reason_code("Card_Declined"), "card_declined");
        assert_eq!(reason_code("bad 4242424242424242 number"), "badnumber");
        assert_eq!(reason_code("123"), "unspecified");
        assert_eq!(GatewayError::Processor(503).reason(), "processor_error_503");
    }

    #[test]
    fn idempotency_keys_are_checked() {
        assert!(IdempotencyKey::new("pay_01HX-1:charge").is_ok());
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new("a\r\nX-Evil: 1").is_err());
    }

    /// A gateway that never answers: `pay` still returns, failed, on time.
    struct Stuck;
    impl PaymentGateway for Stuck {
        fn name(&self) -> &'static str {
            "stuck"
        }
        fn tokenize<'a>(
            &'a self,
            _: &'a IdempotencyKey,
            _: &'a CardDetails,
        ) -> GatewayFuture<'a, CardToken> {
            Box::pin(std::future::pending())
        }
        fn charge<'a>(
            &'a self,
            _: &'a IdempotencyKey,
            _: &'a CardToken,
            _: &'a Money,
        ) -> GatewayFuture<'a, ChargeReceipt> {
            Box::pin(std::future::pending())
        }
    }

    #[test]
    fn a_gateway_that_hangs_fails_at_the_deadline() {
        let t = std::time::Instant::now();
        let r = run(pay(
            &Stuck,
            &key("k"),
            card("4242424242424242"),
            Money::from_minor(1, usd()),
            Duration::from_millis(50),
        ));
        assert_eq!(
            (r.status, r.reason.as_deref()),
            (ChargeStatus::Failed, Some("timeout"))
        );
        assert!(t.elapsed() < Duration::from_secs(2));
    }
}
