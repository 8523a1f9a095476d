//! The pacer on simulated time: every timestamp is made up, nothing sleeps.

use super::*;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Ten in the morning of `day`.
fn morning(day: u64) -> f64 {
    (day * DAY_SECS) as f64 + 10.0 * 3600.0
}

fn with_ready_agents(n: u64, t: f64) -> Pacer {
    let mut p = Pacer::new(PacerConfig::default()).expect("default config is valid");
    for a in 0..n {
        p.agent(secs(t), a, AgentEvent::LoggedIn);
        p.agent(secs(t), a, AgentEvent::Ready);
    }
    p
}

/// Feed `calls` finished calls starting at `t0`: every tenth-of-rate call
/// answers live (ring 8 s) and is connected; the rest ring out at 25 s.
/// An agent (id 1000) takes a 105 s handle every 20 calls, so the handle
/// distribution is learned too. Returns the time after the last call.
fn teach(p: &mut Pacer, t0: f64, calls: u64, live_per_10: u64) -> f64 {
    let mut t = t0;
    p.agent(secs(t), 1000, AgentEvent::LoggedIn);
    for k in 0..calls {
        let id = 1_000_000 + k;
        p.call(secs(t), id, CallEvent::Dialled);
        if k % 10 < live_per_10 {
            p.call(secs(t + 8.0), id, CallEvent::AnsweredLive);
            p.call(secs(t + 8.5), id, CallEvent::Connected);
        } else {
            p.call(secs(t + 25.0), id, CallEvent::NoAnswer);
        }
        if k % 20 == 0 {
            p.agent(secs(t), 1000, AgentEvent::InCall);
            p.agent(secs(t + 90.0), 1000, AgentEvent::WrapUp);
            p.agent(secs(t + 105.0), 1000, AgentEvent::Paused);
        }
        t += 1.0;
    }
    p.agent(secs(t), 1000, AgentEvent::LoggedOut);
    t + 30.0
}

#[test]
fn paused_agents_are_not_capacity() {
    let mut p = with_ready_agents(3, 0.0);
    for a in 10..15 {
        p.agent(secs(0.0), a, AgentEvent::LoggedIn);
        p.agent(secs(0.0), a, AgentEvent::Paused);
    }
    let n = p.dial_now(secs(1.0));
    assert_eq!(n, 3, "only the three ready agents count");
    // Learned low answer rate: still nothing for the paused five.
    let t = teach(&mut p, morning(0), 600, 3);
    let learned = p.dial_now(secs(t));
    let mut ready_only = with_ready_agents(3, 0.0);
    let t2 = teach(&mut ready_only, morning(0), 600, 3);
    assert_eq!(learned, ready_only.dial_now(secs(t2)));
}

#[test]
fn cold_start_dials_about_one_line_per_ready_agent() {
    let mut p = with_ready_agents(20, 0.0);
    let n = p.dial_now(secs(1.0));
    assert!(
        (20..=21).contains(&n),
        "cold start dialled {n} for 20 ready agents"
    );
}

#[test]
fn learned_low_answer_rate_dials_more_than_one_line_per_agent() {
    let mut p = with_ready_agents(20, 0.0);
    let t = teach(&mut p, morning(0), 2000, 3);
    let n = p.dial_now(secs(t));
    assert!(
        n > 30,
        "30 % answer rate, 20 ready agents: dialled only {n}"
    );
    assert!(n <= 60, "never above the 3-lines-per-agent ceiling: {n}");
}

/// `abandons` of the answered calls on `day` end as abandons.
fn spend(p: &mut Pacer, day: u64, abandons: u64) {
    let t = morning(day) - 3000.0;
    for k in 0..abandons {
        let id = 5_000_000 + day * 10_000 + k;
        p.call(secs(t), id, CallEvent::Dialled);
        p.call(secs(t + 8.0), id, CallEvent::AnsweredLive);
        p.call(secs(t + 10.0), id, CallEvent::Abandoned);
    }
}

#[test]
fn spent_budget_falls_back_to_one_line_per_ready_agent() {
    let mut p = with_ready_agents(20, 0.0);
    let t = teach(&mut p, morning(0), 2000, 3);
    assert!(p.dial_now(secs(t)) > 20);
    // 600 live answers taught; 60 abandons is 9 %: far past the cap.
    spend(&mut p, 0, 60);
    assert_eq!(p.allowed_abandon_rate(secs(t)), 0.0);
    let n = p.dial_now(secs(t));
    assert!(n <= 20, "budget spent: dialled {n} for 20 ready agents");
}

