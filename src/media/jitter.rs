//! A small reorder buffer for received audio, sans-IO and allocation free.
//!
//! A robo-call only needs received audio in order for the DTMF detector and
//! for recordings, not smooth playout, so this is a *reorder* buffer of
//! [`SLOTS`] fixed slots rather than an adaptive jitter buffer: a packet is
//! released as soon as every earlier one has arrived, or once the newest
//! packet is [`JitterBuffer::depth`] sequence numbers ahead of a hole (the
//! hole is then declared lost). Latency is bounded by `depth` packets.
//!
//! Sequence arithmetic is modulo 2^16 (RFC 3550 §5.1, Appendix A.1);
//! a jump larger than [`MAX_JUMP`] resynchronises the buffer, as a peer
//! restarting its stream would.

/// Number of slots; must be a power of two.
pub const SLOTS: usize = 16;
/// Largest payload kept per slot: 60 ms of G.711.
pub const MAX_PAYLOAD: usize = 480;
/// A sequence jump beyond this is a new stream, not loss (RFC 3550 A.1
/// uses a dropout limit; for 20 ms packets 100 is two seconds).
pub const MAX_JUMP: u16 = 100;

#[derive(Clone, Copy)]
struct Slot {
    full: bool,
    seq: u16,
    timestamp: u32,
    len: u16,
    data: [u8; MAX_PAYLOAD],
}

const EMPTY: Slot = Slot {
    full: false,
    seq: 0,
    timestamp: 0,
    len: 0,
    data: [0; MAX_PAYLOAD],
};

/// Counters kept by the buffer (RFC 3550 §6.4.1 style, without jitter).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReorderStats {
    /// Packets accepted into the buffer.
    pub received: u64,
    /// Sequence numbers skipped as lost.
    pub lost: u64,
    /// Packets that arrived twice.
    pub duplicates: u64,
    /// Packets that arrived after their slot was given up as lost.
    pub late: u64,
    /// Times the stream was resynchronised after a large jump.
    pub resyncs: u64,
}

/// One frame released in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub seq: u16,
    pub timestamp: u32,
    /// Packets declared lost immediately before this one.
    pub lost_before: u16,
    pub payload: &'a [u8],
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    Stored,
    Duplicate,
    Late,
    /// Payload longer than [`MAX_PAYLOAD`]; dropped.
    TooLong,
}

/// The reorder buffer itself: `SLOTS` × `MAX_PAYLOAD` bytes, inline.
pub struct JitterBuffer {
    slots: Box<[Slot; SLOTS]>,
    depth: u16,
    /// Next sequence number to release; `None` before the first packet.
    next: Option<u16>,
    /// Highest sequence number stored (valid when `next` is Some).
    highest: u16,
    /// Bit i set: seq `next - 1 - i` was really received (not given up).
    history: u64,
    pending_lost: u16,
    stats: ReorderStats,
}

impl std::fmt::Debug for JitterBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("depth", &self.depth)
            .field("next", &self.next)
            .field("stats", &self.stats)
            .finish()
    }
}

impl JitterBuffer {
    /// A buffer that waits for at most `depth` packets (1..SLOTS) behind a
    /// hole. 3 (60 ms at 20 ms ptime) absorbs ordinary reordering.
    pub fn new(depth: u16) -> Self {
        Self {
            slots: Box::new([EMPTY; SLOTS]),
            depth: depth.clamp(1, SLOTS as u16 - 1),
            next: None,
            highest: 0,
            history: 0,
            pending_lost: 0,
            stats: ReorderStats::default(),
        }
    }

    pub fn depth(&self) -> u16 {
        self.depth
    }

    pub fn stats(&self) -> ReorderStats {
        self.stats
    }

    /// Forget everything (e.g. the far end changed).
    pub fn reset(&mut self) {
        for s in self.slots.iter_mut() {
            s.full = false;
        }
        self.next = None;
        self.history = 0;
        self.pending_lost = 0;
    }

