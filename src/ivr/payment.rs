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

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;
use std::time::Duration;
use std::time::Instant;

use serde::Deserialize;

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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentFile {
    payment: PaymentPlan,
}

/// The payment flow's script and rules (`[payment]` in `dialplans/payment.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentPlan {
    /// Step 1: "the amount to pay is …" (uses `$amount`).
    pub amount: Vec<String>,
    pub card_number: Vec<String>,
    pub expiry: Vec<String>,
    pub cvc: Vec<String>,
    pub postal_code: Vec<String>,
    /// After each step: "press 1 to confirm, press 2 to re-enter".
    pub menu: Vec<String>,
    /// Before the step's prompt again after an invalid entry or key.
    pub invalid: Vec<String>,
    pub approved: Vec<String>,
    pub declined: Vec<String>,
    /// Played when the session fails for any other reason (timeouts, gateway).
    pub failed: Vec<String>,
    pub cancelled: Vec<String>,
    pub confirm_key: char,
    pub reenter_key: char,
    pub cancel_key: char,
    /// Ends a variable-length entry (card number, postal code).
    pub end_key: char,
    /// Silence after a prompt before the session fails (default 60 s).
    pub no_input_timeout: String,
    /// A pause this long after the last digit ends the entry.
    pub digit_pause: String,
    /// Invalid entries on one step; reaching this many fails the session.
    pub max_invalid: u32,
    pub ask_postal_code: bool,
    pub postal_code_min: usize,
    pub postal_code_max: usize,
    /// Last-resort guard if the driver never reports the charge result.
    pub charge_timeout: String,
}

impl Default for PaymentPlan {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        let postal = PostalRule::default();
        Self {
            amount: v(&["amount_to_pay", "$amount"]),
            card_number: v(&["enter_card_number"]),
            expiry: v(&["enter_expiry"]),
            cvc: v(&["enter_cvc"]),
            postal_code: v(&["enter_postal_code"]),
            menu: v(&["press_1_confirm_2_reenter"]),
            invalid: v(&["invalid_key"]),
            approved: v(&["payment_approved"]),
            declined: v(&["payment_declined"]),
            failed: v(&["payment_declined"]),
            cancelled: v(&["payment_cancelled"]),
            confirm_key: '1',
            reenter_key: '2',
            cancel_key: '*',
            end_key: '#',
            no_input_timeout: "60s".into(),
            digit_pause: "5s".into(),
            max_invalid: 3,
            ask_postal_code: true,
            postal_code_min: postal.min_len,
            postal_code_max: postal.max_len,
            charge_timeout: "45s".into(),
        }
    }
}

const KEYS: &str = "0123456789*#ABCD";

impl PaymentPlan {
    /// Load `[payment]` from a dialplan file.
    pub fn load(path: &Path) -> Result<Self, DialplanError> {
        let file: PaymentFile = super::dialplan::read_toml(path)?;
        file.payment.validate()?;
        Ok(file.payment)
    }

    pub fn validate(&self) -> Result<(), DialplanError> {
        let bad = |key: &str, reason: &str| DialplanError::Invalid {
            key: format!("payment.{key}"),
            reason: reason.into(),
        };
        let keys = [
            ("confirm_key", self.confirm_key),
            ("reenter_key", self.reenter_key),
            ("cancel_key", self.cancel_key),
            ("end_key", self.end_key),
        ];
        for (i, (name, k)) in keys.iter().enumerate() {
            if !KEYS.contains(*k) {
                return Err(bad(name, "must be a DTMF key 0-9 * # A-D"));
            }
            if keys[..i].iter().any(|(_, other)| other == k) {
                return Err(bad(name, "must differ from the other keys"));
            }
        }
        // Keys that end or cancel an entry cannot also be card digits.
        for (name, k) in &keys[2..] {
            if k.is_ascii_digit() {
                return Err(bad(name, "must not be a digit (digits are card data)"));
            }
        }
        if self.menu.is_empty() {
            return Err(bad("menu", "must name at least one prompt"));
        }
        if self.max_invalid == 0 {
            return Err(bad("max_invalid", "must be at least 1"));
        }
        if self.postal_code_min == 0
            || self.postal_code_min > self.postal_code_max
            || self.postal_code_max > POSTAL_MAX
        {
            return Err(bad(
                "postal_code_min",
                "need 1 <= postal_code_min <= postal_code_max <= 10",
            ));
        }
        for (key, min) in [
            ("no_input_timeout", Duration::from_secs(1)),
            ("digit_pause", Duration::from_secs(1)),
            ("charge_timeout", Duration::from_secs(1)),
        ] {
            if self.duration(key)? < min {
                return Err(bad(key, "must be at least 1s"));
            }
        }
        Ok(())
    }

