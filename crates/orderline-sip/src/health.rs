//! Trunk health, sans-IO: OPTIONS pings per trunk on an interval (RFC 3261
//! §11: OPTIONS asks a server's capabilities; any final answer but 503 shows
//! it is there), a trunk marked down after `threshold` misses in a row (no
//! answer, 503, or a call the trunk never answered), up again on the first
//! good answer; and the order to try trunks in: up ones by priority, then
//! RFC 2782 weights. Time and randomness come in; nothing here reads a clock.

use std::time::{Duration, Instant};

use rand::Rng;

use super::locate::order_weighted;

/// One trunk's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkSpec {
    pub name: String,
    /// Lower is tried first.
    pub priority: u16,
    /// Share among trunks of one priority.
    pub weight: u16,
    /// `None`: never pinged (always counted up unless its calls fail).
    pub interval: Option<Duration>,
    /// Misses in a row that mark it down.
    pub threshold: u32,
}

/// One trunk's state, as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct TrunkStatus {
    pub name: String,
    pub up: bool,
    /// Round trip of the last answered OPTIONS.
    pub latency: Option<Duration>,
    pub calls: u64,
}

#[derive(Debug)]
struct Trunk {
    spec: TrunkSpec,
    up: bool,
    misses: u32,
    next_ping: Option<Instant>,
    /// When the ping in flight was sent.
    outstanding: Option<Instant>,
    latency: Option<Duration>,
    calls: u64,
}

/// Every trunk's health.
#[derive(Debug)]
pub struct TrunkHealth {
    trunks: Vec<Trunk>,
}

impl TrunkHealth {
    /// All trunks start up; the first pings are due at `now`.
    pub fn new(specs: Vec<TrunkSpec>, now: Instant) -> Self {
        let trunks = specs
            .into_iter()
            .map(|spec| Trunk {
                next_ping: spec.interval.map(|_| now),
                spec,
                up: true,
                misses: 0,
                outstanding: None,
                latency: None,
                calls: 0,
            })
            .collect();
        Self { trunks }
    }

    /// Trunks (by index) to ping now. A ping still unanswered when the next
    /// is due counts as a miss.
    pub fn due(&mut self, now: Instant) -> Vec<usize> {
        let mut out = Vec::new();
        for i in 0..self.trunks.len() {
            let t = &mut self.trunks[i];
            let (Some(at), Some(every)) = (t.next_ping, t.spec.interval) else {
                continue;
            };
            if now < at {
                continue;
            }
            if t.outstanding.take().is_some() {
                self.miss(i);
            }
            let t = &mut self.trunks[i];
            t.outstanding = Some(now);
            t.next_ping = Some(now + every);
            out.push(i);
        }
        out
    }

    /// The earliest instant [`TrunkHealth::due`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.trunks.iter().filter_map(|t| t.next_ping).min()
    }

    /// A final answer to trunk `i`'s ping, at `now`; 503 is a miss (the
    /// trunk says it is out of service, RFC 3261 §21.5.4), 408 too (our
    /// transaction timed out: no answer at all).
    pub fn on_answer(&mut self, i: usize, status: u16, now: Instant) {
        let Some(t) = self.trunks.get_mut(i) else {
            return;
        };
        let sent = t.outstanding.take();
        if status == 503 || status == 408 {
            // A late failure was already counted when the next ping fell due.
            if sent.is_some() {
                self.miss(i);
            }
            return;
        }
        if let Some(s) = sent {
            t.latency = Some(now.saturating_duration_since(s));
        }
        t.misses = 0;
        t.up = true;
    }

    /// A call through trunk `i` got no answer at all (or 503): as a missed ping.
    pub fn on_call_failure(&mut self, i: usize) {
        self.miss(i);
    }

    /// A call was placed through trunk `i`.
    pub fn on_call(&mut self, i: usize) {
        if let Some(t) = self.trunks.get_mut(i) {
            t.calls += 1;
        }
    }

    fn miss(&mut self, i: usize) {
        let Some(t) = self.trunks.get_mut(i) else {
            return;
        };
        t.misses = t.misses.saturating_add(1);
        if t.misses >= t.spec.threshold.max(1) {
            t.up = false;
        }
    }

    /// Up trunks in the order to try them: priority, then weighted random.
    pub fn order(&self, rng: &mut impl Rng) -> Vec<usize> {
        let up: Vec<(usize, u16, u16)> = self
            .trunks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.up)
            .map(|(i, t)| (i, t.spec.priority, t.spec.weight))
            .collect();
        order_weighted(&up, |&(_, p, w)| (p, w), rng)
            .into_iter()
            .map(|(i, _, _)| i)
            .collect()
    }

    pub fn status(&self) -> Vec<TrunkStatus> {
        self.trunks
            .iter()
            .map(|t| TrunkStatus {
                name: t.spec.name.clone(),
                up: t.up,
                latency: t.latency,
                calls: t.calls,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn spec(name: &str, priority: u16) -> TrunkSpec {
        TrunkSpec {
            name: name.into(),
            priority,
            weight: 1,
            interval: Some(Duration::from_secs(10)),
            threshold: 2,
        }
    }

    #[test]
    fn a_silent_trunk_goes_down_after_the_threshold_and_comes_back_on_an_answer() {
        let t0 = Instant::now();
        let mut h = TrunkHealth::new(vec![spec("a", 10), spec("b", 20)], t0);
        let mut rng = StdRng::seed_from_u64(3);
        assert_eq!(h.due(t0), vec![0, 1]);
        h.on_answer(1, 200, t0 + Duration::from_millis(30));
        assert_eq!(h.order(&mut rng), vec![0, 1], "a is first by priority");
        // a never answers: one miss at the next round, down at the second.
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(h.due(t1), vec![0, 1]);
        h.on_answer(1, 200, t1);
        assert_eq!(
            h.order(&mut rng),
            vec![0, 1],
            "one miss is below the threshold"
        );
        let t2 = t1 + Duration::from_secs(10);
        h.due(t2);
        h.on_answer(1, 200, t2);
        assert_eq!(h.order(&mut rng), vec![1], "a is down");
        assert!(!h.status()[0].up);
        // a answers again: back, first again.
        h.on_answer(0, 200, t2 + Duration::from_millis(40));
        assert_eq!(h.order(&mut rng), vec![0, 1]);
        assert_eq!(h.status()[0].latency, Some(Duration::from_millis(40)));
    }

    #[test]
    fn answers_503_and_unanswered_calls_count_as_misses() {
        let t0 = Instant::now();
        let mut h = TrunkHealth::new(vec![spec("a", 10)], t0);
        let mut rng = StdRng::seed_from_u64(3);
        h.due(t0);
        h.on_answer(0, 503, t0);
        assert_eq!(h.order(&mut rng), vec![0]);
        h.on_answer(0, 408, t0); // late: this ping was answered already
        assert_eq!(h.order(&mut rng), vec![0], "one ping, one miss");
        h.on_call_failure(0);
        assert!(h.order(&mut rng).is_empty(), "every trunk down");
        h.on_answer(0, 404, t0); // any other final answer: it is there
        assert_eq!(h.order(&mut rng), vec![0]);
    }

    #[test]
    fn unpinged_trunks_stay_up_and_are_never_due() {
        let t0 = Instant::now();
        let mut s = spec("a", 0);
        s.interval = None;
        let mut h = TrunkHealth::new(vec![s], t0);
        assert!(h.due(t0 + Duration::from_secs(100)).is_empty());
        assert_eq!(h.poll_timeout(), None);
        h.on_call(0);
        assert_eq!(h.status()[0].calls, 1);
    }
}
