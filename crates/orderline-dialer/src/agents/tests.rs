//! Every rule of the agent state machine, on simulated time.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};

use super::*;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 8, 0, 0).unwrap() + chrono::Duration::seconds(secs)
}

fn rules(after: AfterWrapUp) -> FloorRules {
    FloorRules {
        pause_codes: vec!["lunch".into(), "training".into()],
        dispositions: vec!["confirmed".into(), "callback".into()],
        wrap_up_timeout: Duration::from_secs(30),
        after_wrap_up: after,
    }
}

fn call(id: &str) -> String {
    id.to_owned()
}

fn reserve(c: &str) -> AgentInput {
    AgentInput::Reserve { call: call(c) }
}

fn release(c: &str) -> AgentInput {
    AgentInput::Release { call: call(c) }
}

fn connected(c: &str) -> AgentInput {
    AgentInput::CustomerConnected { call: call(c) }
}

fn ended(c: &str, agent_spoke: bool) -> AgentInput {
    AgentInput::CustomerEnded {
        call: call(c),
        agent_spoke,
    }
}

fn dispo(c: &str, disposition: &str) -> AgentInput {
    AgentInput::Disposition {
        call: call(c),
        disposition: disposition.into(),
        then_pause: None,
    }
}

fn pause(code: &str) -> AgentInput {
    AgentInput::Pause { code: code.into() }
}

fn wrong(state: &'static str, c: &str) -> AgentError {
    AgentError::WrongCall {
        state,
        call: call(c),
    }
}

/// An agent logged in, leg up, ready at t(2).
fn ready_agent(r: &FloorRules) -> AgentMachine {
    let mut m = AgentMachine::new(t(0));
    m.apply(r, AgentInput::Login, t(0)).unwrap();
    m.apply(r, AgentInput::LegAnswered, t(1)).unwrap();
    m.apply(r, AgentInput::SetReady, t(2)).unwrap();
    m
}

#[test]
fn login_connect_ready_call_wrap_up_disposition_ready() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = AgentMachine::new(t(0));
    let rec = m.apply(&r, AgentInput::Login, t(0)).unwrap().unwrap();
    assert_eq!(
        (rec.from, rec.to.clone(), rec.reason),
        (AgentState::Offline, AgentState::Connecting, Reason::Login)
    );
    let rec = m.apply(&r, AgentInput::LegAnswered, t(1)).unwrap().unwrap();
    assert_eq!(
        rec.to,
        AgentState::Paused { code: None },
        "agents start paused"
    );
    m.apply(&r, AgentInput::SetReady, t(2)).unwrap();
    m.apply(&r, reserve("c1"), t(10)).unwrap();
    assert_eq!(m.state(), &AgentState::Reserved { call: call("c1") });
    m.apply(&r, connected("c1"), t(11)).unwrap();
    assert_eq!(m.state(), &AgentState::InCall { call: call("c1") });
    let rec = m.apply(&r, ended("c1", true), t(70)).unwrap().unwrap();
    assert_eq!(rec.reason, Reason::CustomerEnded);
    assert_eq!(m.state(), &AgentState::WrapUp { call: call("c1") });
    assert_eq!(m.since(), t(70));
    let rec = m
        .apply(&r, dispo("c1", "confirmed"), t(80))
        .unwrap()
        .unwrap();
    assert_eq!(
        (rec.to, rec.reason, rec.at),
        (AgentState::Ready, Reason::Disposition, t(80))
    );
}

#[test]
fn customer_hanging_up_before_the_agent_spoke_is_recorded_as_such() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c1"), t(10)).unwrap();
    m.apply(&r, connected("c1"), t(11)).unwrap();
    let rec = m.apply(&r, ended("c1", false), t(12)).unwrap().unwrap();
    assert_eq!(rec.reason, Reason::CustomerEndedBeforeAgentSpoke);

    // Hanging up while still being connected: the agent cannot have spoken,
    // whatever the caller claims.
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c2"), t(10)).unwrap();
    let rec = m.apply(&r, ended("c2", true), t(11)).unwrap().unwrap();
    assert_eq!(rec.reason, Reason::CustomerEndedBeforeAgentSpoke);
    assert_eq!(m.state(), &AgentState::WrapUp { call: call("c2") });
}

#[test]
fn offline_agents_cannot_do_anything_but_log_in() {
    let r = rules(AfterWrapUp::Ready);
    let inputs = [
        AgentInput::SetReady,
        pause("lunch"),
        AgentInput::LegAnswered,
        AgentInput::LegEnded,
        AgentInput::Logout,
        reserve("c"),
        connected("c"),
        dispo("c", "confirmed"),
    ];
    for input in inputs {
        let mut m = AgentMachine::new(t(0));
        assert_eq!(
            m.apply(&r, input.clone(), t(1)),
            Err(AgentError::NotLoggedIn),
            "{input:?}"
        );
        assert_eq!(m.state(), &AgentState::Offline);
    }
}

