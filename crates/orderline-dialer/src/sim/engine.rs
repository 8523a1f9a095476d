//! The discrete-event loop: one floor of agents, one pacer, the shared
//! customers, simulated seconds. Identical rules for every pacer: a 1 s
//! pacing tick, longest-idle agent first, customers served first come first
//! served, talk then wrap then ready again.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};

use super::customers::{Customer, CustomerStream, Outcome, AMD_AFTER_GREETING_S, AMD_MACHINE_S};
use super::policies::{Policy, SimEvent, View, SAFE_HARBOR_S};
use super::{DayTotals, SimConfig};
use crate::harbor::LIVE_INITIAL_SILENCE;
use crate::pacer::{AgentEvent, CallEvent};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tick,
    Outcome(u64),
    Routed(u64),
    MachineDone(u64),
    Deadline(u64),
    WrapStart(usize),
    AgentReady(usize),
}

#[derive(Debug, Clone, Copy)]
struct Ev {
    t: f64,
    seq: u64,
    kind: Kind,
}

impl PartialEq for Ev {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Ev {}
impl PartialOrd for Ev {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ev {
    /// Earliest first in a max-heap; ties in insertion order.
    fn cmp(&self, o: &Self) -> Ordering {
        o.t.total_cmp(&self.t).then(o.seq.cmp(&self.seq))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Ready,
    Talk,
    Wrap,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum LineState {
    Ringing,
    Amd,
    Waiting { answered: f64 },
}

#[derive(Debug, Clone, Copy)]
struct Line {
    customer: Customer,
    answered_at: f64,
    /// Where the safe-harbor window opens: the end of the greeting when
    /// AMD listened to it, else the answer (see [`Engine::outcome`]).
    window_from: f64,
    state: LineState,
}

/// Totals of one pacer's run.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub calls: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub machines: u64,
    pub connected: u64,
    pub late_over_2s: u64,
    pub wait_sum: f64,
    pub busy_s: f64,
    pub talk_s: f64,
    pub logged_in_s: f64,
    pub days: Vec<DayTotals>,
}

pub struct Engine<'a, P: Policy> {
    cfg: &'a SimConfig,
    policy: P,
    customers: &'a mut CustomerStream,
    amd: bool,
    queue: BinaryHeap<Ev>,
    seq: u64,
    phases: Vec<Phase>,
    idle: VecDeque<usize>,
    lines: BTreeMap<u64, Line>,
    waiting: VecDeque<u64>,
    next_call: u64,
    day_end: f64,
    tally: Tally,
}

impl<'a, P: Policy> Engine<'a, P> {
    pub fn new(cfg: &'a SimConfig, policy: P, customers: &'a mut CustomerStream) -> Self {
        Engine {
            amd: cfg.machine_rate > 0.0,
            cfg,
            policy,
            customers,
            queue: BinaryHeap::new(),
            seq: 0,
            phases: Vec::new(),
            idle: VecDeque::new(),
            lines: BTreeMap::new(),
            waiting: VecDeque::new(),
            next_call: 0,
            day_end: 0.0,
            tally: Tally::default(),
        }
    }

    fn at(&mut self, t: f64, kind: Kind) {
        self.seq += 1;
        self.queue.push(Ev {
            t,
            seq: self.seq,
            kind,
        });
    }

    fn tell(&mut self, now: f64, ev: SimEvent) {
        self.policy.observe(now, ev);
    }

    /// Simulate every day and return the totals.
    pub fn run(mut self) -> Tally {
        let agents = self.cfg.agents as usize;
        let start_hour = if self.cfg.hours <= 15.0 { 9.0 } else { 0.0 };
        for day in 0..self.cfg.days {
            let t0 = day as f64 * 86_400.0 + start_hour * 3600.0;
            self.day_end = t0 + self.cfg.hours * 3600.0;
            let before = (self.tally.answered, self.tally.abandoned);
            self.phases = vec![Phase::Ready; agents];
            self.idle = (0..agents).collect();
            for a in 0..agents {
                self.tell(t0, SimEvent::Agent(a as u64, AgentEvent::LoggedIn));
                self.tell(t0, SimEvent::Agent(a as u64, AgentEvent::Ready));
            }
            self.tally.logged_in_s += agents as f64 * self.cfg.hours * 3600.0;
            self.at(t0, Kind::Tick);
            while let Some(ev) = self.queue.pop() {
                self.handle(ev);
            }
            for a in 0..agents {
                self.tell(
                    self.day_end,
                    SimEvent::Agent(a as u64, AgentEvent::LoggedOut),
                );
            }
            self.tally.days.push(DayTotals {
                answered: self.tally.answered - before.0,
                abandoned: self.tally.abandoned - before.1,
            });
        }
        self.tally
    }

    fn view(&self) -> View {
        let mut v = View {
            logged_in: self.phases.len() as u32,
            waiting: self.waiting.len() as u32,
            ..View::default()
        };
        for p in &self.phases {
            match p {
                Phase::Ready => v.ready += 1,
                Phase::Talk => v.talking += 1,
                Phase::Wrap => v.wrapping += 1,
            }
        }
        v.ringing = self
            .lines
            .values()
            .filter(|l| matches!(l.state, LineState::Ringing | LineState::Amd))
            .count() as u32;
        v
    }

    /// Seconds of [a, b) inside the working day.
    fn clip(&self, a: f64, b: f64) -> f64 {
        (b.min(self.day_end) - a).max(0.0)
    }

