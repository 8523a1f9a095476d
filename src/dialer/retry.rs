//! What happens after a call attempt: done, try again later, or give up and
//! apply the merchant's fallback.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{CallWindow, OrderStatus, RuleError};
use crate::ivr::Outcome;
use serde::Deserialize;

/// Hard cap on re-attempts (the product rule, not a default).
pub const MAX_REATTEMPTS: u32 = 4;

/// What happens to an order whose attempts are all used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    Confirm,
    Cancel,
    #[default]
    Flag,
}

/// Re-attempt rules: how many, how far apart, and what to do when they run out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_reattempts: u32,
    interval: TimeDelta,
    fallback: Fallback,
}

impl RetryPolicy {
    /// `max_reattempts` above [`MAX_REATTEMPTS`] is an error, not a clamp: a
    /// config asking for more calls than the product allows is a mistake the
    /// operator must see.
    pub fn new(
        max_reattempts: u32,
        interval: Duration,
        fallback: Fallback,
    ) -> Result<RetryPolicy, RuleError> {
        if max_reattempts > MAX_REATTEMPTS {
            return Err(RuleError::TooManyReattempts {
                requested: max_reattempts,
            });
        }
        let interval = TimeDelta::from_std(interval)
            .ok()
            .filter(|d| *d >= TimeDelta::minutes(1))
            .ok_or(RuleError::Interval)?;
        Ok(RetryPolicy {
            max_reattempts,
            interval,
            fallback,
        })
    }

    pub fn max_reattempts(&self) -> u32 {
        self.max_reattempts
    }

    pub fn interval(&self) -> TimeDelta {
        self.interval
    }

    pub fn fallback(&self) -> Fallback {
        self.fallback
    }

    /// The status the fallback gives an order.
    pub fn fallback_status(&self) -> OrderStatus {
        match self.fallback {
            Fallback::Confirm => OrderStatus::Confirmed,
            Fallback::Cancel => OrderStatus::Cancelled,
            Fallback::Flag => OrderStatus::Flagged,
        }
    }

    /// Decide what follows attempt `attempt.attempt_no` ending with `outcome`
    /// at `now`, placing any retry inside `window`.
    ///
    /// Retries are spaced from when the previous call *started*, so five calls
    /// are `interval` apart however long each one rang; never earlier than
    /// `now`, never outside the window.
    pub fn after_attempt(
        &self,
        window: &CallWindow,
        attempt: &AttemptState,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Next {
        match classify(outcome) {
            Verdict::Final(status) => Next::Done(status),
            Verdict::GiveUp => Next::Fallback(self.fallback_status()),
            Verdict::Retry => {
                // attempt_no counts the first call too: after call n, n - 1
                // re-attempts have been used.
                let used = attempt.attempt_no.saturating_sub(1);
                if used >= self.max_reattempts {
                    return Next::Fallback(self.fallback_status());
                }
                let earliest = (attempt.started_at + self.interval).max(now);
                let window = attempt.timezone.map_or(*window, |tz| window.in_zone(tz));
                Next::RetryAt(window.next_opening(earliest))
            }
        }
    }
}

/// What the rules need to know about the attempt that just ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptState {
    /// 1 for the first call, 2 for the first re-attempt, …
    pub attempt_no: u32,
    /// When this attempt's call started (or was claimed for calling).
    pub started_at: DateTime<Utc>,
    /// The buyer's zone when the order carries one; else the campaign's.
    pub timezone: Option<chrono_tz::Tz>,
}

/// What to do after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The buyer answered the question: the order takes this status.
    Done(OrderStatus),
    /// Call again at this instant (already inside the calling window).
    RetryAt(DateTime<Utc>),
    /// No more calls: the merchant's no-answer fallback gives this status.
    Fallback(OrderStatus),
}

enum Verdict {
    Final(OrderStatus),
    Retry,
    GiveUp,
}

/// The outcome mapping, in one place.
///
/// `no_input` and `hangup` (answered but no key) count as no answer: the
/// buyer did not tell us anything, so asking again later is fair.
/// `rejected` (403/603/607/608: the callee declined or the network refuses
/// the number) goes straight to the fallback: repeating a call that was
/// explicitly refused only annoys the buyer or burns trunk capacity, and an
/// ordinary "busy" press is reported as `busy` (486), which is retried.
fn classify(outcome: Outcome) -> Verdict {
    match outcome {
        Outcome::Confirmed => Verdict::Final(OrderStatus::Confirmed),
        Outcome::Cancelled => Verdict::Final(OrderStatus::Cancelled),
        // The buyer asked for a person (issue #13): no more robo-calls; a
        // human decides, through the operators' callback queue.
        Outcome::Operator => Verdict::Final(OrderStatus::Flagged),
        Outcome::NoAnswer
        | Outcome::Busy
        | Outcome::Failed
        | Outcome::NoInput
        | Outcome::Hangup => Verdict::Retry,
        Outcome::Rejected => Verdict::GiveUp,
    }
}
