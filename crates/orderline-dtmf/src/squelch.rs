//! DTMF squelch for a bridged stream: the listener on the other leg must hear no part of
//! a key press — not even the first few milliseconds before any detector could be sure
//! (the leak of signalwire/freeswitch#2560, where the tone's onset and tail got through).
//!
//! The stream is delayed by a fixed [`DELAY`] (40 ms, the bound the payment flow accepts).
//! The same spectral analysis as the detector runs on the *undelayed* input with looser
//! limits (lower level, wider twist and frequency, smaller energy share), so it flags a
//! window as "DTMF-like" within about 13–19 ms of the tone's onset. When it does, the
//! delayed output is muted from the sample now leaving the delay line — which is
//! ≥ 21 ms *before* the onset — until [`TAIL`] samples after the last flagged window.
//! Muted samples are replaced by silence. Delay is constant, so RTP timing is unaffected.

use super::analysis::{Analyzer, Limits};

/// Fixed delay: 320 samples = 40 ms (the look-ahead bound).
pub const DELAY: usize = 320;
/// Mute this long after the last DTMF-like window ends: covers the part of the tone in
/// the next, partly covered window (< 102 samples) with margin.
const TAIL: u64 = 160;

/// Squelch for one direction of a bridge. State: a 640-byte delay line plus the analyser.
#[derive(Clone)]
pub struct Squelch {
    analyzer: Analyzer,
    limits: Limits,
    line: [i16; DELAY],
    pos: usize,
    /// Input samples consumed so far.
    clock: u64,
    /// Input sample index before which the output is muted.
    mute_until: u64,
    /// Samples replaced by silence so far (after the initial delay).
    muted: u64,
}

impl Default for Squelch {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Squelch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Squelch")
            .field("clock", &self.clock)
            .field("muted", &self.muted)
            .finish()
    }
}

impl Squelch {
    /// The fixed delay, [`DELAY`] samples.
    pub const DELAY: usize = DELAY;

    pub fn new() -> Self {
        Squelch {
            analyzer: Analyzer::new(),
            // Looser than the detector on purpose: muting a little speech is harmless,
            // leaking a tone fragment is not.
            limits: Limits::new(-42.0, 12.0, 8.0, 6.0, 0.5, 0.035),
            line: [0; DELAY],
            pos: 0,
            clock: 0,
            mute_until: 0,
            muted: 0,
        }
    }

    /// Filter `input` into `output` (same length; if they differ, the extra output is
    /// zeroed and extra input is ignored). Output lags input by [`Self::delay_samples`].
    pub fn process(&mut self, input: &[i16], output: &mut [i16]) {
        let n = input.len().min(output.len());
        output[n..].fill(0);
        let mut done = 0;
        while done < n {
            let k = self.analyzer.remaining().min(n - done);
            let (inp, out) = (&input[done..done + k], &mut output[done..done + k]);
            for (o, &x) in out.iter_mut().zip(inp) {
                // The sample leaving the line entered at input index clock - DELAY.
                let leaving = self.clock.wrapping_sub(DELAY as u64);
                let y = self.line[self.pos];
                *o = if self.clock < DELAY as u64 {
                    0
                } else if leaving >= self.mute_until {
                    y
                } else {
                    self.muted += 1;
                    0
                };
                self.line[self.pos] = x;
                self.pos = (self.pos + 1) % DELAY;
                self.clock += 1;
            }
            if self.analyzer.feed(inp) {
                if let Some(v) = self.analyzer.judge(&self.limits) {
                    if v.key.is_some() {
                        self.mute_until = self.mute_until.max(self.clock + TAIL);
                    }
                }
            }
            done += k;
        }
    }

    /// Fixed added delay in samples (320 = 40 ms).
    pub fn delay_samples(&self) -> usize {
        DELAY
    }

    /// Samples replaced by silence so far (the initial delay not counted).
    pub fn muted_samples(&self) -> u64 {
        self.muted
    }

    /// Is the output currently muted (a tone is being removed)?
    pub fn muting(&self) -> bool {
        self.clock.saturating_sub(DELAY as u64) < self.mute_until
    }
}
