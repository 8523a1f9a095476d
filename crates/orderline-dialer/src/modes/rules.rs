//! The checked call-mode rules: what [`super::config::DialerConfig::validate`]
//! produces and what the queue runs on.

use std::collections::{BTreeSet, HashMap};

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::window::CallWindow;

/// The robo-call's own statuses (DESIGN.md contract); always known, and each
/// may carry a tick (e.g. `flagged` orders go to a human).
pub const BUILTIN_STATUSES: [&str; 5] = ["pending", "calling", "confirmed", "cancelled", "flagged"];

/// The statuses a merchant sets after the sale (issue #15): always known,
/// like a configured `[[dialer.statuses]]` entry (they live in the order's
/// configured status, not the robo-call's own), and what makes an order
/// eligible for an upsell.
pub const FULFILMENT_STATUSES: [&str; 4] = ["paid", "shipping", "shipped", "delivered"];

/// Every mode's disposition buttons include these four: the two outcomes the
/// robo-call also knows, and the two the dialer handles itself (`callback`
/// plans a call at a time, `no_answer` is an unanswered attempt).
pub const BASE_DISPOSITIONS: [&str; 4] = ["confirmed", "cancelled", "callback", "no_answer"];

/// An upsell mode's disposition buttons (issue #15). A paid order is past
/// `confirmed`/`cancelled`: `upsold` (the customer bought) and `declined`
/// end the upsell call and leave the main order's status as it is;
/// `callback` and `no_answer` are the dialer's own, as in every mode.
pub const UPSELL_DISPOSITIONS: [&str; 4] = ["upsold", "declined", "callback", "no_answer"];

/// Why orders are in a mode (issue #11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModeKind {
    /// Orders not yet confirmed or cancelled.
    NewLeads,
    /// Confirmed orders to be checked once more.
    Reconfirmation,
    /// Shipped orders whose customer must be guided to collect the parcel.
    BeforeBuyout,
    /// A share of orders, for quality checks ([`super::share`]).
    Random,
    /// Paid or shipped orders with an offer, called to sell more (issue #15,
    /// [`super::upsell`]): only [`FULFILMENT_STATUSES`] tick into it, only
    /// orders with an offer enter it, its buttons are
    /// [`UPSELL_DISPOSITIONS`], and nothing it does changes the order's
    /// status — an outcome or the attempt cap takes the order out of
    /// dial-up, for good.
    Upsell,
}

/// How calls are placed for the mode's agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pacing {
    /// The agent sees the order and presses Call.
    Preview,
    /// Dial as soon as the agent is ready.
    #[default]
    Progressive,
    /// Several lines per agent, paced by the mode's pacer (issue #12):
    /// picked per line ([`DialQueue::pick_line`](super::DialQueue::pick_line)),
    /// never per agent.
    Predictive,
}

/// What answering-machine detection does on a mode's lines (issue #12).
/// Only predictive lines are classified: a progressive or preview call has
/// its agent on the line already, who hears the machine themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AmdPolicy {
    /// Every answer is a live human.
    #[default]
    Off,
    /// A machine is hung up on at once; it never reaches an agent.
    Hangup,
    /// A machine gets the mode's safe-harbor message (seller and callback
    /// number) after its beep, then is hung up; it never reaches an agent.
    Message,
}

/// Index of a mode in [`CallModes::modes`]; stable for one set of rules.
pub type ModeIdx = usize;

/// One checked mode.
#[derive(Debug, Clone, PartialEq)]
pub struct Mode {
    pub id: String,
    pub kind: ModeKind,
    pub project: String,
    pub pacing: Pacing,
    pub priority: i32,
    pub high_priority_new: bool,
    /// Expected length of a call; the console's timer colour (not in the pick order).
    pub standard_time: TimeDelta,
    pub put_off: TimeDelta,
    pub max_attempts: u32,
    /// Where the cap sends an order; `None` for an upsell mode, whose cap
    /// takes the order out of dial-up with its status kept.
    pub status_after_max: Option<String>,
    pub random_share: Option<f64>,
    pub dispositions: Vec<String>,
    pub agents: BTreeSet<String>,
    /// Daily hours; applied in the order's own zone, this zone when it has none.
    pub window: CallWindow,
    /// The pacer's 30-day abandon cap, percent of live answers, (0, 3].
    pub abandon_cap_pct: f64,
    /// Ring time before a no-answer give-up (≥ 15 s); `None`: the campaign's.
    pub ring_timeout: Option<TimeDelta>,
    /// The safe-harbor message (always set for predictive pacing).
    pub safe_harbor: Option<crate::harbor::SafeHarborConfig>,
    /// Answering-machine detection on the mode's lines (predictive only).
    pub amd: AmdPolicy,
}