#[test]
fn rolling_window_forgets_day_31() {
    let mut p = with_ready_agents(20, 0.0);
    let _ = teach(&mut p, morning(0), 2000, 3);
    spend(&mut p, 0, 60);
    // Day 29: day 0 is still inside the 30-day window.
    assert_eq!(p.window_totals(secs(morning(29))).1, 60);
    assert!(p.dial_now(secs(morning(29))) <= 20);
    // Day 30: day 0 has left the window; the budget is back.
    assert_eq!(p.window_totals(secs(morning(30))), (0, 0));
    assert!(p.allowed_abandon_rate(secs(morning(30))) > 0.0);
    assert!(p.dial_now(secs(morning(30))) > 20);
}

#[test]
fn cap_validation_is_typed() {
    for bad in [3.01, 4.0, 0.0, -1.0, f64::NAN] {
        let cfg = PacerConfig {
            abandon_cap_pct: bad,
            ..PacerConfig::default()
        };
        assert!(
            matches!(Pacer::new(cfg), Err(PacerError::AbandonCap(_))),
            "cap {bad} accepted"
        );
    }
    for good in [3.0, 0.5] {
        let cfg = PacerConfig {
            abandon_cap_pct: good,
            ..PacerConfig::default()
        };
        assert!(Pacer::new(cfg).is_ok(), "cap {good} refused");
    }
}

#[test]
fn small_team_stays_under_the_cap() {
    use crate::sim::{run, PacerKind, SimConfig};
    for seed in 1..=4 {
        let cfg = SimConfig {
            agents: 2,
            hours: 8.0,
            seed,
            answer_rate: 0.3,
            ..SimConfig::default()
        };
        let report = run(&cfg, &[PacerKind::Orderline]).expect("valid config");
        let r = &report[0];
        assert!(
            r.answered > 100,
            "seed {seed}: too few answers to judge: {r:?}"
        );
        assert!(
            r.abandon_pct <= 3.0,
            "seed {seed}: 2 agents abandoned {:.2} %",
            r.abandon_pct
        );
    }
}

/// One busy agent, talking or in wrap-up for `elapsed` s after teaching
/// handle times of 90 s talk + 15 s wrap; the lines dialled for it.
fn lines_for_one_busy_agent(in_wrap: bool, elapsed: f64) -> u32 {
    let mut p = Pacer::new(PacerConfig::default()).expect("default config is valid");
    let t0 = morning(0);
    let t = teach(&mut p, t0, 2000, 3);
    // Teach the two phases apart: 40 handles of 90 s talk, 15 s wrap.
    let mut s = t;
    for k in 0..40 {
        let id = 2000 + k;
        p.agent(secs(s), id, AgentEvent::LoggedIn);
        p.agent(secs(s), id, AgentEvent::InCall);
        p.agent(secs(s + 90.0), id, AgentEvent::WrapUp);
        p.agent(secs(s + 105.0), id, AgentEvent::Ready);
        p.agent(secs(s + 105.0), id, AgentEvent::LoggedOut);
        s += 1.0;
    }
    let now = s + 200.0;
    p.agent(secs(now - elapsed - 90.0), 7, AgentEvent::LoggedIn);
    if in_wrap {
        p.agent(secs(now - elapsed - 90.0), 7, AgentEvent::InCall);
        p.agent(secs(now - elapsed), 7, AgentEvent::WrapUp);
    } else {
        p.agent(secs(now - elapsed), 7, AgentEvent::InCall);
    }
    p.dial_now(secs(now))
}

#[test]
fn an_agent_ending_wrap_up_draws_lines_one_who_just_began_talking_does_not() {
    let wrapping = lines_for_one_busy_agent(true, 12.0);
    let talking = lines_for_one_busy_agent(false, 12.0);
    assert!(wrapping >= 1, "agent 3 s from ready got {wrapping} lines");
    assert_eq!(talking, 0, "agent 78 s from ready got {talking} lines");
}

#[test]
fn abandons_beyond_the_forecast_make_the_pacer_dial_fewer_lines() {
    let mut p = with_ready_agents(20, 0.0);
    let t = teach(&mut p, morning(0), 2000, 3);
    let before = p.dial_now(secs(t));
    // 600 answers, no abandon: the forecast is trusted a little more.
    assert!(
        p.forecast_bias() < 1.0,
        "no abandons yet: {}",
        p.forecast_bias()
    );
    // 300 more live answers, a third of them abandoned (far past the aim),
    // on the same morning; the ledger alone would stop all predictive
    // dialling, so judge the bias by itself on a fresh 30-day window.
    let mut s = t;
    for k in 0..300u64 {
        let id = 9_000_000 + k;
        p.call(secs(s), id, CallEvent::Dialled);
        p.call(secs(s + 8.0), id, CallEvent::AnsweredLive);
        let ev = if k % 3 == 0 {
            CallEvent::Abandoned
        } else {
            CallEvent::Connected
        };
        p.call(secs(s + 9.0), id, ev);
        s += 1.0;
    }
    assert!(p.forecast_bias() > 2.0, "bias {}", p.forecast_bias());
    let later = morning(31);
    let after = p.dial_now(secs(later));
    assert!(
        after < before,
        "after abandons the forecast is trusted less: {after} ≥ {before}"
    );
    assert!(after >= 20, "never below one line per ready agent: {after}");
}

