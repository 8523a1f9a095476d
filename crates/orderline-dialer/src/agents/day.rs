//! Seconds per state per day, from the agent log's records.
//!
//! A state lasts from its record to the next one (the last, to `now`); each
//! span is cut at the day's midnights in the floor's time zone, so a shift
//! across midnight counts on both days (VICIdial splits its agent log the
//! same way, by the server's day). Reserved (the customer being connected)
//! counts as talking: the agent is bound to the customer from then on.

use chrono::{DateTime, Days, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::state::StateKind;

/// One day's seconds in each working state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DaySeconds {
    pub paused: i64,
    /// Ready, waiting for a customer.
    pub waiting: i64,
    /// Reserved or in a call.
    pub talking: i64,
    pub wrap_up: i64,
}

impl DaySeconds {
    fn add(&mut self, kind: StateKind, n: i64) {
        match kind {
            StateKind::Paused => self.paused += n,
            StateKind::Ready => self.waiting += n,
            StateKind::Reserved | StateKind::InCall => self.talking += n,
            StateKind::WrapUp => self.wrap_up += n,
            StateKind::Offline | StateKind::Connecting => {}
        }
    }
}

/// The start of `day` in `tz`, in UTC. On a day whose midnight a DST change
/// skips, the day starts at the first instant that exists.
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // No zone in tzdata skips more than an hour at midnight; step
        // forward by the hour until the local time exists.
        chrono::LocalResult::None => (1..=3)
            .find_map(|h| {
                tz.from_local_datetime(&(midnight + chrono::Duration::hours(h)))
                    .earliest()
            })
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&midnight)),
    }
}

/// Seconds per state on `day` (in `tz`), from `marks` (each: when a state
/// began, and which; in time order — [`Transition::mark`](super::Transition::mark)),
/// the last state running until `now`. Marks before the day still matter:
/// the state they start may run into it.
pub fn day_seconds(
    marks: &[(DateTime<Utc>, StateKind)],
    day: NaiveDate,
    tz: Tz,
    now: DateTime<Utc>,
) -> DaySeconds {
    let start = day_start(day, tz);
    let end = day
        .checked_add_days(Days::new(1))
        .map_or(DateTime::<Utc>::MAX_UTC, |d| day_start(d, tz));
    let mut ms = DaySeconds::default();
    for (i, &(at, kind)) in marks.iter().enumerate() {
        let until = marks.get(i + 1).map_or(now, |next| next.0);
        let from = at.max(start);
        let to = until.min(end);
        if to > from {
            ms.add(kind, (to - from).num_milliseconds());
        }
    }
    // Summed in milliseconds and rounded down once, so many short states
    // do not each lose their fraction of a second.
    DaySeconds {
        paused: ms.paused / 1000,
        waiting: ms.waiting / 1000,
        talking: ms.talking / 1000,
        wrap_up: ms.wrap_up / 1000,
    }
}
