//! Spectral front end shared by the detector and the squelch.
//!
//! The signal is cut into *half-blocks* of [`HALF`] = 51 samples. For each half-block we
//! compute the complex DFT at the eight DTMF frequencies (exact frequencies, not FFT bins)
//! by a table-driven dot product: no recurrence, so there is no loop-carried multiply
//! chain as in a Goertzel filter, and the eight frequencies vectorise across SIMD lanes.
//!
//! Two adjacent half-blocks form an analysis *window* of [`WINDOW`] = 102 samples
//! (12.75 ms — the same window length spandsp and Asterisk use, chosen because its
//! main lobe, 78 Hz, separates the closest DTMF pair, 697/770 Hz). Windows overlap by
//! half, so a decision is made every 6.4 ms. Because we keep the two halves apart we get,
//! for free, the phase advance of each tone between the halves, i.e. its *frequency*:
//! that is what lets us reject tones more than 3.5 % off nominal (Q.24 §4.2 / table A-1
//! frequency tolerance), which a plain energy detector with a 78 Hz wide main lobe cannot.

use std::f32::consts::PI;
use std::sync::OnceLock;

/// Sample rate of everything in this module (G.711, RFC 3551 §4.5.14).
pub const RATE: f32 = 8000.0;
/// Samples per half-block (hop between decisions).
pub const HALF: usize = 51;
/// Samples per analysis window (two half-blocks).
pub const WINDOW: usize = 2 * HALF;

/// Row (low group) and column (high group) frequencies, Q.23 §2.
pub const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
pub const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// Keypad layout: index = row * 4 + col.
pub const KEYS: [u8; 16] = *b"123A456B789C*0#D";

/// All eight frequencies, rows then columns.
const FREQS: [f32; 8] = [
    ROWS[0], ROWS[1], ROWS[2], ROWS[3], COLS[0], COLS[1], COLS[2], COLS[3],
];

/// Convert a level in dBm0 to the peak amplitude of a sine at that level, 16-bit scale.
///
/// G.711 full scale is +3.14 dBm0 for a sine (G.711 table 5 / spandsp `DBM0_MAX_SINE_POWER`),
/// so 0 dBm0 is a sine of peak 32767 × 10^(−3.14/20) ≈ 22 880.
pub fn dbm0_to_amplitude(dbm0: f32) -> f32 {
    32767.0 * 10f32.powf((dbm0 - 3.14) / 20.0)
}

/// Cosine/sine table: row `n` holds `cos(ω_f n)` for f in 0..8 then `-sin(ω_f n)`.
/// Shared by every channel (3.2 kB once per process), built on first use.
type Table = [[f32; 16]; HALF + 1];

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = [[0.0f32; 16]; HALF + 1];
        for (n, row) in t.iter_mut().enumerate() {
            for (f, freq) in FREQS.iter().enumerate() {
                let w = 2.0 * std::f64::consts::PI * f64::from(*freq) / f64::from(RATE);
                row[f] = (w * n as f64).cos() as f32;
                row[f + 8] = -(w * n as f64).sin() as f32;
            }
        }
        t
    })
}

/// Frequency deviation every receiver must accept (Q.24).
const ACCEPT_DEVIATION: f32 = 0.015;

/// Thresholds applied to one window. Energies are "tone energy over the window",
/// i.e. `WINDOW * A^2 / 2` for a sine of peak `A`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Minimum energy of each tone.
    pub min_tone_energy: f32,
    /// Row energy may exceed column energy by this factor (normal twist).
    pub normal_twist: f32,
    /// Column energy may exceed row energy by this factor (reverse twist).
    pub reverse_twist: f32,
    /// The strongest tone of a group must beat the others of its group by this factor.
    pub relative_peak: f32,
    /// The two tones must hold at least this fraction of the window's energy.
    pub min_fraction: f32,
    /// Cosine of the largest phase advance between halves that is still "on frequency",
    /// per frequency (rows then columns).
    pub cos_max_phase: [f32; 8],
    /// Attenuation is compensated only up to this phase advance (the ±1.5 % that Q.24
    /// says must be accepted); beyond it, an off-frequency tone pays its own loss.
    pub max_corrected_phase: [f32; 8],
}

