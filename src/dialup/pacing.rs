//! One sans-IO [`Pacer`] per call mode, behind the [`Dialup`](super::Dialup)
//! handle (issue #12): agent sessions and live dialing feed it events, the
//! dialer asks it how many lines to dial, and `GET /v1/dialer/modes/{id}/stats`
//! reads it. A plain `std` mutex: every operation is a few microseconds of
//! arithmetic and never awaits while holding it.
//!
//! The pacer's clock is a [`Duration`] since the mode's epoch, a local
//! midnight (its day buckets are the 30-day window's days and its hours the
//! answer model's hours), so wall time is converted here in the mode's zone.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use orderline_dialer::modes::{CallModes, QueueError};
use orderline_dialer::pacer::model::DayCount;
use orderline_dialer::pacer::{
    AgentEvent, AgentId, CallEvent, CallId, Pacer, PacerConfig, PacerStats,
};

/// The pacers of all modes, each with its mode's zone.
pub(super) struct ModePacers {
    pacers: Mutex<HashMap<String, (Tz, Pacer)>>,
}

/// `now` as the pacer's clock: local time in `tz` since 1970-01-01 00:00
/// local (a local midnight, so days and hours follow the mode's zone).
fn local_since_epoch(now: DateTime<Utc>, tz: Tz) -> Duration {
    let local = now.with_timezone(&tz).naive_local().and_utc();
    let secs = u64::try_from(local.timestamp()).unwrap_or(0);
    Duration::new(secs, local.timestamp_subsec_nanos())
}

impl ModePacers {
    /// A fresh pacer per mode with the mode's abandon cap (validated by the
    /// config, so a refusal here cannot happen; a mode it did refuse would
    /// get no pacer and answer "unknown mode").
    pub(super) fn new(rules: &CallModes) -> ModePacers {
        let mut pacers = HashMap::new();
        for m in rules.modes() {
            let cfg = PacerConfig {
                abandon_cap_pct: m.abandon_cap_pct,
                ..PacerConfig::default()
            };
            match Pacer::new(cfg) {
                Ok(p) => {
                    pacers.insert(m.id.clone(), (m.window.timezone(), p));
                }
                Err(e) => tracing::error!(mode = %m.id, error = %e, "mode gets no pacer"),
            }
        }
        ModePacers {
            pacers: Mutex::new(pacers),
        }
    }

    fn with<T>(&self, mode: &str, f: impl FnOnce(&mut Pacer, Tz) -> T) -> Result<T, QueueError> {
        // A panic elsewhere while holding the lock leaves plain counters
        // behind, still usable: take them rather than fail every call.
        let mut pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
        let (tz, pacer) = pacers
            .get_mut(mode)
            .ok_or_else(|| QueueError::UnknownMode(mode.to_string()))?;
        Ok(f(pacer, *tz))
    }

    pub(super) fn agent(
        &self,
        mode: &str,
        agent: AgentId,
        ev: AgentEvent,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        self.with(mode, |p, tz| p.agent(local_since_epoch(now, tz), agent, ev))
    }

    pub(super) fn call(
        &self,
        mode: &str,
        call: CallId,
        ev: CallEvent,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        self.with(mode, |p, tz| p.call(local_since_epoch(now, tz), call, ev))
    }

    pub(super) fn dial_now(&self, mode: &str, now: DateTime<Utc>) -> Result<u32, QueueError> {
        self.with(mode, |p, tz| p.dial_now(local_since_epoch(now, tz)))
    }

    /// Today's ledger count of `mode` (to store after a line event).
    pub(super) fn today(&self, mode: &str, now: DateTime<Utc>) -> Result<DayCount, QueueError> {
        self.with(mode, |p, tz| p.ledger_today(local_since_epoch(now, tz)))
    }

    /// Put `mode`'s stored days back (those outside its window are skipped).
    pub(super) fn restore(
        &self,
        mode: &str,
        days: Vec<DayCount>,
        now: DateTime<Utc>,
    ) -> Result<(), QueueError> {
        self.with(mode, |p, tz| {
            p.restore_ledger(local_since_epoch(now, tz), days)
        })
    }

    /// The ids of every mode with a pacer.
    pub(super) fn modes(&self) -> Vec<String> {
        let pacers = self.pacers.lock().unwrap_or_else(|e| e.into_inner());
        pacers.keys().cloned().collect()
    }

    pub(super) fn stats(&self, mode: &str, now: DateTime<Utc>) -> Result<PacerStats, QueueError> {
        self.with(mode, |p, tz| p.stats(local_since_epoch(now, tz)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pacer_clock_is_local_time_since_a_local_midnight() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T04:30:00Z")
            .expect("valid")
            .with_timezone(&Utc);
        // Karachi is UTC+5: 09:30 local.
        let d = local_since_epoch(now, chrono_tz::Asia::Karachi);
        assert_eq!(d.as_secs() % 86_400, 9 * 3600 + 30 * 60);
        assert_eq!(
            local_since_epoch(now, chrono_tz::UTC).as_secs() % 86_400,
            4 * 3600 + 30 * 60
        );
    }
}
