//! The three pacers the simulator compares, behind one small trait: each
//! sees the same events and the same snapshot of the floor every second.

use std::collections::VecDeque;
use std::time::Duration;

use crate::pacer::{AgentEvent, CallEvent, Pacer, PacerConfig, PacerError};

/// What happened, as the simulator tells a pacer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimEvent {
    Agent(u64, AgentEvent),
    Call(u64, CallEvent),
}

/// The floor at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct View {
    pub logged_in: u32,
    pub ready: u32,
    pub talking: u32,
    pub wrapping: u32,
    /// Lines dialled and not yet answered, or answered and still in AMD.
    pub ringing: u32,
    /// Live customers waiting for an agent.
    pub waiting: u32,
}

/// A pacing policy under simulation.
pub trait Policy {
    fn observe(&mut self, now: f64, ev: SimEvent);
    /// Lines to dial now.
    fn dial(&mut self, now: f64, view: &View) -> u32;
    /// When a customer whose safe-harbor window opened at `window_from`
    /// (the end of their greeting, or the answer: see the engine) and who
    /// queued for an agent at `queued` is abandoned if still without one.
    fn deadline(&self, window_from: f64, queued: f64) -> f64;
}

/// The 2 s safe-harbor window (16 CFR 310.4(b)(4)(i): "within two (2)
/// seconds after the completed greeting").
pub const SAFE_HARBOR_S: f64 = crate::harbor::SAFE_HARBOR.as_secs_f64();

/// The last instant an agent may take a customer whose window opened at
/// `window_from`, as the live [`HarborWait::deadline`](crate::harbor::HarborWait::deadline)
/// computes it: the window less the message's playback lead, so that the
/// message's first audio is heard inside the 2 s.
pub fn harbor_deadline(window_from: f64) -> f64 {
    // The live type itself, on a zero origin: one rule, not a copy of it.
    window_from
        + crate::harbor::HarborWait::new(Duration::ZERO)
            .deadline()
            .as_secs_f64()
}

/// One line per ready agent not already covered by a line in flight.
#[derive(Debug, Default)]
pub struct Progressive;

impl Policy for Progressive {
    fn observe(&mut self, _now: f64, _ev: SimEvent) {}

    fn dial(&mut self, _now: f64, v: &View) -> u32 {
        v.ready.saturating_sub(v.ringing + v.waiting)
    }

    fn deadline(&self, window_from: f64, _queued: f64) -> f64 {
        harbor_deadline(window_from)
    }
}

/// VICIdial's ADAPT_HARD_LIMIT, with its defaults, as `AST_VDadapt.pl`
/// describes it (our own code, written from the published algorithm):
///
/// - every second sample ready agents (READY), live customers waiting for an
///   agent, and all logged-in agents (paused and dispositioning included);
/// - every 15 s, over the last 15 samples: differential = ready − waiting
///   (+ dl_diff_target 0); level ← level × (1 + differential / agents)
///   (intensity 0 leaves the factor unscaled); cap 3.0, floor 1.0;
/// - then: over 20 calls in the last minute with more than 50 % dropped
///   halves the level; over 50 calls today with today's drop rate (drops /
///   answers since midnight) above the limit (3 %) sets it to 1.0;
/// - lines to dial = round(level × (ready + in-call)) − lines up (ringing,
///   waiting and connected calls), as `AST_VDauto_dial.pl` does;
/// - an answered customer waits `drop_call_seconds` = 5 s in the queue
///   before being dropped (the default, longer than the 2 s rule).
///
/// Agents in wrap-up are in VICIdial's PAUSED/dispo state: counted in the
/// adapt samples' total, not in (ready + in-call).
#[derive(Debug)]
pub struct Vicidial {
    level: f64,
    samples: VecDeque<(f64, f64, f64)>,
    last_adapt: f64,
    day: u64,
    calls_today: u64,
    answers_today: u64,
    drops_today: u64,
    dials_last_minute: VecDeque<f64>,
    drops_last_minute: VecDeque<f64>,
    drop_limit_pct: f64,
}

/// VICIdial defaults (`vicidial_campaigns` schema and admin defaults).
pub const VD_ADAPT_INTERVAL_S: f64 = 15.0;
pub const VD_SAMPLES: usize = 15;
pub const VD_MAX_LEVEL: f64 = 3.0;
pub const VD_DROP_CALL_SECONDS: f64 = 5.0;

impl Vicidial {
    pub fn new(drop_limit_pct: f64) -> Vicidial {
        Vicidial {
            level: 1.0,
            samples: VecDeque::with_capacity(VD_SAMPLES),
            last_adapt: f64::NEG_INFINITY,
            day: u64::MAX,
            calls_today: 0,
            answers_today: 0,
            drops_today: 0,
            dials_last_minute: VecDeque::new(),
            drops_last_minute: VecDeque::new(),
            drop_limit_pct,
        }
    }

    /// The dial level in force.
    pub fn level(&self) -> f64 {
        self.level
    }

    fn roll_day(&mut self, now: f64) {
        let day = (now / 86_400.0).floor() as u64;
        if day != self.day {
            self.day = day;
            self.calls_today = 0;
            self.answers_today = 0;
            self.drops_today = 0;
        }
    }

