//! A fixed ring of 8 kHz samples between two clocks, sans-IO: one leg's
//! received audio goes in as packets arrive, the other leg's pacer takes
//! whole frames out. No allocation, ever (the storage is inline).
//!
//! - **Overflow**: the oldest samples are dropped (capacity 200 ms).
//! - **Underflow**: the reader gets a frame of silence, and waits until a
//!   frame plus [`PcmRing::PREFILL`] is buffered before it plays again, so
//!   that arrival jitter up to that much costs one gap, not a gap per
//!   frame. Frames are all-or-nothing: no half-silent frame.
//! - **Lag**: if more than [`PcmRing::MAX_LAG`] stays buffered after a read
//!   (the writer's clock runs fast, or a burst arrived), the oldest are
//!   dropped down to the prefill, so the delay cannot creep up.

/// Capacity: 200 ms at 8 kHz.
pub const CAPACITY: usize = 1600;

/// Counters of one ring.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Frames the reader got as silence because too little was buffered.
    pub underruns: u64,
    /// Samples dropped: overflow, lag trimming, skipped frames, mode changes.
    pub dropped: u64,
}

/// Sample FIFO between a writer and a frame-paced reader.
#[derive(Clone)]
pub struct PcmRing {
    buf: [i16; CAPACITY],
    /// Read position.
    head: usize,
    len: usize,
    primed: bool,
    /// The next start needs one frame, not the prefill ([`PcmRing::start_fast`]).
    fast: bool,
    stats: RingStats,
}

impl std::fmt::Debug for PcmRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcmRing")
            .field("len", &self.len)
            .field("primed", &self.primed)
            .field("stats", &self.stats)
            .finish()
    }
}

impl Default for PcmRing {
    fn default() -> Self {
        Self::new()
    }
}

impl PcmRing {
    /// Let the next start need one whole frame only, not the prefill too
    /// (a session connecting a customer: the first sound is heard a frame
    /// sooner; the cushion is rebuilt at the first underrun, if any).
    pub fn start_fast(&mut self) {
        self.fast = true;
    }

    /// Buffered beyond one frame before the reader (re)starts: 20 ms.
    pub const PREFILL: usize = 160;
    /// Most audio left buffered after a read: 100 ms.
    pub const MAX_LAG: usize = 800;

    pub fn new() -> Self {
        Self {
            buf: [0; CAPACITY],
            head: 0,
            len: 0,
            primed: false,
            fast: false,
            stats: RingStats::default(),
        }
    }

