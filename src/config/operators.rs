//! `[operators]`: the rules of the agents' floor (issue #10) — pause codes,
//! dispositions, how long wrap-up may last and where it leads, and the zone
//! whose midnight splits the agent log's days.

use std::collections::BTreeSet;

use chrono_tz::Tz;
use orderline_dialer::agents::{AfterWrapUp, FloorRules};
use orderline_dialer::modes::rules::BASE_DISPOSITIONS;
use serde::Deserialize;

use super::{invalid, parse_duration, ConfigError};

/// Extra dispositions beyond the dialer's base set in the default list: a
/// wrong number is the commonest outcome a COD call centre records that the
/// order's status cannot say.
const DEFAULT_EXTRA_DISPOSITIONS: [&str; 1] = ["wrong_number"];

/// The longest `wrap_up_timeout` accepted: an agent idle in wrap-up for
/// longer is away from the desk, and the floor should see it as paused.
const MAX_WRAP_UP: std::time::Duration = std::time::Duration::from_secs(3600);

/// `[operators]` as written in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperatorsConfig {
    /// Reasons an agent may pause with (`PUT /v1/agents/{id}/state`).
    pub pause_codes: Vec<String>,
    /// What an agent may record for a call (`POST /v1/calls/{id}/disposition`).
    pub dispositions: Vec<String>,
    /// How long an agent may stay in wrap-up without posting a disposition.
    pub wrap_up_timeout: String,
    /// Where a timed-out wrap-up leaves the agent: `"ready"` or `"paused"`.
    pub after_wrap_up: AfterWrapUp,
    /// IANA zone whose midnight splits the agent log's days (default: UTC).
    pub timezone: String,
}

impl Default for OperatorsConfig {
    fn default() -> Self {
        Self {
            pause_codes: ["break", "lunch", "training", "meeting"]
                .map(String::from)
                .to_vec(),
            dispositions: BASE_DISPOSITIONS
                .iter()
                .chain(DEFAULT_EXTRA_DISPOSITIONS.iter())
                .map(|s| s.to_string())
                .collect(),
            wrap_up_timeout: "60s".into(),
            after_wrap_up: AfterWrapUp::Ready,
            timezone: "UTC".into(),
        }
    }
}

/// The checked floor: the machine's rules and the log's day zone.
#[derive(Debug, Clone)]
pub struct FloorSettings {
    pub rules: FloorRules,
    pub timezone: Tz,
}

/// A code as the API and the store take it: 1–64 of `[A-Za-z0-9_-]`.
fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn codes(key: &str, list: &[String]) -> Result<Vec<String>, ConfigError> {
    if list.is_empty() {
        return Err(invalid(key, "must list at least one"));
    }
    let mut seen = BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        if !is_code(c) {
            return Err(invalid(
                &format!("{key}[{i}]"),
                format!("{c:?} is not 1 to 64 characters from A-Z a-z 0-9 _ -"),
            ));
        }
        if !seen.insert(c) {
            return Err(invalid(
                &format!("{key}[{i}]"),
                format!("{c:?} is listed twice"),
            ));
        }
    }
    Ok(list.to_vec())
}

impl OperatorsConfig {
    /// Validate the section; every error names the key at fault.
    pub fn floor(&self) -> Result<FloorSettings, ConfigError> {
        let pause_codes = codes("operators.pause_codes", &self.pause_codes)?;
        let dispositions = codes("operators.dispositions", &self.dispositions)?;
        let wrap_up_timeout = parse_duration(&self.wrap_up_timeout)
            .map_err(|r| invalid("operators.wrap_up_timeout", r))?;
        if wrap_up_timeout.is_zero() || wrap_up_timeout > MAX_WRAP_UP {
            return Err(invalid(
                "operators.wrap_up_timeout",
                "must be more than 0 and at most 1h",
            ));
        }
        let timezone: Tz = self.timezone.parse().map_err(|_| {
            invalid(
                "operators.timezone",
                format!("{:?} is not an IANA time zone", self.timezone),
            )
        })?;
        Ok(FloorSettings {
            rules: FloorRules {
                pause_codes,
                dispositions,
                wrap_up_timeout,
                after_wrap_up: self.after_wrap_up,
            },
            timezone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use std::time::Duration;

    fn err(toml: &str) -> String {
        Config::from_toml(toml).expect_err(toml).to_string()
    }

    #[test]
    fn defaults_are_a_working_floor() {
        let cfg = Config::from_toml("").expect("empty config");
        let floor = cfg.operators.floor().expect("default floor");
        assert!(floor.rules.knows_pause_code("lunch"));
        for d in [
            "confirmed",
            "cancelled",
            "callback",
            "no_answer",
            "wrong_number",
        ] {
            assert!(floor.rules.knows_disposition(d), "{d}");
        }
        assert_eq!(floor.rules.wrap_up_timeout, Duration::from_secs(60));
        assert_eq!(floor.timezone, chrono_tz::UTC);
    }

    #[test]
    fn keys_are_read() {
        let cfg = Config::from_toml(
            "[operators]\npause_codes = [\"prayer\"]\ndispositions = [\"confirmed\", \"hold\"]\n\
             wrap_up_timeout = \"2m\"\nafter_wrap_up = \"paused\"\ntimezone = \"Asia/Karachi\"\n",
        )
        .expect("config");
        let floor = cfg.operators.floor().expect("floor");
        assert_eq!(floor.rules.pause_codes, ["prayer"]);
        assert!(!floor.rules.knows_pause_code("lunch"));
        assert!(floor.rules.knows_disposition("hold"));
        assert_eq!(floor.rules.wrap_up_timeout, Duration::from_secs(120));
        assert_eq!(
            floor.rules.after_wrap_up,
            orderline_dialer::agents::AfterWrapUp::Paused
        );
        assert_eq!(floor.timezone, chrono_tz::Asia::Karachi);
    }

    #[test]
    fn errors_name_the_key() {
        for (toml, key) in [
            ("[operators]\npause_codes = []\n", "operators.pause_codes"),
            (
                "[operators]\npause_codes = [\"a b\"]\n",
                "operators.pause_codes[0]",
            ),
            (
                "[operators]\ndispositions = [\"x\", \"x\"]\n",
                "operators.dispositions[1]",
            ),
            (
                "[operators]\nwrap_up_timeout = \"soon\"\n",
                "operators.wrap_up_timeout",
            ),
            (
                "[operators]\nwrap_up_timeout = \"0s\"\n",
                "operators.wrap_up_timeout",
            ),
            (
                "[operators]\nwrap_up_timeout = \"2h\"\n",
                "operators.wrap_up_timeout",
            ),
            (
                "[operators]\ntimezone = \"Mars/Olympus\"\n",
                "operators.timezone",
            ),
        ] {
            let e = err(toml);
            assert!(e.contains(&format!("`{key}`")), "{toml}: {e}");
        }
        let e = err("[operators]\nafter_wrap_up = \"lunch\"\n");
        assert!(e.contains("after_wrap_up"), "{e}");
        let e = err("[operators]\npause_code = [\"x\"]\n");
        assert!(e.contains("pause_code"), "{e}");
    }
}
