//! Read-only views: the orders in line (`GET /v1/dialer/queue`) and the admin
//! counts (`GET /v1/dialer/overview`), field names as issue #11 fixes them.

use std::cmp::Reverse;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::pick::{mode_rank, Reason};
use super::queue::{DialQueue, Entry, Subqueue};
use super::rules::ModeKind;

/// `?mode=&project=&subqueue=` and a length limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct QueueFilter {
    pub mode: Option<String>,
    pub project: Option<String>,
    pub subqueue: Option<Subqueue>,
    pub limit: Option<usize>,
}

/// One order in line, with why it stands where it does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueItem {
    pub order_id: String,
    pub mode: String,
    pub project: String,
    pub subqueue: Subqueue,
    /// When the order can next be dialled: its due time, pushed to the
    /// window's next opening when the window is closed then.
    pub due_at: DateTime<Utc>,
    pub attempts: u32,
    /// The mode's priority as dialled (`CallModes::dial_priority`: the
    /// `high_priority_new` lift included), so the view explains the order.
    pub priority: i32,
    pub callback_agent: Option<String>,
    pub reason: Reason,
}

/// Orders per sub-queue of a mode; `in_flight` are being dialled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub unprocessed: usize,
    pub no_answer: usize,
    pub callback: usize,
    pub in_flight: usize,
}

/// One row of the admin table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModeOverview {
    pub id: String,
    pub project: String,
    pub kind: ModeKind,
    pub counts: Counts,
    pub agents: Vec<String>,
}

/// `{"modes":[...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Overview {
    pub modes: Vec<ModeOverview>,
}

/// The dial-order sort key of an entry: when it can next be dialled, then
/// callbacks before mode work, then the mode's rank, sub-queue and age.
type Rank<'a> = (
    DateTime<Utc>,
    u8,
    Reverse<i32>,
    Reverse<bool>,
    usize,
    Subqueue,
    DateTime<Utc>,
    &'a str,
);

impl DialQueue {
    /// Queued orders (not in flight) in the order a dialer with access to
    /// every mode would take them at `now`: what is due now first (callbacks,
    /// then modes by priority as [`DialQueue::pick`] does), then what waits,
    /// by the time it becomes due. Agent-booked callbacks are listed among
    /// callbacks; only their agent will get them.
    pub fn queue(&self, filter: &QueueFilter, now: DateTime<Utc>) -> Vec<QueueItem> {
        // Every order already due shares its (mode, zone)'s next opening:
        // compute that once per pair, not once per order.
        let mut opening: HashMap<(usize, Tz), DateTime<Utc>> = HashMap::new();
        let mut ranked: Vec<(Rank<'_>, &Entry)> = self
            .entries
            .values()
            .filter(|e| e.in_flight.is_none() && self.matches(e, filter))
            .map(|e| {
                let zone = self.zone_of(e);
                let window = self.rules.mode(e.mode).window.in_zone(zone);
                let opens = if e.due_at <= now {
                    *opening
                        .entry((e.mode, zone))
                        .or_insert_with(|| window.next_opening(now))
                } else {
                    window.next_opening(e.due_at)
                };
                (self.rank(e, opens), e)
            })
            .collect();
        ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        ranked
            .into_iter()
            .take(filter.limit.unwrap_or(usize::MAX))
            .map(|(rank, e)| self.item(e, rank.0, now))
            .collect()
    }

    fn matches(&self, e: &Entry, f: &QueueFilter) -> bool {
        f.mode
            .as_ref()
            .is_none_or(|m| *m == self.rules.mode(e.mode).id)
            && f.project.as_ref().is_none_or(|p| *p == e.card.project)
            && f.subqueue.is_none_or(|s| s == e.sub)
    }

    /// Sort key of an entry that can next be dialled at `opens`. Everything
    /// due now has `opens == now`, so the rest of the key decides among them.
    fn rank<'a>(&self, e: &'a Entry, opens: DateTime<Utc>) -> Rank<'a> {
        let class = u8::from(e.sub != Subqueue::Callback);
        // Callbacks go by due time alone, across modes, as the picker takes them.
        let (prio, boost, idx) = if e.sub == Subqueue::Callback {
            (Reverse(0), Reverse(false), 0)
        } else {
            mode_rank(&self.rules, e.mode)
        };
        let key_time = if e.sub == Subqueue::Unprocessed {
            e.card.created_at
        } else {
            e.due_at
        };
        (opens, class, prio, boost, idx, e.sub, key_time, &e.card.id)
    }

    /// The view row of an entry that can next be dialled at `opens`.
    fn item(&self, e: &Entry, opens: DateTime<Utc>, now: DateTime<Utc>) -> QueueItem {
        let mode = self.rules.mode(e.mode);
        let due = e.due_at.max(now);
        let reason = match e.sub {
            _ if opens > due => Reason::OutsideWindow,
            Subqueue::Callback if e.due_at > now => Reason::CallbackLater,
            Subqueue::Callback if e.callback_agent.is_some() => Reason::CallbackForAgent,
            Subqueue::Callback => Reason::CallbackForAnyone,
            Subqueue::NoAnswer if e.due_at > now => Reason::PutOff,
            Subqueue::NoAnswer => Reason::NoAnswerDue,
            Subqueue::Unprocessed => Reason::Unprocessed,
        };
        QueueItem {
            order_id: e.card.id.clone(),
            mode: mode.id.clone(),
            project: e.card.project.clone(),
            subqueue: e.sub,
            due_at: opens,
            attempts: e.attempts,
            priority: self.rules.dial_priority(e.mode),
            callback_agent: e.callback_agent.clone(),
            reason,
        }
    }

    /// Counts per mode and sub-queue, and who works each mode.
    pub fn overview(&self) -> Overview {
        let mut counts = vec![Counts::default(); self.rules.modes().len()];
        for e in self.entries.values() {
            let c = &mut counts[e.mode];
            if e.in_flight.is_some() {
                c.in_flight += 1;
                continue;
            }
            match e.sub {
                Subqueue::Unprocessed => c.unprocessed += 1,
                Subqueue::NoAnswer => c.no_answer += 1,
                Subqueue::Callback => c.callback += 1,
            }
        }
        let modes = self
            .rules
            .modes()
            .iter()
            .zip(counts)
            .map(|(m, counts)| ModeOverview {
                id: m.id.clone(),
                project: m.project.clone(),
                kind: m.kind,
                counts,
                agents: m.agents.iter().cloned().collect(),
            })
            .collect();
        Overview { modes }
    }
}
