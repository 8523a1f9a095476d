//! The picking order, put-off, callbacks, windows and access.

use super::{card, card_in, drain, enter, finish, mins, noon, pick_id, rules, team, utc};
use crate::modes::{DialQueue, DialResult, QueueFilter, Reason, Subqueue};

#[test]
fn callbacks_for_the_agent_then_anyone_then_priority_then_project_then_age() {
    let mut q = team();
    let t0 = noon() - mins(120);
    // Two orders become callbacks: one booked for a1, one for anyone.
    enter(&mut q, card("cb_a1", "a", 500), "processing", t0);
    enter(&mut q, card("cb_any", "b", 400), "processing", t0);
    assert_eq!(pick_id(&mut q, "a1", t0), "cb_a1");
    finish(
        &mut q,
        "cb_a1",
        DialResult::Callback {
            at: noon() - mins(5),
            same_agent: true,
        },
        t0,
    );
    assert_eq!(pick_id(&mut q, "a1", t0), "cb_any");
    finish(
        &mut q,
        "cb_any",
        DialResult::Callback {
            at: noon() - mins(10),
            same_agent: false,
        },
        t0,
    );
    // A no_answer order, its put-off elapsed by noon.
    enter(&mut q, card("na_a", "a", 300), "processing", t0);
    assert_eq!(pick_id(&mut q, "a1", t0), "na_a");
    finish(&mut q, "na_a", DialResult::Busy, t0);
    // Unprocessed: project b's is older, but new_a has high_priority_new.
    enter(&mut q, card("old_b", "b", 200), "processing", t0);
    enter(&mut q, card("young_a", "a", 10), "processing", t0);
    enter(&mut q, card("older_a", "a", 20), "processing", t0);
    enter(&mut q, card("re", "a", 900), "reconfirm", t0);

    let order = drain(&mut q, "a1", noon());
    assert_eq!(
        order,
        ["cb_a1", "cb_any", "older_a", "young_a", "na_a", "old_b", "re"],
        "agent callback, anyone callback (even though booked earlier than due), \
         then new_a (boosted) unprocessed oldest first, then its due no_answer, \
         then new_b, then the lower-priority reconfirm"
    );
}

#[test]
fn the_boost_puts_this_projects_new_leads_first_whatever_the_numbers() {
    // new_a (boosted) at priority 2, new_b at 10, reconfirm (a) at 5.
    let text = super::TEAM.replacen(
        "priority = 10\nhigh_priority_new",
        "priority = 2\nhigh_priority_new",
        1,
    );
    let r = rules(&text);
    let (a, b, re) = (
        r.mode_index("new_a").expect("new_a"),
        r.mode_index("new_b").expect("new_b"),
        r.mode_index("reconfirm").expect("reconfirm"),
    );
    assert_eq!(r.mode(a).priority, 2, "the test config changed");
    assert_eq!(
        (r.dial_priority(a), r.dial_priority(b), r.dial_priority(re)),
        (10, 10, 5)
    );
    let mut q = DialQueue::new(r);
    enter(&mut q, card("b_old", "b", 60), "processing", noon());
    enter(&mut q, card("a_new", "a", 1), "processing", noon());
    enter(&mut q, card("re", "a", 90), "reconfirm", noon());
    assert_eq!(
        drain(&mut q, "a1", noon()),
        ["a_new", "b_old", "re"],
        "project a's new leads before project b's, though its number is lower; \
         the other kinds still go by priority"
    );
    // Without the boost the numbers decide: b (10), reconfirm (5), a (2).
    let plain = text.replace("high_priority_new = true\n", "");
    let mut q = DialQueue::new(rules(&plain));
    enter(&mut q, card("b_old", "b", 60), "processing", noon());
    enter(&mut q, card("a_new", "a", 1), "processing", noon());
    enter(&mut q, card("re", "a", 90), "reconfirm", noon());
    assert_eq!(drain(&mut q, "a1", noon()), ["b_old", "re", "a_new"]);
}

#[test]
fn equal_priority_without_boost_goes_by_config_order() {
    let text = super::TEAM.replace("high_priority_new = true\n", "");
    let mut q = DialQueue::new(rules(&text));
    enter(&mut q, card("a_old", "a", 60), "processing", noon());
    enter(&mut q, card("b_new", "b", 1), "processing", noon());
    assert_eq!(
        drain(&mut q, "a1", noon()),
        ["b_new", "a_old"],
        "new_b is listed first"
    );
}

