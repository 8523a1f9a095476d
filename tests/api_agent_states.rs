//! Agent states over HTTP (issue #10) on a real store (SQLite and
//! PostgreSQL): `PUT /v1/agents/{id}/state`, `GET /v1/agents/{id}` and
//! `/v1/agents` (the supervisor view), `POST /v1/calls/{id}/disposition`,
//! `GET /v1/agents/{id}/events` (SSE), the wrap-up timeout and a restart.
//!
//! The session leg that logs agents in is built on another branch; until it
//! lands, the test drives login, the leg and the customer through
//! [`Floor::apply`], the method that leg will call, with the API's clock.

#[macro_use]
mod support;

use chrono::{DateTime, Utc};
use orderline::config::{AgentConfig, Config};
use orderline::floor::Floor;
use orderline::store::{NewAgentCall, Store};
use orderline_dialer::agents::{AgentInput, Reason};
use reqwest::Method;
use serde_json::Value;
use support::api::{Api, T0, TOKEN};
use support::store::TestDb;

on_both_backends!(
    states_dispositions_and_the_supervisor_view,
    wrap_up_timeout_and_restart,
    events_stream_each_transition
);

const CONFIG: &str = r#"
[http]
api_tokens = ["t0k-merchant"]

[calling]
window = "09:00-21:00"
timezone = "UTC"

[operators]
pause_codes = ["lunch", "training"]
dispositions = ["confirmed", "cancelled", "callback", "no_answer"]
wrap_up_timeout = "30s"
after_wrap_up = "paused"
"#;

const AYESHA: &str = "agt-ayesha-token";
const BILAL: &str = "agt-bilal-token";

fn agent(id: &str, token: &str) -> AgentConfig {
    support::store::config_agent(id, Some(token))
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("time")
}

struct Rig {
    api: Api,
    floor: Floor,
    store: Store,
}

impl Rig {
    async fn start(db: &TestDb) -> Rig {
        let store = db.open().await;
        store
            .sync_config_agents(&[agent("ayesha", AYESHA), agent("bilal", BILAL)], at(T0))
            .await
            .expect("agents");
        let settings = Config::from_toml(CONFIG)
            .expect("config")
            .operators
            .floor()
            .expect("floor");
        let (floor, _) = Floor::start(store.clone(), settings, at(T0))
            .await
            .expect("floor");
        let f = floor.clone();
        let api = Api::start_with(store.clone(), CONFIG, move |s| s.with_floor(f)).await;
        Rig { api, floor, store }
    }

    fn now(&self) -> DateTime<Utc> {
        at(self.api.clock.load(std::sync::atomic::Ordering::SeqCst))
    }

    /// The session leg's (or dialer's) input, at the API's time.
    async fn drive(&self, agent: &str, input: AgentInput) {
        self.floor
            .apply(agent, input, self.now())
            .await
            .expect("floor input")
            .expect("a transition");
    }

    /// A customer for `agent`: reserved, connected, `talk_ms` of talk, hung up.
    async fn customer(&self, agent: &str, call: &str, talk_ms: i64, agent_spoke: bool) {
        let call = || call.to_string();
        self.drive(agent, AgentInput::Reserve { call: call() })
            .await;
        self.drive(agent, AgentInput::CustomerConnected { call: call() })
            .await;
        self.api.advance_ms(talk_ms);
        self.drive(
            agent,
            AgentInput::CustomerEnded {
                call: call(),
                agent_spoke,
            },
        )
        .await;
    }

    /// `POST /v1/calls/{call}/disposition` with `token`.
    async fn dispose(&self, token: &str, call: &str, body: &str) -> (u16, Value) {
        self.api
            .send_as(
                Some(token),
                Method::POST,
                &format!("/v1/calls/{call}/disposition"),
                Some(body),
            )
            .await
    }

    async fn put_state(&self, token: &str, agent: &str, body: &str) -> (u16, Value) {
        self.api
            .send_as(
                Some(token),
                Method::PUT,
                &format!("/v1/agents/{agent}/state"),
                Some(body),
            )
            .await
    }

    async fn call(&self, id: &str, agent: &str) {
        let c = NewAgentCall {
            id: id.into(),
            agent_id: agent.into(),
            to: "+923001234567".into(),
            order_id: Some("A-1".into()),
        };
        self.store
            .insert_agent_call(&c, self.now())
            .await
            .expect("call row");
    }
}

fn field(v: &Value) -> &str {
    v["field"].as_str().unwrap_or("")
}

