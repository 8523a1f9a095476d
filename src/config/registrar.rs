//! `[sip.registrar]`: how agents' phones register (RFC 3261 §10) and the
//! limits that keep a password cracker out.

use serde::Deserialize;

use secrecy::ExposeSecret;

use super::{invalid, parse_duration, AgentConfig, ConfigError, SipConfig};
use crate::sip::registrar::{Account, DigestPolicy, RegistrarConfig};

/// `[sip.registrar]`; every key optional.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegistrarSection {
    /// Shortest registration accepted; shorter gets 423 Interval Too Brief.
    pub min_expires: u32,
    /// Longest registration granted; longer is cut to this.
    pub max_expires: u32,
    /// Granted when a REGISTER names no expiry.
    pub default_expires: u32,
    /// Contacts per agent; a new one beyond replaces the least recently refreshed.
    pub max_contacts: usize,
    /// Failed authentications from one IP address within `auth_failure_window`
    /// after which that address gets 403 for `block_for`.
    pub max_auth_failures: u32,
    pub auth_failure_window: String,
    pub block_for: String,
    /// How long a challenge's nonce is good for (then `stale=true`).
    pub nonce_lifetime: String,
    /// `"md5"` (default: every phone), `"sha-256"` or `"both"` (RFC 8760).
    pub digest: String,
}

impl Default for RegistrarSection {
    fn default() -> Self {
        Self {
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            max_contacts: 5,
            max_auth_failures: 10,
            auth_failure_window: "1m".into(),
            block_for: "10m".into(),
            nonce_lifetime: "5m".into(),
            digest: "md5".into(),
        }
    }
}

impl SipConfig {
    /// `[sip] domain`, else `public_addr`: the realm and the registrar's domain.
    pub fn domain(&self) -> String {
        self.domain
            .clone()
            .unwrap_or_else(|| self.public_addr.to_string())
    }

    /// The sans-IO registrar's settings, validated (keys named on error).
    pub fn registrar_config(&self) -> Result<RegistrarConfig, ConfigError> {
        let r = &self.registrar;
        let key = |k: &str| format!("sip.registrar.{k}");
        let dur = |k: &str, v: &str| parse_duration(v).map_err(|e| invalid(&key(k), e));
        if r.min_expires == 0 || r.min_expires > r.max_expires {
            return Err(invalid(
                &key("min_expires"),
                "must be at least 1 and not above max_expires",
            ));
        }
        if !(r.min_expires..=r.max_expires).contains(&r.default_expires) {
            return Err(invalid(
                &key("default_expires"),
                "must lie within min_expires..=max_expires",
            ));
        }
        if r.max_contacts == 0 {
            return Err(invalid(&key("max_contacts"), "must be at least 1"));
        }
        if r.max_auth_failures == 0 {
            return Err(invalid(&key("max_auth_failures"), "must be at least 1"));
        }
        let digest = DigestPolicy::parse(&r.digest)
            .ok_or_else(|| invalid(&key("digest"), "must be \"md5\", \"sha-256\" or \"both\""))?;
        let domain = self.domain();
        if domain.is_empty()
            || domain.contains(|c: char| c.is_whitespace() || c == '"' || c.is_control())
        {
            return Err(invalid("sip.domain", "must be a host name or address"));
        }
        Ok(RegistrarConfig {
            aliases: vec![self.public_addr.to_string(), self.listen.ip().to_string()],
            domain,
            min_expires: r.min_expires,
            max_expires: r.max_expires,
            default_expires: r.default_expires,
            max_contacts: r.max_contacts,
            max_auth_failures: r.max_auth_failures,
            auth_failure_window: dur("auth_failure_window", &r.auth_failure_window)?,
            block_for: dur("block_for", &r.block_for)?,
            nonce_lifetime: dur("nonce_lifetime", &r.nonce_lifetime)?,
            digest,
        })
    }
}