#[test]
fn put_off_holds_a_no_answer_until_it_elapses() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    let p = q.pick("a1", noon()).expect("due");
    assert_eq!(
        (p.subqueue, p.attempt, p.reason),
        (Subqueue::Unprocessed, 1, Reason::Unprocessed)
    );
    let moved = finish(&mut q, "o", DialResult::NoAnswer, noon());
    let placed = moved.dialer.expect("still in dial-up");
    assert_eq!(
        (placed.subqueue, placed.due_at),
        (Subqueue::NoAnswer, noon() + mins(30))
    );
    assert_eq!(q.pick("a1", noon() + mins(29)), None);
    let p = q.pick("a1", noon() + mins(30)).expect("put-off elapsed");
    assert_eq!(
        (p.order_id.as_str(), p.subqueue, p.attempt, p.reason),
        ("o", Subqueue::NoAnswer, 2, Reason::NoAnswerDue)
    );
}

#[test]
fn the_cap_moves_the_order_to_status_after_max() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    let mut t = noon();
    for attempt in 1..=3 {
        let p = q.pick("a1", t).expect("due");
        assert_eq!(p.attempt, attempt);
        let outcome = [
            DialResult::NoAnswer,
            DialResult::Failed,
            DialResult::Dropped,
        ][attempt as usize - 1]
            .clone();
        let moved = finish(&mut q, "o", outcome, t);
        if attempt < 3 {
            assert_eq!(moved.status, None);
        } else {
            assert_eq!(moved.status.as_deref(), Some("no_contact"));
            assert_eq!(moved.dialer, None, "no_contact carries no tick");
        }
        t += mins(30);
    }
    assert_eq!(q.pick("a1", t + mins(600)), None, "never a 4th attempt");
    assert!(q.placement("o").is_none());
}

#[test]
fn a_ticked_status_after_max_hands_the_order_on() {
    let text = super::TEAM.replace(
        "[[dialer.statuses]]\nname = \"no_contact\"\n",
        "[[dialer.statuses]]\nname = \"no_contact\"\nmode = \"reconfirm\"\n",
    );
    let mut q = DialQueue::new(rules(&text));
    enter(&mut q, card("o", "a", 5), "processing", noon());
    let mut last = None;
    for i in 0..3 {
        let t = noon() + mins(30 * i);
        pick_id(&mut q, "a2", t);
        last = Some(finish(&mut q, "o", DialResult::NoAnswer, t));
    }
    let moved = last.expect("three reports");
    assert_eq!(moved.status.as_deref(), Some("no_contact"));
    let p = moved.dialer.expect("ticked into reconfirm");
    assert_eq!(
        (p.mode.as_str(), p.subqueue),
        ("reconfirm", Subqueue::Unprocessed)
    );
    assert_eq!(q.attempts("o"), Some(0), "a new mode starts a new count");
    assert_eq!(
        q.pick("a2", noon() + mins(100)),
        None,
        "a2 may not work reconfirm"
    );
    assert_eq!(pick_id(&mut q, "a1", noon() + mins(100)), "o");
}

#[test]
fn a_callback_for_the_same_agent_waits_for_that_agent() {
    let mut q = team();
    enter(&mut q, card("mine", "a", 5), "processing", noon());
    enter(&mut q, card("ours", "a", 4), "processing", noon());
    assert_eq!(pick_id(&mut q, "a1", noon()), "mine");
    finish(
        &mut q,
        "mine",
        DialResult::Callback {
            at: noon() + mins(60),
            same_agent: true,
        },
        noon(),
    );
    assert_eq!(pick_id(&mut q, "a1", noon()), "ours");
    finish(
        &mut q,
        "ours",
        DialResult::Callback {
            at: noon() + mins(60),
            same_agent: false,
        },
        noon(),
    );
    assert_eq!(
        q.pick("a1", noon() + mins(59)),
        None,
        "not before the time asked"
    );
    let later = noon() + mins(61);
    let p = q
        .pick("a2", later)
        .expect("a2 takes the callback for anyone");
    assert_eq!(
        (p.order_id.as_str(), p.reason),
        ("ours", Reason::CallbackForAnyone)
    );
    assert_eq!(q.pick("a2", later), None, "a1's callback is not a2's");
    let p = q.pick("a1", later).expect("a1's own callback");
    assert_eq!(
        (p.order_id.as_str(), p.reason, p.subqueue),
        ("mine", Reason::CallbackForAgent, Subqueue::Callback)
    );
}

