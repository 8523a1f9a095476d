//! Money: an exact count of a currency's minor units, with the scale ISO 4217
//! gives the currency (PKR 2, JPY 0, KWD 3).
//!
//! One type for orders, payments, the API, the store and the gateway
//! (issue #9, "one payment vocabulary"). Amounts are parsed from decimal text
//! digit by digit and kept as integers: never through a float, so `"0.1"` +
//! `"0.2"` is exactly `"0.3"` and a re-posted `"1234.5"` equals `"1234.50"`.
//! More decimals than the currency has are refused, never rounded: a
//! merchant's amount is taken as sent or not at all.

use std::fmt;

/// An ISO 4217 currency with a minor unit, e.g. PKR (2 decimals).
///
/// Built by [`Currency::parse`] (ISO codes only: the API's input) or
/// [`Currency::stored`] (a code read back from the store, which before
/// migration 0009 accepted any three capitals).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: [u8; 3],
    scale: u8,
}

/// Why a text is not a [`Currency`] or not an amount of one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    #[error("{0:?} is not a three-letter ISO 4217 currency code like PKR")]
    UnknownCurrency(String),
    #[error("{0} has no minor unit (it is not money we can charge or read out)")]
    NoMinorUnit(String),
    #[error("{0:?} is not a plain decimal number like 1234.50")]
    Syntax(String),
    #[error("{text:?} has more than {scale} decimal places, the most {currency} has")]
    TooPrecise {
        text: String,
        scale: u32,
        currency: Currency,
    },
    #[error("{0:?} is too large")]
    TooLarge(String),
}

impl Currency {
    /// Pakistani rupee, the currency most orders here are in.
    pub const PKR: Currency = Currency {
        code: *b"PKR",
        scale: 2,
    };