    /// Samples buffered.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn stats(&self) -> RingStats {
        self.stats
    }

    /// Append samples; on overflow the oldest are dropped.
    pub fn push(&mut self, pcm: &[i16]) {
        let pcm = if pcm.len() > CAPACITY {
            self.drop_oldest(self.len);
            self.stats.dropped += (pcm.len() - CAPACITY) as u64;
            &pcm[pcm.len() - CAPACITY..]
        } else {
            pcm
        };
        let over = (self.len + pcm.len()).saturating_sub(CAPACITY);
        self.drop_oldest(over);
        let mut tail = (self.head + self.len) % CAPACITY;
        let mut rest = pcm;
        while !rest.is_empty() {
            let k = rest.len().min(CAPACITY - tail);
            self.buf[tail..tail + k].copy_from_slice(&rest[..k]);
            rest = &rest[k..];
            tail = (tail + k) % CAPACITY;
        }
        self.len += pcm.len();
    }

    /// Fill `out` (one frame) with the oldest samples, or with silence if
    /// a whole frame is not there (see the module docs). Returns whether
    /// it was audio.
    pub fn pop(&mut self, out: &mut [i16]) -> bool {
        let n = out.len().min(CAPACITY);
        let need = if self.fast { n } else { n + Self::PREFILL };
        if !self.primed && self.len >= need.min(CAPACITY) {
            self.primed = true;
            self.fast = false;
        }
        if !self.primed || self.len < n {
            if self.primed {
                self.stats.underruns += 1;
                self.primed = false;
            }
            out.fill(0);
            return false;
        }
        let mut done = 0;
        while done < n {
            let k = (n - done).min(CAPACITY - self.head);
            out[done..done + k].copy_from_slice(&self.buf[self.head..self.head + k]);
            self.head = (self.head + k) % CAPACITY;
            done += k;
        }
        self.len -= n;
        out[n..].fill(0);
        if self.len > Self::MAX_LAG {
            self.drop_oldest(self.len - Self::PREFILL);
        }
        true
    }

    /// Drop up to `samples` of the oldest audio (the reader skipped frames).
    pub fn skip(&mut self, samples: usize) {
        self.drop_oldest(samples.min(self.len));
    }

    /// Forget everything buffered; the reader waits for the prefill again.
    pub fn clear(&mut self) {
        self.drop_oldest(self.len);
        self.head = 0;
        self.primed = false;
        self.fast = false;
    }

    fn drop_oldest(&mut self, n: usize) {
        let n = n.min(self.len);
        self.head = (self.head + n) % CAPACITY;
        self.len -= n;
        self.stats.dropped += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(from: i16, n: usize) -> Vec<i16> {
        (0..n).map(|i| from + i as i16).collect()
    }

    #[test]
    fn waits_for_prefill_then_plays_in_order_across_the_wrap() {
        let mut r = PcmRing::new();
        let mut out = [0i16; 160];
        r.push(&ramp(1, 160));
        assert!(!r.pop(&mut out), "one frame is not enough to start");
        assert!(out.iter().all(|&s| s == 0));
        r.push(&ramp(161, 160));
        let mut next = 1i16;
        // Writer and reader at the same rate, many times around the ring.
        for k in 0..40 {
            assert!(r.pop(&mut out), "frame {k}");
            assert_eq!(out[..], ramp(next, 160)[..], "frame {k}");
            next = next.wrapping_add(160);
            r.push(&ramp(next.wrapping_add(160), 160));
        }
        assert_eq!(r.stats(), RingStats::default());
    }

    #[test]
    fn underflow_is_one_silent_frame_then_a_prefill() {
        let mut r = PcmRing::new();
        let mut out = [0i16; 160];
        r.push(&ramp(1, 320));
        assert!(r.pop(&mut out));
        assert!(r.pop(&mut out));
        r.push(&ramp(1000, 100));
        assert!(!r.pop(&mut out), "partial frame: silence, not half a frame");
        assert_eq!(r.stats().underruns, 1);
        r.push(&ramp(1100, 160));
        assert!(!r.pop(&mut out), "260 < frame + prefill");
        r.push(&ramp(1260, 60));
        assert!(r.pop(&mut out));
        assert_eq!(out[..], ramp(1000, 160)[..], "nothing lost");
    }

    #[test]
    fn overflow_drops_oldest_and_lag_is_bounded() {
        let mut r = PcmRing::new();
        let mut out = [0i16; 160];
        r.push(&ramp(0, 1000));
        r.push(&ramp(1000, 1000));
        assert_eq!(r.len(), CAPACITY);
        assert_eq!(r.stats().dropped, 400);
        assert!(r.pop(&mut out));
        assert_eq!(out[0], 400, "oldest dropped");
        // 1440 left > MAX_LAG: trimmed to the prefill, newest kept.
        assert_eq!(r.len(), PcmRing::PREFILL);
        assert!(r.pop(&mut out));
        assert_eq!(out[159], 1999);
        // A push larger than the ring keeps its tail.
        r.push(&ramp(0, 2000));
        assert_eq!(r.len(), CAPACITY);
    }

    #[test]
    fn frames_of_another_size_than_the_writer() {
        // Writer at 20 ms, reader at 30 ms.
        let mut r = PcmRing::new();
        let mut out = [0i16; 240];
        let mut got = Vec::new();
        let mut w = 0i16;
        for t in 0..60 {
            // Both clocks on a 10 ms grid.
            if t % 2 == 0 {
                r.push(&ramp(w, 160));
                w = w.wrapping_add(160);
            }
            if t % 3 == 2 && r.pop(&mut out) {
                got.extend_from_slice(&out);
            }
        }
        assert!(got.len() >= 240 * 15, "{}", got.len());
        assert!(got.windows(2).all(|p| p[1] == p[0].wrapping_add(1)));
        assert_eq!(r.stats().underruns, 0);
    }

    #[test]
    fn clear_and_skip() {
        let mut r = PcmRing::new();
        let mut out = [0i16; 160];
        r.push(&ramp(0, 640));
        r.skip(160);
        assert!(r.pop(&mut out));
        assert_eq!(out[0], 160);
        r.clear();
        assert!(r.is_empty());
        r.push(&ramp(0, 160));
        assert!(!r.pop(&mut out), "cleared: prefill again");
    }

    #[test]
    fn a_fast_start_plays_the_first_frame_at_once_then_prefills_again() {
        let mut r = PcmRing::new();
        r.start_fast();
        let mut out = [0i16; 160];
        r.push(&ramp(1, 160));
        assert!(r.pop(&mut out), "one frame is enough after start_fast");
        assert_eq!(out[0], 1);
        assert!(!r.pop(&mut out), "underrun");
        r.push(&ramp(1, 160));
        assert!(
            !r.pop(&mut out),
            "after an underrun the prefill is wanted again"
        );
        r.push(&ramp(1, 160));
        assert!(r.pop(&mut out));
        r.start_fast();
        r.clear();
        r.push(&ramp(1, 160));
        assert!(!r.pop(&mut out), "clear forgets a fast start");
    }
}
