//! What the pacer learns online: answer probabilities by hour of day, the
//! ring-time and handle-time (talk + wrap) distributions, and the exact
//! rolling 30-day ledger of live answers and abandons.
//!
//! Everything is plain data updated by events; no clock, no randomness.

use std::collections::VecDeque;

/// Seconds in a day: the ledger's bucket width.
pub(crate) const DAY_SECS: u64 = 86_400;

/// The legal window for the abandon rate: 30 days (FTC TSR 16 CFR
/// 310.4(b)(4)(i), FCC 47 CFR 64.1200(a)(7)(i): "per campaign over a 30-day
/// period").
pub const WINDOW_DAYS: u64 = 30;

/// An empirical distribution of recent durations in seconds, bounded to the
/// most recent `cap` samples so it follows drift (a campaign's talk time
/// changes with the script and the hour).
#[derive(Debug, Clone)]
pub struct Samples {
    order: VecDeque<f64>,
    sorted: Vec<f64>,
    cap: usize,
}

impl Samples {
    /// Keep at most `cap` (≥ 1) recent samples.
    pub fn new(cap: usize) -> Samples {
        Samples {
            order: VecDeque::with_capacity(cap.max(1)),
            sorted: Vec::with_capacity(cap.max(1)),
            cap: cap.max(1),
        }
    }

