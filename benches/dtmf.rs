//! Throughput of the in-band detector against spandsp's `dtmf_rx`, on one mixed file
//! (speech in five languages, white noise, music, and DTMF digits), in the same run.
//!
//! orderline is measured in-process by criterion. spandsp is measured by the reference
//! tool (`tests/support/spandsp_dtmf.c`, built with `cc -O2` against the system
//! libspandsp) looping `dtmf_rx` over the same samples in the same 160-sample frames;
//! it reports its own samples/second, which `iter_custom` turns into criterion time, so
//! process start-up is not counted against spandsp. A summary line prints the ratio.
//!
//! `cargo bench --bench dtmf`

#[path = "../tests/support/dtmf_harness.rs"]
mod harness;

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use harness::*;
use orderline::dtmf::{dtmf_samples, Detector, DtmfTiming};

fn mixed_file() -> Vec<i16> {
    let mut v = Vec::new();
    let digits = dtmf_samples("4111111111111111#", DtmfTiming::default()).expect("digits");
    for (voice, text) in [
        (
            "en-us",
            "Please press one to confirm your order, or two to cancel it.",
        ),
        ("fr-fr", "Appuyez sur un pour confirmer votre commande."),
        ("ar", "اضغط واحد لتأكيد طلبك أو اثنين للإلغاء."),
        ("ur", "اپنے آرڈر کی تصدیق کے لیے ایک دبائیں۔"),
        (
            "de",
            "Drücken Sie die Eins, um Ihre Bestellung zu bestätigen.",
        ),
    ] {
        v.extend(espeak(voice, 50, 160, text, -3));
        v.extend(&digits);
    }
    v.extend(music(10, 7));
    let noise = sox_noise(10, 800.0);
    v.extend(&noise);
    // Digits in noise.
    let start = v.len();
    v.extend(&digits);
    for (s, n) in v[start..].iter_mut().zip(&noise) {
        *s = s.saturating_add(*n / 2);
    }
    v
}

fn orderline_pass(samples: &[i16]) -> usize {
    let mut det = Detector::new();
    let mut n = 0;
    for frame in samples.chunks(160) {
        det.push(frame);
        while det.poll_event().is_some() {
            n += 1;
        }
    }
    n
}

fn spandsp_rate(path: &std::path::Path, passes: u64) -> f64 {
    let o = Command::new(spandsp_tool())
        .arg("bench")
        .arg(path)
        .arg(passes.to_string())
        .output()
        .expect("spandsp bench");
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .trim()
        .parse()
        .expect("rate")
}

fn bench(c: &mut Criterion) {
    let samples = mixed_file();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tmp");
    let raw = dir.path().join("mixed.raw");
    write_raw(&raw, &samples);
    let n = samples.len() as u64;

    let mut g = c.benchmark_group("dtmf_detector");
    g.throughput(Throughput::Elements(n));
    g.bench_function("orderline", |b| {
        b.iter(|| orderline_pass(black_box(&samples)))
    });
    g.bench_function("spandsp_dtmf_rx", |b| {
        b.iter_custom(|iters| {
            Duration::from_secs_f64(iters as f64 * n as f64 / spandsp_rate(&raw, iters))
        })
    });
    g.finish();
    // `cargo test --all-targets` runs this file once in test mode: skip the summary there.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }

    // Summary: best of five runs of ~1 s each, in the same process.
    let passes = (8_000_000 / n).max(1);
    let ours = (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..passes {
                black_box(orderline_pass(black_box(&samples)));
            }
            (passes * n) as f64 / t.elapsed().as_secs_f64()
        })
        .fold(0.0, f64::max);
    let theirs = (0..5)
        .map(|_| spandsp_rate(&raw, passes))
        .fold(0.0, f64::max);
    println!(
        "dtmf detector on {:.1} s of mixed audio: orderline {:.1} M samples/s/core, spandsp {:.1} M samples/s/core, ratio {:.2}x ({}x real time per core)",
        n as f64 / 8000.0,
        ours / 1e6,
        theirs / 1e6,
        ours / theirs,
        (ours / 8000.0) as u64
    );
}

criterion_group!(benches, bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
