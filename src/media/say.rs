//! Reading numbers and money aloud as a list of prompt names.
//!
//! # Prompt scheme (per locale directory `prompts/<locale>/`)
//! - `0` … `99`: every number below one hundred, spoken whole by
//!   espeak-ng in that language. This sidesteps the irregular parts of each
//!   language at once: French 70/80/90 (`soixante-dix`, `quatre-vingts`,
//!   `quatre-vingt-dix`, `et un`), Arabic unit-before-ten order
//!   (`خمسة وعشرون`), and Urdu, where all of 0–99 are distinct words.
//! - Scale words: `hundred`, `thousand`, `lakh`, `crore` (en/ur), `million`,
//!   `billion`; French adds `millions`, `billions`; Arabic has no
//!   `hundred` but `100` … `900` (`مئة`, `مئتان`, `ثلاثمئة` …) and dual /
//!   plural scale forms `thousand_two` (`ألفان`), `thousands` (`آلاف`), …
//! - `and`: joins major and minor units in every locale and, in Arabic,
//!   every group (`ألفان وأربعمئة وخمسون`).
//! - Currency words `<code>` (the form after most numbers) and `<code>_one`,
//!   and the same with `_minor`; Arabic adds `_two` (dual, said *instead
//!   of* the number) and `_few` (plural after 3–10). Arabic `_one` is the
//!   noun followed by "one" (`ريال واحد`), also said instead of the number.
//!
//! Grouping: PKR and INR amounts read in English use lakh/crore, as
//! Pakistani and Indian English speakers do; Urdu always does; all other
//! cases use thousand/million/billion.
//!
//! Known simplifications: French gender (`une roupie`) and the
//! `d'euros` after exact millions are not modelled; Arabic case endings
//! are pausal (no tanween), as in ordinary spoken announcements.

use crate::money::{Money, MoneyError};
use std::fmt;
use std::str::FromStr;

/// A prompt file stem inside `prompts/<locale>/`.
pub type PromptName = String;

/// Locales we have number grammar for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Locale {
    En,
    Fr,
    Ar,
    Ur,
}

impl Locale {
    pub const ALL: [Locale; 4] = [Locale::En, Locale::Fr, Locale::Ar, Locale::Ur];

    /// Directory name under `prompts/`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Fr => "fr",
            Locale::Ar => "ar",
            Locale::Ur => "ur",
        }
    }
}

impl FromStr for Locale {
    type Err = SayError;
    /// Accepts `fr`, `fr-FR`, `ur_PK`, case-insensitively.
    fn from_str(s: &str) -> Result<Self, SayError> {
        let lang = s
            .split(['-', '_'])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        match lang.as_str() {
            "en" => Ok(Locale::En),
            "fr" => Ok(Locale::Fr),
            "ar" => Ok(Locale::Ar),
            "ur" => Ok(Locale::Ur),
            _ => Err(SayError::UnknownLocale(s.to_owned())),
        }
    }
}

/// Currencies with spoken names (ISO 4217; all have two minor digits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Pkr,
    Inr,
    Usd,
    Eur,
    Mad,
    Aed,
    Sar,
}

impl Currency {
    pub const ALL: [Currency; 7] = [
        Currency::Pkr,
        Currency::Inr,
        Currency::Usd,
        Currency::Eur,
        Currency::Mad,
        Currency::Aed,
        Currency::Sar,
    ];

    /// Lower-case ISO code, the stem of its prompt names.
    pub fn code(self) -> &'static str {
        match self {
            Currency::Pkr => "pkr",
            Currency::Inr => "inr",
            Currency::Usd => "usd",
            Currency::Eur => "eur",
            Currency::Mad => "mad",
            Currency::Aed => "aed",
            Currency::Sar => "sar",
        }
    }

    /// Decimal digits of the minor unit (ISO 4217): 2 for all of these.
    pub fn minor_digits(self) -> u32 {
        2
    }

    fn south_asian(self) -> bool {
        matches!(self, Currency::Pkr | Currency::Inr)
    }
}

impl FromStr for Currency {
    type Err = SayError;
    fn from_str(s: &str) -> Result<Self, SayError> {
        let up = s.trim().to_ascii_uppercase();
        Currency::ALL
            .into_iter()
            .find(|c| c.code().eq_ignore_ascii_case(&up))
            .ok_or_else(|| SayError::UnknownCurrency(s.to_owned()))
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.code().to_ascii_uppercase())
    }
}

