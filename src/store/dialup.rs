//! Dial-up rows (issue #11): the call modes' queue as the store keeps it.
//!
//! The daemon's `DialQueue` (orderline-dialer) decides; the store persists
//! what it decided. One [`DialupMove`] is the order's new status (if any) and
//! its [`QueueRow`] after the move (none: out of dial-up); a batch of moves is
//! written in one transaction together with the status history (and the
//! webhook of a built-in status), so a crash never leaves a status without
//! its row or a row without its status (docs/call-modes.md, "rows").

use chrono::{DateTime, Utc};
use orderline_dialer::modes::{ModeSettings, QueueRow, Subqueue, Tick};
use sqlx::any::AnyRow;

use super::error::QueryContext;
use super::model::{corrupt, get, ms, order_from_row, time, ORDER_COLUMNS};
use super::{enqueue, load_order, status_event, Order, Store, StoreError, Tx};
use crate::dialer::OrderStatus;

/// What one queue operation did to one order, to be persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialupMove {
    pub order_id: String,
    /// The order's new status; `None` leaves it.
    pub status: Option<String>,
    /// The order's dial-up row afterwards; `None` deletes it.
    pub row: Option<QueueRow>,
    /// An upsell mode's call ended with this outcome (issue #15): stored in
    /// `dialer_upsell_done` so the order never enters an upsell mode again.
    pub upsell_done: Option<String>,
}

/// A rule change made over the API, stored by [`Store::apply_dialup_change`].
#[derive(Debug, Clone, PartialEq)]
pub enum DialupChange {
    /// The mode's accumulated patch (all keys the merchant has set so far).
    ModeSettings {
        mode: String,
        settings: ModeSettings,
    },
    Tick(Tick),
}

/// Stored rows per mode and sub-queue; `in_flight` rows are counted apart
/// (as `DialQueue::overview` does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialupCount {
    pub mode: String,
    pub subqueue: Subqueue,
    pub in_flight: bool,
    pub count: u64,
}

const T: &str = "dialer_queue";

/// The webhook of a move into a configured status (issue #11).
pub const STATUS_CHANGED: &str = "order.status_changed";
const ROW_COLUMNS: &str =
    "order_id, project, timezone, created_at, mode, subqueue, due_at, attempts, callback_agent, in_flight_agent";

/// The column text of a sub-queue (the names the API and the CHECK use).
pub(crate) fn subqueue_str(s: Subqueue) -> &'static str {
    match s {
        Subqueue::Unprocessed => "unprocessed",
        Subqueue::NoAnswer => "no_answer",
        Subqueue::Callback => "callback",
    }
}

fn parse_subqueue(s: &str) -> Result<Subqueue, StoreError> {
    match s {
        "unprocessed" => Ok(Subqueue::Unprocessed),
        "no_answer" => Ok(Subqueue::NoAnswer),
        "callback" => Ok(Subqueue::Callback),
        other => Err(corrupt(T, format!("subqueue {other:?}"))),
    }
}

fn row_from(row: &AnyRow) -> Result<QueueRow, StoreError> {
    let sub: String = get(row, T, "subqueue")?;
    let attempts: i64 = get(row, T, "attempts")?;
    Ok(QueueRow {
        order_id: get(row, T, "order_id")?,
        project: get(row, T, "project")?,
        timezone: get(row, T, "timezone")?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
        mode: get(row, T, "mode")?,
        subqueue: parse_subqueue(&sub)?,
        due_at: time(T, "due_at", get(row, T, "due_at")?)?,
        attempts: u32::try_from(attempts)
            .map_err(|_| corrupt(T, format!("attempts {attempts}")))?,
        callback_agent: get(row, T, "callback_agent")?,
        in_flight_agent: get(row, T, "in_flight_agent")?,
    })
}

