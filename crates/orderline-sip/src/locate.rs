//! Locating a SIP server from a host name (RFC 3263 §4), sans-IO: the rules
//! that turn NAPTR and SRV answers into an ordered list of hops, and a cache
//! that keeps the result for its records' TTL. The DNS queries themselves are
//! the tokio edge's (the root crate's `sip::dns`); this module reads no clock
//! and draws its randomness (RFC 2782 weights) from the RNG it is handed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use rand::Rng;

use super::dialog::Transport;

/// A NAPTR record (RFC 3403) as far as RFC 3263 §4.1 uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    pub order: u16,
    pub preference: u16,
    /// `S` (an SRV name follows), `A`, … (case-insensitive).
    pub flags: String,
    /// `SIP+D2U`, `SIP+D2T`, `SIPS+D2T`, … (case-insensitive).
    pub service: String,
    /// The SRV name to look up next, e.g. `_sip._udp.example.com`.
    pub replacement: String,
}

/// An SRV record (RFC 2782).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    pub target: String,
}

/// One place to send a request: an address and the transport to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    pub addr: SocketAddr,
    pub transport: Transport,
}

/// The transport a NAPTR service names, if we speak it (RFC 3263 §4.1:
/// `SIP+D2U` UDP, `SIP+D2T` TCP, `SIPS+D2T` TLS; SCTP is not ours).
pub fn naptr_transport(service: &str) -> Option<Transport> {
    match service.to_ascii_uppercase().as_str() {
        "SIP+D2U" => Some(Transport::Udp),
        "SIP+D2T" => Some(Transport::Tcp),
        "SIPS+D2T" => Some(Transport::Tls),
        _ => None,
    }
}

/// The SRV names to try, in order, from a host's NAPTR records (RFC 3263
/// §4.1): only `S` records for transports we support, by `order` then
/// `preference` (RFC 3403 §4.1).
pub fn naptr_services(records: &[Naptr]) -> Vec<(Transport, String)> {
    let mut usable: Vec<&Naptr> = records
        .iter()
        .filter(|r| r.flags.eq_ignore_ascii_case("s") && naptr_transport(&r.service).is_some())
        .collect();
    usable.sort_by_key(|r| (r.order, r.preference));
    usable
        .into_iter()
        .filter_map(|r| Some((naptr_transport(&r.service)?, r.replacement.clone())))
        .collect()
}

/// The SRV name for a transport when there is no NAPTR (RFC 3263 §4.1:
/// TLS is `_sips._tcp`).
pub fn srv_name(host: &str, transport: Transport) -> String {
    let (service, proto) = match transport {
        Transport::Udp => ("sip", "udp"),
        Transport::Tcp => ("sip", "tcp"),
        Transport::Tls => ("sips", "tcp"),
    };
    format!("_{service}._{proto}.{}", host.trim_end_matches('.'))
}

/// SRV records in the order to try them (RFC 2782): lowest priority first;
/// within a priority, a weighted random order where a record's chance of
/// coming next is its weight over the weights left. Weight-0 records come
/// after the weighted ones of their priority (the RFC's "very small chance",
/// made zero). A target of `.` means "no service here" and is dropped.
pub fn order_srv(records: &[Srv], rng: &mut impl Rng) -> Vec<Srv> {
    let usable: Vec<Srv> = records
        .iter()
        .filter(|r| !r.target.trim_end_matches('.').is_empty())
        .cloned()
        .collect();
    order_weighted(&usable, |r| (r.priority, r.weight), rng)
}

/// RFC 2782 ordering over anything with a (priority, weight).
pub fn order_weighted<T: Clone>(
    items: &[T],
    key: impl Fn(&T) -> (u16, u16),
    rng: &mut impl Rng,
) -> Vec<T> {
    let mut priorities: Vec<u16> = items.iter().map(|r| key(r).0).collect();
    priorities.sort_unstable();
    priorities.dedup();
    let mut out = Vec::with_capacity(items.len());
    for p in priorities {
        let mut group: Vec<&T> = items.iter().filter(|r| key(r).0 == p).collect();
        while !group.is_empty() {
            let total: u32 = group.iter().map(|r| u32::from(key(r).1)).sum();
            let mut pick = 0;
            if total > 0 {
                let mut ticket = rng.gen_range(0..total);
                for (i, r) in group.iter().enumerate() {
                    let w = u32::from(key(r).1);
                    if ticket < w {
                        pick = i;
                        break;
                    }
                    ticket -= w;
                }
            }
            out.push(group.remove(pick).clone());
        }
    }
    out
}

