//! The records of issue #5: agents, agent-bridged calls, keypad payments and
//! their steps, and how rows become them.
//!
//! No type here has a field for a card number, expiry, CVC or postal code,
//! and the tables have no column for them: what a payment keeps is brand,
//! last four, transaction id, a reason code and the CRM note.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use super::model::{corrupt, get, opt_time, time};
use super::StoreError;
use crate::ivr::payment::{EndReason, Step, StepEvent, StepStatus};
use crate::money::{Currency, Money};

// ---- agents ---------------------------------------------------------------

/// Where an agent was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentSource {
    /// `[[agents]]` in the config file (synced at start).
    Config,
    /// `POST /v1/agents`.
    Api,
}

impl AgentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentSource::Config => "config",
            AgentSource::Api => "api",
        }
    }

    fn parse(s: &str) -> Option<AgentSource> {
        [AgentSource::Config, AgentSource::Api]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A stored agent. Its token is not here: the store keeps only its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub sip_uri: String,
    /// SDES-SRTP on the agent's leg (issue #14): `[[agents]] srtp`, or the
    /// API's `srtp` for an agent made there.
    pub srtp: crate::config::SrtpMode,
    pub source: AgentSource,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An agent created through the API. `api_token` is hashed on insert and
/// never stored as given.
#[derive(Clone, PartialEq, Eq)]
pub struct NewAgent {
    pub id: String,
    pub name: String,
    pub sip_uri: String,
    pub srtp: crate::config::SrtpMode,
    pub api_token: String,
}

impl std::fmt::Debug for NewAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAgent")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("sip_uri", &self.sip_uri)
            .field("srtp", &self.srtp)
            .field("api_token", &"***")
            .finish()
    }
}

/// What the store keeps of an agent token: its SHA-256, lowercase hex.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- agent calls ----------------------------------------------------------

/// Where an agent-bridged call is: the agent's phone rings first, then the
/// customer's; `ended` and `failed` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentCallStatus {
    DialingAgent,
    DialingCustomer,
    Bridged,
    Ended,
    Failed,
}

impl AgentCallStatus {
    pub const ALL: [AgentCallStatus; 5] = [
        AgentCallStatus::DialingAgent,
        AgentCallStatus::DialingCustomer,
        AgentCallStatus::Bridged,
        AgentCallStatus::Ended,
        AgentCallStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AgentCallStatus::DialingAgent => "dialing_agent",
            AgentCallStatus::DialingCustomer => "dialing_customer",
            AgentCallStatus::Bridged => "bridged",
            AgentCallStatus::Ended => "ended",
            AgentCallStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<AgentCallStatus> {
        AgentCallStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// `ended` or `failed`: nothing changes it any more.
    pub fn is_final(self) -> bool {
        matches!(self, AgentCallStatus::Ended | AgentCallStatus::Failed)
    }
}

/// Who ended an agent call: the call layer's vocabulary, stored as text.
pub use crate::call::live::EndedBy;

/// A call to place: agent first, then `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAgentCall {
    /// `call_` + 20 random characters (the API makes it).
    pub id: String,
    pub agent_id: String,
    /// The customer's number, `^\+?[0-9]{3,20}$`.
    pub to: String,
    pub order_id: Option<String>,
}

/// A stored agent-bridged call with the ids of its payments (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentCall {
    pub id: String,
    pub agent_id: String,
    pub agent_name: String,
    pub to: String,
    pub order_id: Option<String>,
    pub status: AgentCallStatus,
    /// Free text set by the call layer: `answered`, `busy`, `no_answer`,
    /// `rejected:<status>`, `hangup`, `api_hangup`, `shutdown`, `interrupted`.
    pub agent_cause: Option<String>,
    pub customer_cause: Option<String>,
    pub ended_by: Option<EndedBy>,
    pub created_at: DateTime<Utc>,
    pub agent_answered_at: Option<DateTime<Utc>>,
    pub bridged_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub payments: Vec<String>,
}

/// A change of a call's status from the call layer. Causes and `ended_by`
/// are written only when `Some`; a cause already set is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentCallUpdate {
    pub status: AgentCallStatus,
    pub agent_cause: Option<String>,
    pub customer_cause: Option<String>,
    pub ended_by: Option<EndedBy>,
}

impl AgentCallUpdate {
    /// Just a status change.
    pub fn status(status: AgentCallStatus) -> AgentCallUpdate {
        AgentCallUpdate {
            status,
            agent_cause: None,
            customer_cause: None,
            ended_by: None,
        }
    }

    /// A call orderline could not go on with itself (`ended_by` local,
    /// status failed), the agent's leg marked with `cause`.
    pub fn failed_locally(cause: &str) -> AgentCallUpdate {
        AgentCallUpdate {
            agent_cause: Some(cause.to_string()),
            ended_by: Some(EndedBy::Local),
            ..AgentCallUpdate::status(AgentCallStatus::Failed)
        }
    }
}

