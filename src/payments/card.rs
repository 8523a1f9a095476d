//! Card entry validation over keypad digits, with the card data held only in
//! zeroizing buffers.
//!
//! Why this shape (PCI DSS v4.0):
//! - Req. 3.2 / 3.3: sensitive authentication data (the CVC) must not be
//!   retained after authorisation, and the PAN only where needed. Every value
//!   here lives in a fixed-size [`DigitBuf`] that is overwritten with zeros
//!   when dropped (or explicitly via [`Zeroize`]), so the digits exist for the
//!   seconds of one payment and no heap copy is left behind by a `String`
//!   growing and reallocating.
//! - Req. 3.4.1: a PAN is displayed masked; only the brand and the last four
//!   digits may be shown. No type here implements `Display`, and every `Debug`
//!   is written by hand to redact the digits; errors ([`CardError`]) carry
//!   lengths and kinds, never a digit the caller keyed.
//! - Req. 10.3 / 3.3.1: card data never reaches a log line; nothing in this
//!   module logs at all.
//!
//! This module is pure: no I/O, no clock (the current month is passed in as a
//! [`YearMonth`]), no async.

use std::fmt;

use zeroize::Zeroize;

/// Longest PAN ISO/IEC 7812-1 allows.
pub const PAN_MAX: usize = 19;
/// Shortest PAN we accept (ISO/IEC 7812-1 allows 8, but no payment brand issues
/// fewer than 13 digits, and a short entry is far more likely a mistake).
pub const PAN_MIN: usize = 13;
/// Longest postal code a keypad entry may have.
pub const POSTAL_MAX: usize = 10;

/// A fixed-capacity buffer of ASCII digits that zeroizes itself on drop.
///
/// Fixed size on purpose: a growing `Vec`/`String` reallocates and leaves the
/// old copy of the digits in freed memory, which no `Drop` can reach. Boxed on
/// purpose: the digits stay at one heap address for their whole life, so
/// moving a `Pan` into a `CardDetails`, an action queue or a future moves a
/// pointer and leaves no stale copy of the digits on the stack.
pub struct DigitBuf<const N: usize> {
    digits: Box<[u8; N]>,
    len: usize,
}

impl<const N: usize> DigitBuf<N> {
    pub fn new() -> Self {
        Self {
            digits: Box::new([0; N]),
            len: 0,
        }
    }

    /// Build from ASCII digits (tests and adapters; the flow pushes keys).
    pub fn from_digits(s: &str) -> Result<Self, CardError> {
        let mut b = Self::new();
        for c in s.chars() {
            b.push(c)?;
        }
        Ok(b)
    }

    /// Append one keyed digit; anything but `0`–`9` is refused.
    pub fn push(&mut self, c: char) -> Result<(), CardError> {
        if !c.is_ascii_digit() {
            return Err(CardError::NotADigit);
        }
        if self.len == N {
            return Err(CardError::TooManyDigits { max: N });
        }
        self.digits[self.len] = c as u8;
        self.len += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len == N
    }

    /// Forget the entry (zeroing it) so the caller can key it again.
    pub fn clear(&mut self) {
        self.zeroize();
    }

    /// The digits as ASCII bytes. Named `expose_…` so every read of card data
    /// is easy to find in review.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    /// The digits as `&str`, borrowed (no copy is made).
    pub fn expose_str(&self) -> &str {
        // Only ASCII digits are ever stored (see `push`), so this cannot fail;
        // fall back to "" rather than panic if that invariant were broken.
        std::str::from_utf8(self.expose_bytes()).unwrap_or("")
    }

    /// The raw backing array, including the unused tail. For the zeroization
    /// tests: after `zeroize()` every byte must read 0.
    pub fn raw(&self) -> &[u8; N] {
        &self.digits
    }

    /// Take the digits (the heap block moves, nothing is copied), leaving
    /// this buffer empty.
    fn move_out(&mut self) -> Self {
        std::mem::take(self)
    }
}

