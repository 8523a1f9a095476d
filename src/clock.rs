//! The daemon's one wall clock, injected.
//!
//! The rules never read a clock (they take `now`); the edges that do — the
//! scheduler, the desk, the API, webhook delivery, the payment flow's expiry
//! month — all take this one [`Clock`], built once by the daemon. Tests pass
//! a clock they move by hand, so a day of retries or a month boundary runs in
//! milliseconds. Monotonic time (timers, ring timeouts, RTP pacing) is
//! tokio's `Instant`, which tests control with `tokio::time::pause`.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Wall-clock time, shared and cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Clock {
        Clock(Arc::new(|| {
            DateTime::<Utc>::from(std::time::SystemTime::now())
        }))
    }

    /// A clock read from `f` (tests: a time they move).
    pub fn from_fn(f: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Clock {
        Clock(Arc::new(f))
    }

    /// A clock read as epoch milliseconds from `f`; a value out of chrono's
    /// range reads as the epoch.
    pub fn from_millis(f: impl Fn() -> i64 + Send + Sync + 'static) -> Clock {
        Clock::from_fn(move || DateTime::from_timestamp_millis(f()).unwrap_or_default())
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }

    pub fn now_millis(&self) -> i64 {
        self.now().timestamp_millis()
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::system()
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI64, Ordering};

    #[test]
    fn a_test_clock_moves_only_when_told() {
        let t = Arc::new(AtomicI64::new(1_700_000_000_000));
        let c = t.clone();
        let clock = Clock::from_millis(move || c.load(Ordering::SeqCst));
        assert_eq!(clock.now_millis(), 1_700_000_000_000);
        t.fetch_add(86_400_000, Ordering::SeqCst);
        assert_eq!(
            clock.clone().now_millis(),
            1_700_086_400_000,
            "clones share the source"
        );
    }

    #[test]
    fn out_of_range_millis_read_as_the_epoch() {
        assert_eq!(Clock::from_millis(|| i64::MAX).now_millis(), 0);
    }
}