// ---- payments -------------------------------------------------------------

/// A payment's life: `pending` until the caller's first key, then
/// `in_progress`; `succeeded`, `failed` and `cancelled` are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    InProgress,
    Succeeded,
    Failed,
    Cancelled,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 5] = [
        PaymentStatus::Pending,
        PaymentStatus::InProgress,
        PaymentStatus::Succeeded,
        PaymentStatus::Failed,
        PaymentStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Pending => "pending",
            PaymentStatus::InProgress => "in_progress",
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::Failed => "failed",
            PaymentStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<PaymentStatus> {
        PaymentStatus::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// `succeeded`, `failed` or `cancelled`.
    pub fn is_final(self) -> bool {
        !matches!(self, PaymentStatus::Pending | PaymentStatus::InProgress)
    }
}

/// One step event as stored and shown to the agent (digit-free: a step, a
/// status and a reason code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentStep {
    pub step: Step,
    pub status: StepStatus,
    /// Why, for `re-entering` and `failed` (e.g. `card_number_check_digit`).
    pub reason: Option<String>,
    pub at: DateTime<Utc>,
}

impl PaymentStep {
    /// From the payment flow's progress event.
    pub fn from_event(event: &StepEvent, at: DateTime<Utc>) -> PaymentStep {
        PaymentStep {
            step: event.step,
            status: event.status,
            reason: event.reason.map(str::to_string),
            at,
        }
    }
}

/// Every step, in the order the caller meets them.
pub const STEPS: [Step; 5] = [
    Step::Amount,
    Step::CardNumber,
    Step::Expiry,
    Step::Cvc,
    Step::PostalCode,
];

pub fn parse_step(s: &str) -> Option<Step> {
    STEPS.into_iter().find(|v| v.as_str() == s)
}

pub fn parse_step_status(s: &str) -> Option<StepStatus> {
    [
        StepStatus::Entering,
        StepStatus::Completed,
        StepStatus::ReEntering,
        StepStatus::Failed,
    ]
    .into_iter()
    .find(|v| v.as_str() == s)
}

/// How a payment ended, from the call layer (or the API for a cancel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentResult {
    /// Must be final (`succeeded`, `failed`, `cancelled`).
    pub status: PaymentStatus,
    /// Lowercase brand code, e.g. `visa`.
    pub brand: Option<String>,
    /// Exactly four digits.
    pub last_four: Option<String>,
    pub transaction_id: Option<String>,
    /// The gateway's card token: stored for refunds and reconciliation,
    /// never returned by the API (it can charge the card again).
    pub token: Option<String>,
    /// Why, when not charged: stored as its code, e.g.
    /// `declined:insufficient_funds`, `no_input:cvc`.
    pub reason: Option<EndReason>,
}

impl PaymentResult {
    /// A result with only a status and a reason (cancel, interruption).
    pub fn ended(status: PaymentStatus, reason: Option<EndReason>) -> PaymentResult {
        PaymentResult {
            status,
            brand: None,
            last_four: None,
            transaction_id: None,
            token: None,
            reason,
        }
    }
}

/// The CRM note written when a payment ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CrmNote {
    pub agent_name: String,
    pub product: String,
    pub transaction_id: Option<String>,
    pub amount: String,
    pub currency: String,
    pub status: String,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub timestamp: String,
}

/// A stored payment with its steps (oldest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub id: String,
    pub call_id: String,
    pub agent_id: String,
    pub item: String,
    /// Minor units at the currency's ISO 4217 scale (`2500.00` PKR).
    pub amount: Money,
    pub status: PaymentStatus,
    pub steps: Vec<PaymentStep>,
    pub brand: Option<String>,
    pub last_four: Option<String>,
    pub transaction_id: Option<String>,
    pub reason: Option<EndReason>,
    /// Written when the payment ends.
    pub note: Option<CrmNote>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// UTC `YYYY-MM-DD HH:MM:SS`, the CRM note's timestamp.
pub fn note_timestamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

// ---- row decoding ---------------------------------------------------------

pub(crate) const AGENT_COLUMNS: &str = "id, name, sip_uri, srtp, source, created_at, updated_at";

pub(crate) fn agent_from_row(row: &AnyRow) -> Result<Agent, StoreError> {
    const T: &str = "agents";
    let source: String = get(row, T, "source")?;
    let srtp: String = get(row, T, "srtp")?;
    Ok(Agent {
        id: get(row, T, "id")?,
        name: get(row, T, "name")?,
        sip_uri: get(row, T, "sip_uri")?,
        srtp: crate::config::SrtpMode::parse(&srtp)
            .ok_or_else(|| corrupt(T, format!("srtp {srtp:?}")))?,
        source: AgentSource::parse(&source)
            .ok_or_else(|| corrupt(T, format!("source {source:?}")))?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
        updated_at: time(T, "updated_at", get(row, T, "updated_at")?)?,
    })
}

