//! The call-mode queue the daemon runs (issue #11): one [`DialQueue`] behind a lock,
//! built from the stored rows at start, every move written to the store in
//! the same transaction as the order's status.
//!
//! The daemon builds it and hands the API a [`Dialup`] handle (like the live
//! campaign rules); the API never owns the queue. It is a module of its own,
//! beside `call` and `store`, so that the API and the daemon both import it
//! and neither imports the other for it. Order of work per operation: apply the move to the
//! in-memory queue under the lock, write the move (status + row) in one
//! transaction, release the lock. If the write fails the queue is rebuilt
//! from the store, which stays the truth, so memory never runs ahead of disk.

mod pacing;
mod preview;

pub use preview::{Decision, Offer, PreviewAction, PreviewError, Previews};

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use orderline_dialer::modes::{
    CallModes, DialQueue, DialResult, DialerConfig, DialerConfigError, ModeSettings, Moved,
    OrderCard, Overview, Pacing, Pick, QueueError, QueueFilter, QueueItem, Tick,
    FULFILMENT_STATUSES,
};
use orderline_dialer::pacer::{AgentEvent, AgentId, CallEvent, CallId, PacerStats};
use orderline_dialer::window::CallWindow;
use tokio::sync::Mutex;

use crate::config::{Config, ConfigError};
use crate::store::{DialupChange, DialupMove, Order, Store, StoreError};

/// Why a dial-up operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialupError {
    /// The queue refused the event (unknown status, mode, bad agent name, ...).
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The order's zone is not an IANA zone (it was validated on insert, so
    /// only a hand-edited row gets here).
    #[error("order {order:?}: timezone {zone:?} is not an IANA zone")]
    BadZone { order: String, zone: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// `[dialer]` does not validate (`Config::load` has checked it already).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A settings or tick change the config's own validation refuses;
    /// `key()` names the key, e.g. `dialer.modes[0].put_off`.
    #[error(transparent)]
    Rules(#[from] DialerConfigError),
}

/// What [`Dialup::start`] found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    /// Rows read from the store.
    pub rows: usize,
    /// Orders left in flight by the last process, returned to their queues
    /// without an attempt (their calls are closed as interrupted).
    pub released: Vec<String>,
    /// Rows whose mode left the config or that sit at a lowered cap, moved
    /// out (`DialQueue::from_rows`).
    pub moved: Vec<String>,
    /// Orders whose status changed elsewhere (robo-call, decision) without
    /// their dial-up move being written (a crash in between): moved now.
    pub followed: Vec<String>,
}

/// The call-mode queue shared by the daemon and the API. Cheap to clone.
#[derive(Clone)]
pub struct Dialup {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    /// `[calling]`: the window and zone of modes that set none.
    calling: CallWindow,
    /// The `[dialer]` in force (config with the stored changes laid over),
    /// and each mode's accumulated settings patch. Locked before `queue`.
    config: Mutex<Effective>,
    /// The validated rules in force (settings and ticks as changed over the
    /// API; operator access as of the last rule change). A copy the API can
    /// read without waiting for the queue.
    rules: RwLock<Arc<CallModes>>,
    queue: Mutex<DialQueue>,
    /// One pacer per mode (issue #12).
    pacers: pacing::ModePacers,
    /// Orders offered to agents in preview modes.
    previews: Previews,
}

/// The rules as the merchant changed them.
struct Effective {
    dialer: DialerConfig,
    patches: BTreeMap<String, ModeSettings>,
}

/// Reason of a dial-up move that follows a status set elsewhere.
const FOLLOWED: &str = "dialer: follows the order's status";

/// Status-history reason of moves a settings or tick change made.
const RULES_CHANGED: &str = "dialer: mode settings or status tick changed";

/// Status-history reason of a release after a restart.
const RELEASED: &str = "dialer: call interrupted by a restart, order back in its queue";

