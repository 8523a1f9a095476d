//! Each language's agreement rules between numbers, scale words and the
//! counted noun (the prompt scheme is in the parent module's doc).

use super::{Locale, PromptName};

/// The counted noun: a currency's major or minor unit.
pub(super) struct Noun {
    /// `pkr`, `pkr_minor`, …
    pub stem: String,
    pub feminine: bool,
}

/// Numbers below 100 that have a feminine prompt `f<n>` in `locale`.
pub(super) fn feminine_forms(locale: Locale) -> impl Iterator<Item = u64> {
    (1..100u64).filter(move |&n| has_feminine(locale, n))
}

fn has_feminine(locale: Locale, n: u64) -> bool {
    match locale {
        // 1–19 all differ (إحدى عشرة, ثلاث عشرة); 20, 30, … do not; from
        // 21 the unit does (إحدى وعشرون, ثلاث وعشرون).
        Locale::Ar => (1..20).contains(&n) || (n > 20 && n < 100 && n % 10 != 0),
        // une, vingt et une … soixante et une, quatre-vingt-une; 71 and 91
        // end in onze, which does not change.
        Locale::Fr => matches!(n, 1 | 21 | 31 | 41 | 51 | 61 | 81),
        Locale::En | Locale::Ur => false,
    }
}

/// A number followed by the right form of the counted noun.
pub(super) fn counted(
    out: &mut Vec<PromptName>,
    locale: Locale,
    n: u64,
    noun: &Noun,
    indian: bool,
) {
    let stem = &noun.stem;
    match locale {
        Locale::Ar => match n {
            1 => out.push(format!("{stem}_one")),
            2 => out.push(format!("{stem}_two")),
            _ => {
                number_into(out, locale, n, indian, noun.feminine);
                // The plural after 3–10 (also as the last part: 103, 2005);
                // the singular after 11–99 and round hundreds and thousands.
                let form = if (3..=10).contains(&(n % 100)) {
                    "_few"
                } else {
                    ""
                };
                out.push(format!("{stem}{form}"));
            }
        },
        Locale::Fr => {
            number_into(out, locale, n, indian, noun.feminine);
            // "trois millions d'euros": a round million takes "de".
            let form = if n <= 1 {
                "_one"
            } else if n >= 1_000_000 && n % 1_000_000 == 0 {
                "_of"
            } else {
                ""
            };
            out.push(format!("{stem}{form}"));
        }
        Locale::En | Locale::Ur => {
            number_into(out, locale, n, indian, false);
            out.push(if n == 1 {
                format!("{stem}_one")
            } else {
                stem.to_owned()
            });
        }
    }
}

/// `n` as prompt names; `feminine`: the last group agrees with a feminine
/// noun (the scale words' own counts never do: ألف, million are masculine).
pub(super) fn number_into(
    out: &mut Vec<PromptName>,
    locale: Locale,
    n: u64,
    indian: bool,
    feminine: bool,
) {
    if n < 100 {
        out.push(below_hundred(locale, n, feminine));
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
        below_thousand(out, locale, rest, feminine);
    }
}

/// `f<n>` where the language has a feminine form, else `<n>`.
fn below_hundred(locale: Locale, n: u64, feminine: bool) -> PromptName {
    if feminine && has_feminine(locale, n) {
        format!("f{n}")
    } else {
        n.to_string()
    }
}

/// `count` × a scale word, with each language's agreement rules.
fn scale_group(out: &mut Vec<PromptName>, locale: Locale, count: u64, word: &str, indian: bool) {
    match locale {
        Locale::En | Locale::Ur => {
            number_into(out, locale, count, indian, false);
            out.push(word.into());
        }
        // "mille", never "un mille"; "deux mille" (invariable);
        // "un million", "deux millions".
        Locale::Fr => {
            if word == "thousand" {
                if count > 1 {
                    number_into(out, locale, count, indian, false);
                }
                out.push(word.into());
            } else {
                number_into(out, locale, count, indian, false);
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
                number_into(out, locale, count, indian, false);
                out.push(format!("{word}s"));
            }
            _ => {
                number_into(out, locale, count, indian, false);
                out.push(word.into());
            }
        },
    }
}

fn below_thousand(out: &mut Vec<PromptName>, locale: Locale, n: u64, feminine: bool) {
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
        out.push(below_hundred(locale, r, feminine));
    }
}
