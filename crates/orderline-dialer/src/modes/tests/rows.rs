//! Persisting as rows and rebuilding after a restart.

use super::{card, card_in, enter, finish, mins, noon, pick_id, rules, team, TEAM};
use crate::modes::{DialQueue, DialResult, QueueError, QueueFilter, QueueRow, Subqueue};

/// A queue with every kind of row: sub-queues, zones, agent callbacks, in flight.
fn busy_queue() -> DialQueue {
    let mut q = team();
    let zones = ["Asia/Karachi", "America/New_York", "Europe/Paris"];
    for i in 0..40i64 {
        let project = if i % 2 == 0 { "a" } else { "b" };
        let status = if i % 5 == 0 && project == "a" {
            "reconfirm"
        } else {
            "processing"
        };
        let c = if i % 3 == 0 {
            card(&format!("o{i}"), project, 500 - i)
        } else {
            card_in(&format!("o{i}"), project, zones[i as usize % 3], 500 - i)
        };
        enter(&mut q, c, status, noon() - mins(300));
    }
    let t = noon() - mins(150);
    for i in 0..12 {
        let agent = if i % 2 == 0 { "a1" } else { "a2" };
        let Some(p) = q.pick(agent, t) else { continue };
        let outcome = match i % 4 {
            0 => DialResult::NoAnswer,
            1 => DialResult::Callback {
                at: t + mins(60),
                same_agent: true,
            },
            2 => DialResult::Callback {
                at: t + mins(90),
                same_agent: false,
            },
            _ => DialResult::Busy,
        };
        finish(&mut q, &p.order_id, outcome, t);
    }
    pick_id(&mut q, "a1", t);
    pick_id(&mut q, "a2", t);
    q
}

#[test]
fn rebuilding_from_rows_gives_the_same_queue() {
    let mut q = busy_queue();
    let rows = q.rows();
    assert_eq!(rows.len(), q.len());
    assert!(rows
        .iter()
        .any(|r| r.subqueue == Subqueue::Callback && r.callback_agent.is_some()));
    assert!(rows.iter().any(|r| r.subqueue == Subqueue::NoAnswer));
    assert_eq!(
        rows.iter().filter(|r| r.in_flight_agent.is_some()).count(),
        2
    );
    let rebuilt = DialQueue::from_rows(rules(TEAM), rows.clone(), noon()).expect("rows are valid");
    assert!(rebuilt.moved.is_empty());
    let mut r = rebuilt.queue;
    assert_eq!(r.rows(), rows);
    assert_eq!(r.in_flight(), q.in_flight());
    assert_eq!(r.overview(), q.overview());
    assert_eq!(
        r.queue(&QueueFilter::default(), noon()),
        q.queue(&QueueFilter::default(), noon())
    );
    // And they go on to decide alike: same picks, agent by agent, hour by hour.
    for h in 0..30 {
        let t = noon() + mins(60 * h);
        for agent in ["a1", "a2"] {
            let (a, b) = (q.pick(agent, t), r.pick(agent, t));
            assert_eq!(a, b, "{agent} at {t}");
            if let Some(p) = a {
                assert_eq!(
                    finish(&mut q, &p.order_id, DialResult::NoAnswer, t),
                    finish(&mut r, &p.order_id, DialResult::NoAnswer, t)
                );
            }
        }
    }
    assert_eq!(r.rows(), q.rows());
}

#[test]
fn after_a_crash_in_flight_calls_return_without_an_attempt() {
    let q = busy_queue();
    let mut r = DialQueue::from_rows(rules(TEAM), q.rows(), noon())
        .expect("valid")
        .queue;
    let flying = r.in_flight();
    for (order, _agent) in &flying {
        let before = r.attempts(order);
        let moved = r.release_in_flight(order, noon()).expect("in flight");
        assert!(moved.dialer.is_some());
        assert_eq!(
            r.attempts(order),
            before,
            "an interrupted call burns no attempt"
        );
        assert_eq!(r.row(order).and_then(|row| row.in_flight_agent), None);
    }
    assert!(r.in_flight().is_empty());
    assert_eq!(
        r.release_in_flight("o1", noon()).unwrap_err(),
        QueueError::NotInFlight("o1".into())
    );
}

#[test]
fn rows_under_changed_config_are_moved_not_lost() {
    let q = busy_queue();
    let mut rows = q.rows();
    // A row of a mode since removed, and one at a cap since lowered.
    rows.push(QueueRow {
        mode: "gone".into(),
        order_id: "zz".into(),
        ..rows[0].clone()
    });
    let lowered = TEAM.replacen("max_attempts = 3", "max_attempts = 1", 2);
    let Some(capped) = rows
        .iter()
        .find(|r| r.attempts == 1 && r.in_flight_agent.is_none() && r.mode.starts_with("new_"))
        .cloned()
    else {
        panic!("busy_queue has a no_answer row in a new_* mode")
    };
    let rebuilt = DialQueue::from_rows(rules(&lowered), rows, noon()).expect("valid rows");
    let gone = rebuilt
        .moved
        .iter()
        .find(|m| m.order == "zz")
        .expect("moved out");
    assert_eq!((gone.status.as_deref(), &gone.dialer), (None, &None));
    let cap = rebuilt
        .moved
        .iter()
        .find(|m| m.order == capped.order_id)
        .expect("cap applied");
    assert_eq!(cap.status.as_deref(), Some("no_contact"));
    assert!(rebuilt.queue.placement(&capped.order_id).is_none());
}

#[test]
fn an_interrupted_call_at_a_lowered_cap_is_released_to_status_after_max() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    pick_id(&mut q, "a1", noon());
    finish(&mut q, "o", DialResult::NoAnswer, noon());
    pick_id(&mut q, "a1", noon() + mins(30));
    let lowered = TEAM.replacen("max_attempts = 3", "max_attempts = 1", 2);
    let rebuilt = DialQueue::from_rows(rules(&lowered), q.rows(), noon()).expect("valid rows");
    assert!(rebuilt.moved.is_empty(), "a call in flight is closed first");
    let mut r = rebuilt.queue;
    let moved = r
        .release_in_flight("o", noon() + mins(31))
        .expect("in flight");
    assert_eq!(
        (moved.status.as_deref(), moved.dialer),
        (Some("no_contact"), None)
    );
}

#[test]
fn bad_rows_are_refused_by_index_and_field() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    let row = q.rows().remove(0);
    let dup =
        DialQueue::from_rows(rules(TEAM), vec![row.clone(), row.clone()], noon()).unwrap_err();
    assert!(
        matches!(
            dup,
            QueueError::BadRow {
                index: 1,
                field: "order_id",
                ..
            }
        ),
        "{dup}"
    );
    let tz = QueueRow {
        timezone: Some("Mars/Olympus".into()),
        ..row.clone()
    };
    let e = DialQueue::from_rows(rules(TEAM), vec![tz], noon()).unwrap_err();
    assert!(
        matches!(
            e,
            QueueError::BadRow {
                index: 0,
                field: "timezone",
                ..
            }
        ),
        "{e}"
    );
    let cb = QueueRow {
        callback_agent: Some("a1".into()),
        ..row
    };
    assert!(DialQueue::from_rows(rules(TEAM), vec![cb], noon()).is_err());
}