impl Mode {
    /// "This project's new leads before other projects'": a new-leads mode with
    /// `high_priority_new` (see [`CallModes::dial_priority`]).
    pub fn project_boost(&self) -> bool {
        self.high_priority_new && self.kind == ModeKind::NewLeads
    }

    /// Whether this is an upsell mode (issue #15), whose outcomes never
    /// set the order's status.
    pub fn is_upsell(&self) -> bool {
        self.kind == ModeKind::Upsell
    }
}

/// The whole checked `[dialer]` table.
#[derive(Debug, Clone, PartialEq)]
pub struct CallModes {
    modes: Vec<Mode>,
    /// (status, project) → the mode its tick puts orders into.
    ticks: HashMap<(String, String), ModeIdx>,
    statuses: BTreeSet<String>,
    disposition_status: HashMap<String, String>,
    /// Each mode's priority in dial order ([`CallModes::dial_priority`]).
    dial_priority: Vec<i32>,
}

impl CallModes {
    pub(crate) fn new(
        modes: Vec<Mode>,
        ticks: HashMap<(String, String), ModeIdx>,
        statuses: BTreeSet<String>,
        disposition_status: HashMap<String, String>,
    ) -> Self {
        // Issue #11: "high priority for this project's new leads over other
        // projects'" — not a mere tie-break. A boosted new-leads mode is
        // dialled at least at the priority of every other project's
        // new-leads mode (and wins the tie), so its project's new leads come
        // first among new leads whatever the numbers; against other kinds
        // of mode the (lifted) priority still decides.
        let dial_priority = modes
            .iter()
            .map(|m| {
                let others = modes
                    .iter()
                    .filter(|o| o.kind == ModeKind::NewLeads && o.project != m.project)
                    .map(|o| o.priority);
                match m.project_boost() {
                    true => others.fold(m.priority, i32::max),
                    false => m.priority,
                }
            })
            .collect();
        Self {
            modes,
            ticks,
            statuses,
            disposition_status,
            dial_priority,
        }
    }

    /// The priority a mode is dialled at: its `priority`, lifted for a
    /// new-leads mode with `high_priority_new` to the highest priority of
    /// any other project's new-leads mode (which it then beats on the tie).
    pub fn dial_priority(&self, idx: ModeIdx) -> i32 {
        self.dial_priority[idx]
    }

    pub fn modes(&self) -> &[Mode] {
        &self.modes
    }

    pub fn mode(&self, idx: ModeIdx) -> &Mode {
        &self.modes[idx]
    }

    pub fn mode_index(&self, id: &str) -> Option<ModeIdx> {
        self.modes.iter().position(|m| m.id == id)
    }

    /// Whether `status` is built-in or configured.
    pub fn is_status(&self, status: &str) -> bool {
        self.statuses.contains(status)
    }

    /// The mode an order of `project` enters with `status`, if that status is ticked for it.
    pub fn tick(&self, status: &str, project: &str) -> Option<ModeIdx> {
        self.ticks
            .get(&(status.to_string(), project.to_string()))
            .copied()
    }

    /// Every known status, built-in and configured, sorted.
    pub fn statuses(&self) -> impl Iterator<Item = &str> {
        self.statuses.iter().map(String::as_str)
    }

    /// Every tick as (status, project, mode id), sorted: the admin page's
    /// "add to dial-up automatically" column.
    pub fn ticks(&self) -> Vec<(&str, &str, &str)> {
        let mut v: Vec<_> = self
            .ticks
            .iter()
            .map(|((s, p), &m)| (s.as_str(), p.as_str(), self.modes[m].id.as_str()))
            .collect();
        v.sort();
        v
    }

    /// The status a disposition moves the order to (`None` for `callback`,
    /// `no_answer` and unknown dispositions).
    pub fn disposition_status(&self, disposition: &str) -> Option<&str> {
        self.disposition_status.get(disposition).map(String::as_str)
    }

    /// Replace the agents of a mode (`PUT /v1/dialer/modes/{id}/agents`).
    pub fn set_agents(&mut self, idx: ModeIdx, agents: BTreeSet<String>) {
        self.modes[idx].agents = agents;
    }
}
