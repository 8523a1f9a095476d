//! Keypad payments: card entry validation, zeroizing card buffers, and the
//! gateway trait with its adapters.
//!
//! Rule of this module (DESIGN.md "Card data"): card number, expiry and CVC
//! live only in memory, in zeroizing buffers, for the seconds the payment
//! needs; nothing here logs, and no error or `Debug` output carries a digit
//! of them. What may be kept: brand, last four, gateway token, transaction id.
//!
//! - [`card`]: pure validation (PAN, Luhn, brand, expiry, CVC, postal code).
//! - [`gateway`]: the [`PaymentGateway`] trait (tokenize, then charge with an
//!   idempotency key), [`gateway::pay`], and the default [`SandboxGateway`].

pub mod card;
pub mod gateway;

pub use card::{
    Brand, CardDetails, CardError, Cvc, DigitBuf, Expiry, LastFour, Pan, PostalCode, PostalRule,
    YearMonth,
};
pub use gateway::{
    pay, ChargeResult, ChargeStatus, GatewayError, IdempotencyKey, Money, PaymentGateway,
    SandboxGateway,
};
