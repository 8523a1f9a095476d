//! Registered contacts of agents' phones (issue #10), so that bindings
//! survive a daemon restart. The rows are plain data: the registrar
//! (`crate::sip::registrar`) owns the rules, the store only mirrors them.

use chrono::{DateTime, Utc};

use super::error::QueryContext;
use super::model::{get, ms};
use super::{Store, StoreError};

/// One stored binding. `source` is `ip:port`, `transport` `udp` or `tcp`;
/// times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBinding {
    pub agent_id: String,
    pub contact: String,
    pub source: String,
    pub transport: String,
    pub call_id: String,
    pub cseq: i64,
    pub expires_at: i64,
    pub updated_at: i64,
    pub user_agent: Option<String>,
}

const COLUMNS: &str =
    "agent_id, contact, source, transport, call_id, cseq, expires_at, updated_at, user_agent";

impl Store {
    /// Insert or replace the binding (agent, contact).
    pub async fn save_binding(&self, b: &StoredBinding) -> Result<(), StoreError> {
        sqlx::query(&format!(
            "INSERT INTO sip_bindings ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (agent_id, contact) DO UPDATE SET source = $3, transport = $4, call_id = $5, \
             cseq = $6, expires_at = $7, updated_at = $8, user_agent = $9"
        ))
        .bind(&b.agent_id)
        .bind(&b.contact)
        .bind(&b.source)
        .bind(&b.transport)
        .bind(&b.call_id)
        .bind(b.cseq)
        .bind(b.expires_at)
        .bind(b.updated_at)
        .bind(b.user_agent.as_deref())
        .execute(&self.pool)
        .await
        .during("save SIP binding")?;
        Ok(())
    }

    /// Delete the binding (agent, contact), if stored.
    pub async fn remove_binding(&self, agent_id: &str, contact: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sip_bindings WHERE agent_id = $1 AND contact = $2")
            .bind(agent_id)
            .bind(contact)
            .execute(&self.pool)
            .await
            .during("remove SIP binding")?;
        Ok(())
    }

    /// Delete bindings that lapsed by `now`; returns how many.
    pub async fn purge_expired_bindings(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM sip_bindings WHERE expires_at <= $1")
            .bind(ms(now))
            .execute(&self.pool)
            .await
            .during("purge expired SIP bindings")?;
        Ok(r.rows_affected())
    }

    /// Every stored binding still live at `now`, by agent then contact.
    pub async fn live_bindings(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<StoredBinding>, StoreError> {
        const T: &str = "sip_bindings";
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM sip_bindings WHERE expires_at > $1 ORDER BY agent_id, contact"
        ))
        .bind(ms(now))
        .fetch_all(&self.pool)
        .await
        .during("load SIP bindings")?
        .iter()
        .map(|row| {
            Ok(StoredBinding {
                agent_id: get(row, T, "agent_id")?,
                contact: get(row, T, "contact")?,
                source: get(row, T, "source")?,
                transport: get(row, T, "transport")?,
                call_id: get(row, T, "call_id")?,
                cseq: get(row, T, "cseq")?,
                expires_at: get(row, T, "expires_at")?,
                updated_at: get(row, T, "updated_at")?,
                user_agent: get(row, T, "user_agent")?,
            })
        })
        .collect()
    }
}