impl Dialup {
    /// Build the queue from the stored rows under the config's `[dialer]`,
    /// apply stored operator access, persist what the rebuild moved, release
    /// the calls a crash left in flight (nothing lost, nothing dialled twice:
    /// an in-flight order returns to its queue once, without costing an
    /// attempt), and make the queue follow statuses changed elsewhere whose
    /// dial-up move a crash cut off.
    pub async fn start(
        store: Store,
        config: &Config,
        now: DateTime<Utc>,
    ) -> Result<(Dialup, Restored), DialupError> {
        config.dialer_modes()?;
        let calling =
            CallWindow::parse(&config.calling.window, &config.calling.timezone).map_err(|e| {
                ConfigError::Invalid {
                    key: "calling.window".into(),
                    reason: e.to_string(),
                }
            })?;
        let effective = stored_changes(&store, &config.dialer, &calling).await?;
        let rules = effective.dialer.validate(&calling)?;
        let ticked = effective.dialer.ticked_statuses();
        let (mut queue, rows, moved) = build(&store, &rules, now).await?;
        let mut restored = Restored {
            rows,
            moved: moved.iter().map(|m| m.order.clone()).collect(),
            ..Restored::default()
        };
        let mut writes = to_writes(&queue, moved);
        store
            .apply_dialup(&writes, "dialer: mode or cap changed in config", now)
            .await?;
        writes.clear();
        for (order, agent) in queue.in_flight() {
            tracing::warn!(%order, %agent, "dial-up call left in flight by the last stop: released");
            let m = queue.release_in_flight(&order, now)?;
            restored.released.push(order);
            writes.extend(to_writes(&queue, vec![m]));
        }
        store.apply_dialup(&writes, RELEASED, now).await?;
        writes.clear();
        for order in store.dialup_candidates(&ticked).await? {
            if let Some(m) = follow(
                &mut queue,
                card(&store, &order, order.shown_status()).await?,
                &order,
                now,
            )? {
                restored.followed.push(order.id.clone());
                writes.extend(to_writes(&queue, vec![m]));
            }
        }
        store.apply_dialup(&writes, FOLLOWED, now).await?;
        let dialup = Dialup {
            inner: Arc::new(Inner {
                store,
                calling,
                config: Mutex::new(effective),
                rules: RwLock::new(Arc::new(queue.rules().clone())),
                pacers: pacing::ModePacers::new(queue.rules()),
                previews: Previews::new(),
                queue: Mutex::new(queue),
            }),
        };
        // The month each pacer's abandon rule runs over (issue #12): the
        // stored days; the pacer keeps those inside its 30-day window.
        for mode in dialup.inner.pacers.modes() {
            let days = dialup.inner.store.pacer_days(&mode, 0).await?;
            dialup.inner.pacers.restore(&mode, days, now)?;
        }
        Ok((dialup, restored))
    }

    /// The order's status was changed elsewhere (robo-call outcome, a
    /// decision): move its dial-up place to match. Written after the status
    /// (two transactions); a crash in between is repaired by [`Dialup::start`].
    pub async fn follow(&self, order_id: &str, now: DateTime<Utc>) -> Result<(), DialupError> {
        let Some(detail) = self.inner.store.get_order(order_id).await? else {
            return Err(StoreError::OrderNotFound(order_id.to_string()).into());
        };
        let order = detail.order;
        let card = card(&self.inner.store, &order, order.shown_status()).await?;
        self.apply(FOLLOWED, now, |q| {
            Ok(follow(q, card, &order, now)?.into_iter().collect())
        })
        .await
    }

    /// Press 3 with nobody ready (issue #13): the order becomes a callback
    /// for anyone in the operators' queue, due `now` (see
    /// [`DialQueue::callback_for_anyone`]); written like every move.
    pub async fn callback_now(
        &self,
        order_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        self.apply_to_order(
            order_id,
            "dialer: the customer asked for a person (press 3)",
            now,
            |q, card, status| q.callback_for_anyone(card, status, now, now),
        )
        .await
    }

    /// One move of a stored order (read for its card and shown status),
    /// written like every move.
    async fn apply_to_order(
        &self,
        order_id: &str,
        reason: &str,
        now: DateTime<Utc>,
        op: impl FnOnce(&mut DialQueue, OrderCard, &str) -> Result<Moved, QueueError>,
    ) -> Result<(), DialupError> {
        let Some(detail) = self.inner.store.get_order(order_id).await? else {
            return Err(StoreError::OrderNotFound(order_id.to_string()).into());
        };
        let order = detail.order;
        let card = card(&self.inner.store, &order, order.shown_status()).await?;
        let status = order.shown_status().to_string();
        self.apply(reason, now, |q| op(q, card, &status).map(|m| vec![m]))
            .await
    }

    /// The mode whose operators answer a customer of `order` who pressed 3
    /// (issue #13; [`DialQueue::operator_mode`]), and its agents. `None`
    /// when the order's project has no mode.
    pub async fn operator_mode(
        &self,
        order: &Order,
    ) -> Result<Option<(String, Vec<String>)>, DialupError> {
        let card = card(&self.inner.store, order, order.shown_status()).await?;
        let queue = self.inner.queue.lock().await;
        Ok(queue
            .operator_mode(&card, order.shown_status())
            .map(|m| (m.id.clone(), m.agents.iter().cloned().collect())))
    }