#[test]
fn logging_in_twice_is_refused() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    assert_eq!(
        m.apply(&r, AgentInput::Login, t(5)),
        Err(AgentError::AlreadyLoggedIn("ready"))
    );
}

#[test]
fn connecting_agents_wait_for_their_leg() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = AgentMachine::new(t(0));
    m.apply(&r, AgentInput::Login, t(0)).unwrap();
    assert_eq!(
        m.apply(&r, AgentInput::SetReady, t(1)),
        Err(AgentError::NotConnected)
    );
    assert_eq!(
        m.apply(&r, reserve("c"), t(1)),
        Err(AgentError::NotConnected)
    );
    // The phone never answered: the leg ends and the agent is offline.
    let rec = m.apply(&r, AgentInput::LegEnded, t(30)).unwrap().unwrap();
    assert_eq!(
        (rec.to, rec.reason),
        (AgentState::Offline, Reason::LegEnded)
    );
    // A second answer on an up leg is a bug in the caller, said so.
    let mut m = ready_agent(&r);
    assert_eq!(
        m.apply(&r, AgentInput::LegAnswered, t(5)),
        Err(AgentError::AlreadyConnected)
    );
}

#[test]
fn pause_codes_come_from_the_configured_list() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    assert_eq!(
        m.apply(&r, pause("smoke"), t(5)),
        Err(AgentError::UnknownPauseCode("smoke".into()))
    );
    assert_eq!(m.state(), &AgentState::Ready);
    let rec = m.apply(&r, pause("lunch"), t(5)).unwrap().unwrap();
    assert_eq!(
        rec.to,
        AgentState::Paused {
            code: Some("lunch".into())
        }
    );
    assert_eq!(m.state().pause_code(), Some("lunch"));
    // The same pause again changes nothing; another code is a new record.
    assert_eq!(m.apply(&r, pause("lunch"), t(6)), Ok(None));
    let rec = m.apply(&r, pause("training"), t(7)).unwrap().unwrap();
    assert_eq!(
        rec.from,
        AgentState::Paused {
            code: Some("lunch".into())
        }
    );
    assert_eq!(m.since(), t(7));
}

#[test]
fn ready_again_is_a_no_op() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    assert_eq!(m.apply(&r, AgentInput::SetReady, t(9)), Ok(None));
    assert_eq!(m.since(), t(2));
}

#[test]
fn agents_on_a_call_cannot_pause_or_go_ready() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c1"), t(3)).unwrap();
    assert_eq!(
        m.apply(&r, AgentInput::SetReady, t(4)),
        Err(AgentError::OnCall("c1".into()))
    );
    m.apply(&r, connected("c1"), t(4)).unwrap();
    assert_eq!(
        m.apply(&r, pause("lunch"), t(5)),
        Err(AgentError::OnCall("c1".into()))
    );
}

#[test]
fn wrap_up_needs_a_disposition_before_ready_or_pause() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c1"), t(3)).unwrap();
    m.apply(&r, connected("c1"), t(4)).unwrap();
    m.apply(&r, ended("c1", true), t(5)).unwrap();
    assert_eq!(
        m.apply(&r, AgentInput::SetReady, t(6)),
        Err(AgentError::DispositionRequired("c1".into()))
    );
    assert_eq!(
        m.apply(&r, pause("lunch"), t(6)),
        Err(AgentError::DispositionRequired("c1".into()))
    );
    assert_eq!(
        m.apply(&r, dispo("c1", "sold"), t(6)),
        Err(AgentError::UnknownDisposition("sold".into()))
    );
    assert_eq!(
        m.apply(&r, dispo("c9", "confirmed"), t(6)),
        Err(wrong("wrap_up", "c9"))
    );
    assert_eq!(m.state(), &AgentState::WrapUp { call: call("c1") });
}

#[test]
fn dispose_and_pause_goes_straight_to_paused() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c1"), t(3)).unwrap();
    m.apply(&r, connected("c1"), t(4)).unwrap();
    m.apply(&r, ended("c1", true), t(5)).unwrap();
    let with_pause = |code: &str| AgentInput::Disposition {
        call: call("c1"),
        disposition: "confirmed".into(),
        then_pause: Some(code.into()),
    };
    assert_eq!(
        m.apply(&r, with_pause("nap"), t(6)),
        Err(AgentError::UnknownPauseCode("nap".into()))
    );
    assert_eq!(m.state(), &AgentState::WrapUp { call: call("c1") });
    let t6 = m.apply(&r, with_pause("lunch"), t(6)).unwrap().unwrap();
    assert_eq!(t6.reason, Reason::Disposition);
    assert_eq!(
        m.state(),
        &AgentState::Paused {
            code: Some("lunch".into())
        }
    );
}

