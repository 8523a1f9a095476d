//! Shared harness for the DTMF tests and benchmark: spandsp's reference detector and
//! generator (built here from `tests/support/spandsp_dtmf.c` against `libspandsp-dev`),
//! sox noise, espeak-ng speech, synthetic music, and the category table.
//!
//! Nothing is skipped: if `cc`, spandsp, sox or espeak-ng is missing the test fails and
//! says which Debian package to install.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use orderline::dtmf::decode_samples;

pub const RATE: usize = 8000;

/// sox output options: headerless 8 kHz mono signed 16-bit.
const RAW_8K: [&str; 10] = [
    "-r",
    "8000",
    "-c",
    "1",
    "-b",
    "16",
    "-e",
    "signed-integer",
    "-t",
    "raw",
];

/// Build (once per test binary) and return the spandsp reference tool.
pub fn spandsp_tool() -> &'static Path {
    static TOOL: OnceLock<PathBuf> = OnceLock::new();
    TOOL.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/spandsp_dtmf.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let out = dir.join("spandsp_dtmf");
        // Test binaries run in parallel: build privately, then rename into place.
        let tmp = dir.join(format!("spandsp_dtmf.{}.tmp", std::process::id()));
        let status = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&tmp)
            .arg(&src)
            .arg("-lspandsp")
            .status()
            .expect("running cc (Debian: gcc)");
        assert!(
            status.success(),
            "building {} failed: install libspandsp-dev",
            src.display()
        );
        std::fs::rename(&tmp, &out).expect("install spandsp_dtmf");
        out
    })
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("dtmf")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir")
}

pub fn write_raw(path: &Path, s: &[i16]) {
    let bytes: Vec<u8> = s.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).expect("write raw");
}

pub fn read_raw(path: &Path) -> Vec<i16> {
    let b = std::fs::read(path).expect("read raw");
    b.chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect()
}

/// spandsp's `dtmf_rx` (default parameters) over each vector; one digit string each.
pub fn spandsp_rx(vectors: &[Vec<i16>]) -> Vec<String> {
    let dir = tmpdir();
    let mut out = Vec::with_capacity(vectors.len());
    // Keep command lines short: batches of 200 files.
    for (b, batch) in vectors.chunks(200).enumerate() {
        let files: Vec<PathBuf> = batch
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let p = dir.path().join(format!("v{b}_{i}.raw"));
                write_raw(&p, v);
                p
            })
            .collect();
        let o = Command::new(spandsp_tool())
            .arg("rx")
            .args(&files)
            .output()
            .expect("run spandsp_dtmf");
        assert!(
            o.status.success(),
            "spandsp_dtmf rx failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let text = String::from_utf8(o.stdout).expect("utf8");
        let lines: Vec<String> = text.lines().map(str::to_owned).collect();
        assert_eq!(lines.len(), batch.len());
        out.extend(lines);
    }
    out
}

/// spandsp's `dtmf_tx`: `level` dBm0 of the low tone, `twist` dB of high over low.
pub fn spandsp_tx(digits: &str, level: i32, twist: i32, on_ms: u32, off_ms: u32) -> Vec<i16> {
    let dir = tmpdir();
    let p = dir.path().join("tx.raw");
    let st = Command::new(spandsp_tool())
        .args([
            "tx",
            digits,
            &level.to_string(),
            &twist.to_string(),
            &on_ms.to_string(),
            &off_ms.to_string(),
        ])
        .arg(&p)
        .status()
        .expect("run spandsp_dtmf tx");
    assert!(st.success());
    read_raw(&p)
}

/// orderline's detector over each vector (20 ms frames, as in a call).
pub fn orderline_rx(vectors: &[Vec<i16>]) -> Vec<String> {
    vectors
        .iter()
        .map(|v| decode_samples(v).iter().map(|e| e.digit).collect())
        .collect()
}