    fn adapt(&mut self) {
        let n = self.samples.len() as f64;
        if n == 0.0 {
            return;
        }
        let (r, w, t) = self
            .samples
            .iter()
            .fold((0.0, 0.0, 0.0), |(a, b, c), s| (a + s.0, b + s.1, c + s.2));
        let (ready, waiting, total) = (r / n, w / n, t / n);
        if total > 0.0 {
            self.level *= 1.0 + (ready - waiting) / total;
        }
        self.level = self.level.min(VD_MAX_LEVEL);
        if self.level < 1.0 {
            self.level = 1.0;
        }
        let calls_one = self.dials_last_minute.len() as f64;
        let drops_one = self.drops_last_minute.len() as f64;
        if calls_one > 20.0 && drops_one / calls_one * 100.0 > 50.0 {
            self.level /= 2.0;
        }
        if self.calls_today > 50
            && self.answers_today > 0
            && self.drops_today as f64 / self.answers_today as f64 * 100.0 > self.drop_limit_pct
        {
            self.level = 1.0;
        }
    }
}

impl Policy for Vicidial {
    fn observe(&mut self, now: f64, ev: SimEvent) {
        self.roll_day(now);
        match ev {
            SimEvent::Call(_, CallEvent::Dialled) => {
                self.calls_today += 1;
                self.dials_last_minute.push_back(now);
            }
            SimEvent::Call(_, CallEvent::AnsweredLive) => self.answers_today += 1,
            SimEvent::Call(_, CallEvent::Abandoned) => {
                self.drops_today += 1;
                self.drops_last_minute.push_back(now);
            }
            _ => {}
        }
    }

    fn dial(&mut self, now: f64, v: &View) -> u32 {
        self.roll_day(now);
        for q in [&mut self.dials_last_minute, &mut self.drops_last_minute] {
            while q.front().is_some_and(|t| *t < now - 60.0) {
                q.pop_front();
            }
        }
        if self.samples.len() == VD_SAMPLES {
            self.samples.pop_front();
        }
        self.samples
            .push_back((v.ready as f64, v.waiting as f64, v.logged_in as f64));
        if now - self.last_adapt >= VD_ADAPT_INTERVAL_S {
            self.last_adapt = now;
            self.adapt();
        }
        let goal = (self.level * (v.ready + v.talking) as f64).round() as i64;
        let up = (v.ringing + v.waiting + v.talking) as i64;
        (goal - up).max(0) as u32
    }

    fn deadline(&self, _window_from: f64, queued: f64) -> f64 {
        queued + VD_DROP_CALL_SECONDS
    }
}

/// Our [`Pacer`], fed the same events.
#[derive(Debug)]
pub struct Orderline {
    pacer: Pacer,
}

fn at(now: f64) -> Duration {
    Duration::from_secs_f64(now.max(0.0))
}

impl Orderline {
    pub fn new(cfg: PacerConfig) -> Result<Orderline, PacerError> {
        Ok(Orderline {
            pacer: Pacer::new(cfg)?,
        })
    }
}

impl Policy for Orderline {
    fn observe(&mut self, now: f64, ev: SimEvent) {
        match ev {
            SimEvent::Agent(id, e) => self.pacer.agent(at(now), id, e),
            SimEvent::Call(id, e) => self.pacer.call(at(now), id, e),
        }
    }

    fn dial(&mut self, now: f64, _v: &View) -> u32 {
        self.pacer.dial_now(at(now))
    }

    fn deadline(&self, window_from: f64, _queued: f64) -> f64 {
        harbor_deadline(window_from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(ready: u32, talking: u32, waiting: u32) -> View {
        View {
            logged_in: ready + talking,
            ready,
            talking,
            waiting,
            ..View::default()
        }
    }

    #[test]
    fn vicidial_level_rises_with_idle_agents_and_caps_at_3() {
        let mut v = Vicidial::new(3.0);
        for s in 0..200 {
            v.dial(s as f64, &view(10, 0, 0));
        }
        assert_eq!(v.level(), VD_MAX_LEVEL);
        // Customers waiting and no agent ready: the level falls to the floor.
        for s in 200..400 {
            v.dial(s as f64, &view(0, 10, 5));
        }
        assert_eq!(v.level(), 1.0);
    }

    #[test]
    fn vicidial_hard_limit_collapses_the_level_on_todays_drops() {
        let mut v = Vicidial::new(3.0);
        for k in 0..100 {
            v.observe(1.0, SimEvent::Call(k, CallEvent::Dialled));
            v.observe(2.0, SimEvent::Call(k, CallEvent::AnsweredLive));
        }
        for k in 0..5 {
            v.observe(3.0, SimEvent::Call(k, CallEvent::Abandoned));
        }
        for s in 100..300 {
            v.dial(s as f64, &view(10, 0, 0));
        }
        assert_eq!(v.level(), 1.0, "5 % drops today > 3 %");
        // Tomorrow the count restarts and the level climbs again.
        for s in 0..100 {
            v.dial(86_400.0 + s as f64, &view(10, 0, 0));
        }
        assert!(v.level() > 1.0);
    }

    #[test]
    fn progressive_covers_each_ready_agent_once() {
        let v = View {
            ready: 5,
            ringing: 2,
            waiting: 1,
            ..View::default()
        };
        assert_eq!(Progressive.dial(0.0, &v), 2);
    }
}
