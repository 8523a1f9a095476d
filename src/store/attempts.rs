//! Call attempts: scheduling, atomic claiming, finishing, and recovery of
//! attempts a crash left `live`.

use chrono::{DateTime, Utc};

use super::cluster::{scope_condition, LiveScope};
use super::error::QueryContext;
use super::model::{attempt_from_row, ms, ATTEMPT_COLUMNS};
use super::{
    enqueue, enqueue_operator, load_order, set_status, Attempt, AttemptReport, Backend,
    ClaimedAttempt, Finished, Reconciled, Store, StoreError, Tx,
};
use crate::config::MAX_REATTEMPTS;
use crate::dialer::{Next, OrderStatus};
use crate::ivr::Outcome;

/// What a restart writes on an attempt it found `live`.
const INTERRUPTED: &str = "interrupted: the daemon stopped during this call";

impl Store {
    /// Claim up to `limit` attempts due at `now` and mark them `live`.
    ///
    /// The claim is one `UPDATE … WHERE state = 'due'`, so an attempt is
    /// handed to exactly one worker: on PostgreSQL the candidate rows are
    /// locked with `FOR UPDATE SKIP LOCKED` (a second worker takes other rows
    /// instead of waiting), on SQLite the write lock serialises claimers.
    /// Oldest due first. Each claim carries this node's name and, in a
    /// `[cluster]`, a lease the node renews while the call lasts (issue #16).
    pub async fn due_attempts(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ClaimedAttempt>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        // The pick is a CTE: PostgreSQL evaluates a locking CTE exactly once.
        // As `id IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` the sub-select
        // cannot be hashed and is re-run per outer row, claiming far more than
        // `limit` (measured: 66 rows for a limit of 1).
        let sql = format!(
            "WITH picked AS (\
               SELECT id AS pick FROM call_attempts WHERE state = 'due' AND scheduled_at <= $1 \
               ORDER BY scheduled_at, id LIMIT $2 {lock}) \
             UPDATE call_attempts SET state = 'live', started_at = $1, node = $3, lease_until = $4 \
             WHERE state = 'due' AND id IN (SELECT pick FROM picked) \
             RETURNING {ATTEMPT_COLUMNS}"
        );
        let mut tx = self.begin("claim due attempts").await?;
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(i64::from(limit))
            .bind(self.node())
            .bind(self.lease_end(now))
            .fetch_all(&mut *tx)
            .await
            .during("claim due attempts")?;
        let mut attempts = rows
            .iter()
            .map(attempt_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        attempts.sort_by_key(|a| (a.scheduled_at, a.id));
        let mut claimed = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            let mut order = load_order(&mut tx, &attempt.order_id)
                .await?
                .ok_or_else(|| StoreError::OrderNotFound(attempt.order_id.clone()))?;
            if order.status == OrderStatus::Pending {
                // Claimed: the order is being called now (issue #13).
                let reason = "call: first attempt claimed";
                let from = Some(OrderStatus::Pending);
                set_status(&mut tx, &order.id, from, OrderStatus::Calling, reason, now).await?;
                order = load_order(&mut tx, &attempt.order_id)
                    .await?
                    .ok_or_else(|| StoreError::OrderNotFound(attempt.order_id.clone()))?;
            }
            claimed.push(ClaimedAttempt { attempt, order });
        }
        tx.commit().await.during("claim due attempts")?;
        Ok(claimed)
    }

    /// Put a claimed attempt back to `due` at `at` without calling it (e.g.
    /// the window closed before a channel was free). It keeps its number: a
    /// deferred attempt is not a call.
    pub async fn defer_attempt(
        &self,
        attempt_id: i64,
        at: DateTime<Utc>,
    ) -> Result<Attempt, StoreError> {
        let row = sqlx::query(&format!(
            "UPDATE call_attempts SET state = 'due', scheduled_at = $1, started_at = NULL, \
             node = NULL, lease_until = NULL WHERE id = $2 AND state = 'live' RETURNING {ATTEMPT_COLUMNS}"
        ))
        .bind(ms(at))
        .bind(attempt_id)
        .fetch_optional(&self.pool)
        .await
        .during("defer attempt")?
        .ok_or(StoreError::AttemptNotLive(attempt_id))?;
        attempt_from_row(&row)
    }

