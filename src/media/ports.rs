//! RTP port allocation from the configured range.
//!
//! RTP takes an even port and RTCP the next odd one (RFC 3550 §11). Ports
//! are handed out round-robin (least recently released first), so a port
//! just freed by one call — whose peer may still be sending stray packets
//! to it — is reused as late as possible. A [`PortLease`] returns its port
//! when dropped. The allocator's lock is taken at call setup and teardown
//! only, never on the packet path.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::config::PortRange;

/// Shared pool of even RTP ports. Wrap in `Arc`.
#[derive(Debug)]
pub struct PortAllocator {
    free: Mutex<VecDeque<u16>>,
    total: usize,
}

impl PortAllocator {
    /// All even ports `p` in the range with `p + 1` also in it, handed out
    /// from a random place in the range: after a restart, the far ends of
    /// calls lost with the old process may still be sending to the ports it
    /// used first, and a new call should not land on them.
    pub fn new(range: PortRange) -> Self {
        Self::with_offset(range, rand::random())
    }

    /// As [`PortAllocator::new`], starting `offset` pairs into the range (tests).
    pub fn with_offset(range: PortRange, offset: usize) -> Self {
        let first = range.first + (range.first % 2);
        let mut free: VecDeque<u16> = (first as u32..range.last as u32)
            .step_by(2)
            .map(|p| p as u16)
            .collect();
        if !free.is_empty() {
            let n = offset % free.len();
            free.rotate_left(n);
        }
        let total = free.len();
        Self {
            free: Mutex::new(free),
            total,
        }
    }

    /// Number of RTP/RTCP pairs in the pool.
    pub fn capacity(&self) -> usize {
        self.total
    }

    /// Pairs currently free.
    pub fn available(&self) -> usize {
        self.lock().len()
    }

    /// Take the least recently used free port.
    pub fn acquire(self: &Arc<Self>) -> Option<PortLease> {
        let port = self.lock().pop_front()?;
        Some(PortLease {
            port,
            pool: Arc::clone(self),
        })
    }

    fn release(&self, port: u16) {
        self.lock().push_back(port);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<u16>> {
        self.free.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An RTP port (even) and its RTCP port (`rtp + 1`), held until drop.
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    pool: Arc<PortAllocator>,
}

impl PortLease {
    pub fn rtp(&self) -> u16 {
        self.port
    }

    pub fn rtcp(&self) -> u16 {
        self.port + 1
    }
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.pool.release(self.port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_ports_round_robin_and_returned_on_drop() {
        let pool = Arc::new(PortAllocator::with_offset(
            PortRange {
                first: 20001,
                last: 20007,
            },
            0,
        ));
        // 20002/3, 20004/5, 20006/7
        assert_eq!(pool.capacity(), 3);
        let a = pool.acquire().unwrap();
        let b = pool.acquire().unwrap();
        assert_eq!((a.rtp(), a.rtcp(), b.rtp()), (20002, 20003, 20004));
        let c = pool.acquire().unwrap();
        assert!(pool.acquire().is_none());
        drop(a);
        assert_eq!(pool.available(), 1);
        let d = pool.acquire().unwrap();
        assert_eq!(d.rtp(), 20002);
        drop((b, c, d));
        assert_eq!(pool.available(), 3);
    }

    #[test]
    fn the_first_port_handed_out_depends_on_the_offset() {
        let range = PortRange {
            first: 20000,
            last: 20009,
        };
        let firsts: Vec<u16> = (0..5)
            .map(|o| {
                Arc::new(PortAllocator::with_offset(range, o))
                    .acquire()
                    .unwrap()
                    .rtp()
            })
            .collect();
        assert_eq!(firsts, vec![20000, 20002, 20004, 20006, 20008]);
        assert_eq!(
            Arc::new(PortAllocator::with_offset(range, 7))
                .acquire()
                .unwrap()
                .rtp(),
            20004
        );
    }

    #[test]
    fn odd_last_port_is_not_used_alone() {
        let pool = Arc::new(PortAllocator::new(PortRange {
            first: 20000,
            last: 20002,
        }));
        assert_eq!(pool.capacity(), 1);
        assert_eq!(pool.acquire().unwrap().rtp(), 20000);
    }
}
