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

impl FailReason {
    /// The inverse of `Display` (a stored reason read back).
    pub fn parse(s: &str) -> Option<FailReason> {
        let step = |name: &str| {
            [
                Step::Amount,
                Step::CardNumber,
                Step::Expiry,
                Step::Cvc,
                Step::PostalCode,
            ]
            .into_iter()
            .find(|v| v.as_str() == name)
        };
        if let Some(name) = s.strip_prefix("no_input:") {
            return step(name).map(FailReason::NoInput);
        }
        if let Some(name) = s.strip_prefix("too_many_invalid:") {
            return step(name).map(FailReason::TooManyInvalid);
        }
        if let Some(code) = s.strip_prefix("declined:") {
            return Some(FailReason::Declined(code.to_string()));
        }
        if let Some(code) = s.strip_prefix("gateway:") {
            return Some(FailReason::Gateway(code.to_string()));
        }
        match s {
            "charge_timeout" => Some(FailReason::ChargeTimeout),
            "caller_hung_up" => Some(FailReason::CallerHungUp),
            "interrupted" => Some(FailReason::Interrupted),
            _ => None,
        }
    }
}

/// Why the call layer would not start a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The payment arrived before the bridge was up.
    NotBridged,
    /// Another payment is running on the call.
    Busy,
    /// No gateway or payment plan is configured.
    PaymentsOff,
}

impl Refusal {
    pub const ALL: [Refusal; 3] = [Refusal::NotBridged, Refusal::Busy, Refusal::PaymentsOff];

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NotBridged => "not_bridged",
            Refusal::Busy => "busy",
            Refusal::PaymentsOff => "payments_off",
        }
    }
}

/// Why a payment ended without a charge, or was cancelled: the `reason` the
/// store keeps and the API and webhooks show, as one code (the four places
/// that wrote strings — the flow, the API's cancel and refusal, the call
/// layer's refusal, the restart — now write one of these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndReason {
    /// The keypad flow failed (a restart that finds a payment live is
    /// [`FailReason::Interrupted`] too).
    Failed(FailReason),
    /// The agent cancelled before the caller's first key.
    CancelledByAgent,
    /// The API stored the payment but the call could not take it.
    NotStarted,
    /// The call layer refused it.
    Refused(Refusal),
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EndReason::Failed(r) => r.fmt(f),
            EndReason::CancelledByAgent => f.write_str("cancelled_by_agent"),
            EndReason::NotStarted => f.write_str("not_started"),
            EndReason::Refused(r) => f.write_str(r.as_str()),
        }
    }
}

impl serde::Serialize for EndReason {
    /// As its code, like the store and the API show it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl EndReason {
    /// The inverse of `Display` (a stored reason read back).
    pub fn parse(s: &str) -> Option<EndReason> {
        match s {
            "cancelled_by_agent" => Some(EndReason::CancelledByAgent),
            "not_started" => Some(EndReason::NotStarted),
            _ => Refusal::ALL
                .into_iter()
                .find(|r| r.as_str() == s)
                .map(EndReason::Refused)
                .or_else(|| FailReason::parse(s).map(EndReason::Failed)),
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

#[cfg(test)]
mod reason_tests {
    use super::*;

    #[test]
    fn every_end_reason_reads_back_as_written() {
        let all = [
            EndReason::Failed(FailReason::NoInput(Step::Cvc)),
            EndReason::Failed(FailReason::TooManyInvalid(Step::CardNumber)),
            EndReason::Failed(FailReason::Declined("insufficient_funds".into())),
            EndReason::Failed(FailReason::Gateway("processor_error_502".into())),
            EndReason::Failed(FailReason::ChargeTimeout),
            EndReason::Failed(FailReason::CallerHungUp),
            EndReason::Failed(FailReason::Interrupted),
            EndReason::CancelledByAgent,
            EndReason::NotStarted,
            EndReason::Refused(Refusal::NotBridged),
            EndReason::Refused(Refusal::Busy),
            EndReason::Refused(Refusal::PaymentsOff),
        ];
        for r in all {
            assert_eq!(EndReason::parse(&r.to_string()), Some(r.clone()), "{r}");
        }
        assert_eq!(
            EndReason::Failed(FailReason::NoInput(Step::Cvc)).to_string(),
            "no_input:cvc"
        );
        assert_eq!(
            EndReason::CancelledByAgent.to_string(),
            "cancelled_by_agent"
        );
        for bad in ["", "no_input:pin", "agent_cancelled", "Busy"] {
            assert_eq!(EndReason::parse(bad), None, "{bad:?}");
        }
    }
}
