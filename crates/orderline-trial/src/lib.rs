//! A trial order's sales workflow (issue #15), as sans-IO rules.
//!
//! An order with `trial {days, product_amount, shipping_amount}` pays
//! shipping and handling at once and the product at the end of the trial.
//! [`schedule`] lays out the rows the CRM guide lists, in order: order placed
//! and the S&H charge; confirmation notification; the "7 days left" reminder; the
//! extension offer; the end-of-trial charge; the payment confirmation.
//! [`extend`] adds 15 days once (a second time is [`TrialError::AlreadyExtended`])
//! and appends the extension row.
//!
//! What runs is decided from the rows and `now` alone ([`due`]); the caller
//! runs each step once and writes back the row [`charged`] or [`notified`]
//! returns, guarded by the row's `attempts`, so a daemon that was down at
//! the due time runs a missed step once when it comes back and never twice
//! (a write that lost the race changes nothing). Nothing here reads a clock.
//!
//! Days are calendar days in the customer's IANA zone: "day 15" is the
//! placing's local date plus 15 at the same local time, whatever DST did
//! meanwhile ([`day_at`]).
//!
//! Retry policy for a failed charge ([`charged`]): a declined or failed
//! charge is tried once more 24 hours later ([`RETRY_AFTER`]) under a new
//! idempotency key; a second failure ends the row `failed` with the webhook
//! `trial.charge_failed`. An order without a card on file fails at once
//! (there is nothing to retry with).

use chrono::{DateTime, Days, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// Longest trial accepted (days).
pub const MAX_DAYS: u32 = 90;
/// What an extension adds (days), once per order.
pub const EXTENSION_DAYS: u32 = 15;
/// The reminder goes out when this many days are left (a trial this short
/// or shorter gets none).
pub const REMINDER_DAYS_LEFT: u32 = 7;
/// The extension offer goes out when this many days are left (at the
/// placing for a trial this short or shorter).
pub const OFFER_DAYS_LEFT: u32 = 3;
/// A failed charge is tried again this much later, once.
pub const RETRY_AFTER: TimeDelta = TimeDelta::hours(24);
/// Tries per charge row (the first and one retry).
pub const MAX_CHARGE_ATTEMPTS: u32 = 2;

/// Why a trial cannot be planned or extended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrialError {
    #[error("trial days must be 1 to {MAX_DAYS}, not {0}")]
    Days(u32),
    #[error("the trial was already extended once")]
    AlreadyExtended,
    #[error("the end-of-trial charge has already been attempted")]
    ChargeStarted,
    #[error("the workflow has no end-of-trial charge row")]
    NoChargeRow,
}

/// One step of the workflow; its row's `type` follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// Order placed + the shipping-and-handling charge.
    Placed,
    Confirmation,
    Reminder,
    ExtensionOffer,
    /// The end-of-trial charge of the product.
    Charge,
    PaymentConfirmation,
    /// The 15-day extension, when taken.
    Extension,
}

impl Step {
    pub const ALL: [Step; 7] = [
        Step::Placed,
        Step::Confirmation,
        Step::Reminder,
        Step::ExtensionOffer,
        Step::Charge,
        Step::PaymentConfirmation,
        Step::Extension,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Step::Placed => "placed",
            Step::Confirmation => "confirmation",
            Step::Reminder => "reminder",
            Step::ExtensionOffer => "extension_offer",
            Step::Charge => "charge",
            Step::PaymentConfirmation => "payment_confirmation",
            Step::Extension => "extension",
        }
    }

    pub fn parse(s: &str) -> Option<Step> {
        Step::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn row_type(self) -> RowType {
        match self {
            Step::Placed | Step::Charge => RowType::Charge,
            _ => RowType::Notification,
        }
    }

    /// The webhook a notification row sends (and a resend sends again).
    pub fn event(self) -> Option<&'static str> {
        match self {
            Step::Confirmation => Some("trial.confirmation"),
            Step::Reminder => Some("trial.reminder"),
            Step::ExtensionOffer => Some("trial.extension_offer"),
            Step::PaymentConfirmation => Some("trial.charged"),
            Step::Extension => Some("trial.extended"),
            Step::Placed | Step::Charge => None,
        }
    }

    /// Whether the row's amount is the product's (else shipping and handling).
    pub fn charges_product(self) -> bool {
        self == Step::Charge
    }
}

/// The event a charge row's final failure sends.
pub const CHARGE_FAILED: &str = "trial.charge_failed";

/// A row's `type` as the workflow shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowType {
    Notification,
    Charge,
    /// The automated extension call (not built yet: no step makes one).
    Call,
}

impl RowType {
    pub fn as_str(self) -> &'static str {
        match self {
            RowType::Notification => "notification",
            RowType::Charge => "charge",
            RowType::Call => "call",
        }
    }
}

/// A row's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Waiting,
    Completed,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Waiting => "waiting",
            Status::Completed => "completed",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        [Status::Waiting, Status::Completed, Status::Failed]
            .into_iter()
            .find(|x| x.as_str() == s)
    }
}

