//! IVR flows (confirm, payment; upsell later) as sans-IO state machines
//! over call events.
//!
//! A flow never touches sockets, timers or the clock: the call driver feeds it
//! [`FlowInput`]s with the current [`Instant`], asks [`ConfirmFlow::poll_timeout`]
//! when to wake it, and carries out the [`FlowAction`]s it returns. That makes
//! every rule ("repeat once after 5 s of silence", "at most 3 re-prompts")
//! testable in microseconds on simulated time.

pub mod confirm;
pub mod dialplan;
pub mod payment;
pub mod script;

use std::time::Instant;

pub use confirm::ConfirmFlow;
pub use dialplan::{ConfirmPlan, DialplanError};
pub use payment::{PaymentFlow, PaymentPlan};

/// How a call ended, as reported to the order store and the merchant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The callee pressed the confirm key.
    Confirmed,
    /// The callee pressed the cancel key.
    Cancelled,
    /// Answered, but no valid key before the prompts ran out.
    NoInput,
    /// Answered, then the callee hung up before choosing.
    Hangup,
    /// Rang until our ring timeout (CANCEL sent) or 408/480 from the network.
    NoAnswer,
    /// 486 Busy Here / 600 Busy Everywhere.
    Busy,
    /// 603 Decline or 403 Forbidden: the callee or the network refused.
    Rejected,
    /// Anything else: 404, 5xx, transport errors, media failures.
    Failed,
    /// The callee asked for a person (issue #13, key 3): a ready operator
    /// took the call, or the order went to the operators' callback queue.
    Operator,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Confirmed => "confirmed",
            Outcome::Cancelled => "cancelled",
            Outcome::NoInput => "no_input",
            Outcome::Hangup => "hangup",
            Outcome::NoAnswer => "no_answer",
            Outcome::Busy => "busy",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::Operator => "operator",
        }
    }

    /// Map a final non-2xx SIP status of an outbound INVITE to an outcome
    /// (RFC 3261 §21: 4xx client, 5xx server, 6xx global failures).
    pub fn from_sip_failure(status: u16) -> Outcome {
        match status {
            486 | 600 => Outcome::Busy,
            408 | 480 | 487 => Outcome::NoAnswer,
            403 | 603 | 607 | 608 => Outcome::Rejected,
            _ => Outcome::Failed,
        }
    }
}

/// Something that happened on the call, fed to a flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowInput {
    /// The callee answered and media is flowing.
    Answered,
    /// A key press (in-band or RFC 4733; the flow does not care which).
    Digit(char),
    /// Everything the flow asked to play has been played.
    PlaybackDone,
    /// The far end hung up.
    RemoteHangup,
    /// Answer to [`FlowAction::SeekOperator`]: a ready operator took the call.
    OperatorTook,
    /// Answer to [`FlowAction::SeekOperator`]: nobody can take the call
    /// (the order's mode has no operator in a session), so holding for
    /// `operator_wait` is pointless: the callback words follow the hold
    /// prompt at once (issue #13).
    NoOperator,
}

/// What the flow wants done. The driver executes these in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowAction {
    /// Queue these prompts (by name) after whatever is playing.
    Play(Vec<String>),
    /// Stop what is playing now and drop the queue (barge-in).
    StopPlayback,
    /// Send BYE; the call is over with this outcome.
    Hangup(Outcome),
    /// The far end already hung up; record this outcome.
    Finished(Outcome),
    /// The callee asked for a person: look for a ready operator while the
    /// customer holds (answer with [`FlowInput::OperatorTook`] when one takes
    /// the call, [`FlowInput::NoOperator`] when none can); otherwise the flow
    /// holds until `operator_wait`, then ends as [`Outcome::Operator`] for a
    /// callback.
    SeekOperator,
}

/// A flow the call driver can run: the common shape of confirm, payment and upsell.
pub trait Flow {
    fn handle_input(&mut self, now: Instant, input: FlowInput);
    fn handle_timeout(&mut self, now: Instant);
    fn poll_action(&mut self) -> Option<FlowAction>;
    fn poll_timeout(&self) -> Option<Instant>;
    /// Whether the caller holds for an operator (after
    /// [`FlowAction::SeekOperator`], until one takes the call or the flow
    /// gives up): the driver stops looking once this is false.
    fn holding(&self) -> bool {
        false
    }
    /// Every digit the caller pressed, in order.
    fn digits(&self) -> &str;
}