    /// Record how a live attempt ended and apply what the rules decided.
    ///
    /// In one transaction: the attempt becomes `done` with its result, a
    /// `call.attempted` webhook event is queued, and `next` is applied (the
    /// order's new status with its own event, or the re-attempt row). A
    /// second finish of the same attempt fails with
    /// [`StoreError::AttemptNotLive`] and changes nothing.
    pub async fn finish_attempt(
        &self,
        attempt_id: i64,
        report: &AttemptReport,
        next: Next,
        now: DateTime<Utc>,
    ) -> Result<Finished, StoreError> {
        let mut tx = self.begin("finish attempt").await?;
        let row = sqlx::query(&format!(
            "UPDATE call_attempts SET state = 'done', finished_at = $1, trunk = $2, sip_status = $3, outcome = $4, \
             digits = $5, duration_ms = $6, error = $7 WHERE id = $8 AND state = 'live' RETURNING {ATTEMPT_COLUMNS}"
        ))
        .bind(ms(now))
        .bind(report.trunk.as_deref())
        .bind(report.sip_status.map(i64::from))
        .bind(report.outcome.as_str())
        .bind(report.digits.as_str())
        .bind(report.duration_ms)
        .bind(report.error.as_deref())
        .bind(attempt_id)
        .fetch_optional(&mut *tx)
        .await
        .during("finish attempt")?
        .ok_or(StoreError::AttemptNotLive(attempt_id))?;
        let attempt = attempt_from_row(&row)?;
        let finished =
            close_attempt(&mut tx, &attempt, report.operator.as_deref(), next, now).await?;
        tx.commit().await.during("finish attempt")?;
        Ok(finished)
    }

    /// On start-up, close every attempt a crash left `live` as `failed` and
    /// apply what `decide` says follows (normally
    /// `campaign.after_attempt(&claimed.rule_state(), Outcome::Failed, now)`).
    /// In a `[cluster]` only this node's live attempts are closed: the other
    /// nodes' calls are theirs while their leases last (issue #16).
    ///
    /// The interrupted attempt is never called again: a re-attempt is a new
    /// row with the next attempt number, and counts against the cap.
    pub async fn reconcile_live_on_start(
        &self,
        now: DateTime<Utc>,
        decide: impl Fn(&ClaimedAttempt) -> Next,
    ) -> Result<Reconciled, StoreError> {
        self.reconcile_live(self.start_scope(), now, decide).await
    }