    fn duration(&self, key: &str) -> Result<Duration, DialplanError> {
        let s = match key {
            "no_input_timeout" => &self.no_input_timeout,
            "digit_pause" => &self.digit_pause,
            _ => &self.charge_timeout,
        };
        crate::config::parse_duration(s).map_err(|reason| DialplanError::Invalid {
            key: format!("payment.{key}"),
            reason,
        })
    }

    pub fn no_input_timeout(&self) -> Result<Duration, DialplanError> {
        self.duration("no_input_timeout")
    }

    /// The flow's last-resort wait for the gateway's answer.
    pub fn charge_timeout(&self) -> Result<Duration, DialplanError> {
        self.duration("charge_timeout")
    }
}

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
mod tests {
    use super::*;

    const TODAY: YearMonth = YearMonth {
        year: 2026,
        month: 11,
    };

    fn plan() -> PaymentPlan {
        PaymentPlan::default()
    }

    fn flow_with(plan: &PaymentPlan) -> PaymentFlow {
        let mut vars = HashMap::new();
        vars.insert(
            "amount".into(),
            crate::media::say::amount_str("en", "2450", "PKR").expect("amount"),
        );
        PaymentFlow::new(plan, &vars, TODAY).expect("plan")
    }

    fn drain(f: &mut PaymentFlow) -> Vec<PaymentAction> {
        std::iter::from_fn(|| f.poll_action()).collect()
    }

    fn events(actions: &[PaymentAction]) -> Vec<(Step, StepStatus)> {
        actions
            .iter()
            .filter_map(|a| match a {
                PaymentAction::Progress(e) => Some((e.step, e.status)),
                _ => None,
            })
            .collect()
    }

