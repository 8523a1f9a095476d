//! In-band DTMF detector (ITU-T Q.23 frequencies, Q.24 acceptance parameters).
//!
//! Each 102-sample window (hop 51 samples, 6.4 ms) is judged by [`super::analysis`]:
//! level, twist, relative peak, share of total energy and measured frequency. On top of
//! those per-window verdicts sits the timing logic, which is what Q.24's timing limits are about:
//!
//! * a digit is *confirmed* after [`DetectorConfig::min_on_windows`] windows agree (4
//!   windows span 255 samples, 32 ms), with at most one empty window among them: a 40 ms
//!   tone always contains 5 full windows, a 20 ms tone can never produce 4 agreeing ones;
//! * a confirmed digit *ends* after [`DetectorConfig::max_gap_windows`] consecutive windows
//!   without it (5): a 10 ms break overlaps at most 4 windows, so it does not split a digit,
//!   while a 40 ms pause contains at least 5 windows of silence, so `1111` is four digits.
//!
//! State per channel is a few hundred bytes and `push` never allocates.

use super::analysis::{Analyzer, Limits, KEYS, WINDOW};
use super::{DigitEvent, DigitSource};

/// Detector tuning. The defaults are the telco parameters described in the module docs;
/// change them only with a test that shows why.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Minimum level of each tone, dBm0. Q.24 asks for acceptance down to about −26 dBm0
    /// and rejection below about −45 dBm0; we sit in between with margin for line loss.
    pub min_level_dbm0: f32,
    /// Row tone may be this many dB louder than the column tone (Q.24: 8 dB, plus margin).
    pub normal_twist_db: f32,
    /// Column tone may be this many dB louder than the row tone (Q.24: 4 dB, plus margin).
    pub reverse_twist_db: f32,
    /// Each tone must exceed the other tones of its group by this many dB.
    pub relative_peak_db: f32,
    /// The two tones must carry at least this share of the window's energy.
    pub min_fraction: f32,
    /// Largest accepted relative frequency deviation (Q.24: accept 1.5 %, reject 3.5 %).
    pub max_deviation: f32,
    /// Consecutive agreeing windows needed to confirm a digit.
    pub min_on_windows: u8,
    /// Consecutive non-agreeing windows that end a digit.
    pub max_gap_windows: u8,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            min_level_dbm0: -38.0,
            normal_twist_db: 9.0,
            reverse_twist_db: 5.5,
            relative_peak_db: 8.0,
            min_fraction: 0.8,
            max_deviation: 0.0225,
            min_on_windows: 4,
            max_gap_windows: 5,
        }
    }
}

impl DetectorConfig {
    pub(crate) fn limits(&self) -> Limits {
        Limits::new(
            self.min_level_dbm0,
            self.normal_twist_db,
            self.reverse_twist_db,
            self.relative_peak_db,
            self.min_fraction,
            self.max_deviation,
        )
    }
}

/// Capacity of the pending-event queue. A digit needs at least ~80 ms of audio, so this
/// holds every digit of 640 ms pushed in one call; poll after each push of a frame.
const QUEUE: usize = 8;

#[derive(Debug, Clone, Copy, Default)]
struct Pending {
    start: u64,
    end: u64,
    key: u8,
}

#[derive(Debug, Clone, Copy)]
enum State {
    /// No digit confirmed. `run` windows have agreed on `key` since `start`, with at most
    /// one window between them that saw nothing (`hole`): one noise-spoiled window must
    /// not lose a 40 ms digit, which has only five clean windows.
    Idle {
        key: u8,
        run: u8,
        start: u64,
        hole: bool,
    },
    /// A confirmed digit is in progress.
    InDigit {
        key: u8,
        start: u64,
        last_end: u64,
        gap: u8,
        other: u8,
        other_run: u8,
        other_start: u64,
    },
}

impl State {
    /// A digit just confirmed (or still sounding) whose last agreeing window ended `now`.
    fn confirmed(key: u8, start: u64, now: u64) -> Self {
        State::InDigit {
            key,
            start,
            last_end: now,
            gap: 0,
            other: 0,
            other_run: 0,
            other_start: 0,
        }
    }
}

/// Streaming DTMF detector for one channel at 8 kHz. See the module docs.
#[derive(Clone)]
pub struct Detector {
    analyzer: Analyzer,
    limits: Limits,
    min_on: u8,
    max_gap: u8,
    state: State,
    samples: u64,
    queue: [Pending; QUEUE],
    q_head: u8,
    q_len: u8,
    dropped: u32,
}

impl Default for Detector {
    fn default() -> Self {
        Self::new()
    }
}

impl Detector {
    /// A detector with telco defaults ([`DetectorConfig::default`]).
    pub fn new() -> Self {
        Self::with_config(DetectorConfig::default())
    }

