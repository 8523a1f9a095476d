//! Agent-bridged calls: stored when the API places one, moved along by the
//! call layer, closed by a restart if a crash left them live.

use chrono::{DateTime, Utc};

use super::error::QueryContext;
use super::model::{is_record_id, ms};
use super::model_calls::{call_from_row, CALL_COLUMNS};
use super::{AgentCall, AgentCallStatus, AgentCallUpdate, NewAgentCall, Store, StoreError, Tx};

/// Largest page [`Store::list_agent_calls`] returns.
pub const MAX_CALL_PAGE: u32 = 500;

impl Store {
    /// Store a new call in `dialing_agent`, with the agent's current name.
    /// [`StoreError::AgentNotFound`] for an unknown (or removed) agent.
    pub async fn insert_agent_call(
        &self,
        c: &NewAgentCall,
        now: DateTime<Utc>,
    ) -> Result<AgentCall, StoreError> {
        validate_call(c)?;
        let mut tx = self.begin("insert agent call").await?;
        let row = sqlx::query(&format!(
            "INSERT INTO agent_calls (id, agent_id, agent_name, callee, order_id, status, created_at) \
             SELECT $1, a.id, a.name, $3, $4, 'dialing_agent', $5 FROM agents a WHERE a.id = $2 AND a.removed_at IS NULL \
             RETURNING {CALL_COLUMNS}"
        ))
        .bind(&c.id)
        .bind(&c.agent_id)
        .bind(&c.to)
        .bind(c.order_id.as_deref())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .during("insert agent call")?
        .ok_or_else(|| StoreError::AgentNotFound(c.agent_id.clone()))?;
        let call = call_from_row(&row)?;
        tx.commit().await.during("insert agent call")?;
        Ok(call)
    }

    /// A call with its payment ids, or `None`.
    pub async fn get_agent_call(&self, id: &str) -> Result<Option<AgentCall>, StoreError> {
        let mut tx = self.pool.begin().await.during("get agent call")?;
        let call = load_call(&mut tx, id).await?;
        tx.commit().await.during("get agent call")?;
        Ok(call)
    }

    /// Calls newest first, at most `limit` (clamped to 1..=[`MAX_CALL_PAGE`]),
    /// of one agent and/or in one status when given.
    pub async fn list_agent_calls(
        &self,
        agent: Option<&str>,
        status: Option<AgentCallStatus>,
        limit: u32,
    ) -> Result<Vec<AgentCall>, StoreError> {
        let mut conditions = Vec::new();
        let mut texts: Vec<&str> = Vec::new();
        if let Some(agent) = agent {
            texts.push(agent);
            conditions.push(format!("agent_id = ${}", texts.len()));
        }
        if let Some(status) = status {
            texts.push(status.as_str());
            conditions.push(format!("status = ${}", texts.len()));
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT {CALL_COLUMNS} FROM agent_calls {where_clause} ORDER BY created_at DESC, id DESC LIMIT ${}",
            texts.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for t in texts {
            query = query.bind(t);
        }
        let rows = query
            .bind(i64::from(limit.clamp(1, MAX_CALL_PAGE)))
            .fetch_all(&self.pool)
            .await
            .during("list agent calls")?;
        let mut calls = rows
            .iter()
            .map(call_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        if calls.is_empty() {
            return Ok(calls);
        }
        let params: Vec<String> = (1..=calls.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT id, call_id FROM payments WHERE call_id IN ({}) ORDER BY created_at, id",
            params.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for c in &calls {
            query = query.bind(c.id.as_str());
        }
        for row in query
            .fetch_all(&self.pool)
            .await
            .during("list agent call payments")?
        {
            let (id, call_id): (String, String) = (
                sqlx::Row::try_get(&row, "id").during("list agent call payments")?,
                sqlx::Row::try_get(&row, "call_id").during("list agent call payments")?,
            );
            if let Some(c) = calls.iter_mut().find(|c| c.id == call_id) {
                c.payments.push(id);
            }
        }
        Ok(calls)
    }

    /// Move a call along. Sets `status`; causes and `ended_by` only when
    /// `Some`; stamps `agent_answered_at` (→ `dialing_customer`, or
    /// `bridged` if it skipped that), `bridged_at` (→ `bridged`) and
    /// `ended_at` (→ `ended`|`failed`) with `now`, each only once.
    ///
    /// A call already `ended` or `failed` keeps its first end: the update is
    /// a no-op (so a late report cannot reopen it).
    /// [`StoreError::CallNotFound`] for an unknown id.
    pub async fn update_agent_call(
        &self,
        id: &str,
        u: &AgentCallUpdate,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let changed = sqlx::query(
            "UPDATE agent_calls SET status = $1, \
               agent_cause = COALESCE($2, agent_cause), \
               customer_cause = COALESCE($3, customer_cause), \
               ended_by = COALESCE($4, ended_by), \
               agent_answered_at = CASE WHEN $1 IN ('dialing_customer', 'bridged') THEN COALESCE(agent_answered_at, $5) ELSE agent_answered_at END, \
               bridged_at = CASE WHEN $1 = 'bridged' THEN COALESCE(bridged_at, $5) ELSE bridged_at END, \
               ended_at = CASE WHEN $1 IN ('ended', 'failed') THEN COALESCE(ended_at, $5) ELSE ended_at END \
             WHERE id = $6 AND status NOT IN ('ended', 'failed')",
        )
        .bind(u.status.as_str())
        .bind(u.agent_cause.as_deref())
        .bind(u.customer_cause.as_deref())
        .bind(u.ended_by.map(|e| e.as_str()))
        .bind(ms(now))
        .bind(id)
        .execute(&self.pool)
        .await
        .during("update agent call")?
        .rows_affected();
        if changed == 0 && self.get_agent_call(id).await?.is_none() {
            return Err(StoreError::CallNotFound(id.to_string()));
        }
        Ok(())
    }
}

/// A call with its payment ids, inside a transaction.
pub(super) async fn load_call(tx: &mut Tx, id: &str) -> Result<Option<AgentCall>, StoreError> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {CALL_COLUMNS} FROM agent_calls WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
    .during("load agent call")?
    else {
        return Ok(None);
    };
    let mut call = call_from_row(&row)?;
    for row in sqlx::query("SELECT id FROM payments WHERE call_id = $1 ORDER BY created_at, id")
        .bind(id)
        .fetch_all(&mut **tx)
        .await
        .during("load agent call payments")?
    {
        call.payments
            .push(sqlx::Row::try_get(&row, "id").during("load agent call payments")?);
    }
    Ok(Some(call))
}

fn validate_call(c: &NewAgentCall) -> Result<(), StoreError> {
    let bad = |field: &'static str, reason: &str| StoreError::InvalidCall {
        field,
        reason: reason.to_string(),
    };
    if !is_record_id(&c.id) {
        return Err(bad(
            "id",
            "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
        ));
    }
    let digits = c.to.strip_prefix('+').unwrap_or(&c.to);
    if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "to",
            "must be 3 to 20 digits with an optional leading +",
        ));
    }
    if let Some(o) = &c.order_id {
        if o.is_empty() || o.len() > 128 || o.chars().any(char::is_control) {
            return Err(bad("order_id", "must be 1 to 128 printable characters"));
        }
    }
    Ok(())
}
