//! The customers: one seeded random stream, drawn per call index, so every
//! pacer in a run meets exactly the same people in the same order (call k
//! answers or not, rings as long, talks as long, whoever dials it).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// An unanswered line rings this long before the dialler gives up: above
/// the 15 s minimum of 16 CFR 310.4(b)(1)(iv) and 47 CFR 64.1200(a)(6).
pub const NO_ANSWER_TIMEOUT_S: f64 = 25.0;
/// Share of unanswered calls that end early as busy/failed (2–6 s).
pub const BUSY_SHARE: f64 = 0.2;
/// AMD time a machine holds the line before it is classified and released.
pub const AMD_MACHINE_S: f64 = 3.0;
/// Silence after a short greeting before the detector says `human`:
/// `orderline_amd::AmdConfig`'s `after_greeting_silence_ms` (800, as
/// Asterisk `app_amd`), which the live lines use unchanged.
pub const AMD_AFTER_GREETING_S: f64 = 0.8;
/// Share of live customers who answer and say nothing: the live detector
/// routes them as `unknown` after [`crate::harbor::LIVE_INITIAL_SILENCE`],
/// with the safe-harbor window running from the answer.
pub const SILENT_SHARE: f64 = 0.1;
/// A live customer's greeting ("hello?", "yes, who is it?") lasts between
/// these (uniform). The upper end is the detector's human range: above
/// `AmdConfig::greeting_ms` (1.3 s) a greeting is classed `machine`
/// (docs/amd.md: callers' greetings stay under ~1.2 s).
pub const GREETING_MIN_S: f64 = 0.4;
pub const GREETING_MAX_S: f64 = 1.2;
/// The greetings' stream is seeded apart from the main one (this constant
/// mixed into the seed) so that adding it left every other draw of a seed
/// as it was: a run with greetings meets the same people as before.
const GREETING_SEED_MIX: u64 = 0x6772_6565_7469_6e67;
/// Log-normal shape (σ of the log) of answer ring times, talk and wrap.
const RING_SIGMA: f64 = 0.5;
const TALK_SIGMA: f64 = 0.6;
const WRAP_SIGMA: f64 = 0.4;

/// What happens when call k is dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Live,
    Machine,
    NoAnswer,
    Busy,
}

/// One customer's behaviour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Customer {
    pub outcome: Outcome,
    /// Seconds from dialling to the outcome (answer, busy, or the timeout).
    pub ring_s: f64,
    /// Talk time if connected to an agent.
    pub talk_s: f64,
    /// The agent's wrap-up time after the call.
    pub wrap_s: f64,
    /// A live customer's greeting, from the answer; `None` when they say
    /// nothing (drawn for every customer, used for live ones).
    pub greeting_s: Option<f64>,
}

/// The behaviour parameters of the customer population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Population {
    /// P(answered by anyone).
    pub answer_rate: f64,
    /// P(machine | answered).
    pub machine_rate: f64,
    pub ring_mean: f64,
    pub talk_mean: f64,
    pub wrap_mean: f64,
}

/// The shared stream: customers are drawn in index order on first use, a
/// fixed number of draws each, so the sequence is independent of which
/// pacer asked first or how many it dialled.
#[derive(Debug)]
pub struct CustomerStream {
    rng: StdRng,
    greetings: StdRng,
    pop: Population,
    drawn: Vec<Customer>,
}

/// A log-normal with the given mean, from a standard normal draw `z`.
fn lognormal(mean: f64, sigma: f64, z: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    (mean.ln() - sigma * sigma / 2.0 + sigma * z).exp()
}

impl CustomerStream {
    pub fn new(seed: u64, pop: Population) -> CustomerStream {
        CustomerStream {
            rng: StdRng::seed_from_u64(seed),
            greetings: StdRng::seed_from_u64(seed ^ GREETING_SEED_MIX),
            pop,
            drawn: Vec::new(),
        }
    }

