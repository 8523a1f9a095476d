//! The trial workflow on simulated time (issue #15): the 15- and 30-day
//! schedules, the extension once, DST, a failing charge and its retry, and
//! a daemon that was down at the due time (every missed step runs once).

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use orderline_trial::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

fn plan(days: u32, at: &str, zone: Tz) -> Plan {
    Plan {
        days,
        placed_at: utc(at),
        zone,
    }
}

fn steps(rows: &[Row]) -> Vec<&'static str> {
    rows.iter().map(|r| r.step.as_str()).collect()
}

fn find(rows: &[Row], step: Step) -> &Row {
    rows.iter().find(|r| r.step == step).expect("row")
}

/// Write changed rows back by seq (what the store does).
fn apply(rows: &mut Vec<Row>, changed: Vec<Row>) {
    for c in changed {
        match rows.iter_mut().find(|r| r.seq == c.seq) {
            Some(r) => *r = c,
            None => rows.push(c),
        }
    }
}

/// Run everything due at `now` the way the daemon does (passes until none
/// is due: a payment confirmation follows its charge's write); returns the
/// events sent and the charges made (`charge seq/try`).
fn run(rows: &mut Vec<Row>, now: DateTime<Utc>, outcome: &ChargeOutcome) -> Vec<String> {
    let mut sent = Vec::new();
    for _ in 0..4 {
        let work = due(rows, now);
        if work.is_empty() {
            break;
        }
        run_once(rows, work, now, outcome, &mut sent);
    }
    sent
}

fn run_once(
    rows: &mut Vec<Row>,
    work: Vec<Work>,
    now: DateTime<Utc>,
    outcome: &ChargeOutcome,
    sent: &mut Vec<String>,
) {
    for work in work {
        let changed = match work {
            Work::Charge { seq, attempt, .. } => {
                sent.push(format!("charge {seq}/{attempt}"));
                let r = rows.iter().find(|r| r.seq == seq).expect("row");
                let (row, event) = charged(r, attempt, outcome, now);
                if let Some(e) = event {
                    sent.push(e.to_string());
                }
                row
            }
            Work::Notify { seq, event } => {
                sent.push(event.to_string());
                notified(rows.iter().find(|r| r.seq == seq).expect("row"), "ev", now)
            }
            Work::Close(row) => row,
        };
        apply(rows, vec![changed]);
    }
}

fn approved() -> ChargeOutcome {
    ChargeOutcome::Approved {
        transaction_id: Some("txn_1".into()),
    }
}

#[test]
fn a_15_day_trial_has_the_guides_rows_on_their_days() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let rows = schedule(&p).expect("rows");
    assert_eq!(
        steps(&rows),
        [
            "placed",
            "confirmation",
            "reminder",
            "extension_offer",
            "charge",
            "payment_confirmation"
        ]
    );
    let types: Vec<_> = rows.iter().map(|r| r.step.row_type().as_str()).collect();
    assert_eq!(
        types,
        [
            "charge",
            "notification",
            "notification",
            "notification",
            "charge",
            "notification"
        ]
    );
    assert!(rows.iter().all(|r| r.status == Status::Waiting));
    assert_eq!(rows[0].scheduled_at, p.placed_at);
    assert_eq!(rows[1].scheduled_at, p.placed_at);
    assert_eq!(
        rows[2].scheduled_at,
        utc("2026-06-09T10:00:00Z"),
        "day 8: 7 days left"
    );
    assert!(rows[2].description.contains("7 days left"));
    assert_eq!(rows[3].scheduled_at, utc("2026-06-13T10:00:00Z"), "day 12");
    assert_eq!(rows[4].scheduled_at, utc("2026-06-16T10:00:00Z"), "day 15");
    assert_eq!(rows[5].scheduled_at, rows[4].scheduled_at);
    let seqs: Vec<u32> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5, 6]);
}