impl Limits {
    pub fn new(min_level_dbm0: f32, normal_twist_db: f32, reverse_twist_db: f32, relative_peak_db: f32,
               min_fraction: f32, max_deviation: f32) -> Self {
        let a = dbm0_to_amplitude(min_level_dbm0);
        let mut cos_max_phase = [0.0; 8];
        let mut max_corrected_phase = [0.0; 8];
        for i in 0..8 {
            // A tone off by Δf advances its phase by 2π Δf HALF / RATE between halves.
            let phase = |dev: f32| (2.0 * PI * FREQS[i] * dev * HALF as f32 / RATE).min(PI);
            cos_max_phase[i] = phase(max_deviation).cos();
            max_corrected_phase[i] = phase(ACCEPT_DEVIATION);
        }
        Limits {
            min_tone_energy: WINDOW as f32 * a * a / 2.0,
            normal_twist: db_to_power(normal_twist_db),
            reverse_twist: db_to_power(reverse_twist_db),
            relative_peak: db_to_power(relative_peak_db),
            min_fraction,
            cos_max_phase,
            max_corrected_phase,
        }
    }
}

fn db_to_power(db: f32) -> f32 {
    10f32.powf(db / 10.0)
}

/// The streaming front end: accumulates half-blocks and judges each window.
#[derive(Clone)]
pub(crate) struct Analyzer {
    table: &'static Table,
    /// Two accumulator sets (even/odd samples) so consecutive samples do not wait on
    /// each other's additions.
    acc: [[f32; 16]; 2],
    energy: i64,
    /// Position inside the current half-block.
    pos: usize,
    /// Previous half-block's DFT, phase-rotated to the current half's time reference.
    prev: [f32; 16],
    prev_energy: f32,
    have_prev: bool,
}

/// What one window looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// Key index 0..16 into [`KEYS`] if the window passes every test.
    pub key: Option<u8>,
}

impl Analyzer {
    pub fn new() -> Self {
        Analyzer {
            table: table(),
            acc: [[0.0; 16]; 2],
            energy: 0,
            pos: 0,
            prev: [0.0; 16],
            prev_energy: 0.0,
            have_prev: false,
        }
    }

    /// Samples still needed to finish the current half-block.
    #[inline]
    pub fn remaining(&self) -> usize {
        HALF - self.pos
    }

    /// Feed at most [`Self::remaining`] samples. Returns true when a half-block completed
    /// (call [`Self::judge`] then).
    #[inline]
    pub fn feed(&mut self, samples: &[i16]) -> bool {
        debug_assert!(samples.len() <= self.remaining());
        let t = &self.table[self.pos..self.pos + samples.len()];
        let [a0, a1] = &mut self.acc;
        let mut e: i64 = 0;
        let mut pairs = samples.chunks_exact(2);
        let mut tp = t.chunks_exact(2);
        for (s, tt) in (&mut pairs).zip(&mut tp) {
            let x0 = f32::from(s[0]);
            let x1 = f32::from(s[1]);
            e += i64::from(i32::from(s[0]) * i32::from(s[0])) + i64::from(i32::from(s[1]) * i32::from(s[1]));
            for f in 0..16 {
                a0[f] += x0 * tt[0][f];
                a1[f] += x1 * tt[1][f];
            }
        }
        if let (Some(&s), Some(tt)) = (pairs.remainder().first(), tp.remainder().first()) {
            let x = f32::from(s);
            e += i64::from(i32::from(s) * i32::from(s));
            for f in 0..16 {
                a0[f] += x * tt[f];
            }
        }
        self.energy += e;
        self.pos += samples.len();
        self.pos == HALF
    }

