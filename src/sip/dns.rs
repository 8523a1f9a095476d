//! RFC 3263 at the edge: trunk and agent URIs may name hosts; this asks DNS
//! (hickory-resolver, docs/decisions.md) for NAPTR, SRV and A/AAAA records
//! and hands the answers to the sans-IO rules in
//! [`orderline_sip::locate`], which pick the transport and order the hops
//! by SRV priority and weight. Answers are cached until their shortest TTL.
//!
//! IP literals never touch DNS. `[dns] servers` replaces the system's
//! resolvers (`/etc/resolv.conf`).

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use hickory_resolver::config::{NameServerConfig, NameServerConfigGroup, ResolverConfig};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{ResolveError, TokioResolver};
use rand::rngs::StdRng;
use rand::SeedableRng;

use orderline_sip::locate::{
    naptr_services, order_hops, order_srv, srv_name, Hop, HopCache, Naptr, Srv, WeightedHop,
};
use orderline_sip::{Transport, Uri};

/// Why a URI could not be located.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DnsError {
    #[error("{0}: not a sip: URI")]
    NotSip(String),
    #[error("DNS resolver setup: {0}")]
    Setup(#[source] ResolveError),
    #[error("DNS lookup of {name}: {source}")]
    Lookup {
        name: String,
        #[source]
        source: ResolveError,
    },
    #[error("{0}: no SIP server in DNS (no NAPTR, SRV or A/AAAA records)")]
    NotFound(String),
}

/// Locates SIP servers by RFC 3263; one per daemon, shared by every call.
pub struct Locator {
    resolver: TokioResolver,
    cache: Mutex<HopCache>,
    /// RFC 2782 weight draws (seeded from the OS here, at the edge).
    rng: Mutex<StdRng>,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locator").finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Locator {
    /// Ask `servers` (UDP, then TCP for truncated answers), or the system's
    /// resolvers when the list is empty.
    pub fn new(servers: &[SocketAddr]) -> Result<Self, DnsError> {
        let resolver = if servers.is_empty() {
            TokioResolver::builder_tokio()
                .map_err(DnsError::Setup)?
                .build()
        } else {
            let group: Vec<NameServerConfig> = servers
                .iter()
                .flat_map(|s| {
                    [
                        NameServerConfig::new(*s, Protocol::Udp),
                        NameServerConfig::new(*s, Protocol::Tcp),
                    ]
                })
                .collect();
            let config =
                ResolverConfig::from_parts(None, Vec::new(), NameServerConfigGroup::from(group));
            TokioResolver::builder_with_config(config, TokioConnectionProvider::default()).build()
        };
        Ok(Self {
            resolver,
            cache: Mutex::new(HopCache::new()),
            rng: Mutex::new(StdRng::from_entropy()),
        })
    }

    /// The hops for `uri` in the order to try them. `transport` is used when
    /// neither the URI (`;transport=`) nor NAPTR records choose one.
    pub async fn locate(&self, uri: &str, transport: Transport) -> Result<Vec<Hop>, DnsError> {
        let parsed = Uri::parse(uri).map_err(|_| DnsError::NotSip(uri.to_string()))?;
        let sip = parsed
            .as_sip()
            .ok_or_else(|| DnsError::NotSip(uri.to_string()))?;
        let host = sip.host.trim_start_matches('[').trim_end_matches(']');
        // RFC 3261 §26.2.2 / RFC 5630: `sips:` is TLS whatever else is said;
        // `transport=tls` asks for TLS on this hop.
        let uri_transport = if sip.secure {
            Some(Transport::Tls)
        } else {
            sip.param("transport")
                .flatten()
                .and_then(Transport::from_param)
        };
        // §4.1/§4.2: an IP literal needs no DNS.
        if let Ok(ip) = host.parse::<IpAddr>() {
            let transport = uri_transport.unwrap_or(transport);
            return Ok(vec![Hop {
                addr: SocketAddr::new(ip, sip.port.unwrap_or(default_port(transport))),
                transport,
            }]);
        }
        let key = format!(
            "{host}:{}:{uri_transport:?}:{transport:?}",
            sip.port.unwrap_or(0)
        );
        let cached = lock(&self.cache).get(&key, Instant::now());
        let hops = match cached {
            Some(h) => h,
            None => {
                let (hops, until) = self
                    .resolve(host, sip.port, uri_transport, transport)
                    .await?;
                lock(&self.cache).put(&key, hops.clone(), until);
                hops
            }
        };
        let ordered = order_hops(&hops, &mut *lock(&self.rng));
        if ordered.is_empty() {
            return Err(DnsError::NotFound(host.to_string()));
        }
        Ok(ordered)
    }

