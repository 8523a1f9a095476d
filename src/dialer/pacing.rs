//! Trunk pacing: how many calls may be up at once (`max_channels`) and how
//! fast new ones may start (`max_cps`).
//!
//! Carriers police both: an INVITE over the channel count is refused (often
//! 503 or 486, which would burn one of the order's attempts), and a burst
//! above the agreed calls-per-second can get the trunk blocked. So the
//! scheduler asks the pacer before every INVITE. Sans-IO: `now` is passed in.

use std::ops::Add;
use std::time::{Duration, Instant};

/// Channel and rate limits of one trunk. Generic over the time type so
/// tests can run on plain [`Duration`] offsets; the daemon uses [`Instant`].
#[derive(Debug, Clone)]
pub struct CallPacer<T = Instant> {
    max_channels: Option<u32>,
    /// Minimum spacing between call starts (1 / max_cps).
    spacing: Option<Duration>,
    active: u32,
    /// Earliest instant the next call may start.
    next_start: Option<T>,
}

/// Why a call may not start now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait<T = Instant> {
    /// Every channel is busy: wait for a call to end.
    ChannelsFull,
    /// The rate limit allows the next start at this instant.
    Until(T),
}

impl<T: Copy + Ord + Add<Duration, Output = T>> CallPacer<T> {
    /// `max_cps` must be positive and finite (the config validates it).
    pub fn new(max_channels: Option<u32>, max_cps: Option<f64>) -> Self {
        CallPacer {
            max_channels,
            spacing: max_cps
                .filter(|c| *c > 0.0 && c.is_finite())
                .map(|c| Duration::from_secs_f64(1.0 / c)),
            active: 0,
            next_start: None,
        }
    }

    /// Change the limits (a cluster node's share changed, issue #16); calls
    /// up and the next start slot are kept.
    pub fn set_limits(&mut self, max_channels: Option<u32>, max_cps: Option<f64>) {
        *self = CallPacer {
            active: self.active,
            next_start: self.next_start,
            ..CallPacer::new(max_channels, max_cps)
        };
    }

    /// Calls up right now.
    pub fn active(&self) -> u32 {
        self.active
    }

    /// How many more calls the channel limit allows (u32::MAX when unlimited).
    pub fn free_channels(&self) -> u32 {
        self.max_channels
            .map_or(u32::MAX, |m| m.saturating_sub(self.active))
    }

    /// Start a call now if both limits allow it; the caller must pair every
    /// `Ok` with one [`CallPacer::finished`].
    pub fn try_start(&mut self, now: T) -> Result<(), Wait<T>> {
        if self.free_channels() == 0 {
            return Err(Wait::ChannelsFull);
        }
        if let Some(t) = self.next_start {
            if now < t {
                return Err(Wait::Until(t));
            }
        }
        self.active += 1;
        if let Some(s) = self.spacing {
            // Spacing runs from the later of the due slot and now, so an idle
            // trunk does not bank a burst of starts.
            let base = self.next_start.map_or(now, |t| t.max(now));
            self.next_start = Some(base + s);
        }
        Ok(())
    }

    /// A call that started has ended (answered or not).
    pub fn finished(&mut self) {
        self.active = self.active.saturating_sub(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlimited_trunk_never_waits() {
        let t0 = Duration::ZERO;
        let mut p = CallPacer::<Duration>::new(None, None);
        for _ in 0..1000 {
            assert_eq!(p.try_start(t0), Ok(()));
        }
        assert_eq!(p.active(), 1000);
    }

    #[test]
    fn channels_cap_concurrency() {
        let t0 = Duration::ZERO;
        let mut p = CallPacer::<Duration>::new(Some(2), None);
        assert_eq!(p.try_start(t0), Ok(()));
        assert_eq!(p.try_start(t0), Ok(()));
        assert_eq!(p.free_channels(), 0);
        assert_eq!(p.try_start(t0), Err(Wait::ChannelsFull));
        p.finished();
        assert_eq!(p.try_start(t0), Ok(()));
    }

    #[test]
    fn cps_spaces_starts_without_banking_bursts() {
        let t0 = Duration::ZERO;
        let mut p = CallPacer::<Duration>::new(None, Some(5.0));
        let step = Duration::from_millis(200);
        assert_eq!(p.try_start(t0), Ok(()));
        assert_eq!(p.try_start(t0), Err(Wait::Until(t0 + step)));
        assert_eq!(p.try_start(t0 + step), Ok(()));
        // An hour idle does not allow a burst afterwards: one start, then spacing.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(p.try_start(later), Ok(()));
        assert_eq!(p.try_start(later), Err(Wait::Until(later + step)));
    }

    #[test]
    fn simulated_minute_at_max_cps_starts_exactly_rate_times_duration() {
        let t0 = Duration::ZERO;
        let mut p = CallPacer::<Duration>::new(Some(1000), Some(10.0));
        let mut started = 0;
        let mut t = t0;
        // Ask every millisecond for 60 s of simulated time; calls last 1 s.
        let mut ends = std::collections::VecDeque::new();
        while t < t0 + Duration::from_secs(60) {
            while ends.front().is_some_and(|e| *e <= t) {
                ends.pop_front();
                p.finished();
            }
            if p.try_start(t).is_ok() {
                started += 1;
                ends.push_back(t + Duration::from_secs(1));
            }
            t += Duration::from_millis(1);
        }
        assert_eq!(started, 600);
        assert!(p.active() <= 10);
    }
}
