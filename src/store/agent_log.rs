//! The agent log and call dispositions (migration 0005, issue #10).
//!
//! The rows mirror `orderline_dialer::agents`: the machine decides each
//! transition, the store keeps it. One row per transition, in `seq` order;
//! an agent's state after a restart is its last row (the daemon then logs
//! it out, since sessions do not survive a restart).

use chrono::{DateTime, Utc};
use orderline_dialer::agents::{AgentState, Reason, StateKind, Transition};

use super::error::QueryContext;
use super::model::{corrupt, get, ms, time};
use super::{Store, StoreError};

const T: &str = "agent_log";
const COLUMNS: &str = "seq, agent_id, from_state, to_state, pause_code, call_id, reason, at";

/// One stored transition. `from` is the previous state's name only (its
/// details are the previous row's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub seq: i64,
    pub agent_id: String,
    pub from: StateKind,
    pub to: AgentState,
    pub reason: Reason,
    pub at: DateTime<Utc>,
}

impl LogRecord {
    /// When the new state began and which it is (for the day totals).
    pub fn mark(&self) -> (DateTime<Utc>, StateKind) {
        (self.at, self.to.kind())
    }
}

/// An agent's disposition of a call, as posted in wrap-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallDisposition {
    pub disposition: String,
    pub callback_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    pub at: DateTime<Utc>,
}

fn record(row: &sqlx::any::AnyRow) -> Result<LogRecord, StoreError> {
    let kind = |col: &str| -> Result<StateKind, StoreError> {
        let s: String = get(row, T, col)?;
        StateKind::parse(&s).ok_or_else(|| corrupt(T, format!("{col}: unknown state {s:?}")))
    };
    let to = kind("to_state")?;
    let pause_code: Option<String> = get(row, T, "pause_code")?;
    let call_id: Option<String> = get(row, T, "call_id")?;
    let reason: String = get(row, T, "reason")?;
    Ok(LogRecord {
        seq: get(row, T, "seq")?,
        agent_id: get(row, T, "agent_id")?,
        from: kind("from_state")?,
        to: AgentState::from_parts(to, pause_code.as_deref(), call_id.as_deref())
            .ok_or_else(|| corrupt(T, format!("to_state {} without its call_id", to.as_str())))?,
        reason: Reason::parse(&reason)
            .ok_or_else(|| corrupt(T, format!("reason: unknown {reason:?}")))?,
        at: time(T, "at", get(row, T, "at")?)?,
    })
}

impl Store {
    /// Append one transition of `agent_id` to the agent log.
    pub async fn append_agent_log(&self, agent_id: &str, t: &Transition) -> Result<(), StoreError> {
        // The call a transition is about: the new state's, or the one it
        // leaves (wrap-up → ready names the call that was disposed).
        let call = t.to.call().or_else(|| t.from.call());
        sqlx::query(
            "INSERT INTO agent_log (agent_id, from_state, to_state, pause_code, call_id, reason, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(agent_id)
        .bind(t.from.kind().as_str())
        .bind(t.to.kind().as_str())
        .bind(t.to.pause_code())
        .bind(call)
        .bind(t.reason.as_str())
        .bind(ms(t.at))
        .execute(&self.pool)
        .await
        .during("append to the agent log")?;
        Ok(())
    }

    /// Every agent's last record (its current state), by agent id.
    pub async fn last_agent_states(&self) -> Result<Vec<LogRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM agent_log l WHERE seq = \
             (SELECT MAX(seq) FROM agent_log m WHERE m.agent_id = l.agent_id) ORDER BY agent_id"
        ))
        .fetch_all(&self.pool)
        .await
        .during("load agents' last states")?
        .iter()
        .map(record)
        .collect()
    }

    /// `agent_id`'s records from `since` on, preceded by the last record
    /// before `since` (the state the agent was in at `since`), in order.
    pub async fn agent_log_since(
        &self,
        agent_id: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<LogRecord>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM agent_log WHERE agent_id = $1 AND (at >= $2 OR seq = \
             (SELECT MAX(seq) FROM agent_log WHERE agent_id = $1 AND at < $2)) ORDER BY seq"
        ))
        .bind(agent_id)
        .bind(ms(since))
        .fetch_all(&self.pool)
        .await
        .during("read the agent log")?
        .iter()
        .map(record)
        .collect()
    }

    /// Record the agent's disposition of call `call_id` (the last one
    /// posted wins: an agent may correct it). `CallNotFound` when no such call.
    pub async fn set_call_disposition(
        &self,
        call_id: &str,
        d: &CallDisposition,
    ) -> Result<(), StoreError> {
        let r = sqlx::query(
            "UPDATE agent_calls SET disposition = $2, callback_at = $3, disposition_note = $4, \
             disposed_at = $5 WHERE id = $1",
        )
        .bind(call_id)
        .bind(&d.disposition)
        .bind(d.callback_at.map(ms))
        .bind(d.note.as_deref())
        .bind(ms(d.at))
        .execute(&self.pool)
        .await
        .during("record a call disposition")?;
        if r.rows_affected() == 0 {
            return Err(StoreError::CallNotFound(call_id.to_string()));
        }
        Ok(())
    }

    /// The disposition of call `call_id`: `Ok(None)` while it has none,
    /// `CallNotFound` when there is no such call.
    pub async fn call_disposition(
        &self,
        call_id: &str,
    ) -> Result<Option<CallDisposition>, StoreError> {
        const C: &str = "agent_calls";
        let row = sqlx::query(
            "SELECT disposition, callback_at, disposition_note, disposed_at FROM agent_calls \
             WHERE id = $1",
        )
        .bind(call_id)
        .fetch_optional(&self.pool)
        .await
        .during("read a call disposition")?
        .ok_or_else(|| StoreError::CallNotFound(call_id.to_string()))?;
        let Some(disposition) = get::<Option<String>>(&row, C, "disposition")? else {
            return Ok(None);
        };
        let callback_at: Option<i64> = get(&row, C, "callback_at")?;
        let at: Option<i64> = get(&row, C, "disposed_at")?;
        Ok(Some(CallDisposition {
            disposition,
            callback_at: callback_at.map(|v| time(C, "callback_at", v)).transpose()?,
            note: get(&row, C, "disposition_note")?,
            at: time(
                C,
                "disposed_at",
                at.ok_or_else(|| corrupt(C, "disposition without disposed_at"))?,
            )?,
        }))
    }
}
