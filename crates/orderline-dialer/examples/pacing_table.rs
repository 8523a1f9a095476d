//! The figures of docs/pacing.md and the README: 5, 20 and 100 agents ×
//! answer rates 15/30/60 %, talk 90 s, wrap 15 s, 8 h, each on seeds
//! 1..=SEEDS (default 5); means over the seeds, with the lowest occupancy
//! and the highest abandon rate of any one seed beside them (one seed's day
//! is what a site sees); the last column is each pacer's mean occupancy over
//! VICIdial's in the same runs (the anchor, measured on the same customers).
//!
//! `cargo run -p orderline-dialer --example pacing_table [SEEDS] [AGENTS,..] [RATES,..]`
//! (the dialer crate builds at opt-level 2 even in the dev profile: the
//! whole default table takes about 3 ½ minutes on one core).

use orderline_dialer::sim::{run, PacerKind, Report, SimConfig};

fn arg_list<T: std::str::FromStr + Clone>(s: Option<String>, default: &[T]) -> Vec<T> {
    s.map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let agents: Vec<u32> = arg_list(args.next(), &[5, 20, 100]);
    let rates: Vec<f64> = arg_list(args.next(), &[0.15, 0.30, 0.60]);
    println!("| agents | answer | pacer | occupancy (min) | abandon % (max) | talk min/h | mean wait s | connected > 2 s | occupancy ÷ vicidial |");
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    for &a in &agents {
        for &p in &rates {
            let mut sums: Vec<(Report, f64, f64, f64, f64, u64)> = Vec::new();
            // Per pacer: the lowest occupancy and the highest abandon rate
            // of any one seed.
            let mut worst: Vec<(f64, f64)> = Vec::new();
            for seed in 1..=seeds {
                let cfg = SimConfig {
                    agents: a,
                    hours: 8.0,
                    seed,
                    answer_rate: p,
                    talk_mean: 90.0,
                    wrap_mean: 15.0,
                    ..SimConfig::default()
                };
                let reports = match run(&cfg, &PacerKind::ALL) {
                    Ok(r) => r,
                    Err(e) => {
                        eprintln!("error: {e}");
                        std::process::exit(2);
                    }
                };
                for (i, r) in reports.into_iter().enumerate() {
                    if sums.len() <= i {
                        sums.push((r.clone(), 0.0, 0.0, 0.0, 0.0, 0));
                    }
                    if worst.len() <= i {
                        worst.push((f64::INFINITY, 0.0));
                    }
                    worst[i].0 = worst[i].0.min(r.occupancy);
                    worst[i].1 = worst[i].1.max(r.abandon_pct);
                    let s = &mut sums[i];
                    s.1 += r.occupancy;
                    s.2 += r.abandon_pct;
                    s.3 += r.talk_min_per_hour;
                    s.4 += r.mean_wait_s;
                    s.5 += r.connected_after_2s;
                    eprintln!(
                        "seed {seed} agents {a} rate {p}: {} occ {:.3} ab {:.2}",
                        r.pacer, r.occupancy, r.abandon_pct
                    );
                }
            }
            let n = seeds as f64;
            let anchor = sums
                .iter()
                .find(|s| s.0.pacer == "vicidial")
                .map_or(f64::NAN, |s| s.1);
            for ((r, occ, ab, talk, wait, late), (occ_min, ab_max)) in sums.iter().zip(&worst) {
                println!(
                    "| {a} | {:.0} % | {} | {:.3} ({:.3}) | {:.2} ({:.2}) | {:.1} | {:.2} | {:.0} | {:.2} |",
                    p * 100.0,
                    r.pacer,
                    occ / n,
                    occ_min,
                    ab / n,
                    ab_max,
                    talk / n,
                    wait / n,
                    *late as f64 / n,
                    occ / anchor
                );
            }
        }
    }
}