    /// Add one observation; non-finite or negative values are ignored (a
    /// reordered event can yield a negative span).
    pub fn push(&mut self, x: f64) {
        if !x.is_finite() || x < 0.0 {
            return;
        }
        if self.order.len() == self.cap {
            if let Some(old) = self.order.pop_front() {
                let i = self.sorted.partition_point(|v| *v < old);
                if i < self.sorted.len() {
                    self.sorted.remove(i);
                }
            }
        }
        self.order.push_back(x);
        let i = self.sorted.partition_point(|v| *v <= x);
        self.sorted.insert(i, x);
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// True when nothing has been observed yet.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Samples strictly greater than `x`.
    fn count_above(&self, x: f64) -> usize {
        self.sorted.len() - self.sorted.partition_point(|v| *v <= x)
    }

    /// P(S > x), smoothed by one pseudo-sample above every observation so a
    /// call that has outlived all samples is "unlikely", not "impossible".
    pub fn survival(&self, x: f64) -> f64 {
        (self.count_above(x) as f64 + 1.0) / (self.len() as f64 + 1.0)
    }

    /// P(S ≤ e + h | S > e): the chance that something which has already
    /// lasted `e` seconds ends within the next `h`. Zero when no sample
    /// outlasted `e` (no evidence it will end soon: count no capacity).
    pub fn ends_within(&self, e: f64, h: f64) -> f64 {
        let above_e = self.count_above(e);
        if above_e == 0 {
            return 0.0;
        }
        let above_eh = self.count_above(e + h);
        (above_e - above_eh) as f64 / above_e as f64
    }

    /// P(S ≤ x), the plain empirical CDF (0 without samples).
    pub fn cdf(&self, x: f64) -> f64 {
        if self.sorted.is_empty() {
            return 0.0;
        }
        self.sorted.partition_point(|v| *v <= x) as f64 / self.sorted.len() as f64
    }

    /// P(S + T ≤ e + h | S > e) for T independent with samples `then`: the
    /// chance that a phase which has lasted `e` seconds, followed by a
    /// second phase `T`, is over within the next `h` (a talk that has run
    /// `e` seconds, then its wrap-up). Zero when no sample outlasted `e`.
    ///
    /// The pacer asks this for every talking agent at every horizon of
    /// every decision (most of the simulator's time), so the second phase's
    /// CDF is not searched per sample: as the first phase's samples s rise,
    /// e + h − s falls, and the count of `then` samples at or below it is
    /// walked down from one search.
    pub fn ends_within_then(&self, e: f64, h: f64, then: &Samples) -> f64 {
        let lo = self.sorted.partition_point(|v| *v <= e);
        let above_e = self.sorted.len() - lo;
        if above_e == 0 || then.sorted.is_empty() {
            return 0.0;
        }
        let hi = self.sorted.partition_point(|v| *v <= e + h);
        let w = &then.sorted;
        let mut at_or_below = match self.sorted.get(lo) {
            Some(s) => w.partition_point(|v| *v <= e + h - s),
            None => 0,
        };
        let mut pairs = 0usize;
        for s in &self.sorted[lo..hi] {
            let x = e + h - s;
            while at_or_below > 0 && w[at_or_below - 1] > x {
                at_or_below -= 1;
            }
            pairs += at_or_below;
        }
        pairs as f64 / w.len() as f64 / above_e as f64
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.sorted.is_empty() {
            return None;
        }
        let i = ((self.sorted.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
        self.sorted.get(i).copied()
    }
}

/// Outcome counts of dialled lines.
#[derive(Debug, Clone, Copy, Default)]
struct Outcomes {
    live: f64,
    machine: f64,
    none: f64,
}

impl Outcomes {
    fn total(&self) -> f64 {
        self.live + self.machine + self.none
    }

    /// Halve the counts once they pass `limit` so old behaviour fades
    /// (exponential forgetting in steps; keeps the estimate adaptive).
    fn forget_past(&mut self, limit: f64) {
        if self.total() > limit {
            self.live *= 0.5;
            self.machine *= 0.5;
            self.none *= 0.5;
        }
    }
}

/// The answer model's estimate for one hour of the day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnswerEstimate {
    /// Posterior mean of P(live human answer).
    pub live_mean: f64,
    /// Upper confidence bound of P(live answer): mean + z·sd, at most 1.
    /// Pacing with the upper bound is conservative: overestimating answers
    /// means dialling fewer lines, never more.
    pub live_high: f64,
    /// Posterior mean of P(answering machine).
    pub machine_mean: f64,
}

/// Answer probability per hour of day, learned online (Beta-binomial).
///
/// Each hour's estimate is shrunk towards the all-hours estimate, which is
/// itself shrunk towards a configured prior; so a cold start is sane (the
/// prior, with wide uncertainty) and a quiet hour borrows from the others.
#[derive(Debug, Clone)]
pub struct AnswerModel {
    hours: [Outcomes; 24],
    all: Outcomes,
    prior_live: f64,
    z: f64,
}

/// Pseudo-count of the configured prior (weak: two calls' worth).
const PRIOR_STRENGTH: f64 = 2.0;
/// Pseudo-count with which the all-hours estimate informs one hour.
const POOLED_STRENGTH: f64 = 30.0;
/// Counts beyond this are halved (the model's memory, in calls).
const MEMORY: f64 = 4_000.0;

impl AnswerModel {
    /// `prior_live` in (0, 1], `z` ≥ 0 (confidence multiplier).
    pub fn new(prior_live: f64, z: f64) -> AnswerModel {
        AnswerModel {
            hours: [Outcomes::default(); 24],
            all: Outcomes::default(),
            prior_live,
            z,
        }
    }

    fn bump(&mut self, hour: usize, f: impl Fn(&mut Outcomes)) {
        let h = hour % 24;
        f(&mut self.hours[h]);
        f(&mut self.all);
        self.hours[h].forget_past(MEMORY);
        self.all.forget_past(MEMORY * 4.0);
    }

    /// A live human answered.
    pub fn live(&mut self, hour: usize) {
        self.bump(hour, |o| o.live += 1.0);
    }

    /// A machine answered.
    pub fn machine(&mut self, hour: usize) {
        self.bump(hour, |o| o.machine += 1.0);
    }

    /// No answer, busy or failed.
    pub fn none(&mut self, hour: usize) {
        self.bump(hour, |o| o.none += 1.0);
    }

    /// The estimate for `hour` (0–23).
    pub fn estimate(&self, hour: usize) -> AnswerEstimate {
        let all_n = self.all.total();
        let pooled_live =
            (self.all.live + self.prior_live * PRIOR_STRENGTH) / (all_n + PRIOR_STRENGTH);
        let pooled_machine = self.all.machine / (all_n + PRIOR_STRENGTH);
        let h = &self.hours[hour % 24];
        // The pooled estimate speaks with at most the evidence it has.
        let w = POOLED_STRENGTH.min(all_n + PRIOR_STRENGTH);
        let n = h.total() + w;
        let live_mean = (h.live + w * pooled_live) / n;
        let machine_mean = (h.machine + w * pooled_machine) / n;
        let sd = (live_mean * (1.0 - live_mean) / (n + 1.0)).sqrt();
        AnswerEstimate {
            live_mean,
            live_high: (live_mean + self.z * sd).min(1.0),
            machine_mean,
        }
    }
}

/// One day's lines, live answers and abandons; `day` counts days since
/// the pacer's epoch (a local midnight), so it is the same across restarts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DayCount {
    pub day: u64,
    pub dialled: u64,
    pub answered: u64,
    pub abandoned: u64,
}

/// The exact rolling 30-day ledger: one bucket per calendar day (of the
/// pacer's epoch), so day 31 is forgotten whole at its midnight — never an
/// approximation like "since midnight" (VICIdial's) or a decaying average.
#[derive(Debug, Clone)]
pub struct AbandonLedger {
    days: [DayCount; WINDOW_DAYS as usize],
}

impl Default for AbandonLedger {
    fn default() -> Self {
        AbandonLedger {
            days: [DayCount {
                day: u64::MAX,
                dialled: 0,
                answered: 0,
                abandoned: 0,
            }; WINDOW_DAYS as usize],
        }
    }
}

impl AbandonLedger {
    fn bucket(&mut self, day: u64) -> &mut DayCount {
        let b = &mut self.days[(day % WINDOW_DAYS) as usize];
        if b.day != day {
            *b = DayCount {
                day,
                dialled: 0,
                answered: 0,
                abandoned: 0,
            };
        }
        b
    }

