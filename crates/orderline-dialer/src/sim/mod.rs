//! `orderline dialer simulate`: a discrete-event simulation of one agent
//! floor under three pacers — `progressive` (one line per ready agent),
//! `vicidial` (ADAPT_HARD_LIMIT with its defaults) and `orderline` (our
//! [`Pacer`](crate::pacer::Pacer)) — on one seeded random stream: call k is
//! the same customer for all three (see [`customers`]).
//!
//! The answer rate is P(answered by anyone); the machine rate is the share of
//! answered calls taken by a machine (AMD is on when it is above 0: machines
//! hold the line 3 s and never reach an agent; a person is held until the
//! detector would say `human`, 0.8 s after their greeting, and the 2 s
//! window runs from the greeting's end, as on a live line; see
//! [`engine`]). With AMD off a person is routed at once and the window runs
//! from the answer, as live.

pub mod customers;
pub mod engine;
pub mod policies;

use serde::Serialize;

use crate::pacer::{PacerConfig, PacerError};
use customers::{CustomerStream, Population};
use engine::{Engine, Tally};
use policies::{Orderline, Progressive, Vicidial};

/// A simulation setting that cannot run, naming the argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error("--agents must be at least 1")]
    Agents,
    #[error("--hours {0} must be above 0 (and at most 24 when several days run)")]
    Hours(f64),
    #[error("--{name} {value} must be within [0, 1]")]
    Rate { name: &'static str, value: f64 },
    #[error("--{name} {value} must be a finite number of seconds ≥ 0 (ring: > 0)")]
    Mean { name: &'static str, value: f64 },
    #[error("--abandon-cap: {0}")]
    Cap(#[from] PacerError),
    #[error("days must be at least 1")]
    Days,
}

/// One simulation's parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub agents: u32,
    /// Working hours per day.
    pub hours: f64,
    pub seed: u64,
    pub answer_rate: f64,
    pub machine_rate: f64,
    pub talk_mean: f64,
    pub wrap_mean: f64,
    pub ring_mean: f64,
    /// The `orderline` pacer's cap and VICIdial's drop limit, percent.
    pub abandon_cap_pct: f64,
    /// Consecutive working days (the pacers keep what they learned).
    pub days: u32,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            agents: 20,
            hours: 8.0,
            seed: 1,
            answer_rate: 0.3,
            machine_rate: 0.0,
            talk_mean: 90.0,
            wrap_mean: 15.0,
            ring_mean: 8.0,
            abandon_cap_pct: 3.0,
            days: 1,
        }
    }
}

impl SimConfig {
    /// Check every argument, naming the first bad one.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.agents < 1 {
            return Err(SimError::Agents);
        }
        if self.days < 1 {
            return Err(SimError::Days);
        }
        if !(self.hours.is_finite() && self.hours > 0.0) || (self.days > 1 && self.hours > 24.0) {
            return Err(SimError::Hours(self.hours));
        }
        for (name, value) in [
            ("answer-rate", self.answer_rate),
            ("machine-rate", self.machine_rate),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(SimError::Rate { name, value });
            }
        }
        for (name, value) in [("talk-mean", self.talk_mean), ("wrap-mean", self.wrap_mean)] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(SimError::Mean { name, value });
            }
        }
        if !(self.ring_mean.is_finite() && self.ring_mean > 0.0) {
            return Err(SimError::Mean {
                name: "ring-mean",
                value: self.ring_mean,
            });
        }
        self.pacer_config().validate()?;
        Ok(())
    }

    fn pacer_config(&self) -> PacerConfig {
        PacerConfig {
            abandon_cap_pct: self.abandon_cap_pct,
            ..PacerConfig::default()
        }
    }

    fn population(&self) -> Population {
        Population {
            answer_rate: self.answer_rate,
            machine_rate: self.machine_rate,
            ring_mean: self.ring_mean,
            talk_mean: self.talk_mean,
            wrap_mean: self.wrap_mean,
        }
    }
}

/// The pacers the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacerKind {
    Progressive,
    Vicidial,
    Orderline,
}

impl PacerKind {
    /// All three, in report order.
    pub const ALL: [PacerKind; 3] = [
        PacerKind::Progressive,
        PacerKind::Vicidial,
        PacerKind::Orderline,
    ];

    pub fn name(self) -> &'static str {
        match self {
            PacerKind::Progressive => "progressive",
            PacerKind::Vicidial => "vicidial",
            PacerKind::Orderline => "orderline",
        }
    }
}

/// Live answers and abandons of one simulated day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayTotals {
    pub answered: u64,
    pub abandoned: u64,
}

/// One pacer's result; the JSON field names are a stable contract.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub pacer: &'static str,
    /// Lines dialled.
    pub calls: u64,
    /// Live (human) answers.
    pub answered: u64,
    /// Live answers that found no agent in time.
    pub abandoned: u64,
    /// 100 · abandoned / answered.
    pub abandon_pct: f64,
    /// Share of logged-in time spent talking or in wrap-up.
    pub occupancy: f64,
    /// Talk minutes per agent per logged-in hour.
    pub talk_min_per_hour: f64,
    /// Mean seconds from a connected customer's answer to the agent.
    pub mean_wait_s: f64,
    /// Answering machines detected (never live answers).
    pub machines: u64,
    /// Customers connected later than 2 s after answering (only a pacer
    /// whose drop timer is longer than 2 s, i.e. VICIdial's 5 s, has any).
    pub connected_after_2s: u64,
    /// Per-day totals, for 30-day checks (not printed).
    #[serde(skip)]
    pub days: Vec<DayTotals>,
}

