//! The agent log and call dispositions (migration 0005) on SQLite and a real
//! PostgreSQL: transitions are appended and read back whole, the last state
//! per agent survives a re-open, a day's records include the state running
//! into it, and a disposition lands on its call row.

#[macro_use]
mod support;

use chrono::{DateTime, Utc};
use orderline::config::AgentConfig;
use orderline::store::{CallDisposition, NewAgentCall, Store, StoreError};
use orderline_dialer::agents::{AgentState, Reason, StateKind, Transition};
use support::store::TestDb;

on_both_backends!(
    transitions_round_trip_and_rebuild_after_reopen,
    dispositions_land_on_the_call
);

const T0: i64 = 1_800_000_000_000;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(T0 + s * 1000).expect("time")
}

fn agent(id: &str) -> AgentConfig {
    support::store::config_agent(id, None)
}

async fn with_agents(db: &TestDb) -> Store {
    let store = db.open().await;
    store
        .sync_config_agents(&[agent("ayesha"), agent("bilal")], t(0))
        .await
        .expect("sync agents");
    store
}

fn tr(from: AgentState, to: AgentState, at: i64, reason: Reason) -> Transition {
    Transition {
        from,
        to,
        at: t(at),
        reason,
    }
}

async fn transitions_round_trip_and_rebuild_after_reopen(db: TestDb) {
    let store = with_agents(&db).await;
    let lunch = AgentState::Paused {
        code: Some("lunch".into()),
    };
    let c1 = || "call_1".to_string();
    let log = [
        tr(
            AgentState::Offline,
            AgentState::Connecting,
            10,
            Reason::Login,
        ),
        tr(
            AgentState::Connecting,
            lunch.clone(),
            11,
            Reason::LegAnswered,
        ),
        tr(lunch.clone(), AgentState::Ready, 100, Reason::SetReady),
        tr(
            AgentState::Ready,
            AgentState::Reserved { call: c1() },
            200,
            Reason::Reserve,
        ),
        tr(
            AgentState::Reserved { call: c1() },
            AgentState::InCall { call: c1() },
            201,
            Reason::CustomerConnected,
        ),
        tr(
            AgentState::InCall { call: c1() },
            AgentState::WrapUp { call: c1() },
            300,
            Reason::CustomerEndedBeforeAgentSpoke,
        ),
        tr(
            AgentState::WrapUp { call: c1() },
            AgentState::Ready,
            330,
            Reason::WrapUpTimeout,
        ),
    ];
    for rec in &log {
        store.append_agent_log("ayesha", rec).await.expect("append");
    }
    store
        .append_agent_log(
            "bilal",
            &tr(
                AgentState::Offline,
                AgentState::Connecting,
                50,
                Reason::Login,
            ),
        )
        .await
        .expect("append bilal");

    // The whole log, read back: every state with its data and reason.
    let all = store.agent_log_since("ayesha", t(0)).await.expect("read");
    assert_eq!(all.len(), log.len());
    for (got, want) in all.iter().zip(&log) {
        assert_eq!(got.agent_id, "ayesha");
        assert_eq!(got.from, want.from.kind());
        assert_eq!(got.to, want.to);
        assert_eq!(got.reason, want.reason);
        assert_eq!(got.at, want.at);
    }
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));

    // From t(150) on: the state running at 150 (ready since 100) comes first.
    let since = store
        .agent_log_since("ayesha", t(150))
        .await
        .expect("since");
    assert_eq!(since.first().map(|r| r.at), Some(t(100)));
    assert_eq!(since.len(), 5);

    // A restart (re-open) finds each agent's last state.
    drop(store);
    let store = db.open().await;
    let last = store.last_agent_states().await.expect("last");
    let brief: Vec<(&str, StateKind)> = last
        .iter()
        .map(|r| (r.agent_id.as_str(), r.to.kind()))
        .collect();
    assert_eq!(
        brief,
        [
            ("ayesha", StateKind::Ready),
            ("bilal", StateKind::Connecting)
        ]
    );

    // The log refuses an unknown agent (foreign key).
    let err = store
        .append_agent_log(
            "nobody",
            &tr(
                AgentState::Offline,
                AgentState::Connecting,
                60,
                Reason::Login,
            ),
        )
        .await;
    assert!(err.is_err(), "unknown agent accepted");
}

async fn dispositions_land_on_the_call(db: TestDb) {
    let store = with_agents(&db).await;
    let call = NewAgentCall {
        id: "call_d1".into(),
        agent_id: "ayesha".into(),
        to: "+923001234567".into(),
        order_id: Some("A-1".into()),
    };
    store.insert_agent_call(&call, t(1)).await.expect("call");
    assert_eq!(store.call_disposition("call_d1").await.expect("none"), None);

    let d = CallDisposition {
        disposition: "callback".into(),
        callback_at: Some(t(86_400)),
        note: Some("after Friday prayers".into()),
        at: t(20),
    };
    store
        .set_call_disposition("call_d1", &d)
        .await
        .expect("set");
    assert_eq!(
        store.call_disposition("call_d1").await.expect("read"),
        Some(d.clone())
    );
    // A correction replaces it.
    let fixed = CallDisposition {
        disposition: "confirmed".into(),
        callback_at: None,
        note: None,
        at: t(25),
    };
    store
        .set_call_disposition("call_d1", &fixed)
        .await
        .expect("fix");
    assert_eq!(
        store.call_disposition("call_d1").await.expect("read"),
        Some(fixed)
    );
    assert!(matches!(
        store.set_call_disposition("call_zz", &d).await,
        Err(StoreError::CallNotFound(id)) if id == "call_zz"
    ));
    assert!(matches!(
        store.call_disposition("call_zz").await,
        Err(StoreError::CallNotFound(_))
    ));
}