#[test]
fn windows_follow_each_customers_zone() {
    let mut q = team();
    // Window 09:00-21:00 local. In December Karachi is UTC+5, New York UTC-5.
    let khi = card_in("khi", "a", "Asia/Karachi", 60);
    let nyc = card_in("nyc", "a", "America/New_York", 30);
    enter(&mut q, khi, "processing", noon());
    enter(&mut q, nyc, "processing", noon());
    // 17:00Z: Karachi 22:00 (closed), New York 12:00 (open): the younger order goes.
    let t = utc("2026-12-07T17:00:00Z");
    let view = q.queue(&QueueFilter::default(), t);
    assert_eq!(view[0].order_id, "nyc");
    assert_eq!(
        (view[1].order_id.as_str(), view[1].reason),
        ("khi", Reason::OutsideWindow)
    );
    assert_eq!(
        view[1].due_at,
        utc("2026-12-08T04:00:00Z"),
        "09:00 in Karachi"
    );
    assert_eq!(q.pick("a1", t).map(|p| p.order_id).as_deref(), Some("nyc"));
    assert_eq!(q.pick("a1", t), None, "Karachi is asleep");
    // 03:00Z: Karachi 08:00, New York 22:00: nobody may be called.
    let mut q2 = team();
    enter(
        &mut q2,
        card_in("khi", "a", "Asia/Karachi", 60),
        "processing",
        noon(),
    );
    enter(
        &mut q2,
        card_in("nyc", "a", "America/New_York", 30),
        "processing",
        noon(),
    );
    assert_eq!(q2.pick("a1", utc("2026-12-08T03:00:00Z")), None);
    // 05:00Z: Karachi 10:00 open, New York 00:00 closed.
    assert_eq!(
        q2.pick("a1", utc("2026-12-08T05:00:00Z"))
            .map(|p| p.order_id)
            .as_deref(),
        Some("khi")
    );
    assert_eq!(q2.pick("a1", utc("2026-12-08T05:00:00Z")), None);
}

#[test]
fn an_order_in_flight_is_never_handed_out_twice() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    assert_eq!(pick_id(&mut q, "a1", noon()), "o");
    assert_eq!(q.pick("a2", noon()), None);
    assert_eq!(q.pick("a1", noon() + mins(600)), None);
    assert_eq!(q.in_flight(), [("o".to_string(), "a1".to_string())]);
    assert!(
        q.queue(&QueueFilter::default(), noon()).is_empty(),
        "the view lists what waits, not what rings"
    );
    assert_eq!(q.overview().modes[1].counts.in_flight, 1);
    // Released (restart, preview skipped): back in line, no attempt burnt.
    let moved = q.release_in_flight("o", noon()).expect("in flight");
    assert_eq!(
        moved.dialer.map(|p| p.subqueue),
        Some(Subqueue::Unprocessed)
    );
    let p = q.pick("a2", noon()).expect("free again");
    assert_eq!((p.order_id.as_str(), p.attempt), ("o", 1));
}

#[test]
fn agents_get_only_modes_they_may_work() {
    let mut q = team();
    enter(&mut q, card("re", "a", 5), "reconfirm", noon());
    assert_eq!(q.pick("a2", noon()), None, "a2 has no reconfirm access");
    assert_eq!(q.pick("stranger", noon()), None);
    q.set_agents("reconfirm", ["a2".to_string()])
        .expect("known mode");
    assert_eq!(q.pick("a1", noon()), None, "a1 lost access");
    assert_eq!(pick_id(&mut q, "a2", noon()), "re");
    assert!(q.set_agents("nope", []).is_err());
    assert!(q.set_agents("reconfirm", ["bad name".to_string()]).is_err());
}

