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
/// default one per RTP pair), with a fresh seed.
pub fn endpoint_config(c: &config::SipConfig) -> Result<EndpointConfig, config::ConfigError> {
    Ok(EndpointConfig {
        listen: c.listen,
        public_addr: c.public_addr,
        t1: Duration::from_millis(c.t1_ms.max(1)),
        user_agent: c.user_agent.clone(),
        seed: rand::random(),
        max_calls: c.max_calls()?,
    })
}

impl From<config::Transport> for Transport {
    fn from(t: config::Transport) -> Self {
        match t {
            config::Transport::Udp => Transport::Udp,
            config::Transport::Tcp => Transport::Tcp,
        }
    }
}