impl<const N: usize> Default for DigitBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Zeroize for DigitBuf<N> {
    fn zeroize(&mut self) {
        self.digits.as_mut().zeroize();
        self.len.zeroize();
    }
}

impl<const N: usize> Drop for DigitBuf<N> {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl<const N: usize> fmt::Debug for DigitBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DigitBuf(<{} digits redacted>)", self.len)
    }
}

/// Why an entry was refused. Never carries a keyed digit (PCI DSS Req. 3.3.1,
/// 10.3): only kinds and lengths, so it may be logged and shown to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    #[error("only digits 0-9 may be keyed")]
    NotADigit,
    #[error("entry longer than {max} digits")]
    TooManyDigits { max: usize },
    #[error("card number must have {PAN_MIN} to {PAN_MAX} digits, got {len}")]
    PanLength { len: usize },
    #[error("card number fails the check digit (ISO/IEC 7812-1 Luhn)")]
    Luhn,
    #[error("a {brand} card number cannot have {len} digits")]
    BrandLength { brand: Brand, len: usize },
    #[error("expiry must be 4 digits MMYY, got {len}")]
    ExpiryLength { len: usize },
    #[error("expiry month must be 01 to 12")]
    ExpiryMonth,
    #[error("card has expired")]
    Expired,
    #[error("expiry is implausibly far in the future")]
    ExpiryTooFar,
    #[error("security code must have {expected} digits for this card, got {len}")]
    CvcLength { expected: usize, len: usize },
    #[error("postal code must have {min} to {max} digits, got {len}")]
    PostalLength { min: usize, max: usize, len: usize },
}

impl CardError {
    /// A short stable code for progress events and API responses.
    pub fn code(self) -> &'static str {
        match self {
            CardError::NotADigit => "not_a_digit",
            CardError::TooManyDigits { .. } => "too_many_digits",
            CardError::PanLength { .. } => "card_number_length",
            CardError::Luhn => "card_number_check_digit",
            CardError::BrandLength { .. } => "card_number_length_for_brand",
            CardError::ExpiryLength { .. } => "expiry_length",
            CardError::ExpiryMonth => "expiry_month",
            CardError::Expired => "expired",
            CardError::ExpiryTooFar => "expiry_too_far",
            CardError::CvcLength { .. } => "cvc_length",
            CardError::PostalLength { .. } => "postal_code_length",
        }
    }
}

/// Card brand, from the issuer identification number (the leading digits,
/// ISO/IEC 7812-1) as published by each network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Brand {
    Visa,
    Mastercard,
    Amex,
    Discover,
    DinersClub,
    Jcb,
    UnionPay,
    /// Luhn-valid but in no range we know; the processor decides.
    Unknown,
}

impl Brand {
    pub fn as_str(self) -> &'static str {
        match self {
            Brand::Visa => "visa",
            Brand::Mastercard => "mastercard",
            Brand::Amex => "amex",
            Brand::Discover => "discover",
            Brand::DinersClub => "diners_club",
            Brand::Jcb => "jcb",
            Brand::UnionPay => "unionpay",
            Brand::Unknown => "unknown",
        }
    }

    /// Detect the brand from the leading digits (ASCII). Ranges:
    /// Visa 4; Mastercard 51–55 and 2221–2720 (the 2-series, since 2017);
    /// Amex 34, 37; Discover 6011, 644–649, 65; Diners Club 300–305, 3095,
    /// 36, 38–39; JCB 3528–3589; UnionPay 62 (and 81, its newer range).
    pub fn detect(digits: &[u8]) -> Brand {
        let prefix = |n: usize| -> Option<u32> {
            let p = digits.get(..n)?;
            p.iter().try_fold(0u32, |acc, &b| {
                b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
            })
        };
        let in_range =
            |n: usize, lo: u32, hi: u32| prefix(n).is_some_and(|p| (lo..=hi).contains(&p));
        if in_range(1, 4, 4) {
            Brand::Visa
        } else if in_range(2, 51, 55) || in_range(4, 2221, 2720) {
            Brand::Mastercard
        } else if in_range(2, 34, 34) || in_range(2, 37, 37) {
            Brand::Amex
        } else if in_range(4, 6011, 6011) || in_range(3, 644, 649) || in_range(2, 65, 65) {
            Brand::Discover
        } else if in_range(4, 3528, 3589) {
            Brand::Jcb
        } else if in_range(3, 300, 305)
            || in_range(4, 3095, 3095)
            || in_range(2, 36, 36)
            || in_range(2, 38, 39)
        {
            Brand::DinersClub
        } else if in_range(2, 62, 62) || in_range(2, 81, 81) {
            Brand::UnionPay
        } else {
            Brand::Unknown
        }
    }

    /// PAN lengths the brand issues.
    pub fn valid_length(self, len: usize) -> bool {
        match self {
            Brand::Visa => matches!(len, 13 | 16 | 19),
            Brand::Mastercard => len == 16,
            Brand::Amex => len == 15,
            Brand::Discover | Brand::Jcb | Brand::UnionPay => (16..=19).contains(&len),
            Brand::DinersClub => (14..=19).contains(&len),
            Brand::Unknown => (PAN_MIN..=PAN_MAX).contains(&len),
        }
    }

    /// Security code length: 4 digits (CID) on American Express, 3 elsewhere.
    pub fn cvc_len(self) -> usize {
        if self == Brand::Amex {
            4
        } else {
            3
        }
    }
}