#[test]
fn a_30_day_trial_and_short_trials() {
    let p = plan(30, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let rows = schedule(&p).expect("rows");
    assert_eq!(
        find(&rows, Step::Reminder).scheduled_at,
        utc("2026-06-24T10:00:00Z")
    );
    assert_eq!(
        find(&rows, Step::Charge).scheduled_at,
        utc("2026-07-01T10:00:00Z")
    );
    // 7 days or fewer: no "7 days left" reminder; the offer at the placing.
    let short = schedule(&plan(3, "2026-06-01T10:00:00Z", chrono_tz::UTC)).expect("rows");
    assert!(short.iter().all(|r| r.step != Step::Reminder));
    assert_eq!(
        find(&short, Step::ExtensionOffer).scheduled_at,
        utc("2026-06-01T10:00:00Z")
    );
    assert_eq!(
        find(&short, Step::Charge).scheduled_at,
        utc("2026-06-04T10:00:00Z")
    );
    for bad in [0, 91] {
        assert_eq!(
            schedule(&plan(bad, "2026-06-01T10:00:00Z", chrono_tz::UTC)),
            Err(TrialError::Days(bad))
        );
    }
    assert!(schedule(&plan(90, "2026-06-01T10:00:00Z", chrono_tz::UTC)).is_ok());
}

#[test]
fn an_extension_moves_the_charge_to_day_30_once() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let mut rows = schedule(&p).expect("rows");
    // Placed, confirmed, reminded, offered; the customer extends on day 13.
    run(&mut rows, utc("2026-06-13T10:00:00Z"), &approved());
    let now = utc("2026-06-14T09:00:00Z");
    let changed = extend(&p, &rows, now).expect("extend");
    apply(&mut rows, changed);
    assert_eq!(
        find(&rows, Step::Charge).scheduled_at,
        utc("2026-07-01T10:00:00Z"),
        "day 30"
    );
    assert!(find(&rows, Step::Charge).description.contains("day 30"));
    assert_eq!(
        find(&rows, Step::PaymentConfirmation).scheduled_at,
        utc("2026-07-01T10:00:00Z")
    );
    let ext = rows.last().expect("row");
    assert_eq!(
        (ext.step, ext.seq, ext.status),
        (Step::Extension, 7, Status::Completed)
    );
    assert_eq!(ext.executed_at, Some(now));
    assert_eq!(extend(&p, &rows, now), Err(TrialError::AlreadyExtended));
    // Day 15 passes without a charge; day 30 charges once and confirms.
    assert!(run(&mut rows, utc("2026-06-16T10:00:00Z"), &approved()).is_empty());
    assert_eq!(
        run(&mut rows, utc("2026-07-01T10:00:00Z"), &approved()),
        ["charge 5/1", "trial.charged"]
    );
    assert!(run(&mut rows, utc("2026-08-01T00:00:00Z"), &approved()).is_empty());
}

#[test]
fn an_extension_before_the_offer_skips_it_and_moves_the_reminder() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let mut rows = schedule(&p).expect("rows");
    run(&mut rows, p.placed_at, &approved());
    let changed = extend(&p, &rows, utc("2026-06-02T10:00:00Z")).expect("extend");
    apply(&mut rows, changed);
    assert_eq!(
        find(&rows, Step::Reminder).scheduled_at,
        utc("2026-06-24T10:00:00Z"),
        "day 23"
    );
    let offer = find(&rows, Step::ExtensionOffer);
    assert_eq!(offer.status, Status::Completed);
    assert!(offer
        .result
        .as_deref()
        .is_some_and(|r| r.starts_with("not sent")));
    assert!(resendable(offer).is_err());
}

#[test]
fn no_extension_once_the_charge_was_tried() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let mut rows = schedule(&p).expect("rows");
    let declined = ChargeOutcome::Declined {
        reason: "card_declined".into(),
    };
    run(&mut rows, p.placed_at, &approved());
    run(&mut rows, utc("2026-06-16T10:00:00Z"), &declined);
    assert_eq!(
        extend(&p, &rows, utc("2026-06-16T11:00:00Z")),
        Err(TrialError::ChargeStarted)
    );
}

#[test]
fn dst_keeps_the_customers_local_time() {
    let berlin: Tz = "Europe/Berlin".parse().expect("zone");
    // Placed 10:00 CET (UTC+1); day 15 is in CEST (UTC+2): still 10:00 local.
    let p = plan(15, "2026-03-20T09:00:00Z", berlin);
    let rows = schedule(&p).expect("rows");
    let charge = find(&rows, Step::Charge).scheduled_at;
    assert_eq!(charge, utc("2026-04-04T08:00:00Z"));
    assert_ne!(charge, p.placed_at + TimeDelta::days(15), "not 15 × 24 h");
    assert_eq!(
        charge.with_timezone(&berlin).format("%H:%M").to_string(),
        "10:00"
    );
    // Back across the autumn change: 10:00 CEST placing, 10:00 CET charge.
    let p = plan(15, "2026-10-20T08:00:00Z", berlin);
    assert_eq!(
        find(&schedule(&p).expect("rows"), Step::Charge).scheduled_at,
        utc("2026-11-04T09:00:00Z")
    );
    // 02:30 local does not exist on 29 March 2026 in Berlin: 03:00 CEST.
    let placed = berlin
        .with_ymd_and_hms(2026, 3, 14, 2, 30, 0)
        .single()
        .expect("exists")
        .with_timezone(&Utc);
    assert_eq!(day_at(placed, berlin, 15), utc("2026-03-29T01:00:00Z"));
    // 02:30 happens twice on 25 October 2026: the first (CEST).
    let placed = berlin
        .with_ymd_and_hms(2026, 10, 10, 2, 30, 0)
        .single()
        .expect("exists")
        .with_timezone(&Utc);
    assert_eq!(day_at(placed, berlin, 15), utc("2026-10-25T00:30:00Z"));
}

