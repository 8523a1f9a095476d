//! The API's JSON request parsers as one entry point for the fuzz target
//! `fuzz/fuzz_targets/api_json.rs` (issue #14). The first byte picks the
//! body's route, the rest is the body; each parser must return a value or
//! a 4xx [`ApiError`] that names its field — only a body that is not JSON
//! at all may leave `field` out — and never panic. These are the functions
//! the handlers call, with a fixed `[operators]` and `[calling]` config.

use std::time::Duration;

use chrono::{DateTime, Utc};
use orderline_dialer::agents::{AfterWrapUp, AgentInput, FloorRules};

use super::error::ApiError;
use super::{bodies, dialer_settings, input, rules};
use crate::config::CallingConfig;

/// How many routes [`check`] takes bodies for (the first byte modulo this).
pub const ROUTES: u8 = 7;

/// Parse `data[1..]` as the body of route `data[0] % ROUTES` and check
/// the outcome; panics on a broken rule (that is what the fuzzer looks for).
pub fn check(data: &[u8]) {
    let Some((&route, body)) = data.split_first() else {
        return;
    };
    let floor = FloorRules {
        pause_codes: vec!["lunch".into(), "training".into()],
        dispositions: [
            "confirmed",
            "cancelled",
            "callback",
            "no_answer",
            "wrong_number",
        ]
        .map(String::from)
        .to_vec(),
        wrap_up_timeout: Duration::from_secs(30),
        after_wrap_up: AfterWrapUp::Ready,
    };
    let now = DateTime::<Utc>::from_timestamp(1_795_428_000, 0).unwrap_or_default();
    let outcome: Result<(), ApiError> = match route % ROUTES {
        0 => input::new_order(body).map(|o| {
            assert!(!o.id.is_empty() && !o.phone.trim().is_empty(), "{o:?}");
        }),
        1 => bodies::decision(body).map(|d| {
            assert!(d.by.chars().count() <= 128 && !d.by.chars().any(char::is_control));
        }),
        2 => rules::campaign_request(body, &CallingConfig::default()).map(drop),
        3 => bodies::disposition(body, &floor, now).map(|d| {
            assert!(floor.knows_disposition(&d.disposition));
            assert!(d.callback_at.is_none_or(|at| at > now));
            assert!(d.disposition != "callback" || d.callback_at.is_some());
        }),
        4 => bodies::payment(body).map(|(item, amount)| {
            assert!(!amount.is_zero() && !item.trim().is_empty());
        }),
        5 => dialer_settings::mode_patch(body).map(drop),
        _ => bodies::state_change(body, &floor).map(|change| {
            if let AgentInput::Pause { code } = &change {
                assert!(floor.knows_pause_code(code));
            }
        }),
    };
    if let Err(e) = outcome {
        let status = e.status().as_u16();
        assert!((400..500).contains(&status), "{status} for {e}");
        match &e {
            ApiError::MalformedJson(_) => {}
            other => {
                // A field, and an empty name only for an empty key (`"":1`).
                let field = other.field();
                assert!(
                    field.is_some_and(|f| !f.is_empty() || body.windows(3).any(|w| w == b"\"\":")),
                    "a refusal without its field: {other}"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's seeds, each cut at every length and with single
    /// bytes changed, pass through `check` (a smoke run of what
    /// `fuzz/run.sh` does at length, on the stable toolchain).
    #[test]
    fn seeds_and_their_cuts_hold_the_rules() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/api_json");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).expect("fuzz/seeds/api_json") {
            let seed = std::fs::read(entry.expect("seed").path()).expect("read seed");
            for len in 0..=seed.len() {
                check(&seed[..len]);
                n += 1;
            }
            for i in 1..seed.len() {
                for b in [b'"', b'0', b'-', b'}', b'\\', 0xff, b'x'] {
                    let mut m = seed.clone();
                    m[i] = b;
                    check(&m);
                    n += 1;
                }
            }
            // The same body on every route.
            for route in 0..ROUTES {
                let mut m = seed.clone();
                m[0] = route;
                check(&m);
            }
        }
        assert!(n > 5_000, "{n} inputs");
    }
}
