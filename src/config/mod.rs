//! The TOML configuration contract (the README's configuration reference;
//! `docs/architecture.md` for where each section's domain type lives).
//!
//! Every key listed in the design handbook keeps working; unknown keys are
//! rejected with the key's name so a typo in a trunk definition never silently
//! falls back to a default.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

mod agents;
mod campaign;
mod cluster;
mod dns;
mod duration;
mod inbound;
mod operators;
mod registrar;
mod session_timer;
mod tls;
mod tts;
pub use agents::{check_sip_password, check_sip_user, AgentConfig, PaymentsConfig};
pub use cluster::{ClusterNode, ClusterSection, MIN_LEASE};
pub use dns::DnsConfig;
pub use duration::parse_duration;
pub use operators::{FloorSettings, OperatorsConfig};
pub use registrar::{accounts as registrar_accounts, RegistrarSection};
pub use tls::{SrtpMode, TlsSection};
pub use tts::TtsConfig;
// Domain types the config deserializes; they belong to the dialer's rules.
pub use crate::dialer::{Fallback, RuleAction, MAX_REATTEMPTS};
#[cfg(test)]
mod dialer_tests;

/// A configuration error, naming the key that is wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {source}")]
    Syntax {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("config key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_string(),
        reason: reason.into(),
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub sip: SipConfig,
    #[serde(default)]
    pub trunks: Vec<TrunkConfig>,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub webhooks: Option<WebhookConfig>,
    #[serde(default)]
    pub calling: CallingConfig,
    /// Which orders get a confirmation call (see [`CampaignConfig`]).
    #[serde(default)]
    pub campaign: CampaignConfig,
    #[serde(default)]
    pub media: MediaConfig,
    /// `[tts]`: the engine per language for names (issue #13).
    #[serde(default)]
    pub tts: TtsConfig,
    /// `[merchant]`: who the robo-call says is calling (issue #13).
    #[serde(default)]
    pub merchant: MerchantConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// `[[agents]]`: people whose phones take bridged calls.
    #[serde(default)]
    pub agents: Vec<AgentConfig>,
    /// `[payments]`: keypad payment sessions.
    #[serde(default)]
    pub payments: PaymentsConfig,
    /// `[dialer]`: call modes, status ticks, disposition targets (docs/call-modes.md).
    #[serde(default)]
    pub dialer: orderline_dialer::modes::DialerConfig,
    /// `[operators]`: pause codes, dispositions, wrap-up (issue #10).
    #[serde(default)]
    pub operators: OperatorsConfig,
    /// `[dns]`: resolvers for trunk and agent host names (RFC 3263).
    #[serde(default)]
    pub dns: DnsConfig,
    /// `[cluster]`: one of several nodes on one PostgreSQL (issue #16).
    #[serde(default)]
    pub cluster: Option<ClusterSection>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Signalling address, UDP and TCP.
    pub listen: SocketAddr,
    /// Address written into Contact and SDP `c=` lines.
    pub public_addr: IpAddr,
    /// RTP port range, `"20000-29999"`; one even port per call.
    pub rtp_ports: String,
    /// RFC 3261 T1 in milliseconds (default 500). Only tests lower it.
    pub t1_ms: u64,
    /// User part of our From/Contact.
    pub user_agent: String,
    /// The registrar's domain and digest realm (default: `public_addr`).
    pub domain: Option<String>,
    /// `[sip.registrar]`: agents' phones registering (RFC 3261 §10).
    pub registrar: RegistrarSection,
    /// Calls up at once, in and out (default: one per RTP pair of `rtp_ports`);
    /// inbound INVITEs beyond get 503 with `Retry-After` (RFC 3261 §21.5.4).
    pub max_calls: Option<usize>,
    /// No RTP or RTCP from the far end for this long ends the call with
    /// cause `media_timeout` (default 30 s; a far end that vanished without BYE).
    pub media_timeout: String,
    /// The same while the far end holds the call (`sendonly`/`inactive`,
    /// RFC 3264 §8.4): some phones send nothing at all on hold (default 5 m).
    pub hold_timeout: String,
    /// SIP requests per second taken from one source address outside the
    /// trunks' `inbound_from` (default 20; 0: no limit). Beyond it requests
    /// are dropped unanswered.
    pub rate_limit: f64,
    /// How many requests such a source may send at once (default 50).
    pub rate_burst: u32,
    /// RFC 4028 session interval our INVITEs ask for (default 30 m).
    pub session_expires: String,
    /// The shortest session interval we accept; shorter gets 422 (default
    /// 90 s, the RFC's floor; only tests go lower).
    pub min_se: String,
    /// `[sip.tls]`: certificates, trust and the TLS listener (issue #14).
    pub tls: Option<TlsSection>,
}

impl Default for SipConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:5060".parse().expect("static address"),
            public_addr: "127.0.0.1".parse().expect("static address"),
            rtp_ports: "20000-29999".into(),
            t1_ms: 500,
            user_agent: "orderline".into(),
            domain: None,
            registrar: RegistrarSection::default(),
            max_calls: None,
            media_timeout: "30s".into(),
            hold_timeout: "5m".into(),
            rate_limit: 20.0,
            rate_burst: 50,
            session_expires: "30m".into(),
            min_se: "90s".into(),
            tls: None,
        }
    }
}