#[test]
fn a_failing_charge_is_retried_once_after_24_hours_then_fails() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let mut rows = schedule(&p).expect("rows");
    let declined = ChargeOutcome::Declined {
        reason: "card_declined".into(),
    };
    assert_eq!(
        run(&mut rows, p.placed_at, &approved()),
        ["charge 1/1", "trial.confirmation"]
    );
    run(&mut rows, utc("2026-06-13T10:00:00Z"), &approved());
    let day15 = utc("2026-06-16T10:00:00Z");
    assert_eq!(run(&mut rows, day15, &declined), ["charge 5/1"]);
    let c = find(&rows, Step::Charge);
    assert_eq!((c.status, c.attempts), (Status::Waiting, 1));
    assert_eq!(c.scheduled_at, day15 + RETRY_AFTER);
    assert_eq!(
        find(&rows, Step::PaymentConfirmation).status,
        Status::Waiting
    );
    // Nothing in between; the retry 24 h later uses try 2's key.
    assert!(run(&mut rows, day15 + TimeDelta::hours(23), &declined).is_empty());
    assert_eq!(
        run(&mut rows, day15 + RETRY_AFTER, &declined),
        ["charge 5/2", "trial.charge_failed"]
    );
    let c = find(&rows, Step::Charge);
    assert_eq!((c.status, c.attempts), (Status::Failed, 2));
    let pc = find(&rows, Step::PaymentConfirmation);
    assert_eq!(pc.status, Status::Failed, "closed, never sent as charged");
    assert!(run(&mut rows, day15 + TimeDelta::days(30), &declined).is_empty());
    // A retry that succeeds confirms the payment.
    let mut rows = schedule(&p).expect("rows");
    run(&mut rows, utc("2026-06-13T10:00:00Z"), &approved());
    run(
        &mut rows,
        day15,
        &ChargeOutcome::Failed {
            reason: "timeout".into(),
        },
    );
    assert_eq!(
        run(&mut rows, day15 + RETRY_AFTER, &approved()),
        ["charge 5/2", "trial.charged"]
    );
    // No card on file: failed at once, nothing to retry with.
    let mut rows = schedule(&p).expect("rows");
    assert_eq!(
        run(&mut rows, p.placed_at, &ChargeOutcome::NoCard),
        ["charge 1/1", "trial.charge_failed", "trial.confirmation"]
    );
    assert_eq!(rows[0].status, Status::Failed);
}

#[test]
fn a_daemon_down_at_the_due_time_runs_each_missed_step_once() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let mut rows = schedule(&p).expect("rows");
    run(&mut rows, p.placed_at, &approved());
    // Down from day 1 to day 20: reminder, offer, charge and confirmation
    // run once, in order, when it comes back.
    let back = utc("2026-06-21T08:00:00Z");
    assert_eq!(
        run(&mut rows, back, &approved()),
        [
            "trial.reminder",
            "trial.extension_offer",
            "charge 5/1",
            "trial.charged"
        ]
    );
    assert!(rows.iter().all(|r| r.status == Status::Completed));
    // Restarting again (any number of times) finds nothing due.
    assert!(due(&rows, back).is_empty());
    assert!(due(&rows, back + TimeDelta::days(365)).is_empty());
    // A crash between the charge and its write: the rows still say try 1,
    // so the run after the restart charges under the same key (try 1).
    let mut rows = schedule(&p).expect("rows");
    run(&mut rows, p.placed_at, &approved());
    let day15 = utc("2026-06-16T10:00:00Z");
    let before = due(&rows, day15);
    assert!(before.contains(&Work::Charge {
        seq: 5,
        step: Step::Charge,
        attempt: 1
    }));
    assert_eq!(
        due(&rows, day15),
        before,
        "the same work until a row is written"
    );
}

#[test]
fn resend_is_for_sent_notifications() {
    let p = plan(15, "2026-06-01T10:00:00Z", chrono_tz::UTC);
    let mut rows = schedule(&p).expect("rows");
    assert_eq!(
        resendable(&rows[1]),
        Err("the notification has not been sent yet")
    );
    run(&mut rows, p.placed_at, &approved());
    assert_eq!(resendable(&rows[1]), Ok("trial.confirmation"));
    assert_eq!(
        resendable(&rows[0]),
        Err("only notification rows can be resent")
    );
    assert_eq!(Step::parse("extension_offer"), Some(Step::ExtensionOffer));
    assert_eq!(Status::parse("failed"), Some(Status::Failed));
}
