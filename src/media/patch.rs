//! What each party of a bridge hears, sans-IO: the routing core of the
//! bridge task. Fed with each leg's decoded received audio as it
//! arrives, asked for each leg's next outgoing frame when its pacer ticks.
//!
//! ```text
//!  agent rx ──────────────────────────▶ ring ──▶ customer tx   (Talk)
//!  customer rx ──▶ Squelch (always) ──▶ ring ──▶ agent tx      (Talk)
//!                                  └──▶ (dropped)              (Secure: agent hears hold tone,
//!                                                                customer silence or prompts)
//! ```
//!
//! - Before the customer is connected the agent hears ringback; in a
//!   nailed-up session (issue #10) it hears the session's [`IdleSound`]
//!   instead, before and between customers ([`Patch::disconnect`]).
//! - The squelch sees every customer sample in every mode, so a key held
//!   across a mode switch is judged on its whole length, with the same
//!   40 ms look-ahead, and muted.
//! - A mode switch clears both rings (nothing buffered under one mode is
//!   heard under the other), and on Secure → Talk the first
//!   [`Squelch::DELAY`] samples leaving the squelch — customer audio that
//!   entered it during Secure — are replaced by silence.
//!
//! Prompts are not handled here: a leg's own player overrides the frame
//! this core gives it.
//!
//! The bridge's vocabulary ([`Side`], [`BridgeMode`]) is defined here, in
//! the sans-IO core that routes by it; the tokio bridge imports it (issue #9).

use super::comfort::{Idle, IdleSound};
use super::jitter::MAX_PAYLOAD;
use super::ring::PcmRing;
use crate::dtmf::{dbm0_to_amplitude, Squelch};

/// One leg of a bridged call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Agent,
    Customer,
}

/// What each party hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BridgeMode {
    /// The two parties talk (customer audio squelched of DTMF towards the agent).
    Talk,
    /// Keypad entry: agent on hold tone, customer hears prompts only.
    Secure,
}

/// A single tone in an on/off cadence, with raised-cosine edges so that
/// switching it on and off puts no click (broadband energy, DTMF band
/// included) on the line. No allocation.
#[derive(Debug, Clone)]
pub(super) struct Cadence {
    /// Phase increment per sample (rad).
    inc: f32,
    amp: f32,
    on: u32,
    period: u32,
    pos: u32,
}

impl Cadence {
    /// Edge length: 8 ms.
    const RAMP: u32 = 64;

    pub(super) fn new(hz: f32, dbm0: f32, on_ms: u32, off_ms: u32) -> Self {
        Self {
            inc: 2.0 * std::f32::consts::PI * hz / 8000.0,
            amp: dbm0_to_amplitude(dbm0),
            on: on_ms * 8,
            period: (on_ms + off_ms) * 8,
            pos: 0,
        }
    }

    /// Ringback (ETSI TR 101 041-1, the CEPT tone): 425 Hz, 1 s on, 4 s off, −13 dBm0.
    pub(super) fn ringback() -> Self {
        Self::new(425.0, -13.0, 1000, 4000)
    }

    /// The agent's hold tone during a payment: 425 Hz, 0.5 s on, 3.5 s off,
    /// −18 dBm0. One low sine with soft edges: nothing near the DTMF groups
    /// (697–1633 Hz) but window leakage, and a cadence no one takes for
    /// ringback or busy.
    pub(super) fn hold() -> Self {
        Self::new(425.0, -18.0, 500, 3500)
    }

    /// Start again from the beginning of an on-period.
    pub(super) fn restart(&mut self) {
        self.pos = 0;
    }

    pub(super) fn fill(&mut self, out: &mut [i16]) {
        for o in out {
            let p = self.pos;
            *o = if p < self.on {
                let edge = p.min(self.on - 1 - p);
                let env = if edge < Self::RAMP {
                    0.5 - 0.5 * (std::f32::consts::PI * edge as f32 / Self::RAMP as f32).cos()
                } else {
                    1.0
                };
                // The phase restarts each period: p < 2^16, f32 is exact enough.
                (env * self.amp * (self.inc * p as f32).sin()) as i16
            } else {
                0
            };
            self.pos = (p + 1) % self.period;
        }
    }
}

