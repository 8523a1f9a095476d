//! Tone generation: DTMF digits (Q.23 frequencies) and plain call-progress tones.
//!
//! Levels are per component in dBm0 (0 dBm0 = sine of peak ≈ 22 880, G.711 table 5).
//! Q.23 asks the high-group tone to be sent at least as loud as the low-group tone
//! (to counter the line's high-frequency loss), hence the default 2 dB twist.

use super::analysis::{dbm0_to_amplitude, COLS, KEYS, RATE, ROWS};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToneError {
    #[error("not a DTMF digit: {0:?}")]
    InvalidDigit(char),
    #[error("tone queue full ({0} segments)")]
    QueueFull(usize),
    #[error("frequency {0} Hz is outside 0..4000 Hz")]
    InvalidFrequency(u32),
}

/// The (row, column) frequencies of a DTMF key (Q.23).
pub fn dtmf_freqs(digit: char) -> Option<(f32, f32)> {
    let up = digit.to_ascii_uppercase();
    let i = KEYS.iter().position(|&k| char::from(k) == up)?;
    Some((ROWS[i / 4], COLS[i % 4]))
}

/// Timing and level for DTMF digits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTiming {
    pub on_ms: u32,
    pub off_ms: u32,
    /// Level of the low-group (row) tone, dBm0.
    pub low_dbm0: f32,
    /// Level of the high-group (column) tone, dBm0.
    pub high_dbm0: f32,
}

impl Default for DtmfTiming {
    /// 100 ms on, 100 ms off, −10/−8 dBm0: comfortably inside every receiver's window.
    fn default() -> Self {
        DtmfTiming {
            on_ms: 100,
            off_ms: 100,
            low_dbm0: -10.0,
            high_dbm0: -8.0,
        }
    }
}

/// One segment: up to two sine components for `on_samples`, then `off_samples` of silence.
/// A component with frequency 0 is absent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tone {
    pub freqs: [f32; 2],
    pub levels_dbm0: [f32; 2],
    pub on_samples: u32,
    pub off_samples: u32,
}

impl Tone {
    pub fn single(freq: f32, level_dbm0: f32, on_samples: u32, off_samples: u32) -> Self {
        Tone {
            freqs: [freq, 0.0],
            levels_dbm0: [level_dbm0, -99.0],
            on_samples,
            off_samples,
        }
    }

    pub fn dual(f1: f32, f2: f32, level_dbm0: f32, on_samples: u32, off_samples: u32) -> Self {
        Tone {
            freqs: [f1, f2],
            levels_dbm0: [level_dbm0, level_dbm0],
            on_samples,
            off_samples,
        }
    }

    /// A DTMF digit.
    pub fn dtmf(digit: char, timing: DtmfTiming) -> Result<Self, ToneError> {
        let (lo, hi) = dtmf_freqs(digit).ok_or(ToneError::InvalidDigit(digit))?;
        Ok(Tone {
            freqs: [lo, hi],
            levels_dbm0: [timing.low_dbm0, timing.high_dbm0],
            on_samples: timing.on_ms * 8,
            off_samples: timing.off_ms * 8,
        })
    }

    /// A short 1 kHz beep (e.g. "start keying now"), 200 ms at −13 dBm0.
    pub fn beep() -> Self {
        Tone::single(1000.0, -13.0, 1600, 0)
    }

    /// Hold / comfort tone: 425 Hz, 200 ms every 3 s at −20 dBm0 (play with
    /// [`ToneGenerator::play_repeating`]).
    pub fn hold() -> Self {
        Tone::single(425.0, -20.0, 1600, 22_400)
    }

    fn validate(&self) -> Result<(), ToneError> {
        for f in self.freqs {
            if !(0.0..RATE / 2.0).contains(&f) {
                return Err(ToneError::InvalidFrequency(f as u32));
            }
        }
        Ok(())
    }
}

const QUEUE: usize = 32;

/// Plays queued [`Tone`] segments into caller-provided buffers. No allocation.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    queue: [Tone; QUEUE],
    head: usize,
    len: usize,
    /// Position inside the head segment.
    pos: u32,
    /// Phase increment and amplitude per component of the head segment.
    inc: [f64; 2],
    amp: [f64; 2],
    phase: [f64; 2],
    repeat: bool,
}