    /// Press 3, live (issue #13): `agent` took the customer of `order_id`;
    /// the order is in flight for them ([`DialQueue::take_live`]), written
    /// before the customer is connected, so the agent's disposition settles
    /// it ([`Dialup::finish_by`]).
    pub async fn take_live(
        &self,
        order_id: &str,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        self.apply_to_order(
            order_id,
            "dialer: the customer asked for a person (press 3) and an operator took the call",
            now,
            |q, card, status| q.take_live(card, status, agent, now),
        )
        .await
    }

    /// Whether `status` is a built-in or configured status.
    pub fn is_status(&self, status: &str) -> bool {
        self.rules().is_status(status)
    }

    /// The rules in force: the config with the settings and ticks changed
    /// over the API (access as of the last rule change — use
    /// [`Dialup::overview`] for the live lists).
    pub fn rules(&self) -> Arc<CallModes> {
        match self.inner.rules.read() {
            Ok(r) => Arc::clone(&r),
            // A panic while swapping an Arc leaves a whole Arc behind.
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Change mode `id`'s settings (`PUT /v1/dialer/modes/{id}`): `patch` is
    /// laid over the settings in force and checked by the config's own
    /// validation; the queue is rebuilt under the new rules (a lowered cap
    /// moves orders to `status_after_max`, a new put-off applies from the
    /// next unanswered call), and the patch and those moves are written in
    /// one transaction, so a restart keeps the change.
    pub async fn set_mode_settings(
        &self,
        id: &str,
        patch: &ModeSettings,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let mut effective = self.inner.config.lock().await;
        let mut merged = effective.patches.get(id).cloned().unwrap_or_default();
        merged.merge(patch);
        let dialer = effective.dialer.with_mode_settings(id, patch)?;
        let change = DialupChange::ModeSettings {
            mode: id.to_string(),
            settings: merged.clone(),
        };
        self.change_rules(dialer.clone(), &change, now).await?;
        effective.dialer = dialer;
        effective.patches.insert(id.to_string(), merged);
        Ok(())
    }

    /// Set or clear a status's tick for a project (`PUT
    /// /v1/dialer/statuses/{name}`). Orders already in that status follow
    /// the new tick now (in or out of the mode), as a restart would make
    /// them; the tick and those moves are written in one transaction.
    pub async fn set_tick(&self, tick: &Tick, now: DateTime<Utc>) -> Result<(), DialupError> {
        let mut effective = self.inner.config.lock().await;
        let dialer = effective.dialer.with_tick(tick)?;
        self.change_rules(dialer.clone(), &DialupChange::Tick(tick.clone()), now)
            .await?;
        effective.dialer = dialer;
        Ok(())
    }

    /// Validate `dialer`, rebuild the queue under it (live access kept),
    /// follow ticked statuses, persist `change` with the moves, then swap.
    /// Nothing in memory changes unless the write succeeded.
    async fn change_rules(
        &self,
        dialer: DialerConfig,
        change: &DialupChange,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let mut rules = dialer.validate(&self.inner.calling)?;
        let mut queue = self.inner.queue.lock().await;
        for (i, m) in queue.rules().modes().iter().enumerate() {
            if let Some(idx) = rules.mode_index(&m.id) {
                debug_assert_eq!(idx, i, "settings never add, drop or reorder modes");
                rules.set_agents(idx, m.agents.clone());
            }
        }
        let rebuilt = DialQueue::from_rows(rules, queue.rows(), now)?;
        let mut fresh = rebuilt.queue;
        let mut writes = to_writes(&fresh, rebuilt.moved);
        // Orders the rebuild moved already sit where their new status puts
        // them; the store still shows their old status, so skip them here.
        let moved: Vec<String> = writes.iter().map(|w| w.order_id.clone()).collect();
        for order in self
            .inner
            .store
            .dialup_candidates(&dialer.ticked_statuses())
            .await?
        {
            if moved.contains(&order.id) {
                continue;
            }
            if let Some(m) = follow(
                &mut fresh,
                card(&self.inner.store, &order, order.shown_status()).await?,
                &order,
                now,
            )? {
                writes.extend(to_writes(&fresh, vec![m]));
            }
        }
        self.inner
            .store
            .apply_dialup_change(change, &writes, RULES_CHANGED, now)
            .await?;
        let copy = Arc::new(fresh.rules().clone());
        *queue = fresh;
        match self.inner.rules.write() {
            Ok(mut r) => *r = copy,
            Err(poisoned) => *poisoned.into_inner() = copy,
        }
        Ok(())
    }

    /// The order entered `status` (`PUT /v1/orders/{id}/status`, or a new
    /// order's first status): a ticked status puts it in its mode's
    /// `unprocessed`, any other takes it out of dial-up. Status and row are
    /// written in one transaction.
    pub async fn set_status(
        &self,
        order: &Order,
        status: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let card = card(&self.inner.store, order, status).await?;
        self.apply(reason, now, |q| {
            q.set_status(card, status, now).map(|m| vec![m])
        })
        .await
    }

    /// The next order for a ready agent, marked in flight in memory and in
    /// the store before it is handed out (`daemon::progressive` calls it).
    pub async fn pick(&self, agent: &str, now: DateTime<Utc>) -> Result<Option<Pick>, DialupError> {
        let mut queue = self.inner.queue.lock().await;
        let Some(pick) = queue.pick(agent, now) else {
            return Ok(None);
        };
        self.write_row(&mut queue, &pick.order_id, "dialer: picked", now)
            .await?;
        Ok(Some(pick))
    }

    /// The next order of predictive `mode` for a new line (issue #12),
    /// marked in flight for `holder` in memory and in the store.
    pub async fn pick_line(
        &self,
        mode: &str,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Pick>, DialupError> {
        let mut queue = self.inner.queue.lock().await;
        let Some(pick) = queue.pick_line(mode, holder, now)? else {
            return Ok(None);
        };
        self.write_row(&mut queue, &pick.order_id, "dialer: picked for a line", now)
            .await?;
        Ok(Some(pick))
    }

    /// A line's customer was taken by `to`: the order is theirs to settle
    /// (their disposition), written before the customer is connected.
    pub async fn hand_over(
        &self,
        order: &str,
        from: &str,
        to: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let mut queue = self.inner.queue.lock().await;
        queue.hand_over(order, from, to)?;
        self.write_row(&mut queue, order, "dialer: line handed to an agent", now)
            .await
    }

    /// Write one order's row as the queue holds it; on failure the queue
    /// is rebuilt from the store (the truth).
    async fn write_row(
        &self,
        queue: &mut DialQueue,
        order: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let write = DialupMove {
            order_id: order.to_string(),
            status: None,
            row: queue.row(order),
            upsell_done: None,
        };
        if let Err(e) = self.inner.store.apply_dialup(&[write], reason, now).await {
            self.reload(queue, now).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// A picked order's call ended (the other half of [`Dialup::pick`]): the
    /// queue applies put-off, cap, disposition status or callback
    /// (`DialQueue::finish`), and the order's new status (with its history
    /// row and webhook) and its dial-up row are written in one transaction.
    /// A call not in flight is refused, so no result is applied twice.
    pub async fn finish(
        &self,
        order: &str,
        result: DialResult,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let reason = finish_reason(&result);
        self.apply(&reason, now, |q| {
            q.finish(order, result, now).map(|m| vec![m])
        })
        .await
    }

    /// [`Dialup::finish`] for a call `agent` placed, when `order` is in
    /// flight for that agent; `Ok(false)` (nothing applied) when it is not:
    /// a click-to-call naming an order the dialer did not pick, or a result
    /// that already came in (so no result is applied twice).
    pub async fn finish_by(
        &self,
        order: &str,
        agent: &str,
        result: DialResult,
        now: DateTime<Utc>,
    ) -> Result<bool, DialupError> {
        let reason = finish_reason(&result);
        let mut applied = false;
        self.apply(&reason, now, |q| {
            if q.in_flight_agent(order) != Some(agent) {
                return Ok(Vec::new());
            }
            applied = true;
            q.finish(order, result, now).map(|m| vec![m])
        })
        .await?;
        Ok(applied)
    }

    /// `agent` skipped the previewed `order` (preview pacing): back to its
    /// place without an attempt and not offered to `agent` again until the
    /// mode's put-off (`DialQueue::skip`); the row is written like every move.
    pub async fn skip(
        &self,
        order: &str,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        self.apply(
            "dialer: preview skipped, order back in its queue",
            now,
            |q| q.skip(order, agent, now).map(|m| vec![m]),
        )
        .await
    }

    /// The mode's pacing as in force (`None` for a mode no longer configured).
    pub fn pacing(&self, mode: &str) -> Option<Pacing> {
        let rules = self.rules();
        rules.mode_index(mode).map(|i| rules.mode(i).pacing)
    }

    /// The orders offered in preview, shared by the dialer and the API.
    pub fn previews(&self) -> &Previews {
        &self.inner.previews
    }

    /// [`Dialup::finish_by`] for the dialers, which have nobody to return an
    /// error to: a result that no longer applies is logged at debug, a
    /// failed write as an error (the order stays in flight and the next
    /// start releases it).
    pub async fn settle(&self, order: &str, holder: &str, result: DialResult, now: DateTime<Utc>) {
        match self.finish_by(order, holder, result, now).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!(%order, %holder, "order no longer in flight for this holder")
            }
            Err(e) => tracing::error!(%order, %holder, error = %e, "dial result not recorded"),
        }
    }

    /// Replace who may work `mode`; stored so a restart keeps it.
    pub async fn set_agents(
        &self,
        mode: &str,
        agents: Vec<String>,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        let mut queue = self.inner.queue.lock().await;
        queue.set_agents(mode, agents.iter().cloned())?;
        if let Err(e) = self.inner.store.set_mode_access(mode, &agents, now).await {
            self.reload(&mut queue, now).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Feed `mode`'s pacer an agent's state change (agent sessions).
    pub fn pacer_agent(
        &self,
        mode: &str,
        agent: AgentId,
        ev: AgentEvent,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        Ok(self.inner.pacers.agent(mode, agent, ev, now)?)
    }

    /// Feed `mode`'s pacer a line's progress (live dialing). A line dialled,
    /// a live answer or an abandon changes the 30-day ledger: today's counts
    /// are stored before this returns, so a restart keeps them.
    pub async fn pacer_call(
        &self,
        mode: &str,
        call: CallId,
        ev: CallEvent,
        now: DateTime<Utc>,
    ) -> Result<(), DialupError> {
        self.inner.pacers.call(mode, call, ev, now)?;
        if matches!(
            ev,
            CallEvent::Dialled | CallEvent::AnsweredLive | CallEvent::Abandoned
        ) {
            let today = self.inner.pacers.today(mode, now)?;
            self.inner.store.save_pacer_day(mode, &today, now).await?;
        }
        Ok(())
    }

    /// How many more lines `mode` should dial now.
    pub fn dial_now(&self, mode: &str, now: DateTime<Utc>) -> Result<u32, DialupError> {
        Ok(self.inner.pacers.dial_now(mode, now)?)
    }

    /// `mode`'s pacer as `GET /v1/dialer/modes/{id}/stats` shows it.
    pub fn pacer_stats(&self, mode: &str, now: DateTime<Utc>) -> Result<PacerStats, DialupError> {
        Ok(self.inner.pacers.stats(mode, now)?)
    }

    /// The admin table's figures.
    pub async fn overview(&self) -> Overview {
        self.inner.queue.lock().await.overview()
    }

    /// The orders in line, in dial order.
    pub async fn queue(&self, filter: &QueueFilter, now: DateTime<Utc>) -> Vec<QueueItem> {
        self.inner.queue.lock().await.queue(filter, now)
    }

    /// Apply one queue operation and persist what it moved.
    async fn apply(
        &self,
        reason: &str,
        now: DateTime<Utc>,
        op: impl FnOnce(&mut DialQueue) -> Result<Vec<Moved>, QueueError>,
    ) -> Result<(), DialupError> {
        let mut queue = self.inner.queue.lock().await;
        let moved = op(&mut queue)?;
        let writes = to_writes(&queue, moved);
        if let Err(e) = self.inner.store.apply_dialup(&writes, reason, now).await {
            self.reload(&mut queue, now).await;
            return Err(e.into());
        }
        Ok(())
    }

    /// After a failed write: rebuild from the store (the truth). If that
    /// fails too, the error is logged and memory is kept.
    async fn reload(&self, queue: &mut DialQueue, now: DateTime<Utc>) {
        match build(&self.inner.store, &self.rules(), now).await {
            Ok((fresh, _, _)) => *queue = fresh,
            Err(e) => {
                tracing::error!(error = %e, "dial-up queue could not be reloaded after a failed write")
            }
        }
    }
}

/// The config's `[dialer]` with the changes stored over the API laid over
/// it, each checked as it is laid: one that no longer validates (the config
/// file changed under it) is skipped with a warning, so the config wins.
async fn stored_changes(
    store: &Store,
    config: &DialerConfig,
    calling: &CallWindow,
) -> Result<Effective, DialupError> {
    let mut effective = Effective {
        dialer: config.clone(),
        patches: BTreeMap::new(),
    };
    for (mode, patch) in store.mode_settings().await? {
        match effective.dialer.with_mode_settings(&mode, &patch) {
            Ok(d) if d.validate(calling).is_ok() => {
                effective.dialer = d;
                effective.patches.insert(mode, patch);
            }
            _ => tracing::warn!(%mode, "stored mode settings no longer fit the config: ignored"),
        }
    }
    for tick in store.status_ticks().await? {
        match effective.dialer.with_tick(&tick) {
            Ok(d) if d.validate(calling).is_ok() => effective.dialer = d,
            _ => {
                tracing::warn!(status = %tick.status, project = %tick.project, "stored status tick no longer fits the config: ignored")
            }
        }
    }
    Ok(effective)
}

/// The queue from the store: rows under `rules` with stored access applied.
async fn build(
    store: &Store,
    rules: &CallModes,
    now: DateTime<Utc>,
) -> Result<(DialQueue, usize, Vec<Moved>), DialupError> {
    let rows = store.dialup_rows().await?;
    let count = rows.len();
    let rebuilt = DialQueue::from_rows(rules.clone(), rows, now)?;
    let mut queue = rebuilt.queue;
    for (mode, agents) in store.mode_access().await? {
        match queue.set_agents(&mode, agents) {
            Ok(()) => {}
            Err(QueueError::UnknownMode(_)) => {
                tracing::warn!(%mode, "stored operator access for a mode no longer configured: ignored")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok((queue, count, rebuilt.moved))
}

/// Move the order where its shown status puts it, if the queue disagrees
/// (in no mode but ticked, in another mode than its tick, or in a mode while
/// its status is not ticked). `None`: already in place (a `random` mode's
/// share leaving a ticked order out is in place too).
fn follow(
    queue: &mut DialQueue,
    card: OrderCard,
    order: &Order,
    now: DateTime<Utc>,
) -> Result<Option<Moved>, QueueError> {
    let status = order.shown_status();
    let want = queue
        .rules()
        .tick(status, &order.project)
        .map(|i| queue.rules().mode(i).id.clone());
    let have = queue.placement(&order.id).map(|p| p.mode);
    if want == have {
        return Ok(None);
    }
    let moved = queue.set_status(card, status, now)?;
    Ok((moved.dialer.as_ref().map(|p| &p.mode) != have.as_ref()).then_some(moved))
}

/// The status-history reason of a finished call, e.g. `dialer: call busy`.
fn finish_reason(result: &DialResult) -> String {
    match result {
        DialResult::NoAnswer => "dialer: call not answered".into(),
        DialResult::Busy => "dialer: call busy".into(),
        DialResult::Failed => "dialer: call failed".into(),
        DialResult::Dropped => "dialer: call dropped".into(),
        DialResult::Disposition(d) => format!("dialer: agent disposition {d}"),
        DialResult::Callback { .. } => "dialer: callback booked".into(),
        DialResult::Interrupted => "dialer: call interrupted, order back in its queue".into(),
    }
}

/// Each move with the order's row as the queue holds it now.
fn to_writes(queue: &DialQueue, moved: Vec<Moved>) -> Vec<DialupMove> {
    moved
        .into_iter()
        .map(|m| DialupMove {
            row: m.dialer.as_ref().and_then(|_| queue.row(&m.order)),
            order_id: m.order,
            status: m.status,
            upsell_done: m.upsell_done,
        })
        .collect()
}

/// What the queue needs of a stored order. Whether an upsell mode may take
/// it (issue #15: an offer, no upsell call ended yet) is read from the store
/// only when `status` (the one the order is in, or is entering) can tick
/// into one.
async fn card(store: &Store, order: &Order, status: &str) -> Result<OrderCard, DialupError> {
    let upsell_eligible =
        FULFILMENT_STATUSES.contains(&status) && store.upsell_eligible(&order.id).await?;
    let timezone = match &order.timezone {
        Some(zone) => Some(orderline_dialer::window::parse_timezone(zone).map_err(|_| {
            DialupError::BadZone {
                order: order.id.clone(),
                zone: zone.clone(),
            }
        })?),
        None => None,
    };
    Ok(OrderCard {
        id: order.id.clone(),
        project: order.project.clone(),
        timezone,
        created_at: order.created_at,
        upsell_eligible,
    })
}
