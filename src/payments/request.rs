//! The one shape of a payment an agent asks for, from the API through the
//! store to the call layer (issue #9: it used to be four — `NewPayment`,
//! `PaymentRequest`, `PaymentOrder` and the gateway's `Money`).

use crate::money::{Currency, Money, MoneyError};

/// Largest payment amount, in major units of its currency.
pub const MAX_PAYMENT_MAJOR: u64 = 1_000_000;

/// A keypad payment to take on a bridged call: stored `pending` by the API
/// (`Store::insert_payment`), then handed to the call's task
/// (`CallControl::start_payment`), which reads the amount out and charges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// `pay_` + 20 random characters (the API makes it).
    pub payment_id: String,
    pub call_id: String,
    /// The product, 1–200 characters.
    pub item: String,
    pub amount: Money,
}

/// Why a text is not a payment amount, for the API's 4xx.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PaymentAmountError {
    /// The currency is at fault (field `currency`).
    #[error(transparent)]
    Currency(MoneyError),
    /// The amount is at fault (field `amount`).
    #[error(transparent)]
    Amount(MoneyError),
    #[error("must be greater than 0 and at most {MAX_PAYMENT_MAJOR}")]
    OutOfRange,
}

impl PaymentAmountError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            PaymentAmountError::Currency(_) => "currency",
            PaymentAmountError::Amount(_) | PaymentAmountError::OutOfRange => "amount",
        }
    }
}

/// Parse a payment's `amount` text in `currency`: ISO 4217 code, at most
/// the currency's decimals, more than 0 and at most [`MAX_PAYMENT_MAJOR`].
pub fn payment_amount(text: &str, currency: &str) -> Result<Money, PaymentAmountError> {
    let currency = Currency::parse(currency).map_err(PaymentAmountError::Currency)?;
    let money = Money::parse(text, currency).map_err(PaymentAmountError::Amount)?;
    check_payment_amount(money)?;
    Ok(money)
}

/// More than 0 and at most [`MAX_PAYMENT_MAJOR`] major units.
pub fn check_payment_amount(money: Money) -> Result<(), PaymentAmountError> {
    let max = MAX_PAYMENT_MAJOR.saturating_mul(money.currency().minor_per_major());
    if money.is_zero() || money.minor() > max {
        return Err(PaymentAmountError::OutOfRange);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_at_the_currency_scale_within_limits() {
        let ok = |t: &str, c: &str| payment_amount(t, c).map(Money::minor);
        assert_eq!(ok("2500", "PKR"), Ok(250_000));
        assert_eq!(ok("2500.5", "PKR"), Ok(250_050));
        assert_eq!(ok("0.01", "PKR"), Ok(1));
        assert_eq!(ok("1000000", "PKR"), Ok(100_000_000));
        assert_eq!(ok("0001000000.00", "PKR"), Ok(100_000_000));
        assert_eq!(ok("2500", "JPY"), Ok(2500));
        assert_eq!(ok("1000000", "JPY"), Ok(1_000_000));
        assert_eq!(ok("1.250", "KWD"), Ok(1250));
        let field = |t: &str, c: &str| payment_amount(t, c).map_err(|e| e.field());
        for (text, code) in [
            ("0", "PKR"),
            ("0.00", "PKR"),
            ("1000000.01", "PKR"),
            ("12.345", "PKR"),
            ("2500.5", "JPY"),
            ("1.2345", "KWD"),
            ("-5", "PKR"),
            ("1e3", "PKR"),
            ("", "PKR"),
        ] {
            assert_eq!(field(text, code), Err("amount"), "{text} {code}");
        }
        for code in ["pkr", "PKRR", "XYZ", "XAU"] {
            assert_eq!(field("10", code), Err("currency"), "{code}");
        }
    }
}
