//! The campaign rules a merchant set over the API (`PUT /v1/rules`), kept so
//! a restart does not silently revert them (issue #13). The store keeps the
//! accepted `campaign` object as JSON text; what it means is the API's and
//! the dialer's business, not the store's.

use chrono::{DateTime, Utc};

use super::error::QueryContext;
use super::model::ms;
use super::{Store, StoreError};

impl Store {
    /// Replace the stored rules with `campaign` (JSON text already validated
    /// by the caller).
    pub async fn save_campaign_rules(
        &self,
        campaign: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // ON CONFLICT ... DO UPDATE is the same in SQLite (>= 3.24) and PostgreSQL.
        sqlx::query(
            "INSERT INTO campaign_rules (id, campaign, updated_at) VALUES (1, $1, $2) \
             ON CONFLICT (id) DO UPDATE SET campaign = excluded.campaign, updated_at = excluded.updated_at",
        )
        .bind(campaign)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .during("store the campaign rules")?;
        Ok(())
    }

    /// The rules last stored by [`Store::save_campaign_rules`], if any.
    pub async fn campaign_rules(&self) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT campaign FROM campaign_rules WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .during("read the stored campaign rules")?;
        row.map(|r| sqlx::Row::try_get::<String, _>(&r, "campaign"))
            .transpose()
            .during("read the stored campaign rules")
    }
}