    fn plays(actions: &[PaymentAction]) -> Vec<Vec<String>> {
        actions
            .iter()
            .filter_map(|a| match a {
                PaymentAction::Play(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    fn keys(f: &mut PaymentFlow, t: Instant, s: &str) {
        for c in s.chars() {
            f.handle_input(t, FlowInput::Digit(c));
        }
    }

    fn finished(actions: &[PaymentAction]) -> Option<PaymentOutcome> {
        actions.iter().find_map(|a| match a {
            PaymentAction::Finished(o) => Some(o.clone()),
            _ => None,
        })
    }

    /// Start, confirm the amount, key a whole card; returns the actions after
    /// the last confirm (the `Charge`).
    fn enter_card(f: &mut PaymentFlow, t: Instant, pan: &str) -> Vec<PaymentAction> {
        f.start(t);
        f.handle_input(t, FlowInput::PlaybackDone);
        keys(f, t, "1");
        keys(f, t, &format!("{pan}#"));
        keys(f, t, "1");
        keys(f, t, "1231");
        keys(f, t, "1");
        keys(f, t, "123");
        keys(f, t, "1");
        keys(f, t, "54000");
        drain(f);
        keys(f, t, "1");
        drain(f)
    }

    #[test]
    fn default_no_input_timeout_is_60_seconds() {
        assert_eq!(plan().no_input_timeout().unwrap(), Duration::from_secs(60));
        assert_eq!(plan().max_invalid, 3);
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/payment.toml");
        let p = PaymentPlan::load(&shipped).expect("shipped payment dialplan");
        assert_eq!(p.no_input_timeout().unwrap(), Duration::from_secs(60));
        assert_eq!(p.max_invalid, 3);
        assert_eq!(p.menu, plan().menu);
    }

    #[test]
    fn start_reads_amount_then_menu() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        let a = drain(&mut f);
        assert_eq!(events(&a), vec![(Step::Amount, StepStatus::Entering)]);
        let p = plays(&a);
        assert_eq!(p[0].first().map(String::as_str), Some("amount_to_pay"));
        assert!(p[0].contains(&"pkr".to_string()));
        assert_eq!(
            p[0].last().map(String::as_str),
            Some("press_1_confirm_2_reenter")
        );
    }

    #[test]
    fn happy_path_charges_then_succeeds() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        f.handle_input(t0, FlowInput::PlaybackDone);
        drain(&mut f);
        keys(&mut f, t0, "1");
        let a = drain(&mut f);
        assert_eq!(
            events(&a),
            vec![
                (Step::Amount, StepStatus::Completed),
                (Step::CardNumber, StepStatus::Entering)
            ]
        );
        assert_eq!(plays(&a), vec![vec!["enter_card_number".to_string()]]);
        // The first digit barges in on the prompt.
        keys(&mut f, t0, "4");
        assert!(matches!(
            drain(&mut f).as_slice(),
            [PaymentAction::StopPlayback]
        ));
        keys(&mut f, t0, "242424242424242#");
        assert_eq!(
            plays(&drain(&mut f)),
            vec![vec!["press_1_confirm_2_reenter".to_string()]]
        );
        keys(&mut f, t0, "1");
        assert_eq!(
            events(&drain(&mut f)),
            vec![
                (Step::CardNumber, StepStatus::Completed),
                (Step::Expiry, StepStatus::Entering)
            ]
        );
        // Expiry ends itself at four digits.
        keys(&mut f, t0, "1231");
        assert!(plays(&drain(&mut f))
            .iter()
            .any(|p| p[0] == "press_1_confirm_2_reenter"));
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "123");
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "54000");
        keys(&mut f, t0, "1");
        let a = drain(&mut f);
        let card = a.iter().find_map(|x| match x {
            PaymentAction::Charge(c) => Some(c),
            _ => None,
        });
        let card = card.expect("a charge");
        assert_eq!(card.pan.expose_str(), "4242424242424242");
        assert_eq!(card.last_four().as_str(), "4242");
        assert_eq!(card.cvc.expose_str(), "123");
        assert_eq!(f.poll_timeout(), Some(t0 + Duration::from_secs(45)));
        f.handle_charge_result(t0, ChargeOutcome::Approved);
        assert_eq!(
            plays(&drain(&mut f)),
            vec![vec!["payment_approved".to_string()]]
        );
        assert_eq!(f.outcome(), Some(&PaymentOutcome::Succeeded));
        f.handle_input(t0, FlowInput::PlaybackDone);
        assert_eq!(finished(&drain(&mut f)), Some(PaymentOutcome::Succeeded));
        assert!(f.is_done());
    }

