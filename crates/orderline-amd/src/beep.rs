//! The voicemail beep: a steady single tone (typically 400–2000 Hz, often
//! 1 kHz) lasting at least ~150 ms after the greeting — what Twilio reports as
//! `machine_end_beep`.
//!
//! Each 20 ms frame is fitted with a two-tap predictor: a pure sinusoid obeys
//! `x[n] + x[n-2] = 2cos(ω)·x[n-1]` exactly (the Goertzel recurrence), so the
//! least-squares `a = 2cos(ω)` gives the frequency and the residual says how
//! tone-like the frame is. (White noise shrinks `a` a little and so reads a
//! low tone slightly high — ~9 % at 400 Hz and 20 dB SNR — but the same in
//! every frame, and only the band limits use the absolute frequency.)
//!
//! Speech fits a single sinusoid poorly, and — what matters more, because a
//! steady synthetic vowel can fit well — its level and dominant frequency move
//! from frame to frame. A beep holds both: a run of tonal frames whose
//! frequency stays within [`FREQ_TOLERANCE`] of the run's first frame and whose
//! levels span at most [`LEVEL_SPAN_DB`] is a beep once it lasts long enough.

/// The largest residual/energy ratio of a tonal frame. A clean tone through
/// G.711 is near 0.001; white noise 20 dB below the tone adds about
/// (2 + a²)/100 ≤ 0.06; most voiced speech is above 0.2.
pub const MAX_RESIDUAL: f64 = 0.1;
/// Relative frequency drift allowed within one beep (a beep is a generated
/// tone: far steadier than this; an espeak vowel drifts 1–2 %).
pub const FREQ_TOLERANCE: f64 = 0.015;
/// Largest spread of frame levels within one beep, in dB (a beep is flat; a
/// vowel swells and fades).
pub const LEVEL_SPAN_DB: f32 = 3.0;

/// One frame's fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneFit {
    /// Estimated frequency in Hz (meaningless when `residual` is large).
    pub hz: f64,
    /// Residual energy over frame energy: 0 for a pure tone.
    pub residual: f64,
}

impl ToneFit {
    /// Fit an 8 kHz frame. `None` for frames too short or all zero.
    pub fn of(frame: &[i16]) -> Option<Self> {
        if frame.len() < 8 {
            return None;
        }
        let x: Vec<f64> = frame.iter().map(|&s| f64::from(s)).collect();
        let (mut num, mut den, mut energy) = (0f64, 0f64, 0f64);
        for n in 2..x.len() {
            num += x[n - 1] * (x[n] + x[n - 2]);
            den += x[n - 1] * x[n - 1];
            energy += x[n] * x[n];
        }
        if den <= 0.0 || energy <= 0.0 {
            return None;
        }
        let a = (num / den).clamp(-2.0, 2.0);
        let resid: f64 = (2..x.len())
            .map(|n| {
                let e = x[n] + x[n - 2] - a * x[n - 1];
                e * e
            })
            .sum();
        let hz = (a / 2.0).acos() * f64::from(crate::RATE) / (2.0 * std::f64::consts::PI);
        Some(ToneFit {
            hz,
            residual: resid / energy,
        })
    }
}

/// What the tracker saw in one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeepEvent {
    /// Nothing of note.
    None,
    /// A tone has lasted long enough to be a beep and is still sounding.
    Sounding,
    /// A beep (long enough) has just ended; `ms` is how long it lasted.
    Ended { ms: u32 },
}

/// Tracks runs of tonal frames.
#[derive(Debug, Clone)]
pub struct BeepTracker {
    min_frames: u32,
    min_hz: f64,
    max_hz: f64,
    run: u32,
    run_hz: f64,
    run_min_db: f32,
    run_max_db: f32,
}

impl BeepTracker {
    /// A tracker for tones of at least `min_ms` between `min_hz` and `max_hz`.
    pub fn new(min_ms: u32, min_hz: f32, max_hz: f32) -> Self {
        BeepTracker {
            min_frames: min_ms.div_ceil(crate::FRAME_MS).max(1),
            min_hz: f64::from(min_hz),
            max_hz: f64::from(max_hz),
            run: 0,
            run_hz: 0.0,
            run_min_db: 0.0,
            run_max_db: 0.0,
        }
    }

