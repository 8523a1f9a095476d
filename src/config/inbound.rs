//! Who may talk to orderline (issue #14): `[[trunks]] inbound_from` and
//! `[sip] rate_limit`/`rate_burst`, turned into the SIP core's admission
//! rules (`orderline_sip::admission`).

use orderline_sip::admission::{AdmissionConfig, Cidr, RateLimit};
use orderline_sip::uri::Uri;

use super::{invalid, Config, ConfigError, SipConfig};

impl Config {
    /// New calls only from the trunks' networks (and registered agents,
    /// added live by the SIP driver); other sources rate-limited. A trunk
    /// without `inbound_from` sends from its `uri`'s (and `outbound_proxy`'s)
    /// address when that is an IP literal; a host name alone allows nothing.
    pub fn admission(&self) -> Result<AdmissionConfig, ConfigError> {
        let mut nets = Vec::new();
        for i in 0..self.trunks.len() {
            nets.extend(self.trunk_networks(i)?);
        }
        Ok(AdmissionConfig {
            inbound_from: Some(nets),
            rate: self.sip.rate()?,
            ..AdmissionConfig::default()
        })
    }

    /// The networks trunk `i` sends from: its `inbound_from`, else the IP
    /// of its `uri` and `outbound_proxy` when they are IP literals.
    fn trunk_networks(&self, i: usize) -> Result<Vec<Cidr>, ConfigError> {
        let Some(t) = self.trunks.get(i) else {
            return Ok(Vec::new());
        };
        match &t.inbound_from {
            Some(list) => list
                .iter()
                .map(|s| {
                    s.parse::<Cidr>()
                        .map_err(|e| invalid(&format!("trunks[{i}].inbound_from"), e.to_string()))
                })
                .collect(),
            None => Ok([Some(&t.uri), t.outbound_proxy.as_ref()]
                .into_iter()
                .flatten()
                .filter_map(|u| Uri::parse(u).ok())
                .filter_map(|u| orderline_sip::dialog::uri_addr(&u))
                .map(|a| Cidr::host(a.ip()))
                .collect()),
        }
    }

    /// The first trunk whose networks hold `ip`: whose rules (its `srtp`)
    /// an inbound call from there follows.
    pub fn trunk_from(&self, ip: std::net::IpAddr) -> Option<&super::TrunkConfig> {
        (0..self.trunks.len())
            .find(|&i| {
                self.trunk_networks(i)
                    .is_ok_and(|nets| nets.iter().any(|n| n.contains(ip)))
            })
            .and_then(|i| self.trunks.get(i))
    }

    /// Trunks from which no INVITE can be taken (a host name and no
    /// `inbound_from`): worth a warning at start.
    pub fn trunks_without_inbound(&self) -> Vec<&str> {
        self.trunks
            .iter()
            .filter(|t| t.inbound_from.is_none())
            .filter(|t| {
                [Some(&t.uri), t.outbound_proxy.as_ref()]
                    .into_iter()
                    .flatten()
                    .filter_map(|u| Uri::parse(u).ok())
                    .all(|u| orderline_sip::dialog::uri_addr(&u).is_none())
            })
            .map(|t| t.name.as_str())
            .collect()
    }
}

impl SipConfig {
    /// `rate_limit` and `rate_burst`; `None` when the limit is off (0).
    pub fn rate(&self) -> Result<Option<RateLimit>, ConfigError> {
        if !self.rate_limit.is_finite() || self.rate_limit < 0.0 {
            return Err(invalid("sip.rate_limit", "must be a number ≥ 0"));
        }
        if self.rate_limit == 0.0 {
            return Ok(None);
        }
        if self.rate_burst == 0 {
            return Err(invalid("sip.rate_burst", "must be at least 1"));
        }
        Ok(Some(RateLimit {
            rate: self.rate_limit,
            burst: f64::from(self.rate_burst),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(text)
    }

    #[test]
    fn trunks_networks_are_the_allow_list() {
        let cfg = parse(
            r#"
[[trunks]]
name = "a"
uri = "sip:192.0.2.10:5060"
[[trunks]]
name = "b"
uri = "sip:carrier.example"
inbound_from = ["203.0.113.0/24", "198.51.100.7"]
[[trunks]]
name = "c"
uri = "sip:sbc.example"
"#,
        )
        .expect("config");
        let a = cfg.admission().expect("admission");
        let nets: Vec<String> = a
            .inbound_from
            .expect("a list")
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, ["192.0.2.10/32", "203.0.113.0/24", "198.51.100.7/32"]);
        assert_eq!(cfg.trunks_without_inbound(), ["c"]);
        let rate = a.rate.expect("limited by default");
        assert_eq!((rate.rate, rate.burst), (20.0, 50.0));
    }

    #[test]
    fn bad_keys_are_named() {
        let e = parse(
            "[[trunks]]\nname = \"a\"\nuri = \"sip:x.example\"\ninbound_from = [\"10.0.0.0/40\"]\n",
        )
        .expect_err("bad cidr");
        assert!(e.to_string().contains("trunks[0].inbound_from"), "{e}");
        let e = parse("[sip]\nrate_limit = -1.0\n").expect_err("negative");
        assert!(e.to_string().contains("sip.rate_limit"), "{e}");
        let off = parse("[sip]\nrate_limit = 0.0\n").expect("off");
        assert!(off.admission().expect("admission").rate.is_none());
    }
}
