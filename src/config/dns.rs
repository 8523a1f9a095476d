//! `[dns]`: which resolvers RFC 3263 lookups ask (`crate::sip::dns`).

use std::net::SocketAddr;

use serde::Deserialize;

/// `[dns]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DnsConfig {
    /// Resolvers (`"10.0.0.53:53"`) used instead of the system's
    /// (`/etc/resolv.conf`); empty: the system's.
    pub servers: Vec<SocketAddr>,
}
