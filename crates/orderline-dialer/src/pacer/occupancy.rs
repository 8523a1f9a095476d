//! Occupancy as the issue defines it and as an operator reads it: the share
//! of the agents' logged-in time spent talking, reserved for a customer or
//! in wrap-up, today (the pacer's day, since its midnight). The simulator
//! reports the same share per run; `GET /v1/dialer/modes/{id}/stats` shows
//! it live.

use std::time::Duration;

/// Agent-time integrals for one day, accrued at every agent move.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Occupancy {
    day: u64,
    /// When the integrals were last brought up to date.
    last: Duration,
    /// Σ over agents of logged-in time (paused included: a paused agent is
    /// logged in and paid, as VICIdial counts it).
    logged_in: Duration,
    /// Σ over agents of time busy with a customer or wrap-up.
    busy: Duration,
}

impl Occupancy {
    /// Bring the integrals up to `now`, given the agents logged in and busy
    /// since the last call. A new day starts from zero.
    pub fn accrue(&mut self, now: Duration, day: u64, logged_in: u32, busy: u32) {
        let dt = now.saturating_sub(self.last);
        if day != self.day {
            *self = Occupancy {
                day,
                last: now,
                ..Occupancy::default()
            };
            return;
        }
        self.logged_in += dt * logged_in;
        self.busy += dt * busy;
        self.last = now;
    }

    /// Busy time over logged-in time today; `None` before anyone logged in.
    pub fn share(&self) -> Option<f64> {
        (!self.logged_in.is_zero()).then(|| self.busy.as_secs_f64() / self.logged_in.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn busy_share_of_logged_in_time() {
        let mut o = Occupancy::default();
        o.accrue(Duration::ZERO, 0, 0, 0);
        assert_eq!(o.share(), None);
        // Two agents logged in for 10 s, one of them busy.
        o.accrue(10 * S, 0, 2, 1);
        assert_eq!(o.share(), Some(0.5));
        // Then both busy for 10 s: 30 of 40 agent-seconds.
        o.accrue(20 * S, 0, 2, 2);
        assert_eq!(o.share(), Some(0.75));
    }

    #[test]
    fn a_new_day_starts_from_zero() {
        let mut o = Occupancy::default();
        o.accrue(10 * S, 0, 1, 1);
        assert_eq!(o.share(), Some(1.0));
        o.accrue(86_410 * S, 1, 1, 1);
        assert_eq!(o.share(), None);
        o.accrue(86_420 * S, 1, 1, 0);
        assert_eq!(o.share(), Some(0.0));
    }
}
