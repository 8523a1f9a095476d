//! Choosing N: the largest number of new lines whose expected abandons stay
//! within the allowed share of expected live answers.
//!
//! Within the next ~30 s no agent who takes a call is free again (handle
//! times are minutes), so the customers answering by time t can only be
//! served by agents free by t + 2 s (the safe-harbor window). With X(t) the
//! live answers by t and Y(t + 2) the agents free by then, at least
//! (X(t) − Y(t + 2))⁺ customers go unserved; and because the sets of agents
//! each customer may use are nested (later answers can use every agent an
//! earlier one could), Hall's theorem makes the maximum over t of that
//! deficit the exact number abandoned. The pacer bounds its expectation by
//! max over a grid of horizons of E[(X(t) − Y(t + 2))⁺] and compares it
//! with r · E[X(∞)].

use super::math;

/// Horizons (seconds from now) at which answers and free agents are
/// compared; the last one covers every line (unanswered lines give up at
/// the dialler's no-answer timeout, 25 s in the simulator).
pub const HORIZONS: [f64; 9] = [0.0, 2.0, 4.0, 6.0, 8.0, 11.0, 15.0, 20.0, 30.0];

/// The forecast at one horizon t.
#[derive(Debug, Clone, Default)]
pub struct Horizon {
    /// P(live answer by t) of each line already ringing.
    pub line_p: Vec<f64>,
    /// P(live answer by t) of a line dialled now.
    pub new_p: f64,
    /// P(free by t + 2 s) of each busy agent.
    pub agent_q: Vec<f64>,
}

/// Everything the choice needs.
#[derive(Debug, Clone, Default)]
pub struct Forecast {
    /// Agents ready now.
    pub ready: usize,
    /// Live customers already waiting for an agent.
    pub waiting: usize,
    pub horizons: Vec<Horizon>,
    /// P(eventually a live answer) of each ringing line.
    pub ever_line_p: Vec<f64>,
    /// P(eventually a live answer) of a new line.
    pub ever_new_p: f64,
}

impl Forecast {
    fn expected_live(&self, n: usize) -> f64 {
        self.waiting as f64 + self.ever_line_p.iter().sum::<f64>() + n as f64 * self.ever_new_p
    }

    /// Largest N ≤ ceiling with max_t E[(X(t) − Y(t+2))⁺] ≤ r · E[X(∞)];
    /// `exact` uses Poisson-binomial distributions, else normal ones.
    pub fn largest_n(&self, ceiling: usize, r: f64, exact: bool) -> usize {
        let mut evals: Vec<Box<dyn FnMut(usize) -> f64 + '_>> = self
            .horizons
            .iter()
            .map(|h| {
                if exact {
                    Box::new(self.exact_shortfall(h, ceiling)) as Box<dyn FnMut(usize) -> f64>
                } else {
                    Box::new(self.normal_shortfall(h))
                }
            })
            .collect();
        let mut best = 0;
        for n in 0..=ceiling {
            let mut worst: f64 = 0.0;
            for e in evals.iter_mut() {
                worst = worst.max(e(n));
            }
            if worst > r * self.expected_live(n) {
                break;
            }
            best = n;
        }
        best
    }

    /// n ↦ E[(X(t) − Y(t+2))⁺] under normal approximations.
    fn normal_shortfall<'a>(&'a self, h: &'a Horizon) -> impl FnMut(usize) -> f64 + 'a {
        let x_mean = self.waiting as f64 + h.line_p.iter().sum::<f64>();
        let x_var: f64 = h.line_p.iter().map(|p| p * (1.0 - p)).sum();
        let y_mean = self.ready as f64 + h.agent_q.iter().sum::<f64>();
        let y_var: f64 = h.agent_q.iter().map(|q| q * (1.0 - q)).sum();
        move |n| {
            let nf = n as f64;
            let mean = x_mean + nf * h.new_p - y_mean;
            let var = x_var + y_var + nf * h.new_p * (1.0 - h.new_p);
            math::expected_positive_normal(mean, var)
        }
    }

    /// n ↦ E[(X(t) − Y(t+2))⁺] with exact distributions; must be called
    /// with n = 0, 1, 2, … in order (it adds one line per step).
    fn exact_shortfall<'a>(
        &'a self,
        h: &'a Horizon,
        ceiling: usize,
    ) -> impl FnMut(usize) -> f64 + 'a {
        let mut y = vec![0.0; self.ready];
        y.extend(math::poisson_binomial(h.agent_q.iter().copied()));
        let g = math::shortfall_table(&y, self.waiting + h.line_p.len() + ceiling);
        let mut x = vec![0.0; self.waiting];
        x.extend(math::poisson_binomial(h.line_p.iter().copied()));
        let mut added = 0;
        move |n| {
            while added < n {
                math::add_bernoulli(&mut x, h.new_p);
                added += 1;
            }
            x.iter().zip(&g).map(|(p, g)| p * g).sum()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_horizon(ready: usize, new_p: f64) -> Forecast {
        Forecast {
            ready,
            horizons: vec![Horizon {
                new_p,
                ..Horizon::default()
            }],
            ever_new_p: new_p,
            ..Forecast::default()
        }
    }

    #[test]
    fn certain_answers_get_one_line_per_agent() {
        for exact in [true, false] {
            assert_eq!(
                one_horizon(10, 1.0).largest_n(30, 0.025, exact),
                10,
                "exact {exact}"
            );
        }
    }

    #[test]
    fn rarer_answers_get_more_lines_and_zero_budget_none_extra() {
        for exact in [true, false] {
            let f = one_horizon(10, 0.3);
            let n = f.largest_n(30, 0.025, exact);
            assert!(n > 15 && n < 33, "exact {exact}: {n}");
            assert!(f.largest_n(30, 0.0, exact) < n);
        }
    }
}
