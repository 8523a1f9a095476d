//! The daemon's lifecycle (`orderline serve`): one cancellation tree over the
//! SIP endpoint, the campaign scheduler and inbound calls; on SIGTERM no new
//! calls start, live calls get a BYE, their results are written, then exit.

mod cluster;
pub mod desk;
pub mod floor_feed;
pub mod inbound;
pub mod live_operator;
pub mod predictive;
pub mod progressive;
pub mod registrations;
pub mod scheduler;
pub mod sessions;
pub mod trials;
mod trunks;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::api::{ApiState, PaymentHub, WebhookDeliverer, WebhookOptions};
use crate::call::Engine;
use crate::clock::Clock;
use crate::config::Config;
use crate::ivr::Outcome;
use crate::media::tts::Tts;
use crate::metrics::Metrics;
use crate::store::Store;

pub use crate::dialup::{Dialup, DialupError, Restored};
pub use crate::floor::Floor;
pub use desk::Desk;
pub use scheduler::Scheduler;

/// Longest the drain waits for agent calls to record their end.
const DESK_DRAIN: std::time::Duration = std::time::Duration::from_secs(75);

/// Run until `shutdown` resolves, then drain.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let store = Store::open(&cfg.database.url)
        .await
        .with_context(|| format!("opening the order store {}", redact_url(&cfg.database.url)))?;
    // One wall clock for every edge: the API, webhooks, scheduler, desk and payments.
    let clock = Clock::system();
    // One of several nodes on this database (issue #16): claims carry our
    // name and a lease, and a start closes only our own live calls.
    let cluster_node = cfg.cluster().context("[cluster]")?;
    let store = match &cluster_node {
        Some(c) => {
            let store = store.in_cluster(&c.node, c.lease);
            let now = clock.now();
            if let Some(pid) = store
                .join_cluster(now, std::process::id())
                .await
                .context("joining the cluster")?
            {
                tracing::warn!(node = %c.node, other_pid = pid, "another process announced this node name within one lease: every node needs its own [cluster] node");
            }
            tracing::info!(node = %c.node, lease = ?c.lease, "cluster node");
            store
        }
        None => store,
    };
    let metrics = Arc::new(Metrics::new());
    let confirm = crate::ivr::ConfirmPlan::load(&cfg.media.dialplans_dir.join("confirm.toml"))
        .context("loading the confirm dialplan")?;
    // Names are rendered by the engine `[tts]` gives each language; the
    // neural one is looked for once, here (issue #13).
    let choices = cfg.tts.choices().context("[tts]")?;
    let dir = cfg.media.tts_cache_dir.clone();
    let python = cfg.tts.python.clone();
    let tts = tokio::task::spawn_blocking(move || {
        Tts::new(dir, choices).with_neural_program(python).probe()
    })
    .await
    .context("probing the text-to-speech engines")?
    .context("[tts]")?;
    let api = ApiState::new(store.clone(), &cfg, metrics.clone())
        .context("building the campaign rules")?
        .with_clock(clock.clone())
        .with_tts(tts.clone())
        .with_phrases(
            crate::call::engine::script_phrases(&cfg, &confirm),
            confirm.max_items,
        );
    // Rules set over the API win over the file's [campaign] (issue #13).
    if api
        .restore_rules()
        .await
        .context("restoring the campaign rules set over the API")?
    {
        tracing::info!(
            "campaign rules: the version stored by PUT /v1/rules (over the config file's)"
        );
    }
    let campaign = api.campaign();

    // Calls that were up when the last process died: failed, and re-scheduled by the rules.
    let now = clock.now();
    let rules = campaign.read().unwrap_or_else(|p| p.into_inner()).clone();
    let reconciled = store
        .reconcile_live_on_start(now, |c| {
            rules.after_attempt(&c.rule_state(), Outcome::Failed, now)
        })
        .await
        .context("reconciling calls interrupted by the last stop")?;
    tracing::info!(?reconciled, "reconciled interrupted attempts");
    // Registering agents are stored with their address-of-record as URI.
    let domain = cfg.sip.domain();
    let agents: Vec<crate::config::AgentConfig> = cfg
        .agents
        .iter()
        .map(|a| crate::config::AgentConfig {
            sip_uri: Some(a.stored_uri(&domain)),
            ..a.clone()
        })
        .collect();
    store
        .sync_config_agents(&agents, now)
        .await
        .context("storing the configured agents")?;
    let (calls, payments) = store
        .reconcile_agent_calls_on_start(now)
        .await
        .context("closing agent calls and payments interrupted by the last stop")?;
    if calls + payments > 0 {
        tracing::warn!(
            calls,
            payments,
            "closed agent calls and payments left open by the last stop"
        );
    }

    // Call modes (issue #11): the queue from its stored rows, crash leftovers released.
    let (dialup, restored) = Dialup::start(store.clone(), &cfg, now)
        .await
        .context("restoring the call-mode queue")?;
    tracing::info!(
        rows = restored.rows,
        released = restored.released.len(),
        moved = restored.moved.len(),
        followed = restored.followed.len(),
        "call-mode queue restored"
    );
    // Agents' states (issue #10): rebuilt from the agent log; a restart
    // logs out whoever was working (their session legs died with us).
    let floor_settings = cfg.operators.floor().context("checking [operators]")?;
    let (floor, logged_out) = Floor::start(store.clone(), floor_settings, now)
        .await
        .context("restoring the agents' floor")?;
    if !logged_out.is_empty() {
        tracing::info!(agents = ?logged_out, "agents logged out by the restart");
    }
    let api = api.with_dialup(dialup.clone()).with_floor(floor.clone());

    let http = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .with_context(|| format!("binding the HTTP API on {}", cfg.http.listen))?;
    let webhooks = match &cfg.webhooks {
        Some(w) => Some(
            WebhookDeliverer::new(
                store.clone(),
                webhook_options(w, cluster_node.as_ref())?,
                metrics.clone(),
            )
            .context("starting webhook delivery")?
            .with_clock(clock.clone()),
        ),
        None => {
            tracing::warn!(
                "no [webhooks] configured: outcomes are kept in the outbox until one is"
            );
            None
        }
    };
    // Trial orders' due steps (issue #15), charged through the API's gateway.
    let trial_runner = trials::TrialRunner::new(store.clone(), api.gateway(), clock.clone());
    let (engine, mut sip) = Engine::start(cfg)
        .await
        .context("starting the SIP endpoint")?;
    let registrar = registrations::start(engine.config(), &store, engine.sip(), clock.clone())
        .await
        .context("starting the SIP registrar")?;
    let floor_clock = clock.clone();
    let engine = Arc::new(engine.with_clock(clock));
    let hub = Arc::new(PaymentHub::new());
    let desk = Desk::with_registrar(
        engine.clone(),
        store.clone(),
        hub.clone(),
        metrics.clone(),
        registrar.clone(),
        Some(floor.clone()),
    );
    let api = api.with_call_control(Arc::new(desk.clone()), hub);
    tracing::info!(sip = %engine.sip().local_addr(), http = %http.local_addr()?, "orderline serving");

    let stop = CancellationToken::new();
    // Customers calling in: matched to their open order (issue #13).
    let inbound = inbound::Inbound {
        engine: engine.clone(),
        store: store.clone(),
        dialup: Some(dialup.clone()),
    };
    // Press 3 connects the robo-call's customer to a ready operator (issue #13).
    engine.install_operator_desk(Arc::new(live_operator::LiveOperators::new(
        dialup.clone(),
        floor.clone(),
        desk.clone(),
        store.clone(),
        engine.clone(),
        stop.child_token(),
    )));
    // One line per ready agent in a session (issue #11).
    let operator_dialer = progressive::Progressive::new(
        dialup.clone(),
        floor.clone(),
        desk.clone(),
        store.clone(),
        floor_clock.clone(),
    );
    let dialer_task = tokio::spawn(operator_dialer.run(stop.child_token()));
    // Several lines per agent for modes with pacing = "predictive" (#12).
    let predictive_task = predictive::Predictive::new(
        dialup.clone(),
        floor.clone(),
        desk.clone(),
        store.clone(),
        engine.clone(),
        tts,
    )
    .await
    .context("preparing the predictive modes' safe-harbor messages")?
    .map(|p| tokio::spawn(p.run(stop.child_token())));
    // Live nodes set our share of the trunk (issue #16); 1 outside a cluster.
    let nodes_now = match cluster_node {
        Some(_) => store
            .heartbeat(floor_clock.now())
            .await
            .context("cluster heartbeat")?,
        None => 1,
    };
    let (nodes_tx, mut nodes_rx) = tokio::sync::watch::channel(1u32);
    // A node joining a running cluster starts within its share, not the whole trunk.
    nodes_tx.send_replace(nodes_now);
    if nodes_now == 1 {
        nodes_rx.mark_unchanged();
    }
    let fence = CancellationToken::new();
    if let Some(node) = cluster_node {
        let tick = cluster::ClusterTick {
            store: store.clone(),
            node,
            campaign: campaign.clone(),
            clock: floor_clock.clone(),
            nodes: nodes_tx,
            fence: fence.clone(),
        };
        tokio::spawn(tick.run(stop.child_token()));
    }
    let scheduler = Scheduler::new(store.clone(), engine.clone(), campaign, metrics.clone())
        .with_dialup(dialup)
        .with_node_share(nodes_rx);
    let scheduler = tokio::spawn(scheduler.run(stop.child_token()));
    // Session legs move their agents on the floor (issue #10).
    let feed_task = tokio::spawn(floor_feed::run(
        desk.session_events(),
        floor.clone(),
        floor_clock.clone(),
        stop.child_token(),
    ));
    let floor_task = tokio::spawn(floor.run(floor_clock, stop.child_token()));
    tokio::spawn(trunks::watch(
        engine.clone(),
        metrics.clone(),
        stop.child_token(),
    ));
    let api_stop = stop.child_token();
    let api_task = tokio::spawn(crate::api::serve(http, api, async move {
        api_stop.cancelled().await
    }));
    let bindings_task = registrar.map(|link| {
        tokio::spawn(registrations::persist(
            link,
            store.clone(),
            stop.child_token(),
        ))
    });
    let trials_task = tokio::spawn(trial_runner.run(stop.child_token()));
    let hooks_task = webhooks.map(|d| {
        let hooks_stop = stop.child_token();
        tokio::spawn(d.run(async move { hooks_stop.cancelled().await }))
    });

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            next = sip.next_incoming() => {
                let Some((call, inc, events)) = next else { break };
                let inbound = inbound.clone();
                tokio::spawn(async move {
                    if let Err(e) = inbound.take(call, inc, events).await {
                        tracing::warn!(%call, error = %e, "inbound call failed");
                    }
                });
            }
            _ = &mut shutdown => break,
            _ = fence.cancelled() => break,
        }
    }
    tracing::info!("draining: no new calls, BYE to live calls");
    stop.cancel();
    engine.sip().shutdown().await;
    // Calls got their BYE; wait for their records (a charge in flight is
    // waited for, so a taken payment is never reported lost).
    if tokio::time::timeout(DESK_DRAIN, desk.drain())
        .await
        .is_err()
    {
        tracing::error!("agent calls still running after the drain timeout");
    }
    if let Err(e) = scheduler.await {
        tracing::error!(error = %e, "scheduler task failed");
    }
    match api_task.await {
        Ok(Err(e)) => tracing::error!(error = %e, "HTTP API failed"),
        Err(e) => tracing::error!(error = %e, "HTTP API task failed"),
        Ok(Ok(())) => {}
    }
    if let Some(t) = predictive_task {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "predictive dialer task failed");
        }
    }
    if let Err(e) = dialer_task.await {
        tracing::error!(error = %e, "operator dialer task failed");
    }
    if let Err(e) = feed_task.await {
        tracing::error!(error = %e, "floor feed task failed");
    }
    if let Err(e) = floor_task.await {
        tracing::error!(error = %e, "wrap-up timer task failed");
    }
    if let Some(t) = bindings_task {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "binding store task failed");
        }
    }
    if let Err(e) = trials_task.await {
        tracing::error!(error = %e, "trial steps task failed");
    }
    if let Some(t) = hooks_task {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "webhook task failed");
        }
    }
    store.close().await;
    tracing::info!("stopped");
    if fence.is_cancelled() {
        anyhow::bail!("stopped: this node's cluster leases could not be renewed in time");
    }
    Ok(())
}

/// Delivery options; in a `[cluster]` an event leased by a node that died
/// comes due again after the node lease (at least twice the request
/// timeout, so a slow delivery is never sent twice by two nodes at once).
fn webhook_options(
    w: &crate::config::WebhookConfig,
    node: Option<&crate::config::ClusterNode>,
) -> anyhow::Result<WebhookOptions> {
    let mut opts = WebhookOptions::from_config(w).context("webhooks config")?;
    if let Some(node) = node {
        opts.lease = node.lease.max(2 * opts.timeout);
    }
    Ok(opts)
}

/// A database URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact_url("sqlite://orderline.db"),
            "sqlite://orderline.db"
        );
    }
}
