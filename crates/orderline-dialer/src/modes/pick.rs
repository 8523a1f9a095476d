//! The next order for a ready agent.
//!
//! Order of preference (issue #11, as call centres run it, cf. VICIdial's
//! callbacks-first hopper):
//!
//! 1. due callbacks booked for this agent — the customer was promised them;
//! 2. due callbacks for anyone, earliest first;
//! 3. then mode by mode, by `priority` (higher first) — a new-leads mode
//!    with `high_priority_new` is lifted to the priority of every other
//!    project's new-leads mode and wins that tie (this project's new leads
//!    before other projects', `CallModes::dial_priority`) — then config order; inside a mode `unprocessed` oldest
//!    order first, then `no_answer` whose put-off has elapsed, longest-waiting
//!    first.
//!
//! Only modes the agent may work, only orders inside the customer's calling
//! window at `now`, never an order in flight (taken orders leave every index)
//! and never one at its attempt cap (the cap moves it out when reached); an
//! order the agent skipped in preview is passed over for that agent until its
//! mode's put-off has elapsed (`skip.rs`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::queue::{DialQueue, Key, QueueError, Subqueue};
use super::rules::{CallModes, Mode, ModeIdx, Pacing};

/// Why an order was picked, or why it waits (the queue view's `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A due callback booked for this agent.
    CallbackForAgent,
    /// A due callback anyone in the mode may take.
    CallbackForAnyone,
    /// New in the mode.
    Unprocessed,
    /// Not reached before; its put-off has elapsed.
    NoAnswerDue,
    /// Waits: its put-off has not elapsed.
    PutOff,
    /// Waits: the callback's time has not come.
    CallbackLater,
    /// Waits: the customer's calling window is closed.
    OutsideWindow,
}

/// An order handed to an agent. It is now in flight until
/// [`DialQueue::finish`] or [`DialQueue::release_in_flight`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pick {
    pub order_id: String,
    pub mode: String,
    pub subqueue: Subqueue,
    /// This call's number in the mode (1 for the first).
    pub attempt: u32,
    pub reason: Reason,
}

impl DialQueue {
    /// The modes `agent` may work, in dial order.
    pub fn modes_for(&self, agent: &str) -> Vec<ModeIdx> {
        let mut v: Vec<ModeIdx> = (0..self.rules.modes().len())
            .filter(|&i| self.rules.mode(i).agents.contains(agent))
            .collect();
        v.sort_by_key(|&i| mode_rank(&self.rules, i));
        v
    }

    /// The next order for `agent` at `now`, marked in flight; `None` when
    /// nothing the agent may work is due and inside its window.
    pub fn pick(&mut self, agent: &str, now: DateTime<Utc>) -> Option<Pick> {
        self.expire_skips(agent, now);
        let (order, reason) = self.choose(agent, now)?;
        let (mode, subqueue, attempts) = self
            .take(&order, agent)
            .map(|e| (e.mode, e.sub, e.attempts))?;
        Some(Pick {
            order_id: order,
            mode: self.rules.mode(mode).id.clone(),
            subqueue,
            attempt: attempts + 1,
            reason,
        })
    }

    fn choose(&self, agent: &str, now: DateTime<Utc>) -> Option<(String, Reason)> {
        // Predictive modes dial lines for the mode, not for one agent
        // ([`DialQueue::pick_line`]); an agent gets their orders when a
        // line is answered.
        let modes: Vec<ModeIdx> = self
            .modes_for(agent)
            .into_iter()
            .filter(|&m| self.rules.mode(m).pacing != Pacing::Predictive)
            .collect();
        let fresh = |id: &str| !self.skipped_by(agent, id);
        if let Some(set) = self.callbacks_for.get(agent) {
            if let Some(id) = self.first_due_callback(set, now, &fresh, |m| modes.contains(&m)) {
                return Some((id, Reason::CallbackForAgent));
            }
        }
        self.choose_in(&modes, now, &fresh)
    }

