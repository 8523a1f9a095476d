//! Frame pacing on absolute deadlines, sans-IO.
//!
//! Deadline *n* is `start + n·ptime`, computed from the start instant each
//! time, never by adding a period to "now", so a long call does not drift
//! (a 1-hour call at 20 ms is exactly 180,000 frames). After a stall (the
//! task was not scheduled for a while) the pacer sends up to
//! [`Pacer::MAX_CATCH_UP`] overdue frames back to back — a receiver's
//! jitter buffer absorbs that — and skips anything older: the skipped
//! frames become a gap in the RTP timestamp (RFC 3550 §5.1: the timestamp
//! reflects the sampling instant), not a burst that would overflow the far
//! end's buffer.

use std::time::{Duration, Instant};

/// What to do at a wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tick {
    /// Frames to send now (0 if woken early).
    pub send: u32,
    /// Frames given up because they are too old; advance the RTP clock by
    /// this many frames before sending.
    pub skipped: u32,
}

/// Absolute-deadline frame clock.
#[derive(Debug, Clone)]
pub struct Pacer {
    start: Instant,
    period: Duration,
    /// Index of the next frame to send.
    next: u64,
}

impl Pacer {
    /// Overdue frames sent in a burst before the rest are skipped.
    pub const MAX_CATCH_UP: u32 = 3;

    /// Frame 0 is due at `start`.
    pub fn new(start: Instant, period: Duration) -> Self {
        Self {
            start,
            period,
            next: 0,
        }
    }

    pub fn period(&self) -> Duration {
        self.period
    }

    /// Frames handed out so far (sent + skipped).
    pub fn frames(&self) -> u64 {
        self.next
    }

    /// When the next frame is due.
    pub fn deadline(&self) -> Instant {
        self.due(self.next)
    }

    fn due(&self, n: u64) -> Instant {
        // u32 multiply is enough for 2^32 frames (2.7 years at 20 ms).
        self.start + self.period * (n.min(u32::MAX as u64) as u32)
    }

    /// Account for a wake-up at `now`.
    pub fn on_wake(&mut self, now: Instant) -> Tick {
        if now < self.deadline() {
            return Tick {
                send: 0,
                skipped: 0,
            };
        }
        // Frames whose deadline has passed: next ..= due_index.
        let elapsed = now.duration_since(self.start);
        let due_index = (elapsed.as_nanos() / self.period.as_nanos().max(1)) as u64;
        let overdue = due_index + 1 - self.next;
        let send = overdue.min(Self::MAX_CATCH_UP as u64) as u32;
        let skipped = (overdue - send as u64) as u32;
        self.next = due_index + 1;
        Tick { send, skipped }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Duration = Duration::from_millis(20);

    #[test]
    fn on_time_wakeups_send_one_frame_each_without_drift() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, P);
        let mut sent = 0;
        // Wake slightly late every time: the deadlines stay on the grid.
        for _ in 0..180_000 {
            let now = p.deadline() + Duration::from_micros(700);
            let t = p.on_wake(now);
            assert_eq!(
                t,
                Tick {
                    send: 1,
                    skipped: 0
                }
            );
            sent += 1;
        }
        assert_eq!(p.deadline(), t0 + Duration::from_secs(3600));
        assert_eq!(sent, 180_000);
    }

    #[test]
    fn early_wakeup_sends_nothing() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, P);
        assert_eq!(p.on_wake(t0).send, 1);
        assert_eq!(
            p.on_wake(t0 + Duration::from_millis(19)),
            Tick {
                send: 0,
                skipped: 0
            }
        );
    }

    #[test]
    fn short_stall_catches_up_long_stall_skips() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, P);
        assert_eq!(p.on_wake(t0).send, 1);
        // 45 ms late for frame 1: frames 1, 2 and 3 (due at 60 ms) are due.
        assert_eq!(
            p.on_wake(t0 + Duration::from_millis(65)),
            Tick {
                send: 3,
                skipped: 0
            }
        );
        // Now stall for a second: 50 frames overdue, send 3, skip the rest.
        let t = p.on_wake(t0 + Duration::from_millis(1065));
        assert_eq!(t.send + t.skipped, 50);
        assert_eq!(t.send, Pacer::MAX_CATCH_UP);
        assert_eq!(p.deadline(), t0 + Duration::from_millis(1080));
    }
}