async fn states_dispositions_and_the_supervisor_view(db: TestDb) {
    let rig = Rig::start(&db).await;
    let api = &rig.api;

    let (s, v) = api.get("/v1/agents/ayesha").await;
    assert_eq!((s, v["state"].as_str()), (200, Some("offline")), "{v}");
    assert_eq!(v["today"]["waiting"], 0);

    // Offline: ready is refused by the rules (409, field state).
    let (s, v) = rig
        .put_state(AYESHA, "ayesha", r#"{"state":"ready"}"#)
        .await;
    assert_eq!((s, field(&v)), (409, "state"), "{v}");

    rig.drive("ayesha", AgentInput::Login).await;
    api.advance_ms(2_000);
    rig.drive("ayesha", AgentInput::LegAnswered).await;
    let (_, v) = api.get("/v1/agents/ayesha").await;
    assert_eq!(v["state"], "paused");
    assert_eq!(v["pause_code"], Value::Null);

    // Bad requests name their field.
    for (body, want) in [
        (r#"{"state":"paused","pause_code":"smoke"}"#, "pause_code"),
        (r#"{"state":"paused"}"#, "pause_code"),
        (r#"{"state":"ready","pause_code":"lunch"}"#, "pause_code"),
        (r#"{"state":"in_call"}"#, "state"),
        (r#"{"state":"ready","mood":"good"}"#, "mood"),
        (r#"{}"#, "state"),
    ] {
        let (s, v) = rig.put_state(AYESHA, "ayesha", body).await;
        assert_eq!((s, field(&v)), (422, want), "{body}: {v}");
    }
    // Another agent's token cannot see or move her (404, ids do not leak).
    let (s, _) = rig.put_state(BILAL, "ayesha", r#"{"state":"ready"}"#).await;
    assert_eq!(s, 404);
    let (s, _) = api
        .send_as(Some(BILAL), Method::GET, "/v1/agents/ayesha", None)
        .await;
    assert_eq!(s, 404);

    // Her own token pauses with a code, then goes ready (10 s paused in all).
    api.advance_ms(4_000);
    let (s, v) = rig
        .put_state(
            AYESHA,
            "ayesha",
            r#"{"state":"paused","pause_code":"lunch"}"#,
        )
        .await;
    assert_eq!(
        (s, v["state"].as_str(), v["pause_code"].as_str()),
        (200, Some("paused"), Some("lunch")),
        "{v}"
    );
    api.advance_ms(4_000);
    let (s, v) = rig.put_state(TOKEN, "ayesha", r#"{"state":"ready"}"#).await;
    assert_eq!((s, v["state"].as_str()), (200, Some("ready")), "{v}");
    // Ready again changes nothing and is not an error.
    api.advance_ms(1_000);
    let (s, v) = rig
        .put_state(AYESHA, "ayesha", r#"{"state":"ready"}"#)
        .await;
    assert_eq!((s, v["seconds_in_state"].as_i64()), (200, Some(1)), "{v}");

    // A customer: reserved, connected, 60 s of talk, hung up.
    rig.call("call_1", "ayesha").await;
    api.advance_ms(19_000); // 20 s waiting
    rig.customer("ayesha", "call_1", 60_000, true).await;
    let (_, v) = api.get("/v1/agents/ayesha").await;
    assert_eq!(
        (v["state"].as_str(), v["call_id"].as_str()),
        (Some("wrap_up"), Some("call_1")),
        "{v}"
    );
    let (s, v) = rig
        .put_state(AYESHA, "ayesha", r#"{"state":"ready"}"#)
        .await;
    assert_eq!(
        (s, field(&v)),
        (409, "state"),
        "ready before the disposition: {v}"
    );

    // Dispositions: from the configured list, a callback with a future time.
    api.advance_ms(5_000);
    let r = &rig;
    let post = |body: &'static str| r.dispose(AYESHA, "call_1", body);
    for (body, want) in [
        (r#"{"disposition":"sold"}"#, "disposition"),
        (r#"{"disposition":"callback"}"#, "callback_at"),
        (
            r#"{"disposition":"callback","callback_at":"2020-01-01T00:00:00Z"}"#,
            "callback_at",
        ),
        (
            r#"{"disposition":"callback","callback_at":"tomorrow"}"#,
            "callback_at",
        ),
        (r#"{"disposition":"confirmed","colour":"red"}"#, "colour"),
    ] {
        let (s, v) = post(body).await;
        assert_eq!((s, field(&v)), (422, want), "{body}: {v}");
    }
    let (s, _) = rig
        .dispose(BILAL, "call_1", r#"{"disposition":"confirmed"}"#)
        .await;
    assert_eq!(s, 404, "another agent's call");
    let (s, v) = post(r#"{"disposition":"callback","callback_at":"2030-01-02T10:00:00+05:00","note":"after Friday prayers"}"#).await;
    assert_eq!((s, v["agent_state"].as_str()), (200, Some("ready")), "{v}");
    assert_eq!(v["callback_at"], "2030-01-02T05:00:00.000Z");
    let stored = rig
        .store
        .call_disposition("call_1")
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.disposition, "callback");
    assert_eq!(stored.note.as_deref(), Some("after Friday prayers"));

    // The supervisor view: every agent with state and today's seconds,
    // which add up to what happened (paused 2+4+4, waiting 1+19+…).
    api.advance_ms(7_000);
    let (s, v) = api.get("/v1/agents").await;
    assert_eq!(s, 200);
    let agents = v["agents"].as_array().expect("agents");
    let find = |id: &str| agents.iter().find(|a| a["id"] == id).expect(id).clone();
    let a = find("ayesha");
    assert_eq!(a["state"], "ready");
    assert_eq!(a["seconds_in_state"], 7);
    assert_eq!(a["today"]["paused"], 8, "{a}");
    assert_eq!(a["today"]["waiting"], 1 + 19 + 7, "{a}");
    assert_eq!(a["today"]["talking"], 60, "{a}");
    assert_eq!(a["today"]["wrap_up"], 5, "{a}");
    assert_eq!(find("bilal")["state"], "offline");
    // /metrics counts agents per state.
    let metrics = api
        .http
        .get(api.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for line in [
        "orderline_agents{state=\"ready\"} 1",
        "orderline_agents{state=\"offline\"} 1",
        "orderline_agents{state=\"in_call\"} 0",
    ] {
        assert!(metrics.contains(line), "{line} missing:\n{metrics}");
    }
    // An agent token may not list the floor.
    let (s, _) = api
        .send_as(Some(AYESHA), Method::GET, "/v1/agents", None)
        .await;
    assert_eq!(s, 403);

    // The agent log holds every move, in order.
    let log = rig
        .store
        .agent_log_since("ayesha", at(T0))
        .await
        .expect("log");
    let reasons: Vec<Reason> = log.iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [
            Reason::Login,
            Reason::LegAnswered,
            Reason::Pause,
            Reason::SetReady,
            Reason::Reserve,
            Reason::CustomerConnected,
            Reason::CustomerEnded,
            Reason::Disposition
        ]
    );
    rig.api.stop().await;
}

async fn wrap_up_timeout_and_restart(db: TestDb) {
    let rig = Rig::start(&db).await;
    let api = &rig.api;
    rig.call("call_2", "ayesha").await;
    rig.drive("ayesha", AgentInput::Login).await;
    rig.drive("ayesha", AgentInput::LegAnswered).await;
    rig.put_state(AYESHA, "ayesha", r#"{"state":"ready"}"#)
        .await;
    rig.customer("ayesha", "call_2", 3_000, false).await;
    let deadline = rig.floor.next_deadline().await.expect("a wrap-up deadline");
    assert_eq!(deadline, rig.now() + chrono::Duration::seconds(30));
    assert_eq!(
        rig.floor
            .poll(deadline - chrono::Duration::milliseconds(1))
            .await
            .expect("poll"),
        0
    );
    assert_eq!(rig.floor.poll(deadline).await.expect("poll"), 1);
    // after_wrap_up = "paused": paused without a code.
    api.advance_ms(31_000);
    let (_, v) = api.get("/v1/agents/ayesha").await;
    assert_eq!(
        (v["state"].as_str(), v["pause_code"].as_str()),
        (Some("paused"), None),
        "{v}"
    );
    assert_eq!(v["today"]["wrap_up"], 30, "{v}");
    // A late disposition is still recorded; the state stays.
    let (s, v) = rig
        .dispose(AYESHA, "call_2", r#"{"disposition":"no_answer"}"#)
        .await;
    assert_eq!((s, v["agent_state"].as_str()), (200, Some("paused")), "{v}");
    let log = rig
        .store
        .agent_log_since("ayesha", at(T0))
        .await
        .expect("log");
    let reasons: Vec<Reason> = log.iter().map(|r| r.reason).collect();
    assert!(
        reasons.contains(&Reason::CustomerEndedBeforeAgentSpoke),
        "{reasons:?}"
    );
    assert_eq!(reasons.last(), Some(&Reason::WrapUpTimeout));

    // A restart: the working agent is logged out, with the reason stored.
    let settings = Config::from_toml(CONFIG)
        .expect("config")
        .operators
        .floor()
        .expect("floor");
    let later = rig.now() + chrono::Duration::seconds(10);
    let (again, logged_out) = Floor::start(rig.store.clone(), settings, later)
        .await
        .expect("restart");
    assert_eq!(logged_out, ["ayesha"]);
    let (state, since) = again.state("ayesha").await;
    assert_eq!((state.kind().as_str(), since), ("offline", later));
    let last = rig.store.last_agent_states().await.expect("last");
    let ayesha = last
        .iter()
        .find(|r| r.agent_id == "ayesha")
        .expect("ayesha");
    assert_eq!(ayesha.reason, Reason::Restart);
    rig.api.stop().await;
}

/// Read SSE events (`event:` name and `data:` JSON) until `n` are in.
async fn next_events(
    resp: &mut reqwest::Response,
    buf: &mut String,
    n: usize,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    while out.len() < n {
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in block.lines() {
                if let Some(v) = line.strip_prefix("event:") {
                    name = v.trim().to_string();
                } else if let Some(v) = line.strip_prefix("data:") {
                    data.push_str(v.trim());
                }
            }
            if !name.is_empty() {
                out.push((name, serde_json::from_str(&data).expect("event JSON")));
            }
        }
        if out.len() >= n {
            break;
        }
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), resp.chunk())
            .await
            .expect("an event within 10 s")
            .expect("stream")
            .expect("stream still open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
    out
}

async fn events_stream_each_transition(db: TestDb) {
    let rig = Rig::start(&db).await;
    let mut resp = rig
        .api
        .http
        .get(rig.api.url("/v1/agents/ayesha/events"))
        .bearer_auth(AYESHA)
        .send()
        .await
        .expect("events");
    assert_eq!(resp.status().as_u16(), 200);
    let mut buf = String::new();
    let first = next_events(&mut resp, &mut buf, 1).await;
    assert_eq!(first[0].0, "state");
    assert_eq!(first[0].1["state"], "offline");

    rig.drive("bilal", AgentInput::Login).await; // not hers: not on her stream
    rig.drive("ayesha", AgentInput::Login).await;
    rig.drive("ayesha", AgentInput::LegAnswered).await;
    rig.put_state(
        AYESHA,
        "ayesha",
        r#"{"state":"paused","pause_code":"training"}"#,
    )
    .await;
    let got = next_events(&mut resp, &mut buf, 3).await;
    let brief: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|(_, v)| {
            (
                v["from"].as_str().unwrap_or(""),
                v["state"].as_str().unwrap_or(""),
                v["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        brief,
        [
            ("offline", "connecting", "login"),
            ("connecting", "paused", "leg_answered"),
            ("paused", "paused", "pause")
        ]
    );
    assert!(got.iter().all(|(_, v)| v["agent_id"] == "ayesha"));
    assert_eq!(got[2].1["pause_code"], "training");

    // Bilal's token does not open her stream.
    let s = rig
        .api
        .http
        .get(rig.api.url("/v1/agents/ayesha/events"))
        .bearer_auth(BILAL)
        .send()
        .await
        .expect("events")
        .status();
    assert_eq!(s.as_u16(), 404);
    drop(resp);
    rig.api.stop().await;
}

/// The daemon's timer task (`Floor::run`) ends a wrap-up on wall time,
/// by the rule, without anyone polling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timer_task_ends_wrap_up_on_time() {
    let db = support::store::sqlite_db();
    let store = db.open().await;
    let clock = orderline::clock::Clock::system();
    store
        .sync_config_agents(&[agent("ayesha", AYESHA)], clock.now())
        .await
        .expect("agents");
    let mut settings = Config::from_toml(CONFIG)
        .expect("config")
        .operators
        .floor()
        .expect("floor");
    settings.rules.wrap_up_timeout = std::time::Duration::from_millis(300);
    let (floor, _) = Floor::start(store.clone(), settings, clock.now())
        .await
        .expect("floor");
    let stop = tokio_util::sync::CancellationToken::new();
    let timer = tokio::spawn(floor.clone().run(clock.clone(), stop.clone()));
    let mut changes = floor.subscribe();
    for input in [
        AgentInput::Login,
        AgentInput::LegAnswered,
        AgentInput::SetReady,
        AgentInput::Reserve { call: "c1".into() },
        AgentInput::CustomerConnected { call: "c1".into() },
        AgentInput::CustomerEnded {
            call: "c1".into(),
            agent_spoke: true,
        },
    ] {
        floor
            .apply("ayesha", input, clock.now())
            .await
            .expect("input");
    }
    let wrap_up_at = floor.state("ayesha").await.1;
    let ended = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let e = changes.recv().await.expect("changes");
            if e.transition.reason == Reason::WrapUpTimeout {
                return e;
            }
        }
    })
    .await
    .expect("the wrap-up ended within 5 s");
    // after_wrap_up = "paused" in CONFIG; dated at the deadline itself.
    assert_eq!(ended.transition.to.kind().as_str(), "paused");
    assert_eq!(
        ended.transition.at,
        wrap_up_at + chrono::Duration::milliseconds(300)
    );
    stop.cancel();
    timer.await.expect("timer task");
}
