//! The merchant-facing HTTP API, webhook delivery and `/metrics`.
//!
//! The daemon builds an [`ApiState`] from the store, the config and the
//! shared [`Metrics`], mounts [`router`] (or calls [`serve`]) and spawns a
//! [`WebhookDeliverer`]. Handlers hold no state of their own: orders live in
//! the store, campaign rules in a shared lock the scheduler can read too.
//!
//! Wiring, as the daemon does it (`[webhooks]` is optional in the config):
//!
//! ```no_run
//! # async fn wire(config: orderline::config::Config) -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use orderline::api::{self, ApiState, Metrics, WebhookDeliverer, WebhookOptions};
//!
//! let store = orderline::store::Store::open(&config.database.url).await?;
//! let metrics = Arc::new(Metrics::new()); // the call layer updates the same Arc
//! let state = ApiState::new(store.clone(), &config, metrics.clone())?;
//! let _campaign = state.campaign(); // give the scheduler this handle; read it per decision
//! let (stop_tx, _) = tokio::sync::watch::channel(false);
//! if let Some(hooks) = &config.webhooks {
//!     let options = WebhookOptions::from_config(hooks)?;
//!     let deliverer = WebhookDeliverer::new(store.clone(), options, metrics.clone())?;
//!     let mut stop = stop_tx.subscribe();
//!     tokio::spawn(deliverer.run(async move {
//!         let _ = stop.changed().await;
//!     }));
//! }
//! let listener = tokio::net::TcpListener::bind(config.http.listen).await?;
//! let mut stop = stop_tx.subscribe();
//! api::serve(listener, state, async move {
//!     let _ = stop.changed().await;
//! })
//! .await?;
//! # Ok(()) }
//! ```
//!
//! Auth: every route needs `Authorization: Bearer <token>` except
//! `GET /metrics`, `GET /openapi.json` and the static agent page `GET /agent`,
//! which carry no order data and are read by scrapers, tooling and browsers
//! that have no token yet; bind the API to a private address or filter
//! `/metrics` at the proxy if that matters. Agent tokens (issue #5) reach the
//! call and payment routes only, for their own calls (see `docs/payments-contract.md`).
//!
//! The call layer connects with [`ApiState::with_call_control`], giving the
//! [`CallControl`] the API asks to dial, start payments and hang up, and the
//! [`PaymentHub`] it announces payment progress on (the SSE streams listen).

mod admin_page;
mod agent_page;
mod agent_states;
mod agents;
mod auth;
mod bodies;
mod call_order;
mod calls;
mod console_page;
mod control;
mod csv;
mod dialer;
mod dialer_settings;
mod error;
mod extract;
#[doc(hidden)]
pub mod fuzzing;
mod input;
mod openapi;
mod openapi_agents;
mod openapi_dialer;
mod openapi_payments;
mod openapi_sessions;
mod openapi_trials;
mod openapi_upsells;
mod orders;
mod payments;
mod preview;
mod rules;
mod sessions;
mod sse;
mod trials;
mod upsells;
mod views;
mod vocabulary;
mod webhooks;

use std::future::Future;
use std::sync::{Arc, RwLock};

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::Router;
use chrono::{DateTime, Utc};
use std::time::Duration;

pub use admin_page::{admin_page_csp, ADMIN_PAGE};
pub use agent_page::{agent_page_csp, AGENT_PAGE};
pub use auth::Principal;
pub(crate) use calls::random_id;
pub use calls::CALL_PAGE;
pub use console_page::{console_page_csp, CONSOLE_PAGE};
pub use control::{
    CallControl, ConnectTiming, ControlError, DialRequest, PaymentHub, PaymentRequest,
    PaymentSubscription, PaymentUpdate, Registration, SessionRequest, SessionView,
};
pub use csv::{line as csv_line, quote as csv_quote, COLUMNS as CSV_COLUMNS};
pub use error::ApiError;
pub use extract::DEFAULT_PAGE;
pub use openapi::{document as openapi_document, document_with as openapi_document_with, ROUTES};
pub use rules::StoredRulesError;
pub use vocabulary::Vocabulary;
pub use webhooks::{
    backoff, event_body, secret_bytes, sign, WebhookDeliverer, WebhookError, WebhookOptions,
};

use crate::config::{CallingConfig, CampaignConfig, Config};
use crate::dialer::{Campaign, RuleError};
pub use crate::metrics::Metrics;
use crate::store::Store;

pub use crate::clock::Clock;

