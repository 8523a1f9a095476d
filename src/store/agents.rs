//! Agents: the config's `[[agents]]` synced at start, agents created through
//! the API, and lookup by API token (stored only as its SHA-256 hex).

use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;

use super::agent_sip::SipCredentials;
use super::error::QueryContext;
use super::model::ms;
use super::model_calls::{agent_from_row, token_hash, AGENT_COLUMNS};
use super::{Agent, NewAgent, Store, StoreError};
use crate::config::AgentConfig;

impl Store {
    /// Make the stored config agents match `agents` (the config file wins).
    ///
    /// Each is inserted or updated (name, URI, token hash; an API agent with
    /// the same id becomes a config agent). A config agent no longer in the
    /// file is kept for its calls' sake but marked removed: it is no longer
    /// listed, found or accepted by token. One transaction.
    pub async fn sync_config_agents(
        &self,
        agents: &[AgentConfig],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin("sync config agents").await?;
        // Tokens may have moved between agents: clear them all first, so the
        // unique index on token_hash never sees one token twice mid-sync.
        sqlx::query("UPDATE agents SET token_hash = NULL WHERE source = 'config'")
            .execute(&mut *tx)
            .await
            .during("sync config agents")?;
        for a in agents {
            // A registering agent's URI is its address-of-record: the daemon
            // fills it in with `AgentConfig::stored_uri` before the sync.
            let sip_uri = a.sip_uri.as_deref().unwrap_or("");
            validate_agent(&a.id, &a.name, sip_uri)?;
            sqlx::query(
                "INSERT INTO agents (id, name, sip_uri, source, token_hash, removed_at, created_at, updated_at, srtp) \
                 VALUES ($1, $2, $3, 'config', $4, NULL, $5, $5, $6) \
                 ON CONFLICT (id) DO UPDATE SET name = $2, sip_uri = $3, source = 'config', token_hash = $4, \
                 removed_at = NULL, updated_at = $5, srtp = $6",
            )
            .bind(&a.id)
            .bind(&a.name)
            .bind(sip_uri)
            .bind(a.api_token.as_ref().map(|t| token_hash(t.expose_secret())))
            .bind(ms(now))
            .bind(a.srtp.as_str())
            .execute(&mut *tx)
            .await
            .during("sync config agent")?;
        }
        // Config agents not in the file any more: retire them.
        let mut sql = String::from(
            "UPDATE agents SET removed_at = $1, token_hash = NULL, updated_at = $1 \
             WHERE source = 'config' AND removed_at IS NULL",
        );
        if !agents.is_empty() {
            let params: Vec<String> = (0..agents.len()).map(|i| format!("${}", i + 2)).collect();
            sql.push_str(&format!(" AND id NOT IN ({})", params.join(", ")));
        }
        let mut query = sqlx::query(&sql).bind(ms(now));
        for a in agents {
            query = query.bind(&a.id);
        }
        query
            .execute(&mut *tx)
            .await
            .during("retire config agents")?;
        tx.commit().await.during("sync config agents")?;
        Ok(())
    }

    /// Create an agent through the API; its token is stored as SHA-256 hex
    /// only. [`StoreError::AgentExists`] if the id is taken (even by a
    /// removed agent, whose calls keep its id).
    pub async fn insert_agent(
        &self,
        a: &NewAgent,
        now: DateTime<Utc>,
    ) -> Result<Agent, StoreError> {
        self.insert_agent_with(a, None, now).await
    }

    /// [`Store::insert_agent`] for an agent whose phone registers: its digest
    /// HA1 hashes go in the same row (never the password).
    /// [`StoreError::SipUserTaken`] when another stored agent has the user.
    pub async fn insert_registering_agent(
        &self,
        a: &NewAgent,
        sip: &SipCredentials,
        now: DateTime<Utc>,
    ) -> Result<Agent, StoreError> {
        self.insert_agent_with(a, Some(sip), now).await
    }

    async fn insert_agent_with(
        &self,
        a: &NewAgent,
        sip: Option<&SipCredentials>,
        now: DateTime<Utc>,
    ) -> Result<Agent, StoreError> {
        validate_agent(&a.id, &a.name, &a.sip_uri)?;
        if a.api_token.len() < 16 {
            return Err(StoreError::InvalidAgent {
                field: "api_token",
                reason: "must be at least 16 characters".into(),
            });
        }
        if let Some(sip) = sip {
            if self.sip_user_taken(&sip.user).await? {
                return Err(StoreError::SipUserTaken(sip.user.clone()));
            }
        }
        let row = sqlx::query(&format!(
            "INSERT INTO agents (id, name, sip_uri, source, token_hash, created_at, updated_at, \
             sip_user, sip_realm, ha1_md5, ha1_sha256, srtp) \
             VALUES ($1, $2, $3, 'api', $4, $5, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING RETURNING {AGENT_COLUMNS}"
        ))
        .bind(&a.id)
        .bind(&a.name)
        .bind(&a.sip_uri)
        .bind(token_hash(&a.api_token))
        .bind(ms(now))
        .bind(sip.map(|s| s.user.as_str()))
        .bind(sip.map(|s| s.realm.as_str()))
        .bind(sip.map(|s| s.ha1_md5.as_str()))
        .bind(sip.map(|s| s.ha1_sha256.as_str()))
        .bind(a.srtp.as_str())
        .fetch_optional(&self.pool)
        .await
        .during("insert agent")?;
        match row {
            Some(row) => agent_from_row(&row),
            None => Err(StoreError::AgentExists(a.id.clone())),
        }
    }

    /// An agent by id (not a removed config agent).
    pub async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1 AND removed_at IS NULL"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .during("get agent")?
        .as_ref()
        .map(agent_from_row)
        .transpose()
    }

    /// Every current agent, by id.
    pub async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE removed_at IS NULL ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await
        .during("list agents")?
        .iter()
        .map(agent_from_row)
        .collect()
    }

    /// The agent whose API token this is. The lookup is by the token's
    /// SHA-256, so the database never sees the token itself, and a timing
    /// difference in the index lookup tells nothing about the token.
    pub async fn agent_by_token(&self, token: &str) -> Result<Option<Agent>, StoreError> {
        if token.is_empty() {
            return Ok(None);
        }
        sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE token_hash = $1 AND removed_at IS NULL"
        ))
        .bind(token_hash(token))
        .fetch_optional(&self.pool)
        .await
        .during("find agent by token")?
        .as_ref()
        .map(agent_from_row)
        .transpose()
    }
}

/// The same rules as `[[agents]]` in the config, minus the URI grammar
/// (the API checks that; the store knows no SIP).
fn validate_agent(id: &str, name: &str, sip_uri: &str) -> Result<(), StoreError> {
    let bad = |field: &'static str, reason: &str| StoreError::InvalidAgent {
        field,
        reason: reason.to_string(),
    };
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(bad(
            "id",
            "must be 1-64 characters of A-Z, a-z, 0-9, '-' or '_'",
        ));
    }
    if name.trim().is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(bad("name", "must be 1-200 printable characters"));
    }
    if !(sip_uri.starts_with("sip:") || sip_uri.starts_with("sips:")) || sip_uri.len() > 512 {
        return Err(bad("sip_uri", "must be a sip: URI"));
    }
    Ok(())
}