/// The two rings, the squelch and the agent's ringback and hold tones of one bridge.
#[derive(Debug)]
pub(super) struct Patch {
    mode: BridgeMode,
    connected: bool,
    to_agent: PcmRing,
    to_customer: PcmRing,
    squelch: Squelch,
    squelched: [i16; MAX_PAYLOAD],
    /// Squelch output samples still to silence after Secure → Talk.
    discard: usize,
    ringback: Cadence,
    hold: Cadence,
    /// A session's sound between customers; `None`: ringback (click-to-call).
    idle: Option<Idle>,
    /// Squelched samples of customers already disconnected.
    squelched_before: u64,
    /// Since connect, no agent frame has carried customer sound yet.
    awaiting_first: bool,
    /// The agent frame just built is the first to carry customer sound.
    first_heard: bool,
    /// The agent sent speech-level audio to this customer.
    agent_spoke: bool,
    /// Squelch output still to drop at a session's connect: the look-ahead's
    /// initial fill, silence that is nobody's audio.
    fill_to_drop: usize,
}

/// Mean absolute sample value above which an agent's 20 ms counts as
/// speaking (about −44 dBm0): an energy test, not a VAD. Comfort noise and
/// line hiss stay far below it, a voice or a test tone far above.
const SPOKE_MEAN_ABS: u64 = 200;

impl Patch {
    pub(super) fn new() -> Self {
        Self {
            mode: BridgeMode::Talk,
            connected: false,
            to_agent: PcmRing::new(),
            to_customer: PcmRing::new(),
            squelch: Squelch::new(),
            squelched: [0; MAX_PAYLOAD],
            discard: 0,
            ringback: Cadence::ringback(),
            hold: Cadence::hold(),
            idle: None,
            squelched_before: 0,
            awaiting_first: false,
            first_heard: false,
            agent_spoke: false,
            fill_to_drop: 0,
        }
    }

    /// A session's patch: the agent hears `sound` while no customer is
    /// connected, not ringback.
    pub(super) fn with_idle(sound: IdleSound) -> Self {
        Self {
            idle: Some(Idle::new(sound)),
            ..Self::new()
        }
    }

    /// The customer leg went away; the agent (a session's) goes back to its
    /// idle sound. The squelch starts afresh for the next customer: nothing
    /// of this one's audio is heard in the next call.
    pub(super) fn disconnect(&mut self) {
        self.connected = false;
        self.mode = BridgeMode::Talk;
        self.to_agent.clear();
        self.to_customer.clear();
        self.squelched_before += self.squelch.muted_samples();
        self.squelch = Squelch::new();
        self.discard = 0;
        self.fill_to_drop = 0;
        self.awaiting_first = false;
        self.first_heard = false;
    }

    /// Whether the agent frame just taken was the first since connect to
    /// carry customer sound (true once per connect). The bridge stamps its
    /// send time: the connect latency of issue #10.
    pub(super) fn take_first_heard(&mut self) -> bool {
        std::mem::take(&mut self.first_heard)
    }

    /// The agent spoke (speech-level audio) since the last connect.
    pub(super) fn agent_spoke(&self) -> bool {
        self.agent_spoke
    }

    /// The customer answered: ringback stops, the parties talk.
    pub(super) fn connect(&mut self) {
        self.connected = true;
        self.mode = BridgeMode::Talk;
        self.to_agent.clear();
        self.to_customer.clear();
        self.awaiting_first = true;
        self.first_heard = false;
        self.agent_spoke = false;
        if self.idle.is_some() {
            // A session connects in the agent's ongoing stream: the
            // customer's first sound goes out as soon as the squelch has
            // judged it (its 40 ms look-ahead stays), not behind the
            // look-ahead's initial silence and a 20 ms prefill. The squelch
            // is fresh here (new at the session's start and at each
            // disconnect), so its first DELAY output samples are that fill.
            self.fill_to_drop = Squelch::DELAY;
            self.to_agent.start_fast();
        }
    }

