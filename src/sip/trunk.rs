//! From `[sip]` and `[[trunks]]` config to the sans-IO core's settings.
//!
//! The core knows nothing of the TOML file; the conversion lives here, at the
//! edge, and so does the one draw from the operating system's randomness
//! (the endpoint's seed for Call-IDs, tags and branches): the core only ever
//! sees a seed, so tests run it deterministically.

use std::time::Duration;

use orderline_sip::{EndpointConfig, Transport};

use crate::config;

/// `[sip] listen`, `public_addr`, `t1_ms`, `user_agent`, `max_calls` (by
/// default one per RTP pair), the admission rules (`[sip] rate_limit`, the
/// trunks' `inbound_from`: issue #14), the RFC 4028 session timer
/// (`session_expires`, `min_se`), with a fresh seed.
pub fn endpoint_config(cfg: &config::Config) -> Result<EndpointConfig, config::ConfigError> {
    let c = &cfg.sip;
    for name in cfg.trunks_without_inbound() {
        tracing::warn!(
            trunk = %name,
            "trunk is a host name without inbound_from: INVITEs it sends will be refused (403)"
        );
    }
    for t in &cfg.trunks {
        if t.srtp != config::SrtpMode::Off && t.transport != config::Transport::Tls {
            tracing::warn!(
                trunk = %t.name,
                "srtp without transport = \"tls\": the SDES keys cross the network in clear SDP (RFC 4568 §8.3)"
            );
        }
    }
    let tls_listener = c.tls.as_ref().is_some_and(|t| t.listen.is_some());
    for t in &cfg.trunks {
        // Our Contact on a TLS trunk says `transport=tls` (RFC 3261 §8.1.1.8):
        // the carrier's in-dialog requests (its BYE, a re-INVITE, a session
        // refresh) come to it over TLS, so a listener must be there to take them.
        if t.transport == config::Transport::Tls && !tls_listener {
            tracing::warn!(
                trunk = %t.name,
                "transport = \"tls\" without [sip.tls] listen: the carrier's in-dialog requests (BYE, re-INVITE) cannot reach our Contact"
            );
        }
    }
    for a in &cfg.agents {
        if a.sip_uri_is_tls() && !tls_listener {
            tracing::warn!(
                agent = %a.id,
                "agent phone rung over TLS without [sip.tls] listen: its in-dialog requests (BYE) cannot reach our Contact"
            );
        }
        if let Some(why) = a.srtp_in_clear(tls_listener) {
            tracing::warn!(
                agent = %a.id,
                "agent srtp set but {why}: the SDES keys would cross the network in clear SDP (RFC 4568 §8.3)"
            );
        }
    }
    Ok(EndpointConfig {
        listen: c.listen,
        public_addr: c.public_addr,
        t1: Duration::from_millis(c.t1_ms.max(1)),
        user_agent: c.user_agent.clone(),
        seed: rand::random(),
        max_calls: c.max_calls()?,
        admission: cfg.admission()?,
        session_timer: c.session_timer()?,
        // The driver fills in the port it bound (`[sip.tls] listen` may say 0).
        tls_port: c.tls.as_ref().and_then(|t| t.listen).map(|a| a.port()),
    })
}

impl From<config::Transport> for Transport {
    fn from(t: config::Transport) -> Self {
        match t {
            config::Transport::Udp => Transport::Udp,
            config::Transport::Tcp => Transport::Tcp,
            config::Transport::Tls => Transport::Tls,
        }
    }
}
