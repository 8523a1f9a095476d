//! Small read queries the HTTP API and the webhook deliverer need, kept
//! apart from the store's own modules (owned by the API work, issue 4).

use chrono::{DateTime, Utc};

use super::error::QueryContext;
use super::{Store, StoreError};

impl Store {
    /// How many webhook events are not yet delivered (the backlog gauge).
    pub async fn outbox_backlog(&self) -> Result<u64, StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM webhook_outbox WHERE delivered_at IS NULL")
                .fetch_one(&self.pool)
                .await
                .during("count webhook backlog")?;
        let n: i64 = sqlx::Row::try_get(&row, "n").during("count webhook backlog")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// When the earliest undelivered event that can be sent comes due, if
    /// any: the deliverer sleeps until then instead of polling an idle
    /// outbox. Only each order's oldest undelivered event counts (as in
    /// [`Store::next_due`]): a later one waiting behind a failed delivery is
    /// not due, however old, or the deliverer would spin.
    pub async fn outbox_next_due_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(o.next_attempt_at) AS t FROM webhook_outbox o WHERE o.delivered_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM webhook_outbox e WHERE e.delivered_at IS NULL \
               AND e.order_id = o.order_id AND e.seq < o.seq)",
        )
        .fetch_one(&self.pool)
        .await
        .during("read next webhook due time")?;
        let t: Option<i64> = sqlx::Row::try_get(&row, "t").during("read next webhook due time")?;
        Ok(t.and_then(DateTime::from_timestamp_millis))
    }
}