    /// Switch what each party hears. Before connect only the mode is
    /// remembered (connect starts in Talk anyway).
    pub(super) fn set_mode(&mut self, mode: BridgeMode) {
        if mode == self.mode {
            return;
        }
        self.mode = mode;
        if !self.connected {
            return;
        }
        self.to_agent.clear();
        self.to_customer.clear();
        match mode {
            BridgeMode::Secure => self.hold.restart(),
            BridgeMode::Talk => self.discard = Squelch::DELAY,
        }
    }

    /// Decoded audio the agent sent us.
    pub(super) fn on_agent_audio(&mut self, pcm: &[i16]) {
        if self.connected && self.mode == BridgeMode::Talk {
            self.to_customer.push(pcm);
            if !self.agent_spoke && !pcm.is_empty() {
                let sum: u64 = pcm.iter().map(|s| u64::from(s.unsigned_abs())).sum();
                self.agent_spoke = sum >= SPOKE_MEAN_ABS * pcm.len() as u64;
            }
        }
    }

    /// Decoded audio the customer sent us: always through the squelch.
    pub(super) fn on_customer_audio(&mut self, pcm: &[i16]) {
        for chunk in pcm.chunks(MAX_PAYLOAD) {
            let out = &mut self.squelched[..chunk.len()];
            self.squelch.process(chunk, out);
            if self.mode != BridgeMode::Talk {
                continue;
            }
            let k = self.discard.min(out.len());
            out[..k].fill(0);
            self.discard -= k;
            let fill = self.fill_to_drop.min(out.len());
            self.fill_to_drop -= fill;
            self.to_agent.push(&out[fill..]);
        }
    }

    /// The agent's next frame (before any prompt of the agent's leg).
    pub(super) fn agent_frame(&mut self, out: &mut [i16]) {
        if !self.connected {
            match self.idle.as_mut() {
                Some(idle) => idle.fill(out),
                None => self.ringback.fill(out),
            }
        } else if self.mode == BridgeMode::Secure {
            self.hold.fill(out);
        } else if self.to_agent.pop(out) && self.awaiting_first && out.iter().any(|&s| s != 0) {
            self.awaiting_first = false;
            self.first_heard = true;
        }
    }

    /// The customer's next frame (before any prompt of the customer's leg).
    pub(super) fn customer_frame(&mut self, out: &mut [i16]) {
        match self.mode {
            BridgeMode::Talk => {
                self.to_customer.pop(out);
            }
            BridgeMode::Secure => out.fill(0),
        }
    }

    /// The next frame for `side`.
    pub(super) fn frame(&mut self, side: Side, out: &mut [i16]) {
        match side {
            Side::Agent => self.agent_frame(out),
            Side::Customer => self.customer_frame(out),
        }
    }

    /// The pacer of `side` skipped `samples`: drop as much forwarded audio.
    pub(super) fn skipped(&mut self, side: Side, samples: usize) {
        match side {
            Side::Agent => self.to_agent.skip(samples),
            Side::Customer => self.to_customer.skip(samples),
        }
    }

