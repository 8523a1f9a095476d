//! The session's rules, and the B2BUA's session mode, on simulated time.

use std::time::{Duration, Instant};

use super::*;
use crate::call::b2bua::{Action, B2bua, Input, Leg, Milestone};
use crate::call::live::{CallEnd, EndedBy};

const RING: Duration = Duration::from_secs(30);

fn drain(s: &mut Session) -> Vec<SessionAction> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn answered() -> LegEvent {
    LegEvent::Answered { usable_sdp: true }
}

fn down(cause: LegCause) -> Vec<SessionAction> {
    vec![
        SessionAction::Report(SessionEvent::Down { cause }),
        SessionAction::End { cause },
    ]
}

/// A session that is up at `t0`.
fn up(t0: Instant) -> Session {
    let mut s = Session::new(t0, RING);
    assert_eq!(
        drain(&mut s),
        vec![
            SessionAction::Report(SessionEvent::Connecting),
            SessionAction::Invite
        ]
    );
    assert_eq!(s.poll_timeout(), Some(t0 + RING));
    s.handle_input(SessionInput::Agent(answered()), t0);
    assert_eq!(drain(&mut s), vec![SessionAction::StartMedia]);
    assert!(!s.is_idle(), "not idle before the media runs");
    s.handle_input(SessionInput::MediaReady, t0);
    assert_eq!(drain(&mut s), vec![SessionAction::Report(SessionEvent::Up)]);
    assert!(s.is_idle());
    assert_eq!(s.poll_timeout(), None, "an idle session has no timer");
    s
}

fn customer(id: &str) -> SessionInput {
    SessionInput::Customer { call_id: id.into() }
}

fn done(id: &str, spoke: bool) -> SessionInput {
    SessionInput::CustomerDone {
        call_id: id.into(),
        agent_spoke: spoke,
        connect_latency: Some(Duration::from_millis(42)),
        first_rtp_after: None,
    }
}

#[test]
fn customers_come_and_go_while_the_leg_stays_up() {
    let t0 = Instant::now();
    let mut s = up(t0);
    for (i, spoke) in [(1, true), (2, false)] {
        let id = format!("call_{i}");
        s.handle_input(customer(&id), t0);
        assert_eq!(
            drain(&mut s),
            vec![SessionAction::Serve {
                call_id: id.clone()
            }]
        );
        s.handle_input(customer("call_other"), t0);
        assert_eq!(
            drain(&mut s),
            vec![SessionAction::Refuse {
                call_id: "call_other".into()
            }],
            "one customer at a time"
        );
        s.handle_input(
            SessionInput::CustomerBridged {
                call_id: id.clone(),
            },
            t0,
        );
        assert_eq!(
            drain(&mut s),
            vec![SessionAction::Report(SessionEvent::CustomerConnected {
                call_id: id.clone()
            })]
        );
        s.handle_input(done("call_wrong", true), t0);
        assert!(drain(&mut s).is_empty(), "another call's end is ignored");
        s.handle_input(done(&id, spoke), t0);
        assert_eq!(
            drain(&mut s),
            vec![SessionAction::Report(SessionEvent::CustomerEnded {
                call_id: id,
                agent_spoke: spoke,
                connect_latency: Some(Duration::from_millis(42)),
                first_rtp_after: None,
            })],
            "no BYE: the agent stays connected"
        );
        assert!(s.is_idle());
    }
}

#[test]
fn logout_and_agent_hang_up_end_the_session() {
    let t0 = Instant::now();
    let mut s = up(t0);
    s.handle_input(SessionInput::Logout, t0);
    let mut want = vec![SessionAction::Bye];
    want.extend(down(LegCause::ApiHangup));
    assert_eq!(drain(&mut s), want);
    assert!(s.is_down());

    let mut s = up(t0);
    s.handle_input(SessionInput::Agent(LegEvent::Ended { by_remote: true }), t0);
    assert_eq!(drain(&mut s), down(LegCause::Hangup), "no BYE on a BYE");

    let mut s = up(t0);
    s.handle_input(SessionInput::Agent(LegEvent::Gone), t0);
    assert_eq!(drain(&mut s), down(LegCause::Shutdown));
    s.handle_input(customer("call_late"), t0);
    assert_eq!(
        drain(&mut s),
        vec![SessionAction::Refuse {
            call_id: "call_late".into()
        }],
        "a session that is down takes no customer"
    );
}

#[test]
fn logout_during_a_call_hangs_the_customer_up_first() {
    let t0 = Instant::now();
    let mut s = up(t0);
    s.handle_input(customer("call_1"), t0);
    drain(&mut s);
    s.handle_input(SessionInput::Logout, t0);
    assert_eq!(drain(&mut s), vec![SessionAction::HangUpCustomer]);
    s.handle_input(SessionInput::Logout, t0);
    assert!(drain(&mut s).is_empty(), "asked once");
    s.handle_input(done("call_1", true), t0);
    let mut want = vec![SessionAction::Report(SessionEvent::CustomerEnded {
        call_id: "call_1".into(),
        agent_spoke: true,
        connect_latency: Some(Duration::from_millis(42)),
        first_rtp_after: None,
    })];
    want.push(SessionAction::Bye);
    want.extend(down(LegCause::ApiHangup));
    assert_eq!(drain(&mut s), want);
}

#[test]
fn the_agent_hanging_up_during_a_call_ends_the_session_after_it() {
    let t0 = Instant::now();
    let mut s = up(t0);
    s.handle_input(customer("call_1"), t0);
    drain(&mut s);
    // The driver feeds the call's end, then the agent leg's.
    s.handle_input(done("call_1", false), t0);
    drain(&mut s);
    s.handle_input(SessionInput::Agent(LegEvent::Ended { by_remote: true }), t0);
    assert_eq!(drain(&mut s), down(LegCause::Hangup));
}

