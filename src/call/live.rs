//! The call layer's public vocabulary for agent calls: what to dial, the
//! commands a live call takes, and the [`LiveEvent`]s it reports.
//!
//! Kept apart from the B2BUA (`agent_call.rs`) and the payment session
//! (`secure_payment.rs`) so that both import it and neither imports
//! the other back.

use crate::ivr::payment::{PaymentOutcome, Refusal, StepEvent};
use crate::payments::ChargeResult;

/// What to dial.
#[derive(Debug, Clone)]
pub struct AgentCallSpec {
    pub call_id: String,
    /// The agent's phone (`[[agents]].sip_uri`), dialled directly.
    pub agent_uri: String,
    /// The customer's number, dialled through the default trunk.
    pub to: String,
    /// The agent's `srtp` (`[[agents]] srtp`): SDES on the agent's leg as
    /// on a trunk's (issue #14).
    pub agent_srtp: crate::config::SrtpMode,
}

/// A payment to take on the bridged call: the API's request as stored.
pub use crate::payments::PaymentRequest;

/// Orders for a live call.
#[derive(Debug)]
pub enum CallCommand {
    StartPayment(PaymentRequest),
    /// The agent cancelled a payment the caller had not started.
    CancelPayment {
        payment_id: String,
    },
    HangUp,
}

/// How a call ended: causes per leg (see `docs/payments-contract.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// Never bridged (a leg failed or was abandoned).
    pub failed: bool,
    pub agent_cause: LegCause,
    pub customer_cause: Option<LegCause>,
    pub ended_by: EndedBy,
}

/// Why one leg of an agent call ended; written to the store as text
/// (`rejected:<status>` keeps the SIP status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegCause {
    /// 486 / 600.
    Busy,
    /// Our ring timeout, 408, 480 or 487.
    NoAnswer,
    /// Any other final non-2xx.
    Rejected(u16),
    /// The party hung up (or its call ended on the other side).
    Hangup,
    /// `DELETE /v1/calls/{id}`.
    ApiHangup,
    /// The daemon is stopping.
    Shutdown,
    /// We cancelled this leg's ringing because the other side went away.
    Cancelled,
    /// A local failure: media, SIP endpoint, no trunk.
    Error,
    /// The 2xx carried an SDP answer we cannot use.
    BadSdp,
    /// The bridged call reached its hard limit.
    MaxDuration,
    /// A leg's far end sent no RTP/RTCP for `[sip] media_timeout`.
    MediaTimeout,
    /// The agent's leg is a nailed-up session's and went back to it
    /// (issue #10): it did not end with this call.
    Session,
}

impl std::fmt::Display for LegCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LegCause::Busy => "busy",
            LegCause::NoAnswer => "no_answer",
            LegCause::Rejected(status) => return write!(f, "rejected:{status}"),
            LegCause::Hangup => "hangup",
            LegCause::ApiHangup => "api_hangup",
            LegCause::Shutdown => "shutdown",
            LegCause::Cancelled => "cancelled",
            LegCause::Error => "error",
            LegCause::BadSdp => "bad_sdp",
            LegCause::MaxDuration => "max_duration",
            LegCause::MediaTimeout => "media_timeout",
            LegCause::Session => "session",
        })
    }
}

/// Who ended an agent call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndedBy {
    Agent,
    Customer,
    Api,
    /// The daemon itself: shutdown, an error, a restart.
    Local,
}

impl EndedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            EndedBy::Agent => "agent",
            EndedBy::Customer => "customer",
            EndedBy::Api => "api",
            EndedBy::Local => "local",
        }
    }

    pub fn parse(s: &str) -> Option<EndedBy> {
        [
            EndedBy::Agent,
            EndedBy::Customer,
            EndedBy::Api,
            EndedBy::Local,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// What happened, in order. No variant carries a keyed digit.
#[derive(Debug)]
pub enum LiveEvent {
    AgentAnswered,
    Bridged,
    PaymentStep {
        payment_id: String,
        event: StepEvent,
    },
    /// The caller's first key: the payment is under way.
    PaymentKeyed {
        payment_id: String,
    },
    PaymentEnded {
        payment_id: String,
        outcome: PaymentOutcome,
        charge: Option<ChargeResult>,
    },
    /// A payment could not start.
    PaymentRefused {
        payment_id: String,
        reason: Refusal,
    },
    Ended(CallEnd),
}

/// An agent session's lifecycle (issue #10), reported by the call layer to
/// the desk (which feeds the agent state machine). No variant carries a
/// keyed digit or a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEvent {
    /// The agent's phone is being called.
    Connecting,
    /// The agent answered; the leg stays up with comfort noise.
    Up,
    /// The session is over: `ApiHangup` is a logout, `Hangup` the agent
    /// hanging up, `NoAnswer`/`Busy`/`Rejected` a phone that never answered.
    Down { cause: LegCause },
    /// A customer is connected into the live leg (no ringing).
    CustomerConnected { call_id: String },
    /// That customer's call is over; the agent stays connected.
    /// `agent_spoke`: false when the customer left before the agent said
    /// anything. `connect_latency`: the customer's 200 OK to the first
    /// agent-leg packet carrying the customer's sound.
    CustomerEnded {
        call_id: String,
        agent_spoke: bool,
        connect_latency: Option<std::time::Duration>,
        /// The customer's 200 OK to its first RTP packet reaching us: the
        /// far end's share of `connect_latency`.
        first_rtp_after: Option<std::time::Duration>,
    },
}
