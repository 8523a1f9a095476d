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
//! that is what lets us reject tones more than 3.5 % off nominal (the Q.24 frequency
//! tolerance), which a plain energy detector with a 78 Hz wide main lobe cannot.

use std::f32::consts::PI;
use std::sync::OnceLock;

/// Sample rate of everything in this module (G.711, RFC 3551 §4.5.14).
pub const RATE: f32 = 8000.0;
/// Samples per half-block (hop between decisions).
pub const HALF: usize = 51;
/// Samples per analysis window (two half-blocks).
pub const WINDOW: usize = 2 * HALF;

/// Row (low group) and column (high group) frequencies (Q.23).
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
    32767.0 * 10f32.powf((dbm0 - MAX_SINE_DBM0) / 20.0)
}

/// Inverse of [`dbm0_to_amplitude`]: the level of a sine of peak `amplitude`.
pub fn amplitude_to_dbm0(amplitude: f32) -> f32 {
    20.0 * (amplitude / 32767.0).log10() + MAX_SINE_DBM0
}

/// Level of a full-scale sine, dBm0 (a measured constant that merely looks like π).
#[allow(clippy::approx_constant)]
const MAX_SINE_DBM0: f32 = 3.14;

/// Fixed-point scale of the cosine/sine tables. Q10 keeps every half-block sum inside
/// an `i32` even for a full-scale square wave (51 · 32768 · 1024 < 2³¹); the table's
/// rounding error sits about 85 dB below the tone it measures.
const TABLE_ONE: f32 = 1024.0;

/// Coefficient tables, shared by every channel (3.3 kB once per process), built on first
/// use. `single[n]` holds `cos(ω_f n)` for the eight frequencies then `-sin(ω_f n)`;
/// `pairs[p]` interleaves samples `2p` and `2p+1` (`[c(2p), c(2p+1)]` per output) so that
/// one multiply-add of 16-bit pairs (x86 `pmaddwd`, Arm `smlal`) does two samples.
struct Tables {
    single: [[i16; 16]; HALF + 1],
    pairs: [[i16; 32]; HALF / 2 + 1],
    /// `cos(ω_f HALF)`, `sin(ω_f HALF)`: the rotation from one half-block to the next.
    rot: [(f32, f32); 8],
    /// `leak[a][b]`: how much of a tone at frequency `b` shows up in the half-block DFT at
    /// frequency `a`, relative to its own DFT at `b`: `Σₙ e^{j(ω_b−ω_a)n} / HALF`.
    /// `leak_prev` is the same for the rotated previous half (times `e^{−j(ω_b−ω_a)HALF}`).
    leak: [[(f32, f32); 8]; 8],
    leak_prev: [[(f32, f32); 8]; 8],
    /// The same over a whole window, time reference at the start of its second half:
    /// `Σ_{n=−HALF}^{HALF−1} e^{j(ω_b−ω_a)n} / WINDOW`.
    leak_window: [[(f32, f32); 8]; 8],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Tables {
            leak: [[(0.0, 0.0); 8]; 8],
            leak_prev: [[(0.0, 0.0); 8]; 8],
            leak_window: [[(0.0, 0.0); 8]; 8],
            single: [[0; 16]; HALF + 1],
            pairs: [[0; 32]; HALF / 2 + 1],
            rot: [(0.0, 0.0); 8],
        };
        let w = |f: usize| 2.0 * std::f64::consts::PI * f64::from(FREQS[f]) / f64::from(RATE);
        let q = |v: f64| (v * f64::from(TABLE_ONE)).round() as i16;
        for n in 0..=HALF {
            for f in 0..8 {
                t.single[n][f] = q((w(f) * n as f64).cos());
                t.single[n][f + 8] = q(-(w(f) * n as f64).sin());
            }
        }
        for p in 0..=HALF / 2 {
            for j in 0..16 {
                t.pairs[p][2 * j] = t.single[2 * p][j];
                t.pairs[p][2 * j + 1] = t.single[(2 * p + 1).min(HALF)][j];
            }
        }
        for a in 0..8 {
            for b in 0..8 {
                let d = w(b) - w(a);
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for n in 0..HALF {
                    re += (d * n as f64).cos();
                    im += (d * n as f64).sin();
                }
                let (re, im) = (re / HALF as f64, im / HALF as f64);
                t.leak[a][b] = (re as f32, im as f32);
                let (c, s) = ((d * HALF as f64).cos(), -(d * HALF as f64).sin());
                t.leak_prev[a][b] = ((re * c - im * s) as f32, (re * s + im * c) as f32);
                let (mut wr, mut wi) = (0.0f64, 0.0f64);
                for n in -(HALF as i32)..HALF as i32 {
                    wr += (d * f64::from(n)).cos();
                    wi += (d * f64::from(n)).sin();
                }
                t.leak_window[a][b] = ((wr / WINDOW as f64) as f32, (wi / WINDOW as f64) as f32);
            }
        }
        for (f, r) in t.rot.iter_mut().enumerate() {
            *r = (
                (w(f) * HALF as f64).cos() as f32,
                (w(f) * HALF as f64).sin() as f32,
            );
        }
        t
    })
}