    /// A line dialled on `day` (for the day's figures, not the rate).
    pub fn dialled(&mut self, day: u64) {
        self.bucket(day).dialled += 1;
    }

    /// (dialled, live answers, abandons) of `day` alone.
    pub fn day(&self, day: u64) -> (u64, u64, u64) {
        self.days
            .iter()
            .find(|b| b.day == day)
            .map_or((0, 0, 0), |b| (b.dialled, b.answered, b.abandoned))
    }

    /// A live answer on `day`.
    pub fn answered(&mut self, day: u64) {
        self.bucket(day).answered += 1;
    }

    /// An abandoned live answer on `day`.
    pub fn abandoned(&mut self, day: u64) {
        self.bucket(day).abandoned += 1;
    }

    /// The stored count of one day back in its bucket (a restart: the
    /// 30-day rule does not forget the month because the process did).
    /// A day older than the window, or older than what its bucket holds,
    /// is ignored.
    pub fn restore(&mut self, count: DayCount) {
        let slot = &mut self.days[(count.day % WINDOW_DAYS) as usize];
        if slot.day == u64::MAX || slot.day < count.day {
            *slot = count;
        } else if slot.day == count.day {
            // The larger is the later write of the same day.
            slot.dialled = slot.dialled.max(count.dialled);
            slot.answered = slot.answered.max(count.answered);
            slot.abandoned = slot.abandoned.max(count.abandoned);
        }
    }

    /// The count of `day` as it stands (what to store after a change).
    pub fn count(&self, day: u64) -> DayCount {
        self.days
            .iter()
            .find(|b| b.day == day)
            .copied()
            .unwrap_or(DayCount {
                day,
                ..DayCount::default()
            })
    }

