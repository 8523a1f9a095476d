//! Campaign rules on simulated time: windows, retries, caps, DST, rules.
//! No clock is read anywhere; every `now` is written down here.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use orderline::config::{CallingConfig, CampaignConfig, Config, Fallback, RuleAction};
use orderline::dialer::{
    Amount, AttemptState, CallWindow, Campaign, CustomerKind, Decision, Next, OrderFacts,
    OrderRules, OrderStatus, RetryPolicy,
};
use orderline::ivr::Outcome;

fn local(tz: Tz, y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    tz.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("unambiguous local time")
        .with_timezone(&Utc)
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn campaign(window: &str, tz: &str, max_reattempts: u32, fallback: Fallback) -> Campaign {
    let calling = CallingConfig {
        window: window.into(),
        timezone: tz.into(),
        max_reattempts,
        no_answer_fallback: fallback,
        ..CallingConfig::default()
    };
    calling
        .campaign(&CampaignConfig::default())
        .expect("valid campaign")
}

fn facts(amount: &str, kind: CustomerKind) -> OrderFacts {
    OrderFacts {
        amount: Amount::parse(amount).expect("amount"),
        kind,
        timezone: None,
    }
}

/// Run one order through the campaign where every call ends with `outcome`
/// and lasts `call_len`; returns the call start times and the final result.
fn simulate(
    c: &Campaign,
    order: &OrderFacts,
    received: DateTime<Utc>,
    outcome: Outcome,
    call_len: TimeDelta,
) -> (Vec<DateTime<Utc>>, Next) {
    let Decision::CallAt(mut at) = c.plan_order(order, received) else {
        panic!("order should be called");
    };
    let mut calls = Vec::new();
    for attempt_no in 1..=20 {
        calls.push(at);
        let state = AttemptState {
            attempt_no,
            started_at: at,
            timezone: order.timezone,
        };
        match c.after_attempt(&state, outcome, at + call_len) {
            Next::RetryAt(t) => {
                assert!(t > at, "retry must be later than the call it follows");
                at = t;
            }
            other => return (calls, other),
        }
    }
    panic!("more than 20 calls: the cap is not enforced");
}

#[test]
fn evening_order_is_called_at_next_mornings_opening() {
    let karachi: Tz = "Asia/Karachi".parse().unwrap();
    let c = campaign("09:15-20:45", "Asia/Karachi", 4, Fallback::Flag);
    let order_at = local(karachi, 2026, 11, 23, 21, 0);
    let plan = c.plan_order(&facts("2500", CustomerKind::New), order_at);
    assert_eq!(plan, Decision::CallAt(local(karachi, 2026, 11, 24, 9, 15)));
    // And an order placed inside the window is called at once.
    let noon = local(karachi, 2026, 11, 23, 12, 0);
    assert_eq!(
        c.plan_order(&facts("2500", CustomerKind::New), noon),
        Decision::CallAt(noon)
    );
}

#[test]
fn never_answered_means_exactly_five_calls_three_hours_apart_then_fallback() {
    let karachi: Tz = "Asia/Karachi".parse().unwrap();
    for (fallback, status) in [
        (Fallback::Flag, OrderStatus::Flagged),
        (Fallback::Confirm, OrderStatus::Confirmed),
        (Fallback::Cancel, OrderStatus::Cancelled),
    ] {
        let c = campaign("09:15-20:45", "Asia/Karachi", 4, fallback);
        let (calls, last) = simulate(
            &c,
            &facts("2500", CustomerKind::New),
            local(karachi, 2026, 11, 23, 21, 0),
            Outcome::NoAnswer,
            TimeDelta::seconds(40),
        );
        assert_eq!(
            calls,
            vec![
                local(karachi, 2026, 11, 24, 9, 15),
                local(karachi, 2026, 11, 24, 12, 15),
                local(karachi, 2026, 11, 24, 15, 15),
                local(karachi, 2026, 11, 24, 18, 15),
                // 21:15 is after the window: moved to the next opening.
                local(karachi, 2026, 11, 25, 9, 15),
            ]
        );
        for t in &calls {
            assert!(c.window().contains(*t), "{t} outside the window");
        }
        for pair in calls.windows(2) {
            let gap = pair[1] - pair[0];
            let due = pair[0] + TimeDelta::hours(3);
            assert!(
                gap == TimeDelta::hours(3)
                    || (!c.window().contains(due) && pair[1] == c.window().next_opening(due)),
                "{pair:?}"
            );
        }
        assert_eq!(last, Next::Fallback(status));
    }
}

#[test]
fn every_unanswered_kind_of_outcome_is_retried() {
    let c = campaign("09:15-20:45", "UTC", 4, Fallback::Cancel);
    for outcome in [
        Outcome::NoAnswer,
        Outcome::Busy,
        Outcome::Failed,
        Outcome::NoInput,
        Outcome::Hangup,
    ] {
        let (calls, last) = simulate(
            &c,
            &facts("10", CustomerKind::New),
            utc("2026-06-01T10:00:00Z"),
            outcome,
            TimeDelta::zero(),
        );
        assert_eq!(calls.len(), 5, "{outcome:?}");
        assert_eq!(last, Next::Fallback(OrderStatus::Cancelled), "{outcome:?}");
    }
}

#[test]
fn answers_end_the_campaign_and_rejection_goes_to_the_fallback() {
    let c = campaign("09:15-20:45", "UTC", 4, Fallback::Flag);
    let now = utc("2026-06-01T10:00:00Z");
    let first = AttemptState {
        attempt_no: 1,
        started_at: now,
        timezone: None,
    };
    assert_eq!(
        c.after_attempt(&first, Outcome::Confirmed, now),
        Next::Done(OrderStatus::Confirmed)
    );
    assert_eq!(
        c.after_attempt(&first, Outcome::Cancelled, now),
        Next::Done(OrderStatus::Cancelled)
    );
    assert_eq!(
        c.after_attempt(&first, Outcome::Rejected, now),
        Next::Fallback(OrderStatus::Flagged)
    );
    // Confirmation on the very last allowed attempt still counts.
    let fifth = AttemptState {
        attempt_no: 5,
        started_at: now,
        timezone: None,
    };
    assert_eq!(
        c.after_attempt(&fifth, Outcome::Confirmed, now),
        Next::Done(OrderStatus::Confirmed)
    );
}

#[test]
fn the_cap_of_four_reattempts_cannot_be_exceeded_by_config() {
    assert!(RetryPolicy::new(5, Duration::from_secs(3 * 3600), Fallback::Flag).is_err());
    assert!(RetryPolicy::new(u32::MAX, Duration::from_secs(3 * 3600), Fallback::Flag).is_err());
    let err = Config::from_toml("[calling]\nmax_reattempts = 5\n").unwrap_err();
    assert!(err.to_string().contains("calling.max_reattempts"), "{err}");
    let calling = CallingConfig {
        max_reattempts: 9,
        ..CallingConfig::default()
    };
    assert!(calling.campaign(&CampaignConfig::default()).is_err());
    // Lowering works: 2 re-attempts is 3 calls.
    let c = campaign("09:15-20:45", "UTC", 2, Fallback::Flag);
    let (calls, _) = simulate(
        &c,
        &facts("10", CustomerKind::New),
        utc("2026-06-01T10:00:00Z"),
        Outcome::NoAnswer,
        TimeDelta::zero(),
    );
    assert_eq!(calls.len(), 3);
    let c = campaign("09:15-20:45", "UTC", 0, Fallback::Flag);
    let (calls, _) = simulate(
        &c,
        &facts("10", CustomerKind::New),
        utc("2026-06-01T10:00:00Z"),
        Outcome::NoAnswer,
        TimeDelta::zero(),
    );
    assert_eq!(calls.len(), 1);
}

#[test]
fn retries_are_spaced_from_call_start_not_from_hang_up() {
    let c = campaign("09:15-20:45", "UTC", 4, Fallback::Flag);
    let start = utc("2026-06-01T10:00:00Z");
    let state = AttemptState {
        attempt_no: 1,
        started_at: start,
        timezone: None,
    };
    assert_eq!(
        c.after_attempt(&state, Outcome::NoAnswer, start + TimeDelta::seconds(45)),
        Next::RetryAt(utc("2026-06-01T13:00:00Z"))
    );
    // A report arriving after the interval (e.g. after downtime) never schedules in the past.
    let late = utc("2026-06-01T16:00:00Z");
    assert_eq!(
        c.after_attempt(&state, Outcome::NoAnswer, late),
        Next::RetryAt(late)
    );
}

#[test]
fn new_york_spring_forward_moves_the_opening_in_utc() {
    // 2026-03-08 02:00 EST -> 03:00 EDT.
    let c = campaign("09:15-20:45", "America/New_York", 4, Fallback::Flag);
    // Saturday 21:00 EST = 02:00Z Sunday; Sunday 09:15 is EDT = 13:15Z, not 14:15Z.
    assert_eq!(
        c.plan_order(&facts("1", CustomerKind::New), utc("2026-03-08T02:00:00Z")),
        Decision::CallAt(utc("2026-03-08T13:15:00Z"))
    );
    // A retry due Saturday 21:15 EST lands Sunday 09:15 EDT: 15 h later in real time, not 16.
    let sat_1815 = utc("2026-03-07T23:15:00Z");
    let state = AttemptState {
        attempt_no: 4,
        started_at: sat_1815,
        timezone: None,
    };
    assert_eq!(
        c.after_attempt(&state, Outcome::NoAnswer, sat_1815),
        Next::RetryAt(utc("2026-03-08T13:15:00Z"))
    );
}

#[test]
fn new_york_fall_back_moves_the_opening_in_utc() {
    // 2026-11-01 02:00 EDT -> 01:00 EST.
    let c = campaign("09:15-20:45", "America/New_York", 4, Fallback::Flag);
    assert_eq!(
        c.plan_order(&facts("1", CustomerKind::New), utc("2026-11-01T01:00:00Z")),
        Decision::CallAt(utc("2026-11-01T14:15:00Z"))
    );
    assert!(
        c.window().contains(utc("2026-11-02T01:44:00Z")),
        "20:44 EST"
    );
    assert!(
        !c.window().contains(utc("2026-11-02T01:45:00Z")),
        "20:45 EST"
    );
}

#[test]
fn paris_window_inside_the_spring_gap_opens_when_clocks_jump() {
    // 2026-03-29 02:00 CET -> 03:00 CEST: 02:30 does not exist that night.
    let w = CallWindow::parse("02:30-05:00", "Europe/Paris").unwrap();
    assert_eq!(
        w.next_opening(utc("2026-03-28T23:00:00Z")),
        utc("2026-03-29T01:00:00Z"),
        "03:00 CEST"
    );
    assert!(!w.contains(utc("2026-03-29T00:59:00Z")));
    assert!(w.contains(utc("2026-03-29T02:59:00Z")), "04:59 CEST");
    assert!(!w.contains(utc("2026-03-29T03:00:00Z")), "05:00 CEST");
    // The day before and after: ordinary 2.5 h windows.
    assert_eq!(
        w.next_opening(utc("2026-03-27T23:00:00Z")),
        utc("2026-03-28T01:30:00Z"),
        "02:30 CET"
    );
    assert_eq!(
        w.next_opening(utc("2026-03-29T04:00:00Z")),
        utc("2026-03-30T00:30:00Z"),
        "02:30 CEST"
    );
}

#[test]
fn paris_window_in_the_repeated_autumn_hour_opens_at_the_first_occurrence() {
    // 2026-10-25 03:00 CEST -> 02:00 CET: 02:30 happens twice.
    let w = CallWindow::parse("02:30-04:00", "Europe/Paris").unwrap();
    assert_eq!(
        w.next_opening(utc("2026-10-24T22:00:00Z")),
        utc("2026-10-25T00:30:00Z"),
        "first 02:30, CEST"
    );
    assert!(w.contains(utc("2026-10-25T02:59:00Z")), "03:59 CET");
    assert!(!w.contains(utc("2026-10-25T03:00:00Z")), "04:00 CET");
    // Ordinary daytime window on that 25-hour day, retries 3 h apart in real time.
    let c = campaign("09:15-20:45", "Europe/Paris", 4, Fallback::Flag);
    let (calls, _) = simulate(
        &c,
        &facts("1", CustomerKind::New),
        utc("2026-10-24T20:00:00Z"),
        Outcome::Busy,
        TimeDelta::zero(),
    );
    assert_eq!(calls[0], utc("2026-10-25T08:15:00Z"), "09:15 CET");
    assert_eq!(calls[3], utc("2026-10-25T17:15:00Z"), "18:15 CET");
    assert_eq!(calls[4], utc("2026-10-26T08:15:00Z"), "next day 09:15 CET");
}

#[test]
fn order_time_zone_overrides_the_campaign_zone() {
    let c = campaign("09:15-20:45", "Asia/Karachi", 4, Fallback::Flag);
    let paris: Tz = "Europe/Paris".parse().unwrap();
    let mut order = facts("1", CustomerKind::Returning);
    order.timezone = Some(paris);
    // 06:00Z is 11:00 in Karachi (open) but 07:00 in Paris (closed).
    assert_eq!(
        c.plan_order(&order, utc("2026-06-01T06:00:00Z")),
        Decision::CallAt(utc("2026-06-01T07:15:00Z"))
    );
    let state = AttemptState {
        attempt_no: 1,
        started_at: utc("2026-06-01T17:00:00Z"),
        timezone: Some(paris),
    };
    // 20:00Z is 22:00 in Paris: next day 09:15 CEST.
    assert_eq!(
        c.after_attempt(&state, Outcome::NoAnswer, utc("2026-06-01T17:00:00Z")),
        Next::RetryAt(utc("2026-06-02T07:15:00Z"))
    );
}

fn rules(toml_text: &str) -> OrderRules {
    let cfg = Config::from_toml(toml_text).expect("valid config");
    cfg.campaign.rules().expect("valid rules")
}

#[test]
fn rules_choose_by_kind_and_cart_value_with_flag_thresholds_first() {
    let r = rules(
        r#"
[campaign.flag_above]
new = "500"
platform_returning = "2000.50"
[[campaign.rules]]
kinds = ["new"]
min_amount = "20"
max_amount = "300"
[[campaign.rules]]
kinds = ["platform_returning"]
action = "call"
[[campaign.rules]]
kinds = ["returning"]
min_amount = "1000"
action = "flag"
"#,
    );
    use CustomerKind::*;
    let cases = [
        ("19.99", New, RuleAction::Confirm), // below the range: unmatched -> confirm (default)
        ("20", New, RuleAction::Call),       // min inclusive
        ("299.9999", New, RuleAction::Call),
        ("300", New, RuleAction::Confirm),   // max exclusive
        ("500", New, RuleAction::Confirm),   // at the threshold: not above
        ("500.0001", New, RuleAction::Flag), // above the threshold
        ("2000.50", PlatformReturning, RuleAction::Call),
        ("2000.51", PlatformReturning, RuleAction::Flag),
        ("999", Returning, RuleAction::Confirm),
        ("1000", Returning, RuleAction::Flag),
    ];
    for (amount, kind, want) in cases {
        assert_eq!(
            r.action_for(&facts(amount, kind)),
            want,
            "{amount} {kind:?}"
        );
    }
}

#[test]
fn unmatched_orders_follow_config_and_absent_rules_call_everyone() {
    let now = utc("2026-06-01T10:00:00Z");
    let w = CallWindow::parse("09:15-20:45", "UTC").unwrap();
    // No [campaign] at all: every order is called (the handbook config keeps working).
    let all = rules("");
    assert_eq!(
        all.plan(&w, &facts("99999", CustomerKind::New), now),
        Decision::CallAt(now)
    );
    // rules = [] with the default: nobody is called, orders are confirmed.
    let none = rules("[campaign]\nrules = []\n");
    assert_eq!(
        none.plan(&w, &facts("5", CustomerKind::New), now),
        Decision::ConfirmWithoutCall
    );
    let flag = rules("[campaign]\nunmatched = \"flag\"\n[[campaign.rules]]\nkinds = [\"new\"]\n");
    assert_eq!(
        flag.plan(&w, &facts("5", CustomerKind::Returning), now),
        Decision::Flag
    );
    let call = rules("[campaign]\nunmatched = \"call\"\nrules = []\n");
    assert_eq!(
        call.plan(&w, &facts("5", CustomerKind::Returning), now),
        Decision::CallAt(now)
    );
}

#[test]
fn any_order_time_across_dst_weeks_gives_five_in_window_calls_at_least_three_hours_apart() {
    // Every 15 minutes over the weeks around both 2026 transitions, in two zones.
    for (zone, start) in [
        ("America/New_York", "2026-03-05T00:00:00Z"),
        ("America/New_York", "2026-10-29T00:00:00Z"),
        ("Europe/Paris", "2026-03-26T00:00:00Z"),
        ("Europe/Paris", "2026-10-22T00:00:00Z"),
    ] {
        let c = campaign("09:15-20:45", zone, 4, Fallback::Flag);
        let mut received = utc(start);
        for _ in 0..(7 * 24 * 4) {
            let (calls, last) = simulate(
                &c,
                &facts("1", CustomerKind::New),
                received,
                Outcome::NoAnswer,
                TimeDelta::seconds(20),
            );
            assert_eq!(calls.len(), 5, "{zone} {received}");
            assert_eq!(last, Next::Fallback(OrderStatus::Flagged));
            assert!(calls[0] >= received);
            for t in &calls {
                assert!(c.window().contains(*t), "{zone}: {t} outside the window");
            }
            for pair in calls.windows(2) {
                assert!(pair[1] - pair[0] >= TimeDelta::hours(3), "{zone}: {pair:?}");
                // Longest legal gap: a retry due just after closing waits out
                // the 12.5 h night, plus the hour a fall-back night adds.
                assert!(
                    pair[1] - pair[0] <= TimeDelta::minutes(16 * 60 + 30),
                    "{zone}: a retry skipped an opening: {pair:?}"
                );
            }
            received += TimeDelta::minutes(15);
        }
    }
}

/// The manifests keep tokio and sqlx out of the crates; `std` cannot keep
/// the clock or the file system out, so this scan does: the root crate's
/// dialer rules and the trial workflow's crate (issue #15).
#[test]
fn dialer_is_sans_io() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    let sources = ["src/dialer", "crates/orderline-trial/src"]
        .map(|d| std::fs::read_dir(root.join(d)).unwrap_or_else(|e| panic!("{d}: {e}")));
    for entry in sources.into_iter().flatten() {
        let path = entry.expect("dir entry").path();
        let text = std::fs::read_to_string(&path).expect("readable source");
        for banned in [
            "tokio",
            "sqlx",
            "Utc::now",
            "Local::now",
            "Instant::now",
            "SystemTime",
            "std::net",
            "std::fs",
            "reqwest",
        ] {
            assert!(
                !text.contains(banned),
                "{} mentions {banned}",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 5,
        "expected the dialer and trial sources, found {checked}"
    );
}
