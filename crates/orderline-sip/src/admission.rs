//! Who may talk to orderline (issue #14), sans-IO: the allow list for new
//! calls and a per-source request rate limit.
//!
//! - **Allow list.** An out-of-dialog INVITE is taken only from a configured
//!   trunk network (`[[trunks]] inbound_from`, CIDRs) or from the source of a
//!   registered agent's phone; anything else is answered 403 (RFC 3261
//!   §21.4.4) before a call, a dialog or a media port exists. Scanners that
//!   knock on 5060 ("friendly-scanner", SIPVicious) get nothing to hold on to.
//! - **Rate limit.** Each source address has a token bucket of requests
//!   (`rate` per second, `burst` deep). Requests beyond it are dropped
//!   unanswered: answering a flood would amplify it, and a UDP sender's
//!   address may be forged toward a victim. Trunk networks are exempt (a
//!   carrier carries many calls); responses are never limited (they only
//!   match our own client transactions, §17.1.3). The table is bounded: past
//!   `max_sources` distinct sources, the unknown ones share one bucket, so a
//!   flood from forged addresses cannot grow memory nor starve the trunk.
//!
//! Time comes in as an argument; nothing here reads a clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// An address block, `203.0.113.0/24`, `2001:db8::/32`, or one address
/// (`198.51.100.7`, a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a CIDR did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR block (e.g. 203.0.113.0/24)")]
pub struct CidrError(pub String);

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Cidr, CidrError> {
        let bad = || CidrError(s.to_string());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl Cidr {
    /// The block holding exactly `ip`.
    pub fn host(ip: IpAddr) -> Cidr {
        let prefix = if ip.is_ipv4() { 32 } else { 128 };
        Cidr { addr: ip, prefix }
    }

    /// Whether `ip` is inside the block. An IPv4-mapped IPv6 source
    /// (`::ffff:a.b.c.d`, a dual-stack socket) is matched as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// A token bucket's size: `rate` requests per second, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub rate: f64,
    pub burst: f64,
}

/// The admission settings.
#[derive(Debug, Clone, PartialEq)]
pub struct AdmissionConfig {
    /// Networks new calls are taken from (besides registered agents), and
    /// exempt from the rate limit. `None`: INVITEs from anywhere (the
    /// library default; the daemon always sets a list).
    pub inbound_from: Option<Vec<Cidr>>,
    /// Per-source request limit; `None`: unlimited.
    pub rate: Option<RateLimit>,
    /// Distinct sources tracked before unknown ones share one bucket.
    pub max_sources: usize,
}

impl Default for AdmissionConfig {
    fn default() -> Self {
        AdmissionConfig {
            inbound_from: None,
            rate: None,
            max_sources: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    /// Refill for the time since the last look, then take one token if there is one.
    fn take(&mut self, now: Instant, limit: RateLimit) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * limit.rate).min(limit.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket would be full again by `now` (nothing to remember).
    fn full_by(&self, now: Instant, limit: RateLimit) -> bool {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens + dt * limit.rate >= limit.burst
    }
}

/// What admission refused so far (for `/metrics` and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdmissionCounts {
    /// Requests dropped for their source's rate.
    pub rate_limited: u64,
    /// INVITEs answered 403 for their source.
    pub forbidden: u64,
}

/// The allow list, the registered agents' sources and the buckets.
#[derive(Debug)]
pub struct Admission {
    cfg: AdmissionConfig,
    /// Agents' phones: source address → until when its binding holds.
    agents: HashMap<IpAddr, Instant>,
    buckets: HashMap<IpAddr, Bucket>,
    /// Shared by unknown sources once `buckets` is full.
    overflow: Option<Bucket>,
    counts: AdmissionCounts,
}

impl Admission {
    pub fn new(cfg: AdmissionConfig) -> Admission {
        Admission {
            cfg,
            agents: HashMap::new(),
            buckets: HashMap::new(),
            overflow: None,
            counts: AdmissionCounts::default(),
        }
    }

    pub fn config(&self) -> &AdmissionConfig {
        &self.cfg
    }

    pub fn counts(&self) -> AdmissionCounts {
        self.counts
    }

    /// Replace the registered agents' sources, each with the instant its
    /// binding lapses (the registrar's view; RFC 3581 `received` address).
    pub fn set_agents(&mut self, agents: impl IntoIterator<Item = (IpAddr, Instant)>) {
        self.agents.clear();
        for (ip, until) in agents {
            let e = self.agents.entry(ip).or_insert(until);
            *e = (*e).max(until);
        }
    }

    /// Whether `ip` is inside a trunk network.
    pub fn is_trunk(&self, ip: IpAddr) -> bool {
        self.cfg
            .inbound_from
            .as_ref()
            .is_some_and(|nets| nets.iter().any(|n| n.contains(ip)))
    }

    /// Whether a new call (out-of-dialog INVITE) from `ip` is taken at `now`.
    /// A refusal is counted: the caller answers it 403.
    pub fn may_call(&mut self, now: Instant, ip: IpAddr) -> bool {
        let ok = self.cfg.inbound_from.is_none()
            || self.is_trunk(ip)
            || self.agents.get(&ip).is_some_and(|until| *until > now);
        if !ok {
            self.counts.forbidden += 1;
        }
        ok
    }

    /// Whether a request from `ip` at `now` is within its source's rate
    /// (and takes one token). A refusal is counted: the caller drops it.
    pub fn admit_request(&mut self, now: Instant, ip: IpAddr) -> bool {
        let Some(limit) = self.cfg.rate else {
            return true;
        };
        if self.is_trunk(ip) {
            return true;
        }
        if !self.buckets.contains_key(&ip) && self.buckets.len() >= self.cfg.max_sources {
            // Forget the sources that are quiet again before sharing.
            self.buckets.retain(|_, b| !b.full_by(now, limit));
        }
        let fresh = Bucket {
            tokens: limit.burst,
            at: now,
        };
        let bucket = if self.buckets.len() < self.cfg.max_sources || self.buckets.contains_key(&ip)
        {
            self.buckets.entry(ip).or_insert(fresh)
        } else {
            self.overflow.get_or_insert(fresh)
        };
        let ok = bucket.take(now, limit);
        if !ok {
            self.counts.rate_limited += 1;
        }
        ok
    }

    /// How long until a limited source has a token again (for logs and tests).
    pub fn retry_in(&self, now: Instant, ip: IpAddr) -> Duration {
        match (self.cfg.rate, self.buckets.get(&ip)) {
            (Some(limit), Some(b)) if limit.rate > 0.0 => {
                let dt = now.saturating_duration_since(b.at).as_secs_f64();
                let have = (b.tokens + dt * limit.rate).min(limit.burst);
                Duration::from_secs_f64(((1.0 - have) / limit.rate).max(0.0))
            }
            _ => Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn cidrs_parse_and_match_by_prefix() {
        let net: Cidr = "203.0.113.0/24".parse().expect("cidr");
        assert!(net.contains(ip("203.0.113.77")));
        assert!(!net.contains(ip("203.0.114.1")));
        assert!(net.contains(ip("::ffff:203.0.113.9")), "v4-mapped source");
        let one: Cidr = "198.51.100.7".parse().expect("host");
        assert_eq!(one.to_string(), "198.51.100.7/32");
        assert!(one.contains(ip("198.51.100.7")) && !one.contains(ip("198.51.100.8")));
        let all: Cidr = "0.0.0.0/0".parse().expect("any v4");
        assert!(all.contains(ip("192.0.2.1")) && !all.contains(ip("2001:db8::1")));
        let v6: Cidr = "2001:db8::/32".parse().expect("v6");
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        for bad in [
            "",
            "10.0.0.0/33",
            "::/129",
            "host.example",
            "10.0.0.0/x",
            "1.2.3/8",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} accepted");
        }
    }

    fn closed() -> Admission {
        Admission::new(AdmissionConfig {
            inbound_from: Some(vec!["127.0.0.1/32".parse().expect("cidr")]),
            rate: Some(RateLimit {
                rate: 10.0,
                burst: 5.0,
            }),
            max_sources: 3,
        })
    }

    #[test]
    fn calls_only_from_trunk_networks_and_live_agents() {
        let t0 = Instant::now();
        let mut a = closed();
        assert!(a.may_call(t0, ip("127.0.0.1")));
        assert!(!a.may_call(t0, ip("127.0.0.2")));
        a.set_agents([(ip("127.0.0.2"), t0 + Duration::from_secs(60))]);
        assert!(a.may_call(t0, ip("127.0.0.2")), "registered agent");
        assert!(
            !a.may_call(t0 + Duration::from_secs(61), ip("127.0.0.2")),
            "a lapsed binding opens nothing"
        );
        assert_eq!(a.counts().forbidden, 2);
        let open = &mut Admission::new(AdmissionConfig::default());
        assert!(open.may_call(t0, ip("192.0.2.1")));
    }

    #[test]
    fn each_source_gets_its_burst_then_its_rate_and_trunks_are_exempt() {
        let t0 = Instant::now();
        let mut a = closed();
        let flood = ip("127.0.0.2");
        let taken = (0..100).filter(|_| a.admit_request(t0, flood)).count();
        assert_eq!(taken, 5, "the burst, then nothing");
        assert!(
            (0..1000).all(|_| a.admit_request(t0, ip("127.0.0.1"))),
            "the trunk is never limited"
        );
        assert!(
            a.admit_request(t0, ip("127.0.0.3")),
            "another source has its own bucket"
        );
        assert!(a.retry_in(t0, flood) > Duration::ZERO);
        // 10/s: one more every 100 ms.
        let t1 = t0 + Duration::from_millis(100);
        assert!(a.admit_request(t1, flood));
        assert!(!a.admit_request(t1, flood));
        assert_eq!(a.counts().rate_limited, 96);
    }

    #[test]
    fn a_flood_of_forged_sources_shares_one_bucket() {
        let t0 = Instant::now();
        let mut a = closed();
        let mut taken = 0;
        for i in 0..250u8 {
            if a.admit_request(t0, IpAddr::from([10, 0, 0, i])) {
                taken += 1;
            }
        }
        // Three tracked sources take one token each, then the shared bucket its burst.
        assert_eq!(taken, 3 + 5);
        assert!(a.buckets.len() <= 3);
        // Quiet sources are forgotten, and new ones get their own bucket again.
        let later = t0 + Duration::from_secs(5);
        assert!(a.admit_request(later, ip("192.0.2.9")));
        assert!(a.buckets.contains_key(&ip("192.0.2.9")));
    }

    /// Through the endpoint: a stranger's INVITE is answered 403 and never
    /// becomes a call; a flood past the burst is not answered at all; the
    /// trunk's INVITE still rings through.
    #[test]
    fn the_endpoint_refuses_strangers_before_any_call_exists() {
        use crate::endpoint::{Endpoint, EndpointConfig, Input, SipEvent, Transport};
        let mut ep = Endpoint::new(EndpointConfig {
            admission: closed().cfg,
            ..Default::default()
        });
        let invite = |from: std::net::SocketAddr, n: u32| {
            format!(
                "INVITE sip:orders@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bKacl{n}\r\n\
                 From: <sip:100@{from}>;tag=a{n}\r\nTo: <sip:orders@127.0.0.1>\r\nCall-ID: acl-{n}@test\r\n\
                 CSeq: 1 INVITE\r\nContact: <sip:100@{from}>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            )
        };
        let t0 = Instant::now();
        let stranger: std::net::SocketAddr = "127.0.0.2:5099".parse().expect("addr");
        let mut answers = Vec::new();
        for n in 0..50 {
            let bytes = invite(stranger, n);
            ep.handle_input(
                t0,
                Input::Datagram {
                    from: stranger,
                    transport: Transport::Udp,
                    bytes: bytes.as_bytes(),
                },
            );
            while let Some(t) = ep.poll_transmit() {
                answers.push(
                    String::from_utf8_lossy(&t.bytes)
                        .lines()
                        .next()
                        .unwrap_or("")
                        .to_string(),
                );
            }
        }
        assert_eq!(
            answers.len(),
            5,
            "the burst is answered, the rest dropped: {answers:?}"
        );
        assert!(
            answers.iter().all(|l| l == "SIP/2.0 403 Forbidden"),
            "{answers:?}"
        );
        assert_eq!(ep.call_count(), 0);
        assert!(ep.poll_event().is_none(), "no call reached the application");
        assert_eq!(
            ep.admission_counts(),
            AdmissionCounts {
                rate_limited: 45,
                forbidden: 5
            }
        );

        let trunk: std::net::SocketAddr = "127.0.0.1:5070".parse().expect("addr");
        let bytes = invite(trunk, 99);
        ep.handle_input(
            t0,
            Input::Datagram {
                from: trunk,
                transport: Transport::Udp,
                bytes: bytes.as_bytes(),
            },
        );
        assert!(matches!(ep.poll_event(), Some((_, SipEvent::Incoming(_)))));
        assert_eq!(ep.call_count(), 1);
    }
}
