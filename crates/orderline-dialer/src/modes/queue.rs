//! The dial-up state: which order sits in which mode and sub-queue, and the
//! moves that events make (status changes, call reports, restarts).
//!
//! Sans-IO: every operation takes `now` and returns what changed ([`Moved`]);
//! the daemon writes the order's status and its [`super::rows::QueueRow`] in
//! one transaction, which is what makes a `kill -9` lose nothing.
//! The entries and their indexes are in `index.rs`.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::config::is_valid_name;
pub(super) use super::index::{Entry, Key, ModeIndex};
use super::rules::{CallModes, Mode, ModeIdx, ModeKind};
use super::share;

/// The three sub-queues of every mode (issue #11).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subqueue {
    /// Just entered the mode; dialled oldest order first.
    Unprocessed,
    /// Not reached; due again when the mode's put-off has elapsed.
    NoAnswer,
    /// The customer asked to be called at a time.
    Callback,
}

/// What the queue needs to know about an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderCard {
    pub id: String,
    pub project: String,
    /// The customer's zone; the mode's zone applies when unknown.
    pub timezone: Option<Tz>,
    pub created_at: DateTime<Utc>,
    /// The order carries an offer and no upsell mode has worked it to an
    /// end yet (issue #15): only then does a status tick it into an upsell
    /// mode ([`super::upsell`]).
    pub upsell_eligible: bool,
}

/// Where an order sits in dial-up: the order's `dialer` field in the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Placement {
    pub mode: String,
    pub subqueue: Subqueue,
    pub due_at: DateTime<Utc>,
}

/// What an operation did to one order; the daemon persists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub order: String,
    /// The order's new status, when the queue decided one (a disposition, the
    /// attempt cap); `None` leaves the status as it was.
    pub status: Option<String>,
    /// The order's place in dial-up afterwards; `None`: out of dial-up.
    pub dialer: Option<Placement>,
    /// An upsell mode's call came to an end with this outcome (a button
    /// such as `upsold`, or `no_answer` at the cap): the daemon stores it
    /// with the move, and the order is never upsell-eligible again.
    pub upsell_done: Option<String>,
}

/// How a call the dialer placed ended: what [`DialQueue::finish`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialResult {
    NoAnswer,
    Busy,
    Failed,
    /// Answered with no agent free (predictive abandon) or cut off.
    Dropped,
    /// Answered; the agent pressed a disposition button of the mode.
    /// `no_answer` counts as [`DialResult::NoAnswer`]; `callback` needs
    /// [`DialResult::Callback`] for its time.
    Disposition(String),
    /// Answered; the customer asked to be called at `at`, by the same agent
    /// (`same_agent`) or by anyone who works the mode.
    Callback {
        at: DateTime<Utc>,
        same_agent: bool,
    },
    /// The call never ended on its own (daemon stopped, preview skipped): the
    /// order goes back to its place without an attempt, as
    /// [`DialQueue::release_in_flight`] does after a restart.
    Interrupted,
}

impl DialResult {
    /// Outcomes that did not reach the customer: they cost an attempt and put the order off.
    pub fn unanswered(&self) -> bool {
        match self {
            Self::NoAnswer | Self::Busy | Self::Failed | Self::Dropped => true,
            Self::Disposition(d) => d == "no_answer",
            Self::Callback { .. } | Self::Interrupted => false,
        }
    }
}

/// An event the queue cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    #[error("unknown status {0:?}")]
    UnknownStatus(String),
    #[error("unknown mode {0:?}")]
    UnknownMode(String),
    #[error("order {0:?} is not in dial-up")]
    UnknownOrder(String),
    #[error("order {0:?} has no call in flight")]
    NotInFlight(String),
    #[error("mode {mode:?} has no disposition {disposition:?}")]
    DispositionNotInMode { mode: String, disposition: String },
    #[error("the callback disposition needs a time: report DialResult::Callback")]
    CallbackWithoutTime,
    #[error("project {0:?} has no call mode to queue a callback in")]
    NoModeForProject(String),
    #[error("{0:?} is not a valid agent name")]
    BadAgent(String),
    /// Press 3 live: someone (an agent, a line) holds the order already.
    #[error("order {order:?} is in flight for {holder:?}")]
    InFlight { order: String, holder: String },
    #[error("row {index} ({field}): {reason}")]
    BadRow {
        index: usize,
        field: &'static str,
        reason: String,
    },
}

