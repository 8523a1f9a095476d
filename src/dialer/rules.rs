//! Which orders get a confirmation call, which are flagged for a human, and
//! which are confirmed without one.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{Amount, CallWindow, CustomerKind};
use serde::Deserialize;

/// What the rules do with an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum RuleAction {
    /// Place a confirmation call.
    #[default]
    Call,
    /// Confirm without a call.
    Confirm,
    /// Hold for a human decision without a call.
    Flag,
}

/// One `[[campaign.rules]]` entry: customer kinds and a cart value range
/// `[min_amount, max_amount)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub kinds: Vec<CustomerKind>,
    pub min_amount: Amount,
    pub max_amount: Option<Amount>,
    pub action: RuleAction,
}

impl Rule {
    fn matches(&self, order: &OrderFacts) -> bool {
        self.kinds.contains(&order.kind)
            && order.amount >= self.min_amount
            && self.max_amount.is_none_or(|max| order.amount < max)
    }
}

/// The ordered rule list plus per-kind flag thresholds and the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRules {
    rules: Vec<Rule>,
    flag_above: Vec<(CustomerKind, Amount)>,
    unmatched: RuleAction,
}

impl OrderRules {
    /// Rules that call every order (what an absent `[[campaign.rules]]` means).
    pub fn call_everything() -> OrderRules {
        OrderRules {
            rules: vec![Rule {
                kinds: CustomerKind::ALL.to_vec(),
                min_amount: Amount::ZERO,
                max_amount: None,
                action: RuleAction::Call,
            }],
            flag_above: Vec::new(),
            unmatched: RuleAction::Confirm,
        }
    }

    pub fn new(
        rules: Vec<Rule>,
        flag_above: Vec<(CustomerKind, Amount)>,
        unmatched: RuleAction,
    ) -> OrderRules {
        OrderRules {
            rules,
            flag_above,
            unmatched,
        }
    }

    /// The same rules with per-kind flag thresholds.
    pub fn flagging_above(self, flag_above: Vec<(CustomerKind, Amount)>) -> OrderRules {
        OrderRules { flag_above, ..self }
    }

    /// The action for an order, ignoring timing.
    ///
    /// Flag thresholds come first: an order above its kind's threshold is
    /// flagged even when a rule would call it, because a robot's "press 1"
    /// is not enough assurance for a risky cart. Then the first matching
    /// rule wins; no match takes `unmatched`.
    pub fn action_for(&self, order: &OrderFacts) -> RuleAction {
        let over = self
            .flag_above
            .iter()
            .any(|(k, limit)| *k == order.kind && order.amount > *limit);
        if over {
            return RuleAction::Flag;
        }
        self.rules
            .iter()
            .find(|r| r.matches(order))
            .map_or(self.unmatched, |r| r.action)
    }

    /// Turn an action into a decision at `now`, calling inside `window`.
    pub fn plan(&self, window: &CallWindow, order: &OrderFacts, now: DateTime<Utc>) -> Decision {
        match self.action_for(order) {
            RuleAction::Call => {
                let window = order.timezone.map_or(*window, |tz| window.in_zone(tz));
                Decision::CallAt(window.next_opening(now))
            }
            RuleAction::Confirm => Decision::ConfirmWithoutCall,
            RuleAction::Flag => Decision::Flag,
        }
    }
}

/// What the rules look at in an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderFacts {
    pub amount: Amount,
    pub kind: CustomerKind,
    /// The buyer's zone when the merchant sent one; else the campaign's.
    pub timezone: Option<Tz>,
}

/// What to do with a new order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Schedule the first call at this instant (inside the window).
    CallAt(DateTime<Utc>),
    /// Hold for a human decision; no call.
    Flag,
    /// Confirm straight away; no call.
    ConfirmWithoutCall,
}