    /// (live answers, abandons) over the `span` days ending with `today`
    /// (1 ≤ span ≤ 30).
    pub fn totals(&self, today: u64, span: u64) -> (u64, u64) {
        let first = today.saturating_sub(span.clamp(1, WINDOW_DAYS) - 1);
        self.days
            .iter()
            .filter(|b| b.day != u64::MAX && b.day >= first && b.day <= today)
            .fold((0, 0), |(a, d), b| (a + b.answered, d + b.abandoned))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_conditional_end_uses_only_longer_samples() {
        let mut s = Samples::new(10);
        for x in [10.0, 20.0, 30.0, 40.0] {
            s.push(x);
        }
        // Lasted 15: the survivors are 20, 30, 40; one ends within 10 more.
        assert!((s.ends_within(15.0, 10.0) - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(s.ends_within(45.0, 10.0), 0.0);
        assert_eq!(s.quantile(0.0), Some(10.0));
    }

    #[test]
    fn two_phases_convolve() {
        let mut talk = Samples::new(10);
        for x in [10.0, 20.0, 30.0, 40.0] {
            talk.push(x);
        }
        let mut wrap = Samples::new(10);
        for x in [4.0, 8.0] {
            wrap.push(x);
        }
        // Talked 15 s: survivors 20, 30, 40. Within 10 more: talk 20 ends
        // at 20 and its wrap (4 or 8) by 25 with probability 1/2.
        assert!((talk.ends_within_then(15.0, 10.0, &wrap) - 0.5 / 3.0).abs() < 1e-9);
        // Within 20 more (by 35): talk 20 surely, talk 30 with wrap 4.
        assert!((talk.ends_within_then(15.0, 20.0, &wrap) - 1.5 / 3.0).abs() < 1e-9);
        assert_eq!(talk.ends_within_then(45.0, 100.0, &wrap), 0.0);
        assert_eq!(wrap.cdf(5.0), 0.5);
        // The walk agrees with the definition, Σ P(W ≤ e + h − s) over the
        // talks s in (e, e + h], divided by the talks above e, on uneven
        // samples with ties.
        let mut t = Samples::new(100);
        let mut w = Samples::new(100);
        for k in 0..60u32 {
            t.push(f64::from((k * 37) % 101) + 0.5);
            w.push(f64::from((k * 13) % 23));
        }
        for (e, h) in [
            (0.0, 10.0),
            (20.5, 30.0),
            (50.0, 2.0),
            (70.0, 50.0),
            (99.0, 5.0),
        ] {
            let survivors = t.sorted.iter().filter(|s| **s > e).count();
            let direct: f64 = t
                .sorted
                .iter()
                .filter(|s| **s > e && **s <= e + h)
                .map(|s| w.cdf(e + h - s))
                .sum::<f64>()
                / survivors as f64;
            let walked = t.ends_within_then(e, h, &w);
            assert!(
                (walked - direct).abs() < 1e-12,
                "e {e} h {h}: {walked} vs {direct}"
            );
        }
    }

    #[test]
    fn samples_forget_the_oldest() {
        let mut s = Samples::new(2);
        s.push(1.0);
        s.push(2.0);
        s.push(3.0);
        assert_eq!(s.len(), 2);
        assert_eq!(s.quantile(0.0), Some(2.0));
    }

    #[test]
    fn answer_model_learns_and_narrows() {
        let mut m = AnswerModel::new(0.5, 2.0);
        let cold = m.estimate(10);
        assert!(cold.live_high > 0.99, "cold start is uncertain: {cold:?}");
        for i in 0..1000 {
            if i % 10 < 3 {
                m.live(10);
            } else {
                m.none(10);
            }
        }
        let e = m.estimate(10);
        assert!((e.live_mean - 0.3).abs() < 0.02, "{e:?}");
        assert!(e.live_high > e.live_mean && e.live_high < 0.36, "{e:?}");
    }

    #[test]
    fn ledger_window_is_exact_per_day() {
        let mut l = AbandonLedger::default();
        l.answered(0);
        l.abandoned(0);
        l.answered(29);
        assert_eq!(l.totals(29, 30), (2, 1));
        assert_eq!(l.totals(30, 30), (1, 0));
        assert_eq!(l.totals(29, 29), (1, 0));
    }
}