#[test]
fn only_ready_agents_are_reserved() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, pause("lunch"), t(3)).unwrap();
    assert_eq!(
        m.apply(&r, reserve("c1"), t(4)),
        Err(AgentError::NotReady("paused"))
    );
    m.apply(&r, AgentInput::SetReady, t(5)).unwrap();
    m.apply(&r, reserve("c1"), t(6)).unwrap();
    assert_eq!(
        m.apply(&r, reserve("c2"), t(6)),
        Err(AgentError::NotReady("reserved"))
    );
}

#[test]
fn events_for_another_call_are_refused() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c1"), t(3)).unwrap();
    assert_eq!(
        m.apply(&r, connected("c2"), t(4)),
        Err(wrong("reserved", "c2"))
    );
    assert_eq!(
        m.apply(&r, ended("c2", false), t(4)),
        Err(wrong("reserved", "c2"))
    );
    assert_eq!(m.state(), &AgentState::Reserved { call: call("c1") });
}

#[test]
fn a_released_reservation_returns_the_agent_to_ready() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    m.apply(&r, reserve("c1"), t(3)).unwrap();
    assert_eq!(
        m.apply(&r, release("c2"), t(4)),
        Err(wrong("reserved", "c2"))
    );
    let rec = m.apply(&r, release("c1"), t(4)).unwrap().unwrap();
    assert_eq!((rec.to, rec.reason), (AgentState::Ready, Reason::Release));
}

#[test]
fn logout_and_a_lost_leg_end_the_session_from_any_state() {
    let r = rules(AfterWrapUp::Ready);
    for (input, reason) in [
        (AgentInput::Logout, Reason::Logout),
        (AgentInput::LegEnded, Reason::LegEnded),
    ] {
        let mut m = ready_agent(&r);
        m.apply(&r, reserve("c1"), t(3)).unwrap();
        m.apply(&r, connected("c1"), t(4)).unwrap();
        let rec = m.apply(&r, input, t(5)).unwrap().unwrap();
        assert_eq!(
            (rec.from, rec.to, rec.reason),
            (
                AgentState::InCall { call: call("c1") },
                AgentState::Offline,
                reason
            )
        );
    }
}

fn wrapped_up(r: &FloorRules) -> AgentMachine {
    let mut m = ready_agent(r);
    m.apply(r, reserve("c1"), t(3)).unwrap();
    m.apply(r, connected("c1"), t(4)).unwrap();
    m.apply(r, ended("c1", true), t(10)).unwrap();
    m
}

#[test]
fn wrap_up_timeout_returns_the_agent_to_ready_by_rule() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = wrapped_up(&r);
    assert_eq!(m.next_deadline(&r), Some(t(40)));
    assert_eq!(m.poll(&r, t(39)), None);
    assert_eq!(m.state(), &AgentState::WrapUp { call: call("c1") });
    // The timer woke late: the record is still dated at the deadline.
    let rec = m.poll(&r, t(45)).unwrap();
    assert_eq!(
        (rec.to, rec.reason, rec.at),
        (AgentState::Ready, Reason::WrapUpTimeout, t(40))
    );
    assert_eq!(m.next_deadline(&r), None);
    assert_eq!(m.poll(&r, t(100)), None);
}

#[test]
fn wrap_up_timeout_pauses_the_agent_by_rule() {
    let r = rules(AfterWrapUp::Paused);
    let mut m = wrapped_up(&r);
    let rec = m.poll(&r, t(40)).unwrap();
    assert_eq!(rec.to, AgentState::Paused { code: None });
    // A disposition after the timeout is for a call the agent no longer holds.
    assert!(matches!(
        m.apply(&r, dispo("c1", "confirmed"), t(41)),
        Err(AgentError::WrongCall { .. })
    ));
}

#[test]
fn no_deadline_outside_wrap_up() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    assert_eq!(m.next_deadline(&r), None);
    assert_eq!(m.poll(&r, t(10_000)), None);
    assert_eq!(m.state(), &AgentState::Ready);
}

#[test]
fn restart_logs_a_working_agent_out_and_leaves_an_offline_one_alone() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = AgentMachine::resume(AgentState::InCall { call: call("c1") }, t(0));
    let rec = m.restart(t(9)).unwrap();
    assert_eq!((rec.to, rec.reason), (AgentState::Offline, Reason::Restart));
    assert_eq!(m.restart(t(10)), None);
    // ...and the rebuilt agent logs in again normally.
    assert!(m.apply(&r, AgentInput::Login, t(11)).unwrap().is_some());
}

