//! Status moves, dispositions, the random share, errors and the overview.

use super::{card, enter, finish, mins, noon, pick_id, team};
use crate::modes::share;
use crate::modes::{DialQueue, DialResult, OrderCard, QueueError, Subqueue};

#[test]
fn ticked_statuses_enter_and_unticked_ones_leave() {
    let mut q = team();
    let moved = enter(&mut q, card("o", "a", 5), "processing", noon());
    assert_eq!(moved.status.as_deref(), Some("processing"));
    let p = moved.dialer.expect("processing is ticked for project a");
    assert_eq!(
        (p.mode.as_str(), p.subqueue, p.due_at),
        ("new_a", Subqueue::Unprocessed, noon())
    );
    // The same status again keeps the order's place and attempts.
    pick_id(&mut q, "a1", noon());
    finish(&mut q, "o", DialResult::NoAnswer, noon());
    let again = enter(&mut q, card("o", "a", 5), "processing", noon() + mins(1));
    assert_eq!(again.dialer.map(|p| p.subqueue), Some(Subqueue::NoAnswer));
    assert_eq!(q.attempts("o"), Some(1));
    // Another ticked status moves it; an unticked one takes it out.
    let re = enter(&mut q, card("o", "a", 5), "reconfirm", noon());
    assert_eq!(re.dialer.map(|p| p.mode), Some("reconfirm".to_string()));
    assert_eq!(q.attempts("o"), Some(0));
    let out = enter(&mut q, card("o", "a", 5), "no_contact", noon());
    assert_eq!(out.dialer, None);
    assert!(q.is_empty());
    // A status ticked for another project only: out of dial-up.
    assert_eq!(
        enter(&mut q, card("b", "b", 5), "reconfirm", noon()).dialer,
        None
    );
    assert_eq!(
        q.set_status(card("x", "a", 1), "teleported", noon()),
        Err(QueueError::UnknownStatus("teleported".into()))
    );
}

#[test]
fn leaving_while_in_flight_forgets_the_call() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    pick_id(&mut q, "a1", noon());
    enter(&mut q, card("o", "a", 5), "cancelled", noon());
    assert_eq!(
        q.finish("o", DialResult::NoAnswer, noon()),
        Err(QueueError::UnknownOrder("o".into()))
    );
    assert!(q.in_flight().is_empty());
}

#[test]
fn dispositions_move_the_order_by_disposition_status() {
    let mut q = team();
    enter(&mut q, card("w", "a", 5), "processing", noon());
    enter(&mut q, card("n", "a", 4), "processing", noon());
    assert_eq!(pick_id(&mut q, "a1", noon()), "w");
    let moved = finish(
        &mut q,
        "w",
        DialResult::Disposition("wrong_number".into()),
        noon(),
    );
    assert_eq!(
        (moved.status.as_deref(), moved.dialer),
        (Some("wrong_number"), None)
    );
    // A disposition the mode lacks is refused and the call stays open.
    assert_eq!(pick_id(&mut q, "a1", noon()), "n");
    let e = q
        .finish("n", DialResult::Disposition("bogus".into()), noon())
        .unwrap_err();
    assert!(matches!(e, QueueError::DispositionNotInMode { .. }), "{e}");
    assert_eq!(q.in_flight().len(), 1);
    assert_eq!(
        q.finish("n", DialResult::Disposition("callback".into()), noon()),
        Err(QueueError::CallbackWithoutTime)
    );
    // `no_answer` pressed by the agent counts as an unanswered attempt.
    let moved = finish(
        &mut q,
        "n",
        DialResult::Disposition("no_answer".into()),
        noon(),
    );
    assert_eq!(
        moved.dialer.map(|p| (p.subqueue, p.due_at)),
        Some((Subqueue::NoAnswer, noon() + mins(30)))
    );
    assert_eq!(q.attempts("n"), Some(1));
    assert_eq!(
        q.finish("n", DialResult::NoAnswer, noon()),
        Err(QueueError::NotInFlight("n".into()))
    );
}

#[test]
fn confirmed_enters_the_random_mode_by_the_stable_share() {
    let mut q = team();
    let mut taken = 0;
    for i in 0..2000 {
        let id = format!("ord-{i}");
        enter(&mut q, card(&id, "a", 5), "processing", noon());
        let p = pick_id(&mut q, "a1", noon());
        let moved = finish(
            &mut q,
            &p,
            DialResult::Disposition("confirmed".into()),
            noon(),
        );
        assert_eq!(moved.status.as_deref(), Some("confirmed"));
        let in_qa = moved.dialer.is_some();
        assert_eq!(in_qa, share::takes(&p, "qa", 0.5), "{p}");
        taken += usize::from(in_qa);
    }
    // 2000 × 0.5 ± 4 standard deviations (sd ≈ 22).
    assert!((912..=1088).contains(&taken), "took {taken} of 2000");
    assert_eq!(q.overview().modes[3].counts.unprocessed, taken);
    // The same order reaching `confirmed` again decides the same.
    for i in 0..200 {
        let id = format!("ord-{i}");
        let was = q.placement(&id).is_some();
        let again = enter(&mut q, card(&id, "a", 5), "confirmed", noon());
        assert_eq!(again.dialer.is_some(), was, "{id}");
    }
    // Random-mode orders go to a2 (access), not a1.
    assert_eq!(q.pick("a1", noon()), None);
    assert!(q.pick("a2", noon()).is_some());
}