    /// Feed one frame, whether the level detector thought it loud enough, and
    /// its level in dBFS. A run in progress goes on without the level
    /// detector's say-so (its noise floor learns a long tone within 1.6 s and
    /// would end the beep early); the level-span check still ends it.
    pub fn push(&mut self, frame: &[i16], loud: bool, db: f32) -> BeepEvent {
        let tonal = if loud || self.run > 0 {
            ToneFit::of(frame).filter(|f| {
                f.residual <= MAX_RESIDUAL && f.hz >= self.min_hz && f.hz <= self.max_hz
            })
        } else {
            None
        };
        match tonal {
            Some(f)
                if self.run > 0
                    && (f.hz - self.run_hz).abs() <= self.run_hz * FREQ_TOLERANCE
                    && self.run_max_db.max(db) - self.run_min_db.min(db) <= LEVEL_SPAN_DB =>
            {
                self.run += 1;
                self.run_min_db = self.run_min_db.min(db);
                self.run_max_db = self.run_max_db.max(db);
            }
            other => {
                let ended = self.end_run();
                if let Some(f) = other {
                    self.run = 1;
                    self.run_hz = f.hz;
                    self.run_min_db = db;
                    self.run_max_db = db;
                }
                if ended != BeepEvent::None {
                    return ended;
                }
            }
        }
        if self.run >= self.min_frames {
            BeepEvent::Sounding
        } else {
            BeepEvent::None
        }
    }

    /// The audio stopped: a long-enough tone in progress has ended.
    pub fn finish(&mut self) -> BeepEvent {
        self.end_run()
    }

    fn end_run(&mut self) -> BeepEvent {
        let run = std::mem::take(&mut self.run);
        if run >= self.min_frames {
            BeepEvent::Ended {
                ms: run * crate::FRAME_MS,
            }
        } else {
            BeepEvent::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FRAME;

    fn tone(hz: f64, amp: f64, n: usize, phase0: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = (i + phase0) as f64 / 8000.0;
                (amp * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn the_fit_finds_the_frequency_of_a_tone() {
        for hz in [440.0, 1000.0, 1400.0, 1950.0] {
            let f = ToneFit::of(&tone(hz, 8000.0, FRAME, 0)).expect("fit");
            assert!((f.hz - hz).abs() < hz * 0.005, "{hz}: {f:?}");
            assert!(f.residual < 0.01, "{hz}: {f:?}");
        }
    }

    #[test]
    fn a_two_tone_chord_is_not_tonal() {
        let a = tone(600.0, 6000.0, FRAME, 0);
        let b = tone(1500.0, 6000.0, FRAME, 0);
        let mix: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let f = ToneFit::of(&mix).expect("fit");
        assert!(f.residual > MAX_RESIDUAL, "{f:?}");
    }

    #[test]
    fn a_200ms_tone_is_a_beep_and_a_100ms_tone_is_not() {
        for (ms, want) in [(200usize, true), (100, false)] {
            let mut t = BeepTracker::new(150, 350.0, 2100.0);
            let sig = tone(1000.0, 8000.0, ms * 8, 0);
            let mut ended = None;
            for (i, fr) in sig.chunks(FRAME).enumerate() {
                if let BeepEvent::Ended { ms } = t.push(fr, true, -20.0) {
                    ended = Some((i, ms));
                }
            }
            for _ in 0..3 {
                if let BeepEvent::Ended { ms } = t.push(&[0; FRAME], false, -100.0) {
                    ended = Some((0, ms));
                }
            }
            assert_eq!(ended.is_some(), want, "{ms} ms tone: {ended:?}");
            if let Some((_, got)) = ended {
                assert_eq!(got as usize, ms);
            }
        }
    }

    #[test]
    fn a_tone_that_swells_and_fades_is_not_a_beep() {
        // A steady 550 Hz "vowel" whose level moves 2 dB per frame.
        let mut t = BeepTracker::new(150, 350.0, 2100.0);
        let mut saw = false;
        for k in 0..12 {
            let db = -24.0 + 2.0 * (k.min(11 - k)) as f32;
            let amp = 32768.0 * 10f64.powf(f64::from(db) / 20.0) * 2f64.sqrt();
            saw |= t.push(&tone(550.0, amp, FRAME, k * FRAME), true, db) != BeepEvent::None;
        }
        saw |= t.finish() != BeepEvent::None;
        assert!(!saw);
    }

    #[test]
    fn a_gliding_tone_is_not_a_beep() {
        // A frequency sweep 500 → 1500 Hz over 400 ms: tonal in every frame,
        // but never steady — like a sung vowel or a siren, not a beep.
        let mut t = BeepTracker::new(150, 350.0, 2100.0);
        let mut phase = 0f64;
        let mut saw = false;
        for k in 0..20 {
            let hz = 500.0 + 50.0 * k as f64;
            let fr: Vec<i16> = (0..FRAME)
                .map(|_| {
                    phase += 2.0 * std::f64::consts::PI * hz / 8000.0;
                    (8000.0 * phase.sin()) as i16
                })
                .collect();
            saw |= t.push(&fr, true, -20.0) != BeepEvent::None;
        }
        saw |= t.finish() != BeepEvent::None;
        assert!(!saw);
    }
}