    /// Close the half-block just completed and judge the window it ends.
    /// Returns `None` for the very first half-block (no full window yet).
    pub fn judge(&mut self, limits: &Limits) -> Option<Verdict> {
        debug_assert_eq!(self.pos, HALF);
        let mut cur = [0.0f32; 16];
        for (c, (a, b)) in cur.iter_mut().zip(self.acc[0].iter().zip(self.acc[1].iter())) {
            *c = a + b;
        }
        let cur_energy = self.energy as f32;
        self.acc = [[0.0; 16]; 2];
        self.energy = 0;
        self.pos = 0;

        let verdict = if self.have_prev {
            Some(self.window(&cur, cur_energy, limits))
        } else {
            None
        };

        // Rotate the current half to the next half's time reference: the next half
        // starts HALF samples later, so its DFT referenced to its own start differs by
        // e^{-jωHALF}; we store prev·e^{+jωHALF} instead, which is the same thing.
        let t = &self.table[HALF];
        for f in 0..8 {
            let (re, im) = (cur[f], cur[f + 8]);
            let (c, s) = (t[f], -t[f + 8]); // cos ωM, sin ωM
            self.prev[f] = re * c - im * s;
            self.prev[f + 8] = re * s + im * c;
        }
        self.prev_energy = cur_energy;
        self.have_prev = true;
        verdict
    }

    /// Judge the window made of `self.prev` (already rotated) and `cur`.
    fn window(&self, cur: &[f32; 16], cur_energy: f32, l: &Limits) -> Verdict {
        // Window DFT = prev + cur (same time reference); tone energy = 2|X|²/N.
        let mut e = [0.0f32; 8];
        for f in 0..8 {
            let re = self.prev[f] + cur[f];
            let im = self.prev[f + 8] + cur[f + 8];
            e[f] = (re * re + im * im) * (2.0 / WINDOW as f32);
        }
        let none = Verdict { key: None };
        let (r, er) = argmax(&e[..4]);
        let (c, ec) = argmax(&e[4..]);
        if er < l.min_tone_energy || ec < l.min_tone_energy {
            return none;
        }
        // Both tones must dominate their own group (rejects speech harmonics, chords).
        for f in 0..4 {
            if (f != r && e[f] * l.relative_peak > er) || (f != c && e[4 + f] * l.relative_peak > ec) {
                return none;
            }
        }
        // Frequency: the phase advance from the first half to the second is
        // φ = 2πΔf·HALF/RATE. Reject beyond the limit; within it, undo the window's
        // attenuation of an off-centre tone, so that twist and energy share are judged on
        // the tone's true power (a 1.5 % offset costs up to 1.5 dB in a 102-sample window).
        let mut gain = [0.0f32; 2];
        for (g, f) in gain.iter_mut().zip([r, 4 + c]) {
            // z = cur · conj(prev)
            let (pr, pi) = (self.prev[f], self.prev[f + 8]);
            let (cr, ci) = (cur[f], cur[f + 8]);
            let zr = cr * pr + ci * pi;
            let zi = ci * pr - cr * pi;
            let mag = (zr * zr + zi * zi).sqrt();
            if mag == 0.0 || zr < l.cos_max_phase[f] * mag {
                return none;
            }
            // Amplitude response of a WINDOW-sample DFT to a tone φ/HALF rad/sample off.
            let phi = zi.atan2(zr).abs().clamp(1e-6, l.max_corrected_phase[f]);
            let g1 = phi.sin() / (WINDOW as f32 * (phi / WINDOW as f32).sin());
            *g = g1 * g1;
        }
        let (er, ec) = (er / gain[0], ec / gain[1]);
        // Twist (Q.24 §4.3): row louder than column by ≤ normal, column louder by ≤ reverse.
        if er > ec * l.normal_twist || ec > er * l.reverse_twist {
            return none;
        }
        // Most of the window's energy must be in the two tones.
        let total = self.prev_energy + cur_energy;
        if er + ec < l.min_fraction * total {
            return none;
        }
        Verdict { key: Some((r * 4 + c) as u8) }
    }
}

#[inline]
fn argmax(v: &[f32]) -> (usize, f32) {
    let mut best = (0, v[0]);
    for (i, &x) in v.iter().enumerate().skip(1) {
        if x > best.1 {
            best = (i, x);
        }
    }
    best
}
