//! orderline's in-band detector against spandsp's `dtmf_rx` on the same vectors, one
//! category per Q.24-style requirement (see DESIGN.md "DTMF detector: what telco grade
//! means"). Each test fails if orderline gets fewer vectors right than spandsp in any
//! category, misses anything inside the specification, or reports a digit in talk-off
//! material. Run with `--nocapture` to see the tables.

#[macro_use]
mod support;

use orderline::dtmf::{dtmf_freqs, render, Tone};
use support::dtmf_harness::*;

const KEYS: &str = "0123456789*#ABCD";

fn ms(x: u32) -> u32 {
    x * 8
}

/// `lead` samples of silence, the segments, 150 ms of silence.
fn vector(lead: usize, tones: &[Tone]) -> Vec<i16> {
    let mut v = vec![0i16; lead];
    for t in tones {
        v.extend(render(*t).expect("tone"));
    }
    v.extend(std::iter::repeat_n(0, 1200));
    v
}

fn key_tone(
    d: char,
    row_dev: f32,
    col_dev: f32,
    low_dbm0: f32,
    high_dbm0: f32,
    on: u32,
    off: u32,
) -> Tone {
    let (r, c) = dtmf_freqs(d).expect("key");
    Tone {
        freqs: [r * (1.0 + row_dev), c * (1.0 + col_dev)],
        levels_dbm0: [low_dbm0, high_dbm0],
        on_samples: on,
        off_samples: off,
    }
}

struct Builder {
    cat: Category,
}

impl Builder {
    fn new(name: &'static str) -> Self {
        Builder {
            cat: Category {
                name,
                vectors: Vec::new(),
                expected: Vec::new(),
            },
        }
    }
    fn push(&mut self, v: Vec<i16>, expected: &str) {
        self.cat.vectors.push(v);
        self.cat.expected.push(expected.to_owned());
    }
}

fn lead(i: usize) -> usize {
    (i * 37) % 160
}

