//! `[sip.tls]`: SIP over TLS (RFC 3261 §26.2; issue #14), and the trunks'
//! `srtp` (SDES-SRTP, RFC 4568 / RFC 3711). The daemon's transport edge
//! (`crate::sip::tls`) turns the section into rustls configurations; here
//! it is only checked, naming the key at fault.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use super::{invalid, ConfigError};

/// `[sip.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// Where to accept TLS connections (inbound calls, phones registering);
    /// unset: no listener, TLS only toward trunks and agents. Port 5061 is
    /// the RFC 3261 §26.2 default for `sips:`.
    pub listen: Option<SocketAddr>,
    /// PEM certificate chain, leaf first: presented by the listener, and to
    /// peers that ask for a client certificate.
    pub certificate: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `certificate`.
    pub key: Option<PathBuf>,
    /// PEM trust anchors for a private CA; unset: the Mozilla root set
    /// (`webpki-roots`) — a carrier's public certificate verifies either way.
    pub ca_file: Option<PathBuf>,
    /// Verify the peer's certificate and its name (default true). `false`
    /// accepts any certificate — for a lab only; the daemon warns at start.
    #[serde(default = "yes")]
    pub verify: bool,
}

fn yes() -> bool {
    true
}

impl TlsSection {
    /// A listener needs a certificate and its key; a key without a
    /// certificate (or the reverse) is a typo, not a choice.
    pub fn check(&self) -> Result<(), ConfigError> {
        match (&self.certificate, &self.key) {
            (Some(_), None) => return Err(invalid("sip.tls.key", "certificate given without key")),
            (None, Some(_)) => {
                return Err(invalid(
                    "sip.tls.certificate",
                    "key given without certificate",
                ))
            }
            _ => {}
        }
        if self.listen.is_some() && self.certificate.is_none() {
            return Err(invalid(
                "sip.tls.certificate",
                "a TLS listener needs certificate and key",
            ));
        }
        for (key, path) in [
            ("sip.tls.certificate", &self.certificate),
            ("sip.tls.key", &self.key),
            ("sip.tls.ca_file", &self.ca_file),
        ] {
            if let Some(p) = path {
                if !p.is_file() {
                    return Err(invalid(key, format!("no such file: {}", p.display())));
                }
            }
        }
        Ok(())
    }
}

/// `[[trunks]] srtp`: whether calls on the trunk protect their media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SrtpMode {
    /// Plain RTP; an offer of RTP/SAVP only is refused (488).
    #[default]
    Off,
    /// Offer SRTP keys in RTP/AVP (best effort); plain RTP if declined.
    Optional,
    /// RTP/SAVP only: a peer without SDES gets no call (488, or BYE).
    Required,
}

impl SrtpMode {
    /// Every mode, in the order the docs list them.
    pub const ALL: [SrtpMode; 3] = [SrtpMode::Off, SrtpMode::Optional, SrtpMode::Required];

    /// The word the config, the API and the store use.
    pub fn as_str(self) -> &'static str {
        match self {
            SrtpMode::Off => "off",
            SrtpMode::Optional => "optional",
            SrtpMode::Required => "required",
        }
    }

    /// The mode a word names, if any.
    pub fn parse(word: &str) -> Option<SrtpMode> {
        SrtpMode::ALL.into_iter().find(|m| m.as_str() == word)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::*;

    fn err_key(text: &str) -> String {
        match Config::from_toml(text) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("expected a named key, got {other:?}"),
        }
    }

    #[test]
    fn tls_and_srtp_keys_parse_and_mistakes_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pem = dir.path().join("x.pem");
        std::fs::write(&pem, "not checked here").expect("write");
        let ok = Config::from_toml(&format!(
            "[sip.tls]\nlisten = \"127.0.0.1:5061\"\ncertificate = \"{p}\"\nkey = \"{p}\"\n\
             [[trunks]]\nname = \"t\"\nuri = \"sips:127.0.0.1\"\ntransport = \"tls\"\nsrtp = \"required\"\n",
            p = pem.display()
        ))
        .expect("valid");
        let tls = ok.sip.tls.as_ref().expect("section");
        assert!(tls.verify, "verification is on by default");
        assert_eq!(ok.trunks[0].srtp, SrtpMode::Required);
        assert_eq!(
            ok.trunk_from("127.0.0.1".parse().expect("ip"))
                .map(|t| t.name.as_str()),
            Some("t")
        );
        assert_eq!(
            err_key("[sip.tls]\nlisten = \"127.0.0.1:5061\"\n"),
            "sip.tls.certificate"
        );
        assert_eq!(
            err_key(&format!("[sip.tls]\ncertificate = \"{}\"\n", pem.display())),
            "sip.tls.key"
        );
        assert_eq!(
            err_key("[sip.tls]\nca_file = \"/nonexistent/ca.pem\"\n"),
            "sip.tls.ca_file"
        );
        assert_eq!(
            err_key("[[trunks]]\nname = \"t\"\nuri = \"sips:127.0.0.1\"\n"),
            "trunks[0].transport"
        );
        assert!(matches!(
            Config::from_toml(
                "[[trunks]]\nname = \"t\"\nuri = \"sip:127.0.0.1\"\nsrtp = \"maybe\"\n"
            ),
            Err(ConfigError::Syntax { .. })
        ));
    }
}
