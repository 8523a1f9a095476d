//! Voice activity against an adaptive noise floor.
//!
//! `app_amd` calls a 20 ms frame silent when its mean absolute amplitude is
//! below a fixed 256; on a line with background noise at that level every
//! frame is "voice" and the whole call is one long word. Here the floor is
//! tracked by minimum statistics (R. Martin, "Noise power spectral density
//! estimation based on optimal smoothing and minimum statistics", IEEE Trans.
//! Speech Audio Proc. 2001, simplified to one band): the lowest frame level over
//! the last [`FLOOR_WINDOW`] frames. Speech has gaps between syllables far
//! more often than that, so the minimum sits on the noise, not on the voice,
//! and follows a rising noise level within the window's length.

/// Frames in the minimum-statistics window (1.6 s).
pub const FLOOR_WINDOW: usize = 80;

/// Level of an all-zero frame, in dB relative to full scale.
const SILENT_DB: f32 = -100.0;

/// One frame's loudness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameLevel {
    /// Mean absolute sample value (the quantity `app_amd` thresholds).
    pub mean_abs: f32,
    /// RMS level in dB relative to a full-scale square wave (dBFS).
    pub db: f32,
}

impl FrameLevel {
    /// Measure a frame (any length; an empty frame is silent).
    pub fn of(frame: &[i16]) -> Self {
        if frame.is_empty() {
            return FrameLevel {
                mean_abs: 0.0,
                db: SILENT_DB,
            };
        }
        let (mut abs, mut pow) = (0f64, 0f64);
        for &s in frame {
            let x = f64::from(s);
            abs += x.abs();
            pow += x * x;
        }
        let n = frame.len() as f64;
        let ms = pow / n / (32768.0 * 32768.0);
        let db = if ms > 0.0 {
            (10.0 * ms.log10()).max(f64::from(SILENT_DB)) as f32
        } else {
            SILENT_DB
        };
        FrameLevel {
            mean_abs: (abs / n) as f32,
            db,
        }
    }
}

/// Per-frame voice/silence decisions with an adaptive floor.
#[derive(Debug, Clone)]
pub struct VoiceActivity {
    history: [f32; FLOOR_WINDOW],
    filled: usize,
    next: usize,
    silence_threshold: f32,
    margin_db: f32,
}

impl VoiceActivity {
    /// `silence_threshold` is the absolute gate (mean |x|), `margin_db` how far
    /// above the floor a frame must be to count as voice.
    pub fn new(silence_threshold: u16, margin_db: f32) -> Self {
        VoiceActivity {
            history: [SILENT_DB; FLOOR_WINDOW],
            filled: 0,
            next: 0,
            silence_threshold: f32::from(silence_threshold),
            margin_db,
        }
    }

    /// The current noise floor in dBFS (the quietest recent frame).
    pub fn floor_db(&self) -> f32 {
        self.history[..self.filled]
            .iter()
            .copied()
            .fold(f32::INFINITY, f32::min)
            .min(0.0)
    }

    /// Judge one frame (normally [`crate::FRAME`] samples) and learn from it.
    pub fn is_voice(&mut self, level: FrameLevel) -> bool {
        // The floor is judged from the frames before this one, so the first
        // frame of a burst is compared with the quiet that preceded it.
        let floor = if self.filled == 0 {
            SILENT_DB
        } else {
            self.floor_db()
        };
        self.history[self.next] = level.db;
        self.next = (self.next + 1) % FLOOR_WINDOW;
        self.filled = (self.filled + 1).min(FLOOR_WINDOW);
        level.mean_abs >= self.silence_threshold && level.db >= floor + self.margin_db
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FRAME;

    fn noise(seed: &mut u32, amp: f32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|_| {
                // xorshift32: deterministic, seeded (no thread RNG in the core).
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                let u = (*seed as f32 / u32::MAX as f32) * 2.0 - 1.0;
                (u * amp) as i16
            })
            .collect()
    }

    #[test]
    fn steady_noise_above_the_fixed_threshold_is_not_voice_once_learnt() {
        let mut vad = VoiceActivity::new(256, 10.0);
        let mut seed = 7;
        // Noise with mean |x| ≈ 1000: app_amd's fixed 256 would call it voice.
        let mut voiced_late = 0;
        for i in 0..100 {
            let f = noise(&mut seed, 2000.0, FRAME);
            let v = vad.is_voice(FrameLevel::of(&f));
            if i >= 5 && v {
                voiced_late += 1;
            }
        }
        assert_eq!(voiced_late, 0, "steady noise must sit on the floor");
        // A tone burst 20 dB above that noise is voice.
        let tone: Vec<i16> = (0..FRAME)
            .map(|n| ((n as f32 * 0.7).sin() * 20000.0) as i16)
            .collect();
        assert!(vad.is_voice(FrameLevel::of(&tone)));
    }

    #[test]
    fn quiet_frames_below_the_absolute_gate_are_silence() {
        let mut vad = VoiceActivity::new(256, 10.0);
        let quiet: Vec<i16> = (0..FRAME)
            .map(|n| if n % 2 == 0 { 100 } else { -100 })
            .collect();
        for _ in 0..5 {
            vad.is_voice(FrameLevel::of(&[0; FRAME]));
        }
        assert!(!vad.is_voice(FrameLevel::of(&quiet)));
    }

    #[test]
    fn the_floor_follows_a_rising_noise_within_the_window() {
        let mut vad = VoiceActivity::new(256, 10.0);
        let mut seed = 3;
        for _ in 0..50 {
            vad.is_voice(FrameLevel::of(&noise(&mut seed, 300.0, FRAME)));
        }
        let low = vad.floor_db();
        for _ in 0..FLOOR_WINDOW + 1 {
            vad.is_voice(FrameLevel::of(&noise(&mut seed, 3000.0, FRAME)));
        }
        assert!(vad.floor_db() > low + 15.0, "{} vs {}", vad.floor_db(), low);
    }
}
