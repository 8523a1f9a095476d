//! Which open order a customer's inbound call is about (issue #13), as pure
//! functions: the daemon reads the caller's number from the INVITE, asks the
//! store for candidate open orders, and these pick the one to play.
//!
//! Numbers are compared in E.164 after normalising national formats with the
//! order's country (a customer rings back from `0300 1234567` about an order
//! placed as `+92 300 1234567`), using the `phonenumber` crate (libphonenumber's
//! metadata) rather than hand-written trunk-prefix rules, which differ per
//! country (`docs/decisions.md`).

use phonenumber::country::Id;
use phonenumber::Mode;

/// Fewest trailing digits a caller number must have to be looked up: short
/// codes and withheld numbers (`anonymous`) match nothing.
pub const MIN_CALLER_DIGITS: usize = 6;

/// The caller's number from a From header value (`"Name"
/// <sip:03001234567@host>;tag=x`): the user part of the URI, if it is a
/// phone number (digits, an optional leading `+`, visual separators).
pub fn caller_number(from: &str) -> Option<String> {
    let uri = match (from.find('<'), from.find('>')) {
        (Some(a), Some(b)) if a < b => &from[a + 1..b],
        _ => from.split(';').next().unwrap_or(from),
    };
    let rest = uri
        .trim()
        .strip_prefix("sip:")
        .or_else(|| uri.trim().strip_prefix("sips:"))
        .or_else(|| uri.trim().strip_prefix("tel:"))?;
    let user = rest.split(['@', ';']).next()?;
    let plus = user.starts_with('+');
    let ok = user
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || (i == 0 && c == '+') || "-.() ".contains(c));
    let digits: String = user.chars().filter(char::is_ascii_digit).collect();
    if !ok || digits.len() < MIN_CALLER_DIGITS {
        return None;
    }
    Some(if plus { format!("+{digits}") } else { digits })
}

/// The caller's last digits: every stored phone ending in them is a
/// candidate (the API stores phones as digits with an optional `+`, so the
/// subscriber number is always the tail); the store uses it to narrow the
/// candidates, [`same_number`] decides.
pub fn phone_tail(caller: &str) -> String {
    let digits: Vec<char> = caller.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(MIN_CALLER_DIGITS)..]
        .iter()
        .collect();
    tail
}

/// The country an order's number belongs to: its own when written in
/// international form, else the region of the order's locale (`ur-PK`).
pub fn order_country(order_phone: &str, locale: Option<&str>) -> Option<Id> {
    if let Ok(n) = phonenumber::parse(None, order_phone) {
        return n.country().id();
    }
    let region = locale?.rsplit(['-', '_']).next()?;
    region.to_ascii_uppercase().parse().ok()
}

/// Whether `caller` is the order's number: both in E.164, the caller's
/// national form read with the order's country.
pub fn same_number(caller: &str, order_phone: &str, locale: Option<&str>) -> bool {
    let Some(country) = order_country(order_phone, locale) else {
        return false;
    };
    let e164 = |s: &str| {
        phonenumber::parse(Some(country), s)
            .ok()
            .map(|n| n.format().mode(Mode::E164).to_string())
    };
    match (e164(caller), e164(order_phone)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The order a caller is about: among `candidates` (open orders, newest
/// first, as the store returns them), the first whose number is the
/// caller's — several open orders: the most recent.
pub fn pick<'a, T>(
    caller: &str,
    candidates: &'a [T],
    phone_and_locale: impl Fn(&T) -> (&str, Option<&str>),
) -> Option<&'a T> {
    candidates.iter().find(|c| {
        let (phone, locale) = phone_and_locale(c);
        same_number(caller, phone, locale)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_number_is_the_from_user_part() {
        let cases = [
            (
                "<sip:03001234567@127.0.0.1:5061>;tag=1",
                Some("03001234567"),
            ),
            (
                "\"Ali\" <sip:+923001234567@carrier.example;user=phone>;tag=9",
                Some("+923001234567"),
            ),
            ("sip:0300-123-4567@h;tag=2", Some("03001234567")),
            ("<tel:+33612345678>", Some("+33612345678")),
            ("<sip:anonymous@anonymous.invalid>;tag=3", None),
            ("<sip:12345@h>", None),
            ("<sip:orders@h>", None),
            ("garbage", None),
        ];
        for (from, want) in cases {
            assert_eq!(caller_number(from).as_deref(), want, "{from}");
        }
    }

    #[test]
    fn national_formats_match_the_orders_e164_number_in_its_country() {
        // Pakistan: trunk prefix 0.
        assert!(same_number("03001234567", "+923001234567", None));
        assert!(same_number("+923001234567", "+92 300 1234567", None));
        assert!(same_number("00923001234567", "+923001234567", None));
        // France: trunk prefix 0 too, another country code.
        assert!(same_number("0612345678", "+33612345678", None));
        // The same national digits in another country are another number.
        assert!(!same_number("0612345678", "+923001234567", None));
        assert!(!same_number("03001234568", "+923001234567", None));
        // An order stored in national form: the locale's region decides.
        assert!(same_number("+923001234567", "03001234567", Some("ur-PK")));
        assert!(!same_number("+923001234567", "03001234567", Some("en")));
    }

    #[test]
    fn the_tail_is_the_callers_last_digits() {
        assert_eq!(phone_tail("03001234567"), "234567");
        assert_eq!(phone_tail("+923001234567"), "234567");
    }

    #[test]
    fn several_open_orders_the_most_recent_wins() {
        // Newest first, as the store returns them.
        let orders = [
            ("new", "+923001234567"),
            ("other", "+923009999999"),
            ("old", "+923001234567"),
        ];
        let got = pick("03001234567", &orders, |o| (o.1, None));
        assert_eq!(got.map(|o| o.0), Some("new"));
        assert!(pick("03111111111", &orders, |o| (o.1, None)).is_none());
    }
}