    fn handle(&mut self, ev: Ev) {
        let now = ev.t;
        match ev.kind {
            Kind::Tick => {
                if now >= self.day_end {
                    return;
                }
                let view = self.view();
                let n = self.policy.dial(now, &view);
                for _ in 0..n {
                    self.dial(now);
                }
                self.at(now + 1.0, Kind::Tick);
            }
            Kind::Outcome(id) => self.outcome(now, id),
            Kind::Routed(id) => self.route(now, id),
            Kind::MachineDone(id) => {
                if self.lines.remove(&id).is_some() {
                    self.tally.machines += 1;
                    self.tell(now, SimEvent::Call(id, CallEvent::Machine));
                }
            }
            Kind::Deadline(id) => {
                if let Some(pos) = self.waiting.iter().position(|w| *w == id) {
                    self.waiting.remove(pos);
                    self.lines.remove(&id);
                    self.tally.abandoned += 1;
                    self.tell(now, SimEvent::Call(id, CallEvent::Abandoned));
                }
            }
            Kind::WrapStart(a) => {
                self.phases[a] = Phase::Wrap;
                self.tell(now, SimEvent::Agent(a as u64, AgentEvent::WrapUp));
            }
            Kind::AgentReady(a) => {
                self.phases[a] = Phase::Ready;
                self.tell(now, SimEvent::Agent(a as u64, AgentEvent::Ready));
                if let Some(id) = self.waiting.pop_front() {
                    self.connect(now, id, a);
                } else {
                    self.idle.push_back(a);
                }
            }
        }
    }

    fn dial(&mut self, now: f64) {
        let id = self.next_call;
        self.next_call += 1;
        let customer = self.customers.get(id as usize);
        self.lines.insert(
            id,
            Line {
                customer,
                answered_at: 0.0,
                window_from: 0.0,
                state: LineState::Ringing,
            },
        );
        self.tally.calls += 1;
        self.tell(now, SimEvent::Call(id, CallEvent::Dialled));
        self.at(now + customer.ring_s, Kind::Outcome(id));
    }

    fn outcome(&mut self, now: f64, id: u64) {
        let Some(line) = self.lines.get_mut(&id) else {
            return;
        };
        match line.customer.outcome {
            Outcome::NoAnswer | Outcome::Busy => {
                let ev = if line.customer.outcome == Outcome::Busy {
                    CallEvent::Busy
                } else {
                    CallEvent::NoAnswer
                };
                self.lines.remove(&id);
                self.tell(now, SimEvent::Call(id, ev));
            }
            Outcome::Machine => {
                line.state = LineState::Amd;
                line.answered_at = now;
                self.at(now + AMD_MACHINE_S, Kind::MachineDone(id));
            }
            // As the live line does (src/call/line.rs, daemon/predictive.rs):
            // with AMD the customer is held until the detector says `human`,
            // `after_greeting_silence` after the greeting, and the window
            // opens where the greeting ended (47 CFR 64.1200(a)(7)(i)); a
            // customer who says nothing is routed as `unknown` after the
            // live initial silence with the window from the answer. Without
            // AMD nothing listens: routed at once, window from the answer.
            Outcome::Live => {
                line.answered_at = now;
                line.window_from = now;
                if self.amd {
                    line.state = LineState::Amd;
                    let decided = match line.customer.greeting_s {
                        Some(g) => {
                            line.window_from = now + g;
                            now + g + AMD_AFTER_GREETING_S
                        }
                        None => now + LIVE_INITIAL_SILENCE.as_secs_f64(),
                    };
                    self.at(decided, Kind::Routed(id));
                } else {
                    self.route(now, id);
                }
            }
        }
    }

    /// A live customer, classified human, needs an agent now.
    fn route(&mut self, now: f64, id: u64) {
        let Some(line) = self.lines.get_mut(&id) else {
            return;
        };
        let answered = line.answered_at;
        let window_from = line.window_from;
        line.state = LineState::Waiting { answered };
        self.tally.answered += 1;
        self.tell(now, SimEvent::Call(id, CallEvent::AnsweredLive));
        if let Some(a) = self.idle.pop_front() {
            self.connect(now, id, a);
        } else {
            self.waiting.push_back(id);
            let deadline = self.policy.deadline(window_from, now);
            self.at(deadline, Kind::Deadline(id));
        }
    }

    fn connect(&mut self, now: f64, id: u64, agent: usize) {
        let Some(line) = self.lines.remove(&id) else {
            return;
        };
        let LineState::Waiting { answered } = line.state else {
            return;
        };
        let wait = now - answered;
        self.tally.connected += 1;
        self.tally.wait_sum += wait;
        if now - line.window_from > SAFE_HARBOR_S + 1e-9 {
            self.tally.late_over_2s += 1;
        }
        let c = line.customer;
        self.phases[agent] = Phase::Talk;
        self.tally.talk_s += self.clip(now, now + c.talk_s);
        self.tally.busy_s += self.clip(now, now + c.talk_s + c.wrap_s);
        self.tell(now, SimEvent::Call(id, CallEvent::Connected));
        self.tell(now, SimEvent::Agent(agent as u64, AgentEvent::InCall));
        self.at(now + c.talk_s, Kind::WrapStart(agent));
        self.at(now + c.talk_s + c.wrap_s, Kind::AgentReady(agent));
    }
}