#[test]
fn overview_counts_each_sub_queue_and_lists_agents() {
    let mut q = team();
    for i in 0..5 {
        enter(
            &mut q,
            card(&format!("o{i}"), "a", 10 - i),
            "processing",
            noon(),
        );
    }
    enter(&mut q, card("b0", "b", 1), "processing", noon());
    let first = pick_id(&mut q, "a1", noon());
    finish(&mut q, &first, DialResult::NoAnswer, noon());
    let second = pick_id(&mut q, "a1", noon());
    finish(
        &mut q,
        &second,
        DialResult::Callback {
            at: noon() + mins(5),
            same_agent: true,
        },
        noon(),
    );
    pick_id(&mut q, "a2", noon());
    let o = q.overview();
    let ids: Vec<&str> = o.modes.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["new_b", "new_a", "reconfirm", "qa"]);
    let a = &o.modes[1].counts;
    assert_eq!(
        (a.unprocessed, a.no_answer, a.callback, a.in_flight),
        (2, 1, 1, 1)
    );
    assert_eq!(o.modes[0].counts.unprocessed, 1);
    assert_eq!(o.modes[1].agents, ["a1", "a2"]);
    assert_eq!(o.modes[1].project, "a");
}

/// Issue #13: press 3 with nobody ready puts the order in a callback for
/// anyone, due now: in its ticked mode, or the first mode of its project.
#[test]
fn an_operator_request_becomes_a_callback_for_anyone() {
    let mut q = team();
    let moved = q
        .callback_for_anyone(card("o", "a", 5), "processing", noon(), noon())
        .expect("ticked mode");
    let p = moved.dialer.expect("in dial-up");
    assert_eq!(
        (p.mode.as_str(), p.subqueue, p.due_at),
        ("new_a", Subqueue::Callback, noon())
    );
    // Not ticked: the project's first mode.
    let moved = q
        .callback_for_anyone(card("f", "a", 5), "flagged", noon(), noon())
        .expect("project mode");
    assert_eq!(moved.dialer.map(|p| p.subqueue), Some(Subqueue::Callback));
    // Anyone working the mode gets them: callbacks due now, by due time then id.
    assert_eq!(pick_id(&mut q, "a2", noon()), "f");
    assert_eq!(pick_id(&mut q, "a1", noon()), "o");
    assert_eq!(
        q.callback_for_anyone(card("z", "nope", 5), "flagged", noon(), noon()),
        Err(QueueError::NoModeForProject("nope".into()))
    );
}

/// Issue #13, press 3 live: the operator's mode is where the callback
/// would go; the order taken live is in flight for the agent, settled by
/// the agent's disposition, or back as a callback when the call never
/// connected.
#[test]
fn a_customer_taken_live_is_in_flight_for_the_operator() {
    let mut q = team();
    let mode = |q: &DialQueue, c: OrderCard, s: &str| q.operator_mode(&c, s).map(|m| m.id.clone());
    assert_eq!(
        mode(&q, card("o", "a", 5), "processing").as_deref(),
        Some("new_a")
    );
    assert_eq!(
        mode(&q, card("f", "a", 5), "calling").as_deref(),
        Some("new_a")
    );
    assert_eq!(mode(&q, card("z", "nope", 5), "calling"), None);

    let moved = q
        .take_live(card("f", "a", 5), "calling", "a1", noon())
        .expect("taken");
    assert_eq!(moved.dialer.map(|p| p.mode), Some("new_a".to_string()));
    assert_eq!(q.in_flight_agent("f"), Some("a1"));
    assert_eq!(q.pick("a2", noon()), None, "in flight: nobody picks it");
    assert_eq!(
        q.take_live(card("f", "a", 5), "calling", "a2", noon()),
        Err(QueueError::InFlight {
            order: "f".into(),
            holder: "a1".into()
        })
    );
    // Never connected: a callback for anyone again, no attempt spent.
    let back = q.release_in_flight("f", noon()).expect("released");
    assert_eq!(back.dialer.map(|p| p.subqueue), Some(Subqueue::Callback));
    assert_eq!(q.attempts("f"), Some(0));
    // Connected and disposed: the disposition settles it.
    q.take_live(card("f", "a", 5), "calling", "a2", noon())
        .expect("taken again");
    let done = finish(
        &mut q,
        "f",
        DialResult::Disposition("confirmed".into()),
        noon(),
    );
    assert!(done.status.is_some(), "{done:?}");
    assert!(q.in_flight().is_empty());
}

#[test]
fn an_interrupted_call_returns_without_an_attempt_and_a_call_finishes_once() {
    let mut q = team();
    enter(&mut q, card("o", "a", 5), "processing", noon());
    pick_id(&mut q, "a1", noon());
    // Busy costs an attempt and puts the order off ...
    let busy = finish(&mut q, "o", DialResult::Busy, noon());
    assert_eq!(busy.dialer.map(|p| p.subqueue), Some(Subqueue::NoAnswer));
    assert_eq!(q.attempts("o"), Some(1));
    // ... and the same call reported again is refused: it is no longer in flight.
    assert_eq!(
        q.finish("o", DialResult::NoAnswer, noon()),
        Err(QueueError::NotInFlight("o".into()))
    );
    assert_eq!(q.attempts("o"), Some(1));
    // Interrupted: back in its place (no_answer, same due time), no attempt.
    let t = noon() + mins(30);
    assert_eq!(pick_id(&mut q, "a1", t), "o");
    assert_eq!(q.pick("a2", t), None, "in flight: nobody else gets it");
    let back = finish(&mut q, "o", DialResult::Interrupted, t + mins(1));
    let p = back.dialer.expect("still in dial-up");
    assert_eq!(
        (p.subqueue, p.due_at, back.status),
        (Subqueue::NoAnswer, noon() + mins(30), None)
    );
    assert_eq!(q.attempts("o"), Some(1));
    assert!(q.in_flight().is_empty());
}