impl SipConfig {
    /// The parsed `rtp_ports` range.
    pub fn rtp_port_range(&self) -> Result<PortRange, ConfigError> {
        PortRange::parse(&self.rtp_ports).map_err(|r| invalid("sip.rtp_ports", r))
    }

    /// `max_calls`, or one call per RTP/RTCP pair of `rtp_ports`: every call
    /// holds a pair, so more calls than pairs could only fail locally
    /// (issue #14: a hard-coded 1,000 burnt 500 attempts of a 1,500-call
    /// campaign whose range had room for 5,000).
    pub fn max_calls(&self) -> Result<usize, ConfigError> {
        match self.max_calls {
            Some(0) => Err(invalid("sip.max_calls", "must be at least 1")),
            Some(n) => Ok(n),
            None => Ok(self.rtp_port_range()?.pairs()),
        }
    }

    /// `media_timeout` and `hold_timeout`, parsed; the hold one is never
    /// shorter than the talking one.
    pub fn media_timeouts(&self) -> Result<crate::media::MediaTimeouts, ConfigError> {
        let media = parse_duration(&self.media_timeout)
            .map_err(|e| invalid("sip.media_timeout", e.to_string()))?;
        let hold = parse_duration(&self.hold_timeout)
            .map_err(|e| invalid("sip.hold_timeout", e.to_string()))?;
        if media.is_zero() {
            return Err(invalid("sip.media_timeout", "must be above zero"));
        }
        if hold < media {
            return Err(invalid(
                "sip.hold_timeout",
                "must not be shorter than sip.media_timeout",
            ));
        }
        Ok(crate::media::MediaTimeouts { media, hold })
    }
}

/// An inclusive port range from which RTP ports are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

impl PortRange {
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, b) = s
            .split_once('-')
            .ok_or_else(|| format!("expected FIRST-LAST, got {s:?}"))?;
        let first: u16 = a.trim().parse().map_err(|_| format!("bad port {a:?}"))?;
        let last: u16 = b.trim().parse().map_err(|_| format!("bad port {b:?}"))?;
        if first == 0 || last < first.saturating_add(1) {
            return Err(format!(
                "range {s:?} must hold at least one even/odd RTP+RTCP pair"
            ));
        }
        Ok(Self { first, last })
    }

    /// Even ports `p` with `p + 1` also in the range: one call each.
    pub fn pairs(&self) -> usize {
        let first = u32::from(self.first) + u32::from(self.first % 2);
        (first..u32::from(self.last)).step_by(2).count()
    }
}

/// SIP transport toward a trunk (`tls`: RFC 3261 §26.2, needs `[sip.tls]`
/// unless the Mozilla roots and no client certificate will do).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

