//! What an agent in a nailed-up session hears between customers (issue #10):
//! quiet comfort noise, or a configured music WAV looped. Sans-IO: the noise
//! generator takes its seed from outside (seeded in tests, OS entropy at the
//! bridge's edge), and neither source allocates per frame.
//!
//! Why noise rather than silence: a line that goes digitally silent sounds
//! dead, and agents take it for a dropped call (the reason RFC 3389 comfort
//! noise exists). The level, about −65 dBm0, is far below speech and below
//! any DTMF detector's acceptance (about −26 dBm0 per tone, ITU-T Q.24), so it
//! can neither be mistaken for a key nor mask the customer when one connects.

use std::sync::Arc;

/// Peak amplitude of the comfort noise: ±24 of 32767, about −65 dBm0.
pub const COMFORT_PEAK: i16 = 24;

/// What the session's agent hears while no customer is connected.
#[derive(Debug, Clone)]
pub enum IdleSound {
    /// Low-level white noise from a seeded generator.
    ComfortNoise { seed: u64 },
    /// 8 kHz mono linear samples, played in a loop (`[sessions] music`).
    Music(Arc<[i16]>),
}

/// The running source of an [`IdleSound`].
#[derive(Debug, Clone)]
pub(super) enum Idle {
    Noise(ComfortNoise),
    Music { samples: Arc<[i16]>, pos: usize },
}

impl Idle {
    pub(super) fn new(sound: IdleSound) -> Idle {
        match sound {
            IdleSound::Music(samples) if !samples.is_empty() => Idle::Music { samples, pos: 0 },
            // An empty file would loop nothing: fall back to noise.
            IdleSound::Music(_) => Idle::Noise(ComfortNoise::new(0x5eed)),
            IdleSound::ComfortNoise { seed } => Idle::Noise(ComfortNoise::new(seed)),
        }
    }

    pub(super) fn fill(&mut self, out: &mut [i16]) {
        match self {
            Idle::Noise(n) => n.fill(out),
            Idle::Music { samples, pos } => {
                for o in out {
                    *o = samples[*pos];
                    *pos = (*pos + 1) % samples.len();
                }
            }
        }
    }
}

/// White noise, uniform in ±[`COMFORT_PEAK`], from xorshift64* (Vigna 2016):
/// cheap, allocation-free and reproducible from its seed.
#[derive(Debug, Clone)]
pub struct ComfortNoise {
    state: u64,
}

impl ComfortNoise {
    pub fn new(seed: u64) -> ComfortNoise {
        // xorshift must not start at zero.
        ComfortNoise {
            state: seed | 1 << 63,
        }
    }

    pub fn fill(&mut self, out: &mut [i16]) {
        let span = 2 * i64::from(COMFORT_PEAK) + 1;
        for o in out {
            let mut x = self.state;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.state = x;
            let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
            *o = (r as i64 % span - i64::from(COMFORT_PEAK)) as i16;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_is_quiet_not_silent_and_reproducible() {
        let mut a = ComfortNoise::new(7);
        let mut x = vec![0i16; 8000];
        a.fill(&mut x);
        assert!(x.iter().all(|s| s.abs() <= COMFORT_PEAK), "bounded");
        let rms = (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 8000.0).sqrt();
        assert!(rms > 8.0 && rms < 20.0, "rms {rms}");
        let distinct: std::collections::HashSet<i16> = x.iter().copied().collect();
        assert!(distinct.len() > 40, "noise, not a tone: {}", distinct.len());
        let mut b = ComfortNoise::new(7);
        let mut y = vec![0i16; 8000];
        b.fill(&mut y);
        assert_eq!(x, y, "same seed, same noise");
        let mut c = ComfortNoise::new(8);
        c.fill(&mut y);
        assert_ne!(x, y, "another seed, other noise");
    }

    #[test]
    fn music_loops() {
        let samples: Arc<[i16]> = (1..=5).collect::<Vec<i16>>().into();
        let mut idle = Idle::new(IdleSound::Music(samples));
        let mut out = [0i16; 12];
        idle.fill(&mut out);
        assert_eq!(out, [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 1, 2]);
        let mut empty = Idle::new(IdleSound::Music(Vec::new().into()));
        empty.fill(&mut out);
        assert!(out.iter().all(|s| s.abs() <= COMFORT_PEAK));
    }
}
