//! `[sip] session_expires` and `min_se`: RFC 4028 session timers.

use orderline_sip::session_timer::SessionTimerConfig;

use super::{invalid, parse_duration, ConfigError, SipConfig};

impl SipConfig {
    /// The session timer settings; `session_expires` is never below `min_se`.
    pub fn session_timer(&self) -> Result<SessionTimerConfig, ConfigError> {
        let expires = parse_duration(&self.session_expires)
            .map_err(|e| invalid("sip.session_expires", e.to_string()))?;
        let min_se =
            parse_duration(&self.min_se).map_err(|e| invalid("sip.min_se", e.to_string()))?;
        if min_se.as_secs() < 1 {
            return Err(invalid(
                "sip.min_se",
                "must be at least 1s (90s in service)",
            ));
        }
        if expires < min_se {
            return Err(invalid(
                "sip.session_expires",
                "must not be shorter than sip.min_se",
            ));
        }
        Ok(SessionTimerConfig { expires, min_se })
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn defaults_and_bad_values_are_named() {
        let cfg = Config::from_toml("").expect("defaults");
        let t = cfg.sip.session_timer().expect("timer");
        assert_eq!((t.expires.as_secs(), t.min_se.as_secs()), (1800, 90));
        let e = Config::from_toml("[sip]\nsession_expires = \"60s\"\n").expect_err("below min_se");
        assert!(e.to_string().contains("sip.session_expires"), "{e}");
        let e = Config::from_toml("[sip]\nmin_se = \"soon\"\n").expect_err("not a duration");
        assert!(e.to_string().contains("sip.min_se"), "{e}");
    }
}