impl fmt::Display for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Luhn (mod 10) check digit test of ISO/IEC 7812-1 Annex B over ASCII
/// digits. Non-digits make the number invalid.
pub fn luhn_valid(digits: &[u8]) -> bool {
    if digits.is_empty() {
        return false;
    }
    let mut sum = 0u32;
    for (i, &b) in digits.iter().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// The last four digits of a PAN: what PCI DSS Req. 3.4.1 lets us display and
/// keep, next to the brand.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LastFour([u8; 4]);

impl LastFour {
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// From four ASCII digits (e.g. a processor's `last4`).
    pub fn parse(s: &str) -> Option<LastFour> {
        let b: [u8; 4] = s.as_bytes().try_into().ok()?;
        b.iter().all(u8::is_ascii_digit).then_some(LastFour(b))
    }
}

impl fmt::Debug for LastFour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LastFour({})", self.as_str())
    }
}

impl fmt::Display for LastFour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for LastFour {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A validated primary account number (13–19 digits, Luhn-valid, a length its
/// brand issues). Zeroized on drop; `Debug` shows only brand and last four.
pub struct Pan {
    digits: DigitBuf<PAN_MAX>,
    brand: Brand,
}

impl Pan {
    /// Validate a keyed entry, taking its digits (the entry is left zeroed).
    pub fn from_entry(entry: &mut DigitBuf<PAN_MAX>) -> Result<Pan, CardError> {
        let len = entry.len();
        if !(PAN_MIN..=PAN_MAX).contains(&len) {
            return Err(CardError::PanLength { len });
        }
        if !luhn_valid(entry.expose_bytes()) {
            return Err(CardError::Luhn);
        }
        let brand = Brand::detect(entry.expose_bytes());
        if !brand.valid_length(len) {
            return Err(CardError::BrandLength { brand, len });
        }
        Ok(Pan {
            digits: entry.move_out(),
            brand,
        })
    }

    pub fn parse(s: &str) -> Result<Pan, CardError> {
        Pan::from_entry(&mut DigitBuf::from_digits(s)?)
    }

    pub fn brand(&self) -> Brand {
        self.brand
    }

    pub fn last_four(&self) -> LastFour {
        let d = self.digits.expose_bytes();
        // len >= PAN_MIN is an invariant of construction.
        let mut out = [b'0'; 4];
        out.copy_from_slice(&d[d.len().saturating_sub(4)..]);
        LastFour(out)
    }

    /// The full number, for a gateway adapter only.
    pub fn expose_str(&self) -> &str {
        self.digits.expose_str()
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Pan({} ending {})", self.brand, self.last_four())
    }
}

/// The current month, passed in by the caller: the core never reads a clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth {
    pub year: u16,
    pub month: u8,
}

impl YearMonth {
    fn index(self) -> u32 {
        u32::from(self.year) * 12 + u32::from(self.month) - 1
    }
}

/// Cards are issued for at most a few years; an expiry further out than this
/// is a keying mistake (MMYY swapped, say), not a card.
pub const EXPIRY_MAX_YEARS_AHEAD: u16 = 20;

/// A validated expiry. A card is valid through the last day of its expiry
/// month, so the current month itself is accepted. Zeroized on drop and
/// redacted in `Debug`: with the PAN, the expiry is cardholder data (PCI DSS
/// Req. 3).
pub struct Expiry {
    digits: DigitBuf<4>,
}

impl Expiry {
    /// Validate an MMYY entry against `today`, taking its digits.
    pub fn from_entry(entry: &mut DigitBuf<4>, today: YearMonth) -> Result<Expiry, CardError> {
        let d = entry.expose_bytes();
        if d.len() != 4 {
            return Err(CardError::ExpiryLength { len: d.len() });
        }
        let num = |a: u8, b: u8| u16::from(a - b'0') * 10 + u16::from(b - b'0');
        let month = num(d[0], d[1]);
        let yy = num(d[2], d[3]);
        if !(1..=12).contains(&month) {
            return Err(CardError::ExpiryMonth);
        }
        let year = (today.year / 100) * 100 + yy;
        // Two-digit years roll over at the century: "01" keyed in 2099 is 2101.
        let year = if year + 50 < today.year {
            year + 100
        } else {
            year
        };
        let exp = YearMonth {
            year,
            month: month as u8,
        };
        if exp < today {
            return Err(CardError::Expired);
        }
        if exp.index() > today.index() + u32::from(EXPIRY_MAX_YEARS_AHEAD) * 12 {
            return Err(CardError::ExpiryTooFar);
        }
        Ok(Expiry {
            digits: entry.move_out(),
        })
    }

