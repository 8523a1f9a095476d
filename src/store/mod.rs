//! The order store: orders, call attempts, status history, flag decisions and
//! the webhook outbox, in SQLite (embedded default) or PostgreSQL.
//!
//! Agents, agent-bridged calls and keypad payments (issue #5) live here too
//! (`agents`, `agent_calls`, `payments`); a payment's end writes its CRM note
//! and its webhook in the same transaction, like an order's status.
//!
//! One [`Store`] type serves both, chosen by the URL (`sqlite://PATH` or
//! `postgres://...`), through sqlx's `Any` driver so that every query is
//! written once; the two migration sets in `sql/` differ only in dialect.
//! Queries use `$1`-style parameters, which both SQLite and PostgreSQL accept.
//!
//! Every change of an order's status happens in one transaction together with
//! its history row and its webhook outbox row: either the merchant will hear
//! about a status or the status did not change. The store holds no rules; the
//! caller passes in what [`crate::dialer`] decided. Time is passed in too.

mod agent_calls;
mod agent_log;
mod agent_sip;
mod agents;
mod api_queries;
mod attempts;
mod callbacks;
mod cluster;
mod dialup;
mod error;
mod model;
mod model_calls;
mod order_script;
mod orders;
mod outbox;
mod pacer_days;
mod payments;
mod rules;
mod sip_bindings;
mod trials;
mod upsells;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::{Any, AnyPool, Connection, Executor};

pub use agent_calls::MAX_CALL_PAGE;
pub use agent_log::{CallDisposition, LogRecord};
pub use agent_sip::SipCredentials;
pub use callbacks::{InboundRecorded, FIRST_INBOUND_ATTEMPT};
pub use cluster::{LeaseTick, LOCAL_NODE};
pub use dialup::{DialupChange, DialupCount, DialupMove};
pub use error::StoreError;
pub use model::{
    Attempt, AttemptKind, AttemptReport, AttemptStatus, ClaimedAttempt, Finished, FlagDecision,
    Inserted, ListQuery, NewOrder, Order, OrderDetail, OutboxEvent, Page, Reconciled, StatusChange,
    MAX_PAGE,
};
pub use model_calls::{
    note_timestamp, parse_step, parse_step_status, token_hash, Agent, AgentCall, AgentCallStatus,
    AgentCallUpdate, AgentSource, CrmNote, EndedBy, NewAgent, NewAgentCall, Payment, PaymentResult,
    PaymentStatus, PaymentStep, STEPS,
};
pub use order_script::OrderScript;
pub use payments::INTERRUPTED;
pub use sip_bindings::StoredBinding;
pub use trials::{Extension, NewTrial, StoredTrial, TrialTerms};
pub use upsells::{NewPurchase, OrderExtras, Purchase, PurchaseEnd, PurchaseRecord, ELIGIBLE};

use crate::dialer::OrderStatus;
use error::QueryContext;
use model::{ms, order_from_row, ORDER_COLUMNS};

/// Which database is behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The order store. Cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// Who claims attempts and webhook events through this handle, and for
    /// how long (issue #16); node "local" without a lease outside a cluster.
    node: cluster::Node,
}

type Tx = sqlx::Transaction<'static, Any>;

/// How long a SQLite writer waits for the single write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

