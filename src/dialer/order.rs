//! Order facts the campaign rules look at: exact amounts, customer kinds and
//! order statuses.
//!
//! These are domain types, not storage types: the store persists them, the
//! rules decide on them, and neither needs the other to exist.

use std::fmt;
use std::str::FromStr;

/// Decimal places an [`Amount`] keeps. Four covers every ISO 4217 currency
/// (the largest minor unit is 3 decimals, e.g. KWD) with room for rounding-free
/// thresholds.
pub const AMOUNT_SCALE: u32 = 4;
const SCALE_FACTOR: i64 = 10_000;

/// A non-negative money amount held exactly as an integer count of
/// ten-thousandths of a currency unit.
///
/// Money is never a float here: `0.1 + 0.2` must compare equal to `0.3` when a
/// rule says "orders up to 0.30", and an idempotent re-post of `"1234.50"` must
/// match `"1234.5"` exactly.
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
        let syntax = || AmountError::Syntax(text.to_string());
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, f),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int.is_empty()
            || !all_digits(int)
            || !all_digits(frac)
            || (text.contains('.') && frac.is_empty())
        {
            return Err(syntax());
        }
        if frac.len() > AMOUNT_SCALE as usize {
            return Err(AmountError::TooPrecise(text.to_string()));
        }
        let too_large = || AmountError::TooLarge(text.to_string());
        let whole: i64 = int.parse().map_err(|_| too_large())?;
        let mut frac_value: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_value += i64::from(b - b'0') * 10_i64.pow(AMOUNT_SCALE - 1 - i as u32);
        }
        whole
            .checked_mul(SCALE_FACTOR)
            .and_then(|w| w.checked_add(frac_value))
            .map(|ten_thousandths| Amount { ten_thousandths })
            .ok_or_else(too_large)
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