/// Errors from reading an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SayError {
    #[error("amount {0:?} is not a non-negative decimal with at most the currency's decimals")]
    BadAmount(String),
    #[error("currency {0:?} has no spoken prompts")]
    UnknownCurrency(String),
    #[error("locale {0:?} has no number grammar (have en, fr, ar, ur)")]
    UnknownLocale(String),
    #[error("amount too large to read aloud (limit {MAX} major units)")]
    TooLarge,
}

/// Largest number we read (just under a trillion).
pub const MAX: u64 = 999_999_999_999;

/// `amount_str("ur", "2450.50", "PKR")` → prompt names, the string form used
/// by the API (`amount`, `currency`, `locale` of an order). The text is
/// parsed as [`Money`] in the currency (upper or lower case): exact, at the
/// currency's ISO 4217 scale.
pub fn amount_str(locale: &str, amount: &str, currency: &str) -> Result<Vec<PromptName>, SayError> {
    let code = currency.trim().to_ascii_uppercase();
    let cur = crate::money::Currency::parse(&code)
        .map_err(|_| SayError::UnknownCurrency(currency.to_owned()))?;
    let money = Money::parse(amount.trim(), cur).map_err(|e| match e {
        MoneyError::TooLarge(_) => SayError::TooLarge,
        _ => SayError::BadAmount(amount.to_owned()),
    })?;
    self::money(locale, money)
}

/// Prompt names for an amount of [`Money`] in a locale (`"en"`, `"ur"`, …).
pub fn money(locale: &str, money: Money) -> Result<Vec<PromptName>, SayError> {
    let loc: Locale = locale.parse()?;
    let currency = money.currency();
    let cur: Currency = currency.code().parse()?;
    if currency.scale() != cur.minor_digits() {
        return Err(SayError::UnknownCurrency(currency.code().to_owned()));
    }
    self::amount(loc, money.minor(), cur)
}

/// Prompt names for an amount given in minor units (paisa, cents, …):
/// `amount(En, 245_050, Pkr)` → `2 thousand 4 hundred 50 pkr and 50 pkr_minor`.
pub fn amount(locale: Locale, minor: u64, currency: Currency) -> Result<Vec<PromptName>, SayError> {
    let scale = 10u64.pow(currency.minor_digits());
    let (major, sub) = (minor / scale, minor % scale);
    if major > MAX {
        return Err(SayError::TooLarge);
    }
    let indian = locale == Locale::Ur || (locale == Locale::En && currency.south_asian());
    let mut out = Vec::new();
    if major > 0 || sub == 0 {
        counted(&mut out, locale, major, currency.code(), indian);
    }
    if sub > 0 {
        if major > 0 {
            out.push("and".into());
        }
        counted(
            &mut out,
            locale,
            sub,
            &format!("{}_minor", currency.code()),
            indian,
        );
    }
    Ok(out)
}

/// A number followed by the right form of a counted noun (`stem`).
fn counted(out: &mut Vec<PromptName>, locale: Locale, n: u64, stem: &str, indian: bool) {
    match locale {
        Locale::Ar => match n {
            1 => out.push(format!("{stem}_one")),
            2 => out.push(format!("{stem}_two")),
            _ => {
                number_into(out, locale, n, indian);
                let form = if (3..=10).contains(&(n % 100)) {
                    "_few"
                } else {
                    ""
                };
                out.push(format!("{stem}{form}"));
            }
        },
        Locale::Fr => {
            number_into(out, locale, n, indian);
            out.push(if n <= 1 {
                format!("{stem}_one")
            } else {
                stem.to_owned()
            });
        }
        Locale::En | Locale::Ur => {
            number_into(out, locale, n, indian);
            out.push(if n == 1 {
                format!("{stem}_one")
            } else {
                stem.to_owned()
            });
        }
    }
}

/// Prompt names for a plain number (order numbers, quantities). Uses
/// lakh/crore for Urdu, thousand/million otherwise.
pub fn number(locale: Locale, n: u64) -> Vec<PromptName> {
    let mut out = Vec::new();
    number_into(&mut out, locale, n.min(MAX), locale == Locale::Ur);
    out
}