/// The running campaign rules, shared with the scheduler: `PUT /v1/rules`
/// swaps the value, so readers must take the lock per decision, not copy it
/// once at start-up.
pub type SharedCampaign = Arc<RwLock<Campaign>>;

/// Largest request body accepted (an order with a big cart fits easily).
pub const BODY_LIMIT: usize = 256 * 1024;

/// Everything the handlers need. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    tokens: auth::Tokens,
    calling: CallingConfig,
    campaign: SharedCampaign,
    /// The `[campaign]` text behind `campaign`, for `GET /v1/rules`.
    campaign_config: RwLock<CampaignConfig>,
    clock: Clock,
    metrics: Arc<Metrics>,
    /// The call layer, when the daemon runs one (`with_call_control`).
    control: Option<Arc<dyn CallControl>>,
    /// Payments' live updates, shared with the call layer.
    hub: Arc<PaymentHub>,
    /// The daemon's call-mode queue (issue #11), borrowed: the daemon owns it.
    dialup: Option<crate::dialup::Dialup>,
    /// The registrar's realm (`[sip] domain`): API agents' HA1 hashes are
    /// computed for it.
    sip_realm: String,
    /// Digest users of config agents: an API agent may not take one.
    config_sip_users: std::collections::HashSet<String>,
    /// The daemon's agents' floor (issue #10), borrowed: the daemon owns it.
    floor: Option<crate::floor::Floor>,
    /// `[merchant] name`: an order's `store` when it names none (issue #13).
    merchant_name: Option<String>,
    /// Renders an order's names when it arrives (`with_tts`); `None`: not here.
    tts: Option<crate::media::tts::Tts>,
    /// Script parts a neural voice renders whole, per language, and the
    /// dialplan's `max_items` (`with_phrases`).
    phrases: std::collections::HashMap<String, crate::ivr::script::Phrases>,
    max_items: u32,
    /// The gateway upsells charge cards on file through (issue #15):
    /// `[payments.gateway]`, or the one given to `with_gateway`.
    gateway: Option<Arc<dyn crate::payments::PaymentGateway>>,
    /// SSE keep-alive comment interval.
    keep_alive: Duration,
    /// Set when [`serve`]'s shutdown fires: SSE streams end, so the
    /// graceful shutdown does not wait on them.
    closing: tokio::sync::watch::Sender<bool>,
}

/// How often an idle SSE stream gets a `: keep-alive` comment.
pub const SSE_KEEP_ALIVE: Duration = Duration::from_secs(15);

impl ApiState {
    /// Build from the loaded config; fails only if the campaign rules do
    /// (which `Config::load` has already checked).
    pub fn new(
        store: Store,
        config: &Config,
        metrics: Arc<Metrics>,
    ) -> Result<ApiState, RuleError> {
        let campaign = config.calling.campaign(&config.campaign)?;
        Ok(ApiState {
            inner: Arc::new(Inner {
                store,
                tokens: auth::Tokens::new(&config.http.api_tokens),
                calling: config.calling.clone(),
                campaign: Arc::new(RwLock::new(campaign)),
                campaign_config: RwLock::new(config.campaign.clone()),
                clock: Clock::system(),
                metrics,
                control: None,
                hub: Arc::new(PaymentHub::new()),
                dialup: None,
                floor: None,
                sip_realm: config.sip.domain(),
                config_sip_users: config
                    .agents
                    .iter()
                    .filter_map(|a| a.sip_user.clone())
                    .collect(),
                merchant_name: config.merchant.name.clone(),
                tts: None,
                phrases: Default::default(),
                max_items: 3,
                gateway: match config.payments.gateway.build() {
                    Ok(g) => Some(g),
                    Err(e) => {
                        tracing::warn!(error = %e, "no payment gateway for upsells");
                        None
                    }
                },
                keep_alive: SSE_KEEP_ALIVE,
                closing: tokio::sync::watch::Sender::new(false),
            }),
        })
    }

    /// Replace the clock (tests). Call before cloning the state.
    pub fn with_clock(self, clock: Clock) -> ApiState {
        self.configure("with_clock", |inner| inner.clock = clock)
    }

    /// Connect the call layer and the hub it publishes payment updates on.
    /// Without it, routes that need the call layer answer 503. Call before
    /// cloning the state.
    pub fn with_call_control(
        self,
        control: Arc<dyn CallControl>,
        hub: Arc<PaymentHub>,
    ) -> ApiState {
        self.configure("with_call_control", |inner| {
            inner.control = Some(control);
            inner.hub = hub;
        })
    }

    /// Render the names each new order's call will say (issue #13), when it
    /// arrives. Call before cloning the state.
    pub fn with_tts(self, tts: crate::media::tts::Tts) -> ApiState {
        self.configure("with_tts", |inner| inner.tts = Some(tts))
    }