#[test]
fn a_phone_that_never_answers_times_out_and_a_crossing_200_gets_a_bye() {
    let t0 = Instant::now();
    let mut s = Session::new(t0, RING);
    drain(&mut s);
    s.handle_input(SessionInput::Timeout, t0 + RING - Duration::from_millis(1));
    assert!(drain(&mut s).is_empty(), "not before the deadline");
    s.handle_input(SessionInput::Timeout, t0 + RING);
    assert_eq!(drain(&mut s), vec![SessionAction::Cancel]);
    assert_eq!(s.poll_timeout(), None);
    s.handle_input(
        SessionInput::Agent(LegEvent::Failed { status: 487 }),
        t0 + RING,
    );
    assert_eq!(drain(&mut s), down(LegCause::NoAnswer));

    let mut s = Session::new(t0, RING);
    drain(&mut s);
    s.handle_input(SessionInput::Logout, t0);
    assert_eq!(drain(&mut s), vec![SessionAction::Cancel]);
    s.handle_input(SessionInput::Agent(answered()), t0);
    let mut want = vec![SessionAction::Bye];
    want.extend(down(LegCause::ApiHangup));
    assert_eq!(drain(&mut s), want, "RFC 3261 §9.1: BYE the crossing 200");

    let mut s = Session::new(t0, RING);
    drain(&mut s);
    s.handle_input(SessionInput::Agent(LegEvent::Failed { status: 486 }), t0);
    assert_eq!(drain(&mut s), down(LegCause::Busy));

    let mut s = Session::new(t0, RING);
    drain(&mut s);
    s.handle_input(
        SessionInput::Agent(LegEvent::Answered { usable_sdp: false }),
        t0,
    );
    let mut want = vec![SessionAction::Bye];
    want.extend(down(LegCause::BadSdp));
    assert_eq!(drain(&mut s), want);

    let mut s = Session::new(t0, RING);
    drain(&mut s);
    s.handle_input(SessionInput::Agent(answered()), t0);
    drain(&mut s);
    s.handle_input(SessionInput::LocalFailure, t0);
    let mut want = vec![SessionAction::Bye];
    want.extend(down(LegCause::Error));
    assert_eq!(drain(&mut s), want, "no bridge: the leg is not left up");
}

fn drain_b(b: &mut B2bua) -> Vec<Action> {
    std::iter::from_fn(|| b.poll_action()).collect()
}

fn end_of(actions: &[Action]) -> CallEnd {
    match actions.last() {
        Some(Action::End(e)) => e.clone(),
        other => panic!("expected End last, got {other:?} in {actions:?}"),
    }
}

/// A session's customer call, bridged.
fn session_call(t0: Instant) -> B2bua {
    let mut b = B2bua::into_session(t0, RING);
    assert_eq!(
        drain_b(&mut b),
        vec![
            Action::Report(Milestone::AgentAnswered),
            Action::Invite(Leg::Customer)
        ],
        "no INVITE to the agent: its leg is up"
    );
    b.handle_input(Input::Leg(Leg::Customer, answered()), t0);
    assert_eq!(drain_b(&mut b), vec![Action::ConnectCustomer]);
    b.handle_input(Input::MediaReady, t0);
    assert_eq!(drain_b(&mut b), vec![Action::Report(Milestone::Bridged)]);
    b
}

#[test]
fn in_a_session_the_customer_leaving_never_hangs_up_the_agent() {
    let t0 = Instant::now();
    let mut b = session_call(t0);
    b.handle_input(
        Input::Leg(Leg::Customer, LegEvent::Ended { by_remote: true }),
        t0,
    );
    let actions = drain_b(&mut b);
    assert!(!actions.contains(&Action::Bye(Leg::Agent)), "{actions:?}");
    assert_eq!(
        end_of(&actions),
        CallEnd {
            failed: false,
            agent_cause: LegCause::Session,
            customer_cause: Some(LegCause::Hangup),
            ended_by: EndedBy::Customer,
        }
    );

    let mut b = session_call(t0);
    b.handle_input(Input::HangUp, t0);
    let actions = drain_b(&mut b);
    assert_eq!(actions[0], Action::Bye(Leg::Customer));
    assert!(!actions.contains(&Action::Bye(Leg::Agent)), "{actions:?}");

    // A customer who never answers: no CANCEL or BYE to the agent either.
    let mut b = B2bua::into_session(t0, RING);
    drain_b(&mut b);
    b.handle_input(Input::Timeout, t0 + RING);
    assert_eq!(drain_b(&mut b), vec![Action::Cancel(Leg::Customer)]);
    b.handle_input(
        Input::Leg(Leg::Customer, LegEvent::Failed { status: 487 }),
        t0 + RING,
    );
    let actions = drain_b(&mut b);
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(end_of(&actions).agent_cause, LegCause::Session);
    assert_eq!(end_of(&actions).customer_cause, Some(LegCause::NoAnswer));
}

#[test]
fn in_a_session_the_agent_hanging_up_releases_the_customer() {
    let t0 = Instant::now();
    let mut b = session_call(t0);
    b.handle_input(
        Input::Leg(Leg::Agent, LegEvent::Ended { by_remote: true }),
        t0,
    );
    let actions = drain_b(&mut b);
    assert_eq!(actions[0], Action::Bye(Leg::Customer));
    assert_eq!(
        end_of(&actions),
        CallEnd {
            failed: false,
            agent_cause: LegCause::Hangup,
            customer_cause: Some(LegCause::Hangup),
            ended_by: EndedBy::Agent,
        }
    );
}