    /// The next order of `mode` for a predictive line (issue #12), marked in
    /// flight for `holder` (the line, until an agent takes the customer:
    /// [`DialQueue::hand_over`]). Callbacks booked for one agent are left to
    /// that agent; `None` when nothing of the mode is due inside its window.
    pub fn pick_line(
        &mut self,
        mode: &str,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Pick>, QueueError> {
        let idx = self
            .rules
            .mode_index(mode)
            .ok_or_else(|| QueueError::UnknownMode(mode.to_string()))?;
        // A line has no agent to have skipped anything.
        let Some((order, reason)) = self.choose_in(&[idx], now, &|_: &str| true) else {
            return Ok(None);
        };
        Ok(self
            .take(&order, holder)
            .map(|e| (e.mode, e.sub, e.attempts))
            .map(|(m, subqueue, attempts)| Pick {
                order_id: order,
                mode: self.rules.mode(m).id.clone(),
                subqueue,
                attempt: attempts + 1,
                reason,
            }))
    }

    /// Callbacks for anyone, then unprocessed, then no-answer orders due,
    /// over `modes` in dial order; only orders `fresh` says may be offered.
    fn choose_in(
        &self,
        modes: &[ModeIdx],
        now: DateTime<Utc>,
        fresh: &impl Fn(&str) -> bool,
    ) -> Option<(String, Reason)> {
        let anyone = modes
            .iter()
            .filter_map(|&m| {
                let set = &self.index[m].callback_anyone;
                let id = self.first_due_callback(set, now, fresh, |_| true)?;
                Some((self.entries[&id].due_at, id))
            })
            .min();
        if let Some((_, id)) = anyone {
            return Some((id, Reason::CallbackForAnyone));
        }
        for &m in modes {
            let mode = self.rules.mode(m);
            if let Some((_, id)) = open_heads(mode, &self.index[m].unprocessed, now, fresh).min() {
                return Some((id.clone(), Reason::Unprocessed));
            }
            if let Some((_, id)) = open_heads(mode, &self.index[m].no_answer, now, fresh)
                .filter(|(due, _)| *due <= now)
                .min()
            {
                return Some((id.clone(), Reason::NoAnswerDue));
            }
        }
        None
    }

    /// The earliest callback in `set` that is due, `fresh` (not skipped by
    /// the agent), in a mode `allowed`, inside its window.
    fn first_due_callback(
        &self,
        set: &BTreeSet<Key>,
        now: DateTime<Utc>,
        fresh: &impl Fn(&str) -> bool,
        allowed: impl Fn(ModeIdx) -> bool,
    ) -> Option<String> {
        set.iter()
            .take_while(|(due, _)| *due <= now)
            .filter(|(_, id)| fresh(id))
            .find_map(|(_, id)| {
                let e = self.entries.get(id)?;
                let window = self.rules.mode(e.mode).window.in_zone(self.zone_of(e));
                (allowed(e.mode) && window.contains(now)).then(|| id.clone())
            })
    }
}

/// Sort key of a mode in dial order: dial priority (the boost lifted in),
/// project boost, config order.
pub(super) fn mode_rank(rules: &CallModes, idx: ModeIdx) -> (Reverse<i32>, Reverse<bool>, ModeIdx) {
    let mode = rules.mode(idx);
    (
        Reverse(rules.dial_priority(idx)),
        Reverse(mode.project_boost()),
        idx,
    )
}

/// The first `fresh` key of each zone's set whose calling window is open at
/// `now` (without skips that is the set's head: one look per zone).
fn open_heads<'a>(
    mode: &'a Mode,
    sets: &'a HashMap<Tz, BTreeSet<Key>>,
    now: DateTime<Utc>,
    fresh: &'a impl Fn(&str) -> bool,
) -> impl Iterator<Item = &'a Key> + 'a {
    sets.iter()
        .filter(move |(tz, _)| mode.window.in_zone(**tz).contains(now))
        .filter_map(move |(_, set)| set.iter().find(|(_, id)| fresh(id)))
}