    #[test]
    fn luhn_invalid_number_is_re_entered_then_succeeds() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        drain(&mut f);
        keys(&mut f, t0, "4242424242424241#");
        let a = drain(&mut f);
        let ev: Vec<_> = a
            .iter()
            .filter_map(|x| match x {
                PaymentAction::Progress(e) => Some(*e),
                _ => None,
            })
            .collect();
        assert_eq!(
            ev,
            vec![StepEvent {
                step: Step::CardNumber,
                status: StepStatus::ReEntering,
                reason: Some("card_number_check_digit"),
            }]
        );
        assert_eq!(
            plays(&a),
            vec![vec![
                "invalid_key".to_string(),
                "enter_card_number".to_string()
            ]]
        );
        keys(&mut f, t0, "4242424242424242#");
        keys(&mut f, t0, "1");
        assert_eq!(f.step(), Step::Expiry);
    }

    #[test]
    fn press_2_re_enters_the_step() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "4242424242424242#");
        drain(&mut f);
        keys(&mut f, t0, "2");
        let a = drain(&mut f);
        assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::ReEntering)]);
        assert_eq!(plays(&a), vec![vec!["enter_card_number".to_string()]]);
        // Re-entry is not an invalid entry: three more re-entries still fine.
        for _ in 0..3 {
            keys(&mut f, t0, "4242424242424242#2");
        }
        keys(&mut f, t0, "5555555555554444#1");
        assert_eq!(f.step(), Step::Expiry);
        // Amex needs a 4-digit CVC later; Mastercard 3. Check the brand kept.
        assert_eq!(
            f.pan.as_ref().map(Pan::brand),
            Some(crate::payments::Brand::Mastercard)
        );
    }

    #[test]
    fn press_2_on_the_amount_reads_it_again() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        let first = plays(&drain(&mut f));
        keys(&mut f, t0, "2");
        let a = drain(&mut f);
        assert_eq!(events(&a), vec![(Step::Amount, StepStatus::ReEntering)]);
        assert_eq!(plays(&a), first);
        keys(&mut f, t0, "1");
        assert_eq!(f.step(), Step::CardNumber);
    }

    #[test]
    fn star_mid_entry_cancels() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "424242");
        drain(&mut f);
        keys(&mut f, t0, "*");
        let a = drain(&mut f);
        assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::Failed)]);
        assert_eq!(plays(&a), vec![vec!["payment_cancelled".to_string()]]);
        assert_eq!(f.outcome(), Some(&PaymentOutcome::Cancelled));
        assert!(f.entry.is_empty() && f.entry.raw() == &[0u8; PAN_MAX]);
        f.handle_input(t0, FlowInput::PlaybackDone);
        assert_eq!(finished(&drain(&mut f)), Some(PaymentOutcome::Cancelled));
    }

    #[test]
    fn star_during_amount_prompt_stops_it_and_cancels() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        drain(&mut f);
        keys(&mut f, t0, "*");
        let a = drain(&mut f);
        assert!(matches!(a.first(), Some(PaymentAction::StopPlayback)));
        assert_eq!(f.outcome(), Some(&PaymentOutcome::Cancelled));
    }

    #[test]
    fn silence_fails_at_exactly_the_timeout() {
        let t0 = Instant::now();
        let mut p = plan();
        p.no_input_timeout = "7s".into();
        let mut f = flow_with(&p);
        f.start(t0);
        keys(&mut f, t0, "1");
        let done = t0 + Duration::from_secs(3);
        f.handle_input(done, FlowInput::PlaybackDone);
        drain(&mut f);
        let deadline = f.poll_timeout().expect("deadline");
        assert_eq!(deadline, done + Duration::from_secs(7));
        f.handle_timeout(deadline - Duration::from_millis(1));
        assert!(drain(&mut f).is_empty());
        f.handle_timeout(deadline);
        let a = drain(&mut f);
        assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::Failed)]);
        assert_eq!(
            f.outcome(),
            Some(&PaymentOutcome::Failed(FailReason::NoInput(
                Step::CardNumber
            )))
        );
    }

    #[test]
    fn default_silence_is_60_seconds_after_the_prompt() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        f.handle_input(t0 + Duration::from_secs(4), FlowInput::PlaybackDone);
        assert_eq!(f.poll_timeout(), Some(t0 + Duration::from_secs(64)));
        f.handle_timeout(t0 + Duration::from_secs(64));
        assert_eq!(
            f.outcome(),
            Some(&PaymentOutcome::Failed(FailReason::NoInput(Step::Amount)))
        );
    }

    #[test]
    fn three_invalid_entries_fail_the_step() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "1234#");
        keys(&mut f, t0, "4242424242424241#");
        assert!(f.outcome().is_none());
        drain(&mut f);
        keys(&mut f, t0, "#");
        let a = drain(&mut f);
        assert_eq!(events(&a), vec![(Step::CardNumber, StepStatus::Failed)]);
        assert_eq!(
            f.outcome(),
            Some(&PaymentOutcome::Failed(FailReason::TooManyInvalid(
                Step::CardNumber
            )))
        );
        assert_eq!(plays(&a), vec![vec!["payment_declined".to_string()]]);
    }

    #[test]
    fn expired_card_counts_as_invalid_and_max_invalid_is_configurable() {
        let t0 = Instant::now();
        let mut p = plan();
        p.max_invalid = 1;
        let mut f = flow_with(&p);
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "4242424242424242#1");
        keys(&mut f, t0, "1025");
        assert_eq!(
            f.outcome(),
            Some(&PaymentOutcome::Failed(FailReason::TooManyInvalid(
                Step::Expiry
            )))
        );
    }

    #[test]
    fn a_pause_ends_the_card_number() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        drain(&mut f);
        let mut t = t0;
        for c in "4242424242424242".chars() {
            t += Duration::from_millis(300);
            f.handle_input(t, FlowInput::Digit(c));
        }
        drain(&mut f);
        assert_eq!(f.poll_timeout(), Some(t + Duration::from_secs(5)));
        f.handle_timeout(t + Duration::from_millis(4999));
        assert!(drain(&mut f).is_empty());
        f.handle_timeout(t + Duration::from_secs(5));
        assert_eq!(
            plays(&drain(&mut f)),
            vec![vec!["press_1_confirm_2_reenter".to_string()]]
        );
        keys(&mut f, t, "1");
        assert_eq!(f.step(), Step::Expiry);
    }

    #[test]
    fn amex_cvc_takes_four_digits() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "378282246310005#1");
        keys(&mut f, t0, "1231");
        keys(&mut f, t0, "1");
        drain(&mut f);
        keys(&mut f, t0, "123");
        // Three digits do not end an Amex CVC.
        assert!(plays(&drain(&mut f)).is_empty());
        keys(&mut f, t0, "4");
        assert_eq!(
            plays(&drain(&mut f)),
            vec![vec!["press_1_confirm_2_reenter".to_string()]]
        );
    }

    #[test]
    fn declined_and_gateway_failures_play_failure_and_report() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        enter_card(&mut f, t0, "4000000000000002");
        f.handle_charge_result(
            t0,
            ChargeOutcome::Declined {
                reason: "card_declined".into(),
            },
        );
        assert_eq!(
            plays(&drain(&mut f)),
            vec![vec!["payment_declined".to_string()]]
        );
        f.handle_input(t0, FlowInput::PlaybackDone);
        assert_eq!(
            finished(&drain(&mut f)),
            Some(PaymentOutcome::Failed(FailReason::Declined(
                "card_declined".into()
            )))
        );

        // The charge never answers: the guard fails the session.
        let mut f = flow_with(&plan());
        let a = enter_card(&mut f, t0, "4242424242424242");
        assert!(a.iter().any(|x| matches!(x, PaymentAction::Charge(_))));
        // `*` is too late once the charge is sent.
        keys(&mut f, t0, "*");
        assert!(drain(&mut f).is_empty());
        let g = f.poll_timeout().expect("charge guard");
        f.handle_timeout(g);
        assert_eq!(
            f.outcome(),
            Some(&PaymentOutcome::Failed(FailReason::ChargeTimeout))
        );
    }

    #[test]
    fn hangup_mid_entry_fails_and_wipes() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "4242424242424242#1");
        keys(&mut f, t0, "12");
        drain(&mut f);
        f.handle_input(t0, FlowInput::RemoteHangup);
        assert_eq!(
            finished(&drain(&mut f)),
            Some(PaymentOutcome::Failed(FailReason::CallerHungUp))
        );
        assert!(f.pan.is_none() && f.entry.raw() == &[0u8; PAN_MAX]);
    }

    #[test]
    fn hangup_while_charging_still_reports_the_charge() {
        let t0 = Instant::now();
        let mut f = flow_with(&plan());
        enter_card(&mut f, t0, "4242424242424242");
        f.handle_input(t0, FlowInput::RemoteHangup);
        assert!(drain(&mut f).is_empty());
        f.handle_charge_result(t0, ChargeOutcome::Approved);
        let a = drain(&mut f);
        assert!(plays(&a).is_empty());
        assert_eq!(finished(&a), Some(PaymentOutcome::Succeeded));
    }

    #[test]
    fn postal_step_can_be_skipped() {
        let t0 = Instant::now();
        let mut p = plan();
        p.ask_postal_code = false;
        let mut f = flow_with(&p);
        f.start(t0);
        keys(&mut f, t0, "1");
        keys(&mut f, t0, "4242424242424242#1");
        keys(&mut f, t0, "12311");
        drain(&mut f);
        keys(&mut f, t0, "1231");
        let a = drain(&mut f);
        assert!(a
            .iter()
            .any(|x| matches!(x, PaymentAction::Charge(c) if c.postal.is_none())));
    }

    #[test]
    fn plan_validation_names_the_key() {
        let p = PaymentPlan {
            end_key: '5',
            ..plan()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("payment.end_key"));
        let p = PaymentPlan {
            reenter_key: '1',
            ..plan()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("payment.reenter_key"));
        let p = PaymentPlan {
            postal_code_min: 6,
            postal_code_max: 5,
            ..plan()
        };
        assert!(p.validate().is_err());
    }
}