/// Secrets are [`SecretString`]s: `Debug` prints `[REDACTED]`, and the
/// memory is wiped when the config is dropped.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// `sip:host:port`; calls go to `sip:<phone>@host:port`.
    pub uri: String,
    pub username: Option<String>,
    pub password: Option<SecretString>,
    pub max_channels: Option<u32>,
    pub max_cps: Option<f64>,
    #[serde(default)]
    pub transport: Transport,
    /// Send every request of the call to this proxy (`sip:host:port`) instead
    /// of the trunk host, as a pre-loaded Route (RFC 3261 §8.1.2).
    pub outbound_proxy: Option<String>,
    /// Failover order: lower first (default 0).
    #[serde(default)]
    pub priority: u16,
    /// Share of calls among up trunks of one priority (default 1).
    #[serde(default = "one")]
    pub weight: u16,
    /// OPTIONS ping interval (e.g. `"30s"`); unset: never pinged.
    pub options_interval: Option<String>,
    /// Missed pings (or unanswered calls) in a row that mark the trunk down.
    #[serde(default = "two")]
    pub options_threshold: u32,
    /// Addresses or CIDR blocks this trunk sends from (`["203.0.113.0/24"]`):
    /// INVITEs are taken from these (and registered agents) only, and they
    /// are exempt from `[sip] rate_limit`. Unset: the IP of `uri` and
    /// `outbound_proxy` when they are IP literals (issue #14).
    pub inbound_from: Option<Vec<String>>,
    /// Which key presses count on this trunk's calls: `auto` (default: in-band,
    /// RFC 4733 and SIP INFO), `rfc4733`, `inband` or `info`.
    #[serde(default = "auto")]
    pub dtmf: String,
    /// SDES-SRTP on this trunk's calls: `off` (default), `optional`, `required`.
    #[serde(default)]
    pub srtp: SrtpMode,
}

fn auto() -> String {
    "auto".into()
}

fn one() -> u16 {
    1
}

fn two() -> u32 {
    2
}

impl TrunkConfig {
    /// `dtmf`, parsed.
    pub fn dtmf_mode(&self) -> Result<crate::dtmf::DtmfMode, ConfigError> {
        crate::dtmf::DtmfMode::parse(&self.dtmf).ok_or_else(|| {
            invalid(
                &format!("trunks.{}.dtmf", self.name),
                "must be auto, rfc4733, inband or info",
            )
        })
    }

    /// `options_interval`, parsed (`None`: no pings).
    pub fn options_interval(&self) -> Result<Option<Duration>, ConfigError> {
        self.options_interval
            .as_deref()
            .map(|s| parse_duration(s).map_err(|e| invalid("trunks.options_interval", e)))
            .transpose()
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Merchant tokens; never printed (`check-config`, logs).
    pub api_tokens: Vec<SecretString>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("static address"),
            api_tokens: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://orderline.db".into(),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// The signing secret; never printed.
    pub secret: SecretString,
    /// Deliveries in flight at once (issue #13), across orders; one order's
    /// events still go one at a time, in order. 1..=256, default 8.
    #[serde(default = "default_webhook_concurrency")]
    pub concurrency: u32,
}

/// Enough to hide a receiver's latency without flooding a small shop's endpoint.
pub const DEFAULT_WEBHOOK_CONCURRENCY: u32 = 8;

/// Each delivery in flight holds a connection and a store lease.
pub const MAX_WEBHOOK_CONCURRENCY: u32 = 256;

fn default_webhook_concurrency() -> u32 {
    DEFAULT_WEBHOOK_CONCURRENCY
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CallingConfig {
    /// Daily calling window `HH:MM-HH:MM` in `timezone`.
    pub window: String,
    pub timezone: String,
    /// Re-attempts after the first call; never more than [`MAX_REATTEMPTS`].
    pub max_reattempts: u32,
    pub reattempt_interval: String,
    pub no_answer_fallback: Fallback,
    /// How long an outbound call may ring before we CANCEL it.
    pub ring_timeout: String,
    /// Locale used when an order carries none.
    pub default_locale: String,
}

/// Shortest ring timeout we accept: carriers and handsets need time to ring.
pub const MIN_RING_TIMEOUT: Duration = Duration::from_secs(15);

impl Default for CallingConfig {
    fn default() -> Self {
        Self {
            window: "09:15-20:45".into(),
            timezone: "UTC".into(),
            max_reattempts: MAX_REATTEMPTS,
            reattempt_interval: "3h".into(),
            no_answer_fallback: Fallback::Flag,
            ring_timeout: "30s".into(),
            default_locale: "en".into(),
        }
    }
}

impl CallingConfig {
    pub fn ring_timeout(&self) -> Result<Duration, ConfigError> {
        let d =
            parse_duration(&self.ring_timeout).map_err(|r| invalid("calling.ring_timeout", r))?;
        if d < MIN_RING_TIMEOUT {
            return Err(invalid(
                "calling.ring_timeout",
                format!("must be at least {}s", MIN_RING_TIMEOUT.as_secs()),
            ));
        }
        Ok(d)
    }

    pub fn reattempt_interval(&self) -> Result<Duration, ConfigError> {
        parse_duration(&self.reattempt_interval)
            .map_err(|r| invalid("calling.reattempt_interval", r))
    }
}

/// An amount in config: a decimal string (`"1500.00"`) or a whole number.
/// Never a TOML float, which could not hold every decimal exactly.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum AmountSetting {
    Text(String),
    Whole(u64),
}

impl AmountSetting {
    pub fn text(&self) -> String {
        match self {
            AmountSetting::Text(s) => s.clone(),
            AmountSetting::Whole(n) => n.to_string(),
        }
    }
}

/// `[campaign]`: which orders get a confirmation call.
///
/// ```toml
/// [campaign]
/// unmatched = "confirm"          # call | confirm | flag, for orders no rule matches
/// [campaign.flag_above]          # per customer kind: above this, flag without a call
/// new = "50000"
/// [[campaign.rules]]             # first match wins; range is [min_amount, max_amount)
/// kinds = ["new", "platform_returning"]
/// min_amount = "0"
/// max_amount = "20000"
/// action = "call"                # call | confirm | flag (default call)
/// ```
///
/// Without any `[[campaign.rules]]` every order is called, so configs written
/// before rules existed keep working; `rules = []` calls no order.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CampaignConfig {
    /// For orders no rule matches; `confirm` (without a call) by default.
    pub unmatched: RuleAction,
    pub flag_above: FlagAboveConfig,
    pub rules: Option<Vec<RuleConfig>>,
}

