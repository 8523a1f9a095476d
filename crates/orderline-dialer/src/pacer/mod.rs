//! The predictive pacer: agent and call events plus a timestamp in, "dial N
//! more lines now" out. One `Pacer` per call mode (each mode has its own
//! customers, hence its own answer rate and its own 30-day abandon count).
//!
//! # The rule it lives under
//!
//! US FTC TSR 16 CFR 310.4(b)(4) and FCC 47 CFR 64.1200(a)(7): at most 3 % of
//! live-answered calls per campaign over 30 days may be abandoned; a customer
//! not connected to a person within 2 s of their greeting hears a recorded
//! safe-harbor message and counts as abandoned; unanswered calls ring ≥ 15 s.
//!
//! # How it decides (the math)
//!
//! At time `now` the pacer knows: R ready agents; busy agents i (talking,
//! in wrap-up or reserved) with elapsed handle time eᵢ; W answered customers
//! waiting for an agent; ringing lines j with elapsed ring time dⱼ. For each
//! horizon t of a short grid (0 … 30 s, [`decide::HORIZONS`]) it forecasts:
//!
//! - agent i is free by t + 2 s with qᵢ(t) = P(H ≤ eᵢ + t + 2 | H > eᵢ),
//!   from the learned talk+wrap distribution H — agents about to free up
//!   count as partial capacity; paused agents count as nothing. When the
//!   agent sessions report wrap-up, the phase sharpens it: an agent in
//!   wrap-up for wᵢ s frees with P(W ≤ wᵢ + t + 2 | W > wᵢ) (only the
//!   wrap's rest is left), one talking for eᵢ s with
//!   P(T + W ≤ eᵢ + t + 2 | T > eᵢ) (the talk's rest, then a whole wrap),
//!   from the learned talk T and wrap W distributions;
//! - ringing line j gives a live answer by t with
//!   pⱼ(t) = p·(Sₐ(dⱼ) − Sₐ(dⱼ + t)) / ((p+m)·Sₐ(dⱼ) + (1−p−m)·Sₙ(dⱼ)),
//!   from the learned survival of answer times Sₐ and give-up times Sₙ,
//!   live rate p and machine rate m (a line that has rung long is less
//!   likely to be answered at all);
//! - a new line does the same with d = 0, where p is the *upper*
//!   confidence bound of the hour's live-answer rate (uncertainty makes the
//!   pacer dial less, never more; a cold start is "everyone answers at
//!   once", i.e. about one line per ready agent).
//!
//! With X(t) = W + Σ Bern(pⱼ(t)) + Bin(N, p(t)) and
//! Y(t) = R + Σ Bern(qᵢ(t)), a customer answering by t can only be served by
//! an agent free by t + 2 s (no agent who takes a call frees up again within
//! the 30 s), so the number abandoned is max over t of (X(t) − Y(t))⁺ (Hall's
//! theorem: the agent sets are nested in t). The pacer picks the **largest N**
//! with
//!
//! ```text
//!     max_t E[(X(t) − Y(t))⁺]  ≤  (r / β) · E[X(∞)]
//! ```
//!
//! where r is the abandon rate the budget allows right now (below) and β
//! the forecast's bias, real abandons per forecast one, learned online from
//! the outcomes ([`calibrate`]: the bound max_t E ≤ E max_t and the
//! decision's blindness to the lines the next seconds will add make the
//! forecast run low, by a factor of 3–5 in the simulator). Exact
//! Poisson-binomial distributions for teams of ≤ 24 (the normal
//! approximation is poor with a handful of agents, exactly where
//! over-dialling hurts most), a normal approximation above ([`math`]).
//! N never goes below the progressive floor R − W − ringing (one line per
//! otherwise idle agent cannot abandon) and never above a lines-per-agent
//! ceiling (3, or 2 for teams of ≤ 5 agents).
//!
//! # The abandon budget
//!
//! The ledger counts live answers L and abandons A per day, exactly, over
//! the rolling 30 days. With the effective cap c = cap·(1 − margin) and the
//! answers expected in the next hour Hₙ (the count of the last active hour,
//! at least 20), the allowed rate is
//!
//! ```text
//!     r = clamp( min over k ∈ {30, 29} of (c·(L_k + Hₙ) − A_k − 1.5·√(c·Hₙ)) / Hₙ , 0, c )
//! ```
//!
//! i.e. the share of the next hour's answers that may be abandoned so the
//! window still ends at or below c even if the hour is unlucky by 1.5
//! standard deviations of its abandon count — both the window of the 30 days ending
//! today (k = 30) and the one just after the next midnight, when the oldest
//! day's answers and abandons have left (k = 29, the 29 newest days). When
//! r reaches 0 the pacer falls back to the progressive floor, which cannot
//! abandon.