    /// RFC 3263 §4.1–4.2 for a host name; the answer is valid until the
    /// earliest expiry of the records it came from.
    async fn resolve(
        &self,
        host: &str,
        port: Option<u16>,
        uri_transport: Option<Transport>,
        fallback: Transport,
    ) -> Result<(Vec<WeightedHop>, Instant), DnsError> {
        let mut until: Option<Instant> = None;
        let mut note = |t: Instant| until = Some(until.map_or(t, |u| u.min(t)));
        // An explicit port: A/AAAA only (§4.2).
        if let Some(port) = port {
            let (ips, t) = self.ips(host).await?;
            note(t);
            let transport = uri_transport.unwrap_or(fallback);
            let hops = ips
                .into_iter()
                .map(|ip| plain(SocketAddr::new(ip, port), transport))
                .collect();
            return Ok((hops, until.unwrap_or_else(Instant::now)));
        }
        // The SRV names to try: the URI's transport, else NAPTR's choice, else
        // SRV for each transport we speak, the configured one first (§4.1).
        let services: Vec<(Transport, String)> = match uri_transport {
            Some(t) => vec![(t, srv_name(host, t))],
            None => {
                let (naptr, t) = self.naptr(host).await?;
                if let Some(t) = t {
                    note(t);
                }
                let picked = naptr_services(&naptr);
                match (picked.is_empty(), fallback) {
                    // A trunk configured for TLS never falls back to a
                    // plain transport (RFC 5630 §3.2: no silent downgrade).
                    (_, Transport::Tls) => {
                        let tls: Vec<_> = picked
                            .into_iter()
                            .filter(|(t, _)| *t == Transport::Tls)
                            .collect();
                        if tls.is_empty() {
                            vec![(Transport::Tls, srv_name(host, Transport::Tls))]
                        } else {
                            tls
                        }
                    }
                    (true, Transport::Udp) => vec![
                        (Transport::Udp, srv_name(host, Transport::Udp)),
                        (Transport::Tcp, srv_name(host, Transport::Tcp)),
                    ],
                    (true, Transport::Tcp) => vec![
                        (Transport::Tcp, srv_name(host, Transport::Tcp)),
                        (Transport::Udp, srv_name(host, Transport::Udp)),
                    ],
                    (false, _) => picked,
                }
            }
        };
        for (transport, name) in services {
            let (records, t) = self.srv(&name).await?;
            if records.is_empty() {
                continue;
            }
            if let Some(t) = t {
                note(t);
            }
            let mut hops = Vec::new();
            let ordered = order_srv(&records, &mut *lock(&self.rng));
            for r in ordered {
                let (ips, t) = self.ips(&r.target).await?;
                note(t);
                hops.extend(ips.into_iter().map(|ip| WeightedHop {
                    priority: r.priority,
                    weight: r.weight,
                    hop: Hop {
                        addr: SocketAddr::new(ip, r.port),
                        transport,
                    },
                }));
            }
            if !hops.is_empty() {
                return Ok((hops, until.unwrap_or_else(Instant::now)));
            }
        }
        // No SRV: the host's A/AAAA on 5060, 5061 for TLS (§4.2).
        let (ips, t) = self.ips(host).await?;
        note(t);
        let transport = uri_transport.unwrap_or(fallback);
        let hops = ips
            .into_iter()
            .map(|ip| plain(SocketAddr::new(ip, default_port(transport)), transport))
            .collect();
        Ok((hops, until.unwrap_or_else(Instant::now)))
    }

    async fn naptr(&self, host: &str) -> Result<(Vec<Naptr>, Option<Instant>), DnsError> {
        self.records(host, RecordType::NAPTR, |d| match d {
            RData::NAPTR(n) => Some(Naptr {
                order: n.order(),
                preference: n.preference(),
                flags: String::from_utf8_lossy(n.flags()).into_owned(),
                service: String::from_utf8_lossy(n.services()).into_owned(),
                replacement: n.replacement().to_ascii(),
            }),
            _ => None,
        })
        .await
    }

    async fn srv(&self, name: &str) -> Result<(Vec<Srv>, Option<Instant>), DnsError> {
        self.records(name, RecordType::SRV, |d| match d {
            RData::SRV(s) => Some(Srv {
                priority: s.priority(),
                weight: s.weight(),
                port: s.port(),
                target: s.target().to_ascii(),
            }),
            _ => None,
        })
        .await
    }

    /// The `kind` records of `name` (none when the name or the type does
    /// not exist) and until when the answer is valid.
    async fn records<T>(
        &self,
        name: &str,
        kind: RecordType,
        pick: impl Fn(&RData) -> Option<T>,
    ) -> Result<(Vec<T>, Option<Instant>), DnsError> {
        match self.resolver.lookup(fqdn(name), kind).await {
            Ok(l) => Ok((
                l.record_iter().filter_map(|r| pick(r.data())).collect(),
                Some(l.valid_until()),
            )),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok((Vec::new(), None)),
            Err(source) => Err(DnsError::Lookup {
                name: name.to_string(),
                source,
            }),
        }
    }

    async fn ips(&self, host: &str) -> Result<(Vec<IpAddr>, Instant), DnsError> {
        match self.resolver.lookup_ip(fqdn(host)).await {
            Ok(l) => Ok((l.iter().collect(), l.valid_until())),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                Err(DnsError::NotFound(host.to_string()))
            }
            Err(source) => Err(DnsError::Lookup {
                name: host.to_string(),
                source,
            }),
        }
    }
}

/// A name as a fully qualified one (one query, no search domains).
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

/// RFC 3261 §19.1.2: 5060, and 5061 for TLS.
fn default_port(transport: Transport) -> u16 {
    if transport == Transport::Tls {
        5061
    } else {
        5060
    }
}

fn plain(addr: SocketAddr, transport: Transport) -> WeightedHop {
    WeightedHop {
        priority: 0,
        weight: 0,
        hop: Hop { addr, transport },
    }
}