/// Orders in call modes, their sub-queues and in-flight calls.
#[derive(Debug, Clone)]
pub struct DialQueue {
    pub(super) rules: CallModes,
    pub(super) entries: HashMap<String, Entry>,
    pub(super) index: Vec<ModeIndex>,
    /// Callbacks for one agent, across modes, keyed by `due_at`.
    pub(super) callbacks_for: HashMap<String, BTreeSet<Key>>,
    /// Previewed orders each agent skipped, with when they may be offered
    /// to that agent again (`skip.rs`).
    pub(super) skipped: HashMap<String, Vec<(String, DateTime<Utc>)>>,
}

impl DialQueue {
    pub fn new(rules: CallModes) -> Self {
        let index = vec![ModeIndex::default(); rules.modes().len()];
        Self {
            rules,
            entries: HashMap::new(),
            index,
            callbacks_for: HashMap::new(),
            skipped: HashMap::new(),
        }
    }

    pub fn rules(&self) -> &CallModes {
        &self.rules
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The order's place in dial-up, if it is in one.
    pub fn placement(&self, order: &str) -> Option<Placement> {
        self.entries.get(order).map(|e| self.placement_of(e))
    }

    /// Attempts made in the order's current mode.
    pub fn attempts(&self, order: &str) -> Option<u32> {
        self.entries.get(order).map(|e| e.attempts)
    }

    /// Orders picked and not yet reported, with their agents: on restart the
    /// daemon closes these calls as interrupted and calls [`Self::release_in_flight`].
    /// Move an order in flight from `from` to `to`: a predictive line's
    /// customer taken by an agent, whose disposition then settles it.
    pub fn hand_over(&mut self, order: &str, from: &str, to: &str) -> Result<(), QueueError> {
        let e = self
            .entries
            .get_mut(order)
            .ok_or_else(|| QueueError::UnknownOrder(order.to_string()))?;
        if e.in_flight.as_deref() != Some(from) {
            return Err(QueueError::NotInFlight(order.to_string()));
        }
        e.in_flight = Some(to.to_string());
        Ok(())
    }

    /// The agent `order` is in flight for, if it is.
    pub fn in_flight_agent(&self, order: &str) -> Option<&str> {
        self.entries.get(order)?.in_flight.as_deref()
    }

    pub fn in_flight(&self) -> Vec<(String, String)> {
        let mut v: Vec<_> = self
            .entries
            .values()
            .filter_map(|e| Some((e.card.id.clone(), e.in_flight.clone()?)))
            .collect();
        v.sort();
        v
    }

    /// The order's status changed (API or robo-call outcome): a status ticked
    /// for the order's project puts it in that mode's `unprocessed`, any other
    /// status takes it out of dial-up. An order already in the ticked mode
    /// keeps its place and attempts (setting the same status twice is no
    /// reset). A call in flight for an order that leaves is forgotten; its
    /// later report gets [`QueueError::UnknownOrder`] (out of dial-up) or
    /// [`QueueError::NotInFlight`] (now in another mode), which the daemon logs.
    pub fn set_status(
        &mut self,
        card: OrderCard,
        status: &str,
        now: DateTime<Utc>,
    ) -> Result<Moved, QueueError> {
        if !self.rules.is_status(status) {
            return Err(QueueError::UnknownStatus(status.to_string()));
        }
        let target = self.entry_mode(&card, status);
        if let (Some(m), Some(e)) = (target, self.entries.get(&card.id)) {
            if e.mode == m {
                return Ok(Moved {
                    order: card.id.clone(),
                    status: Some(status.to_string()),
                    dialer: Some(self.placement_of(e)),
                    upsell_done: None,
                });
            }
        }
        self.remove(&card.id);
        Ok(self.enter(card, status, target, now))
    }

    /// A call for `order` ended (the other half of [`DialQueue::pick`]).
    /// Unanswered results (no answer, busy, failed, dropped, the agent's
    /// `no_answer` button) cost an attempt and put the order off by the mode's
    /// `put_off` in `no_answer` (or, at `max_attempts`, move it to the mode's
    /// `status_after_max`); a disposition moves it to its
    /// `[dialer.disposition_status]` target; a callback books the time, for
    /// the same agent or anyone; an interrupted call returns the order without
    /// an attempt. Only an order in flight can be finished, so one call is
    /// never reported twice (issue #11, "never the same order twice at once").
    pub fn finish(
        &mut self,
        order: &str,
        outcome: DialResult,
        now: DateTime<Utc>,
    ) -> Result<Moved, QueueError> {
        let (e, agent) = self.flying(order)?;
        let agent = agent.to_string();
        let mode = self.rules.mode(e.mode);
        if let DialResult::Disposition(d) = &outcome {
            if !mode.dispositions.contains(d) {
                return Err(QueueError::DispositionNotInMode {
                    mode: mode.id.clone(),
                    disposition: d.clone(),
                });
            }
            if d == "callback" {
                return Err(QueueError::CallbackWithoutTime);
            }
        }
        match outcome {
            DialResult::Interrupted => self.release_in_flight(order, now),
            DialResult::Callback { at, same_agent } => Ok(self.requeue(order, |e| {
                e.sub = Subqueue::Callback;
                e.due_at = at;
                e.callback_agent = same_agent.then_some(agent);
            })),
            DialResult::Disposition(d) if d != "no_answer" && mode.is_upsell() => {
                // An upsell outcome: out of dial-up, the status untouched.
                let mut moved = self.move_to_status(order, None, now);
                moved.upsell_done = Some(d);
                Ok(moved)
            }
            DialResult::Disposition(d) if d != "no_answer" => {
                // Validation maps every non-dialer disposition of a mode to a status.
                let status = self
                    .rules
                    .disposition_status(&d)
                    .map(str::to_string)
                    .ok_or(QueueError::UnknownStatus(d))?;
                Ok(self.move_to_status(order, Some(&status), now))
            }
            _ => {
                let (put_off, cap) = (mode.put_off, mode.max_attempts);
                let attempts = e.attempts + 1;
                if attempts >= cap {
                    return Ok(self.cap_reached(order, now));
                }
                Ok(self.requeue(order, |e| {
                    e.attempts = attempts;
                    e.sub = Subqueue::NoAnswer;
                    e.due_at = now.checked_add_signed(put_off).unwrap_or(now);
                    e.callback_agent = None;
                }))
            }
        }
    }

    /// The entry of an order in flight and the agent it was picked for;
    /// [`QueueError::UnknownOrder`] or [`QueueError::NotInFlight`] else.
    pub(super) fn flying(&self, order: &str) -> Result<(&Entry, &str), QueueError> {
        let e = self
            .entries
            .get(order)
            .ok_or_else(|| QueueError::UnknownOrder(order.to_string()))?;
        match e.in_flight.as_deref() {
            Some(agent) => Ok((e, agent)),
            None => Err(QueueError::NotInFlight(order.to_string())),
        }
    }

    /// The customer asked a robo-call for a person and nobody was ready
    /// (issue #13, press 3): a callback for anyone, due at `at`. The order
    /// stays in its mode if it is in one; else it enters the mode `status`
    /// ticks it into, else the first mode of its project (the operators'
    /// queue). The status is not changed here (`Moved::status` is `None`
    /// unless the order entered a mode).
    pub fn callback_for_anyone(
        &mut self,
        card: OrderCard,
        status: &str,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Moved, QueueError> {
        let id = card.id.clone();
        let mut entered = None;
        if !self.entries.contains_key(&id) {
            let project = card.project.clone();
            let target = self
                .entry_mode(&card, status)
                .or_else(|| self.operators_of(&project))
                .ok_or(QueueError::NoModeForProject(project))?;
            entered = self.enter(card, status, Some(target), now).status;
        }
        let mut moved = self.requeue(&id, |e| {
            e.sub = Subqueue::Callback;
            e.due_at = at;
            e.callback_agent = None;
        });
        moved.status = entered;
        Ok(moved)
    }

    /// The mode whose operators answer a robo-call customer who pressed 3
    /// for this order (issue #13): where [`DialQueue::callback_for_anyone`]
    /// would queue the callback — the mode it is in, else the one `status`
    /// ticks it into, else the first mode of its project. `None`: no mode.
    pub fn operator_mode(&self, card: &OrderCard, status: &str) -> Option<&Mode> {
        let idx = match self.entries.get(&card.id) {
            Some(e) => e.mode,
            None => self
                .entry_mode(card, status)
                .or_else(|| self.operators_of(&card.project))?,
        };
        Some(self.rules.mode(idx))
    }

    /// Press 3, live (issue #13): `agent` took the robo-call customer. The
    /// order is queued as [`DialQueue::callback_for_anyone`] would (due
    /// `now`) and at once in flight for `agent`, so the agent's disposition
    /// settles it like any dialled call ([`DialQueue::finish`]), and a call
    /// that never connects returns it as a callback
    /// ([`DialQueue::release_in_flight`]). Refused when someone holds it.
    /// `Moved::status` is `None`: `status` only chooses the mode.
    pub fn take_live(
        &mut self,
        card: OrderCard,
        status: &str,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<Moved, QueueError> {
        if !is_valid_name(agent) {
            return Err(QueueError::BadAgent(agent.to_string()));
        }
        if let Some(holder) = self.entries.get(&card.id).and_then(|e| e.in_flight.clone()) {
            return Err(QueueError::InFlight {
                order: card.id,
                holder,
            });
        }
        let id = card.id.clone();
        let mut moved = self.callback_for_anyone(card, status, now, now)?;
        self.take(&id, agent);
        // The status is the robo-call's to set (its attempt is finishing
        // meanwhile): only the dial-up row moves.
        moved.status = None;
        Ok(moved)
    }

    /// Return a picked order to its sub-queue without burning an attempt: the
    /// call was interrupted (daemon restart) or never placed (preview skipped).
    pub fn release_in_flight(
        &mut self,
        order: &str,
        now: DateTime<Utc>,
    ) -> Result<Moved, QueueError> {
        match self.entries.get(order) {
            None => Err(QueueError::UnknownOrder(order.to_string())),
            Some(e) if e.in_flight.is_none() => Err(QueueError::NotInFlight(order.to_string())),
            // Only a cap lowered across a restart can leave one at its cap here.
            Some(e) if e.attempts >= self.rules.mode(e.mode).max_attempts => {
                Ok(self.cap_reached(order, now))
            }
            Some(_) => Ok(self.requeue(order, |_| {})),
        }
    }

    /// Replace who may work a mode (`PUT /v1/dialer/modes/{id}/agents`).
    pub fn set_agents(
        &mut self,
        mode: &str,
        agents: impl IntoIterator<Item = String>,
    ) -> Result<(), QueueError> {
        let idx = self
            .rules
            .mode_index(mode)
            .ok_or_else(|| QueueError::UnknownMode(mode.to_string()))?;
        let agents: BTreeSet<String> = agents.into_iter().collect();
        if let Some(bad) = agents.iter().find(|a| !is_valid_name(a)) {
            return Err(QueueError::BadAgent(bad.clone()));
        }
        self.rules.set_agents(idx, agents);
        Ok(())
    }

    /// The mode `status` ticks this order into, after the random share.
    fn entry_mode(&self, card: &OrderCard, status: &str) -> Option<ModeIdx> {
        let idx = self.rules.tick(status, &card.project)?;
        let mode = self.rules.mode(idx);
        match (mode.kind, mode.random_share) {
            (ModeKind::Random, Some(s)) if !share::takes(&card.id, &mode.id, s) => None,
            // Issue #15: no offer (or an upsell call already ended), nothing to sell.
            (ModeKind::Upsell, _) if !card.upsell_eligible => None,
            _ => Some(idx),
        }
    }

    /// Put a card (already out of dial-up) into `target`'s `unprocessed`.
    fn enter(
        &mut self,
        card: OrderCard,
        status: &str,
        target: Option<ModeIdx>,
        now: DateTime<Utc>,
    ) -> Moved {
        let order = card.id.clone();
        let dialer = target.map(|mode| {
            let e = Entry {
                card,
                mode,
                sub: Subqueue::Unprocessed,
                due_at: now,
                attempts: 0,
                callback_agent: None,
                in_flight: None,
            };
            let p = self.placement_of(&e);
            self.insert(e);
            p
        });
        Moved {
            order,
            status: Some(status.to_string()),
            dialer,
            upsell_done: None,
        }
    }

    /// The order leaves its mode for `status` (cap reached, disposition);
    /// `None`: out of dial-up with its status kept (an upsell mode's end).
    pub(super) fn move_to_status(
        &mut self,
        order: &str,
        status: Option<&str>,
        now: DateTime<Utc>,
    ) -> Moved {
        match (self.remove(order), status) {
            (Some(e), Some(status)) => {
                let target = self.entry_mode(&e.card, status);
                self.enter(e.card, status, target, now)
            }
            _ => Moved {
                order: order.to_string(),
                status: status.map(str::to_string),
                dialer: None,
                upsell_done: None,
            },
        }
    }

    /// Take the entry out, change it, clear in-flight and index it again.
    fn requeue(&mut self, order: &str, change: impl FnOnce(&mut Entry)) -> Moved {
        let Some(mut e) = self.remove(order) else {
            return Moved {
                order: order.to_string(),
                status: None,
                dialer: None,
                upsell_done: None,
            };
        };
        change(&mut e);
        e.in_flight = None;
        let p = self.placement_of(&e);
        self.insert(e);
        Moved {
            order: order.to_string(),
            status: None,
            dialer: Some(p),
            upsell_done: None,
        }
    }

    pub(super) fn placement_of(&self, e: &Entry) -> Placement {
        Placement {
            mode: self.rules.mode(e.mode).id.clone(),
            subqueue: e.sub,
            due_at: e.due_at,
        }
    }

    /// The zone whose window applies to the entry.
    pub(super) fn zone_of(&self, e: &Entry) -> Tz {
        e.card
            .timezone
            .unwrap_or_else(|| self.rules.mode(e.mode).window.timezone())
    }
}
