//! Preview pacing's Skip: back without an attempt, never straight back to
//! the agent who skipped, at once to anyone else.

use super::{card, enter, finish, mins, noon, pick_id, team};
use crate::modes::{DialResult, QueueError, Subqueue};

#[test]
fn a_skipped_order_keeps_its_place_and_attempts_but_not_for_the_same_agent() {
    let mut q = team();
    let t = noon();
    enter(&mut q, card("old", "a", 30), "processing", t);
    enter(&mut q, card("young", "a", 10), "processing", t);
    assert_eq!(pick_id(&mut q, "a1", t), "old");
    let moved = q.skip("old", "a1", t).expect("skip");
    let place = moved.dialer.expect("still in dial-up");
    assert_eq!(
        (place.mode.as_str(), place.subqueue),
        ("new_a", Subqueue::Unprocessed)
    );
    assert_eq!(moved.status, None, "a skip changes no status");
    assert_eq!(q.attempts("old"), Some(0), "no attempt spent");
    assert!(q.in_flight().is_empty());

    // a1 is offered the next order, not the skipped head.
    assert_eq!(pick_id(&mut q, "a1", t), "young");
    q.skip("young", "a1", t).expect("skip young");
    assert!(
        q.pick("a1", t + mins(1)).is_none(),
        "both skipped: nothing for a1, not a loop"
    );
    // Another agent takes the skipped head at once.
    assert_eq!(pick_id(&mut q, "a2", t), "old");
    q.skip("old", "a2", t).expect("a2 skips too");
    // a2 skipped only `old`: they get `young`.
    assert_eq!(pick_id(&mut q, "a2", t), "young");
    q.release_in_flight("young", t).expect("release");
    // a1's skips stay until new_a's put_off (30m) has passed.
    assert!(q.pick("a1", t + mins(29)).is_none());
    assert_eq!(
        pick_id(&mut q, "a1", t + mins(30)),
        "old",
        "due again for a1"
    );
    finish(&mut q, "old", DialResult::NoAnswer, t + mins(30));
    assert_eq!(q.attempts("old"), Some(1), "a real call costs its attempt");
}

#[test]
fn a_skip_is_refused_for_an_order_not_offered_to_that_agent() {
    let mut q = team();
    let t = noon();
    enter(&mut q, card("o1", "a", 5), "processing", t);
    assert_eq!(
        q.skip("o1", "a1", t),
        Err(QueueError::NotInFlight("o1".into())),
        "not picked yet"
    );
    assert_eq!(pick_id(&mut q, "a1", t), "o1");
    assert_eq!(
        q.skip("o1", "a2", t),
        Err(QueueError::NotInFlight("o1".into())),
        "picked for a1, not a2"
    );
    q.skip("o1", "a1", t).expect("a1 skips");
    assert_eq!(
        q.skip("o1", "a1", t),
        Err(QueueError::NotInFlight("o1".into())),
        "a second Skip finds nothing"
    );
    assert_eq!(
        q.skip("nope", "a1", t),
        Err(QueueError::UnknownOrder("nope".into()))
    );
}

#[test]
fn a_skipped_callback_for_the_agent_waits_and_others_callbacks_come_first() {
    let mut q = team();
    let t = noon() - mins(60);
    enter(&mut q, card("cb", "a", 50), "processing", t);
    enter(&mut q, card("next", "a", 40), "processing", t);
    assert_eq!(pick_id(&mut q, "a1", t), "cb");
    finish(
        &mut q,
        "cb",
        DialResult::Callback {
            at: noon(),
            same_agent: true,
        },
        t,
    );
    assert_eq!(pick_id(&mut q, "a1", noon()), "cb", "the callback is due");
    q.skip("cb", "a1", noon()).expect("skip");
    assert_eq!(
        pick_id(&mut q, "a1", noon()),
        "next",
        "skipped callback passed over"
    );
    q.release_in_flight("next", noon()).expect("release");
    let place = q.placement("cb").expect("in dial-up");
    assert_eq!(place.subqueue, Subqueue::Callback, "still a callback");
    assert_eq!(pick_id(&mut q, "a1", noon() + mins(30)), "cb");
}