    /// Customer samples the squelch replaced with silence.
    pub(super) fn squelched_samples(&self) -> u64 {
        self.squelched_before + self.squelch.muted_samples()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::{decode_samples, dtmf_samples, DtmfTiming};

    const F: usize = 160;

    fn sine(hz: f32, amp: f32, n: usize) -> Vec<i16> {
        let w = 2.0 * std::f32::consts::PI * hz / 8000.0;
        (0..n)
            .map(|i| (amp * (w * i as f32 + 0.5).sin()) as i16)
            .collect()
    }

    /// Customer frames in, agent frames out, in lockstep; agent frames
    /// also pulled while the customer side is given `customer` only.
    fn run(p: &mut Patch, customer: &[i16]) -> Vec<i16> {
        let mut out = vec![0i16; customer.len()];
        for (c, o) in customer.chunks(F).zip(out.chunks_mut(F)) {
            p.on_customer_audio(c);
            p.agent_frame(o);
        }
        out
    }

    fn connected() -> Patch {
        let mut p = Patch::new();
        p.connect();
        p
    }

    #[test]
    fn cadence_has_soft_edges_and_its_level() {
        let mut c = Cadence::hold();
        let mut x = vec![0i16; 64_000];
        c.fill(&mut x);
        assert_eq!(x[..32_000], x[32_000..], "periodic");
        assert!(x[4000..32_000].iter().all(|&s| s == 0), "off for 3.5 s");
        let peak = x[..4000].iter().map(|&s| s.unsigned_abs()).max().unwrap();
        let want = dbm0_to_amplitude(-18.0);
        assert!(
            (f32::from(peak) - want).abs() < want * 0.01,
            "{peak} vs {want}"
        );
        // Edges: the first and last 2 ms stay well below the full level.
        for s in x[..16].iter().chain(&x[3984..4000]) {
            assert!(f32::from(s.unsigned_abs()) < want * 0.16);
        }
    }

    #[test]
    fn ringback_until_connect() {
        let mut p = Patch::new();
        let mut want = vec![0i16; 40_000];
        Cadence::ringback().fill(&mut want);
        let mut got = vec![0i16; 2 * want.len()];
        for f in got.chunks_mut(F) {
            p.agent_frame(f);
        }
        assert_eq!(got[..want.len()], want[..]);
        assert_eq!(got[want.len()..], want[..], "cadence repeats");
        p.connect();
        let mut f = [1i16; F];
        p.agent_frame(&mut f);
        assert!(f.iter().all(|&s| s == 0), "connected: no ringback");
    }

    #[test]
    fn talk_forwards_customer_audio_delayed_by_squelch_and_one_frame() {
        let mut p = connected();
        let x = sine(440.0, 8000.0, 8000);
        let y = run(&mut p, &x);
        // 320 samples of squelch look-ahead + 160 of ring prefill, exact.
        let d = Squelch::DELAY + PcmRing::PREFILL;
        assert!(y[..d].iter().all(|&s| s == 0));
        assert_eq!(y[d..], x[..x.len() - d]);
        assert_eq!(p.squelched_samples(), 0);
        // And the agent's audio to the customer: the ring's frame only.
        let mut out = vec![0i16; x.len()];
        for (c, o) in x.chunks(F).zip(out.chunks_mut(F)) {
            p.on_agent_audio(c);
            p.customer_frame(o);
        }
        assert_eq!(out[PcmRing::PREFILL..], x[..x.len() - PcmRing::PREFILL]);
    }

    #[test]
    fn keys_in_talk_are_squelched_and_counted() {
        let mut p = connected();
        let t = DtmfTiming {
            on_ms: 40,
            off_ms: 60,
            ..DtmfTiming::default()
        };
        let mut x = dtmf_samples("4111", t).unwrap();
        x.extend(vec![0; 800]);
        assert_eq!(decode_samples(&x).len(), 4);
        let y = run(&mut p, &x);
        assert!(y.iter().all(|&s| s == 0), "every tone sample muted");
        assert!(
            p.squelched_samples() >= 4 * 320,
            "{}",
            p.squelched_samples()
        );
    }

    #[test]
    fn secure_is_hold_tone_for_the_agent_and_silence_for_the_customer() {
        let mut p = connected();
        run(&mut p, &sine(1000.0, 20000.0, 1600));
        p.set_mode(BridgeMode::Secure);
        let loud = sine(1000.0, 20000.0, 4 * 8000 + 800);
        let y = run(&mut p, &loud);
        let mut hold = vec![0i16; 32_000];
        Cadence::hold().fill(&mut hold);
        assert_eq!(
            y[..hold.len()],
            hold[..],
            "exactly the hold tone, from its start"
        );
        assert_eq!(
            y[hold.len()..],
            hold[..y.len() - hold.len()],
            "cadence repeats"
        );
        let mut f = [1i16; F];
        for c in loud.chunks(F).take(50) {
            p.on_agent_audio(c);
            p.customer_frame(&mut f);
            assert!(f.iter().all(|&s| s == 0));
        }
        p.set_mode(BridgeMode::Secure);
        p.agent_frame(&mut f);
        assert_eq!(
            f[..],
            hold[y.len() - hold.len()..][..F],
            "same mode: cadence not restarted"
        );
    }

    #[test]
    fn back_to_talk_releases_nothing_buffered_before_or_heard_in_secure() {
        let mut p = connected();
        // Talk audio left in both rings (nobody read it yet).
        let loud = sine(1000.0, 20000.0, 4000);
        p.on_customer_audio(&loud);
        p.on_agent_audio(&loud);
        p.set_mode(BridgeMode::Secure);
        // Loud non-DTMF audio fills the squelch's delay line during Secure.
        run(&mut p, &loud);
        p.set_mode(BridgeMode::Talk);
        let quiet = vec![0i16; 1600];
        let y = run(&mut p, &quiet);
        assert!(
            y.iter().all(|&s| s == 0),
            "earlier audio reached the agent after the switch"
        );
        let mut f = [1i16; F];
        for _ in 0..10 {
            p.customer_frame(&mut f);
            assert!(
                f.iter().all(|&s| s == 0),
                "stale agent audio reached the customer"
            );
        }
        // Fresh talk audio flows again.
        let y = run(&mut p, &sine(440.0, 8000.0, 1600));
        assert!(y.iter().any(|&s| s != 0));
    }

    #[test]
    fn key_across_secure_to_talk_is_muted() {
        for lead in [0usize, 8, 40, 104, 160, 312, 400, 640] {
            let mut p = connected();
            p.set_mode(BridgeMode::Secure);
            let t = DtmfTiming {
                on_ms: 100,
                off_ms: 200,
                ..DtmfTiming::default()
            };
            let key = dtmf_samples("5", t).unwrap();
            // `lead` samples of the key before the switch, the rest after.
            let mut before = vec![0i16; 1600];
            before.extend_from_slice(&key[..lead]);
            run(&mut p, &before);
            p.set_mode(BridgeMode::Talk);
            let y = run(&mut p, &key[lead..]);
            assert!(y.iter().all(|&s| s == 0), "lead {lead}: tone leaked");
        }
    }

    #[test]
    fn a_session_hears_comfort_noise_then_the_customer_then_noise_again() {
        let mut p = Patch::with_idle(IdleSound::ComfortNoise { seed: 3 });
        let mut f = [0i16; F];
        p.agent_frame(&mut f);
        assert!(f.iter().any(|&s| s != 0), "noise, not silence");
        assert!(
            f.iter()
                .all(|&s| s.abs() <= crate::media::comfort::COMFORT_PEAK),
            "quiet: no ringback in a session"
        );

        p.connect();
        let tone = sine(440.0, 8000.0, 8 * F);
        let mut first = None;
        for (i, c) in tone.chunks(F).enumerate() {
            p.on_customer_audio(c);
            p.agent_frame(&mut f);
            if p.take_first_heard() {
                assert!(first.is_none(), "reported once per connect");
                assert!(
                    f.iter().any(|&s| s.abs() > 1000),
                    "that frame carries the tone"
                );
                first = Some(i);
            }
        }
        // Only the squelch's look-ahead (40 ms) comes first: the tone fed
        // with the third frame is heard in that frame (no prefill, no
        // look-ahead fill queued ahead of it).
        let first = first.expect("the customer was heard");
        assert_eq!(first, 2, "first heard in frame {first}");
        assert!(!p.agent_spoke(), "the agent said nothing");
        p.on_agent_audio(&sine(300.0, 3000.0, F));
        assert!(p.agent_spoke());

        p.disconnect();
        p.on_customer_audio(&tone[..F]);
        p.agent_frame(&mut f);
        assert!(
            f.iter()
                .all(|&s| s.abs() <= crate::media::comfort::COMFORT_PEAK),
            "back to comfort noise, nothing of the customer"
        );
        assert!(!p.take_first_heard());

        p.connect();
        assert!(!p.agent_spoke(), "a new customer, a new count");
        let mut heard = false;
        for c in tone.chunks(F) {
            p.on_customer_audio(c);
            p.agent_frame(&mut f);
            heard |= p.take_first_heard();
        }
        assert!(heard, "the next customer is reported too");
    }

    #[test]
    fn comfort_noise_is_not_heard_as_speech() {
        let mut p = Patch::with_idle(IdleSound::ComfortNoise { seed: 9 });
        p.connect();
        let mut noise = [0i16; F];
        crate::media::comfort::ComfortNoise::new(1).fill(&mut noise);
        p.on_agent_audio(&noise);
        assert!(!p.agent_spoke());
    }
}
