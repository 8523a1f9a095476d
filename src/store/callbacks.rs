//! Inbound callbacks (issue #13): the open orders a caller may be ringing
//! back about, and the record of such a call as an attempt of kind
//! `inbound`, written with its status change and webhooks in one transaction.

use chrono::{DateTime, Utc};

use super::error::QueryContext;
use super::model::{attempt_from_row, ms, order_from_row, ATTEMPT_COLUMNS, ORDER_COLUMNS};
use super::{
    enqueue, enqueue_operator, load_order, set_status, Attempt, AttemptReport, Order, Store,
    StoreError,
};
use crate::dialer::OrderStatus;
use crate::ivr::Outcome;

/// Inbound attempts are numbered from here up, apart from the robo-calls'
/// 1..=5 (see migration 0008), so neither ever takes the other's number.
pub const FIRST_INBOUND_ATTEMPT: u32 = 1001;

/// Most candidate orders looked at for one caller.
const MAX_CANDIDATES: i64 = 50;

/// What recording an inbound call did.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRecorded {
    pub attempt: Attempt,
    /// The order's status afterwards.
    pub order_status: OrderStatus,
}

impl Store {
    /// Open orders (`pending`, `calling`, `flagged`) whose phone matches the
    /// ends in the digits `tail` (from [`crate::dialer::callback::phone_tail`]),
    /// newest first. A superset: the caller decides on the exact number.
    ///
    /// A comparison of the phone's end, not `phone LIKE '%' || tail`: SQLite
    /// re-compiles a statement whose LIKE pattern is a bound parameter on
    /// every new value (the pattern could allow an index), and at 1,500
    /// inbound calls a second that parse was a tenth of the daemon's CPU
    /// (issue #16, docs/performance.md). `substr` from a start at or before
    /// the first character yields at most the whole phone, shorter than
    /// `tail`, on both backends, so short phones never match.
    pub async fn open_orders_ending_with(&self, tail: &str) -> Result<Vec<Order>, StoreError> {
        sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE status IN ('pending', 'calling', 'flagged') \
             AND substr(phone, length(phone) - length($1) + 1) = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        ))
        .bind(tail)
        .bind(MAX_CANDIDATES)
        .fetch_all(&self.pool)
        .await
        .during("find open orders for a caller")?
        .iter()
        .map(order_from_row)
        .collect()
    }

    /// Record a customer's call about `order_id` (answered at `started`,
    /// ended at `now`) as an `inbound` attempt with its `call.attempted`
    /// webhook. A confirm or cancel key settles an open order (status,
    /// history and `order.confirmed`/`order.cancelled` in the same
    /// transaction) and drops its robo-calls not yet placed, so the
    /// scheduler never calls a settled order.
    pub async fn record_inbound_attempt(
        &self,
        order_id: &str,
        report: &AttemptReport,
        started: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<InboundRecorded, StoreError> {
        let op = "record inbound call";
        let mut tx = self.begin(op).await?;
        let order = load_order(&mut tx, order_id)
            .await?
            .ok_or_else(|| StoreError::OrderNotFound(order_id.to_string()))?;
        let row = sqlx::query(
            "SELECT COALESCE(MAX(attempt_no), $2) AS n FROM call_attempts WHERE order_id = $1 AND kind = 'inbound'",
        )
        .bind(order_id)
        .bind(i64::from(FIRST_INBOUND_ATTEMPT - 1))
        .fetch_one(&mut *tx)
        .await
        .during(op)?;
        let last: i64 = sqlx::Row::try_get(&row, "n").during(op)?;
        let row = sqlx::query(&format!(
            "INSERT INTO call_attempts (order_id, attempt_no, state, scheduled_at, started_at, finished_at, \
             trunk, sip_status, outcome, digits, duration_ms, error, kind) \
             VALUES ($1, $2, 'done', $3, $3, $4, $5, $6, $7, $8, $9, $10, 'inbound') RETURNING {ATTEMPT_COLUMNS}"
        ))
        .bind(order_id)
        .bind(last + 1)
        .bind(ms(started))
        .bind(ms(now))
        .bind(report.trunk.as_deref())
        .bind(report.sip_status.map(i64::from))
        .bind(report.outcome.as_str())
        .bind(report.digits.as_str())
        .bind(report.duration_ms)
        .bind(report.error.as_deref())
        .fetch_one(&mut *tx)
        .await
        .during(op)?;
        let attempt = attempt_from_row(&row)?;
        let payload = serde_json::json!({
            "order_id": order_id,
            "attempt": attempt.attempt_no,
            "kind": "inbound",
            "outcome": report.outcome.as_str(),
            "sip_status": report.sip_status,
            "digits": report.digits,
            "duration_ms": report.duration_ms,
            "trunk": report.trunk,
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "retry_at": null,
        });
        enqueue(&mut tx, "call.attempted", Some(order_id), &payload, now).await?;
        if report.outcome == Outcome::Operator {
            // A customer ringing back who pressed 3 is told to the merchant
            // as a robo-call's customer is (issue #13).
            enqueue_operator(&mut tx, &attempt, report.operator.as_deref(), now).await?;
        }
        let settled = match report.outcome {
            Outcome::Confirmed => Some(OrderStatus::Confirmed),
            Outcome::Cancelled => Some(OrderStatus::Cancelled),
            _ => None,
        };
        let open = matches!(
            order.status,
            OrderStatus::Pending | OrderStatus::Calling | OrderStatus::Flagged
        );
        let mut order_status = order.status;
        if let (Some(to), true) = (settled, open) {
            let reason = format!("inbound call: {}", report.outcome.as_str());
            if set_status(&mut tx, order_id, Some(order.status), to, &reason, now).await? {
                order_status = to;
                sqlx::query("DELETE FROM call_attempts WHERE order_id = $1 AND state = 'due'")
                    .bind(order_id)
                    .execute(&mut *tx)
                    .await
                    .during(op)?;
            }
        }
        tx.commit().await.during(op)?;
        Ok(InboundRecorded {
            attempt,
            order_status,
        })
    }
}