/// Digest accounts of the agents that register (`sip_user` + `sip_password`),
/// hashed for `realm` now: only HA1 is kept.
pub fn accounts(agents: &[AgentConfig], realm: &str) -> Vec<Account> {
    agents
        .iter()
        .filter_map(|a| match (&a.sip_user, &a.sip_password) {
            (Some(u), Some(p)) => Some(Account::from_password(&a.id, u, realm, p.expose_secret())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn registrar_defaults_and_domain_fallback() {
        let cfg = Config::from_toml("[sip]\npublic_addr = \"127.0.0.9\"\n").expect("config");
        let r = cfg.sip.registrar_config().expect("registrar");
        assert_eq!(r.domain, "127.0.0.9");
        assert_eq!(
            (r.min_expires, r.max_expires, r.max_contacts),
            (60, 3600, 5)
        );
        assert_eq!(r.digest, crate::sip::registrar::DigestPolicy::Md5);
        let cfg = Config::from_toml(
            "[sip]\ndomain = \"pbx.example\"\n[sip.registrar]\nmin_expires = 5\nmax_expires = 60\n\
             default_expires = 30\nblock_for = \"2s\"\ndigest = \"both\"\n",
        )
        .expect("config");
        let r = cfg.sip.registrar_config().expect("registrar");
        assert_eq!(r.domain, "pbx.example");
        assert_eq!(r.block_for.as_secs(), 2);
        assert_eq!(r.digest, crate::sip::registrar::DigestPolicy::Both);
    }

    #[test]
    fn bad_registrar_keys_are_named() {
        for (toml, key) in [
            (
                "[sip.registrar]\nmin_expires = 100\nmax_expires = 50\n",
                "sip.registrar.min_expires",
            ),
            (
                "[sip.registrar]\ndigest = \"sha-1\"\n",
                "sip.registrar.digest",
            ),
            (
                "[sip.registrar]\nblock_for = \"soon\"\n",
                "sip.registrar.block_for",
            ),
            (
                "[sip.registrar]\nmax_contacts = 0\n",
                "sip.registrar.max_contacts",
            ),
        ] {
            let e = Config::from_toml(toml).expect_err(toml).to_string();
            assert!(e.contains(key), "{toml}: {e}");
        }
    }

    #[test]
    fn registering_agents_need_user_and_password_and_never_print_it() {
        let ok = "[[agents]]\nid = \"a\"\nname = \"A\"\nsip_user = \"1001\"\nsip_password = \"phone-pass-42\"\n";
        let cfg = Config::from_toml(ok).expect("config");
        let shown = format!("{cfg:#?}");
        assert!(!shown.contains("phone-pass-42"), "{shown}");
        assert!(shown.contains("1001"));
        let accounts = super::accounts(&cfg.agents, "127.0.0.1");
        assert_eq!(accounts.len(), 1);
        assert!(!format!("{accounts:?}").contains("phone-pass-42"));
        for (toml, key) in [
            ("[[agents]]\nid = \"a\"\nname = \"A\"\n", "agents[0].sip_uri"),
            ("[[agents]]\nid = \"a\"\nname = \"A\"\nsip_user = \"1001\"\n", "agents[0].sip_password"),
            ("[[agents]]\nid = \"a\"\nname = \"A\"\nsip_password = \"phone-pass-42\"\n", "agents[0].sip_user"),
            (
                "[[agents]]\nid = \"a\"\nname = \"A\"\nsip_uri = \"sip:a@127.0.0.1\"\nsip_user = \"1001\"\nsip_password = \"phone-pass-42\"\n",
                "agents[0].sip_uri",
            ),
            ("[[agents]]\nid = \"a\"\nname = \"A\"\nsip_user = \"10 01\"\nsip_password = \"phone-pass-42\"\n", "agents[0].sip_user"),
            ("[[agents]]\nid = \"a\"\nname = \"A\"\nsip_user = \"1001\"\nsip_password = \"short\"\n", "agents[0].sip_password"),
            (
                "[[agents]]\nid = \"a\"\nname = \"A\"\nsip_user = \"1001\"\nsip_password = \"phone-pass-42\"\n\
                 [[agents]]\nid = \"b\"\nname = \"B\"\nsip_user = \"1001\"\nsip_password = \"phone-pass-43\"\n",
                "agents[1].sip_user",
            ),
        ] {
            let e = Config::from_toml(toml).expect_err(toml).to_string();
            assert!(e.contains(key), "{toml}: {e}");
            assert!(!e.contains("phone-pass"), "{e}");
        }
    }
}