    pub fn parse(mmyy: &str, today: YearMonth) -> Result<Expiry, CardError> {
        Expiry::from_entry(&mut DigitBuf::from_digits(mmyy)?, today)
    }

    /// `MM`, for a gateway adapter only.
    pub fn expose_month(&self) -> &str {
        self.digits.expose_str().get(..2).unwrap_or("")
    }

    /// `YY`, for a gateway adapter only.
    pub fn expose_year2(&self) -> &str {
        self.digits.expose_str().get(2..).unwrap_or("")
    }
}

/// A validated card security code (CVC/CVV/CID). Sensitive authentication
/// data: PCI DSS Req. 3.3.1.2 forbids keeping it after authorisation, so it is
/// zeroized on drop and never printed.
pub struct Cvc {
    digits: DigitBuf<4>,
}

impl Cvc {
    /// Validate against the brand's code length, taking the entry's digits.
    pub fn from_entry(entry: &mut DigitBuf<4>, brand: Brand) -> Result<Cvc, CardError> {
        let expected = brand.cvc_len();
        if entry.len() != expected {
            return Err(CardError::CvcLength {
                expected,
                len: entry.len(),
            });
        }
        Ok(Cvc {
            digits: entry.move_out(),
        })
    }

    pub fn parse(s: &str, brand: Brand) -> Result<Cvc, CardError> {
        Cvc::from_entry(&mut DigitBuf::from_digits(s)?, brand)
    }

    pub fn expose_str(&self) -> &str {
        self.digits.expose_str()
    }
}

/// How long a keyed postal code may be (digits only: it comes from a keypad).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostalRule {
    pub min_len: usize,
    pub max_len: usize,
}

impl Default for PostalRule {
    /// Five digits: US ZIP, and the codes of Pakistan, France, Morocco, Saudi Arabia.
    fn default() -> Self {
        Self {
            min_len: 5,
            max_len: 5,
        }
    }
}

/// A validated postal code, for address verification (AVS). Not card data
/// under PCI DSS, but personal data, so it gets the same zeroizing treatment.
pub struct PostalCode {
    digits: DigitBuf<POSTAL_MAX>,
}