impl Default for CampaignConfig {
    fn default() -> Self {
        Self {
            unmatched: RuleAction::Confirm,
            flag_above: FlagAboveConfig::default(),
            rules: None,
        }
    }
}

/// `[campaign.flag_above]`: flag thresholds per customer kind.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FlagAboveConfig {
    pub new: Option<AmountSetting>,
    pub returning: Option<AmountSetting>,
    pub platform_returning: Option<AmountSetting>,
}

/// One `[[campaign.rules]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Customer kinds the rule applies to; all when absent.
    pub kinds: Option<Vec<crate::dialer::CustomerKind>>,
    /// Inclusive lower bound of the cart value; 0 when absent.
    pub min_amount: Option<AmountSetting>,
    /// Exclusive upper bound; unbounded when absent.
    pub max_amount: Option<AmountSetting>,
    #[serde(default)]
    pub action: RuleAction,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// Folder holding `<locale>/<name>.wav` prompts.
    pub prompts_dir: PathBuf,
    /// Folder holding dialplan files (`confirm.toml`, …).
    pub dialplans_dir: PathBuf,
    /// Where names rendered by text-to-speech are cached
    /// (`<dir>/<lang>/tts_<hash>.wav`, issue #13). Relative paths are under
    /// the working directory, the data dir under systemd (`/var/lib/orderline`).
    pub tts_cache_dir: PathBuf,
}

/// `[merchant]`: the shop the confirmation call speaks for.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MerchantConfig {
    /// Store name spoken in the greeting when an order names none
    /// (`POST /v1/orders` `store`); unset: the greeting names no store.
    pub name: Option<String>,
}

