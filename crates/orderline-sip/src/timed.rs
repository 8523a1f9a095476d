//! A map whose entries each have a next deadline, with the earliest one
//! found without scanning every entry (issue #16).
//!
//! The endpoint keeps a transaction for 64·T1 after its final answer (RFC
//! 3261 §17: Timers J, K, L), so at 1,500 call setups a second it holds
//! around 100,000 of them; asking each for its deadline on every datagram
//! made the driver task the bottleneck (a profile showed over a quarter of
//! its time in that scan). Here every `insert` and `get_mut` notes its key
//! as touched; touched keys get their new deadline pushed on a min-heap, and
//! heap entries whose deadline no longer matches their entry are dropped
//! when they come up (lazy deletion). Nothing reads a clock: the index is as
//! deterministic as the map.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::hash::Hash;
use std::time::Instant;

/// One deadline noted for `key`, ordered earliest first (then by push order,
/// so equal instants come out in a fixed order).
struct Due<K> {
    at: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Due<K> {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl<K> Eq for Due<K> {}
impl<K> PartialOrd for Due<K> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<K> Ord for Due<K> {
    /// Reversed: `BinaryHeap` is a max-heap, the earliest must be on top.
    fn cmp(&self, o: &Self) -> Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

/// The heap and the keys touched since it was last brought up to date.
/// Behind a `RefCell` so that [`Timed::next_deadline`] can stay `&self`
/// (the endpoint's `poll_timeout` is `&self`, as in quinn-proto).
struct Index<K> {
    heap: BinaryHeap<Due<K>>,
    touched: Vec<K>,
    seq: u64,
}

/// A `HashMap` with a deadline index over its values.
pub(super) struct Timed<K, V> {
    map: HashMap<K, V>,
    deadline: fn(&V) -> Option<Instant>,
    index: RefCell<Index<K>>,
}

impl<K: Eq + Hash + Clone, V> Timed<K, V> {
    /// `deadline` says when a value next needs a look (None: never).
    pub(super) fn new(deadline: fn(&V) -> Option<Instant>) -> Self {
        Timed {
            map: HashMap::new(),
            deadline,
            index: RefCell::new(Index {
                heap: BinaryHeap::new(),
                touched: Vec::new(),
                seq: 0,
            }),
        }
    }

    pub(super) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    /// The value, mutably: its deadline may change, so the key is noted.
    pub(super) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let v = self.map.get_mut(k)?;
        self.index.get_mut().touched.push(k.clone());
        Some(v)
    }

    pub(super) fn insert(&mut self, k: K, v: V) -> Option<V> {
        self.index.get_mut().touched.push(k.clone());
        self.map.insert(k, v)
    }

    /// Remove an entry; its heap entries become stale and are dropped later.
    pub(super) fn remove(&mut self, k: &K) -> Option<V> {
        self.map.remove(k)
    }

    pub(super) fn contains_key(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    pub(super) fn len(&self) -> usize {
        self.map.len()
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    /// The earliest deadline of any entry.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        let mut ix = self.index.borrow_mut();
        self.settle(&mut ix);
        ix.heap.peek().map(|d| d.at)
    }

    /// Every key whose deadline is at or before `now`, once each, earliest
    /// first. They are noted as touched, so whatever firing them changes is
    /// indexed (an entry not fired stays due, as with a full scan).
    pub(super) fn due(&mut self, now: Instant) -> Vec<K> {
        let mut ix = self.index.borrow_mut();
        self.settle(&mut ix);
        let mut keys: Vec<K> = Vec::new();
        while ix.heap.peek().is_some_and(|d| d.at <= now) {
            let Some(d) = ix.heap.pop() else { break };
            if self.current(&d) && !keys.contains(&d.key) {
                keys.push(d.key);
            }
        }
        ix.touched.extend(keys.iter().cloned());
        keys
    }

    /// Is `d` still the deadline of its entry?
    fn current(&self, d: &Due<K>) -> bool {
        self.map.get(&d.key).and_then(self.deadline) == Some(d.at)
    }

    /// Push the touched keys' deadlines, drop stale entries from the top,
    /// and rebuild the heap when stale entries outnumber live ones (a
    /// deadline far ahead of an entry that was removed would otherwise stay
    /// until its instant came).
    fn settle(&self, ix: &mut Index<K>) {
        let touched = std::mem::take(&mut ix.touched);
        for key in touched {
            if let Some(at) = self.map.get(&key).and_then(self.deadline) {
                ix.seq += 1;
                let seq = ix.seq;
                ix.heap.push(Due { at, seq, key });
            }
        }
        if ix.heap.len() > 2 * self.map.len() + 1024 {
            let mut live: Vec<Due<K>> = Vec::with_capacity(self.map.len());
            for (k, v) in &self.map {
                if let Some(at) = (self.deadline)(v) {
                    ix.seq += 1;
                    live.push(Due {
                        at,
                        seq: ix.seq,
                        key: k.clone(),
                    });
                }
            }
            ix.heap = BinaryHeap::from(live);
        }
        while ix.heap.peek().is_some_and(|d| !self.current(d)) {
            ix.heap.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn timed() -> (Timed<u32, Option<Instant>>, Instant) {
        (Timed::new(|v: &Option<Instant>| *v), Instant::now())
    }

    #[test]
    fn earliest_deadline_follows_changes_and_removals() {
        let (mut m, t0) = timed();
        let s = Duration::from_secs(1);
        m.insert(1, Some(t0 + 3 * s));
        m.insert(2, Some(t0 + s));
        m.insert(3, None);
        assert_eq!(m.next_deadline(), Some(t0 + s));
        // Moved later: the old entry is stale.
        if let Some(v) = m.get_mut(&2) {
            *v = Some(t0 + 5 * s);
        }
        assert_eq!(m.next_deadline(), Some(t0 + 3 * s));
        m.remove(&1);
        assert_eq!(m.next_deadline(), Some(t0 + 5 * s));
        if let Some(v) = m.get_mut(&3) {
            *v = Some(t0 + 2 * s);
        }
        assert_eq!(m.next_deadline(), Some(t0 + 2 * s));
        m.remove(&2);
        m.remove(&3);
        assert_eq!(m.next_deadline(), None);
    }

    #[test]
    fn due_gives_each_key_once_in_deadline_order() {
        let (mut m, t0) = timed();
        let ms = Duration::from_millis(1);
        m.insert(7, Some(t0 + 2 * ms));
        m.insert(8, Some(t0 + ms));
        m.insert(9, Some(t0 + 10 * ms));
        // Touched again without a change: two heap entries for one key.
        let _ = m.get_mut(&7);
        assert_eq!(m.due(t0 + 5 * ms), vec![8, 7]);
        // Fired: moved on.
        if let Some(v) = m.get_mut(&8) {
            *v = None;
        }
        // Not fired: still due, as a scan of every entry would say.
        assert_eq!(m.next_deadline(), Some(t0 + 2 * ms));
        if let Some(v) = m.get_mut(&7) {
            *v = None;
        }
        assert_eq!(m.next_deadline(), Some(t0 + 10 * ms));
        assert_eq!(m.due(t0 + 10 * ms), vec![9]);
    }

    #[test]
    fn stale_entries_are_compacted() {
        let (mut m, t0) = timed();
        let far = t0 + Duration::from_secs(3600);
        for i in 0..10_000 {
            m.insert(i, Some(far));
            m.remove(&i);
        }
        m.insert(0, Some(far));
        assert_eq!(m.next_deadline(), Some(far));
        assert!(m.index.borrow().heap.len() <= 2 + 1024);
    }
}