fn number_into(out: &mut Vec<PromptName>, locale: Locale, n: u64, indian: bool) {
    if n < 100 {
        out.push(n.to_string());
        return;
    }
    let scales: &[(u64, &str)] = if indian {
        &[(10_000_000, "crore"), (100_000, "lakh"), (1000, "thousand")]
    } else {
        &[
            (1_000_000_000, "billion"),
            (1_000_000, "million"),
            (1000, "thousand"),
        ]
    };
    let mut rest = n;
    let mut first = true;
    for &(size, word) in scales {
        let count = rest / size;
        rest %= size;
        if count == 0 {
            continue;
        }
        if locale == Locale::Ar && !first {
            out.push("and".into());
        }
        first = false;
        scale_group(out, locale, count, word, indian);
    }
    if rest > 0 {
        if locale == Locale::Ar && !first {
            out.push("and".into());
        }
        below_thousand(out, locale, rest);
    }
}

/// `count` × a scale word, with each language's agreement rules.
fn scale_group(out: &mut Vec<PromptName>, locale: Locale, count: u64, word: &str, indian: bool) {
    match locale {
        Locale::En | Locale::Ur => {
            number_into(out, locale, count, indian);
            out.push(word.into());
        }
        // "mille", never "un mille"; "deux mille" (invariable);
        // "un million", "deux millions".
        Locale::Fr => {
            if word == "thousand" {
                if count > 1 {
                    number_into(out, locale, count, indian);
                }
                out.push(word.into());
            } else {
                number_into(out, locale, count, indian);
                out.push(if count > 1 {
                    format!("{word}s")
                } else {
                    word.into()
                });
            }
        }
        // ألف / ألفان / ثلاثة آلاف / أحد عشر ألفا
        Locale::Ar => match count {
            1 => out.push(word.into()),
            2 => out.push(format!("{word}_two")),
            3..=10 => {
                number_into(out, locale, count, indian);
                out.push(format!("{word}s"));
            }
            _ => {
                number_into(out, locale, count, indian);
                out.push(word.into());
            }
        },
    }
}

fn below_thousand(out: &mut Vec<PromptName>, locale: Locale, n: u64) {
    let (h, r) = (n / 100, n % 100);
    if h > 0 {
        match locale {
            Locale::Ar => out.push((h * 100).to_string()),
            // "cent", not "un cent"
            Locale::Fr if h == 1 => out.push("hundred".into()),
            _ => {
                out.push(h.to_string());
                out.push("hundred".into());
            }
        }
    }
    if r > 0 || h == 0 {
        if locale == Locale::Ar && h > 0 {
            out.push("and".into());
        }
        out.push(r.to_string());
    }
}