pub mod calibrate;
pub mod decide;
pub mod math;
pub mod model;
pub mod occupancy;
pub mod stats;

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use calibrate::Calibration;
use model::{AbandonLedger, AnswerModel, Samples, DAY_SECS, WINDOW_DAYS};
pub use stats::{DayStats, PacerStats};

/// Largest abandon cap the rule allows, in percent (16 CFR 310.4(b)(4)(i)).
pub const LEGAL_CAP_PCT: f64 = 3.0;

/// A configuration the pacer refuses, naming the field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PacerError {
    #[error("abandon cap {0} % must be above 0 and at most 3 % (16 CFR 310.4(b)(4))")]
    AbandonCap(f64),
    #[error("safety margin {0} must be in [0, 1)")]
    SafetyMargin(f64),
    #[error("max lines per agent {0} must be at least 1")]
    LinesPerAgent(f64),
    #[error("prior answer rate {0} must be in (0, 1]")]
    PriorAnswerRate(f64),
    #[error("answer confidence z {0} must be finite and ≥ 0")]
    Confidence(f64),
}

/// Tuning of one mode's pacer.
#[derive(Debug, Clone, PartialEq)]
pub struct PacerConfig {
    /// The mode's abandon cap over 30 days, percent of live answers; (0, 3].
    pub abandon_cap_pct: f64,
    /// Share of the cap held back against chance (the rate is a random
    /// outcome; aiming at the cap itself would exceed it half the time).
    /// 5 %: the calibration ([`calibrate`]) makes the realized rate track
    /// the aim, so the margin only covers the noise of the last hour's
    /// abandons, not a model error.
    pub safety_margin: f64,
    /// The safe-harbor window (2 s: 16 CFR 310.4(b)(4)(iii)).
    pub safe_harbor: Duration,
    /// Most lines per active agent for teams above `small_team` agents
    /// (VICIdial's default maximum level is 3.0).
    pub max_lines_per_agent: f64,
    /// Teams of at most this many active agents are "small".
    pub small_team: u32,
    /// Most lines per active agent for small teams: one unlucky answer
    /// wave is a large share of a small team's answers.
    pub small_team_max_lines_per_agent: f64,
    /// Live-answer rate assumed before any call is observed.
    pub prior_answer_rate: f64,
    /// Confidence multiplier on the answer-rate uncertainty.
    pub answer_z: f64,
}

impl Default for PacerConfig {
    fn default() -> Self {
        PacerConfig {
            abandon_cap_pct: LEGAL_CAP_PCT,
            safety_margin: 0.05,
            safe_harbor: Duration::from_secs(2),
            max_lines_per_agent: 3.0,
            small_team: 5,
            small_team_max_lines_per_agent: 2.0,
            prior_answer_rate: 0.5,
            answer_z: 2.0,
        }
    }
}

impl PacerConfig {
    /// Refuse a cap above the legal 3 % or ≤ 0, and nonsense tuning.
    pub fn validate(&self) -> Result<(), PacerError> {
        let c = self.abandon_cap_pct;
        if !(c.is_finite() && c > 0.0 && c <= LEGAL_CAP_PCT) {
            return Err(PacerError::AbandonCap(c));
        }
        if !(self.safety_margin >= 0.0 && self.safety_margin < 1.0) {
            return Err(PacerError::SafetyMargin(self.safety_margin));
        }
        for l in [
            self.max_lines_per_agent,
            self.small_team_max_lines_per_agent,
        ] {
            if !(l.is_finite() && l >= 1.0) {
                return Err(PacerError::LinesPerAgent(l));
            }
        }
        let p = self.prior_answer_rate;
        if !(p > 0.0 && p <= 1.0) {
            return Err(PacerError::PriorAnswerRate(p));
        }
        if !(self.answer_z.is_finite() && self.answer_z >= 0.0) {
            return Err(PacerError::Confidence(self.answer_z));
        }
        Ok(())
    }
}

