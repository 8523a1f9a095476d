//! Confirmation-campaign rules as plain, sans-IO logic.
//!
//! Which orders get a call ([`OrderRules`]), when a call may ring
//! ([`CallWindow`]), and what follows an attempt ([`RetryPolicy`]) are pure
//! functions of the order, the config and a `now` the caller passes in. This
//! module never reads a clock, opens a socket or touches the database (a test
//! greps for that), so days of scheduling run in a test in microseconds and
//! the daemon's async tasks only carry decisions out.

pub mod callback;
mod order;
mod pacing;
mod retry;
mod rules;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

pub use order::{Amount, AmountError, CustomerKind, OrderStatus, AMOUNT_SCALE};
pub use orderline_dialer::window::{parse_timezone, CallWindow, WindowError};
pub use pacing::{CallPacer, Wait};
pub use retry::{AttemptState, Fallback, Next, RetryPolicy, MAX_REATTEMPTS};
pub use rules::{Decision, OrderFacts, OrderRules, Rule, RuleAction};

use crate::ivr::Outcome;

/// A campaign rule that cannot be built, naming the config key at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error("{requested} re-attempts exceeds the hard cap of {cap}", cap = MAX_REATTEMPTS)]
    TooManyReattempts { requested: u32 },
    #[error("the re-attempt interval must be at least one minute")]
    Interval,
    #[error("{reason}")]
    Rule { key: String, reason: String },
}

impl RuleError {
    /// The config key this error is about (for `ConfigError::Invalid`).
    pub fn key(&self) -> String {
        match self {
            RuleError::Window(WindowError::TimeZone(_)) => "calling.timezone".into(),
            RuleError::Window(_) => "calling.window".into(),
            RuleError::TooManyReattempts { .. } => "calling.max_reattempts".into(),
            RuleError::Interval => "calling.reattempt_interval".into(),
            RuleError::Rule { key, .. } => key.clone(),
        }
    }
}

/// Everything the confirmation campaign decides, built once from config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    window: CallWindow,
    retry: RetryPolicy,
    rules: OrderRules,
}

impl Campaign {
    pub fn new(window: CallWindow, retry: RetryPolicy, rules: OrderRules) -> Campaign {
        Campaign {
            window,
            retry,
            rules,
        }
    }

    pub fn window(&self) -> &CallWindow {
        &self.window
    }

    pub fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    pub fn rules(&self) -> &OrderRules {
        &self.rules
    }

    /// What to do with a new order received at `now`.
    pub fn plan_order(&self, order: &OrderFacts, now: DateTime<Utc>) -> Decision {
        self.rules.plan(&self.window, order, now)
    }

    /// What follows an attempt that ended with `outcome` at `now`.
    pub fn after_attempt(
        &self,
        attempt: &AttemptState,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Next {
        self.retry
            .after_attempt(&self.window, attempt, outcome, now)
    }

    /// `None` when a call may start at `now`; else the next opening to move a
    /// claimed attempt to. A due attempt can be late (the daemon was down, or
    /// all channels were busy until the window closed); it must not ring at
    /// night because of that.
    pub fn defer_until(&self, timezone: Option<Tz>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let opening = self.window_for(timezone).next_opening(now);
        (opening != now).then_some(opening)
    }

    /// The window in the order's zone, or the campaign's when it has none.
    pub fn window_for(&self, timezone: Option<Tz>) -> CallWindow {
        timezone.map_or(self.window, |tz| self.window.in_zone(tz))
    }
}