    /// Offer one packet. Call [`JitterBuffer::pop`] until `None` afterwards.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: &[u8]) -> PushOutcome {
        if payload.len() > MAX_PAYLOAD {
            return PushOutcome::TooLong;
        }
        let next = match self.next {
            None => {
                self.next = Some(seq);
                self.highest = seq;
                seq
            }
            Some(n) => n,
        };
        let ahead = seq.wrapping_sub(next);
        let behind = next.wrapping_sub(seq);
        if ahead > MAX_JUMP && behind > MAX_JUMP {
            self.reset();
            self.stats.resyncs += 1;
            return self.push(seq, timestamp, payload);
        }
        if behind != 0 && behind <= MAX_JUMP {
            // Already released or given up.
            let bit = behind - 1;
            let received = bit < 64 && self.history & (1u64 << bit) != 0;
            return if received {
                self.stats.duplicates += 1;
                PushOutcome::Duplicate
            } else {
                self.stats.late += 1;
                PushOutcome::Late
            };
        }
        // `ahead` in 0..=MAX_JUMP. Anything beyond the ring forces releases
        // (counted as loss) until it fits.
        while seq.wrapping_sub(self.next.unwrap_or(seq)) >= SLOTS as u16 {
            self.give_up_one();
        }
        let slot = &mut self.slots[seq as usize % SLOTS];
        if slot.full && slot.seq == seq {
            self.stats.duplicates += 1;
            return PushOutcome::Duplicate;
        }
        slot.full = true;
        slot.seq = seq;
        slot.timestamp = timestamp;
        slot.len = payload.len() as u16;
        slot.data[..payload.len()].copy_from_slice(payload);
        if seq.wrapping_sub(self.highest) as i16 > 0 {
            self.highest = seq;
        }
        self.stats.received += 1;
        PushOutcome::Stored
    }

    /// Release the next frame in order, if it is there or the wait for it
    /// has exceeded `depth`.
    pub fn pop(&mut self) -> Option<Frame<'_>> {
        let mut next = self.next?;
        loop {
            let idx = next as usize % SLOTS;
            if self.slots[idx].full && self.slots[idx].seq == next {
                break;
            }
            // A hole: wait unless the newest packet is `depth` ahead.
            if self.highest.wrapping_sub(next) >= self.depth
                && self.highest.wrapping_sub(next) < SLOTS as u16
            {
                self.give_up_one();
                next = self.next?;
            } else {
                return None;
            }
        }
        self.next = Some(next.wrapping_add(1));
        self.history = (self.history << 1) | 1;
        let lost_before = std::mem::take(&mut self.pending_lost);
        let slot = &mut self.slots[next as usize % SLOTS];
        slot.full = false;
        Some(Frame {
            seq: slot.seq,
            timestamp: slot.timestamp,
            lost_before,
            payload: &slot.data[..slot.len as usize],
        })
    }

    /// Declare `next` lost and move past it.
    fn give_up_one(&mut self) {
        if let Some(n) = self.next {
            let idx = n as usize % SLOTS;
            if self.slots[idx].full && self.slots[idx].seq == n {
                // Should not happen (pop would have released it); keep the
                // invariant anyway: treat as released without delivery.
                self.slots[idx].full = false;
                self.history = (self.history << 1) | 1;
            } else {
                self.history <<= 1;
                self.stats.lost += 1;
                self.pending_lost = self.pending_lost.saturating_add(1);
            }
            self.next = Some(n.wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(jb: &mut JitterBuffer, out: &mut Vec<(u16, u16, u8)>) {
        while let Some(f) = jb.pop() {
            out.push((f.seq, f.lost_before, f.payload[0]));
        }
    }

    fn feed(jb: &mut JitterBuffer, seqs: &[u16]) -> Vec<(u16, u16, u8)> {
        let mut out = Vec::new();
        for &s in seqs {
            jb.push(s, s as u32 * 160, &[s as u8; 160]);
            drain(jb, &mut out);
        }
        out
    }

    #[test]
    fn in_order_passes_straight_through() {
        let mut jb = JitterBuffer::new(3);
        let out = feed(&mut jb, &[10, 11, 12]);
        assert_eq!(out, vec![(10, 0, 10), (11, 0, 11), (12, 0, 12)]);
    }

    #[test]
    fn reordering_is_repaired() {
        let mut jb = JitterBuffer::new(3);
        let out = feed(&mut jb, &[1, 3, 2, 5, 4, 6]);
        let seqs: Vec<u16> = out.iter().map(|o| o.0).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn duplicates_are_dropped_and_counted() {
        let mut jb = JitterBuffer::new(3);
        let out = feed(&mut jb, &[1, 2, 2, 3, 1, 5, 5]);
        let seqs: Vec<u16> = out.iter().map(|o| o.0).collect();
        assert_eq!(seqs, vec![1, 2, 3]);
        assert_eq!(jb.stats().duplicates, 3);
    }

    #[test]
    fn loss_is_declared_after_depth_and_late_packet_counted() {
        let mut jb = JitterBuffer::new(3);
        let out = feed(&mut jb, &[1, 3, 4]);
        assert_eq!(out, vec![(1, 0, 1)]);
        let out = feed(&mut jb, &[5]);
        assert_eq!(out, vec![(3, 1, 3), (4, 0, 4), (5, 0, 5)]);
        assert_eq!(jb.push(2, 0, &[2]), PushOutcome::Late);
        let s = jb.stats();
        assert_eq!((s.lost, s.late, s.duplicates), (1, 1, 0));
    }

    #[test]
    fn sequence_wrap_is_continuous() {
        let mut jb = JitterBuffer::new(3);
        let out = feed(&mut jb, &[65534, 0, 65535, 1]);
        let seqs: Vec<u16> = out.iter().map(|o| o.0).collect();
        assert_eq!(seqs, vec![65534, 65535, 0, 1]);
        assert_eq!(jb.stats().lost, 0);
    }

    #[test]
    fn large_jump_resyncs() {
        let mut jb = JitterBuffer::new(3);
        let out = feed(&mut jb, &[1, 2, 30000, 30001]);
        let seqs: Vec<u16> = out.iter().map(|o| o.0).collect();
        assert_eq!(seqs, vec![1, 2, 30000, 30001]);
        assert_eq!(jb.stats().resyncs, 1);
    }

    #[test]
    fn burst_loss_wider_than_ring_does_not_wedge() {
        let mut jb = JitterBuffer::new(3);
        // The hole just before 40 is waited for like any other (depth 3).
        let out = feed(&mut jb, &[1, 40, 41, 42]);
        let seqs: Vec<u16> = out.iter().map(|o| o.0).collect();
        assert_eq!(seqs, vec![1, 40, 41, 42]);
        assert_eq!(jb.stats().lost, 38);
        assert_eq!(out[1].1, 38);
    }

    #[test]
    fn oversize_payload_rejected() {
        let mut jb = JitterBuffer::new(3);
        assert_eq!(jb.push(1, 0, &[0; MAX_PAYLOAD + 1]), PushOutcome::TooLong);
    }

    /// Random reordering, duplication and loss across the sequence wrap:
    /// frames come out strictly in order, never twice, and every stored
    /// packet is either released or still waiting.
    #[test]
    fn random_network_keeps_invariants() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(42);
        for round in 0..50 {
            let mut jb = JitterBuffer::new(rng.gen_range(1..8));
            let start: u16 = rng.gen();
            let mut sent: Vec<u16> = Vec::new();
            for k in 0..2000u16 {
                if rng.gen_bool(0.05) {
                    continue; // lost
                }
                sent.push(start.wrapping_add(k));
                if rng.gen_bool(0.05) {
                    sent.push(start.wrapping_add(k)); // duplicated
                }
            }
            // Local reordering: swap within a small window.
            for i in 0..sent.len() {
                let j = (i + rng.gen_range(0..4)).min(sent.len() - 1);
                sent.swap(i, j);
            }
            let mut out: Vec<u16> = Vec::new();
            let mut stored = 0u64;
            for &q in &sent {
                if jb.push(q, q as u32 * 160, &q.to_be_bytes()) == PushOutcome::Stored {
                    stored += 1;
                }
                while let Some(f) = jb.pop() {
                    assert_eq!(
                        f.payload,
                        &f.seq.to_be_bytes(),
                        "payload belongs to its seq"
                    );
                    out.push(f.seq);
                }
            }
            for w in out.windows(2) {
                let d = w[1].wrapping_sub(w[0]);
                assert!(
                    (1..100).contains(&d),
                    "round {round}: {} then {}",
                    w[0],
                    w[1]
                );
            }
            let waiting = stored - out.len() as u64;
            assert!(waiting < SLOTS as u64, "round {round}: {waiting} stuck");
            assert_eq!(jb.stats().received, stored);
        }
    }
}