    /// Box–Muller: one standard normal from two uniforms.
    fn normal(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.gen::<f64>();
        let u2: f64 = self.rng.gen();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    fn draw(&mut self) -> Customer {
        let p = self.pop;
        let u_answer: f64 = self.rng.gen();
        let u_machine: f64 = self.rng.gen();
        let u_busy: f64 = self.rng.gen();
        let u_busy_t: f64 = self.rng.gen();
        let z_ring = self.normal();
        let z_talk = self.normal();
        let z_wrap = self.normal();
        let u_silent: f64 = self.greetings.gen();
        let u_greeting: f64 = self.greetings.gen();
        let greeting_s = (u_silent >= SILENT_SHARE)
            .then_some(GREETING_MIN_S + (GREETING_MAX_S - GREETING_MIN_S) * u_greeting);
        let answered = u_answer < p.answer_rate;
        let (outcome, ring_s) = if answered {
            let ring =
                lognormal(p.ring_mean, RING_SIGMA, z_ring).clamp(1.0, NO_ANSWER_TIMEOUT_S - 0.5);
            let o = if u_machine < p.machine_rate {
                Outcome::Machine
            } else {
                Outcome::Live
            };
            (o, ring)
        } else if u_busy < BUSY_SHARE {
            (Outcome::Busy, 2.0 + 4.0 * u_busy_t)
        } else {
            (Outcome::NoAnswer, NO_ANSWER_TIMEOUT_S)
        };
        Customer {
            outcome,
            ring_s,
            talk_s: lognormal(p.talk_mean, TALK_SIGMA, z_talk).max(1.0),
            wrap_s: lognormal(p.wrap_mean, WRAP_SIGMA, z_wrap),
            greeting_s,
        }
    }

    /// Customer number `k` (0-based).
    pub fn get(&mut self, k: usize) -> Customer {
        while self.drawn.len() <= k {
            let c = self.draw();
            self.drawn.push(c);
        }
        self.drawn[k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pop() -> Population {
        Population {
            answer_rate: 0.3,
            machine_rate: 0.0,
            ring_mean: 8.0,
            talk_mean: 90.0,
            wrap_mean: 15.0,
        }
    }

    #[test]
    fn same_seed_same_customers_whatever_the_access_order() {
        let mut a = CustomerStream::new(7, pop());
        let mut b = CustomerStream::new(7, pop());
        let late = a.get(500);
        for k in 0..=500 {
            b.get(k);
        }
        assert_eq!(b.get(500), late);
        assert_eq!(a.get(3), b.get(3));
    }

    #[test]
    fn draws_follow_the_population() {
        let mut s = CustomerStream::new(1, pop());
        let n = 20_000;
        let cs: Vec<Customer> = (0..n).map(|k| s.get(k)).collect();
        let live = cs.iter().filter(|c| c.outcome == Outcome::Live).count() as f64 / n as f64;
        assert!((live - 0.3).abs() < 0.02, "live share {live}");
        let talk = cs.iter().map(|c| c.talk_s).sum::<f64>() / n as f64;
        assert!((talk - 90.0).abs() < 4.0, "mean talk {talk}");
        assert!(cs
            .iter()
            .filter(|c| c.outcome == Outcome::NoAnswer)
            .all(|c| c.ring_s >= 15.0));
        let silent = cs.iter().filter(|c| c.greeting_s.is_none()).count() as f64 / n as f64;
        assert!(
            (silent - SILENT_SHARE).abs() < 0.01,
            "silent share {silent}"
        );
        assert!(cs
            .iter()
            .filter_map(|c| c.greeting_s)
            .all(|g| (GREETING_MIN_S..=GREETING_MAX_S).contains(&g)));
    }

    #[test]
    fn greetings_leave_the_other_draws_of_a_seed_alone() {
        // The greetings have their own stream: the main one still gives each
        // customer its ten uniforms (answer, machine, busy, busy time, three
        // normals of two), so who answers is what it was before greetings.
        let mut s = CustomerStream::new(1, pop());
        let mut main = StdRng::seed_from_u64(1);
        for k in 0..500 {
            let u_answer: f64 = main.gen();
            for _ in 0..9 {
                let _: f64 = main.gen();
            }
            let c = s.get(k);
            let answered = matches!(c.outcome, Outcome::Live | Outcome::Machine);
            assert_eq!(answered, u_answer < 0.3, "customer {k}");
        }
    }
}
