//! `[[agents]]` and `[payments]`: who the agents are (their phones and API
//! tokens) and how keypad payments run (gateway, dialplan, time limits).

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::{invalid, parse_duration, ConfigError};
use crate::payments::GatewayConfig;

/// One agent: a person with a SIP phone who takes bridged calls.
/// The SIP password and the API token are [`SecretString`]s: never printed.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Stable id used by `POST /v1/calls {"agent": …}`.
    pub id: String,
    /// Shown in CRM notes and the agent page.
    pub name: String,
    /// The agent's phone at a fixed address, called first on click-to-call
    /// (`sip:user@host:port`). An agent has this or `sip_user`+`sip_password`.
    #[serde(default)]
    pub sip_uri: Option<String>,
    /// Digest user name of a phone that registers with orderline (RFC 3261
    /// §10); click-to-call then rings its registered contact.
    #[serde(default)]
    pub sip_user: Option<String>,
    /// Digest password for `sip_user`; hashed to HA1 at start, never printed.
    #[serde(default)]
    pub sip_password: Option<SecretString>,
    /// The agent's own API token: it may place and see only its own calls
    /// and payments. Optional (agents created through the API get one).
    #[serde(default)]
    pub api_token: Option<SecretString>,
    /// SDES-SRTP on the agent's leg (RFC 4568 / RFC 3711), as a trunk's
    /// `srtp`: `off` (default), `optional`, `required`. It applies to
    /// whichever phone is rung (the fixed `sip_uri` or the registered
    /// contact); the keys are only as secret as the SIP hop, so the phone
    /// should be reached over TLS (`;transport=tls`, or registered over
    /// `[sip.tls] listen`) — the daemon warns at start when it cannot be.
    #[serde(default)]
    pub srtp: super::SrtpMode,
}

/// `[payments]`: agent-bridged keypad payments (issue #5).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentsConfig {
    /// `[payments.gateway]`; the sandbox when absent, so a fresh install can
    /// never charge a real card by accident.
    pub gateway: GatewayConfig,
    /// The caller's script, relative to `media.dialplans_dir`.
    pub dialplan: PathBuf,
    /// Overrides the dialplan's `no_input_timeout` (default there: 60 s).
    pub no_input_timeout: Option<String>,
    /// The whole gateway exchange (tokenize + charge) must end within this;
    /// past it the session fails with `gateway:timeout` and the caller hears
    /// the failure words. Must be shorter than the dialplan's `charge_timeout`
    /// guard.
    pub gateway_timeout: String,
    /// Prompts' language for the caller (default: `calling.default_locale`).
    pub locale: Option<String>,
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            gateway: GatewayConfig::default(),
            dialplan: "payment.toml".into(),
            no_input_timeout: None,
            gateway_timeout: "30s".into(),
            locale: None,
        }
    }
}

impl PaymentsConfig {
    pub fn gateway_timeout(&self) -> Result<Duration, ConfigError> {
        parse_duration(&self.gateway_timeout).map_err(|e| invalid("payments.gateway_timeout", e))
    }

    pub fn no_input_timeout(&self) -> Result<Option<Duration>, ConfigError> {
        self.no_input_timeout
            .as_deref()
            .map(|s| parse_duration(s).map_err(|e| invalid("payments.no_input_timeout", e)))
            .transpose()
    }
}

/// Agent ids are unique, URIs are SIP, tokens are distinct from each other
/// and from the merchant tokens (a token must name one principal).
pub(super) fn validate(
    agents: &[AgentConfig],
    payments: &PaymentsConfig,
    merchant_tokens: &[SecretString],
) -> Result<(), ConfigError> {
    let mut ids = std::collections::HashSet::new();
    let mut users = std::collections::HashSet::new();
    let mut tokens: std::collections::HashSet<&str> =
        merchant_tokens.iter().map(|t| t.expose_secret()).collect();
    for (i, a) in agents.iter().enumerate() {
        let id_ok = !a.id.is_empty()
            && a.id.len() <= 64
            && a.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !id_ok {
            return Err(invalid(
                &format!("agents[{i}].id"),
                "1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
            ));
        }
        if !ids.insert(a.id.as_str()) {
            return Err(invalid(
                &format!("agents[{i}].id"),
                format!("duplicate agent id {:?}", a.id),
            ));
        }
        if a.name.trim().is_empty() {
            return Err(invalid(&format!("agents[{i}].name"), "must not be empty"));
        }
        validate_phone(i, a, &mut users)?;
        if let Some(t) = a.api_token.as_ref().map(|t| t.expose_secret()) {
            if t.len() < 16 {
                return Err(invalid(
                    &format!("agents[{i}].api_token"),
                    "must be at least 16 characters",
                ));
            }
            if !tokens.insert(t) {
                return Err(invalid(
                    &format!("agents[{i}].api_token"),
                    "already used by another agent or by http.api_tokens",
                ));
            }
        }
    }
    payments.gateway_timeout()?;
    payments.no_input_timeout()?;
    Ok(())
}