/// An agent's state change, as the agent sessions report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AgentEvent {
    LoggedIn,
    LoggedOut,
    /// Waiting for a call: capacity now.
    Ready,
    /// Paused (break, training): no capacity at all.
    Paused,
    /// Held for one specific call (preview/manual): busy from now.
    Reserved,
    /// Bridged to a customer: the handle time starts.
    InCall,
    /// Call over, writing the disposition: still in the same handle time.
    WrapUp,
}

/// A dialled line's progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallEvent {
    /// The INVITE went out.
    Dialled,
    /// A live human answered (after AMD, if on): needs an agent within 2 s.
    AnsweredLive,
    /// AMD classified a machine: never a live answer, never needs an agent.
    Machine,
    NoAnswer,
    Busy,
    Failed,
    /// The live customer was bridged to an agent.
    Connected,
    /// No agent within the safe-harbor window: message played, abandoned.
    Abandoned,
}

/// Agents are told apart by an id the caller chooses.
pub type AgentId = u64;
/// Lines are told apart by an id the caller chooses.
pub type CallId = u64;

#[derive(Debug, Clone, Copy, PartialEq)]
enum AgentState {
    Ready,
    Paused,
    /// Talking, wrapping up or reserved since `since`; in wrap-up since
    /// `wrap` (the rest of a wrap-up is far more predictable than the rest
    /// of a talk, so the phase is worth knowing).
    Busy {
        since: Duration,
        wrap: Option<Duration>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LineState {
    Ringing(Duration),
    Waiting,
}

/// Recent samples kept per distribution.
const SAMPLE_CAP: usize = 400;
/// Below this many samples a learned distribution is not trusted.
const MIN_SAMPLES: usize = 10;
/// Standard deviations of the next hour's abandon count held in reserve.
const RESERVE_Z: f64 = 1.5;
/// Floor of the "answers in the next hour" used by the budget.
const MIN_HOURLY_ANSWERS: f64 = 20.0;
/// Teams up to this size get the exact distribution: its tails are what
/// the abandons live in, and at 20 agents it buys about half a point of
/// occupancy at the same abandon rate over the normal approximation
/// (measured in the simulator); above, the normal one is accurate enough and
/// O(1) per candidate.
const EXACT_MAX_AGENTS: usize = 24;

/// The predictive pacer of one call mode. Time is a [`Duration`] since the
/// mode's epoch, a local midnight: day buckets and hours of day follow it.
#[derive(Debug, Clone)]
pub struct Pacer {
    cfg: PacerConfig,
    agents: BTreeMap<AgentId, AgentState>,
    lines: BTreeMap<CallId, LineState>,
    answers: AnswerModel,
    ring_answer: Samples,
    ring_giveup: Samples,
    handle: Samples,
    /// Talk (in call → wrap-up) and wrap-up (→ ready) times, when the
    /// agent sessions report wrap-up.
    talk: Samples,
    wrap: Samples,
    ledger: AbandonLedger,
    recent_answers: VecDeque<Duration>,
    calibration: Calibration,
    /// Lines up per active agent after the last decision.
    level: f64,
    occupancy: occupancy::Occupancy,
}

impl Pacer {
    /// The occupancy integrals up to `now` with the agents as they stand.
    fn accrue_occupancy(&mut self, now: Duration) {
        let busy = self
            .agents
            .values()
            .filter(|a| matches!(a, AgentState::Busy { .. }))
            .count() as u32;
        let logged_in = self.agents.len() as u32;
        self.occupancy.accrue(now, day_of(now), logged_in, busy);
    }
}

fn day_of(t: Duration) -> u64 {
    t.as_secs() / DAY_SECS
}

fn hour_of(t: Duration) -> usize {
    ((t.as_secs() % DAY_SECS) / 3600) as usize
}

impl Pacer {
    /// A pacer with a validated configuration.
    pub fn new(cfg: PacerConfig) -> Result<Pacer, PacerError> {
        cfg.validate()?;
        Ok(Pacer {
            answers: AnswerModel::new(cfg.prior_answer_rate, cfg.answer_z),
            cfg,
            agents: BTreeMap::new(),
            lines: BTreeMap::new(),
            ring_answer: Samples::new(SAMPLE_CAP),
            ring_giveup: Samples::new(SAMPLE_CAP),
            handle: Samples::new(SAMPLE_CAP),
            talk: Samples::new(SAMPLE_CAP),
            wrap: Samples::new(SAMPLE_CAP),
            ledger: AbandonLedger::default(),
            recent_answers: VecDeque::new(),
            calibration: Calibration::default(),
            level: 0.0,
            occupancy: occupancy::Occupancy::default(),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &PacerConfig {
        &self.cfg
    }

    /// Feed an agent's state change.
    pub fn agent(&mut self, now: Duration, id: AgentId, ev: AgentEvent) {
        self.accrue_occupancy(now);
        let prev = self.agents.get(&id).copied();
        // A handle time ends when a busy agent becomes ready or pauses.
        let mut end_handle = || {
            if let Some(AgentState::Busy { since, wrap }) = prev {
                self.handle.push(now.saturating_sub(since).as_secs_f64());
                if let Some(w) = wrap {
                    self.wrap.push(now.saturating_sub(w).as_secs_f64());
                }
            }
        };
        match ev {
            AgentEvent::LoggedOut => {
                self.agents.remove(&id);
            }
            AgentEvent::LoggedIn | AgentEvent::Paused => {
                end_handle();
                self.agents.insert(id, AgentState::Paused);
            }
            AgentEvent::Ready => {
                end_handle();
                self.agents.insert(id, AgentState::Ready);
            }
            AgentEvent::Reserved | AgentEvent::InCall => {
                if !matches!(prev, Some(AgentState::Busy { .. })) {
                    self.agents.insert(
                        id,
                        AgentState::Busy {
                            since: now,
                            wrap: None,
                        },
                    );
                }
            }
            AgentEvent::WrapUp => {
                let since = match prev {
                    Some(AgentState::Busy { wrap: Some(_), .. }) => return,
                    Some(AgentState::Busy { since, wrap: None }) => {
                        self.talk.push(now.saturating_sub(since).as_secs_f64());
                        since
                    }
                    _ => now,
                };
                self.agents.insert(
                    id,
                    AgentState::Busy {
                        since,
                        wrap: Some(now),
                    },
                );
            }
        }
    }

    /// Feed a line's progress. Events for a line the pacer no longer tracks
    /// (late or duplicated signalling) are ignored.
    pub fn call(&mut self, now: Duration, id: CallId, ev: CallEvent) {
        let hour = hour_of(now);
        if ev == CallEvent::Dialled {
            self.ledger.dialled(day_of(now));
            self.lines.insert(id, LineState::Ringing(now));
            return;
        }
        let Some(state) = self.lines.get(&id).copied() else {
            return;
        };
        let rung = match state {
            LineState::Ringing(at) => Some(now.saturating_sub(at).as_secs_f64()),
            LineState::Waiting => None,
        };
        match ev {
            CallEvent::Dialled => {}
            CallEvent::AnsweredLive => {
                if let Some(r) = rung {
                    self.ring_answer.push(r);
                    self.answers.live(hour);
                    self.ledger.answered(day_of(now));
                    self.recent_answers.push_back(now);
                    // The aim as the budget stands now (the last decision's
                    // may be a day old).
                    let aim = self.allowed_abandon_rate(now);
                    self.calibration.answered(aim);
                    self.lines.insert(id, LineState::Waiting);
                }
            }
            CallEvent::Machine => {
                if let Some(r) = rung {
                    self.ring_answer.push(r);
                    self.answers.machine(hour);
                }
                self.lines.remove(&id);
            }
            CallEvent::NoAnswer | CallEvent::Busy | CallEvent::Failed => {
                if let Some(r) = rung {
                    self.ring_giveup.push(r);
                    self.answers.none(hour);
                }
                self.lines.remove(&id);
            }
            CallEvent::Connected => {
                self.lines.remove(&id);
            }
            CallEvent::Abandoned => {
                if state == LineState::Waiting {
                    self.ledger.abandoned(day_of(now));
                    self.calibration.abandoned();
                }
                self.lines.remove(&id);
            }
        }
    }

    /// Today's ledger count, to be stored after each line event (issue
    /// #12: the 30-day abandon rate survives a restart).
    pub fn ledger_today(&self, now: Duration) -> model::DayCount {
        self.ledger.count(day_of(now))
    }

    /// Put stored day counts back (at start, before any event). Days
    /// outside the 30-day window ending `now` are skipped.
    pub fn restore_ledger(
        &mut self,
        now: Duration,
        days: impl IntoIterator<Item = model::DayCount>,
    ) {
        let today = day_of(now);
        let first = today.saturating_sub(WINDOW_DAYS - 1);
        for d in days {
            if d.day >= first && d.day <= today {
                self.ledger.restore(d);
            }
        }
    }

    /// (live answers, abandons) in the 30-day window ending today.
    pub fn window_totals(&self, now: Duration) -> (u64, u64) {
        self.ledger.totals(day_of(now), WINDOW_DAYS)
    }

    /// Real abandons per forecast abandon, as learned from the outcomes
    /// ([`calibrate`]); 1 until the first outcomes.
    pub fn forecast_bias(&self) -> f64 {
        self.calibration.bias()
    }

    /// The abandon rate (a fraction) the budget allows right now; 0 means
    /// the budget is spent and the pacer dials progressively.
    ///
    /// Hₙ, the answers expected in the next hour, is the count of the last
    /// *active* hour: the hour before the newest answer, not before `now`.
    /// At the start of a working day the last hour of yesterday's work
    /// stands for today's first hour; counting the empty night instead
    /// would put the whole correction of the window on the first 20
    /// answers and stop predictive dialling all morning.
    pub fn allowed_abandon_rate(&mut self, now: Duration) -> f64 {
        let newest = self.recent_answers.back().copied().unwrap_or(now);
        let hour_ago = newest.saturating_sub(Duration::from_secs(3600));
        while self.recent_answers.front().is_some_and(|t| *t < hour_ago) {
            self.recent_answers.pop_front();
        }
        let today = day_of(now);
        let c = self.cfg.abandon_cap_pct / 100.0 * (1.0 - self.cfg.safety_margin);
        let h = (self.recent_answers.len() as f64).max(MIN_HOURLY_ANSWERS);
        // The next hour's abandons are a chance count (≈ Poisson, sd
        // √(c·Hₙ)): keep that many in reserve so an unlucky hour still
        // lands under c. It matters where the window is small (a small
        // team's first days) and fades as the window fills.
        let reserve = RESERVE_Z * (c * h).sqrt();
        // The window as it is now, and as it will be just after midnight
        // (the oldest day's answers *and* abandons gone): both must hold.
        [WINDOW_DAYS, WINDOW_DAYS - 1]
            .into_iter()
            .map(|span| {
                let (l, a) = self.ledger.totals(today, span);
                (c * (l as f64 + h) - a as f64 - reserve) / h
            })
            .fold(c, f64::min)
            .max(0.0)
    }

    /// How many more lines to dial now (see the module docs for the math).
    pub fn dial_now(&mut self, now: Duration) -> u32 {
        let n = self.decide(now);
        let active = self
            .agents
            .values()
            .filter(|a| !matches!(a, AgentState::Paused))
            .count();
        self.level = if active == 0 {
            0.0
        } else {
            (self.lines.len() + n as usize) as f64 / active as f64
        };
        n
    }

    fn decide(&mut self, now: Duration) -> u32 {
        let mut ready = 0usize;
        let mut busy_elapsed = Vec::new();
        let secs_since = |t: Duration| now.saturating_sub(t).as_secs_f64();
        for s in self.agents.values() {
            match s {
                AgentState::Ready => ready += 1,
                AgentState::Busy { since, wrap } => {
                    busy_elapsed.push((secs_since(*since), wrap.map(secs_since)))
                }
                AgentState::Paused => {}
            }
        }
        let active = ready + busy_elapsed.len();
        if active == 0 {
            return 0;
        }
        let mut waiting = 0usize;
        let mut ringing = Vec::new();
        for l in self.lines.values() {
            match l {
                LineState::Waiting => waiting += 1,
                LineState::Ringing(at) => ringing.push(now.saturating_sub(*at).as_secs_f64()),
            }
        }
        let lines_now = waiting + ringing.len();
        let per_agent = if active <= self.cfg.small_team as usize {
            self.cfg.small_team_max_lines_per_agent
        } else {
            self.cfg.max_lines_per_agent
        };
        let ceiling = ((per_agent * active as f64).floor() as usize).saturating_sub(lines_now);
        let floor = ready.saturating_sub(lines_now).min(ceiling);
        let r = self.allowed_abandon_rate(now);
        if r <= 0.0 || ceiling == floor {
            return floor as u32;
        }

        let est = self.answers.estimate(hour_of(now));
        let p_new = est.live_high;
        let p_mach = est.machine_mean.min(1.0 - p_new).max(0.0);
        let p_none = (1.0 - p_new - p_mach).max(0.0);
        let ring_known = self.ring_answer.len() >= MIN_SAMPLES;
        let giveup_known = self.ring_giveup.len() >= MIN_SAMPLES;
        let handle_known = self.handle.len() >= MIN_SAMPLES;
        // Survival of answer times; unknown: every answer comes at once
        // (the most demanding assumption for the agents).
        let s_ans = |d: f64| {
            if ring_known {
                self.ring_answer.survival(d)
            } else {
                0.0
            }
        };
        let s_giveup = |d: f64| {
            if giveup_known {
                self.ring_giveup.survival(d)
            } else {
                1.0
            }
        };
        // P(live answer in (d, d + t] | still ringing at d); t = ∞ for "ever".
        let p_line = |d: f64, t: f64| {
            let sa = if ring_known {
                self.ring_answer.survival(d)
            } else {
                1.0
            };
            let den = (p_new + p_mach) * sa + p_none * s_giveup(d);
            if den <= 0.0 {
                return p_new;
            }
            let answered_share = if t.is_finite() { sa - s_ans(d + t) } else { sa };
            p_new * answered_share.max(0.0) / den
        };
        let harbor = self.cfg.safe_harbor.as_secs_f64();
        let phases_known = self.talk.len() >= MIN_SAMPLES && self.wrap.len() >= MIN_SAMPLES;
        // P(agent free by t + 2 s): by phase when wrap-ups are reported (in
        // wrap-up only the wrap's rest remains; in talk, the talk's rest
        // then a whole wrap), else by the whole handle time.
        let q_agent = |(e, wrap_e): (f64, Option<f64>), t: f64| {
            let h = t + harbor;
            match wrap_e {
                _ if !phases_known => {
                    if handle_known {
                        self.handle.ends_within(e, h)
                    } else {
                        0.0
                    }
                }
                Some(w) => self.wrap.ends_within(w, h),
                None => self.talk.ends_within_then(e, h, &self.wrap),
            }
        };
        let forecast = decide::Forecast {
            ready,
            waiting,
            horizons: decide::HORIZONS
                .iter()
                .map(|&t| decide::Horizon {
                    line_p: ringing.iter().map(|&d| p_line(d, t)).collect(),
                    new_p: p_line(0.0, t),
                    agent_q: busy_elapsed.iter().map(|&b| q_agent(b, t)).collect(),
                })
                .collect(),
            ever_line_p: ringing.iter().map(|&d| p_line(d, f64::INFINITY)).collect(),
            ever_new_p: p_line(0.0, f64::INFINITY),
        };
        let aim = self.calibration.forecast_aim(r);
        let best = forecast.largest_n(ceiling, aim, active <= EXACT_MAX_AGENTS);
        best.max(floor) as u32
    }
}

#[cfg(test)]
mod tests;