/// Every prompt name [`amount`] and [`number`] can produce for `locale`,
/// for the generator and the inventory test.
pub fn vocabulary(locale: Locale) -> Vec<PromptName> {
    let mut v: Vec<PromptName> = (0..100).map(|n| n.to_string()).collect();
    let mut words = vec!["and", "thousand", "million", "billion"];
    match locale {
        Locale::En => words.extend(["hundred", "lakh", "crore"]),
        Locale::Ur => words.extend(["hundred", "lakh", "crore"]),
        Locale::Fr => words.extend(["hundred", "millions", "billions"]),
        Locale::Ar => {
            words.extend(["thousand_two", "thousands", "million_two", "millions"]);
            words.extend(["billion_two", "billions"]);
            v.extend((1..10).map(|h| (h * 100).to_string()));
        }
    }
    v.extend(words.into_iter().map(String::from));
    for c in Currency::ALL {
        for stem in [c.code().to_owned(), format!("{}_minor", c.code())] {
            v.push(format!("{stem}_one"));
            v.push(stem.clone());
            if locale == Locale::Ar {
                v.push(format!("{stem}_two"));
                v.push(format!("{stem}_few"));
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(locale: &str, amount: &str, cur: &str) -> String {
        amount_str(locale, amount, cur).unwrap().join(" ")
    }

    #[test]
    fn english() {
        assert_eq!(names("en", "2450", "USD"), "2 thousand 4 hundred 50 usd");
        assert_eq!(names("en", "1", "EUR"), "1 eur_one");
        assert_eq!(names("en", "0", "EUR"), "0 eur");
        assert_eq!(names("en", "0.50", "USD"), "50 usd_minor");
        assert_eq!(names("en", "0.01", "USD"), "1 usd_minor_one");
        assert_eq!(
            names("en", "1999.5", "MAD"),
            "1 thousand 9 hundred 99 mad and 50 mad_minor"
        );
        assert_eq!(names("en", "1000000", "AED"), "1 million aed");
        assert_eq!(names("en", "2001", "SAR"), "2 thousand 1 sar");
    }

    #[test]
    fn english_south_asian_grouping() {
        assert_eq!(names("en", "245000", "PKR"), "2 lakh 45 thousand pkr");
        assert_eq!(
            names("en", "12345678.90", "INR"),
            "1 crore 23 lakh 45 thousand 6 hundred 78 inr and 90 inr_minor"
        );
        assert_eq!(names("en", "245000", "USD"), "2 hundred 45 thousand usd");
    }

    #[test]
    fn french() {
        assert_eq!(names("fr", "2450", "EUR"), "2 thousand 4 hundred 50 eur");
        assert_eq!(names("fr", "1000", "EUR"), "thousand eur");
        assert_eq!(names("fr", "180", "MAD"), "hundred 80 mad");
        assert_eq!(names("fr", "1", "EUR"), "1 eur_one");
        assert_eq!(names("fr", "0", "EUR"), "0 eur_one");
        assert_eq!(names("fr", "1000000", "EUR"), "1 million eur");
        assert_eq!(names("fr", "3000000", "EUR"), "3 millions eur");
        assert_eq!(names("fr", "71.99", "EUR"), "71 eur and 99 eur_minor");
    }

    #[test]
    fn arabic() {
        assert_eq!(
            names("ar", "2450", "SAR"),
            "thousand_two and 400 and 50 sar"
        );
        assert_eq!(names("ar", "1", "SAR"), "sar_one");
        assert_eq!(names("ar", "2", "SAR"), "sar_two");
        assert_eq!(names("ar", "5", "AED"), "5 aed_few");
        assert_eq!(names("ar", "25", "AED"), "25 aed");
        assert_eq!(names("ar", "3000", "MAD"), "3 thousands mad");
        assert_eq!(names("ar", "11000", "MAD"), "11 thousand mad");
        assert_eq!(
            names("ar", "1100.02", "SAR"),
            "thousand and 100 sar and sar_minor_two"
        );
        assert_eq!(names("ar", "103", "SAR"), "100 and 3 sar_few");
    }

    #[test]
    fn urdu() {
        assert_eq!(names("ur", "2450", "PKR"), "2 thousand 4 hundred 50 pkr");
        assert_eq!(
            names("ur", "245000.50", "PKR"),
            "2 lakh 45 thousand pkr and 50 pkr_minor"
        );
        assert_eq!(names("ur", "1", "PKR"), "1 pkr_one");
        assert_eq!(names("ur-PK", "300000000", "INR"), "30 crore inr");
    }

    #[test]
    fn bad_input() {
        assert!(matches!(
            amount_str("de", "1", "EUR"),
            Err(SayError::UnknownLocale(_))
        ));
        assert!(matches!(
            amount_str("en", "1", "XXX"),
            Err(SayError::UnknownCurrency(_))
        ));
        for bad in ["", "-1", "1.234", "1,5", "abc", ".5", "1e3"] {
            assert!(
                matches!(amount_str("en", bad, "USD"), Err(SayError::BadAmount(_))),
                "{bad}"
            );
        }
        assert_eq!(
            amount_str("en", "1000000000000", "USD"),
            Err(SayError::TooLarge)
        );
        assert_eq!(
            amount_str("en", "12.5", "pkr"),
            amount(Locale::En, 1250, Currency::Pkr)
        );
        // A currency whose scale is not the spoken one's is not read out.
        let jpy = crate::money::Currency::parse("JPY").expect("JPY");
        assert!(matches!(
            money("en", Money::from_minor(5, jpy)),
            Err(SayError::UnknownCurrency(_))
        ));
    }

    /// Every name produced for every locale, currency and a sweep of
    /// amounts is in the vocabulary the generator renders.
    #[test]
    fn output_stays_inside_vocabulary() {
        for loc in Locale::ALL {
            let vocab: std::collections::HashSet<_> = vocabulary(loc).into_iter().collect();
            for cur in Currency::ALL {
                let mut n: u64 = 0;
                while n < MAX * 100 {
                    for name in amount(loc, n, cur).unwrap() {
                        assert!(vocab.contains(&name), "{loc:?} {cur} {n}: {name}");
                    }
                    n = n * 3 + 1 + (n % 7);
                }
            }
            for n in [0, 7, 100, 101, 999, 1000, 2002, 99_999_999, MAX] {
                for name in number(loc, n) {
                    assert!(vocab.contains(&name), "{loc:?} {n}: {name}");
                }
            }
        }
    }
}
