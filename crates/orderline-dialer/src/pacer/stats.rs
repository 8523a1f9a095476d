//! What an operator's dashboard shows of a pacer: its dial level, the
//! answer rate it forecasts, the 30-day abandon rate against the legal 3 %
//! (16 CFR 310.4(b)(4)(i)) and today's lines. Served as
//! `GET /v1/dialer/modes/{id}/stats`.

use std::time::Duration;

use super::{day_of, hour_of, Pacer, LEGAL_CAP_PCT};

/// Today's lines, by the pacer's day (its epoch's midnights).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct DayStats {
    pub placed: u64,
    pub answered: u64,
    pub abandoned: u64,
}

/// A pacer's state as an operator sees it; the JSON of
/// `GET /v1/dialer/modes/{id}/stats`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct PacerStats {
    /// Lines up (ringing or waiting) per active agent after the last decision.
    pub dial_level: f64,
    /// Forecast live-answer probability of a line dialled this hour.
    pub forecast_answer_rate: f64,
    pub answered_30d: u64,
    pub abandoned_30d: u64,
    /// Abandons per live answer over the rolling 30 days, percent.
    pub abandon_pct_30d: f64,
    /// The mode's configured cap, percent.
    pub abandon_cap_pct: f64,
    /// The legal 3 % minus the 30-day rate, percentage points.
    pub margin_to_cap_pct: f64,
    /// The abandon rate the budget allows right now, percent.
    pub allowed_abandon_pct: f64,
    /// Real abandons per forecast one, as learned.
    pub forecast_bias: f64,
    /// Today's share of the mode's agents' logged-in time (paused included)
    /// spent with a customer or in wrap-up; `null` before anyone logged in.
    pub occupancy: Option<f64>,
    pub today: DayStats,
}

impl Pacer {
    /// What an operator's dashboard shows of this pacer at `now`
    /// (`GET /v1/dialer/modes/{id}/stats`).
    pub fn stats(&mut self, now: Duration) -> PacerStats {
        self.accrue_occupancy(now);
        let (answered_30d, abandoned_30d) = self.window_totals(now);
        let pct = if answered_30d == 0 {
            0.0
        } else {
            100.0 * abandoned_30d as f64 / answered_30d as f64
        };
        let (placed, answered, abandoned) = self.ledger.day(day_of(now));
        PacerStats {
            dial_level: self.level,
            forecast_answer_rate: self.answers.estimate(hour_of(now)).live_mean,
            answered_30d,
            abandoned_30d,
            abandon_pct_30d: pct,
            abandon_cap_pct: self.cfg.abandon_cap_pct,
            margin_to_cap_pct: LEGAL_CAP_PCT - pct,
            allowed_abandon_pct: 100.0 * self.allowed_abandon_rate(now),
            forecast_bias: self.forecast_bias(),
            occupancy: self.occupancy.share(),
            today: DayStats {
                placed,
                answered,
                abandoned,
            },
        }
    }
}