impl Store {
    /// Open (creating a SQLite file if needed) and migrate.
    ///
    /// SQLite runs in WAL mode so that readers (the API) never block the
    /// scheduler's writes; PostgreSQL needs no extra setup.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with(url, 8).await
    }

    /// [`Store::open`] with an explicit connection pool size.
    pub async fn open_with(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = if url.starts_with("sqlite:") {
            (Backend::Sqlite, sqlite_url(url))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_string()));
        };
        if backend == Backend::Sqlite {
            // journal_mode is a property of the file: set it once, on one
            // connection, before the pool opens several.
            let mut conn = sqlx::AnyConnection::connect(&url)
                .await
                .map_err(StoreError::Open)?;
            conn.execute("PRAGMA journal_mode = WAL")
                .await
                .map_err(StoreError::Open)?;
            conn.close().await.map_err(StoreError::Open)?;
        }
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str(),
                        )
                        .await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(StoreError::Open)?;
        migrator(backend).run(&pool).await?;
        Ok(Store {
            pool,
            backend,
            node: cluster::Node::local(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close every pooled connection (for a clean shutdown).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Start a write transaction.
    ///
    /// SQLite's default deferred `BEGIN` takes the write lock only at the
    /// first write, and fails with SQLITE_BUSY if another writer committed
    /// since this transaction's first read; `BEGIN IMMEDIATE` takes the lock
    /// up front so concurrent writers queue instead of failing.
    async fn begin(&self, op: &'static str) -> Result<Tx, StoreError> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await.during(op),
            Backend::Postgres => self.pool.begin().await.during(op),
        }
    }
}

/// Make a SQLite URL create its file when missing (`mode=rwc`).
fn sqlite_url(url: &str) -> String {
    if url.contains("mode=") || url.contains(":memory:") {
        return url.to_string();
    }
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}mode=rwc")
}