#[test]
fn a_record_is_never_dated_before_the_state_it_ends() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = ready_agent(&r);
    let rec = m.apply(&r, pause("lunch"), t(-50)).unwrap().unwrap();
    assert_eq!(rec.at, t(2));
}

#[test]
fn stored_names_round_trip() {
    for k in StateKind::ALL {
        assert_eq!(StateKind::parse(k.as_str()), Some(k));
    }
    for r in Reason::ALL {
        assert_eq!(Reason::parse(r.as_str()), Some(r));
    }
    assert_eq!(StateKind::parse("lunch"), None);
    assert_eq!(AgentState::from_parts(StateKind::InCall, None, None), None);
    assert_eq!(
        AgentState::from_parts(StateKind::Paused, Some("lunch"), None),
        Some(AgentState::Paused {
            code: Some("lunch".into())
        })
    );
}

fn rec(at: DateTime<Utc>, to: AgentState) -> (DateTime<Utc>, StateKind) {
    (at, to.kind())
}

/// The machine's own records, through `mark`, give the day's totals.
#[test]
fn a_machines_records_add_up() {
    let r = rules(AfterWrapUp::Ready);
    let mut m = AgentMachine::new(t(0));
    let mut log = Vec::new();
    let mut go = |input, at| {
        let rec = m.apply(&r, input, at).unwrap().unwrap();
        log.push(rec.mark());
    };
    go(AgentInput::Login, t(0));
    go(AgentInput::LegAnswered, t(2));
    go(AgentInput::SetReady, t(12));
    go(reserve("c"), t(42));
    go(connected("c"), t(43));
    go(ended("c", true), t(103));
    log.push(m.poll(&r, t(200)).unwrap().mark());
    log.push(
        m.apply(&r, AgentInput::Logout, t(150))
            .unwrap()
            .unwrap()
            .mark(),
    );
    let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let got = day_seconds(&log, day, chrono_tz::UTC, t(9999));
    assert_eq!(
        got,
        DaySeconds {
            paused: 10,
            waiting: 30 + 17,
            talking: 61,
            wrap_up: 30
        }
    );
}

#[test]
fn day_seconds_add_up_per_state() {
    let records = vec![
        rec(t(0), AgentState::Connecting),
        rec(t(1), AgentState::Paused { code: None }),
        rec(t(61), AgentState::Ready),
        rec(t(181), AgentState::Reserved { call: call("c") }),
        rec(t(182), AgentState::InCall { call: call("c") }),
        rec(t(482), AgentState::WrapUp { call: call("c") }),
        rec(t(512), AgentState::Ready),
        rec(t(600), AgentState::Offline),
    ];
    let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let got = day_seconds(&records, day, chrono_tz::UTC, t(10_000));
    assert_eq!(
        got,
        DaySeconds {
            paused: 60,
            waiting: 120 + 88,
            talking: 301,
            wrap_up: 30
        }
    );
    // The last state runs until now.
    let open = &records[..7];
    let got = day_seconds(open, day, chrono_tz::UTC, t(1000));
    assert_eq!(got.waiting, 120 + 488);
}

#[test]
fn day_seconds_split_at_midnight_in_the_floor_zone() {
    // Karachi is UTC+5: 18:30 UTC is 23:30 local.
    let tz: chrono_tz::Tz = "Asia/Karachi".parse().unwrap();
    let evening = Utc.with_ymd_and_hms(2026, 12, 7, 18, 30, 0).unwrap();
    let records = vec![
        rec(evening, AgentState::Ready),
        rec(evening + chrono::Duration::hours(2), AgentState::Offline),
    ];
    let now = evening + chrono::Duration::hours(5);
    let d7 = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let d8 = NaiveDate::from_ymd_opt(2026, 12, 8).unwrap();
    assert_eq!(day_seconds(&records, d7, tz, now).waiting, 1800);
    assert_eq!(day_seconds(&records, d8, tz, now).waiting, 5400);
    // In UTC both hours are on the 7th.
    assert_eq!(day_seconds(&records, d7, chrono_tz::UTC, now).waiting, 7200);
    assert_eq!(day_seconds(&records, d8, chrono_tz::UTC, now).waiting, 0);
}

#[test]
fn day_seconds_sum_fractions_before_rounding() {
    let base = t(0);
    let mut records = Vec::new();
    for i in 0..10 {
        records.push(rec(
            base + chrono::Duration::milliseconds(i * 1000),
            AgentState::Ready,
        ));
        records.push(rec(
            base + chrono::Duration::milliseconds(i * 1000 + 500),
            AgentState::Paused { code: None },
        ));
    }
    records.push(rec(
        base + chrono::Duration::seconds(10),
        AgentState::Offline,
    ));
    let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap();
    let got = day_seconds(&records, day, chrono_tz::UTC, t(20));
    assert_eq!((got.waiting, got.paused), (5, 5));
}