impl Store {
    /// Every dial-up row, by order id (what `DialQueue::from_rows` takes).
    pub async fn dialup_rows(&self) -> Result<Vec<QueueRow>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM dialer_queue ORDER BY order_id"
        ))
        .fetch_all(&self.pool)
        .await
        .during("load dial-up rows")?
        .iter()
        .map(row_from)
        .collect()
    }

    /// Persist queue moves in one transaction: each order's status (with its
    /// history row, and its webhook when the status is a built-in one) and
    /// its dial-up row. An unknown order fails the whole batch.
    pub async fn apply_dialup(
        &self,
        moves: &[DialupMove],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if moves.is_empty() {
            // Nothing moved: no transaction (on SQLite it would take the write lock).
            return Ok(());
        }
        let mut tx = self.begin("apply dial-up moves").await?;
        write_moves(&mut tx, moves, reason, now).await?;
        tx.commit().await.during("apply dial-up moves")?;
        Ok(())
    }

    /// Mode settings patches set over the API, per mode id (laid over the
    /// config at start; migration 0007).
    pub async fn mode_settings(&self) -> Result<Vec<(String, ModeSettings)>, StoreError> {
        const S: &str = "dialer_mode_settings";
        sqlx::query("SELECT mode, settings FROM dialer_mode_settings ORDER BY mode")
            .fetch_all(&self.pool)
            .await
            .during("load mode settings")?
            .iter()
            .map(|r| {
                let text: String = get(r, S, "settings")?;
                let settings: ModeSettings = serde_json::from_str(&text)
                    .map_err(|e| corrupt(S, format!("settings {text:?}: {e}")))?;
                Ok((get(r, S, "mode")?, settings))
            })
            .collect()
    }

    /// Status ticks set over the API, in the order they were last set.
    pub async fn status_ticks(&self) -> Result<Vec<Tick>, StoreError> {
        const S: &str = "dialer_status_ticks";
        sqlx::query("SELECT status, project, mode FROM dialer_status_ticks ORDER BY updated_at, status, project")
            .fetch_all(&self.pool)
            .await
            .during("load status ticks")?
            .iter()
            .map(|r| {
                Ok(Tick {
                    status: get(r, S, "status")?,
                    project: get(r, S, "project")?,
                    mode: get(r, S, "mode")?,
                })
            })
            .collect()
    }

    /// Store a mode's accumulated settings patch (or a status tick) together
    /// with the queue moves the change made (orders over a lowered cap, orders
    /// entering or leaving by a new tick), in one transaction: the change
    /// and its consequences are durable together or not at all.
    pub async fn apply_dialup_change(
        &self,
        change: &DialupChange,
        moves: &[DialupMove],
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin("apply dial-up change").await?;
        match change {
            DialupChange::ModeSettings { mode, settings } => {
                let text = serde_json::to_string(settings)
                    .map_err(|e| corrupt("dialer_mode_settings", e.to_string()))?;
                sqlx::query(
                    "INSERT INTO dialer_mode_settings (mode, settings, updated_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (mode) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(mode)
                .bind(text)
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .during("store mode settings")?;
            }
            DialupChange::Tick(t) => {
                sqlx::query(
                    "INSERT INTO dialer_status_ticks (status, project, mode, updated_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (status, project) DO UPDATE SET mode = excluded.mode, updated_at = excluded.updated_at",
                )
                .bind(&t.status)
                .bind(&t.project)
                .bind(t.mode.as_deref())
                .bind(ms(now))
                .execute(&mut *tx)
                .await
                .during("store status tick")?;
            }
        }
        write_moves(&mut tx, moves, reason, now).await?;
        tx.commit().await.during("apply dial-up change")?;
        Ok(())
    }

    /// Orders the queue may disagree with after a crash between a status
    /// change made elsewhere (robo-call, decision) and its dial-up move: those
    /// in dial-up, and those whose shown status is one of `ticked`.
    pub async fn dialup_candidates(&self, ticked: &[String]) -> Result<Vec<Order>, StoreError> {
        let marks: Vec<String> = (1..=ticked.len()).map(|i| format!("${i}")).collect();
        let in_ticked = if marks.is_empty() {
            String::new()
        } else {
            format!(
                "COALESCE(dialer_status, status) IN ({}) OR ",
                marks.join(", ")
            )
        };
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE {in_ticked}id IN (SELECT order_id FROM dialer_queue) ORDER BY id"
        );
        let mut query = sqlx::query(&sql);
        for status in ticked {
            query = query.bind(status);
        }
        query
            .fetch_all(&self.pool)
            .await
            .during("load dial-up candidates")?
            .iter()
            .map(order_from_row)
            .collect()
    }

    /// Whether an upsell mode may take the order (issue #15): it carries
    /// an offer and no upsell call of it has ended yet.
    pub async fn upsell_eligible(&self, order_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT order_id FROM order_cards WHERE order_id = $1 AND offer_id IS NOT NULL \
             AND order_id NOT IN (SELECT order_id FROM dialer_upsell_done)",
        )
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
        .during("read upsell eligibility")?;
        Ok(row.is_some())
    }

    /// How an order's upsell call ended, if one did (`upsold`, `declined`,
    /// `no_answer` at the cap, or an extra button).
    pub async fn upsell_outcome(&self, order_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT outcome FROM dialer_upsell_done WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&self.pool)
            .await
            .during("read upsell outcome")?;
        row.map(|r| get(&r, "dialer_upsell_done", "outcome"))
            .transpose()
    }

    /// Stored rows counted per mode, sub-queue and in-flight flag (the admin
    /// table's figures straight from the store; tests compare the two).
    pub async fn dialup_counts(&self) -> Result<Vec<DialupCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT mode, subqueue, CASE WHEN in_flight_agent IS NULL THEN 0 ELSE 1 END AS busy, COUNT(*) AS n \
             FROM dialer_queue GROUP BY mode, subqueue, CASE WHEN in_flight_agent IS NULL THEN 0 ELSE 1 END \
             ORDER BY mode, subqueue, busy",
        )
        .fetch_all(&self.pool)
        .await
        .during("count dial-up rows")?;
        rows.iter()
            .map(|r| {
                let sub: String = get(r, T, "subqueue")?;
                let busy: i64 = get(r, T, "busy")?;
                let n: i64 = get(r, T, "n")?;
                Ok(DialupCount {
                    mode: get(r, T, "mode")?,
                    subqueue: parse_subqueue(&sub)?,
                    in_flight: busy != 0,
                    count: u64::try_from(n).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Operator access set over the API, per mode id (replaces the config's list).
    pub async fn mode_access(&self) -> Result<Vec<(String, Vec<String>)>, StoreError> {
        const A: &str = "dialer_mode_access";
        sqlx::query("SELECT mode, agents FROM dialer_mode_access ORDER BY mode")
            .fetch_all(&self.pool)
            .await
            .during("load mode access")?
            .iter()
            .map(|r| {
                let agents: String = get(r, A, "agents")?;
                let list: Vec<String> = serde_json::from_str(&agents)
                    .map_err(|e| corrupt(A, format!("agents {agents:?}: {e}")))?;
                Ok((get(r, A, "mode")?, list))
            })
            .collect()
    }

    /// Store who may work `mode` (upsert), so a restart keeps it.
    pub async fn set_mode_access(
        &self,
        mode: &str,
        agents: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let list = serde_json::Value::from(agents.to_vec()).to_string();
        sqlx::query(
            "INSERT INTO dialer_mode_access (mode, agents, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (mode) DO UPDATE SET agents = excluded.agents, updated_at = excluded.updated_at",
        )
        .bind(mode)
        .bind(list)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .during("store mode access")?;
        Ok(())
    }
}

/// Set an order's one status, with its history row (from the status the
/// merchant saw): a built-in one goes to `orders.status` (and its webhook,
/// as the robo-call's own moves) and clears the configured one; a configured
/// one goes to `orders.dialer_status` and queues `order.status_changed`
/// (the merchant's own statuses have no event of their own; this one carries
/// the old and new status and the mode the order is now in, or null).
async fn write_status(
    tx: &mut Tx,
    order_id: &str,
    status: &str,
    mode: Option<&str>,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let order = load_order(tx, order_id)
        .await?
        .ok_or_else(|| StoreError::OrderNotFound(order_id.to_string()))?;
    if order.shown_status() == status {
        // Setting the status the order is in is no change: no history row, no second webhook.
        return Ok(());
    }
    let builtin = OrderStatus::parse(status);
    // A built-in status goes to its checked column and clears the configured one.
    let (sql, bound) = match builtin {
        Some(b) => (
            "UPDATE orders SET status = $1, dialer_status = NULL, updated_at = $2 WHERE id = $3",
            b.as_str(),
        ),
        None => (
            "UPDATE orders SET dialer_status = $1, updated_at = $2 WHERE id = $3",
            status,
        ),
    };
    sqlx::query(sql)
        .bind(bound)
        .bind(ms(now))
        .bind(order_id)
        .execute(&mut **tx)
        .await
        .during("set order status")?;
    sqlx::query("INSERT INTO order_status_history (order_id, from_status, to_status, reason, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(order_id)
        .bind(order.shown_status())
        .bind(status)
        .bind(reason)
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .during("record status history")?;
    if builtin.is_none() {
        let payload = serde_json::json!({
            "order_id": order_id,
            "status": status,
            "previous_status": order.shown_status(),
            "mode": mode,
            "project": order.project,
            "reason": reason,
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        enqueue(tx, STATUS_CHANGED, Some(order_id), &payload, now).await?;
    }
    if let Some(event_type) = builtin.and_then(status_event) {
        let payload = serde_json::json!({
            "order_id": order_id,
            "status": status,
            "reason": reason,
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        enqueue(tx, event_type, Some(order_id), &payload, now).await?;
    }
    Ok(())
}

/// Each move's status (with history and webhook) and dial-up row, inside `tx`.
async fn write_moves(
    tx: &mut Tx,
    moves: &[DialupMove],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for m in moves {
        if let Some(status) = &m.status {
            let mode = m.row.as_ref().map(|r| r.mode.as_str());
            write_status(tx, &m.order_id, status, mode, reason, now).await?;
        }
        if let Some(outcome) = &m.upsell_done {
            sqlx::query(
                "INSERT INTO dialer_upsell_done (order_id, outcome, done_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (order_id) DO NOTHING",
            )
            .bind(&m.order_id)
            .bind(outcome)
            .bind(ms(now))
            .execute(&mut **tx)
            .await
            .during("record an ended upsell call")?;
        }
        match &m.row {
            Some(row) => upsert_row(tx, row).await?,
            None => {
                sqlx::query("DELETE FROM dialer_queue WHERE order_id = $1")
                    .bind(&m.order_id)
                    .execute(&mut **tx)
                    .await
                    .during("delete dial-up row")?;
            }
        }
    }
    Ok(())
}

async fn upsert_row(tx: &mut Tx, r: &QueueRow) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO dialer_queue ({ROW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (order_id) DO UPDATE SET project = excluded.project, timezone = excluded.timezone, \
         created_at = excluded.created_at, mode = excluded.mode, subqueue = excluded.subqueue, \
         due_at = excluded.due_at, attempts = excluded.attempts, callback_agent = excluded.callback_agent, \
         in_flight_agent = excluded.in_flight_agent"
    ))
    .bind(&r.order_id)
    .bind(&r.project)
    .bind(r.timezone.as_deref())
    .bind(ms(r.created_at))
    .bind(&r.mode)
    .bind(subqueue_str(r.subqueue))
    .bind(ms(r.due_at))
    .bind(i64::from(r.attempts))
    .bind(r.callback_agent.as_deref())
    .bind(r.in_flight_agent.as_deref())
    .execute(&mut **tx)
    .await
    .during("write dial-up row")?;
    Ok(())
}