    pub fn with_config(config: DetectorConfig) -> Self {
        Detector {
            analyzer: Analyzer::new(),
            limits: config.limits(),
            min_on: config.min_on_windows.max(1),
            max_gap: config.max_gap_windows.max(1),
            state: State::Idle {
                key: 0,
                run: 0,
                start: 0,
                hole: false,
            },
            samples: 0,
            queue: [Pending::default(); QUEUE],
            q_head: 0,
            q_len: 0,
            dropped: 0,
        }
    }

    /// Feed samples of any count; advances the sample clock by `samples.len()`.
    pub fn push(&mut self, mut samples: &[i16]) {
        while !samples.is_empty() {
            let n = self.analyzer.remaining().min(samples.len());
            let (now, rest) = samples.split_at(n);
            samples = rest;
            self.samples += n as u64;
            if self.analyzer.feed(now) {
                if let Some(v) = self.analyzer.judge(&self.limits) {
                    self.step(v.key, self.samples);
                }
            }
        }
    }

    /// Next finished digit, oldest first.
    pub fn poll_event(&mut self) -> Option<DigitEvent> {
        if self.q_len == 0 {
            return None;
        }
        let p = self.queue[self.q_head as usize];
        self.q_head = (self.q_head + 1) % QUEUE as u8;
        self.q_len -= 1;
        Some(DigitEvent {
            digit: char::from(KEYS[p.key as usize]),
            start: p.start,
            end: p.end,
            source: DigitSource::InBand,
        })
    }

    /// Samples pushed so far (the detector's sample clock).
    pub fn samples_seen(&self) -> u64 {
        self.samples
    }

    /// End of stream: a confirmed digit still sounding is reported as ending now.
    pub fn finish(&mut self) {
        if let State::InDigit {
            key,
            start,
            last_end,
            ..
        } = self.state
        {
            self.emit(key, start, last_end);
        }
        self.state = State::Idle {
            key: 0,
            run: 0,
            start: 0,
            hole: false,
        };
    }

    /// Events lost because nobody polled while more than eight digits completed.
    pub fn dropped_events(&self) -> u32 {
        self.dropped
    }

    /// Is a digit confirmed and still sounding? (Used by the squelch and by callers
    /// that want to mute early.)
    pub fn in_digit(&self) -> bool {
        matches!(self.state, State::InDigit { .. })
    }

    fn emit(&mut self, key: u8, start: u64, end: u64) {
        if self.q_len as usize == QUEUE {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let i = (self.q_head as usize + self.q_len as usize) % QUEUE;
        self.queue[i] = Pending { start, end, key };
        self.q_len += 1;
    }

    /// One window verdict; `now` is the sample clock at the window's end.
    fn step(&mut self, hit: Option<u8>, now: u64) {
        let win_start = now.saturating_sub(WINDOW as u64);
        self.state = match (self.state, hit) {
            (
                State::Idle {
                    key,
                    run,
                    start,
                    hole,
                },
                Some(k),
            ) => {
                let (run, start, hole) = if run > 0 && k == key {
                    (run + 1, start, hole)
                } else {
                    (1, win_start, false)
                };
                if run >= self.min_on {
                    State::confirmed(k, start, now)
                } else {
                    State::Idle {
                        key: k,
                        run,
                        start,
                        hole,
                    }
                }
            }
            (
                State::Idle {
                    key,
                    run,
                    start,
                    hole,
                },
                None,
            ) => {
                if run > 0 && !hole {
                    State::Idle {
                        key,
                        run,
                        start,
                        hole: true,
                    }
                } else {
                    State::Idle {
                        key,
                        run: 0,
                        start,
                        hole: false,
                    }
                }
            }
            (State::InDigit { key, start, .. }, Some(k)) if k == key => {
                State::confirmed(key, start, now)
            }
            (
                State::InDigit {
                    key,
                    start,
                    last_end,
                    gap,
                    other,
                    other_run,
                    other_start,
                },
                hit,
            ) => {
                // Another digit may follow without a pause (not Q.24-conformant, but seen
                // from some generators): it takes over once it is itself confirmed.
                let (other, other_run, other_start) = match hit {
                    Some(k) if other_run > 0 && k == other => (k, other_run + 1, other_start),
                    Some(k) => (k, 1, win_start),
                    None => (0, 0, 0),
                };
                if other_run >= self.min_on {
                    self.emit(key, start, last_end);
                    State::confirmed(other, other_start, now)
                } else if gap + 1 >= self.max_gap {
                    self.emit(key, start, last_end);
                    State::Idle {
                        key: other,
                        run: other_run,
                        start: other_start,
                        hole: false,
                    }
                } else {
                    State::InDigit {
                        key,
                        start,
                        last_end,
                        gap: gap + 1,
                        other,
                        other_run,
                        other_start,
                    }
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_is_small() {
        assert!(
            std::mem::size_of::<Detector>() <= 512,
            "{}",
            std::mem::size_of::<Detector>()
        );
    }
}