impl PostalCode {
    pub fn from_entry(
        entry: &mut DigitBuf<POSTAL_MAX>,
        rule: PostalRule,
    ) -> Result<PostalCode, CardError> {
        let len = entry.len();
        if len < rule.min_len || len > rule.max_len {
            return Err(CardError::PostalLength {
                min: rule.min_len,
                max: rule.max_len,
                len,
            });
        }
        Ok(PostalCode {
            digits: entry.move_out(),
        })
    }

    pub fn parse(s: &str, rule: PostalRule) -> Result<PostalCode, CardError> {
        PostalCode::from_entry(&mut DigitBuf::from_digits(s)?, rule)
    }

    pub fn expose_str(&self) -> &str {
        self.digits.expose_str()
    }
}

/// `Debug` that names the type and nothing else: these hold card data.
macro_rules! redacted_debug {
    ($($t:ident),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), "(<redacted>)"))
            }
        }
    )*};
}

redacted_debug!(Expiry, Cvc, PostalCode);

/// Everything a gateway needs to tokenize a card. Not `Clone` (no stray
/// copies); each part zeroizes itself when this is dropped.
pub struct CardDetails {
    pub pan: Pan,
    pub expiry: Expiry,
    pub cvc: Cvc,
    pub postal: Option<PostalCode>,
}

impl CardDetails {
    pub fn brand(&self) -> Brand {
        self.pan.brand()
    }

    pub fn last_four(&self) -> LastFour {
        self.pan.last_four()
    }
}

