//! The queue as plain rows, for the store to persist and rebuild from.
//!
//! One row per order in dial-up; nothing else is state (the indexes are
//! derived), so writing the row of each [`super::queue::Moved`] together with
//! the order's status is enough for a restart to resume exactly where the
//! daemon stopped.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::queue::{DialQueue, Entry, Moved, OrderCard, QueueError, Subqueue};
use super::rules::CallModes;
use crate::window::parse_timezone;

/// One order in dial-up, as a table row.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QueueRow {
    pub order_id: String,
    pub project: String,
    /// IANA zone name of the customer, if known.
    pub timezone: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Mode id.
    pub mode: String,
    pub subqueue: Subqueue,
    pub due_at: DateTime<Utc>,
    pub attempts: u32,
    /// Set for a callback booked for one agent.
    pub callback_agent: Option<String>,
    /// The in-flight flag: the agent the order was picked for, until reported.
    pub in_flight_agent: Option<String>,
}

/// A queue rebuilt from rows, and the rows it could not keep as they were.
#[derive(Debug, Clone)]
pub struct Rebuilt {
    pub queue: DialQueue,
    /// Orders whose mode is gone from config (out of dial-up, status kept) or
    /// that are at a lowered attempt cap (moved to `status_after_max`). The
    /// daemon persists these like any other move.
    pub moved: Vec<Moved>,
}

impl DialQueue {
    /// Every order in dial-up, sorted by order id.
    pub fn rows(&self) -> Vec<QueueRow> {
        let mut v: Vec<QueueRow> = self.entries.values().map(|e| self.row_of(e)).collect();
        v.sort();
        v
    }

    /// The row of one order; `None` means "delete its row".
    pub fn row(&self, order: &str) -> Option<QueueRow> {
        self.entries.get(order).map(|e| self.row_of(e))
    }

    fn row_of(&self, e: &Entry) -> QueueRow {
        QueueRow {
            order_id: e.card.id.clone(),
            project: e.card.project.clone(),
            timezone: e.card.timezone.map(|tz| tz.name().to_string()),
            created_at: e.card.created_at,
            mode: self.rules.mode(e.mode).id.clone(),
            subqueue: e.sub,
            due_at: e.due_at,
            attempts: e.attempts,
            callback_agent: e.callback_agent.clone(),
            in_flight_agent: e.in_flight.clone(),
        }
    }

    /// Rebuild the queue from its rows under `rules` (possibly changed since
    /// the rows were written). In-flight rows stay in flight: the daemon closes
    /// their calls as interrupted and releases them ([`DialQueue::in_flight`]).
    pub fn from_rows(
        rules: CallModes,
        rows: impl IntoIterator<Item = QueueRow>,
        now: DateTime<Utc>,
    ) -> Result<Rebuilt, QueueError> {
        let mut queue = DialQueue::new(rules);
        let mut moved = Vec::new();
        let mut over_cap = Vec::new();
        for (index, r) in rows.into_iter().enumerate() {
            let bad = |field: &'static str, reason: String| QueueError::BadRow {
                index,
                field,
                reason,
            };
            if queue.entries.contains_key(&r.order_id) {
                return Err(bad(
                    "order_id",
                    format!("order {:?} appears twice", r.order_id),
                ));
            }
            let timezone = match &r.timezone {
                Some(name) => {
                    Some(parse_timezone(name).map_err(|e| bad("timezone", e.to_string()))?)
                }
                None => None,
            };
            if r.subqueue != Subqueue::Callback && r.callback_agent.is_some() {
                return Err(bad(
                    "callback_agent",
                    "set outside the callback sub-queue".into(),
                ));
            }
            let Some(mode) = queue.rules.mode_index(&r.mode) else {
                moved.push(Moved {
                    order: r.order_id,
                    status: None,
                    dialer: None,
                    upsell_done: None,
                });
                continue;
            };
            if r.attempts >= queue.rules.mode(mode).max_attempts && r.in_flight_agent.is_none() {
                over_cap.push(r.order_id.clone());
            }
            queue.insert(Entry {
                card: OrderCard {
                    id: r.order_id,
                    project: r.project,
                    timezone,
                    created_at: r.created_at,
                    // A row in an upsell mode got there eligible; the row
                    // does not keep the offer, and a card only matters
                    // again when a status ticks it somewhere, which the
                    // daemon does with a fresh card.
                    upsell_eligible: queue.rules.mode(mode).is_upsell(),
                },
                mode,
                sub: r.subqueue,
                due_at: r.due_at,
                attempts: r.attempts,
                callback_agent: r.callback_agent,
                in_flight: r.in_flight_agent,
            });
        }
        for order in over_cap {
            moved.push(queue.cap_reached(&order, now));
        }
        Ok(Rebuilt { queue, moved })
    }
}
