//! Reading numbers and money aloud as a list of prompt names.
//!
//! # Prompt scheme (per locale directory `prompts/<locale>/`)
//! - `0` … `99`: every number below one hundred, spoken whole by
//!   espeak-ng in that language (the neural voice in English). This sidesteps
//!   the irregular parts of each language at once: French 70/80/90
//!   (`soixante-dix`, `quatre-vingts`, `quatre-vingt-onze`, `et un`), Arabic
//!   unit-before-ten order (`خمسة وعشرون`), and Urdu, where all of 1–99 are
//!   distinct words (`سینتیس` 37, `تہتر` 73, `ننانوے` 99).
//! - Feminine forms `f1` … `f99` where they differ, said before a feminine
//!   currency noun ([`Currency::feminine`]): Arabic 1–19 and every unit of
//!   21–99 (`ثلاث روبيات`, `إحدى عشرة روبية`, `خمس وعشرون روبية` — Arabic
//!   numbers 3–10 take the opposite gender of the noun), French `une`,
//!   `vingt et une` … `quatre-vingt-une` (`71`, `91` do not change).
//! - Scale words: `hundred`, `thousand`, `lakh`, `crore` (en/ur), `million`,
//!   `billion`; French adds `millions`, `billions`; Arabic has no
//!   `hundred` but `100` … `900` (`مئة`, `مئتان`, `ثلاثمئة` …) and dual /
//!   plural scale forms `thousand_two` (`ألفان`), `thousands` (`آلاف`), …
//! - `and`: joins major and minor units in every locale and, in Arabic,
//!   every group (`ألفان وأربعمئة وخمسون`).
//! - Currency words `<code>` (the form after most numbers) and `<code>_one`,
//!   and the same with `_minor` for currencies with a minor unit; Arabic adds
//!   `_two` (dual, said *instead of* the number) and `_few` (plural after
//!   3–10); Arabic `_one` is the noun followed by "one" (`ريال واحد`), also
//!   said instead of the number. French adds `<code>_of` after a round
//!   million or milliard (`trois millions d'euros`).
//!
//! The minor unit follows the currency's ISO 4217 scale from
//! [`crate::money`]: PKR 2 (`rupees and 50 paisa`), KWD/OMR/TND 3 (1000
//! fils, baisa, millimes to the unit), XOF 0 (no minor unit is said).
//!
//! Grouping: PKR and INR amounts read in English use lakh/crore, as
//! Pakistani and Indian English speakers do; Urdu always does; all other
//! cases use thousand/million/billion.
//!
//! Known simplifications: French `cents`/`quatre-vingts` plural `s` (silent
//! but for liaison) is not modelled; Arabic case endings are pausal (no
//! tanween), as in ordinary spoken announcements; item quantities use the
//! masculine forms (the product noun's gender is not known); a compound
//! Arabic amount ending in 1 or 2 (`101`) says the number, not the noun
//! repeated.

mod grammar;
#[cfg(test)]
mod tests;

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

/// Currencies with spoken names (ISO 4217). Their minor-unit scale is
/// ISO's, read from [`crate::money::Currency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Currency {
    Pkr,
    Inr,
    Usd,
    Eur,
    Mad,
    Aed,
    Sar,
    /// Kuwaiti dinar: 1000 fils.
    Kwd,
    /// Omani rial: 1000 baisa.
    Omr,
    /// Tunisian dinar: 1000 millimes.
    Tnd,
    /// West African CFA franc: no minor unit.
    Xof,
}

impl Currency {
    pub const ALL: [Currency; 11] = [
        Currency::Pkr,
        Currency::Inr,
        Currency::Usd,
        Currency::Eur,
        Currency::Mad,
        Currency::Aed,
        Currency::Sar,
        Currency::Kwd,
        Currency::Omr,
        Currency::Tnd,
        Currency::Xof,
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
            Currency::Kwd => "kwd",
            Currency::Omr => "omr",
            Currency::Tnd => "tnd",
            Currency::Xof => "xof",
        }
    }

    /// Decimal digits of the minor unit: ISO 4217's, from the money type.
    pub fn minor_digits(self) -> u32 {
        crate::money::Currency::parse(&self.code().to_ascii_uppercase())
            .map(crate::money::Currency::scale)
            .unwrap_or(2)
    }

    /// Whether `stem` (`<code>` or `<code>_minor`) is a feminine noun in
    /// `locale`: Arabic روبية, بيسة, هللة; French roupie.
    pub fn feminine(self, locale: Locale, minor: bool) -> bool {
        matches!(
            (locale, self, minor),
            (Locale::Ar, Currency::Pkr | Currency::Inr, _)
                | (Locale::Ar, Currency::Sar | Currency::Omr, true)
                | (Locale::Fr, Currency::Pkr | Currency::Inr, false)
        )
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
    spell(loc, money.minor(), currency.scale(), cur)
}

/// Prompt names for an amount given in minor units (paisa, cents, fils)
/// at the currency's ISO 4217 scale:
/// `amount(En, 245_050, Pkr)` → `2 thousand 4 hundred 50 pkr and 50 pkr_minor`.
pub fn amount(locale: Locale, minor: u64, currency: Currency) -> Result<Vec<PromptName>, SayError> {
    spell(locale, minor, currency.minor_digits(), currency)
}

fn spell(
    locale: Locale,
    minor: u64,
    scale: u32,
    currency: Currency,
) -> Result<Vec<PromptName>, SayError> {
    let per = 10u64.pow(scale);
    let (major, sub) = (minor / per, minor % per);
    if major > MAX {
        return Err(SayError::TooLarge);
    }
    let indian = locale == Locale::Ur || (locale == Locale::En && currency.south_asian());
    let mut out = Vec::new();
    if major > 0 || sub == 0 {
        let noun = grammar::Noun {
            stem: currency.code().to_owned(),
            feminine: currency.feminine(locale, false),
        };
        grammar::counted(&mut out, locale, major, &noun, indian);
    }
    if sub > 0 {
        if major > 0 {
            out.push("and".into());
        }
        let noun = grammar::Noun {
            stem: format!("{}_minor", currency.code()),
            feminine: currency.feminine(locale, true),
        };
        grammar::counted(&mut out, locale, sub, &noun, indian);
    }
    Ok(out)
}

/// Prompt names for a plain number (order numbers, quantities), in the
/// masculine forms. Uses lakh/crore for Urdu, thousand/million otherwise.
pub fn number(locale: Locale, n: u64) -> Vec<PromptName> {
    let mut out = Vec::new();
    grammar::number_into(&mut out, locale, n.min(MAX), locale == Locale::Ur, false);
    out
}

/// Every prompt name [`amount`] and [`number`] can produce for `locale`,
/// for the generator and the inventory test.
pub fn vocabulary(locale: Locale) -> Vec<PromptName> {
    let mut v: Vec<PromptName> = (0..100).map(|n| n.to_string()).collect();
    v.extend(grammar::feminine_forms(locale).map(|n| format!("f{n}")));
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
        let mut stems = vec![c.code().to_owned()];
        if c.minor_digits() > 0 {
            stems.push(format!("{}_minor", c.code()));
        }
        for stem in stems {
            v.push(format!("{stem}_one"));
            v.push(stem.clone());
            if locale == Locale::Ar {
                v.push(format!("{stem}_two"));
                v.push(format!("{stem}_few"));
            }
        }
        if locale == Locale::Fr {
            v.push(format!("{}_of", c.code()));
        }
    }
    v
}