/// One workflow row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Position in the workflow, from 1; the extension row comes last.
    pub seq: u32,
    pub step: Step,
    pub description: String,
    pub status: Status,
    pub scheduled_at: DateTime<Utc>,
    pub executed_at: Option<DateTime<Utc>>,
    /// Charge tries made so far (a notification's is 0 until sent, then 1).
    pub attempts: u32,
    pub result: Option<String>,
}

/// What a trial is planned from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    pub days: u32,
    pub placed_at: DateTime<Utc>,
    /// The customer's zone (the order's `timezone`, else the calling one).
    pub zone: Tz,
}

/// `day` calendar days after the placing, at the placing's local time of
/// day in `zone`. A local time DST skips moves forward to the first quarter
/// hour that exists (02:30 on a spring-forward night is 03:00); one that
/// happens twice is the earlier.
pub fn day_at(placed_at: DateTime<Utc>, zone: Tz, day: u32) -> DateTime<Utc> {
    let local: NaiveDateTime = placed_at.with_timezone(&zone).naive_local();
    let Some(mut target) = local.checked_add_days(Days::new(u64::from(day))) else {
        return placed_at;
    };
    // Gaps are whole quarter hours in every zone; a day of steps is plenty.
    for _ in 0..96 {
        match zone.from_local_datetime(&target) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(early, _) => return early.with_timezone(&Utc),
            LocalResult::None => {
                let next = target + TimeDelta::minutes(15);
                target = next
                    .with_minute(next.minute() - next.minute() % 15)
                    .and_then(|t| t.with_second(0))
                    .and_then(|t| t.with_nanosecond(0))
                    .unwrap_or(next);
            }
        }
    }
    placed_at + TimeDelta::days(i64::from(day))
}

fn row(seq: u32, step: Step, description: String, at: DateTime<Utc>) -> Row {
    Row {
        seq,
        step,
        description,
        status: Status::Waiting,
        scheduled_at: at,
        executed_at: None,
        attempts: 0,
        result: None,
    }
}

fn reminder_text(days_left: u32) -> String {
    format!("Reminder: {days_left} days left in the trial")
}

fn charge_text(day: u32) -> String {
    format!("End-of-trial charge of the product (day {day})")
}

/// The rows of a new trial, in the guide's order.
pub fn schedule(plan: &Plan) -> Result<Vec<Row>, TrialError> {
    if !(1..=MAX_DAYS).contains(&plan.days) {
        return Err(TrialError::Days(plan.days));
    }
    let (days, at) = (plan.days, plan.placed_at);
    let on = |day| day_at(at, plan.zone, day);
    let mut rows = vec![
        row(
            1,
            Step::Placed,
            "Order placed; shipping and handling charged".into(),
            at,
        ),
        row(
            2,
            Step::Confirmation,
            "Confirmation notification".into(),
            at,
        ),
    ];
    if days > REMINDER_DAYS_LEFT {
        let day = days - REMINDER_DAYS_LEFT;
        rows.push(row(
            3,
            Step::Reminder,
            reminder_text(REMINDER_DAYS_LEFT),
            on(day),
        ));
    }
    let offer_day = days.saturating_sub(OFFER_DAYS_LEFT);
    let next = rows.len() as u32 + 1;
    rows.push(row(
        next,
        Step::ExtensionOffer,
        format!("Extension offer: {EXTENSION_DAYS} more days"),
        on(offer_day),
    ));
    rows.push(row(next + 1, Step::Charge, charge_text(days), on(days)));
    rows.push(row(
        next + 2,
        Step::PaymentConfirmation,
        "Payment confirmation notification".into(),
        on(days),
    ));
    Ok(rows)
}