pub(crate) const CALL_COLUMNS: &str =
    "id, agent_id, agent_name, callee, order_id, status, agent_cause, customer_cause, \
     ended_by, created_at, agent_answered_at, bridged_at, ended_at";

/// A call row; `payments` is filled by the caller.
pub(crate) fn call_from_row(row: &AnyRow) -> Result<AgentCall, StoreError> {
    const T: &str = "agent_calls";
    let status: String = get(row, T, "status")?;
    let ended_by: Option<String> = get(row, T, "ended_by")?;
    Ok(AgentCall {
        id: get(row, T, "id")?,
        agent_id: get(row, T, "agent_id")?,
        agent_name: get(row, T, "agent_name")?,
        to: get(row, T, "callee")?,
        order_id: get(row, T, "order_id")?,
        status: AgentCallStatus::parse(&status)
            .ok_or_else(|| corrupt(T, format!("status {status:?}")))?,
        agent_cause: get(row, T, "agent_cause")?,
        customer_cause: get(row, T, "customer_cause")?,
        ended_by: ended_by
            .map(|e| EndedBy::parse(&e).ok_or_else(|| corrupt(T, format!("ended_by {e:?}"))))
            .transpose()?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
        agent_answered_at: opt_time(T, "agent_answered_at", get(row, T, "agent_answered_at")?)?,
        bridged_at: opt_time(T, "bridged_at", get(row, T, "bridged_at")?)?,
        ended_at: opt_time(T, "ended_at", get(row, T, "ended_at")?)?,
        payments: Vec::new(),
    })
}

pub(crate) const PAYMENT_COLUMNS: &str =
    "id, call_id, agent_id, item, amount_minor, currency, status, brand, last_four, \
     transaction_id, reason, note, created_at, updated_at";

/// A payment row; `steps` is filled by the caller.
pub(crate) fn payment_from_row(row: &AnyRow) -> Result<Payment, StoreError> {
    const T: &str = "payments";
    let status: String = get(row, T, "status")?;
    let minor: i64 = get(row, T, "amount_minor")?;
    let minor = u64::try_from(minor).map_err(|_| corrupt(T, format!("amount_minor {minor}")))?;
    let currency: String = get(row, T, "currency")?;
    let currency =
        Currency::stored(&currency).map_err(|_| corrupt(T, format!("currency {currency:?}")))?;
    let note: Option<String> = get(row, T, "note")?;
    let reason: Option<String> = get(row, T, "reason")?;
    Ok(Payment {
        id: get(row, T, "id")?,
        call_id: get(row, T, "call_id")?,
        agent_id: get(row, T, "agent_id")?,
        item: get(row, T, "item")?,
        amount: Money::from_minor(minor, currency),
        status: PaymentStatus::parse(&status)
            .ok_or_else(|| corrupt(T, format!("status {status:?}")))?,
        steps: Vec::new(),
        brand: get(row, T, "brand")?,
        last_four: get(row, T, "last_four")?,
        transaction_id: get(row, T, "transaction_id")?,
        reason: reason
            .map(|r| EndReason::parse(&r).ok_or_else(|| corrupt(T, format!("reason {r:?}"))))
            .transpose()?,
        note: note
            .map(|n| serde_json::from_str(&n).map_err(|e| corrupt(T, format!("column note: {e}"))))
            .transpose()?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
        updated_at: time(T, "updated_at", get(row, T, "updated_at")?)?,
    })
}

pub(crate) fn step_from_row(row: &AnyRow) -> Result<(String, PaymentStep), StoreError> {
    const T: &str = "payment_steps";
    let step: String = get(row, T, "step")?;
    let status: String = get(row, T, "status")?;
    let payment_id: String = row
        .try_get("payment_id")
        .map_err(|e| corrupt(T, format!("column payment_id: {e}")))?;
    Ok((
        payment_id,
        PaymentStep {
            step: parse_step(&step).ok_or_else(|| corrupt(T, format!("step {step:?}")))?,
            status: parse_step_status(&status)
                .ok_or_else(|| corrupt(T, format!("status {status:?}")))?,
            reason: get(row, T, "reason")?,
            at: time(T, "at", get(row, T, "at")?)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn names_round_trip() {
        for s in AgentCallStatus::ALL {
            assert_eq!(AgentCallStatus::parse(s.as_str()), Some(s));
        }
        for s in PaymentStatus::ALL {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
        for s in STEPS {
            assert_eq!(parse_step(s.as_str()), Some(s));
        }
        assert_eq!(
            parse_step_status("re-entering"),
            Some(StepStatus::ReEntering)
        );
    }
}