/// White noise from sox (repeatable: `-R`), `seconds` long, scaled to `rms`.
pub fn sox_noise(seconds: usize, rms: f64) -> Vec<i16> {
    let dir = tmpdir();
    let p = dir.path().join("noise.raw");
    let st = Command::new("sox")
        .args(["-R", "-n"])
        .args(RAW_8K)
        .arg(&p)
        .args(["synth", &seconds.to_string(), "whitenoise", "vol", "0.5"])
        .status()
        .expect("running sox (Debian: sox)");
    assert!(st.success(), "sox failed");
    let raw = read_raw(&p);
    let cur = (raw.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / raw.len() as f64).sqrt();
    raw.iter()
        .map(|&x| (f64::from(x) * rms / cur).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

/// espeak-ng speech at 8 kHz, normalised to peak `peak_dbfs`.
pub fn espeak(voice: &str, pitch: u32, speed: u32, text: &str, peak_dbfs: i32) -> Vec<i16> {
    let dir = tmpdir();
    let wav = dir.path().join("s.wav");
    let raw = dir.path().join("s.raw");
    let st = Command::new("espeak-ng")
        .args([
            "-v",
            voice,
            "-p",
            &pitch.to_string(),
            "-s",
            &speed.to_string(),
            "-w",
        ])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("running espeak-ng (Debian: espeak-ng)");
    assert!(st.success(), "espeak-ng -v {voice} failed");
    let st = Command::new("sox")
        .arg(&wav)
        .args(RAW_8K)
        .arg(&raw)
        .args(["gain", "-n", &peak_dbfs.to_string()])
        .status()
        .expect("running sox");
    assert!(st.success());
    read_raw(&raw)
}

/// Small deterministic PRNG (xorshift) so vectors are the same on every run.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Synthetic music: chords and arpeggios of equal-tempered notes with harmonic-rich
/// timbres (organ, plucked string, square-ish lead) and envelopes.
pub fn music(seconds: usize, seed: u64) -> Vec<i16> {
    let mut rng = Rng(seed);
    let n = seconds * RATE;
    let mut acc = vec![0f64; n];
    let note_hz = |midi: i32| 440.0 * 2f64.powf(f64::from(midi - 69) / 12.0);
    let mut t = 0usize;
    while t < n {
        let root = 45 + rng.below(24) as i32;
        let chord: [i32; 4] = match rng.below(4) {
            0 => [0, 4, 7, 12],
            1 => [0, 3, 7, 10],
            2 => [0, 4, 7, 11],
            _ => [0, 5, 7, 14],
        };
        let bar = RATE * (1 + rng.below(2) as usize);
        let timbre = rng.below(3);
        let arpeggio = rng.below(2) == 0;
        let step = RATE / (4 + rng.below(5) as usize);
        let events: Vec<(usize, usize, i32)> = if arpeggio {
            (0..bar / step)
                .map(|k| (t + k * step, step, root + 12 + chord[k % 4]))
                .collect()
        } else {
            chord.iter().map(|&c| (t, bar, root + c)).collect()
        };
        for (start, len, midi) in events {
            let f = note_hz(midi);
            for i in 0..len.min(n.saturating_sub(start)) {
                let time = i as f64 / RATE as f64;
                let env = match timbre {
                    0 => (1.0 - (-time * 60.0).exp()) * (1.0 - i as f64 / len as f64).sqrt(),
                    1 => (-time * 4.0).exp(),
                    _ => (1.0 - (-time * 30.0).exp()) * 0.8,
                };
                let mut v = 0.0;
                for h in 1..=8 {
                    let hf = f * h as f64;
                    if hf > 3800.0 {
                        break;
                    }
                    let a = match timbre {
                        0 => 1.0 / h as f64,
                        1 => 1.0 / (h * h) as f64,
                        _ => {
                            if h % 2 == 1 {
                                1.0 / h as f64
                            } else {
                                0.1 / h as f64
                            }
                        }
                    };
                    v += a * (2.0 * std::f64::consts::PI * hf * time).sin();
                }
                acc[start + i] += env * v;
            }
        }
        t += bar;
    }
    let peak = acc.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-9);
    acc.iter().map(|x| (x / peak * 20000.0) as i16).collect()
}

/// One row of the comparison table.
pub struct Category {
    pub name: &'static str,
    pub vectors: Vec<Vec<i16>>,
    pub expected: Vec<String>,
}

pub struct Score {
    pub name: &'static str,
    pub total: usize,
    pub orderline: usize,
    pub spandsp: usize,
    /// Vectors orderline got wrong, for the failure message.
    pub misses: Vec<(usize, String, String)>,
}

pub fn score(cat: &Category) -> Score {
    let ours = orderline_rx(&cat.vectors);
    let theirs = spandsp_rx(&cat.vectors);
    let mut s = Score {
        name: cat.name,
        total: cat.vectors.len(),
        orderline: 0,
        spandsp: 0,
        misses: Vec::new(),
    };
    for (i, exp) in cat.expected.iter().enumerate() {
        if &ours[i] == exp {
            s.orderline += 1;
        } else {
            s.misses.push((i, exp.clone(), ours[i].clone()));
        }
        if &theirs[i] == exp {
            s.spandsp += 1;
        }
    }
    s
}

pub fn print_table(title: &str, scores: &[Score]) {
    eprintln!("\n{title}");
    eprintln!(
        "{:<44} {:>7} {:>10} {:>9}",
        "category (vectors correct)", "total", "orderline", "spandsp"
    );
    for s in scores {
        eprintln!(
            "{:<44} {:>7} {:>10} {:>9}",
            s.name, s.total, s.orderline, s.spandsp
        );
    }
}

/// G.711 µ-law round trip (encode then decode), as audio arrives from a real call.
pub fn ulaw_round_trip(s: &[i16]) -> Vec<i16> {
    const BIAS: i32 = 0x84;
    s.iter()
        .map(|&x| {
            // Encode (G.711 §3, µ-law).
            let mut v = i32::from(x);
            let sign = if v < 0 { 0x80 } else { 0 };
            if v < 0 {
                v = -v;
            }
            v = (v + BIAS).min(32635 + BIAS);
            let mut exp = 7;
            while exp > 0 && v & (0x80 << exp) == 0 {
                exp -= 1;
            }
            let mant = (v >> (exp + 3)) & 0x0f;
            let code = !(sign | (exp << 4) | mant) & 0xff;
            // Decode.
            let c = !code & 0xff;
            let e = (c >> 4) & 7;
            let m = c & 0x0f;
            let mag = (((m << 3) + BIAS) << e) - BIAS;
            (if c & 0x80 != 0 { -mag } else { mag }) as i16
        })
        .collect()
}