/// `acc[j] += Σ x[2p]·t[p][2j] + x[2p+1]·t[p][2j+1]` over sample pairs.
///
/// On x86-64 this is written with SSE2 `pmaddwd` (part of the x86-64 baseline, so always
/// present): four instructions do two samples for all sixteen outputs. That is where the
/// detector's speed comes from — more than twice spandsp's float Goertzel loop.
#[cfg(target_arch = "x86_64")]
#[inline]
fn mac_pairs(acc: &mut [i32; 16], samples: &[i16], table: &[[i16; 32]]) {
    use std::arch::x86_64::{
        __m128i, _mm_add_epi32, _mm_loadu_si128, _mm_madd_epi16, _mm_set1_epi32, _mm_storeu_si128,
    };
    let n = (samples.len() / 2).min(table.len());
    // SAFETY: SSE2 is part of the x86-64 baseline. Every load and store below is an
    // unaligned 16-byte access inside `acc` (64 bytes) or a table row (64 bytes), both
    // in bounds by construction (`k < 4`, `p < n <= table.len()`).
    unsafe {
        let ap = acc.as_mut_ptr().cast::<__m128i>();
        let mut a = [
            _mm_loadu_si128(ap),
            _mm_loadu_si128(ap.add(1)),
            _mm_loadu_si128(ap.add(2)),
            _mm_loadu_si128(ap.add(3)),
        ];
        for p in 0..n {
            let x0 = samples[2 * p] as u16 as u32;
            let x1 = samples[2 * p + 1] as u16 as u32;
            let x = _mm_set1_epi32((x0 | (x1 << 16)) as i32);
            let tp = table[p].as_ptr().cast::<__m128i>();
            for (k, ak) in a.iter_mut().enumerate() {
                *ak = _mm_add_epi32(*ak, _mm_madd_epi16(x, _mm_loadu_si128(tp.add(k))));
            }
        }
        for (k, ak) in a.iter().enumerate() {
            _mm_storeu_si128(ap.add(k), *ak);
        }
    }
}

/// Portable version of the above; compilers vectorise it to widening multiply-adds.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn mac_pairs(acc: &mut [i32; 16], samples: &[i16], table: &[[i16; 32]]) {
    mac_pairs_scalar(acc, samples, table)
}

