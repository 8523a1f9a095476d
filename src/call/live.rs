//! The call layer's public vocabulary for agent calls: what to dial, the
//! commands a live call takes, and the [`LiveEvent`]s it reports.
//!
//! Kept apart from the B2BUA (`agent_call.rs`) and the payment session
//! (`secure_payment.rs`) so that both import it and neither imports
//! the other back.

use crate::ivr::payment::{PaymentOutcome, StepEvent};
use crate::payments::ChargeResult;

/// What to dial.
#[derive(Debug, Clone)]
pub struct AgentCallSpec {
    pub call_id: String,
    /// The agent's phone (`[[agents]].sip_uri`), dialled directly.
    pub agent_uri: String,
    /// The customer's number, dialled through the default trunk.
    pub to: String,
}

/// A payment to take on the bridged call.
#[derive(Debug, Clone)]
pub struct PaymentOrder {
    pub payment_id: String,
    /// Decimal text as the API took it (`"2500.00"`), read out to the caller.
    pub amount: String,
    pub amount_minor: u64,
    pub currency: String,
}

/// Orders for a live call.
#[derive(Debug)]
pub enum CallCommand {
    StartPayment(PaymentOrder),
    /// The agent cancelled a payment the caller had not started.
    CancelPayment { payment_id: String },
    HangUp,
}

/// How a call ended: causes per leg (see `docs/payments-contract.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// Never bridged (a leg failed or was abandoned).
    pub failed: bool,
    pub agent_cause: String,
    pub customer_cause: Option<String>,
    /// `agent`, `customer`, `api` or `local`.
    pub ended_by: &'static str,
}

/// What happened, in order. No variant carries a keyed digit.
#[derive(Debug)]
pub enum LiveEvent {
    AgentAnswered,
    Bridged,
    PaymentStep { payment_id: String, event: StepEvent },
    /// The caller's first key: the payment is under way.
    PaymentKeyed { payment_id: String },
    PaymentEnded {
        payment_id: String,
        outcome: PaymentOutcome,
        charge: Option<ChargeResult>,
    },
    /// A payment could not start (`busy`: another is running; `payments_off`).
    PaymentRefused { payment_id: String, reason: &'static str },
    Ended(CallEnd),
}

