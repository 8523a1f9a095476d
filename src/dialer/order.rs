//! Order facts the campaign rules look at: exact amounts, customer kinds and
//! order statuses.
//!
//! These are domain types, not storage types: the store persists them, the
//! rules decide on them, and neither needs the other to exist.

use std::fmt;
use std::str::FromStr;

/// Decimal places an [`Amount`] keeps: the largest ISO 4217 minor unit
/// ([`crate::money::MAX_SCALE`]), so every order's money converts exactly.
pub const AMOUNT_SCALE: u32 = crate::money::MAX_SCALE as u32;
const SCALE_FACTOR: i64 = 10_000;

/// A campaign rule's threshold (`flag_above`, `min_amount`, `max_amount`):
/// a currency-less exact decimal, an integer count of ten-thousandths.
///
/// Money itself is [`crate::money::Money`]; a rule compares an order's money
/// through [`Amount::of`]. Never a float: `0.1 + 0.2` must compare equal to
/// `0.3` when a rule says "orders up to 0.30".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Amount {
    ten_thousandths: i64,
}

/// Why a text is not an [`Amount`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmountError {
    #[error("amount {0:?} is not a plain decimal number like 1234.50")]
    Syntax(String),
    #[error("amount {0:?} has more than {AMOUNT_SCALE} decimal places")]
    TooPrecise(String),
    #[error("amount {0:?} is too large")]
    TooLarge(String),
}

impl Amount {
    /// Zero, in any currency.
    pub const ZERO: Amount = Amount { ten_thousandths: 0 };

    /// Parse a plain decimal like `"1234"`, `"1234.5"` or `"0.125"`.
    ///
    /// Signs, exponents, thousands separators and more than
    /// [`AMOUNT_SCALE`] decimals are refused rather than rounded: a merchant's
    /// amount is stored as sent or not at all.
    pub fn parse(text: &str) -> Result<Amount, AmountError> {
        use crate::money::{parse_decimal, DecimalError};
        let value = parse_decimal(text, AMOUNT_SCALE).map_err(|e| match e {
            DecimalError::Syntax => AmountError::Syntax(text.to_string()),
            DecimalError::TooPrecise => AmountError::TooPrecise(text.to_string()),
            DecimalError::TooLarge => AmountError::TooLarge(text.to_string()),
        })?;
        i64::try_from(value)
            .map(|ten_thousandths| Amount { ten_thousandths })
            .map_err(|_| AmountError::TooLarge(text.to_string()))
    }

    /// An order's money at the rules' scale (exact: no currency has more
    /// than [`AMOUNT_SCALE`] decimals); `None` only past `i64`.
    pub fn of(money: crate::money::Money) -> Option<Amount> {
        money
            .ten_thousandths()
            .map(|ten_thousandths| Amount { ten_thousandths })
    }

    /// The amount in ten-thousandths of a unit (exact).
    pub fn ten_thousandths(self) -> i64 {
        self.ten_thousandths
    }
}

impl FromStr for Amount {
    type Err = AmountError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse(s)
    }
}

impl fmt::Display for Amount {
    /// Canonical form: no trailing zeros in the fraction (`1234.5`, `12`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.ten_thousandths / SCALE_FACTOR;
        let frac = self.ten_thousandths % SCALE_FACTOR;
        if frac == 0 {
            return write!(f, "{whole}");
        }
        let digits = format!("{frac:04}");
        write!(f, "{whole}.{}", digits.trim_end_matches('0'))
    }
}

/// Who the buyer is, as the merchant tells us; rules and flag thresholds
/// differ per kind because fraud and refusal rates do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum CustomerKind {
    /// First order with this merchant.
    New,
    /// Has bought from this merchant before.
    Returning,
    /// New to this merchant but known (and paying) on the platform.
    PlatformReturning,
}

impl CustomerKind {
    pub const ALL: [CustomerKind; 3] = [
        CustomerKind::New,
        CustomerKind::Returning,
        CustomerKind::PlatformReturning,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerKind::New => "new",
            CustomerKind::Returning => "returning",
            CustomerKind::PlatformReturning => "platform_returning",
        }
    }

    pub fn parse(s: &str) -> Option<CustomerKind> {
        CustomerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Where an order is in its confirmation life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Received; not yet planned (only seen if planning has not run).
    Pending,
    /// Calls are scheduled or in progress.
    Calling,
    /// The buyer confirmed, or the rules/fallback confirmed without them.
    Confirmed,
    /// The buyer cancelled, or the fallback cancelled.
    Cancelled,
    /// Needs a human decision (flag threshold or no-answer fallback).
    Flagged,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Calling,
        OrderStatus::Confirmed,
        OrderStatus::Cancelled,
        OrderStatus::Flagged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Calling => "calling",
            OrderStatus::Confirmed => "confirmed",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Flagged => "flagged",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// A final status ends the campaign for the order (a flagged order still
    /// waits for a human, so it is not final).
    pub fn is_final(self) -> bool {
        matches!(self, OrderStatus::Confirmed | OrderStatus::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact() {
        let a = Amount::parse("0.1").unwrap();
        let b = Amount::parse("0.2").unwrap();
        let c = Amount::parse("0.3").unwrap();
        assert_eq!(
            a.ten_thousandths() + b.ten_thousandths(),
            c.ten_thousandths()
        );
        assert_eq!(Amount::parse("1234.50"), Amount::parse("1234.5"));
        assert_eq!(Amount::parse("1234.50").unwrap().to_string(), "1234.5");
        assert_eq!(Amount::parse("12.0000").unwrap().to_string(), "12");
        assert_eq!(Amount::parse("0.0005").unwrap().to_string(), "0.0005");
        assert_eq!(Amount::parse("7").unwrap().ten_thousandths(), 70_000);
    }

    #[test]
    fn amounts_refuse_what_they_cannot_hold_exactly() {
        for bad in [
            "", ".5", "5.", "-1", "+1", "1e3", "1,000", "1.2.3", " 1", "abc",
        ] {
            assert!(
                matches!(Amount::parse(bad), Err(AmountError::Syntax(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Amount::parse("0.00001"),
            Err(AmountError::TooPrecise(_))
        ));
        assert!(matches!(
            Amount::parse("99999999999999999999"),
            Err(AmountError::TooLarge(_))
        ));
        assert!(matches!(
            Amount::parse("922337203685478"),
            Err(AmountError::TooLarge(_))
        ));
    }

    #[test]
    fn names_round_trip() {
        for k in CustomerKind::ALL {
            assert_eq!(CustomerKind::parse(k.as_str()), Some(k));
        }
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(CustomerKind::parse("vip"), None);
    }
}
