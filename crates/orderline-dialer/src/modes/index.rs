//! The entries of [`DialQueue`] and the indexes a pick reads.
//!
//! Indexes (what keeps [`DialQueue::pick`](super::pick) fast at 100,000
//! orders): per mode, `unprocessed` and `no_answer` are ordered sets split by
//! the customer's time zone, so a pick looks at one head per zone instead of
//! walking orders whose window is closed; callbacks are ordered by due time,
//! for anyone per mode and per agent across modes. An order in flight is in
//! no index at all, so it can never be picked twice. Every change to an
//! entry goes through [`DialQueue::insert`], [`DialQueue::remove`] or
//! [`DialQueue::take`], which keep the indexes in step with the map.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::queue::{DialQueue, OrderCard, Subqueue};
use super::rules::ModeIdx;

/// One order in dial-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub card: OrderCard,
    pub mode: ModeIdx,
    pub sub: Subqueue,
    /// When the order is due: entry time (unprocessed), end of put-off, callback time.
    pub due_at: DateTime<Utc>,
    /// Calls that did not reach the customer in this mode (the cap counts these).
    pub attempts: u32,
    pub callback_agent: Option<String>,
    /// The agent the order was picked for, until the call is reported.
    pub in_flight: Option<String>,
}

/// Sort key inside an index: time, then order id so equal times are stable.
pub(super) type Key = (DateTime<Utc>, String);

/// One mode's indexes.
#[derive(Debug, Clone, Default)]
pub(super) struct ModeIndex {
    /// Keyed by the order's `created_at` (oldest first), split by zone.
    pub unprocessed: HashMap<Tz, BTreeSet<Key>>,
    /// Keyed by `due_at`, split by zone.
    pub no_answer: HashMap<Tz, BTreeSet<Key>>,
    /// Callbacks for anyone, keyed by `due_at`.
    pub callback_anyone: BTreeSet<Key>,
}

impl DialQueue {
    /// Store an entry and, unless it is in flight, index it.
    pub(super) fn insert(&mut self, e: Entry) {
        if e.in_flight.is_none() {
            self.index_add(&e);
        }
        self.entries.insert(e.card.id.clone(), e);
    }

    /// Drop an entry from the map and the indexes.
    pub(super) fn remove(&mut self, order: &str) -> Option<Entry> {
        let e = self.entries.remove(order)?;
        if e.in_flight.is_none() {
            self.index_remove(&e);
        }
        Some(e)
    }

    /// Mark a queued entry as picked by `agent`: out of every index.
    pub(super) fn take(&mut self, order: &str, agent: &str) -> Option<&Entry> {
        let e = self.entries.get(order)?.clone();
        self.index_remove(&e);
        let slot = self.entries.get_mut(order)?;
        slot.in_flight = Some(agent.to_string());
        Some(slot)
    }

    fn index_add(&mut self, e: &Entry) {
        let tz = self.zone_of(e);
        let idx = &mut self.index[e.mode];
        match (e.sub, &e.callback_agent) {
            (Subqueue::Unprocessed, _) => idx
                .unprocessed
                .entry(tz)
                .or_default()
                .insert((e.card.created_at, e.card.id.clone())),
            (Subqueue::NoAnswer, _) => idx
                .no_answer
                .entry(tz)
                .or_default()
                .insert((e.due_at, e.card.id.clone())),
            (Subqueue::Callback, None) => idx.callback_anyone.insert((e.due_at, e.card.id.clone())),
            (Subqueue::Callback, Some(a)) => self
                .callbacks_for
                .entry(a.clone())
                .or_default()
                .insert((e.due_at, e.card.id.clone())),
        };
    }

    fn index_remove(&mut self, e: &Entry) {
        let tz = self.zone_of(e);
        let idx = &mut self.index[e.mode];
        let remove = |sets: &mut HashMap<Tz, BTreeSet<Key>>, key: Key| {
            if let Some(set) = sets.get_mut(&tz) {
                set.remove(&key);
                if set.is_empty() {
                    sets.remove(&tz);
                }
            }
        };
        match (e.sub, &e.callback_agent) {
            (Subqueue::Unprocessed, _) => {
                remove(&mut idx.unprocessed, (e.card.created_at, e.card.id.clone()))
            }
            (Subqueue::NoAnswer, _) => remove(&mut idx.no_answer, (e.due_at, e.card.id.clone())),
            (Subqueue::Callback, None) => {
                idx.callback_anyone.remove(&(e.due_at, e.card.id.clone()));
            }
            (Subqueue::Callback, Some(a)) => {
                if let Some(set) = self.callbacks_for.get_mut(a) {
                    set.remove(&(e.due_at, e.card.id.clone()));
                    if set.is_empty() {
                        self.callbacks_for.remove(a);
                    }
                }
            }
        }
    }
}
