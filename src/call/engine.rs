//! The engine: the shared parts every call uses (SIP endpoint, RTP ports,
//! prompt cache, dialplans) and the two ways a call starts — we dial out, or a
//! customer calls in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::time::{sleep_until, Instant};

use super::operator::{HeldCustomer, OperatorDesk, OperatorSeat};
use super::{codec_name, media_params, run_flow, CallReport};
use crate::config::{Config, TrunkConfig};
use crate::ivr::payment::PaymentPlan;
use crate::ivr::{ConfirmFlow, ConfirmPlan, DialplanError, Outcome};
use crate::media::{MediaError, MediaSession, PlayItem, PortAllocator, PromptCache, PromptError};
use crate::payments::PaymentGateway;
use crate::sip::sdp::{self, LocalMedia};
use crate::sip::{
    CallRef, Credentials, OutboundCall, SipClient, SipCommand, SipError, SipEvent, SipHandle,
    Transport,
};

/// Longest a confirmation call may last once answered.
pub(crate) const MAX_CALL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Every configured trunk is marked down by its OPTIONS pings.
    #[error("every trunk is down")]
    TrunksDown,
    /// The trunk never answered the INVITE (408, nothing heard) or answered
    /// 503: the carrier's failure, not the customer's.
    #[error("trunk {trunk} did not take the call ({status})")]
    TrunkFailed { trunk: String, status: u16 },
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("dialplan: {0}")]
    Dialplan(#[from] DialplanError),
    #[error("SIP: {0}")]
    Sip(#[from] SipError),
    #[error("DNS: {0}")]
    Dns(#[from] crate::sip::dns::DnsError),
    #[error("{0}")]
    Tls(#[from] crate::sip::tls::TlsError),
    #[error("media: {0}")]
    Media(#[from] MediaError),
    #[error("prompt: {0}")]
    Prompt(#[from] PromptError),
    #[error("no trunk is configured ([[trunks]] is empty)")]
    NoTrunk,
    #[error("the media session ended unexpectedly")]
    MediaGone,
    #[error("payment gateway: {0}")]
    Gateway(#[from] crate::payments::GatewayError),
    #[error("payments are not configured (no dialplan {0})")]
    PaymentsOff(String),
}

impl CallError {
    /// Whether orderline itself could not place the call — no RTP port, its
    /// own call limit, no trunk up — so nothing reached the customer and the
    /// attempt is not theirs to lose (issue #14: such attempts were burnt as
    /// `failed` against the customer's re-attempt cap).
    pub fn is_local_refusal(&self) -> bool {
        matches!(
            self,
            CallError::Media(MediaError::NoPorts)
                | CallError::Sip(SipError::Overloaded)
                | CallError::NoTrunk
                | CallError::TrunksDown
                | CallError::TrunkFailed { .. }
        )
    }
}

/// What a keypad payment session needs: the caller's script, the gateway and
/// its deadline (`[payments]`).
pub struct PaymentKit {
    pub plan: PaymentPlan,
    pub gateway: Arc<dyn PaymentGateway>,
    /// Tokenize + charge must end within this (shorter than the plan's
    /// `charge_timeout` guard, checked at start).
    pub gateway_timeout: Duration,
    pub locale: String,
}

impl PaymentKit {
    /// Load `[payments]`: the dialplan (with the config's `no_input_timeout`
    /// override) and the gateway. `Ok(None)` when the dialplan file is absent
    /// and no agent is configured (a confirmation-only install).
    fn load(cfg: &Config) -> Result<Option<Self>, CallError> {
        let path = cfg.media.dialplans_dir.join(&cfg.payments.dialplan);
        if !path.exists() && cfg.agents.is_empty() {
            return Ok(None);
        }
        let mut plan = PaymentPlan::load(&path)?;
        if let Some(t) = cfg.payments.no_input_timeout()? {
            plan.no_input_timeout = format!("{}ms", t.as_millis());
        }
        plan.validate()?;
        let gateway_timeout = cfg.payments.gateway_timeout()?;
        let guard = plan.charge_timeout()?;
        if gateway_timeout >= guard {
            return Err(CallError::Config(crate::config::ConfigError::Invalid {
                key: "payments.gateway_timeout".into(),
                reason: format!(
                    "{} ms must be shorter than the dialplan's charge_timeout ({} ms)",
                    gateway_timeout.as_millis(),
                    guard.as_millis()
                ),
            }));
        }
        Ok(Some(Self {
            plan,
            gateway: cfg.payments.gateway.build()?,
            gateway_timeout,
            locale: cfg
                .payments
                .locale
                .clone()
                .unwrap_or_else(|| cfg.calling.default_locale.clone()),
        }))
    }
}

/// What to call and what to say.
#[derive(Debug, Clone)]
pub struct CallSpec {
    /// `sip:user@host:port`, or a bare phone number sent through the trunk.
    pub target: String,
    pub locale: String,
    /// Prompt names for `$amount` (from `media::say`), empty when unknown.
    pub amount_words: Vec<String>,
    /// The script's other variables (`$store`, `$number`, `$items`, …; see
    /// `dialplans/confirm.toml`); `$amount` comes from `amount_words`.
    pub vars: HashMap<String, Vec<String>>,
    /// The order called, for the operator seam (press 3).
    pub order_id: Option<String>,
}

/// Shared state for every call this process makes or takes.
pub struct Engine {
    cfg: Config,
    sip: SipClient,
    ports: Arc<PortAllocator>,
    prompts: Arc<PromptCache>,
    confirm: ConfirmPlan,
    payments: Option<PaymentKit>,
    /// RFC 3263: trunk and agent host names to hops.
    locator: Arc<crate::sip::dns::Locator>,
    /// Which trunks are up (OPTIONS pings, unanswered calls), in `cfg.trunks` order.
    health: std::sync::Mutex<orderline_sip::health::TrunkHealth>,
    /// The daemon's wall clock (a payment's expiry month); the system's by default.
    clock: crate::clock::Clock,
    /// Press 3's live-operator seam (issue #13), installed by the daemon
    /// once its desk exists; unset: the customer holds, then the callback.
    operator_desk: std::sync::OnceLock<Arc<dyn OperatorDesk>>,
    /// `[tts]`: whose renderings [`Engine::rendered`] looks for.
    tts: crate::media::tts::Choices,
    /// Per language, the script parts a neural voice renders whole.
    phrases: HashMap<String, crate::ivr::script::Phrases>,
}

impl Engine {
    /// Bind the SIP endpoint and load prompts and dialplans. The returned
    /// [`SipHandle`] yields inbound calls (see [`Engine::take_incoming`]).
    /// The same engine reading `clock` for wall time (the daemon's one clock).
    pub fn with_clock(self, clock: crate::clock::Clock) -> Self {
        Self { clock, ..self }
    }

    /// The wall clock every edge of the daemon reads.
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// Install the live-operator seam (see [`OperatorDesk`]); the daemon
    /// does it once, after the engine is shared (its desk holds the engine).
    /// `false` when one was installed already (kept).
    pub fn install_operator_desk(&self, desk: Arc<dyn OperatorDesk>) -> bool {
        self.operator_desk.set(desk).is_ok()
    }

    /// Press 3: ask the desk for a ready operator for the order's customer
    /// (`None`: no desk installed or no order; the customer holds, then
    /// hears the callback words).
    pub(crate) fn seek_operator(
        &self,
        order_id: Option<&str>,
    ) -> Option<tokio::sync::oneshot::Receiver<super::OperatorAnswer>> {
        Some(self.operator_desk.get()?.seek(order_id?))
    }

    /// The confirm dialplan in use.
    pub fn confirm_plan(&self) -> &ConfirmPlan {
        &self.confirm
    }

    /// The prompt name of `text` rendered for `locale` (or recorded by the
    /// merchant under that name), if there is one. A file lookup, never a
    /// rendering: that happened when the order arrived.
    pub fn rendered(&self, locale: &str, text: &str) -> Option<String> {
        crate::media::tts::find_rendered(&self.prompts, &self.tts, locale, text)
    }

    /// The script parts a voice of `locale`'s language may have rendered
    /// whole (`[tts] whole_parts`), if any.
    pub fn phrases(&self, locale: &str) -> Option<&crate::ivr::script::Phrases> {
        self.phrases.get(&crate::media::tts::lang(locale))
    }

    pub async fn start(cfg: Config) -> Result<(Self, SipHandle), CallError> {
        let range = cfg.sip.rtp_port_range()?;
        let confirm = ConfirmPlan::load(&cfg.media.dialplans_dir.join("confirm.toml"))?;
        let tts = cfg.tts.choices()?;
        let phrases = script_phrases(&cfg, &confirm);
        let payments = PaymentKit::load(&cfg)?;
        let tls = crate::sip::SipTls::from_config(cfg.sip.tls.as_ref())?;
        let handle = SipHandle::bind_tls(crate::sip::endpoint_config(&cfg)?, tls).await?;
        let locator = Arc::new(crate::sip::dns::Locator::new(&cfg.dns.servers)?);
        let mut specs = Vec::with_capacity(cfg.trunks.len());
        for t in &cfg.trunks {
            specs.push(orderline_sip::health::TrunkSpec {
                name: t.name.clone(),
                priority: t.priority,
                weight: t.weight,
                interval: t.options_interval()?,
                threshold: t.options_threshold,
            });
        }
        let health = orderline_sip::health::TrunkHealth::new(specs, std::time::Instant::now());
        let engine = Self {
            locator,
            health: std::sync::Mutex::new(health),
            ports: Arc::new(PortAllocator::new(range)),
            prompts: Arc::new(
                PromptCache::new(cfg.media.prompts_dir.clone())
                    .with_dynamic(cfg.media.tts_cache_dir.clone()),
            ),
            sip: handle.client(),
            confirm,
            payments,
            cfg,
            clock: crate::clock::Clock::system(),
            operator_desk: std::sync::OnceLock::new(),
            tts,
            phrases,
        };
        Ok((engine, handle))
    }

    pub fn sip(&self) -> &SipClient {
        &self.sip
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The keypad payment setup, if payments are configured.
    pub fn payments(&self) -> Result<&PaymentKit, CallError> {
        self.payments
            .as_ref()
            .ok_or_else(|| CallError::PaymentsOff(self.cfg.payments.dialplan.display().to_string()))
    }

    /// RTP port pairs free right now (ports other programs hold are counted
    /// free until a bind finds them taken).
    pub fn free_media_ports(&self) -> usize {
        self.ports.available()
    }

    /// The most calls that can be up: RTP port pairs in the configured
    /// range, or `[sip] max_calls` if lower.
    pub fn media_capacity(&self) -> usize {
        let limit = self.cfg.sip.max_calls().unwrap_or(usize::MAX);
        self.ports.capacity().min(limit)
    }

    /// `[sip] media_timeout` / `hold_timeout` (checked when the config loaded).
    pub fn media_timeouts(&self) -> crate::media::MediaTimeouts {
        self.cfg.sip.media_timeouts().unwrap_or_default()
    }

    /// Look prompts up by name for a locale (falling back to `en`).
    pub(crate) fn prompt_items(
        &self,
        locale: &str,
        names: &[String],
    ) -> Result<Vec<PlayItem>, CallError> {
        Ok(self.prompts.items(locale, names)?)
    }

    /// An RTP session on a free port, and how our SDP describes it.
    pub(crate) async fn bind_media(&self) -> Result<(MediaSession, LocalMedia), CallError> {
        let media = MediaSession::bind(self.cfg.sip.public_addr, &self.ports).await?;
        let local = LocalMedia {
            addr: self.cfg.sip.public_addr,
            port: media.local_port(),
            session_id: u64::from(rand::random::<u32>()),
            version: 1,
            srtp: None,
        };
        Ok((media, local))
    }

    /// SDES-SRTP for a call (`srtp` of its trunk, RFC 4568): a fresh master
    /// key from the OS's CSPRNG for our direction, put in our SDP and kept
    /// by the media session. Never logged (`SdesKey` and `MasterKey` print
    /// redacted).
    pub(crate) fn secure_media(
        mode: crate::config::SrtpMode,
        media: &mut MediaSession,
        local: &mut LocalMedia,
    ) {
        use crate::config::SrtpMode;
        use rand::RngCore;
        if mode == SrtpMode::Off {
            return;
        }
        let mut key = [0u8; sdp::SDES_KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut key);
        if let Some(master) = orderline_srtp::MasterKey::from_bytes(&key) {
            media.secure(master);
            local.srtp = Some(sdp::SdesOffer {
                key: sdp::SdesKey(key),
                required: mode == SrtpMode::Required,
            });
        }
        zeroize::Zeroize::zeroize(&mut key);
    }

    /// Whether an inbound Request-URI is addressed to us: its host is our
    /// public or listen address (a trunk sends `sip:number@our-ip`).
    pub(crate) fn is_ours(&self, request_uri: &str) -> bool {
        let Ok(uri) = crate::sip::Uri::parse(request_uri) else {
            return false;
        };
        let Some(sip) = uri.as_sip() else {
            return false;
        };
        let host = sip.host.trim_start_matches('[').trim_end_matches(']');
        host.parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip == self.cfg.sip.public_addr || ip == self.cfg.sip.listen.ip())
    }

    /// The request URI for a target: a SIP URI as given, or a number routed via the trunk.
    pub(crate) fn request_uri(trunk: &TrunkConfig, target: &str) -> String {
        if target.starts_with("sip:") || target.starts_with("sips:") {
            return target.to_string();
        }
        let (scheme, host) = match trunk.uri.strip_prefix("sips:") {
            Some(rest) => ("sips", rest),
            None => ("sip", trunk.uri.trim_start_matches("sip:")),
        };
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        format!("{scheme}:{target}@{host}")
    }

    /// The INVITE for one leg: through `trunk` (its credentials, proxy and
    /// transport), or straight to a SIP URI when `trunk` is `None` (an agent's
    /// phone on the local network).
    pub(crate) fn outbound_call(
        &self,
        trunk: Option<&TrunkConfig>,
        request_uri: String,
        local: &LocalMedia,
    ) -> OutboundCall {
        let to_user = request_uri
            .trim_start_matches("sip:")
            .split(['@', ';'])
            .next()
            .unwrap_or_default()
            .to_string();
        // A phone registered over TCP or TLS is rung over it (its Contact
        // says so); `sips:` is TLS (RFC 3261 §26.2.2).
        let uri_transport = crate::sip::Uri::parse(&request_uri)
            .ok()
            .and_then(|u| {
                let sip = u.as_sip()?;
                if sip.secure {
                    return Some(Transport::Tls);
                }
                Transport::from_param(sip.param("transport").flatten()?)
            })
            .unwrap_or(Transport::Udp);
        OutboundCall {
            request_uri,
            from_user: self.cfg.sip.user_agent.clone(),
            to_user,
            sdp_offer: sdp::offer(local).into_bytes(),
            credentials: trunk.and_then(|t| match (&t.username, &t.password) {
                (Some(u), Some(p)) => Some(Credentials {
                    username: u.clone(),
                    password: p.expose_secret().to_owned(),
                }),
                _ => None,
            }),
            outbound_proxy: trunk.and_then(|t| t.outbound_proxy.clone()),
            transport: trunk.map_or(uri_transport, |t| t.transport.into()),
        }
    }

    fn health(&self) -> std::sync::MutexGuard<'_, orderline_sip::health::TrunkHealth> {
        self.health.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The trunk for the next call: the first up one by priority, then
    /// weight (the trunk called `default` is no longer special once
    /// several are configured; with one trunk it is that one).
    pub(crate) fn pick_trunk(&self) -> Result<(usize, &TrunkConfig), CallError> {
        if self.cfg.trunks.is_empty() {
            return Err(CallError::NoTrunk);
        }
        let order = self.health().order(&mut rand::thread_rng());
        let i = *order.first().ok_or(CallError::TrunksDown)?;
        let trunk = self.cfg.trunks.get(i).ok_or(CallError::NoTrunk)?;
        self.health().on_call(i);
        Ok((i, trunk))
    }

    /// Trunks to ping now (indices into `[[trunks]]`).
    pub fn trunks_due(&self, now: std::time::Instant) -> Vec<usize> {
        self.health().due(now)
    }

    /// When the next ping is due.
    pub fn next_ping(&self) -> Option<std::time::Instant> {
        self.health().poll_timeout()
    }

    /// Trunk `i` answered its OPTIONS with `status` at `now`.
    pub fn trunk_answered(&self, i: usize, status: u16, now: std::time::Instant) {
        let before = self.health().status().get(i).map(|t| t.up);
        self.health().on_answer(i, status, now);
        self.log_change(i, before);
    }

    fn log_change(&self, i: usize, before: Option<bool>) {
        let after = self.health().status().get(i).map(|t| t.up);
        if before != after {
            let name = self.cfg.trunks.get(i).map_or("?", |t| t.name.as_str());
            match after {
                Some(true) => tracing::info!(trunk = name, "trunk up"),
                _ => tracing::warn!(trunk = name, "trunk down; calls fail over"),
            }
        }
    }

    /// Every trunk's health, for `/metrics`.
    pub fn trunk_status(&self) -> Vec<orderline_sip::health::TrunkStatus> {
        self.health().status()
    }

    /// Ping trunk `i` once: OPTIONS to its (located) address.
    pub async fn ping_trunk(&self, i: usize) -> Result<u16, CallError> {
        let trunk = self.cfg.trunks.get(i).ok_or(CallError::NoTrunk)?;
        let target = trunk
            .outbound_proxy
            .clone()
            .unwrap_or_else(|| trunk.uri.clone());
        let hops = self.locator.locate(&target, trunk.transport.into()).await?;
        let hop = hops
            .first()
            .ok_or_else(|| crate::sip::dns::DnsError::NotFound(target.clone()))?;
        Ok(self
            .sip
            .ping(trunk.uri.clone(), hop.addr, hop.transport)
            .await?)
    }

    /// Send the INVITE for one leg ([`Engine::outbound_call`]) to where
    /// RFC 3263 says: the first hop DNS gives for the outbound proxy, or for
    /// the Request-URI (IP literals need no DNS).
    pub(crate) async fn invite_leg(
        &self,
        trunk: Option<&TrunkConfig>,
        request_uri: String,
        local: &LocalMedia,
    ) -> Result<(CallRef, tokio::sync::mpsc::Receiver<SipEvent>), CallError> {
        let mut outbound = self.outbound_call(trunk, request_uri, local);
        let target = outbound
            .outbound_proxy
            .clone()
            .unwrap_or_else(|| outbound.request_uri.clone());
        let hops = self.locator.locate(&target, outbound.transport).await?;
        let hop = hops
            .first()
            .ok_or_else(|| crate::sip::dns::DnsError::NotFound(target.clone()))?;
        tracing::debug!(%target, hop = %hop.addr, transport = ?hop.transport, "located");
        outbound.transport = hop.transport;
        Ok(self.sip.invite_via(outbound, Some(hop.addr)).await?)
    }

    /// The confirm flow for `spec`: the script's variables (every one
    /// present, empty when the order has none) and the amount in words.
    pub(crate) fn confirm_flow(&self, spec: &CallSpec) -> Result<ConfirmFlow, CallError> {
        let mut vars = spec.vars.clone();
        for name in crate::ivr::script::VARIABLES {
            vars.entry(name.to_string()).or_default();
        }
        vars.insert("amount".to_string(), spec.amount_words.clone());
        Ok(ConfirmFlow::new(&self.confirm, &vars)?)
    }

    /// Place one confirmation call and run the confirm flow on it.
    pub async fn place_confirm_call(&self, spec: &CallSpec) -> Result<CallReport, CallError> {
        let (trunk_index, trunk) = self.pick_trunk()?;
        let ring_timeout = self.cfg.calling.ring_timeout()?;
        let mut flow = self.confirm_flow(spec)?;

        let (mut media, mut local) = self.bind_media().await?;
        Self::secure_media(trunk.srtp, &mut media, &mut local);
        let request_uri = Self::request_uri(trunk, &spec.target);
        let started = Instant::now();
        let (call, mut events) = self.invite_leg(Some(trunk), request_uri, &local).await?;
        tracing::info!(%call, target = %spec.target, "calling");

        // Ringing: until answer, failure, or our ring timeout (then CANCEL, RFC 3261 §9).
        let ring_deadline = started + ring_timeout;
        let mut cancelled = false;
        // Anything from the trunk besides a final 408 proves it is there.
        let mut heard = false;
        let mut session = Some(media);
        let mut media_handle: Option<crate::media::MediaHandle> = None;
        let mut early = None;
        let answered = loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(SipEvent::Progress { status, sdp: Some(body) }) if status == 183 || status == 180 => {
                        heard = true;
                        // Early media: play what the network sends, so we hear announcements.
                        if let Ok(remote) = sdp::parse_answer(&body).and_then(|r| sdp::check_srtp(&local, r)) {
                            match (&media_handle, session.take()) {
                                (Some(h), _) => h.update_remote(media_params(&remote)).await?,
                                (None, Some(s)) => media_handle = Some(s.start(media_params(&remote))),
                                (None, None) => {}
                            }
                            early = Some(remote);
                        }
                    }
                    Some(SipEvent::Progress { status, .. }) => {
                        heard = true;
                        tracing::debug!(%call, status, "progress");
                    }
                    Some(SipEvent::Answered { status, sdp: body }) => break Some((status, body)),
                    Some(SipEvent::Failed { status, reason }) => {
                        tracing::info!(%call, status, %reason, "call failed");
                        if !cancelled && (status == 503 || (status == 408 && !heard)) {
                            // RFC 3263 §4.3: the server failed, not the callee;
                            // the attempt goes back and the trunk loses health.
                            let before = self.health().status().get(trunk_index).map(|t| t.up);
                            self.health().on_call_failure(trunk_index);
                            self.log_change(trunk_index, before);
                            return Err(CallError::TrunkFailed { trunk: trunk.name.clone(), status });
                        }
                        let outcome = if cancelled { Outcome::NoAnswer } else { Outcome::from_sip_failure(status) };
                        return Ok(CallReport {
                            answered: false,
                            digits: String::new(),
                            outcome,
                            sip_status: status,
                            duration_ms: 0,
                            setup_ms: started.elapsed().as_millis() as u64,
                            hangup_by: None,
                            remote_media: early.as_ref().map(|r: &sdp::RemoteMedia| r.addr),
                            codec: None,
                            cause: None,
                            operator: None,
                        });
                    }
                    Some(other) => tracing::debug!(%call, event = ?other, "ignored while ringing"),
                    None => break None,
                },
                _ = sleep_until(ring_deadline), if !cancelled => {
                    tracing::info!(%call, "ring timeout; cancelling");
                    cancelled = true;
                    self.sip.command(SipCommand::Cancel(call)).await?;
                }
            }
        };
        let Some((status, body)) = answered else {
            return Err(CallError::Sip(SipError::Stopped));
        };
        let setup_ms = started.elapsed().as_millis() as u64;
        let remote = match sdp::parse_answer(&body).and_then(|r| sdp::check_srtp(&local, r)) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%call, error = %e, "answer SDP unusable; hanging up");
                self.sip.command(SipCommand::Bye(call)).await?;
                return Ok(CallReport {
                    answered: true,
                    digits: String::new(),
                    outcome: Outcome::Failed,
                    sip_status: status,
                    duration_ms: 0,
                    setup_ms,
                    hangup_by: Some("local"),
                    remote_media: None,
                    codec: None,
                    cause: None,
                    operator: None,
                });
            }
        };
        let handle = match (media_handle.as_mut(), session.take()) {
            (Some(h), _) => {
                h.update_remote(media_params(&remote)).await?;
                h
            }
            (None, Some(s)) => media_handle.insert(s.start(media_params(&remote))),
            (None, None) => return Err(CallError::MediaGone),
        };
        handle
            .watch_media(self.media_timeouts(), super::far_end_holds(&remote))
            .await?;
        let answered_at = Instant::now();
        let dtmf = trunk.dtmf_mode()?;
        let rules = super::FlowRules {
            max_duration: MAX_CALL,
            dtmf,
        };
        let mut seat = None;
        let result = run_flow(
            self,
            call,
            &mut events,
            handle,
            &mut flow,
            spec,
            rules,
            &mut seat,
        )
        .await;
        let duration_ms = answered_at.elapsed().as_millis() as u64;
        let seat = seat.take().filter(|_| result.is_ok());
        let mut operator = None;
        if let Some(h) = media_handle.take() {
            let leg = Customer {
                call,
                events,
                remote: remote.clone(),
                local,
            };
            operator = self.end_media(leg, h, seat).await;
        }
        let (outcome, by, cause) = result?;
        use crate::ivr::Flow;
        Ok(CallReport {
            answered: true,
            digits: flow.digits().to_string(),
            outcome,
            sip_status: status,
            duration_ms,
            setup_ms,
            hangup_by: Some(if operator.is_some() {
                by
            } else {
                local_if_handed(by)
            }),
            remote_media: Some(remote.addr),
            codec: Some(codec_name(remote.codec)),
            cause,
            operator,
        })
    }

    /// The flow is over: stop its media; or, with an operator's `seat`
    /// (press 3, live), release the sockets without a BYE
    /// ([`crate::media::MediaHandle::release`]) and hand the customer to the
    /// seat. Returns the agent; on failure the customer is hung up (the
    /// order is a callback then).
    pub(crate) async fn end_media(
        &self,
        leg: Customer,
        media: crate::media::MediaHandle,
        seat: Option<OperatorSeat>,
    ) -> Option<String> {
        let call = leg.call;
        let Some(seat) = seat else {
            let stats = media.stop().await;
            tracing::debug!(%call, ?stats, "media stopped");
            return None;
        };
        let session = match media.release().await {
            Ok((session, stats)) => {
                tracing::debug!(%call, ?stats, "robo-call media handed over");
                session
            }
            Err(e) => {
                tracing::warn!(%call, error = %e, "media not released; the customer is hung up");
                let _ = self.sip.command(SipCommand::Bye(call)).await;
                return None;
            }
        };
        let customer = HeldCustomer {
            call,
            events: leg.events,
            session,
            remote: leg.remote,
            local: leg.local,
        };
        let agent = seat.agent_id.clone();
        if seat.hand_over(customer) {
            tracing::info!(%call, %agent, "press 3: the customer is handed to an operator");
            Some(agent)
        } else {
            tracing::warn!(%call, %agent, "the operator desk stopped waiting; the customer is hung up");
            let _ = self.sip.command(SipCommand::Bye(call)).await;
            None
        }
    }
}

/// A customer's answered leg as a flow leaves it, for [`Engine::end_media`].
pub(crate) struct Customer {
    pub call: CallRef,
    pub events: tokio::sync::mpsc::Receiver<SipEvent>,
    pub remote: sdp::RemoteMedia,
    pub local: LocalMedia,
}

/// A hand-over that did not happen left the customer hung up by us.
pub(crate) fn local_if_handed(by: super::HangupBy) -> super::HangupBy {
    if by == super::HANDED_OVER {
        "local"
    } else {
        by
    }
}

/// The script parts each language with a neural voice may say whole
/// (`[tts] whole_parts`), with its stock prompts' texts; none when off.
pub fn script_phrases(
    cfg: &Config,
    confirm: &ConfirmPlan,
) -> HashMap<String, crate::ivr::script::Phrases> {
    if !cfg.tts.whole_parts {
        return HashMap::new();
    }
    crate::media::tts::engine::NEURAL_LANGS
        .iter()
        .map(|l| {
            let phrases = crate::ivr::script::Phrases {
                parts: confirm.script.clone(),
                texts: crate::media::prompt::read_texts(&cfg.media.prompts_dir, l),
            };
            (l.to_string(), phrases)
        })
        .collect()
}
