//! The pacer in the simulator, on identical customers: the 30-day abandon
//! rate of `orderline` never passes the cap in any simulated month (small
//! and large team, several seeds), and it beats `progressive` on occupancy.
//! Sized to stay fast in a debug build.

use orderline_dialer::sim::{run, PacerKind, SimConfig};

#[test]
fn thirty_day_abandon_rate_never_exceeds_the_cap() {
    for (agents, hours, seeds) in [(3u32, 4.0, 1..=3u64), (15, 2.0, 1..=2)] {
        for seed in seeds {
            let cfg = SimConfig {
                agents,
                hours,
                seed,
                answer_rate: 0.3,
                days: 30,
                ..SimConfig::default()
            };
            let report = run(&cfg, &[PacerKind::Orderline]).expect("valid config");
            let r = &report[0];
            assert_eq!(r.days.len(), 30);
            assert!(
                r.answered > 1000,
                "{agents} agents seed {seed}: too few answers {r:?}"
            );
            assert!(
                r.abandoned > 0,
                "{agents} agents seed {seed}: never over-dialled, the test proves nothing"
            );
            let worst = r.worst_30_day_pct();
            assert!(
                worst <= cfg.abandon_cap_pct,
                "{agents} agents seed {seed}: 30-day abandon rate {worst:.2} % > cap"
            );
        }
    }
}

#[test]
fn a_tighter_cap_is_respected_too() {
    let cfg = SimConfig {
        agents: 10,
        hours: 3.0,
        seed: 5,
        abandon_cap_pct: 1.0,
        days: 30,
        ..SimConfig::default()
    };
    let r = &run(&cfg, &[PacerKind::Orderline]).expect("valid config")[0];
    assert!(
        r.worst_30_day_pct() <= 1.0,
        "{:.2} % over a 1 % cap",
        r.worst_30_day_pct()
    );
}

#[test]
fn orderline_beats_progressive_on_occupancy() {
    for seed in 1..=3 {
        let cfg = SimConfig {
            agents: 10,
            hours: 5.0,
            seed,
            answer_rate: 0.3,
            ..SimConfig::default()
        };
        let r = run(&cfg, &[PacerKind::Progressive, PacerKind::Orderline]).expect("valid config");
        let (prog, ours) = (&r[0], &r[1]);
        assert!(
            ours.occupancy > prog.occupancy + 0.1,
            "seed {seed}: orderline {:.3} vs progressive {:.3}",
            ours.occupancy,
            prog.occupancy
        );
        assert!(
            ours.abandon_pct <= cfg.abandon_cap_pct,
            "seed {seed}: {:.2} %",
            ours.abandon_pct
        );
    }
}

/// The target scenario over a simulated month: 20 agents, 30 %
/// answer rate, talk 90 s, wrap 15 s, 8 h days, against VICIdial's
/// ADAPT_HARD_LIMIT on the same customers in the same run. The 0.90
/// occupancy target is not reached yet (0.89x measured, docs/pacing.md);
/// this holds the ground gained and the rule: it fails if occupancy falls
/// below 0.89, if any 30-day window passes 3 %, or if `orderline` stops
/// beating `vicidial` by a wide margin.
#[test]
fn twenty_agents_thirty_percent_for_a_month() {
    let cfg = SimConfig {
        agents: 20,
        hours: 8.0,
        seed: 1,
        answer_rate: 0.3,
        days: 30,
        ..SimConfig::default()
    };
    let r = run(&cfg, &[PacerKind::Vicidial, PacerKind::Orderline]).expect("valid config");
    let (vd, ours) = (&r[0], &r[1]);
    eprintln!(
        "orderline occ {:.4} ab {:.3} % worst30 {:.3} %; vicidial occ {:.4} ab {:.3} %",
        ours.occupancy,
        ours.abandon_pct,
        ours.worst_30_day_pct(),
        vd.occupancy,
        vd.abandon_pct
    );
    assert!(ours.occupancy >= 0.89, "occupancy {:.4}", ours.occupancy);
    assert!(
        ours.worst_30_day_pct() <= 3.0,
        "30-day abandon {:.3} %",
        ours.worst_30_day_pct()
    );
    assert!(
        ours.occupancy > vd.occupancy * 1.2,
        "orderline {:.4} vs vicidial {:.4}",
        ours.occupancy,
        vd.occupancy
    );
}
