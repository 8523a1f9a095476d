//! The keypad payment flow: the caller keys a card while the agent is muted.
//!
//! Steps (issue #5), each followed by "press 1 to confirm, press 2 to re-enter":
//! 1. amount confirmation (the amount is read out; 2 reads it again);
//! 2. card number: 13–19 digits, ended by `#`, by a pause of `digit_pause`,
//!    or by the 19th digit; Luhn-checked, brand detected;
//! 3. expiry MMYY, not in the past (the current month is passed in);
//! 4. CVC: 3 digits, 4 for American Express (ends by itself at that length);
//! 5. postal code, length configurable (skipped when `ask_postal_code = false`).
//!
//! Rules:
//! - no key for `no_input_timeout` (default 60 s) after a prompt ends → failed;
//! - the `max_invalid`-th invalid entry on one step (default 3) → failed;
//! - `*` at any time before the charge is sent → cancelled;
//! - then [`PaymentAction::Charge`] hands the card to the driver, which runs the
//!   gateway and feeds [`PaymentFlow::handle_charge_result`]; the flow plays the
//!   success or failure words and reports [`PaymentAction::Finished`], upon which
//!   the driver reconnects the caller to the agent.
//!
//! Like [`super::ConfirmFlow`] it is sans-IO: no sockets, no timers, no clock;
//! the driver feeds inputs with `now` and wakes it at [`PaymentFlow::poll_timeout`].
//!
//! It deliberately does **not** implement [`super::Flow`]: that trait's
//! `digits()` returns every key pressed, which here would be the card number
//! (PCI DSS Req. 3.3, 3.4). Keys go straight into zeroizing
//! [`DigitBuf`](crate::payments::card::DigitBuf)s and, once validated, into the
//! typed values of [`crate::payments::card`]; the flow's `Debug`, its progress
//! events and its outcomes carry no digit of them.

//!
//! Files: [`plan`] is the script file (`dialplans/payment.toml`), [`vocab`]
//! the words the flow and its driver share (steps, outcomes, actions); this
//! file is the flow itself.

mod plan;
mod vocab;

pub use plan::PaymentPlan;
pub use vocab::{
    ChargeOutcome, EndReason, FailReason, PaymentAction, PaymentOutcome, Refusal, Step, StepEvent,
    StepStatus,
};

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;
use std::time::Instant;

use super::dialplan::{expand, DialplanError};
use super::FlowInput;
use crate::payments::card::{
    CardDetails, CardError, Cvc, DigitBuf, Expiry, Pan, PostalCode, PostalRule, YearMonth, PAN_MAX,
    POSTAL_MAX,
};

/// If the media layer never reports a prompt done, treat the caller as silent
/// this long after the no-input timeout would have started.
const PROMPT_GUARD: Duration = Duration::from_secs(60);
/// If the media layer never reports the last words done, finish anyway.
const CLOSING_GUARD: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Collecting the step's digits.
    Entry,
    /// "Press 1 to confirm, press 2 to re-enter".
    Confirm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    /// A prompt is playing (`playing`) or has ended; no key yet.
    Listening {
        phase: Phase,
        playing: bool,
        deadline: Instant,
    },
    /// Digits are coming in; a pause until `deadline` ends the entry.
    Keying {
        deadline: Instant,
    },
    Charging {
        deadline: Instant,
    },
    Closing {
        outcome: PaymentOutcome,
        deadline: Instant,
    },
    Done,
}

impl State {
    /// The state's name: `Debug` of the flow shows this, not the deadlines.
    fn name(&self) -> &'static str {
        match self {
            State::Idle => "idle",
            State::Listening {
                phase: Phase::Entry,
                ..
            } => "listening_entry",
            State::Listening {
                phase: Phase::Confirm,
                ..
            } => "listening_confirm",
            State::Keying { .. } => "keying",
            State::Charging { .. } => "charging",
            State::Closing { .. } => "closing",
            State::Done => "done",
        }
    }
}