impl Default for MediaConfig {
    fn default() -> Self {
        Self {
            prompts_dir: "prompts".into(),
            dialplans_dir: "dialplans".into(),
            tts_cache_dir: "tts-cache".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` filter, e.g. `info` or `orderline=debug`.
    pub level: String,
    /// Emit JSON lines instead of text.
    pub json: bool,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
            json: false,
        }
    }
}

impl Config {
    /// Read, parse and validate a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Syntax { source, .. } => ConfigError::Syntax {
                path: path.to_path_buf(),
                source,
            },
            other => other,
        })
    }

    /// Parse and validate config text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let cfg: Config = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: PathBuf::new(),
            source: Box::new(e),
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.sip.rtp_port_range()?;
        self.sip.max_calls()?;
        self.sip.media_timeouts()?;
        self.admission()?;
        self.sip.session_timer()?;
        if self.calling.max_reattempts > MAX_REATTEMPTS {
            return Err(invalid(
                "calling.max_reattempts",
                format!(
                    "{} exceeds the hard cap of {MAX_REATTEMPTS}",
                    self.calling.max_reattempts
                ),
            ));
        }
        self.calling.ring_timeout()?;
        self.calling.reattempt_interval()?;
        self.tts.choices()?;
        if let Some(w) = &self.webhooks {
            if !(1..=MAX_WEBHOOK_CONCURRENCY).contains(&w.concurrency) {
                return Err(invalid(
                    "webhooks.concurrency",
                    format!("must be 1..={MAX_WEBHOOK_CONCURRENCY}"),
                ));
            }
        }
        self.calling
            .campaign(&self.campaign)
            .map_err(|e| invalid(&e.key(), e.to_string()))?;
        if let Some(tls) = &self.sip.tls {
            tls.check()?;
        }
        for (i, t) in self.trunks.iter().enumerate() {
            if !(t.uri.starts_with("sip:") || t.uri.starts_with("sips:")) {
                return Err(invalid(
                    &format!("trunks[{i}].uri"),
                    "must start with sip: or sips:",
                ));
            }
            // RFC 3261 §26.2.2: a sips: URI is reached over TLS only.
            if t.uri.starts_with("sips:") && t.transport != Transport::Tls {
                return Err(invalid(
                    &format!("trunks[{i}].transport"),
                    "a sips: uri needs transport = \"tls\"",
                ));
            }
            if t.password.is_some() && t.username.is_none() {
                return Err(invalid(
                    &format!("trunks[{i}].username"),
                    "password given without username",
                ));
            }
            t.options_interval()?;
            t.dtmf_mode()?;
            if let Some(cps) = t.max_cps {
                if !(cps > 0.0 && cps.is_finite()) {
                    return Err(invalid(
                        &format!("trunks[{i}].max_cps"),
                        "must be a positive number",
                    ));
                }
            }
        }
        agents::validate(&self.agents, &self.payments, &self.http.api_tokens)?;
        self.dialer_modes()?;
        self.sip.registrar_config()?;
        self.operators.floor()?;
        self.cluster()?;
        Ok(())
    }

    /// This node of a `[cluster]`, checked; `None` for a single process.
    pub fn cluster(&self) -> Result<Option<ClusterNode>, ConfigError> {
        self.cluster
            .as_ref()
            .map(|c| c.check(&self.database.url))
            .transpose()
    }

    /// The checked call modes; `[calling]` gives their default window and zone.
    pub fn dialer_modes(&self) -> Result<orderline_dialer::modes::CallModes, ConfigError> {
        let calling = orderline_dialer::window::CallWindow::parse(
            &self.calling.window,
            &self.calling.timezone,
        )
        .map_err(|e| invalid("calling.window", e.to_string()))?;
        self.dialer
            .validate(&calling)
            .map_err(|e| invalid(e.key(), e.to_string()))
    }

    /// The trunk used when none is named: the one called `default`, else the first.
    pub fn default_trunk(&self) -> Option<&TrunkConfig> {
        self.trunks
            .iter()
            .find(|t| t.name == "default")
            .or_else(|| self.trunks.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_not_printed() {
        let cfg = Config::from_toml(
            "[[trunks]]\nname = \"t\"\nuri = \"sip:127.0.0.1:5070\"\nusername = \"acct\"\npassword = \"trunk-pass-9\"\n\
             [http]\napi_tokens = [\"merchant-secret-77\"]\n[webhooks]\nurl = \"http://127.0.0.1:9/h\"\nsecret = \"whsec-secret-55\"\n",
        )
        .expect("config");
        let shown = format!("{cfg:#?}");
        for secret in ["trunk-pass-9", "merchant-secret-77", "whsec-secret-55"] {
            assert!(!shown.contains(secret), "{secret} printed:\n{shown}");
        }
        // The trunk password, the one merchant token and the webhook secret.
        assert!(shown.contains("acct"), "{shown}");
        assert_eq!(shown.matches("[REDACTED]").count(), 3, "{shown}");
    }

    #[test]
    fn design_handbook_example_parses() {
        let cfg = Config::from_toml(
            r#"
[sip]
listen = "127.0.0.1:5060"
public_addr = "127.0.0.1"
rtp_ports = "20000-29999"

[[trunks]]
name = "default"
uri = "sip:127.0.0.1:5070"

[http]
listen = "127.0.0.1:8080"
api_tokens = ["change-me"]

[database]
url = "sqlite://orderline.db"

[webhooks]
url = "http://127.0.0.1:9000/hooks"
secret = "change-me"

[calling]
window = "09:15-20:45"
timezone = "Asia/Karachi"
max_reattempts = 4
reattempt_interval = "3h"
no_answer_fallback = "flag"
"#,
        )
        .expect("handbook config is valid");
        assert_eq!(
            cfg.default_trunk().map(|t| t.uri.as_str()),
            Some("sip:127.0.0.1:5070")
        );
        assert_eq!(
            cfg.calling.reattempt_interval().ok(),
            Some(Duration::from_secs(3 * 3600))
        );
        assert_eq!(cfg.calling.no_answer_fallback, Fallback::Flag);
        assert_eq!(
            cfg.sip.rtp_port_range().ok(),
            Some(PortRange {
                first: 20000,
                last: 29999
            })
        );
    }

    #[test]
    fn reattempt_cap_cannot_be_raised() {
        let err = Config::from_toml("[calling]\nmax_reattempts = 5\n").unwrap_err();
        assert!(err.to_string().contains("calling.max_reattempts"), "{err}");
    }

    #[test]
    fn ring_timeout_has_a_floor() {
        let err = Config::from_toml("[calling]\nring_timeout = \"10s\"\n").unwrap_err();
        assert!(err.to_string().contains("calling.ring_timeout"), "{err}");
        let ok = Config::from_toml("[calling]\nring_timeout = \"15s\"\n").unwrap();
        assert_eq!(
            ok.calling.ring_timeout().ok(),
            Some(Duration::from_secs(15))
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = Config::from_toml("[[trunks]]\nname=\"a\"\nuri=\"sip:x\"\nmax_chanels=3\n")
            .unwrap_err();
        assert!(err.to_string().contains("max_chanels"), "{err}");
    }

    #[test]
    fn campaign_rules_parse_and_name_bad_keys() {
        let cfg = Config::from_toml(
            r#"
[campaign]
unmatched = "flag"
[campaign.flag_above]
new = "500.50"
returning = 1000
[[campaign.rules]]
kinds = ["new", "platform_returning"]
max_amount = "300"
[[campaign.rules]]
min_amount = "300"
action = "confirm"
"#,
        )
        .expect("valid campaign");
        assert_eq!(cfg.campaign.unmatched, RuleAction::Flag);
        assert_eq!(cfg.campaign.rules.as_ref().map(Vec::len), Some(2));

        let cases = [
            (
                "[[campaign.rules]]\nmax_amount = \"1.5.0\"\n",
                "campaign.rules[0].max_amount",
            ),
            (
                "[[campaign.rules]]\nmin_amount = \"10\"\nmax_amount = \"10\"\n",
                "campaign.rules[0].max_amount",
            ),
            (
                "[[campaign.rules]]\nkinds = []\n",
                "campaign.rules[0].kinds",
            ),
            (
                "[campaign.flag_above]\nnew = \"-5\"\n",
                "campaign.flag_above.new",
            ),
            ("[calling]\nwindow = \"21:00-08:00\"\n", "calling.window"),
            (
                "[calling]\ntimezone = \"Europe/Atlantis\"\n",
                "calling.timezone",
            ),
            (
                "[calling]\nreattempt_interval = \"10s\"\n",
                "calling.reattempt_interval",
            ),
        ];
        for (text, key) in cases {
            let err = Config::from_toml(text).unwrap_err();
            assert!(err.to_string().contains(key), "{text}: {err}");
        }
        for text in [
            "[[campaign.rules]]\nkinds = [\"vip\"]\n",
            "[campaign]\nunmached = \"call\"\n",
            "[[campaign.rules]]\nmax = 3\n",
        ] {
            assert!(Config::from_toml(text).is_err(), "{text}");
        }
    }
}
