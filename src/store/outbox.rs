//! The webhook outbox: events written with the change they report, delivered
//! later (at least once) by the webhook sender.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::error::QueryContext;
use super::model::{event_from_row, ms, OUTBOX_COLUMNS};
use super::{Backend, OutboxEvent, Store, StoreError};

impl Store {
    /// Take up to `limit` undelivered events due at `now`, oldest first, and
    /// lease them for `lease` — only each order's oldest undelivered event
    /// (issue #13): while an order's event is leased (being sent) or waiting
    /// for a retry, that order's later events are not handed out, so one
    /// order's events reach the merchant strictly in order while other
    /// orders' events go ahead. Events without an order (payments) are each
    /// their own head.
    ///
    /// The lease moves `next_attempt_at` to `now + lease` in the same
    /// statement, so two senders do not post the same event at once; if the
    /// sender dies mid-delivery the event comes due again when the lease
    /// ends. Delivery is at least once: receivers de-duplicate on the id.
    /// Several nodes of a `[cluster]` share the outbox the same way; the row
    /// records which node holds the lease (issue #16).
    pub async fn next_due(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxEvent>, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let until = now + TimeDelta::from_std(lease).unwrap_or(TimeDelta::MAX / 2);
        // A CTE, evaluated once (see `due_attempts` for the PostgreSQL pitfall).
        let sql = format!(
            "WITH picked AS (\
               SELECT o.id AS pick FROM webhook_outbox o \
               WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1 \
               AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.delivered_at IS NULL \
                 AND e.order_id = o.order_id AND e.seq < o.seq) \
               ORDER BY o.next_attempt_at, o.seq LIMIT $3 {lock}) \
             UPDATE webhook_outbox SET next_attempt_at = $2, node = $4 \
             WHERE delivered_at IS NULL AND id IN (SELECT pick FROM picked) \
             AND next_attempt_at <= $1 \
             RETURNING {OUTBOX_COLUMNS}"
        );
        let mut tx = self.begin("lease webhook events").await?;
        let rows = sqlx::query(&sql)
            .bind(ms(now))
            .bind(ms(until))
            .bind(i64::from(limit))
            .bind(self.node())
            .fetch_all(&mut *tx)
            .await
            .during("lease webhook events")?;
        tx.commit().await.during("lease webhook events")?;
        let mut events = rows
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        // RETURNING order is unspecified; seq is the order events were written.
        events.sort_by_key(|e| e.seq);
        Ok(events)
    }

    /// The receiver acknowledged the event; it will not be sent again.
    pub async fn mark_delivered(
        &self,
        event_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE webhook_outbox SET delivered_at = $1, last_error = NULL WHERE id = $2 AND delivered_at IS NULL")
            .bind(ms(now))
            .bind(event_id)
            .execute(&self.pool)
            .await
            .during("mark webhook delivered")?
            .rows_affected();
        if done == 0 {
            self.event_exists(event_id).await?;
        }
        Ok(())
    }

    /// Delivery failed: record why and try again after `backoff`. Returns the
    /// number of failed deliveries so far, from which the caller grows the
    /// next backoff.
    pub async fn mark_failed(
        &self,
        event_id: &str,
        error: &str,
        backoff: Duration,
        now: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let retry_at = now + TimeDelta::from_std(backoff).unwrap_or(TimeDelta::MAX / 2);
        let row = sqlx::query(
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2 \
             WHERE id = $3 AND delivered_at IS NULL RETURNING attempts",
        )
        .bind(error)
        .bind(ms(retry_at))
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await
        .during("mark webhook failed")?;
        match row {
            Some(row) => {
                let attempts: i64 =
                    sqlx::Row::try_get(&row, "attempts").during("mark webhook failed")?;
                Ok(u32::try_from(attempts).unwrap_or(u32::MAX))
            }
            None => {
                // Already delivered (a late failure report) or unknown.
                self.event_exists(event_id).await?;
                Ok(0)
            }
        }
    }

    /// One event by id, delivered or not.
    pub async fn get_event(&self, event_id: &str) -> Result<Option<OutboxEvent>, StoreError> {
        sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM webhook_outbox WHERE id = $1"
        ))
        .bind(event_id)
        .fetch_optional(&self.pool)
        .await
        .during("get webhook event")?
        .as_ref()
        .map(event_from_row)
        .transpose()
    }

    /// All events about an order, oldest first (for the API and tests).
    pub async fn order_events(&self, order_id: &str) -> Result<Vec<OutboxEvent>, StoreError> {
        sqlx::query(&format!(
            "SELECT {OUTBOX_COLUMNS} FROM webhook_outbox WHERE order_id = $1 ORDER BY seq"
        ))
        .bind(order_id)
        .fetch_all(&self.pool)
        .await
        .during("list order webhook events")?
        .iter()
        .map(event_from_row)
        .collect()
    }

    async fn event_exists(&self, event_id: &str) -> Result<(), StoreError> {
        match self.get_event(event_id).await? {
            Some(_) => Ok(()),
            None => Err(StoreError::EventNotFound(event_id.to_string())),
        }
    }
}