/// One caller's payment session. See the module docs for its rules.
pub struct PaymentFlow {
    amount: Vec<String>,
    card_number: Vec<String>,
    expiry_prompt: Vec<String>,
    cvc_prompt: Vec<String>,
    postal_prompt: Vec<String>,
    menu: Vec<String>,
    invalid: Vec<String>,
    approved: Vec<String>,
    declined: Vec<String>,
    failed: Vec<String>,
    cancelled: Vec<String>,
    confirm_key: char,
    reenter_key: char,
    cancel_key: char,
    end_key: char,
    no_input_timeout: Duration,
    digit_pause: Duration,
    charge_timeout: Duration,
    max_invalid: u32,
    ask_postal: bool,
    postal_rule: PostalRule,
    today: YearMonth,

    state: State,
    step: Step,
    invalid_count: u32,
    caller_gone: bool,
    /// The entry in progress (any step; 19 digits covers them all).
    entry: DigitBuf<PAN_MAX>,
    pan: Option<Pan>,
    expiry: Option<Expiry>,
    cvc: Option<Cvc>,
    postal: Option<PostalCode>,
    actions: VecDeque<PaymentAction>,
}

impl fmt::Debug for PaymentFlow {
    /// Only where the session stands; no entry, no card value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentFlow")
            .field("state", &self.state.name())
            .field("step", &self.step)
            .field("invalid_count", &self.invalid_count)
            .field("entry", &self.entry)
            .finish_non_exhaustive()
    }
}

impl PaymentFlow {
    /// Build a session from a validated plan. `vars` fills `$amount` (see
    /// [`crate::media::say::amount_str`]); `today` is the current month for
    /// the expiry check (passed in: the flow reads no clock).
    pub fn new(
        plan: &PaymentPlan,
        vars: &HashMap<String, Vec<String>>,
        today: YearMonth,
    ) -> Result<Self, DialplanError> {
        plan.validate()?;
        Ok(Self {
            amount: expand(&plan.amount, vars)?,
            card_number: expand(&plan.card_number, vars)?,
            expiry_prompt: expand(&plan.expiry, vars)?,
            cvc_prompt: expand(&plan.cvc, vars)?,
            postal_prompt: expand(&plan.postal_code, vars)?,
            menu: expand(&plan.menu, vars)?,
            invalid: expand(&plan.invalid, vars)?,
            approved: expand(&plan.approved, vars)?,
            declined: expand(&plan.declined, vars)?,
            failed: expand(&plan.failed, vars)?,
            cancelled: expand(&plan.cancelled, vars)?,
            confirm_key: plan.confirm_key,
            reenter_key: plan.reenter_key,
            cancel_key: plan.cancel_key,
            end_key: plan.end_key,
            no_input_timeout: plan.no_input_timeout()?,
            digit_pause: plan.duration("digit_pause")?,
            charge_timeout: plan.duration("charge_timeout")?,
            max_invalid: plan.max_invalid,
            ask_postal: plan.ask_postal_code,
            postal_rule: PostalRule {
                min_len: plan.postal_code_min,
                max_len: plan.postal_code_max,
            },
            today,
            state: State::Idle,
            step: Step::Amount,
            invalid_count: 0,
            caller_gone: false,
            entry: DigitBuf::new(),
            pan: None,
            expiry: None,
            cvc: None,
            postal: None,
            actions: VecDeque::new(),
        })
    }

    /// Begin: read the amount and ask to confirm it.
    pub fn start(&mut self, now: Instant) {
        if self.state == State::Idle {
            self.begin_step(now, Step::Amount, false);
        }
    }

