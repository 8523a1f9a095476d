//! Tables of expected prompt sequences per locale.

use super::*;

fn names(locale: &str, amount: &str, cur: &str) -> String {
    amount_str(locale, amount, cur).unwrap().join(" ")
}

/// `(amount, currency, expected prompt names)` for one locale.
type Table = [(&'static str, &'static str, &'static str)];

fn check(locale: &str, table: &Table) {
    for (amount, cur, want) in table {
        assert_eq!(names(locale, amount, cur), *want, "{locale} {amount} {cur}");
    }
}

#[test]
fn english() {
    check(
        "en",
        &[
            ("2450", "USD", "2 thousand 4 hundred 50 usd"),
            ("1", "EUR", "1 eur_one"),
            ("0", "EUR", "0 eur"),
            ("0.50", "USD", "50 usd_minor"),
            ("0.01", "USD", "1 usd_minor_one"),
            (
                "1999.5",
                "MAD",
                "1 thousand 9 hundred 99 mad and 50 mad_minor",
            ),
            ("1000000", "AED", "1 million aed"),
            ("2001", "SAR", "2 thousand 1 sar"),
            // two thousand four hundred fifty rupees and fifty paisa
            (
                "2450.50",
                "PKR",
                "2 thousand 4 hundred 50 pkr and 50 pkr_minor",
            ),
            // ISO 4217 scale 3: a thousand fils to the dinar
            ("12.345", "KWD", "12 kwd and 3 hundred 45 kwd_minor"),
            ("1.001", "OMR", "1 omr_one and 1 omr_minor_one"),
            ("0.5", "TND", "5 hundred tnd_minor"),
            // scale 0: no minor unit to say
            ("2450", "XOF", "2 thousand 4 hundred 50 xof"),
        ],
    );
}

#[test]
fn english_south_asian_grouping() {
    check(
        "en",
        &[
            ("245000", "PKR", "2 lakh 45 thousand pkr"),
            (
                "12345678.90",
                "INR",
                "1 crore 23 lakh 45 thousand 6 hundred 78 inr and 90 inr_minor",
            ),
            ("245000", "USD", "2 hundred 45 thousand usd"),
        ],
    );
}

/// soixante-dix, quatre-vingt-onze are whole prompts; une roupie, vingt et
/// une roupies (roupie is feminine; 71 and 91 end in onze and do not
/// change); "mille", "cent" without "un"; "trois millions d'euros".
#[test]
fn french() {
    check(
        "fr",
        &[
            ("2450", "EUR", "2 thousand 4 hundred 50 eur"),
            ("1000", "EUR", "thousand eur"),
            ("180", "MAD", "hundred 80 mad"),
            ("1", "EUR", "1 eur_one"),
            ("0", "EUR", "0 eur_one"),
            ("70", "EUR", "70 eur"),
            ("91", "EUR", "91 eur"),
            ("1", "PKR", "f1 pkr_one"),
            ("21", "PKR", "f21 pkr"),
            ("71", "PKR", "71 pkr"),
            ("81", "INR", "f81 inr"),
            ("91", "PKR", "91 pkr"),
            ("201", "PKR", "2 hundred f1 pkr"),
            ("21000", "PKR", "21 thousand pkr"),
            ("1000000", "EUR", "1 million eur_of"),
            ("3000000", "MAD", "3 millions mad_of"),
            ("2000001", "EUR", "2 millions 1 eur"),
            ("71.99", "EUR", "71 eur and 99 eur_minor"),
            ("12.250", "TND", "12 tnd and 2 hundred 50 tnd_minor"),
            ("1500", "XOF", "thousand 5 hundred xof"),
        ],
    );
}

/// The dual instead of the number, the plural after 3–10, the singular
/// after 11–99; 3–10 take the opposite gender of the noun: ثلاثة ريالات
/// but ثلاث روبيات, خمس هللات; the counts of ألف stay masculine-noun forms.
#[test]
fn arabic() {
    check(
        "ar",
        &[
            ("2450", "SAR", "thousand_two and 400 and 50 sar"),
            ("1", "SAR", "sar_one"),
            ("2", "SAR", "sar_two"),
            ("3", "SAR", "3 sar_few"),
            ("5", "AED", "5 aed_few"),
            ("25", "AED", "25 aed"),
            ("3000", "MAD", "3 thousands mad"),
            ("11000", "MAD", "11 thousand mad"),
            ("1100.02", "SAR", "thousand and 100 sar and sar_minor_two"),
            ("103", "SAR", "100 and 3 sar_few"),
            ("3", "PKR", "f3 pkr_few"),
            ("10", "PKR", "f10 pkr_few"),
            ("13", "PKR", "f13 pkr"),
            ("20", "PKR", "20 pkr"),
            ("25", "PKR", "f25 pkr"),
            ("2005", "PKR", "thousand_two and f5 pkr_few"),
            ("3000", "PKR", "3 thousands pkr"),
            ("0.05", "SAR", "f5 sar_minor_few"),
            ("1.003", "OMR", "omr_one and f3 omr_minor_few"),
            ("2", "OMR", "omr_two"),
            ("7.250", "KWD", "7 kwd_few and 200 and 50 kwd_minor"),
            ("11", "KWD", "11 kwd"),
            ("4", "XOF", "4 xof_few"),
        ],
    );
}

/// 1–99 are whole prompts (Urdu's irregular words); lakh and crore.
#[test]
fn urdu() {
    check(
        "ur",
        &[
            ("2450", "PKR", "2 thousand 4 hundred 50 pkr"),
            (
                "245000.50",
                "PKR",
                "2 lakh 45 thousand pkr and 50 pkr_minor",
            ),
            ("1", "PKR", "1 pkr_one"),
            ("37", "PKR", "37 pkr"),
            ("99.73", "PKR", "99 pkr and 73 pkr_minor"),
            ("150000", "PKR", "1 lakh 50 thousand pkr"),
            ("300000000", "INR", "30 crore inr"),
            ("1.500", "KWD", "1 kwd_one and 5 hundred kwd_minor"),
            ("2500", "XOF", "2 thousand 5 hundred xof"),
        ],
    );
    assert_eq!(names("ur-PK", "300000000", "INR"), "30 crore inr");
}

/// The spoken currencies' minor units are ISO 4217's (money type).
#[test]
fn minor_units_follow_iso_4217() {
    let digits: Vec<(&str, u32)> = Currency::ALL
        .iter()
        .map(|c| (c.code(), c.minor_digits()))
        .collect();
    assert!(digits.contains(&("pkr", 2)));
    assert!(digits.contains(&("kwd", 3)));
    assert!(digits.contains(&("omr", 3)));
    assert!(digits.contains(&("tnd", 3)));
    assert!(digits.contains(&("xof", 0)));
    for c in Currency::ALL {
        let iso = crate::money::Currency::parse(&c.code().to_ascii_uppercase()).expect("ISO");
        assert_eq!(c.minor_digits(), iso.scale(), "{c}");
    }
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
    // A currency with no spoken names is not read out.
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
            let limit = MAX * 10u64.pow(cur.minor_digits());
            let mut n: u64 = 0;
            let sweep = std::iter::from_fn(|| {
                n = n * 3 + 1 + (n % 7);
                (n < limit).then_some(n)
            });
            for n in (0..3000).chain(sweep) {
                for name in amount(loc, n, cur).unwrap() {
                    assert!(vocab.contains(&name), "{loc:?} {cur} {n}: {name}");
                }
            }
        }
        for n in [0, 7, 100, 101, 999, 1000, 2002, 99_999_999, MAX] {
            for name in number(loc, n) {
                assert!(vocab.contains(&name), "{loc:?} {n}: {name}");
            }
        }
    }
}