/// Scalar reference for [`mac_pairs`] (the portable path; also checks the SSE2 one).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
#[inline]
fn mac_pairs_scalar(acc: &mut [i32; 16], samples: &[i16], table: &[[i16; 32]]) {
    for (s, t) in samples.chunks_exact(2).zip(table) {
        let (x0, x1) = (i32::from(s[0]), i32::from(s[1]));
        for j in 0..16 {
            acc[j] += x0 * i32::from(t[2 * j]) + x1 * i32::from(t[2 * j + 1]);
        }
    }
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
    pub fn new(
        min_level_dbm0: f32,
        normal_twist_db: f32,
        reverse_twist_db: f32,
        relative_peak_db: f32,
        min_fraction: f32,
        max_deviation: f32,
    ) -> Self {
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
    tables: &'static Tables,
    /// DFT sums of the current half-block, Q10.
    acc: [i32; 16],
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
            tables: tables(),
            acc: [0; 16],
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
    pub fn feed(&mut self, mut samples: &[i16]) -> bool {
        let take = samples.len().min(self.remaining());
        samples = &samples[..take];
        let mut e: i64 = 0;
        for &x in samples {
            e += i64::from(i32::from(x) * i32::from(x));
        }
        self.energy += e;
        // An odd position (odd-sized frames) is realigned with one single-sample step.
        if self.pos % 2 == 1 {
            if let Some((&x, rest)) = samples.split_first() {
                self.mac_single(x);
                samples = rest;
            }
        }
        let pairs = samples.len() / 2;
        mac_pairs(
            &mut self.acc,
            &samples[..2 * pairs],
            &self.tables.pairs[self.pos / 2..],
        );
        self.pos += 2 * pairs;
        if let Some(&x) = samples.get(2 * pairs) {
            self.mac_single(x);
        }
        self.pos == HALF
    }

    #[inline]
    fn mac_single(&mut self, x: i16) {
        let t = &self.tables.single[self.pos];
        for (a, c) in self.acc.iter_mut().zip(t) {
            *a += i32::from(x) * i32::from(*c);
        }
        self.pos += 1;
    }

    /// Close the half-block just completed and judge the window it ends.
    /// Returns `None` for the very first half-block (no full window yet).
    pub fn judge(&mut self, limits: &Limits) -> Option<Verdict> {
        debug_assert_eq!(self.pos, HALF);
        let mut cur = [0.0f32; 16];
        for (c, a) in cur.iter_mut().zip(self.acc) {
            *c = a as f32 * (1.0 / TABLE_ONE);
        }
        let cur_energy = self.energy as f32;
        self.acc = [0; 16];
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
        for f in 0..8 {
            let (re, im) = (cur[f], cur[f + 8]);
            let (c, s) = self.tables.rot[f];
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
        let mut x = [(0.0f32, 0.0f32); 8];
        let mut e = [0.0f32; 8];
        for f in 0..8 {
            x[f] = (self.prev[f] + cur[f], self.prev[f + 8] + cur[f + 8]);
            e[f] = (x[f].0 * x[f].0 + x[f].1 * x[f].1) * (2.0 / WINDOW as f32);
        }
        let none = Verdict { key: None };
        let (r, _) = argmax(&e[..4]);
        let (c, _) = argmax(&e[4..]);
        // Each tone's sidelobe in the other's bin (up to −23 dB) would move the measured
        // twist by ±1.5 dB when the tones differ by 8 dB: take it out first.
        let unleak = |a: usize, b: usize| {
            let k = self.tables.leak_window[a][b];
            let re = x[a].0 - (x[b].0 * k.0 - x[b].1 * k.1);
            let im = x[a].1 - (x[b].0 * k.1 + x[b].1 * k.0);
            (re * re + im * im) * (2.0 / WINDOW as f32)
        };
        let (er, ec) = (unleak(r, 4 + c), unleak(4 + c, r));
        if er < l.min_tone_energy || ec < l.min_tone_energy {
            return none;
        }
        // Both tones must dominate their own group (rejects speech harmonics, chords).
        // Judged after removing the two tones' own sidelobes from the other bins: with
        // 8 dB of twist, the loud row tone and the column tone together put up to −8 dB
        // into a neighbouring column bin, which would fail a genuine digit.
        let (fr, fc) = (r, 4 + c);
        for f in (0..8).filter(|&f| f != fr && f != fc) {
            let (kr, kc) = (
                self.tables.leak_window[f][fr],
                self.tables.leak_window[f][fc],
            );
            let re = x[f].0 - (x[fr].0 * kr.0 - x[fr].1 * kr.1) - (x[fc].0 * kc.0 - x[fc].1 * kc.1);
            let im = x[f].1 - (x[fr].0 * kr.1 + x[fr].1 * kr.0) - (x[fc].0 * kc.1 + x[fc].1 * kc.0);
            let residual = (re * re + im * im) * (2.0 / WINDOW as f32);
            if residual * l.relative_peak > if f < 4 { er } else { ec } {
                return none;
            }
        }
        // Frequency: the phase advance from the first half to the second is
        // φ = 2πΔf·HALF/RATE. Reject beyond the limit; within it, undo the window's
        // attenuation of an off-centre tone, so that twist and energy share are judged on
        // the tone's true power (a 1.5 % offset costs up to 1.5 dB in a 102-sample window).
        // The half-blocks are short (51 samples, 157 Hz bins), so each tone leaks into the
        // other's DFT enough to bias the phase by up to 0.25 rad; the other tone's DFT tells
        // us exactly how much, so we subtract it first.
        let mut gain = [0.0f32; 2];
        for (g, (f, o)) in gain.iter_mut().zip([(r, 4 + c), (4 + c, r)]) {
            let unleak = |h: &[f32; 16], k: (f32, f32)| {
                (
                    h[f] - (h[o] * k.0 - h[o + 8] * k.1),
                    h[f + 8] - (h[o] * k.1 + h[o + 8] * k.0),
                )
            };
            // z = cur · conj(prev)
            let (pr, pi) = unleak(&self.prev, self.tables.leak_prev[f][o]);
            let (cr, ci) = unleak(cur, self.tables.leak[f][o]);
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
        // Twist (Q.24): row louder than column by ≤ normal, column louder by ≤ reverse.
        if er > ec * l.normal_twist || ec > er * l.reverse_twist {
            return none;
        }
        // Most of the window's energy must be in the two tones.
        let total = self.prev_energy + cur_energy;
        if er + ec < l.min_fraction * total {
            return none;
        }
        Verdict {
            key: Some((r * 4 + c) as u8),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simd_and_scalar_paths_agree_at_full_scale() {
        let t = tables();
        let mut x: u32 = 12345;
        for round in 0..200 {
            let samples: Vec<i16> = (0..HALF - 1)
                .map(|i| match round % 3 {
                    0 => {
                        if i % 2 == 0 {
                            i16::MIN
                        } else {
                            i16::MAX
                        }
                    }
                    _ => {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as i16
                    }
                })
                .collect();
            let (mut a, mut b) = ([0i32; 16], [0i32; 16]);
            mac_pairs(&mut a, &samples, &t.pairs);
            mac_pairs_scalar(&mut b, &samples, &t.pairs);
            assert_eq!(a, b);
        }
    }
}
