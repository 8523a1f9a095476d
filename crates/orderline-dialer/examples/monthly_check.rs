//! The 30-day figures of docs/pacing.md: `orderline` over 30 working days of
//! 8 h for a small and a large team, several seeds; the worst 30-day
//! abandon rate against the cap.
//!
//! `cargo run -p orderline-dialer --release --example monthly_check [SEEDS]`

use orderline_dialer::sim::{run, PacerKind, SimConfig};

fn main() {
    let seeds: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    println!("| agents | answer | seed | answered | abandoned | 30-day abandon % | occupancy |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for agents in [3u32, 20] {
        for seed in 1..=seeds {
            let cfg = SimConfig {
                agents,
                hours: 8.0,
                seed,
                answer_rate: 0.3,
                days: 30,
                ..SimConfig::default()
            };
            match run(&cfg, &[PacerKind::Orderline]) {
                Ok(r) => {
                    let r = &r[0];
                    println!(
                        "| {agents} | 30 % | {seed} | {} | {} | {:.2} | {:.3} |",
                        r.answered,
                        r.abandoned,
                        r.worst_30_day_pct(),
                        r.occupancy
                    );
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    std::process::exit(2);
                }
            }
        }
    }
}