    /// An ISO 4217 code in capitals (`"PKR"`, not `"pkr"`) whose currency has
    /// a minor unit (gold, `XAU`, has none).
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let unknown = || MoneyError::UnknownCurrency(code.to_string());
        let bytes: [u8; 3] = code.as_bytes().try_into().map_err(|_| unknown())?;
        if !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(unknown());
        }
        let iso = iso_currency::Currency::from_code(code).ok_or_else(unknown)?;
        let scale = iso
            .exponent()
            .and_then(|e| u8::try_from(e).ok())
            .filter(|e| *e <= MAX_SCALE)
            .ok_or_else(|| MoneyError::NoMinorUnit(code.to_string()))?;
        Ok(Currency { code: bytes, scale })
    }

    /// A code read back from the store. Rows written before the currency
    /// was checked against ISO 4217 may hold any three capitals; those keep
    /// the two decimals migration 0009 gave them, so an old row still reads.
    pub fn stored(code: &str) -> Result<Currency, MoneyError> {
        match Currency::parse(code) {
            Ok(c) => Ok(c),
            Err(MoneyError::UnknownCurrency(_)) | Err(MoneyError::NoMinorUnit(_))
                if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) =>
            {
                let mut bytes = [0; 3];
                bytes.copy_from_slice(code.as_bytes());
                Ok(Currency {
                    code: bytes,
                    scale: 2,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The upper-case code, e.g. `"PKR"`.
    pub fn code(&self) -> &str {
        // Only ASCII capitals are ever stored in `code`.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    /// Decimal places of the minor unit (ISO 4217 "exponent").
    pub fn scale(self) -> u32 {
        u32::from(self.scale)
    }

    /// Minor units in one major unit: 100 for PKR, 1 for JPY, 1000 for KWD.
    pub fn minor_per_major(self) -> u64 {
        10u64.pow(self.scale())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl serde::Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

/// The largest ISO 4217 exponent (CLF, UYW have 4); also the scale of the
/// campaign rules' thresholds ([`crate::dialer::Amount`]), so every amount
/// converts to a threshold exactly.
pub const MAX_SCALE: u8 = 4;

/// A non-negative amount of money: minor units of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    minor: u64,
    currency: Currency,
}

impl Money {
    pub fn from_minor(minor: u64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parse a plain decimal (`"2500"`, `"2500.5"`, `"2500.50"`) in
    /// `currency`. Signs, exponents, separators and more decimals than the
    /// currency has (`"12.345"` PKR, `"10.5"` JPY) are refused.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let minor = parse_decimal(text, currency.scale()).map_err(|e| match e {
            DecimalError::Syntax => MoneyError::Syntax(text.to_string()),
            DecimalError::TooPrecise => MoneyError::TooPrecise {
                text: text.to_string(),
                scale: currency.scale(),
                currency,
            },
            DecimalError::TooLarge => MoneyError::TooLarge(text.to_string()),
        })?;
        Ok(Money { minor, currency })
    }

    /// The amount in minor units (paisa, cents, fils).
    pub fn minor(self) -> u64 {
        self.minor
    }

    pub fn currency(self) -> Currency {
        self.currency
    }

    pub fn is_zero(self) -> bool {
        self.minor == 0
    }

    /// The amount as a count of ten-thousandths of a unit, the scale the
    /// campaign rules compare at (exact: no currency has more than 4
    /// decimals). `None` only past `i64`.
    pub fn ten_thousandths(self) -> Option<i64> {
        let factor = 10u64.pow(u32::from(MAX_SCALE) - self.currency.scale());
        self.minor
            .checked_mul(factor)
            .and_then(|v| i64::try_from(v).ok())
    }
}

impl fmt::Display for Money {
    /// Decimal text with exactly the currency's places: `2500.00` PKR,
    /// `1200` JPY, `1.250` KWD (the currency is not part of the text).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = self.currency.minor_per_major();
        let (major, minor) = (self.minor / per, self.minor % per);
        match self.currency.scale() {
            0 => write!(f, "{major}"),
            s => write!(f, "{major}.{minor:0width$}", width = s as usize),
        }
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self} {}", self.currency)
    }
}

impl serde::Serialize for Money {
    /// `{"minor": 245000, "currency": "PKR"}`: the gateway's shape.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Money", 2)?;
        st.serialize_field("minor", &self.minor)?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

/// Why a text is not a decimal at a given scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    Syntax,
    TooPrecise,
    TooLarge,
}

/// Parse a plain non-negative decimal into an integer count of
/// `10^-scale` units, digit by digit (the one decimal parser: money and the
/// rules' thresholds both use it).
pub(crate) fn parse_decimal(text: &str, scale: u32) -> Result<u64, DecimalError> {
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
        return Err(DecimalError::Syntax);
    }
    if frac.len() > scale as usize {
        return Err(DecimalError::TooPrecise);
    }
    let mut value: u64 = 0;
    let padded = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(scale as usize);
    for b in int.bytes().chain(padded) {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or(DecimalError::TooLarge)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn iso_scales() {
        assert_eq!(cur("PKR").scale(), 2);
        assert_eq!(cur("JPY").scale(), 0);
        assert_eq!(cur("KWD").scale(), 3);
        assert_eq!(cur("CLF").scale(), 4);
        assert_eq!(Currency::PKR, cur("PKR"));
    }

    #[test]
    fn currency_codes_are_checked() {
        for bad in ["pkr", "PKRR", "PK", "", "XYZ", "P1R"] {
            assert!(
                matches!(Currency::parse(bad), Err(MoneyError::UnknownCurrency(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Currency::parse("XAU"),
            Err(MoneyError::NoMinorUnit(_))
        ));
        // A code stored before the check still reads, at two decimals.
        assert_eq!(Currency::stored("XYZ").unwrap().scale(), 2);
        assert_eq!(Currency::stored("JPY").unwrap().scale(), 0);
        assert!(Currency::stored("pkr").is_err());
    }

    #[test]
    fn parses_exactly_at_the_currency_scale() {
        let m = |t: &str, c: &str| Money::parse(t, cur(c)).map(Money::minor);
        assert_eq!(m("2500", "PKR"), Ok(250_000));
        assert_eq!(m("2500.5", "PKR"), Ok(250_050));
        assert_eq!(m("2500.05", "PKR"), Ok(250_005));
        assert_eq!(m("0.01", "PKR"), Ok(1));
        assert_eq!(m("1200", "JPY"), Ok(1200));
        assert_eq!(m("1.25", "KWD"), Ok(1250));
        assert_eq!(m("1.255", "KWD"), Ok(1255));
        assert_eq!(m("0001.5", "PKR"), Ok(150));
        // 0.1 + 0.2 == 0.3, exactly.
        assert_eq!(
            m("0.1", "PKR").unwrap() + m("0.2", "PKR").unwrap(),
            m("0.3", "PKR").unwrap()
        );
    }

    #[test]
    fn refuses_more_places_than_the_currency_has() {
        for (text, code) in [
            ("12.345", "PKR"),
            ("10.5", "JPY"),
            ("10.0", "JPY"),
            ("1.2345", "KWD"),
        ] {
            assert!(
                matches!(
                    Money::parse(text, cur(code)),
                    Err(MoneyError::TooPrecise { .. })
                ),
                "{text} {code}"
            );
        }
        let e = Money::parse("12.345", cur("PKR")).unwrap_err().to_string();
        assert!(e.contains("2 decimal places") && e.contains("PKR"), "{e}");
    }

    #[test]
    fn refuses_what_is_not_a_plain_decimal() {
        for bad in [
            "", ".5", "5.", "-5", "+5", "1e3", "1,000", " 5", "5 ", "0x10", "1.2.3",
        ] {
            assert!(
                matches!(Money::parse(bad, Currency::PKR), Err(MoneyError::Syntax(_))),
                "{bad:?}"
            );
        }
        assert!(matches!(
            Money::parse("999999999999999999999", Currency::PKR),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_with_the_currency_places() {
        let show = |t: &str, c: &str| Money::parse(t, cur(c)).unwrap().to_string();
        assert_eq!(show("2500", "PKR"), "2500.00");
        assert_eq!(show("0.05", "PKR"), "0.05");
        assert_eq!(show("1200", "JPY"), "1200");
        assert_eq!(show("1.25", "KWD"), "1.250");
        assert_eq!(show("0.0001", "CLF"), "0.0001");
    }

    #[test]
    fn converts_to_rule_scale_exactly() {
        let tt = |t: &str, c: &str| Money::parse(t, cur(c)).unwrap().ten_thousandths();
        assert_eq!(tt("1234.5", "PKR"), Some(12_345_000));
        assert_eq!(tt("7", "JPY"), Some(70_000));
        assert_eq!(tt("1.255", "KWD"), Some(12_550));
        assert_eq!(
            Money::from_minor(u64::MAX, Currency::PKR).ten_thousandths(),
            None
        );
    }
}