/// The migrations for a backend, embedded in the binary so a deployed daemon
/// needs no `sql/` folder next to it.
fn migrator(backend: Backend) -> Migrator {
    /// `(version, name, SQLite text, PostgreSQL text)`, in order; a new
    /// migration is one more line here and one file per backend.
    macro_rules! migrations {
        ($(($v:literal, $name:literal)),* $(,)?) => {
            [$((
                $v,
                $name,
                include_str!(concat!("../../sql/sqlite/", $name, ".sql")),
                include_str!(concat!("../../sql/postgres/", $name, ".sql")),
            )),*]
        };
    }
    let all = migrations![
        (1, "0001_init"),
        (2, "0002_agents_calls_payments"),
        (3, "0003_sip_bindings"),
        (4, "0004_dialer"),
        (5, "0005_agent_states"),
        (6, "0006_order_script"),
        (7, "0007_mode_settings"),
        (8, "0008_rules"),
        (9, "0009_money"),
        (10, "0010_pacer_days"),
        (11, "0011_sip_bindings_tls"),
        (12, "0012_agents_srtp"),
        (13, "0013_upsells"),
        (15, "0015_cluster"),
        (16, "0016_trials"),
        (17, "0017_upsell_calls"),
    ];
    let migrations = all
        .into_iter()
        .map(|(version, file, sqlite, postgres)| {
            let sql = match backend {
                Backend::Sqlite => sqlite,
                Backend::Postgres => postgres,
            };
            // The stored name drops the number: `init`, `dialer`, … as before.
            let name = file.split_once('_').map_or(file, |(_, name)| name);
            Migration::new(
                version,
                Cow::Borrowed(name),
                MigrationType::Simple,
                Cow::Borrowed(sql),
                false,
            )
        })
        .collect();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

// ---- helpers shared by the operations, all inside a transaction -----------

/// Read an order inside a transaction (orders and attempts both need it;
/// it lives here, below both, so neither imports the other back).
async fn load_order(tx: &mut Tx, id: &str) -> Result<Option<Order>, StoreError> {
    sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await
        .during("load order")?
        .as_ref()
        .map(order_from_row)
        .transpose()
}

/// Change an order's status and record why, with the matching webhook event.
/// `from` guards against a concurrent change: the update only happens if the
/// order is still in `from`.
async fn set_status(
    tx: &mut Tx,
    order_id: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let changed = match from {
        // A robo-call or decision outcome is newer than a configured status
        // the merchant set (issue #11): the order shows the built-in one again.
        Some(from) => sqlx::query("UPDATE orders SET status = $1, dialer_status = NULL, updated_at = $2 WHERE id = $3 AND status = $4")
            .bind(to.as_str())
            .bind(ms(now))
            .bind(order_id)
            .bind(from.as_str())
            .execute(&mut **tx)
            .await
            .during("update order status")?
            .rows_affected(),
        None => 1,
    };
    if changed == 0 {
        return Ok(false);
    }
    sqlx::query("INSERT INTO order_status_history (order_id, from_status, to_status, reason, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(order_id)
        .bind(from.map(OrderStatus::as_str))
        .bind(to.as_str())
        .bind(reason)
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .during("record status history")?;
    if let Some(event_type) = status_event(to) {
        let payload = serde_json::json!({
            "order_id": order_id,
            "status": to.as_str(),
            "reason": reason,
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        enqueue(tx, event_type, Some(order_id), &payload, now).await?;
    }
    Ok(true)
}

/// The webhook event a status change produces (none for internal states).
fn status_event(status: OrderStatus) -> Option<&'static str> {
    match status {
        OrderStatus::Confirmed => Some("order.confirmed"),
        OrderStatus::Cancelled => Some("order.cancelled"),
        OrderStatus::Flagged => Some("order.flagged"),
        OrderStatus::Pending | OrderStatus::Calling => None,
    }
}

/// Add an event to the webhook outbox, due for delivery at once.
async fn enqueue(
    tx: &mut Tx,
    event_type: &str,
    order_id: Option<&str>,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let id = event_id(now);
    sqlx::query(
        "INSERT INTO webhook_outbox (id, event_type, order_id, payload, created_at, next_attempt_at, attempts) \
         VALUES ($1, $2, $3, $4, $5, $5, 0)",
    )
    .bind(&id)
    .bind(event_type)
    .bind(order_id)
    .bind(payload.to_string())
    .bind(ms(now))
    .execute(&mut **tx)
    .await
    .during("enqueue webhook event")?;
    Ok(id)
}

/// Issue #13: `order.operator` for an attempt whose customer pressed the
/// operator key, robo-call or inbound alike: connected live to `operator`,
/// or (`None`) a callback in the operators' queue.
async fn enqueue_operator(
    tx: &mut Tx,
    attempt: &Attempt,
    operator: Option<&str>,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let payload = serde_json::json!({
        "order_id": attempt.order_id,
        "attempt": attempt.attempt_no,
        "reason": "the customer asked to talk to a person",
        "connected": operator.is_some(),
        "agent_id": operator,
        "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    enqueue(tx, "order.operator", Some(&attempt.order_id), &payload, now).await
}

/// A UUIDv7 (RFC 9562): millisecond time then random bits, so ids sort by
/// creation and stay unique across processes without coordination.
fn event_id(now: DateTime<Utc>) -> String {
    let millis = u128::from(u64::try_from(ms(now)).unwrap_or(0) & 0xFFFF_FFFF_FFFF);
    let rand: u128 = rand::random();
    let v = (millis << 80)
        | (0x7 << 76)
        | (rand & 0x0FFF << 64)
        | (0b10 << 62)
        | (rand & 0x3FFF_FFFF_FFFF_FFFF);
    let hex = format!("{v:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_uuid_v7_and_sort_by_time() {
        let t1 = DateTime::from_timestamp_millis(1_700_000_000_000).unwrap();
        let t2 = DateTime::from_timestamp_millis(1_700_000_000_001).unwrap();
        let a = event_id(t1);
        let b = event_id(t2);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "7", "{a}");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(a < b);
        assert_ne!(event_id(t1), event_id(t1));
    }

    #[test]
    fn sqlite_urls_create_their_file() {
        assert_eq!(sqlite_url("sqlite://x.db"), "sqlite://x.db?mode=rwc");
        assert_eq!(
            sqlite_url("sqlite://x.db?cache=shared"),
            "sqlite://x.db?cache=shared&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://x.db?mode=ro"), "sqlite://x.db?mode=ro");
    }
}
