//! The daily calling window, in a real IANA time zone.
//!
//! Customers may only be called between, say, 09:15 and 20:45 *their* local
//! time. Local time is not a fixed offset from UTC: on DST days a local day is
//! 23 or 25 hours long, some local times happen twice and some never. So the
//! window is computed per local calendar day from the zone's rules, never by
//! adding 24 hours to yesterday's opening.

use chrono::{
    DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

/// A calling window or time zone that cannot be used, naming what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    #[error("unknown IANA time zone {0:?}")]
    TimeZone(String),
    #[error("calling window {window:?}: {reason}")]
    Window { window: String, reason: String },
}

/// A daily window `[start, end)` of local time in `tz`.
///
/// Windows that cross midnight (`22:00-06:00`) are refused: nobody should get a
/// confirmation robo-call at night, and refusing keeps "which day does this
/// window belong to" out of the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallWindow {
    start: NaiveTime,
    end: NaiveTime,
    tz: Tz,
}

impl CallWindow {
    /// Parse `"HH:MM-HH:MM"` and an IANA zone name such as `"Asia/Karachi"`.
    pub fn parse(window: &str, timezone: &str) -> Result<CallWindow, WindowError> {
        let tz = parse_timezone(timezone)?;
        let bad = |reason: &str| WindowError::Window {
            window: window.to_string(),
            reason: reason.to_string(),
        };
        let (a, b) = window
            .split_once('-')
            .ok_or_else(|| bad("expected HH:MM-HH:MM"))?;
        let parse = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M")
                .map_err(|_| bad("times must be HH:MM (00:00 to 23:59)"))
        };
        let (start, end) = (parse(a)?, parse(b)?);
        if start == end {
            return Err(bad("start and end are equal: the window would be empty"));
        }
        if start > end {
            return Err(bad("windows crossing midnight are not supported; end must be after start on the same day"));
        }
        Ok(CallWindow { start, end, tz })
    }

    /// The same daily hours in another zone (an order's own time zone).
    pub fn in_zone(&self, tz: Tz) -> CallWindow {
        CallWindow { tz, ..*self }
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// The daily hours as written in config, `"HH:MM-HH:MM"`.
    pub fn hours(&self) -> String {
        format!(
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }

    /// Whether `t` may be used for a call.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let (open, close) = self.bounds_on(t.with_timezone(&self.tz).date_naive());
        open <= t && t < close
    }

    /// The earliest instant at or after `t` that lies inside the window:
    /// `t` itself when it is inside, else the next opening.
    pub fn next_opening(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        let mut day = t.with_timezone(&self.tz).date_naive();
        // Two days always suffice for a non-empty same-day window; the bound
        // is generous so that no zone rule can make this loop forever.
        for _ in 0..8 {
            let (open, close) = self.bounds_on(day);
            if t < open {
                return open;
            }
            if t < close {
                return t;
            }
            day = match day.checked_add_days(Days::new(1)) {
                Some(d) => d,
                None => break,
            };
        }
        t
    }

    /// Opening and closing instants on a local calendar day.
    ///
    /// A wall time skipped by a DST jump maps to the first instant after the
    /// gap (the window opens when the clocks jump); a wall time that happens
    /// twice maps to its first occurrence.
    fn bounds_on(&self, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (
            self.resolve(day.and_time(self.start)),
            self.resolve(day.and_time(self.end)),
        )
    }

    fn resolve(&self, local: NaiveDateTime) -> DateTime<Utc> {
        // Gaps are at most a few hours (most are 1 h, Lord Howe is 30 min);
        // walk forward a minute at a time to the first wall time that exists.
        let mut probe = local;
        for _ in 0..=(24 * 60) {
            match self.tz.from_local_datetime(&probe) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                LocalResult::None => probe += TimeDelta::minutes(1),
            }
        }
        // Unreachable for real zone data; fall back to reading the wall time as UTC.
        local.and_utc()
    }
}

/// Parse an IANA zone name, naming it in the error.
pub fn parse_timezone(name: &str) -> Result<Tz, WindowError> {
    name.parse::<Tz>()
        .map_err(|_| WindowError::TimeZone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .unwrap()
    }

    #[test]
    fn parse_refuses_bad_windows_clearly() {
        assert!(CallWindow::parse("09:15-20:45", "Asia/Karachi").is_ok());
        let e = CallWindow::parse("22:00-06:00", "UTC").unwrap_err();
        assert!(e.to_string().contains("crossing midnight"), "{e}");
        assert!(CallWindow::parse("09:00-09:00", "UTC").is_err());
        assert!(CallWindow::parse("9-5", "UTC").is_err());
        assert!(CallWindow::parse("25:00-26:00", "UTC").is_err());
        let e = CallWindow::parse("09:00-17:00", "Mars/Olympus").unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
    }

    #[test]
    fn karachi_evening_order_waits_for_next_morning() {
        // Asia/Karachi is UTC+5 all year. 21:00 local = 16:00 UTC.
        let w = CallWindow::parse("09:15-20:45", "Asia/Karachi").unwrap();
        assert_eq!(
            w.next_opening(utc("2026-11-23T16:00:00Z")),
            utc("2026-11-24T04:15:00Z")
        );
        // Inside: unchanged. At the closing minute: next day.
        assert_eq!(
            w.next_opening(utc("2026-11-23T10:00:00Z")),
            utc("2026-11-23T10:00:00Z")
        );
        assert_eq!(
            w.next_opening(utc("2026-11-23T15:45:00Z")),
            utc("2026-11-24T04:15:00Z")
        );
        assert!(!w.contains(utc("2026-11-23T15:45:00Z")));
        assert!(w.contains(utc("2026-11-23T15:44:59Z")));
        // Early morning local: same day's opening.
        assert_eq!(
            w.next_opening(utc("2026-11-23T01:00:00Z")),
            utc("2026-11-23T04:15:00Z")
        );
    }
}
