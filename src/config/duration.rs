//! Durations written by operators in the config and the API: `"500ms"`,
//! `"30s"`, `"5m"`, `"3h"`, `"1d"`, or combined like `"1h30m"`.
//!
//! Parsed by `humantime` (the kept crate for the job; `docs/decisions.md`):
//! the hand-written parser it replaces multiplied `n * 86_400` unchecked and
//! panicked on a large sum, so `"99999999999999999d"` in a config file could
//! crash the daemon instead of naming the key.

use std::time::Duration;

/// Parse an operator's duration; the error says what is wrong with the text.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    humantime::parse_duration(s)
        .map_err(|e| format!("bad duration {s:?}: {e} (use e.g. 500ms, 30s, 5m, 3h, 1d or 1h30m)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations() {
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration(" 3h "), Ok(Duration::from_secs(3 * 3600)));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in ["3", "3x", "", "  ", "-5s", "h"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    /// The old parser wrapped `n * 86_400` and panicked adding huge parts.
    #[test]
    fn huge_values_are_an_error_not_a_panic_or_a_wrap() {
        // The largest whole number of days a u64 of seconds holds is exact…
        assert_eq!(
            parse_duration("213503982334601d"),
            Ok(Duration::from_secs(213_503_982_334_601 * 86_400))
        );
        // …one more day, a number past u64, or a sum past it are refused.
        for huge in [
            "213503982334602d",
            "99999999999999999999d",
            "18446744073709551615s 18446744073709551615s",
        ] {
            let got = parse_duration(huge);
            assert!(got.is_err(), "{huge:?} gave {got:?}");
            assert!(got.unwrap_err().contains(huge));
        }
    }
}
