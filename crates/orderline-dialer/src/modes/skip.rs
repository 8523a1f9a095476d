//! Preview pacing's Skip (issue #11): the agent saw the picked order and
//! passed on it.
//!
//! A skip is not a call: the order goes back to its place without an
//! attempt, exactly as [`DialResult::Interrupted`](super::DialResult) does.
//! That alone would loop: the order is still the head of its sub-queue, so
//! the next pick for the same agent would offer it straight back. So the
//! queue remembers, per agent, which orders they skipped and keeps those out
//! of that agent's picks until the mode's `put_off` has elapsed (the same
//! delay after which an unreached order is due again). Other agents may
//! take the order at once. (VICIdial's manual preview dial does the same in
//! spirit: a skipped lead goes back to the hopper for someone else.)
//!
//! The memory is not persisted: after a restart every agent starts afresh
//! (sessions do not survive one either), which at worst offers a skipped
//! order once more.

use chrono::{DateTime, Utc};

use super::queue::{DialQueue, Moved, QueueError};

impl DialQueue {
    /// `agent` skipped the previewed `order` (in flight for them): back to
    /// its place without an attempt, and not offered to `agent` again until
    /// the mode's `put_off` has passed. [`QueueError::NotInFlight`] when the
    /// order is not in flight for this agent (a stale or repeated Skip).
    pub fn skip(
        &mut self,
        order: &str,
        agent: &str,
        now: DateTime<Utc>,
    ) -> Result<Moved, QueueError> {
        let (e, picked_for) = self.flying(order)?;
        if picked_for != agent {
            return Err(QueueError::NotInFlight(order.to_string()));
        }
        let until = now
            .checked_add_signed(self.rules.mode(e.mode).put_off)
            .unwrap_or(now);
        let moved = self.release_in_flight(order, now)?;
        if moved.dialer.is_some() {
            let list = self.skipped.entry(agent.to_string()).or_default();
            list.retain(|(o, _)| o != order);
            list.push((order.to_string(), until));
        }
        Ok(moved)
    }

    /// Forget `agent`'s skips whose time is over (called before each pick).
    pub(super) fn expire_skips(&mut self, agent: &str, now: DateTime<Utc>) {
        if let Some(list) = self.skipped.get_mut(agent) {
            list.retain(|(_, until)| *until > now);
            if list.is_empty() {
                self.skipped.remove(agent);
            }
        }
    }

    /// Whether `agent` skipped `order` and may not be offered it yet.
    pub(super) fn skipped_by(&self, agent: &str, order: &str) -> bool {
        self.skipped
            .get(agent)
            .is_some_and(|list| list.iter().any(|(o, _)| o == order))
    }
}