/// A digest user name as agents may have one: RFC 3261 §25.1 `user`
/// characters, short enough for a phone's settings screen. Shared by the
/// config and `POST /v1/agents`.
pub fn check_sip_user(user: &str) -> Result<(), &'static str> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.!~*'+".contains(&b));
    if ok {
        Ok(())
    } else {
        Err("1-64 characters of A-Z, a-z, 0-9 and -_.!~*'+")
    }
}

/// A SIP password an agent's phone may use (config and API alike).
pub fn check_sip_password(pass: &str) -> Result<(), &'static str> {
    // Characters, not bytes: the API document says `minLength: 8`, which
    // JSON Schema counts in characters.
    if pass.chars().count() < 8 || pass.chars().any(char::is_control) {
        Err("must be at least 8 printable characters")
    } else {
        Ok(())
    }
}

/// An agent has a fixed `sip_uri` or registers with `sip_user`+`sip_password`
/// (digest user names unique, RFC 3261 §25.1 `user` characters).
fn validate_phone<'a>(
    i: usize,
    a: &'a AgentConfig,
    users: &mut std::collections::HashSet<&'a str>,
) -> Result<(), ConfigError> {
    let key = |k: &str| format!("agents[{i}].{k}");
    match (&a.sip_uri, &a.sip_user, &a.sip_password) {
        (Some(uri), None, None) => {
            if crate::sip::Uri::parse(uri)
                .ok()
                .and_then(|u| u.as_sip().map(|_| ()))
                .is_none()
            {
                return Err(invalid(
                    &key("sip_uri"),
                    "must be a sip: URI like sip:agent@127.0.0.1:5080",
                ));
            }
        }
        (None, Some(user), Some(pass)) => {
            let pass = pass.expose_secret();
            check_sip_user(user).map_err(|r| invalid(&key("sip_user"), r))?;
            if !users.insert(user.as_str()) {
                return Err(invalid(&key("sip_user"), "already used by another agent"));
            }
            check_sip_password(pass).map_err(|r| invalid(&key("sip_password"), r))?;
        }
        (Some(_), _, _) => {
            return Err(invalid(
                &key("sip_uri"),
                "give either sip_uri or sip_user + sip_password, not both",
            ));
        }
        (None, None, Some(_)) => {
            return Err(invalid(&key("sip_user"), "missing (sip_password needs it)"))
        }
        (None, None, None) => {
            return Err(invalid(
                &key("sip_uri"),
                "missing: give sip_uri, or sip_user + sip_password",
            ));
        }
        (None, Some(_), None) => {
            return Err(invalid(&key("sip_password"), "missing (sip_user needs it)"))
        }
    }
    Ok(())
}