    /// The step the caller is on.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The outcome once decided.
    pub fn outcome(&self) -> Option<&PaymentOutcome> {
        match &self.state {
            State::Closing { outcome, .. } => Some(outcome),
            _ => None,
        }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    pub fn handle_input(&mut self, now: Instant, input: FlowInput) {
        match input {
            FlowInput::Answered => self.start(now),
            FlowInput::Digit(d) => self.on_digit(now, d),
            FlowInput::PlaybackDone => match self.state.clone() {
                State::Listening {
                    phase,
                    playing: true,
                    ..
                } => {
                    self.state = State::Listening {
                        phase,
                        playing: false,
                        deadline: now + self.no_input_timeout,
                    }
                }
                State::Closing { outcome, .. } => self.finish(outcome),
                _ => {}
            },
            FlowInput::RemoteHangup => {
                self.caller_gone = true;
                match self.state.clone() {
                    State::Done | State::Charging { .. } => {}
                    State::Closing { outcome, .. } => self.finish(outcome),
                    State::Idle => self.finish(PaymentOutcome::Failed(FailReason::CallerHungUp)),
                    _ => {
                        self.progress(StepStatus::Failed, Some("caller_hung_up"));
                        self.finish(PaymentOutcome::Failed(FailReason::CallerHungUp));
                    }
                }
            }
            // A payment never asks for an operator (the agent is on the call).
            FlowInput::OperatorTook | FlowInput::NoOperator => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        match self.state.clone() {
            State::Listening { deadline, .. } if now >= deadline => {
                self.progress(StepStatus::Failed, Some("no_input"));
                let words = self.failed.clone();
                self.close(
                    now,
                    PaymentOutcome::Failed(FailReason::NoInput(self.step)),
                    words,
                );
            }
            State::Keying { deadline } if now >= deadline => self.end_entry(now, false),
            State::Charging { deadline } if now >= deadline => {
                let words = self.failed.clone();
                self.close(
                    now,
                    PaymentOutcome::Failed(FailReason::ChargeTimeout),
                    words,
                );
            }
            State::Closing { outcome, deadline } if now >= deadline => self.finish(outcome),
            _ => {}
        }
    }

    /// The gateway's answer to [`PaymentAction::Charge`].
    pub fn handle_charge_result(&mut self, now: Instant, result: ChargeOutcome) {
        if !matches!(self.state, State::Charging { .. }) {
            return;
        }
        let (outcome, words) = match result {
            ChargeOutcome::Approved => (PaymentOutcome::Succeeded, self.approved.clone()),
            ChargeOutcome::Declined { reason } => (
                PaymentOutcome::Failed(FailReason::Declined(reason)),
                self.declined.clone(),
            ),
            ChargeOutcome::Failed { reason } => (
                PaymentOutcome::Failed(FailReason::Gateway(reason)),
                self.failed.clone(),
            ),
        };
        self.close(now, outcome, words);
    }

    pub fn poll_action(&mut self) -> Option<PaymentAction> {
        self.actions.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Listening { deadline, .. }
            | State::Keying { deadline }
            | State::Charging { deadline }
            | State::Closing { deadline, .. } => Some(*deadline),
            State::Idle | State::Done => None,
        }
    }

    fn progress(&mut self, status: StepStatus, reason: Option<&'static str>) {
        self.actions.push_back(PaymentAction::Progress(StepEvent {
            step: self.step,
            status,
            reason,
        }));
    }

    fn is_playing(&self) -> bool {
        matches!(self.state, State::Listening { playing: true, .. })
    }

    fn step_prompt(&self, step: Step) -> Vec<String> {
        match step {
            Step::Amount => self
                .amount
                .iter()
                .chain(self.menu.iter())
                .cloned()
                .collect(),
            Step::CardNumber => self.card_number.clone(),
            Step::Expiry => self.expiry_prompt.clone(),
            Step::Cvc => self.cvc_prompt.clone(),
            Step::PostalCode => self.postal_prompt.clone(),
        }
    }

    /// Play `preface` + the step's prompt and listen. The amount step has no
    /// entry: it goes straight to its confirm menu.
    fn ask(&mut self, now: Instant, preface: Vec<String>) {
        let mut words = preface;
        words.extend(self.step_prompt(self.step));
        self.actions.push_back(PaymentAction::Play(words));
        self.entry.clear();
        let phase = if self.step == Step::Amount {
            Phase::Confirm
        } else {
            Phase::Entry
        };
        self.listen(now, phase);
    }

    fn listen(&mut self, now: Instant, phase: Phase) {
        self.state = State::Listening {
            phase,
            playing: true,
            deadline: now + self.no_input_timeout + PROMPT_GUARD,
        };
    }

    fn begin_step(&mut self, now: Instant, step: Step, reentry: bool) {
        self.step = step;
        if !reentry {
            self.invalid_count = 0;
        }
        let status = if reentry {
            StepStatus::ReEntering
        } else {
            StepStatus::Entering
        };
        self.progress(status, None);
        self.ask(now, Vec::new());
    }

    fn stop_if_playing(&mut self) {
        if self.is_playing() {
            self.actions.push_back(PaymentAction::StopPlayback);
        }
    }

    fn on_digit(&mut self, now: Instant, d: char) {
        let phase = match &self.state {
            State::Listening { phase, .. } => *phase,
            State::Keying { .. } => Phase::Entry,
            // Before the start, while charging and after the end, keys mean nothing.
            _ => return,
        };
        if d == self.cancel_key {
            self.stop_if_playing();
            self.progress(StepStatus::Failed, Some("cancelled"));
            let words = self.cancelled.clone();
            self.close(now, PaymentOutcome::Cancelled, words);
            return;
        }
        match phase {
            Phase::Entry => self.on_entry_key(now, d),
            Phase::Confirm => self.on_menu_key(now, d),
        }
    }

    fn entry_max(&self) -> usize {
        match self.step {
            Step::Amount => 0,
            Step::CardNumber => PAN_MAX,
            Step::Expiry => 4,
            Step::Cvc => self.pan.as_ref().map_or(3, |p| p.brand().cvc_len()),
            Step::PostalCode => self.postal_rule.max_len,
        }
    }

    fn on_entry_key(&mut self, now: Instant, d: char) {
        self.stop_if_playing();
        if d == self.end_key {
            self.end_entry(now, true);
            return;
        }
        if self.entry.push(d).is_err() {
            // A-D: not a digit. The whole entry is void.
            self.invalid_entry(now, CardError::NotADigit);
            return;
        }
        if self.entry.len() >= self.entry_max() {
            self.end_entry(now, false);
        } else {
            self.state = State::Keying {
                deadline: now + self.digit_pause,
            };
        }
    }

    /// Move the entry into a buffer of the step's size (zeroing the source).
    fn take_entry<const M: usize>(&mut self) -> Result<DigitBuf<M>, CardError> {
        let mut out = DigitBuf::<M>::new();
        let r = self
            .entry
            .expose_bytes()
            .iter()
            .try_for_each(|&b| out.push(char::from(b)));
        self.entry.clear();
        r.map(|()| out)
    }

    fn validate_entry(&mut self) -> Result<(), CardError> {
        match self.step {
            Step::Amount => Ok(()),
            Step::CardNumber => {
                let mut buf = self.take_entry::<PAN_MAX>()?;
                self.pan = Some(Pan::from_entry(&mut buf)?);
                Ok(())
            }
            Step::Expiry => {
                let mut buf = self.take_entry::<4>()?;
                self.expiry = Some(Expiry::from_entry(&mut buf, self.today)?);
                Ok(())
            }
            Step::Cvc => {
                let brand = self
                    .pan
                    .as_ref()
                    .map_or(crate::payments::card::Brand::Unknown, Pan::brand);
                let mut buf = self.take_entry::<4>()?;
                self.cvc = Some(Cvc::from_entry(&mut buf, brand)?);
                Ok(())
            }
            Step::PostalCode => {
                let mut buf = self.take_entry::<POSTAL_MAX>()?;
                self.postal = Some(PostalCode::from_entry(&mut buf, self.postal_rule)?);
                Ok(())
            }
        }
    }

    /// The entry ended (`#`, pause or full length): validate, then ask to confirm.
    fn end_entry(&mut self, now: Instant, by_end_key: bool) {
        if self.entry.is_empty() && by_end_key {
            // `#` alone: nothing keyed. Count it, like any invalid entry.
            self.invalid_entry(now, CardError::PanLength { len: 0 });
            return;
        }
        match self.validate_entry() {
            Ok(()) => {
                self.actions
                    .push_back(PaymentAction::Play(self.menu.clone()));
                self.listen(now, Phase::Confirm);
            }
            Err(e) => self.invalid_entry(now, e),
        }
    }

    fn invalid_entry(&mut self, now: Instant, e: CardError) {
        self.entry.clear();
        self.invalid_count += 1;
        if self.invalid_count >= self.max_invalid {
            self.progress(StepStatus::Failed, Some("too_many_invalid"));
            let words = self.failed.clone();
            self.close(
                now,
                PaymentOutcome::Failed(FailReason::TooManyInvalid(self.step)),
                words,
            );
            return;
        }
        self.progress(StepStatus::ReEntering, Some(e.code()));
        let preface = self.invalid.clone();
        self.ask(now, preface);
    }

    fn on_menu_key(&mut self, now: Instant, d: char) {
        if d == self.confirm_key {
            self.stop_if_playing();
            self.progress(StepStatus::Completed, None);
            self.next_step(now);
        } else if d == self.reenter_key {
            self.stop_if_playing();
            self.forget_step_value();
            self.begin_step(now, self.step, true);
        } else {
            // A wrong key at the menu: say so and ask again, counting it.
            self.stop_if_playing();
            self.invalid_count += 1;
            if self.invalid_count >= self.max_invalid {
                self.progress(StepStatus::Failed, Some("too_many_invalid"));
                let words = self.failed.clone();
                self.close(
                    now,
                    PaymentOutcome::Failed(FailReason::TooManyInvalid(self.step)),
                    words,
                );
                return;
            }
            let mut words = self.invalid.clone();
            if self.step == Step::Amount {
                words.extend(self.step_prompt(Step::Amount));
            } else {
                words.extend(self.menu.iter().cloned());
            }
            self.actions.push_back(PaymentAction::Play(words));
            self.listen(now, Phase::Confirm);
        }
    }

    fn forget_step_value(&mut self) {
        match self.step {
            Step::Amount => {}
            Step::CardNumber => self.pan = None,
            Step::Expiry => self.expiry = None,
            Step::Cvc => self.cvc = None,
            Step::PostalCode => self.postal = None,
        }
    }

    fn next_step(&mut self, now: Instant) {
        let next = match self.step {
            Step::Amount => Some(Step::CardNumber),
            Step::CardNumber => Some(Step::Expiry),
            Step::Expiry => Some(Step::Cvc),
            Step::Cvc if self.ask_postal => Some(Step::PostalCode),
            Step::Cvc | Step::PostalCode => None,
        };
        match next {
            Some(step) => self.begin_step(now, step, false),
            None => self.charge(now),
        }
    }

    fn charge(&mut self, now: Instant) {
        match (self.pan.take(), self.expiry.take(), self.cvc.take()) {
            (Some(pan), Some(expiry), Some(cvc)) => {
                let card = CardDetails {
                    pan,
                    expiry,
                    cvc,
                    postal: self.postal.take(),
                };
                self.actions.push_back(PaymentAction::Charge(card));
                self.state = State::Charging {
                    deadline: now + self.charge_timeout,
                };
            }
            // Unreachable by construction (each step stores its value before
            // "completed"); fail closed rather than panic.
            _ => {
                let words = self.failed.clone();
                self.close(
                    now,
                    PaymentOutcome::Failed(FailReason::Gateway("incomplete_card".into())),
                    words,
                );
            }
        }
    }

    /// Drop every card value now (each zeroizes itself).
    fn wipe(&mut self) {
        self.entry.clear();
        self.pan = None;
        self.expiry = None;
        self.cvc = None;
        self.postal = None;
    }

    fn close(&mut self, now: Instant, outcome: PaymentOutcome, words: Vec<String>) {
        self.wipe();
        if self.caller_gone || words.is_empty() {
            self.finish(outcome);
            return;
        }
        self.actions.push_back(PaymentAction::Play(words));
        self.state = State::Closing {
            outcome,
            deadline: now + CLOSING_GUARD,
        };
    }

    fn finish(&mut self, outcome: PaymentOutcome) {
        self.wipe();
        self.actions.push_back(PaymentAction::Finished(outcome));
        self.state = State::Done;
    }
}

#[cfg(test)]
mod tests;