impl Default for ToneGenerator {
    fn default() -> Self {
        Self::new()
    }
}

impl ToneGenerator {
    pub fn new() -> Self {
        ToneGenerator {
            queue: [Tone::single(0.0, -99.0, 0, 0); QUEUE],
            head: 0,
            len: 0,
            pos: 0,
            inc: [0.0; 2],
            amp: [0.0; 2],
            phase: [0.0; 2],
            repeat: false,
        }
    }

    /// Append a segment.
    pub fn queue(&mut self, tone: Tone) -> Result<(), ToneError> {
        tone.validate()?;
        if self.len == QUEUE {
            return Err(ToneError::QueueFull(QUEUE));
        }
        self.queue[(self.head + self.len) % QUEUE] = tone;
        self.len += 1;
        if self.len == 1 {
            self.start_head();
        }
        Ok(())
    }

    /// Append DTMF digits; all or nothing.
    pub fn queue_digits(&mut self, digits: &str, timing: DtmfTiming) -> Result<(), ToneError> {
        let mut n = 0;
        for d in digits.chars() {
            Tone::dtmf(d, timing)?;
            n += 1;
        }
        if self.len + n > QUEUE {
            return Err(ToneError::QueueFull(QUEUE));
        }
        for d in digits.chars() {
            self.queue(Tone::dtmf(d, timing)?)?;
        }
        Ok(())
    }

    /// Replace whatever is playing by `tone`, repeated until [`Self::stop`].
    pub fn play_repeating(&mut self, tone: Tone) -> Result<(), ToneError> {
        tone.validate()?;
        self.stop();
        self.queue(tone)?;
        self.repeat = true;
        Ok(())
    }

    /// Drop everything queued; the generator goes silent immediately.
    pub fn stop(&mut self) {
        self.len = 0;
        self.repeat = false;
    }

    pub fn is_idle(&self) -> bool {
        self.len == 0
    }

    /// Fill all of `out`: queued tones, then silence. Returns how many samples came from
    /// queued segments (less than `out.len()` means the generator went idle).
    pub fn fill(&mut self, out: &mut [i16]) -> usize {
        let mut written = 0;
        while written < out.len() && self.len > 0 {
            let seg = self.queue[self.head];
            let total = seg.on_samples + seg.off_samples;
            let n = ((total - self.pos) as usize).min(out.len() - written);
            for o in &mut out[written..written + n] {
                *o = if self.pos < seg.on_samples {
                    let v = self.amp[0] * self.phase[0].sin() + self.amp[1] * self.phase[1].sin();
                    self.phase[0] += self.inc[0];
                    self.phase[1] += self.inc[1];
                    v.round().clamp(-32768.0, 32767.0) as i16
                } else {
                    0
                };
                self.pos += 1;
            }
            written += n;
            if self.pos >= total {
                if !self.repeat {
                    self.head = (self.head + 1) % QUEUE;
                    self.len -= 1;
                }
                if self.len > 0 {
                    self.start_head();
                }
            }
        }
        out[written..].fill(0);
        written
    }

    fn start_head(&mut self) {
        let seg = self.queue[self.head];
        self.pos = 0;
        for i in 0..2 {
            self.inc[i] = 2.0 * std::f64::consts::PI * f64::from(seg.freqs[i]) / f64::from(RATE);
            self.amp[i] = if seg.freqs[i] > 0.0 {
                f64::from(dbm0_to_amplitude(seg.levels_dbm0[i]))
            } else {
                0.0
            };
            self.phase[i] = 0.0;
        }
    }
}

/// Convenience for tests and tools: render a whole digit string (allocates).
pub fn dtmf_samples(digits: &str, timing: DtmfTiming) -> Result<Vec<i16>, ToneError> {
    let mut out = Vec::new();
    for d in digits.chars() {
        out.extend(render(Tone::dtmf(d, timing)?)?);
    }
    Ok(out)
}

/// Render one segment (allocates; for tests and tools).
pub fn render(tone: Tone) -> Result<Vec<i16>, ToneError> {
    let mut g = ToneGenerator::new();
    g.queue(tone)?;
    let mut out = vec![0i16; (tone.on_samples + tone.off_samples) as usize];
    g.fill(&mut out);
    Ok(out)
}