impl fmt::Debug for CardDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CardDetails({} ending {}, expiry/cvc/postal redacted)",
            self.brand(),
            self.last_four()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: YearMonth = YearMonth {
        year: 2026,
        month: 11,
    };

    #[test]
    fn luhn_accepts_valid_and_rejects_one_digit_off() {
        assert!(luhn_valid(b"4242424242424242"));
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"4242424242424241"));
        assert!(!luhn_valid(b"79927398710"));
        assert!(!luhn_valid(b""));
        assert!(!luhn_valid(b"42424242x4242424"));
        assert_eq!(Pan::parse("4242424242424241").err(), Some(CardError::Luhn));
    }

    #[test]
    fn brands_are_detected_from_iin_ranges() {
        let cases = [
            ("4242424242424242", Brand::Visa),
            ("4222222222222", Brand::Visa),
            ("5555555555554444", Brand::Mastercard),
            ("2223003122003222", Brand::Mastercard),
            ("2720990000000007", Brand::Mastercard),
            ("378282246310005", Brand::Amex),
            ("371449635398431", Brand::Amex),
            ("6011111111111117", Brand::Discover),
            ("6445644564456445", Brand::Discover),
            ("30569309025904", Brand::DinersClub),
            ("36227206271667", Brand::DinersClub),
            ("3566002020360505", Brand::Jcb),
            ("6200000000000005", Brand::UnionPay),
        ];
        for (pan, brand) in cases {
            let p = Pan::parse(pan).unwrap_or_else(|e| panic!("{brand}: {e}"));
            assert_eq!(p.brand(), brand, "{brand}");
        }
        // Just outside the Mastercard 2-series and the JCB range.
        assert_ne!(Brand::detect(b"2220"), Brand::Mastercard);
        assert_ne!(Brand::detect(b"2721"), Brand::Mastercard);
        assert_ne!(Brand::detect(b"3527"), Brand::Jcb);
        assert_eq!(Brand::detect(b"9999"), Brand::Unknown);
    }

    #[test]
    fn pan_length_bounds() {
        // 12 digits, Luhn-valid: too short.
        assert_eq!(
            Pan::parse("424242424242").err(),
            Some(CardError::PanLength { len: 12 })
        );
        // 19-digit Visa is fine; a 20th digit cannot even be keyed.
        assert!(Pan::parse("4000000000000000006").is_ok());
        let mut b = DigitBuf::<PAN_MAX>::from_digits("4000000000000000006").unwrap();
        assert_eq!(b.push('1'), Err(CardError::TooManyDigits { max: 19 }));
        // A 15-digit Luhn-valid Visa prefix: no such Visa length.
        assert_eq!(
            Pan::parse("400000000000006").err(),
            Some(CardError::BrandLength {
                brand: Brand::Visa,
                len: 15
            })
        );
        assert_eq!(
            DigitBuf::<4>::from_digits("12a").err(),
            Some(CardError::NotADigit)
        );
    }

    #[test]
    fn last_four_is_kept() {
        let p = Pan::parse("4000000000009995").unwrap();
        assert_eq!(p.last_four().as_str(), "9995");
        assert_eq!(LastFour::parse("12a4"), None);
    }

    #[test]
    fn expiry_boundaries() {
        // This month is still valid; last month is not.
        assert!(Expiry::parse("1126", TODAY).is_ok());
        assert_eq!(Expiry::parse("1026", TODAY).err(), Some(CardError::Expired));
        assert_eq!(Expiry::parse("1225", TODAY).err(), Some(CardError::Expired));
        assert!(Expiry::parse("0127", TODAY).is_ok());
        assert!(Expiry::parse("1146", TODAY).is_ok());
        assert_eq!(
            Expiry::parse("1246", TODAY).err(),
            Some(CardError::ExpiryTooFar)
        );
        assert_eq!(
            Expiry::parse("0028", TODAY).err(),
            Some(CardError::ExpiryMonth)
        );
        assert_eq!(
            Expiry::parse("1328", TODAY).err(),
            Some(CardError::ExpiryMonth)
        );
        assert_eq!(
            Expiry::parse("128", TODAY).err(),
            Some(CardError::ExpiryLength { len: 3 })
        );
        // Century roll-over: in Dec 2099, "0101" is January 2101.
        let late = YearMonth {
            year: 2099,
            month: 12,
        };
        assert!(Expiry::parse("0101", late).is_ok());
        let e = Expiry::parse("0731", TODAY).unwrap();
        assert_eq!((e.expose_month(), e.expose_year2()), ("07", "31"));
    }

    #[test]
    fn cvc_is_three_digits_or_four_for_amex() {
        assert!(Cvc::parse("123", Brand::Visa).is_ok());
        assert_eq!(
            Cvc::parse("1234", Brand::Visa).err(),
            Some(CardError::CvcLength {
                expected: 3,
                len: 4
            })
        );
        assert!(Cvc::parse("1234", Brand::Amex).is_ok());
        assert_eq!(
            Cvc::parse("123", Brand::Amex).err(),
            Some(CardError::CvcLength {
                expected: 4,
                len: 3
            })
        );
    }

    #[test]
    fn postal_length_is_configurable() {
        assert!(PostalCode::parse("54000", PostalRule::default()).is_ok());
        assert!(PostalCode::parse("5400", PostalRule::default()).is_err());
        let uk_ish = PostalRule {
            min_len: 4,
            max_len: 7,
        };
        assert!(PostalCode::parse("5400", uk_ish).is_ok());
        assert!(PostalCode::parse("1234567", uk_ish).is_ok());
        assert_eq!(
            PostalCode::parse("12345678", uk_ish).err(),
            Some(CardError::PostalLength {
                min: 4,
                max: 7,
                len: 8
            })
        );
    }

    #[test]
    fn taking_an_entry_zeroes_it() {
        let mut entry = DigitBuf::<PAN_MAX>::from_digits("4242424242424242").unwrap();
        let pan = Pan::from_entry(&mut entry).unwrap();
        assert_eq!(entry.raw(), &[0u8; PAN_MAX]);
        assert!(entry.is_empty());
        assert_eq!(pan.expose_str(), "4242424242424242");
    }

    #[test]
    fn zeroize_clears_the_whole_buffer() {
        let mut b = DigitBuf::<PAN_MAX>::from_digits("4242424242424242").unwrap();
        assert_ne!(b.raw(), &[0u8; PAN_MAX]);
        b.zeroize();
        assert_eq!(b.raw(), &[0u8; PAN_MAX]);
        assert_eq!(b.len(), 0);
    }
}
