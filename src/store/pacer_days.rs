//! The predictive pacer's day counts (issue #12, migration 0010): written
//! after every line event, read back when the daemon starts so the 30-day
//! abandon rate survives restarts.

use chrono::{DateTime, Utc};
use orderline_dialer::pacer::model::DayCount;
use sqlx::Row;

use super::error::{QueryContext, StoreError};
use super::model::ms;
use super::Store;

impl Store {
    /// Store `count` as `mode`'s figures for its day (the whole day's
    /// counts, so a repeated write is harmless).
    pub async fn save_pacer_day(
        &self,
        mode: &str,
        count: &DayCount,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO pacer_days (mode, day, dialled, answered, abandoned, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (mode, day) DO UPDATE SET dialled = excluded.dialled, \
             answered = excluded.answered, abandoned = excluded.abandoned, \
             updated_at = excluded.updated_at",
        )
        .bind(mode)
        .bind(n(count.day))
        .bind(n(count.dialled))
        .bind(n(count.answered))
        .bind(n(count.abandoned))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .during("store pacer day")?;
        Ok(())
    }

    /// `mode`'s stored days from `first` on.
    pub async fn pacer_days(&self, mode: &str, first: u64) -> Result<Vec<DayCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, dialled, answered, abandoned FROM pacer_days \
             WHERE mode = $1 AND day >= $2 ORDER BY day",
        )
        .bind(mode)
        .bind(i64::try_from(first).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .during("read pacer days")?;
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        rows.iter()
            .map(|r| {
                Ok(DayCount {
                    day: u(r.try_get("day").during("pacer day")?),
                    dialled: u(r.try_get("dialled").during("pacer day")?),
                    answered: u(r.try_get("answered").during("pacer day")?),
                    abandoned: u(r.try_get("abandoned").during("pacer day")?),
                })
            })
            .collect()
    }
}
