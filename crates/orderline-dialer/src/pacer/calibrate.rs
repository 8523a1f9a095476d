//! Online calibration of the forecast against the pacer's own outcomes.
//!
//! The forecast bounds the abandons of a decision by max_t E[(X(t) − Y(t))⁺],
//! which is at most E[max_t (X(t) − Y(t))⁺], the true expectation, and each
//! decision sees only the lines already dialled, not the ones the next
//! seconds will add for the same agents. So the forecast runs low (measured
//! in the simulator: two to three real abandons per forecast one at 20
//! agents), and by how much depends on the team, the answer rate and the
//! handle times. It is therefore measured, not assumed: the pacer keeps a
//! bias b = log(real abandons per forecast abandon) and aims its forecast
//! at r·e^(−b), where r is the rate the 30-day budget allows. Every live
//! answer lowers b by κ·r and every abandon raises it by κ, so b stops
//! moving exactly when abandons run at r per live answer (a Robbins–Monro
//! stochastic approximation of the bias): the ledger of outcomes against
//! the aim corrects the model, with no per-scenario constant.

/// Step of b per abandon (κ): one abandon more than the aim allowed makes
/// the forecast 2 % more pessimistic. Smaller steps wobble less around the
/// true bias and take longer to find it (at 20 agents, a few hours).
const STEP: f64 = 0.02;
/// Bounds of the bias (real abandons per forecast one): the forecast is
/// never trusted to be more than 4 times too pessimistic, nor corrected by
/// more than 20 times.
const MIN_BIAS: f64 = 0.25;
const MAX_BIAS: f64 = 20.0;

/// The learned bias of the abandon forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    log_bias: f64,
}

impl Default for Calibration {
    /// Trust the model until outcomes say otherwise.
    fn default() -> Self {
        Calibration { log_bias: 0.0 }
    }
}

impl Calibration {
    /// Real abandons per forecast abandon, as learned so far.
    pub fn bias(&self) -> f64 {
        self.log_bias.exp()
    }

    /// The rate to aim the forecast at so that `r` is what really happens.
    pub fn forecast_aim(&self, r: f64) -> f64 {
        r / self.bias()
    }

    /// A live answer while the budget allowed the abandon rate `aim`.
    pub fn answered(&mut self, aim: f64) {
        self.nudge(-STEP * aim.max(0.0));
    }

    /// A live answer found no agent in time.
    pub fn abandoned(&mut self) {
        self.nudge(STEP);
    }

    fn nudge(&mut self, d: f64) {
        self.log_bias = (self.log_bias + d).clamp(MIN_BIAS.ln(), MAX_BIAS.ln());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` live answers at aim `aim`, one in `every` abandoned.
    fn feed(c: &mut Calibration, n: u32, aim: f64, every: u32) {
        for k in 0..n {
            c.answered(aim);
            if k % every == 0 {
                c.abandoned();
            }
        }
    }

    #[test]
    fn abandons_above_the_aim_raise_the_bias_and_below_lower_it() {
        let mut c = Calibration::default();
        // 4 % abandoned against a 2 % aim: the forecast ran low.
        feed(&mut c, 1000, 0.02, 25);
        // 40 abandons (+0.8) against 1000 × 0.02 × κ (−0.4): b = 0.4.
        let high = c.bias();
        assert!((high - 0.4f64.exp()).abs() < 1e-9, "{high}");
        assert!(c.forecast_aim(0.02) < 0.02 / 1.4);
        // 1 % against 2 %: it runs high now; the bias falls back.
        feed(&mut c, 1000, 0.02, 100);
        assert!(c.bias() < high, "{} ≥ {high}", c.bias());
        // On the aim: no drift.
        let before = c.bias();
        feed(&mut c, 1000, 0.02, 50);
        assert!((c.bias() / before - 1.0).abs() < 1e-9);
    }

    #[test]
    fn bias_stays_within_bounds() {
        let mut c = Calibration::default();
        for _ in 0..10_000 {
            c.abandoned();
        }
        assert!((c.bias() - MAX_BIAS).abs() < 1e-9);
        for _ in 0..100_000 {
            c.answered(1.0);
        }
        assert!((c.bias() - MIN_BIAS).abs() < 1e-9);
    }
}
