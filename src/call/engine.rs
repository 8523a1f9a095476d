//! The engine: the shared parts every call uses (SIP endpoint, RTP ports,
//! prompt cache, dialplans) and the two ways a call starts — we dial out, or a
//! customer calls in.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;
use tokio::time::{sleep_until, Instant};

use super::{codec_name, media_params, run_flow, CallReport};
use crate::config::{Config, TrunkConfig};
use crate::ivr::payment::PaymentPlan;
use crate::ivr::{ConfirmFlow, ConfirmPlan, DialplanError, Outcome};
use crate::media::{MediaError, MediaSession, PlayItem, PortAllocator, PromptCache, PromptError};
use crate::payments::PaymentGateway;
use crate::sip::sdp::{self, LocalMedia};
use crate::sip::{
    CallRef, Credentials, IncomingCall, OutboundCall, SipClient, SipCommand, SipError, SipEvent,
    SipHandle, Transport,
};

/// Longest a confirmation call may last once answered.
const MAX_CALL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    #[error("configuration: {0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("dialplan: {0}")]
    Dialplan(#[from] DialplanError),
    #[error("SIP: {0}")]
    Sip(#[from] SipError),
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
}

/// Shared state for every call this process makes or takes.
pub struct Engine {
    cfg: Config,
    sip: SipClient,
    ports: Arc<PortAllocator>,
    prompts: Arc<PromptCache>,
    confirm: ConfirmPlan,
    payments: Option<PaymentKit>,
    /// The daemon's wall clock (a payment's expiry month); the system's by default.
    clock: crate::clock::Clock,
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

    pub async fn start(cfg: Config) -> Result<(Self, SipHandle), CallError> {
        let range = cfg.sip.rtp_port_range()?;
        let confirm = ConfirmPlan::load(&cfg.media.dialplans_dir.join("confirm.toml"))?;
        let payments = PaymentKit::load(&cfg)?;
        let handle = SipHandle::bind(crate::sip::endpoint_config(&cfg.sip)).await?;
        let engine = Self {
            ports: Arc::new(PortAllocator::new(range)),
            prompts: Arc::new(PromptCache::new(cfg.media.prompts_dir.clone())),
            sip: handle.client(),
            confirm,
            payments,
            cfg,
            clock: crate::clock::Clock::system(),
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

    /// RTP port pairs in the configured range: the most calls that can be up.
    pub fn media_capacity(&self) -> usize {
        self.ports.capacity()
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
        };
        Ok((media, local))
    }

    /// Whether an inbound Request-URI is addressed to us: its host is our
    /// public or listen address (a trunk sends `sip:number@our-ip`).
    fn is_ours(&self, request_uri: &str) -> bool {
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
        let host = trunk.uri.trim_start_matches("sip:");
        let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
        format!("sip:{target}@{host}")
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
        // A phone registered over TCP is rung over TCP (its Contact says so).
        let uri_tcp = request_uri.to_ascii_lowercase().contains(";transport=tcp");
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
            transport: trunk.map_or(
                if uri_tcp {
                    Transport::Tcp
                } else {
                    Transport::Udp
                },
                |t| t.transport.into(),
            ),
        }
    }

    /// Place one confirmation call and run the confirm flow on it.
    pub async fn place_confirm_call(&self, spec: &CallSpec) -> Result<CallReport, CallError> {
        let trunk = self.cfg.default_trunk().ok_or(CallError::NoTrunk)?;
        let ring_timeout = self.cfg.calling.ring_timeout()?;
        let mut vars = HashMap::new();
        vars.insert("amount".to_string(), spec.amount_words.clone());
        let mut flow = ConfirmFlow::new(&self.confirm, &vars)?;

        let (media, local) = self.bind_media().await?;
        let request_uri = Self::request_uri(trunk, &spec.target);
        let started = Instant::now();
        let (call, mut events) = self
            .sip
            .invite(self.outbound_call(Some(trunk), request_uri, &local))
            .await?;
        tracing::info!(%call, target = %spec.target, "calling");

        // Ringing: until answer, failure, or our ring timeout (then CANCEL, RFC 3261 §9).
        let ring_deadline = started + ring_timeout;
        let mut cancelled = false;
        let mut session = Some(media);
        let mut media_handle: Option<crate::media::MediaHandle> = None;
        let mut early = None;
        let answered = loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(SipEvent::Progress { status, sdp: Some(body) }) if status == 183 || status == 180 => {
                        // Early media: play what the network sends, so we hear announcements.
                        if let Ok(remote) = sdp::parse_answer(&body) {
                            match (&media_handle, session.take()) {
                                (Some(h), _) => h.update_remote(media_params(&remote)).await?,
                                (None, Some(s)) => media_handle = Some(s.start(media_params(&remote))),
                                (None, None) => {}
                            }
                            early = Some(remote);
                        }
                    }
                    Some(SipEvent::Progress { status, .. }) => tracing::debug!(%call, status, "progress"),
                    Some(SipEvent::Answered { status, sdp: body }) => break Some((status, body)),
                    Some(SipEvent::Failed { status, reason }) => {
                        tracing::info!(%call, status, %reason, "call failed");
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
        let remote = match sdp::parse_answer(&body) {
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
        let answered_at = Instant::now();
        let result = run_flow(
            self,
            call,
            &mut events,
            handle,
            &mut flow,
            &spec.locale,
            MAX_CALL,
        )
        .await;
        let duration_ms = answered_at.elapsed().as_millis() as u64;
        if let Some(h) = media_handle.take() {
            let stats = h.stop().await;
            tracing::debug!(%call, ?stats, "media stopped");
        }
        let (outcome, by) = result?;
        use crate::ivr::Flow;
        Ok(CallReport {
            answered: true,
            digits: flow.digits().to_string(),
            outcome,
            sip_status: status,
            duration_ms,
            setup_ms,
            hangup_by: Some(by),
            remote_media: Some(remote.addr),
            codec: Some(codec_name(remote.codec)),
        })
    }

    /// Answer a customer's call: without an order store yet, play the
    /// "no pending order" message and hang up politely.
    pub async fn take_incoming(
        &self,
        call: CallRef,
        incoming: IncomingCall,
        mut events: tokio::sync::mpsc::Receiver<SipEvent>,
    ) -> Result<(), CallError> {
        if !self.is_ours(&incoming.request_uri) {
            // RFC 3261 §8.2.2.1: not an address we accept requests for.
            tracing::info!(%call, uri = %incoming.request_uri, "inbound call for a foreign domain");
            self.sip
                .command(SipCommand::Reject { call, status: 404 })
                .await?;
            return Ok(());
        }
        let offer = incoming.sdp.as_slice();
        if offer.is_empty() {
            // Offerless INVITE (RFC 3261 §13.2.1): not supported for IVR calls.
            self.sip
                .command(SipCommand::Reject { call, status: 488 })
                .await?;
            return Ok(());
        }
        let (media, local) = self.bind_media().await?;
        let (answer, remote) = match sdp::answer(offer, &local) {
            Ok(x) => x,
            Err(e) => {
                tracing::info!(%call, error = %e, "no usable media in offer");
                self.sip
                    .command(SipCommand::Reject { call, status: 488 })
                    .await?;
                return Ok(());
            }
        };
        self.sip
            .command(SipCommand::Answer {
                call,
                sdp: answer.into_bytes(),
            })
            .await?;
        let mut handle = media.start(media_params(&remote));
        let items = self.prompt_items(
            &self.cfg.calling.default_locale,
            &["callback_no_order".to_string()],
        )?;
        handle.play(items).await?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            tokio::select! {
                ev = handle.next_event() => match ev {
                    Some(crate::media::MediaEvent::PlaybackDone) | None => {
                        self.sip.command(SipCommand::Bye(call)).await?;
                        break;
                    }
                    Some(_) => {}
                },
                ev = events.recv() => match ev {
                    Some(SipEvent::Ended { .. }) | None => break,
                    Some(_) => {}
                },
                _ = sleep_until(deadline) => {
                    self.sip.command(SipCommand::Bye(call)).await?;
                    break;
                }
            }
        }
        handle.stop().await;
        Ok(())
    }
}
