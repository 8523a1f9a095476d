//! The payment flow's vocabulary, shared with its driver and the store: the
//! steps shown to the agent, their progress events, the outcomes, and the
//! actions the flow asks for. Nothing here carries a keyed digit.

use std::fmt;

use crate::payments::card::CardDetails;

/// If the media layer never reports a prompt done, treat the caller as silent
/// A step of the caller's entry, as shown to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Amount,
    CardNumber,
    Expiry,
    Cvc,
    PostalCode,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Amount => "amount",
            Step::CardNumber => "card_number",
            Step::Expiry => "expiry",
            Step::Cvc => "cvc",
            Step::PostalCode => "postal_code",
        }
    }
}

/// Where a step stands, for the agent's live view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepStatus {
    Entering,
    Completed,
    ReEntering,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Entering => "entering",
            StepStatus::Completed => "completed",
            StepStatus::ReEntering => "re-entering",
            StepStatus::Failed => "failed",
        }
    }
}

/// One progress event. Built only from enums and `&'static str` codes, so it
/// cannot carry a keyed digit (PCI DSS Req. 3.3.1): safe for SSE and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct StepEvent {
    pub step: Step,
    pub status: StepStatus,
    /// Why, for `re-entering` and `failed` (e.g. `card_number_check_digit`).
    pub reason: Option<&'static str>,
}

/// Why a session failed. No variant holds card data; gateway reasons come
/// from the gateway layer, which keeps them to codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailReason {
    NoInput(Step),
    TooManyInvalid(Step),
    Declined(String),
    Gateway(String),
    ChargeTimeout,
    CallerHungUp,
    /// The driver could not go on (a media or SIP error, a shutdown); the
    /// flow itself never decides this.
    Interrupted,
}

impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailReason::NoInput(s) => write!(f, "no_input:{}", s.as_str()),
            FailReason::TooManyInvalid(s) => write!(f, "too_many_invalid:{}", s.as_str()),
            FailReason::Declined(r) => write!(f, "declined:{r}"),
            FailReason::Gateway(r) => write!(f, "gateway:{r}"),
            FailReason::ChargeTimeout => f.write_str("charge_timeout"),
            FailReason::CallerHungUp => f.write_str("caller_hung_up"),
            FailReason::Interrupted => f.write_str("interrupted"),
        }
    }
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaymentOutcome {
    Succeeded,
    Failed(FailReason),
    Cancelled,
}

impl PaymentOutcome {
    /// The API's payment status.
    pub fn status(&self) -> &'static str {
        match self {
            PaymentOutcome::Succeeded => "succeeded",
            PaymentOutcome::Failed(_) => "failed",
            PaymentOutcome::Cancelled => "cancelled",
        }
    }
}

/// The gateway's answer, fed back by the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved,
    Declined { reason: String },
    Failed { reason: String },
}

/// What the flow wants done, in order.
#[derive(Debug)]
pub enum PaymentAction {
    /// Queue these prompts after whatever is playing (caller leg only).
    Play(Vec<String>),
    /// Stop what is playing (barge-in).
    StopPlayback,
    /// Tell the agent's view.
    Progress(StepEvent),
    /// Tokenize and charge this card through the gateway, then call
    /// [`PaymentFlow::handle_charge_result`]. The card zeroizes itself when the
    /// driver drops it; the flow keeps no copy.
    Charge(CardDetails),
    /// The session is over: record this and reconnect the caller to the agent
    /// (unless the caller has hung up).
    Finished(PaymentOutcome),
}