#[test]
fn the_view_lists_due_orders_in_the_order_picks_take_them() {
    let mut q = team();
    let t0 = noon() - mins(150);
    for i in 0..12 {
        let project = if i % 3 == 0 { "b" } else { "a" };
        let status = if i % 4 == 0 {
            "reconfirm"
        } else {
            "processing"
        };
        enter(
            &mut q,
            card(&format!("o{i}"), project, 300 - i * 7),
            status,
            t0,
        );
    }
    // Some become no_answer, some callbacks for anyone.
    for i in 0..4 {
        let id = pick_id(&mut q, "a1", t0);
        let outcome = if i % 2 == 0 {
            DialResult::NoAnswer
        } else {
            DialResult::Callback {
                at: t0 + mins(i * 10),
                same_agent: false,
            }
        };
        finish(&mut q, &id, outcome, t0);
    }
    let view: Vec<String> = q
        .queue(&QueueFilter::default(), noon())
        .into_iter()
        .map(|i| i.order_id)
        .collect();
    let picks = drain(&mut q, "a1", noon());
    assert_eq!(view, picks);
    assert_eq!(
        picks.len(),
        11,
        "o0 is project b with status reconfirm: not ticked for b"
    );
}

#[test]
fn the_view_filters_and_explains() {
    let mut q = team();
    enter(&mut q, card("a1o", "a", 5), "processing", noon());
    enter(&mut q, card("b1o", "b", 5), "processing", noon());
    pick_id(&mut q, "a1", noon());
    finish(&mut q, "a1o", DialResult::NoAnswer, noon());
    let f = QueueFilter {
        project: Some("a".into()),
        ..Default::default()
    };
    let v = q.queue(&f, noon());
    assert_eq!(v.len(), 1);
    assert_eq!(
        (v[0].reason, v[0].attempts, v[0].due_at, v[0].priority),
        (Reason::PutOff, 1, noon() + mins(30), 10)
    );
    let f = QueueFilter {
        subqueue: Some(Subqueue::Unprocessed),
        ..Default::default()
    };
    assert_eq!(
        q.queue(&f, noon())
            .iter()
            .map(|i| i.order_id.as_str())
            .collect::<Vec<_>>(),
        ["b1o"]
    );
    let f = QueueFilter {
        mode: Some("reconfirm".into()),
        ..Default::default()
    };
    assert!(q.queue(&f, noon()).is_empty());
}

/// `reconfirm` as a predictive mode: its orders go to lines, never to an
/// agent's own pick; a line's order is handed to the agent who takes the
/// customer, and only that agent's result settles it.
#[test]
fn predictive_orders_are_picked_per_line_and_handed_to_the_agent() {
    let text = super::TEAM.replacen(
        "priority = 5\nagents = [\"a1\"]",
        "priority = 5\npacing = \"predictive\"\nagents = [\"a1\"]\n[dialer.modes.safe_harbor]\nseller_name = \"Acme\"\ncallback_number = \"+92 21 111 222 333\"",
        1,
    );
    let mut q = DialQueue::new(super::rules(&text));
    let t = noon();
    enter(&mut q, card("re1", "a", 30), "reconfirm", t);
    enter(&mut q, card("re2", "a", 20), "reconfirm", t);
    assert_eq!(
        q.pick("a1", t),
        None,
        "an agent never picks a predictive order"
    );
    let line = q
        .pick_line("reconfirm", "~line", t)
        .expect("known mode")
        .expect("an order is due");
    assert_eq!((line.order_id.as_str(), line.attempt), ("re1", 1));
    assert_eq!(q.in_flight_agent("re1"), Some("~line"));
    assert!(q.pick_line("nope", "~line", t).is_err(), "unknown mode");
    // Not twice at once: the next line gets the next order.
    let next = q.pick_line("reconfirm", "~line", t).unwrap().unwrap();
    assert_eq!(next.order_id, "re2");
    assert_eq!(q.pick_line("reconfirm", "~line", t).unwrap(), None);

    // re1's customer is taken by a1; a2 cannot take it from the line twice.
    q.hand_over("re1", "~line", "a1")
        .expect("in flight for the line");
    assert!(q.hand_over("re1", "~line", "a2").is_err());
    assert_eq!(q.in_flight_agent("re1"), Some("a1"));
    // re2 was abandoned (safe-harbor message): an attempt, put off.
    finish(&mut q, "re2", DialResult::Dropped, t);
    let rows = q.rows();
    let re2 = rows
        .iter()
        .find(|r| r.order_id == "re2")
        .expect("still queued");
    assert_eq!((re2.subqueue, re2.attempts), (Subqueue::NoAnswer, 1));
    finish(
        &mut q,
        "re1",
        DialResult::Disposition("confirmed".into()),
        t,
    );
}