    /// Close the live attempts of `scope` as interrupted, in one transaction.
    pub(super) async fn reconcile_live(
        &self,
        scope: LiveScope,
        now: DateTime<Utc>,
        decide: impl Fn(&ClaimedAttempt) -> Next,
    ) -> Result<Reconciled, StoreError> {
        let mut tx = self.begin("reconcile live attempts").await?;
        let sql = format!(
            "UPDATE call_attempts SET state = 'done', finished_at = $1, outcome = $2, error = $3 \
             WHERE state = 'live'{} RETURNING {ATTEMPT_COLUMNS}",
            scope_condition(scope)
        );
        let mut query = sqlx::query(&sql)
            .bind(ms(now))
            .bind(Outcome::Failed.as_str())
            .bind(INTERRUPTED);
        if matches!(scope, LiveScope::Mine) {
            query = query.bind(self.node());
        }
        let rows = query
            .fetch_all(&mut *tx)
            .await
            .during("reconcile live attempts")?;
        let mut attempts = rows
            .iter()
            .map(attempt_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        attempts.sort_by_key(|a| a.id);
        let mut report = Reconciled::default();
        for attempt in attempts {
            let order = load_order(&mut tx, &attempt.order_id)
                .await?
                .ok_or_else(|| StoreError::OrderNotFound(attempt.order_id.clone()))?;
            let claimed = ClaimedAttempt { attempt, order };
            let next = decide(&claimed);
            match next {
                Next::RetryAt(_) => report.rescheduled += 1,
                Next::Fallback(_) | Next::Done(_) => report.fell_back += 1,
            }
            close_attempt(&mut tx, &claimed.attempt, None, next, now).await?;
            report.interrupted.push(claimed.attempt.id);
        }
        tx.commit().await.during("reconcile live attempts")?;
        Ok(report)
    }
}

/// Queue `call.attempted` for a finished attempt and apply `next`.
/// `operator`: the agent a press-3 customer was handed to, live.
async fn close_attempt(
    tx: &mut Tx,
    attempt: &Attempt,
    operator: Option<&str>,
    next: Next,
    now: DateTime<Utc>,
) -> Result<Finished, StoreError> {
    let retry_at = match next {
        Next::RetryAt(t) => Some(t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        _ => None,
    };
    let payload = serde_json::json!({
        "order_id": attempt.order_id,
        "attempt": attempt.attempt_no,
        "outcome": attempt.outcome.map(Outcome::as_str),
        "sip_status": attempt.sip_status,
        "digits": attempt.digits,
        "duration_ms": attempt.duration_ms,
        "trunk": attempt.trunk,
        "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "retry_at": retry_at,
    });
    enqueue(tx, "call.attempted", Some(&attempt.order_id), &payload, now).await?;
    if attempt.outcome == Some(Outcome::Operator) {
        // Issue #13: the customer pressed the operator key; the order goes
        // to a person (it is also `flagged`, with its own event).
        enqueue_operator(tx, attempt, operator, now).await?;
    }
    // Issue #13: events a merchant can act on (SMS/WhatsApp) without
    // reading every call.attempted: each call that did not reach the
    // customer, and the end of the attempts without reaching them.
    // A call cut off by our own stop says nothing about the customer.
    let interrupted = attempt.error.as_deref() == Some(INTERRUPTED);
    if attempt.outcome.is_some_and(unanswered) && !interrupted {
        let event = serde_json::json!({
            "order_id": attempt.order_id,
            "attempt": attempt.attempt_no,
            "outcome": attempt.outcome.map(Outcome::as_str),
            "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "retry_at": retry_at,
        });
        enqueue(
            tx,
            "order.unreachable",
            Some(&attempt.order_id),
            &event,
            now,
        )
        .await?;
        if let Next::Fallback(status) = next {
            let event = serde_json::json!({
                "order_id": attempt.order_id,
                "attempts": attempt.attempt_no,
                "last_outcome": attempt.outcome.map(Outcome::as_str),
                "fallback": status.as_str(),
                "at": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            });
            enqueue(
                tx,
                "order.no_answer_final",
                Some(&attempt.order_id),
                &event,
                now,
            )
            .await?;
        }
    }
    match next {
        Next::RetryAt(at) => {
            // Settled meanwhile (the customer called back and keyed 1 while
            // this robo-call rang, issue #13): nothing more to place.
            let order = load_order(tx, &attempt.order_id)
                .await?
                .ok_or_else(|| StoreError::OrderNotFound(attempt.order_id.clone()))?;
            if matches!(
                order.status,
                OrderStatus::Confirmed | OrderStatus::Cancelled
            ) {
                return Ok(Finished {
                    order_status: order.status,
                    next_attempt: None,
                });
            }
            let next_no = attempt.attempt_no + 1;
            if next_no > 1 + MAX_REATTEMPTS {
                return Err(StoreError::AttemptCap {
                    order_id: attempt.order_id.clone(),
                });
            }
            let next_attempt = schedule(tx, &attempt.order_id, next_no, at).await?;
            Ok(Finished {
                order_status: OrderStatus::Calling,
                next_attempt: Some(next_attempt),
            })
        }
        Next::Done(status) | Next::Fallback(status) => {
            let reason = match next {
                Next::Fallback(_) => format!("fallback after {} call attempts", attempt.attempt_no),
                _ => format!("call: {}", attempt.outcome.map_or("?", Outcome::as_str)),
            };
            set_status(
                tx,
                &attempt.order_id,
                Some(OrderStatus::Calling),
                status,
                &reason,
                now,
            )
            .await?;
            let order = load_order(tx, &attempt.order_id)
                .await?
                .ok_or_else(|| StoreError::OrderNotFound(attempt.order_id.clone()))?;
            Ok(Finished {
                order_status: order.status,
                next_attempt: None,
            })
        }
    }
}

/// The call never reached the customer: it rang out, was busy, refused or
/// failed before an answer (`no_input` and `hangup` were answered).
fn unanswered(outcome: Outcome) -> bool {
    matches!(
        outcome,
        Outcome::NoAnswer | Outcome::Busy | Outcome::Rejected | Outcome::Failed
    )
}

/// Add a `due` attempt for an order.
pub(super) async fn schedule(
    tx: &mut Tx,
    order_id: &str,
    attempt_no: u32,
    at: DateTime<Utc>,
) -> Result<Attempt, StoreError> {
    let row = sqlx::query(&format!(
        "INSERT INTO call_attempts (order_id, attempt_no, state, scheduled_at) VALUES ($1, $2, 'due', $3) RETURNING {ATTEMPT_COLUMNS}"
    ))
    .bind(order_id)
    .bind(i64::from(attempt_no))
    .bind(ms(at))
    .fetch_one(&mut **tx)
    .await
    .during("schedule call attempt")?;
    attempt_from_row(&row)
}