impl Report {
    fn new(kind: PacerKind, t: Tally) -> Report {
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        let hours = t.logged_in_s / 3600.0;
        Report {
            pacer: kind.name(),
            calls: t.calls,
            answered: t.answered,
            abandoned: t.abandoned,
            abandon_pct: pct(t.abandoned, t.answered),
            occupancy: if t.logged_in_s > 0.0 {
                t.busy_s / t.logged_in_s
            } else {
                0.0
            },
            talk_min_per_hour: if hours > 0.0 {
                t.talk_s / 60.0 / hours
            } else {
                0.0
            },
            mean_wait_s: if t.connected > 0 {
                t.wait_sum / t.connected as f64
            } else {
                0.0
            },
            machines: t.machines,
            connected_after_2s: t.late_over_2s,
            days: t.days,
        }
    }

    /// The highest abandon rate (percent) of any 30-day window of the run
    /// (the whole run when shorter).
    pub fn worst_30_day_pct(&self) -> f64 {
        let span = self.days.len().clamp(1, 30);
        self.days
            .windows(span)
            .map(|w| {
                let (a, d) = w
                    .iter()
                    .fold((0, 0), |(a, d), x| (a + x.answered, d + x.abandoned));
                if a == 0 {
                    0.0
                } else {
                    100.0 * d as f64 / a as f64
                }
            })
            .fold(0.0, f64::max)
    }
}

/// Run the chosen pacers on the same customers.
pub fn run(cfg: &SimConfig, kinds: &[PacerKind]) -> Result<Vec<Report>, SimError> {
    cfg.validate()?;
    let mut out = Vec::with_capacity(kinds.len());
    // One stream, drawn in call order, shared by every pacer of the run.
    let mut customers = CustomerStream::new(cfg.seed, cfg.population());
    for &kind in kinds {
        let tally = match kind {
            PacerKind::Progressive => Engine::new(cfg, Progressive, &mut customers).run(),
            PacerKind::Vicidial => {
                Engine::new(cfg, Vicidial::new(cfg.abandon_cap_pct), &mut customers).run()
            }
            PacerKind::Orderline => {
                Engine::new(cfg, Orderline::new(cfg.pacer_config())?, &mut customers).run()
            }
        };
        out.push(Report::new(kind, tally));
    }
    Ok(out)
}

/// A readable table of reports.
pub fn table(reports: &[Report]) -> String {
    let mut s = format!(
        "{:<12} {:>8} {:>8} {:>9} {:>8} {:>9} {:>12} {:>11}\n",
        "pacer",
        "calls",
        "answered",
        "abandoned",
        "abandon%",
        "occupancy",
        "talk_min/h",
        "mean_wait_s"
    );
    for r in reports {
        s.push_str(&format!(
            "{:<12} {:>8} {:>8} {:>9} {:>8.2} {:>9.3} {:>12.1} {:>11.2}\n",
            r.pacer,
            r.calls,
            r.answered,
            r.abandoned,
            r.abandon_pct,
            r.occupancy,
            r.talk_min_per_hour,
            r.mean_wait_s
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_argument() {
        let bad = SimConfig {
            answer_rate: 1.5,
            ..SimConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("--answer-rate"));
        let bad = SimConfig {
            abandon_cap_pct: 5.0,
            ..SimConfig::default()
        };
        assert!(matches!(
            bad.validate(),
            Err(SimError::Cap(PacerError::AbandonCap(_)))
        ));
        let bad = SimConfig {
            agents: 0,
            ..SimConfig::default()
        };
        assert_eq!(bad.validate(), Err(SimError::Agents));
    }

    #[test]
    fn pacers_meet_identical_customers() {
        // Progressive twice on one stream gives the same result: the stream
        // does not depend on who drew first.
        let cfg = SimConfig {
            agents: 3,
            hours: 0.5,
            ..SimConfig::default()
        };
        let r = run(
            &cfg,
            &[
                PacerKind::Progressive,
                PacerKind::Orderline,
                PacerKind::Progressive,
            ],
        )
        .expect("valid");
        assert_eq!(r[0].calls, r[2].calls);
        assert_eq!(r[0].answered, r[2].answered);
        assert_eq!(r[0].abandoned, 0, "progressive never abandons");
    }

    #[test]
    fn amd_holds_a_person_until_after_their_greeting() {
        // AMD on without machines: every person waits at least the shortest
        // greeting + the detector's 0.8 s (or the 1.3 s of a silent one)
        // before an agent can take them; with AMD off they are taken at once.
        let on = SimConfig {
            agents: 3,
            hours: 1.0,
            machine_rate: 1e-12,
            ..SimConfig::default()
        };
        let off = SimConfig {
            machine_rate: 0.0,
            ..on.clone()
        };
        let held = &run(&on, &[PacerKind::Progressive]).expect("valid")[0];
        let at_once = &run(&off, &[PacerKind::Progressive]).expect("valid")[0];
        let shortest = customers::GREETING_MIN_S + customers::AMD_AFTER_GREETING_S;
        assert!(
            held.answered > 20 && held.mean_wait_s >= shortest,
            "{held:?}"
        );
        assert!(at_once.mean_wait_s < 0.05, "{at_once:?}");
    }

    #[test]
    fn the_abandon_deadline_is_the_live_one() {
        // Window start + 2 s − the 300 ms playback lead (HarborWait).
        assert!((policies::harbor_deadline(10.0) - 11.7).abs() < 1e-9);
    }

    #[test]
    fn machines_are_never_live_answers() {
        let cfg = SimConfig {
            agents: 5,
            hours: 1.0,
            machine_rate: 1.0,
            ..SimConfig::default()
        };
        for r in run(&cfg, &PacerKind::ALL).expect("valid") {
            assert_eq!(r.answered, 0, "{}: {r:?}", r.pacer);
            assert!(r.machines > 0);
            assert_eq!(r.occupancy, 0.0);
        }
    }
}