impl AgentConfig {
    /// Why this agent's SDES keys would cross the network in clear SDP
    /// (RFC 4568 §8.3: SDES is only as confidential as the signalling),
    /// or `None` when `srtp` is off or the phone is reached over TLS.
    /// `tls_listener`: whether `[sip.tls] listen` is set (a registering
    /// phone can register over TLS only then).
    pub fn srtp_in_clear(&self, tls_listener: bool) -> Option<&'static str> {
        if self.srtp == super::SrtpMode::Off {
            return None;
        }
        match &self.sip_uri {
            Some(_) => (!self.sip_uri_is_tls())
                .then_some("sip_uri is not reached over TLS (add ;transport=tls)"),
            None => (!tls_listener).then_some(
                "the phone registers, and [sip.tls] listen is unset: it cannot register over TLS",
            ),
        }
    }

    /// A fixed `sip_uri` rung over TLS (`sips:` or `;transport=tls`, as
    /// the engine dials it). Such a phone sends its in-dialog requests (its
    /// BYE) to our Contact over TLS: `[sip.tls] listen` must be set.
    pub fn sip_uri_is_tls(&self) -> bool {
        let parsed = self
            .sip_uri
            .as_deref()
            .and_then(|u| crate::sip::Uri::parse(u).ok());
        parsed.as_ref().and_then(|u| u.as_sip()).is_some_and(|s| {
            s.secure
                || s.param("transport")
                    .flatten()
                    .is_some_and(|t| t.eq_ignore_ascii_case("tls"))
        })
    }

    /// The URI stored for the agent: its fixed phone, or the address-of-record
    /// `sip:<sip_user>@<domain>` its phone registers.
    pub fn stored_uri(&self, domain: &str) -> String {
        match (&self.sip_uri, &self.sip_user) {
            (Some(u), _) => u.clone(),
            (None, Some(user)) => format!("sip:{user}@{domain}"),
            (None, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn agents_and_payments_parse_with_defaults() {
        let cfg = Config::from_toml(
            r#"
[[agents]]
id = "ayesha"
name = "Ayesha Khan"
sip_uri = "sip:ayesha@127.0.0.1:5080"
api_token = "agent-token-0123456789"
"#,
        )
        .expect("config");
        assert_eq!(cfg.agents.len(), 1);
        assert_eq!(cfg.payments.gateway_timeout().expect("t").as_secs(), 30);
        assert_eq!(cfg.payments.no_input_timeout().expect("t"), None);
        assert!(matches!(
            cfg.payments.gateway,
            crate::payments::GatewayConfig::Sandbox
        ));
        assert!(!format!("{:?}", cfg.agents[0]).contains("agent-token"));
    }

    #[test]
    fn agent_srtp_parses_and_keys_in_clear_are_told() {
        use super::super::SrtpMode;
        let cfg = Config::from_toml(
            "[[agents]]\nid = \"tls\"\nname = \"T\"\nsip_uri = \"sip:t@127.0.0.1:5061;transport=tls\"\nsrtp = \"required\"\n\
             [[agents]]\nid = \"udp\"\nname = \"U\"\nsip_uri = \"sip:u@127.0.0.1:5062\"\nsrtp = \"optional\"\n\
             [[agents]]\nid = \"reg\"\nname = \"R\"\nsip_user = \"1001\"\nsip_password = \"phone-pass-42\"\nsrtp = \"required\"\n\
             [[agents]]\nid = \"plain\"\nname = \"P\"\nsip_uri = \"sip:p@127.0.0.1:5064\"\n",
        )
        .expect("config");
        let by_id = |id: &str| cfg.agents.iter().find(|a| a.id == id).expect("agent");
        assert_eq!(by_id("tls").srtp, SrtpMode::Required);
        assert_eq!(by_id("udp").srtp, SrtpMode::Optional);
        assert_eq!(by_id("reg").srtp, SrtpMode::Required);
        assert_eq!(by_id("plain").srtp, SrtpMode::Off, "off unless asked");
        assert_eq!(by_id("tls").srtp_in_clear(false), None);
        assert!(by_id("udp").srtp_in_clear(true).is_some());
        assert!(by_id("reg").srtp_in_clear(false).is_some());
        assert_eq!(by_id("reg").srtp_in_clear(true), None);
        assert_eq!(by_id("plain").srtp_in_clear(false), None);
        assert!(by_id("tls").sip_uri_is_tls());
        assert!(!by_id("udp").sip_uri_is_tls() && !by_id("reg").sip_uri_is_tls());
        let e = Config::from_toml(
            "[[agents]]\nid = \"a\"\nname = \"A\"\nsip_uri = \"sip:a@127.0.0.1\"\nsrtp = \"always\"\n",
        )
        .expect_err("bad srtp")
        .to_string();
        assert!(e.contains("srtp"), "{e}");
    }

    #[test]
    fn bad_agents_are_named() {
        let dup = "[[agents]]\nid = \"a\"\nname = \"A\"\nsip_uri = \"sip:a@127.0.0.1\"\n\
                   [[agents]]\nid = \"a\"\nname = \"B\"\nsip_uri = \"sip:b@127.0.0.1\"\n";
        let e = Config::from_toml(dup).expect_err("duplicate").to_string();
        assert!(e.contains("agents[1].id"), "{e}");
        let uri = "[[agents]]\nid = \"a\"\nname = \"A\"\nsip_uri = \"tel:123\"\n";
        let e = Config::from_toml(uri).expect_err("uri").to_string();
        assert!(e.contains("agents[0].sip_uri"), "{e}");
        let tok = "[http]\napi_tokens = [\"shared-token-123456\"]\n\
                   [[agents]]\nid = \"a\"\nname = \"A\"\nsip_uri = \"sip:a@127.0.0.1\"\napi_token = \"shared-token-123456\"\n";
        let e = Config::from_toml(tok).expect_err("token reuse").to_string();
        assert!(e.contains("agents[0].api_token"), "{e}");
        let t = "[payments]\ngateway_timeout = \"soon\"\n";
        let e = Config::from_toml(t).expect_err("duration").to_string();
        assert!(e.contains("payments.gateway_timeout"), "{e}");
    }
}