#[test]
fn the_budget_survives_the_roll_of_a_day_spent_at_the_cap() {
    // Day 0: 1000 answers, abandons at the effective cap; day 29: the day
    // before day 0 leaves. Day 0's answers *and* abandons leave together,
    // so the budget is not spent by the roll.
    let mut p = with_ready_agents(20, 0.0);
    let c = PacerConfig::default().abandon_cap_pct / 100.0 * (1.0 - 0.05);
    let abandons = (1000.0 * c).floor() as u64;
    let t = morning(0);
    for k in 0..1000u64 {
        p.call(secs(t), k, CallEvent::Dialled);
        p.call(secs(t + 8.0), k, CallEvent::AnsweredLive);
        let ev = if k < abandons {
            CallEvent::Abandoned
        } else {
            CallEvent::Connected
        };
        p.call(secs(t + 9.0), k, ev);
    }
    assert!(p.allowed_abandon_rate(secs(morning(29))) > 0.0);
    // Over the cap on day 0: still spent on day 29, free on day 30.
    spend(&mut p, 0, 60);
    assert_eq!(p.allowed_abandon_rate(secs(morning(29))), 0.0);
    assert!(p.allowed_abandon_rate(secs(morning(30))) > 0.0);
}

#[test]
fn stats_count_today_and_the_window() {
    let mut p = with_ready_agents(4, morning(0));
    let t = morning(0);
    let empty = p.stats(secs(t));
    assert_eq!(empty.today, DayStats::default());
    assert_eq!((empty.answered_30d, empty.abandon_pct_30d), (0, 0.0));
    assert_eq!(empty.margin_to_cap_pct, 3.0);
    for k in 0..4 {
        p.call(secs(t), k, CallEvent::Dialled);
    }
    p.call(secs(t + 5.0), 0, CallEvent::AnsweredLive);
    p.call(secs(t + 5.5), 0, CallEvent::Connected);
    p.call(secs(t + 6.0), 1, CallEvent::AnsweredLive);
    p.call(secs(t + 8.0), 1, CallEvent::Abandoned);
    p.call(secs(t + 25.0), 2, CallEvent::NoAnswer);
    let n = p.dial_now(secs(t + 26.0));
    let s = p.stats(secs(t + 26.0));
    assert_eq!(
        s.today,
        DayStats {
            placed: 4,
            answered: 2,
            abandoned: 1
        }
    );
    assert_eq!((s.answered_30d, s.abandoned_30d), (2, 1));
    assert!((s.abandon_pct_30d - 50.0).abs() < 1e-9);
    assert!((s.margin_to_cap_pct + 47.0).abs() < 1e-9);
    // Line 3 still rings; n more were decided, for 4 ready agents.
    assert!((s.dial_level - (1 + n) as f64 / 4.0).abs() < 1e-9, "{s:?}");
    assert!(s.forecast_answer_rate > 0.0 && s.forecast_answer_rate < 1.0);
    // Tomorrow: today's figures restart, the window keeps them.
    let s = p.stats(secs(morning(1)));
    assert_eq!(s.today, DayStats::default());
    assert_eq!(s.answered_30d, 2);
}

/// A restart keeps the month: the stored days come back, today's count
/// goes on from them, and days outside the window stay out.
#[test]
fn the_ledger_is_restored_from_stored_days() {
    use super::model::DayCount;
    let day = Duration::from_secs(86_400);
    let now = day * 100 + Duration::from_secs(3_600);
    let mut p = Pacer::new(PacerConfig::default()).expect("config");
    let stored = |d: u64, answered: u64, abandoned: u64| DayCount {
        day: d,
        dialled: answered * 3,
        answered,
        abandoned,
    };
    p.restore_ledger(
        now,
        [stored(100, 10, 1), stored(90, 200, 4), stored(70, 999, 999)],
    );
    assert_eq!(
        p.window_totals(now),
        (210, 5),
        "day 70 is outside the window"
    );
    p.call(now, 1, CallEvent::Dialled);
    p.call(now, 1, CallEvent::AnsweredLive);
    p.call(now, 1, CallEvent::Abandoned);
    let today = p.ledger_today(now);
    assert_eq!(
        (today.day, today.dialled, today.answered, today.abandoned),
        (100, 31, 11, 2)
    );
    assert_eq!(p.window_totals(now), (211, 6));
}