/// The rows [`extend`] changes or adds (write each back by `seq`; the new
/// extension row is the last).
pub fn extend(plan: &Plan, rows: &[Row], now: DateTime<Utc>) -> Result<Vec<Row>, TrialError> {
    if rows.iter().any(|r| r.step == Step::Extension) {
        return Err(TrialError::AlreadyExtended);
    }
    let charge = rows
        .iter()
        .find(|r| r.step == Step::Charge)
        .ok_or(TrialError::NoChargeRow)?;
    if charge.status != Status::Waiting || charge.attempts > 0 {
        return Err(TrialError::ChargeStarted);
    }
    let days = plan.days + EXTENSION_DAYS;
    let on = |day| day_at(plan.placed_at, plan.zone, day);
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.status == Status::Waiting) {
        let mut r = r.clone();
        match r.step {
            Step::Reminder => r.scheduled_at = on(days - REMINDER_DAYS_LEFT),
            Step::Charge => {
                r.scheduled_at = on(days);
                r.description = charge_text(days);
            }
            Step::PaymentConfirmation => r.scheduled_at = on(days),
            Step::ExtensionOffer => {
                r.status = Status::Completed;
                r.executed_at = Some(now);
                r.result = Some("not sent: the trial was extended first".into());
            }
            _ => continue,
        }
        out.push(r);
    }
    let seq = rows.iter().map(|r| r.seq).max().unwrap_or(0) + 1;
    let mut ext = row(
        seq,
        Step::Extension,
        format!("Trial extended by {EXTENSION_DAYS} days"),
        now,
    );
    ext.status = Status::Completed;
    ext.executed_at = Some(now);
    ext.attempts = 1;
    ext.result = Some(format!(
        "end-of-trial charge moved to day {days} ({})",
        on(days).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    out.push(ext);
    Ok(out)
}

/// A step to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Work {
    /// Charge the card on file; `attempt` (from 1) picks the idempotency
    /// key, so a run repeated after a crash is the same charge.
    Charge { seq: u32, step: Step, attempt: u32 },
    /// Send the row's webhook.
    Notify { seq: u32, event: &'static str },
    /// Close the row without running it (the row to write back).
    Close(Row),
}

/// The steps due at `now`, oldest row first: waiting rows whose time has
/// come; the payment confirmation only once the end-of-trial charge has
/// ended (sent when it succeeded, closed `failed` when it did not).
pub fn due(rows: &[Row], now: DateTime<Utc>) -> Vec<Work> {
    let charge = rows.iter().find(|r| r.step == Step::Charge);
    let mut out = Vec::new();
    for r in rows {
        if r.status != Status::Waiting || r.scheduled_at > now {
            continue;
        }
        match r.step {
            Step::Placed | Step::Charge => out.push(Work::Charge {
                seq: r.seq,
                step: r.step,
                attempt: r.attempts + 1,
            }),
            Step::PaymentConfirmation => match charge.map(|c| c.status) {
                Some(Status::Completed) => out.push(Work::Notify {
                    seq: r.seq,
                    event: "trial.charged",
                }),
                Some(Status::Failed) => {
                    let mut closed = r.clone();
                    closed.status = Status::Failed;
                    closed.executed_at = Some(now);
                    closed.result = Some("not sent: the end-of-trial charge failed".into());
                    out.push(Work::Close(closed));
                }
                // Still waiting (a retry is due later): not yet.
                _ => {}
            },
            step => {
                if let Some(event) = step.event() {
                    out.push(Work::Notify { seq: r.seq, event });
                }
            }
        }
    }
    out
}

/// How one charge try ended at the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Approved {
        transaction_id: Option<String>,
    },
    Declined {
        reason: String,
    },
    /// The gateway failed (timeout, unreachable, …): retried like a decline.
    Failed {
        reason: String,
    },
    /// The order has no card on file: nothing to retry with.
    NoCard,
}

/// A charge row after try `attempt` ended with `outcome` at `now`, and the
/// webhook it sends (`trial.charge_failed` on the final failure).
pub fn charged(
    row: &Row,
    attempt: u32,
    outcome: &ChargeOutcome,
    now: DateTime<Utc>,
) -> (Row, Option<&'static str>) {
    let mut r = row.clone();
    r.attempts = attempt;
    let why = match outcome {
        ChargeOutcome::Approved { transaction_id } => {
            r.status = Status::Completed;
            r.executed_at = Some(now);
            r.result = Some(match transaction_id {
                Some(t) => format!("approved: {t}"),
                None => "approved".into(),
            });
            return (r, None);
        }
        ChargeOutcome::Declined { reason } => format!("declined ({reason})"),
        ChargeOutcome::Failed { reason } => format!("gateway error ({reason})"),
        ChargeOutcome::NoCard => {
            r.status = Status::Failed;
            r.executed_at = Some(now);
            r.result = Some("failed: no card on file".into());
            return (r, Some(CHARGE_FAILED));
        }
    };
    if attempt < MAX_CHARGE_ATTEMPTS {
        r.scheduled_at = now + RETRY_AFTER;
        r.result = Some(format!(
            "try {attempt} {why}; retry at {}",
            r.scheduled_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        (r, None)
    } else {
        r.status = Status::Failed;
        r.executed_at = Some(now);
        r.result = Some(format!("failed after {attempt} tries: {why}"));
        (r, Some(CHARGE_FAILED))
    }
}

/// A notification row once its webhook is queued (`event_id`).
pub fn notified(row: &Row, event_id: &str, now: DateTime<Utc>) -> Row {
    let mut r = row.clone();
    r.status = Status::Completed;
    r.executed_at = Some(now);
    r.attempts = row.attempts + 1;
    r.result = Some(format!("sent, event {event_id}"));
    r
}

/// Whether a row may be resent (`POST …/workflow/{row}/resend`): a
/// notification that was sent.
pub fn resendable(row: &Row) -> Result<&'static str, &'static str> {
    match row.step.event() {
        None => Err("only notification rows can be resent"),
        Some(_) if row.status != Status::Completed || row.executed_at.is_none() => {
            Err("the notification has not been sent yet")
        }
        Some(_)
            if row
                .result
                .as_deref()
                .is_some_and(|r| r.starts_with("not sent")) =>
        {
            Err("the notification was never sent")
        }
        Some(e) => Ok(e),
    }
}