/// A located hop with the SRV priority and weight it came with (0, 0 for a
/// plain A/AAAA answer), so a cached answer is re-ordered on every use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightedHop {
    pub priority: u16,
    pub weight: u16,
    pub hop: Hop,
}

/// The hops to try for one request, in order (RFC 3263 §4.4 with RFC 2782).
pub fn order_hops(hops: &[WeightedHop], rng: &mut impl Rng) -> Vec<Hop> {
    order_weighted(hops, |h| (h.priority, h.weight), rng)
        .into_iter()
        .map(|h| h.hop)
        .collect()
}

/// Located hops per name, each kept until the shortest TTL among the records
/// that produced it (RFC 1035 §3.2.1; RFC 3263 §4 leaves caching to DNS).
#[derive(Debug, Default)]
pub struct HopCache {
    entries: HashMap<String, (Vec<WeightedHop>, Instant)>,
}

impl HopCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The hops for `key` if they are still valid at `now`.
    pub fn get(&mut self, key: &str, now: Instant) -> Option<Vec<WeightedHop>> {
        match self.entries.get(key) {
            Some((hops, until)) if now < *until => Some(hops.clone()),
            Some(_) => {
                self.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Keep `hops` for `key` until `valid_until`.
    pub fn put(&mut self, key: &str, hops: Vec<WeightedHop>, valid_until: Instant) {
        self.entries.insert(key.to_string(), (hops, valid_until));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use std::time::Duration;

    fn srv(priority: u16, weight: u16, target: &str) -> Srv {
        Srv {
            priority,
            weight,
            port: 5060,
            target: target.into(),
        }
    }

    #[test]
    fn naptr_picks_supported_transports_by_order_then_preference() {
        let n = |order, preference, service: &str, repl: &str| Naptr {
            order,
            preference,
            flags: "s".into(),
            service: service.into(),
            replacement: repl.into(),
        };
        let recs = [
            n(20, 10, "SIP+D2U", "_sip._udp.x"),
            n(10, 60, "SIP+D2U", "_sip._udp.y"),
            n(10, 50, "SIP+D2T", "_sip._tcp.x"),
            n(5, 1, "SIPS+D2T", "_sips._tcp.x"),
            n(1, 1, "SIP+D2S", "_sip._sctp.x"),
        ];
        assert_eq!(
            naptr_services(&recs),
            vec![
                (Transport::Tls, "_sips._tcp.x".to_string()),
                (Transport::Tcp, "_sip._tcp.x".to_string()),
                (Transport::Udp, "_sip._udp.y".to_string()),
                (Transport::Udp, "_sip._udp.x".to_string()),
            ]
        );
        assert_eq!(
            srv_name("trunk.example.", Transport::Udp),
            "_sip._udp.trunk.example"
        );
        assert_eq!(
            srv_name("trunk.example", Transport::Tls),
            "_sips._tcp.trunk.example"
        );
    }

    #[test]
    fn srv_lowest_priority_first_and_weights_share_the_rest() {
        let recs = [srv(20, 0, "backup"), srv(10, 75, "a"), srv(10, 25, "b")];
        let mut rng = StdRng::seed_from_u64(7);
        let mut first_a = 0;
        for _ in 0..4000 {
            let o = order_srv(&recs, &mut rng);
            assert_eq!(o.len(), 3);
            assert_eq!(o[2].target, "backup", "priority 20 always last");
            if o[0].target == "a" {
                first_a += 1;
            }
        }
        // 75 % ± a margin far beyond sampling noise (σ ≈ 0.7 %).
        assert!((2800..3200).contains(&first_a), "a first {first_a} of 4000");
    }

    #[test]
    fn srv_target_dot_means_no_service() {
        let mut rng = StdRng::seed_from_u64(1);
        assert!(order_srv(&[srv(0, 0, ".")], &mut rng).is_empty());
    }

    #[test]
    fn cached_hops_expire_with_their_ttl() {
        let t0 = Instant::now();
        let mut c = HopCache::new();
        let hop = WeightedHop {
            priority: 10,
            weight: 1,
            hop: Hop {
                addr: "127.0.0.1:5070".parse().expect("addr"),
                transport: Transport::Udp,
            },
        };
        c.put("trunk", vec![hop], t0 + Duration::from_secs(60));
        assert_eq!(
            c.get("trunk", t0 + Duration::from_secs(59)),
            Some(vec![hop])
        );
        assert_eq!(c.get("trunk", t0 + Duration::from_secs(60)), None);
        assert_eq!(c.get("trunk", t0), None, "an expired entry is gone");
    }
}