fn categories() -> Vec<Category> {
    let mut cats = Vec::new();

    let mut b = Builder::new("spandsp dtmf_tx, 50/50 ms, -4..-24 dBm0");
    for (i, level) in [-4, -14, -24].into_iter().enumerate() {
        for d in KEYS.chars() {
            let mut v = vec![0i16; lead(i)];
            v.extend(spandsp_tx(&d.to_string(), level, 2, 50, 50));
            v.extend(std::iter::repeat_n(0, 1200));
            b.push(v, &d.to_string());
        }
    }
    b.push(
        spandsp_tx("4111111111111111#", -10, 2, 50, 50),
        "4111111111111111#",
    );
    cats.push(b.cat);

    // What a call delivers: the same spandsp vectors through G.711 µ-law.
    let mut b = Builder::new("G.711 mu-law round trip, -4..-30 dBm0");
    for (i, level) in [-4, -14, -24, -30].into_iter().enumerate() {
        let mut v = vec![0i16; lead(i + 5)];
        v.extend(spandsp_tx(KEYS, level, 2, 50, 50));
        v.extend(std::iter::repeat_n(0, 1200));
        b.push(ulaw_round_trip(&v), KEYS);
    }
    cats.push(b.cat);

    let mut b = Builder::new("40 ms on / 40 ms off, repeated key x4");
    for (i, d) in KEYS.chars().enumerate() {
        for j in 0..3 {
            let t = key_tone(d, 0.0, 0.0, -10.0, -10.0, ms(40), ms(40));
            b.push(vector(lead(i * 3 + j), &[t; 4]), &d.to_string().repeat(4));
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("reject: tones <= 20 ms");
    for (i, d) in KEYS.chars().enumerate() {
        for (j, on) in [12u32, 16, 20].into_iter().enumerate() {
            b.push(
                vector(
                    lead(i * 3 + j),
                    &[key_tone(d, 0.0, 0.0, -6.0, -6.0, ms(on), ms(100))],
                ),
                "",
            );
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("10 ms break inside a 120 ms tone");
    for (i, d) in KEYS.chars().enumerate() {
        let t = key_tone(d, 0.0, 0.0, -10.0, -10.0, ms(60), ms(10));
        let u = key_tone(d, 0.0, 0.0, -10.0, -10.0, ms(60), 0);
        b.push(vector(lead(i), &[t, u]), &d.to_string());
    }
    cats.push(b.cat);

    let mut b = Builder::new("accept: frequency +-1.5 %");
    for (i, d) in KEYS.chars().enumerate() {
        for (j, (r, c)) in [
            (0.015, 0.015),
            (0.015, -0.015),
            (-0.015, 0.015),
            (-0.015, -0.015),
        ]
        .into_iter()
        .enumerate()
        {
            b.push(
                vector(
                    lead(i * 4 + j),
                    &[key_tone(d, r, c, -10.0, -10.0, ms(50), ms(50))],
                ),
                &d.to_string(),
            );
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("reject: frequency +-3.5 % (100 ms tones)");
    for (i, d) in KEYS.chars().enumerate() {
        for (j, (r, c)) in [(0.035, 0.0), (-0.035, 0.0), (0.0, 0.035), (0.0, -0.035)]
            .into_iter()
            .enumerate()
        {
            b.push(
                vector(
                    lead(i * 4 + j),
                    &[key_tone(d, r, c, -10.0, -10.0, ms(100), ms(50))],
                ),
                "",
            );
        }
    }
    cats.push(b.cat);

    // Four alignments each: whether sidelobes add up depends on where windows fall.
    let mut b = Builder::new("accept: twist +8 dB row / +4 dB column");
    for (i, d) in KEYS.chars().enumerate() {
        for k in [0, 1, 40, 77] {
            for (lo, hi) in [
                (-10.0, -18.0),
                (-14.0, -10.0),
                (-20.0, -28.0),
                (-26.0, -22.0),
            ] {
                let t = key_tone(d, 0.0, 0.0, lo, hi, ms(50), ms(50));
                b.push(vector(lead(i) + k, &[t]), &d.to_string());
            }
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("reject: twist +14 dB row / +10 dB column");
    for (i, d) in KEYS.chars().enumerate() {
        b.push(
            vector(
                lead(i),
                &[key_tone(d, 0.0, 0.0, -6.0, -20.0, ms(100), ms(50))],
            ),
            "",
        );
        b.push(
            vector(
                lead(i + 1),
                &[key_tone(d, 0.0, 0.0, -16.0, -6.0, ms(100), ms(50))],
            ),
            "",
        );
    }
    cats.push(b.cat);

    let mut b = Builder::new("accept: level 0..-26 dBm0 per tone");
    for (j, level) in [0.0f32, -6.0, -12.0, -18.0, -22.0, -26.0]
        .into_iter()
        .enumerate()
    {
        for (i, d) in KEYS.chars().enumerate() {
            b.push(
                vector(
                    lead(i + j),
                    &[key_tone(d, 0.0, 0.0, level, level, ms(50), ms(50))],
                ),
                &d.to_string(),
            );
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("reject: level -45..-55 dBm0 per tone");
    for (j, level) in [-45.0f32, -50.0, -55.0].into_iter().enumerate() {
        for (i, d) in KEYS.chars().enumerate() {
            b.push(
                vector(
                    lead(i + j),
                    &[key_tone(d, 0.0, 0.0, level, level, ms(100), ms(50))],
                ),
                "",
            );
        }
    }
    cats.push(b.cat);

    // White noise 15 dB below the total DTMF power (two tones at -10 dBm0 = -7 dBm0).
    let mut b = Builder::new("white noise, SNR 15 dB, 50/50 ms x4");
    let tone_power = 2.0 * f64::from(orderline::dtmf::dbm0_to_amplitude(-10.0)).powi(2) / 2.0;
    let noise_rms = (tone_power / 10f64.powf(1.5)).sqrt();
    let noise = sox_noise(40, noise_rms);
    for (i, d) in KEYS.chars().enumerate() {
        for j in 0..3 {
            let t = key_tone(d, 0.0, 0.0, -10.0, -10.0, ms(50), ms(50));
            let mut v = vector(lead(i * 3 + j), &[t; 4]);
            let off = ((i * 3 + j) * 7919) % (noise.len() - v.len());
            for (s, n) in v.iter_mut().zip(&noise[off..]) {
                *s = s.saturating_add(*n);
            }
            b.push(v, &d.to_string().repeat(4));
        }
    }
    cats.push(b.cat);

    // Harder: minimum timing, off-frequency, same noise.
    let mut b = Builder::new("noise 15 dB + 40/40 ms + 1.5 % off, x4");
    for (i, d) in KEYS.chars().enumerate() {
        for (j, dev) in [0.015f32, -0.015].into_iter().enumerate() {
            let t = key_tone(d, dev, -dev, -10.0, -10.0, ms(40), ms(40));
            let mut v = vector(lead(i * 2 + j), &[t; 4]);
            let off = ((i * 2 + j) * 4099 + 1000) % (noise.len() - v.len());
            for (s, n) in v.iter_mut().zip(&noise[off..]) {
                *s = s.saturating_add(*n);
            }
            b.push(v, &d.to_string().repeat(4));
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("reject: one tone / two of one group");
    let rows = [697.0f32, 770.0, 852.0, 941.0];
    let cols = [1209.0f32, 1336.0, 1477.0, 1633.0];
    for (i, f) in rows.iter().chain(cols.iter()).enumerate() {
        b.push(
            vector(lead(i), &[Tone::single(*f, -6.0, ms(200), ms(50))]),
            "",
        );
    }
    for g in [rows, cols] {
        for a in 0..4 {
            for c in a + 1..4 {
                b.push(
                    vector(
                        lead(a + c),
                        &[Tone::dual(g[a], g[c], -8.0, ms(200), ms(50))],
                    ),
                    "",
                );
            }
        }
    }
    cats.push(b.cat);

    let mut b = Builder::new("reject: dial/busy/ringback/SIT/fax tones");
    let sec = 8000;
    b.push(
        vector(0, &[Tone::dual(350.0, 440.0, -13.0, 3 * sec, 0)]),
        "",
    ); // US dial
    b.push(vector(0, &[Tone::single(425.0, -10.0, 3 * sec, 0)]), ""); // EU dial
    b.push(
        vector(0, &[Tone::dual(350.0, 450.0, -10.0, 3 * sec, 0)]),
        "",
    ); // UK dial
    b.push(
        vector(0, &[Tone::dual(480.0, 620.0, -10.0, sec / 2, sec / 2); 4]),
        "",
    ); // busy
    b.push(
        vector(0, &[Tone::dual(440.0, 480.0, -10.0, 2 * sec, 4 * sec)]),
        "",
    ); // US ringback
    b.push(
        vector(
            0,
            &[
                Tone::dual(400.0, 450.0, -10.0, 3200, 1600),
                Tone::dual(400.0, 450.0, -10.0, 3200, 16000),
            ],
        ),
        "",
    ); // UK ring
    let sit = [
        Tone::single(913.8, -10.0, 2640, 0),
        Tone::single(1370.6, -10.0, 2640, 0),
        Tone::single(1776.7, -10.0, 2640, 0),
    ];
    b.push(vector(0, &sit), "");
    let sit_lo = [
        Tone::single(985.2, -10.0, 2176, 0),
        Tone::single(1428.5, -10.0, 2176, 0),
        Tone::single(1776.7, -10.0, 2640, 0),
    ];
    b.push(vector(0, &sit_lo), "");
    b.push(
        vector(0, &[Tone::single(1100.0, -10.0, 4000, 24000); 2]),
        "",
    ); // fax CNG
    b.push(vector(0, &[Tone::single(2100.0, -10.0, 3 * sec, 0)]), ""); // fax/modem CED
    b.push(vector(0, &[Tone::dual(1650.0, 1850.0, -10.0, sec, 0)]), ""); // V.21 mark/space
    b.push(vector(0, &[Tone::dual(950.0, 1400.0, -10.0, sec, 0)]), ""); // SIT-like pair
    cats.push(b.cat);

    cats
}

#[test]
fn detector_matches_or_beats_spandsp_in_every_category() {
    let cats = categories();
    let scores: Vec<Score> = cats.iter().map(score).collect();
    print_table(
        "DTMF detection: vectors handled correctly, orderline vs spandsp dtmf_rx",
        &scores,
    );
    let mut failures = Vec::new();
    for s in &scores {
        if s.orderline < s.spandsp {
            failures.push(format!(
                "{}: orderline {} < spandsp {}",
                s.name, s.orderline, s.spandsp
            ));
        }
        if s.orderline < s.total {
            failures.push(format!(
                "{}: orderline missed {:?}",
                s.name,
                &s.misses[..s.misses.len().min(6)]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