    /// Render the script's parts whole for these languages when their voice
    /// is the neural one (`[tts] whole_parts`). Call before cloning.
    pub fn with_phrases(
        self,
        phrases: std::collections::HashMap<String, crate::ivr::script::Phrases>,
        max_items: u32,
    ) -> ApiState {
        self.configure("with_phrases", |inner| {
            inner.phrases = phrases;
            inner.max_items = max_items;
        })
    }

    /// Connect the daemon's call-mode queue. Without it the dial-up routes
    /// answer 503. Call before cloning the state.
    pub fn with_dialup(self, dialup: crate::dialup::Dialup) -> ApiState {
        self.configure("with_dialup", |inner| inner.dialup = Some(dialup))
    }

    /// The call-mode queue, or the 503 that names it.
    fn dialup(&self) -> Result<&crate::dialup::Dialup, ApiError> {
        self.inner
            .dialup
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("the call-mode queue is not running".into()))
    }

    /// Connect the daemon's agents' floor. Without it the agent-state routes
    /// answer 503. Call before cloning the state.
    pub fn with_floor(self, floor: crate::floor::Floor) -> ApiState {
        self.configure("with_floor", |inner| inner.floor = Some(floor))
    }

    /// The agents' floor, or the 503 that names it.
    fn floor(&self) -> Result<&crate::floor::Floor, ApiError> {
        self.inner
            .floor
            .as_ref()
            .ok_or_else(|| ApiError::Unavailable("the agents' floor is not running".into()))
    }

    /// Whether `name` is a configured `[[dialer.statuses]]` status (false
    /// without a call-mode queue: then only built-in statuses exist).
    fn configured_status(&self, name: &str) -> bool {
        self.inner
            .dialup
            .as_ref()
            .is_some_and(|d| d.is_status(name))
    }

    /// The names this daemon's config defines, for `/openapi.json`'s enums.
    fn vocabulary(&self) -> Vocabulary {
        let mut v = Vocabulary::default();
        if let Some(dialup) = &self.inner.dialup {
            let rules = dialup.rules();
            v.modes = rules.modes().iter().map(|m| m.id.clone()).collect();
            v.mode_projects = rules.modes().iter().map(|m| m.project.clone()).collect();
            v.statuses = rules.statuses().map(str::to_string).collect();
        }
        if let Some(floor) = &self.inner.floor {
            let r = floor.rules();
            v.pause_codes = r.pause_codes.clone();
            v.dispositions = r.dispositions.clone();
        }
        if let Some(dialup) = &self.inner.dialup {
            let rules = dialup.rules();
            let upsell = rules.modes().iter().any(|m| m.is_upsell());
            v.upsell_modes = upsell;
            v.mode_dispositions = v
                .dispositions
                .iter()
                .filter(|d| {
                    orderline_dialer::modes::config::is_dialer_disposition(d)
                        || rules.disposition_status(d).is_some()
                        // An upsell mode takes any button but confirmed/cancelled, unmapped.
                        || (upsell && !matches!(d.as_str(), "confirmed" | "cancelled"))
                })
                .cloned()
                .collect();
        }
        v
    }

    /// Charge upsells through this gateway (the daemon shares the call
    /// layer's; tests count a sandbox's charges). Call before cloning.
    pub fn with_gateway(self, gateway: Arc<dyn crate::payments::PaymentGateway>) -> ApiState {
        self.configure("with_gateway", |inner| inner.gateway = Some(gateway))
    }

    /// The gateway cards on file are charged through (the daemon's trial
    /// steps share it with the upsells).
    pub fn gateway(&self) -> Option<Arc<dyn crate::payments::PaymentGateway>> {
        self.inner.gateway.clone()
    }

    /// Replace the SSE keep-alive interval (tests). Call before cloning.
    pub fn with_keep_alive(self, interval: Duration) -> ApiState {
        self.configure("with_keep_alive", |inner| inner.keep_alive = interval)
    }

    /// Change the state while nothing else holds it; once it is shared
    /// (cloned into a router) it can no longer change, and `what` is logged.
    fn configure(mut self, what: &str, change: impl FnOnce(&mut Inner)) -> ApiState {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => change(inner),
            None => tracing::warn!("ApiState::{what} after the state was shared; unchanged"),
        }
        self
    }

    /// The hub payment updates go through (the one given to
    /// `with_call_control`, else the state's own).
    pub fn hub(&self) -> Arc<PaymentHub> {
        self.inner.hub.clone()
    }

    /// The call layer, or the 503 that names it.
    fn control(&self) -> Result<Arc<dyn CallControl>, ApiError> {
        self.inner.control.clone().ok_or_else(|| {
            ApiError::Unavailable("the call layer is not running (no CallControl connected)".into())
        })
    }

    /// The live campaign rules (hand the same handle to the scheduler).
    pub fn campaign(&self) -> SharedCampaign {
        self.inner.campaign.clone()
    }

    pub fn metrics(&self) -> Arc<Metrics> {
        self.inner.metrics.clone()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn campaign_snapshot(&self) -> Campaign {
        self.inner
            .campaign
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// A body, or the JSON error for one over [`BODY_LIMIT`].
    fn body(&self, body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
        body.map_err(|e| match e.status() {
            axum::http::StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge { limit: BODY_LIMIT },
            _ => ApiError::MalformedJson(e.body_text()),
        })
    }
}

/// The API's routes. Mount as is (`axum::serve(listener, router(state))`) or
/// nest it in the daemon's own router.
pub fn router(state: ApiState) -> Router {
    let merchant = Router::new()
        .route("/v1/orders", post(orders::create).get(orders::list))
        .route("/v1/orders.csv", get(csv::export))
        .route("/v1/orders/{id}", get(orders::get))
        .route("/v1/orders/{id}/decision", post(orders::decide))
        .route("/v1/rules", get(rules::get).put(rules::put))
        .route("/v1/agents", post(agents::create).get(agents::list))
        .route("/v1/orders/{id}/status", put(dialer::set_status))
        .route("/v1/dialer/overview", get(dialer::overview))
        .route("/v1/dialer/queue", get(dialer::queue))
        .route(
            "/v1/dialer/modes/{id}",
            get(dialer::mode).put(dialer_settings::set_mode),
        )
        .route("/v1/dialer/statuses", get(dialer_settings::statuses))
        .route("/v1/dialer/statuses/{name}", put(dialer_settings::set_tick))
        .route("/v1/dialer/modes/{id}/agents", put(dialer::set_agents))
        .route("/v1/dialer/modes/{id}/stats", get(dialer::stats))
        .route(
            "/v1/offers/{id}",
            put(upsells::put_offer).get(upsells::get_offer),
        )
        .route("/v1/upsell/orders", get(upsells::search))
        .route("/v1/orders/{id}/upsells/quote", post(upsells::quote))
        .route("/v1/orders/{id}/upsells", post(upsells::buy))
        .route("/v1/orders/{id}/workflow", get(trials::workflow))
        .route("/v1/orders/{id}/trial/extend", post(trials::extend))
        .route(
            "/v1/orders/{id}/workflow/{row}/resend",
            post(trials::resend),
        )
        .route_layer(axum::middleware::from_fn(auth::merchant_only));
    // Merchants and agents (an agent sees its own calls and payments only).
    let private = Router::new()
        .route("/v1/calls", post(calls::create).get(calls::list))
        .route("/v1/calls/{id}", get(calls::get).delete(calls::hang_up))
        .route("/v1/calls/{id}/order", get(call_order::get))
        .route("/v1/calls/{id}/payments", post(payments::create))
        .route(
            "/v1/payments/{id}",
            get(payments::get).delete(payments::cancel),
        )
        .route("/v1/payments/{id}/events", get(sse::events))
        .route("/v1/agents/{id}", get(agent_states::get))
        .route("/v1/agents/{id}/state", put(agent_states::set_state))
        .route("/v1/agents/{id}/events", get(agent_states::events))
        .route("/v1/agents/{id}/preview", post(preview::decide))
        .route(
            "/v1/calls/{id}/disposition",
            post(agent_states::disposition),
        )
        .route(
            "/v1/agents/{id}/session",
            post(sessions::create)
                .get(sessions::get)
                .delete(sessions::delete),
        )
        .merge(merchant)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi::serve))
        .route("/agent", get(agent_page::serve))
        .route("/console/admin", get(admin_page::serve))
        .route("/console", get(console_page::serve))
        .merge(private)
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

/// Serve the API on `listener` until `shutdown` completes, then finish the
/// requests in flight (open SSE streams end at once).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let closing = state.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.inner.closing.send_replace(true);
        })
        .await
}

async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    let mut text = state.inner.metrics.render();
    if let Some(dialup) = &state.inner.dialup {
        text.push_str(&dialer::metrics(dialup).await);
    }
    if let Some(floor) = &state.inner.floor {
        text.push_str(&agent_states::metrics(&state, floor).await);
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}
