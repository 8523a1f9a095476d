//! Agents, agent calls and keypad payments over HTTP on 127.0.0.1 (issue #5),
//! against a real store (SQLite and PostgreSQL) and a recording call layer:
//! the test double only writes down what the API asked and can be told to
//! refuse; the test itself moves rows along in the store and publishes on
//! the hub, as the call layer will.

#[macro_use]
mod support;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use orderline::api::{
    event_body, CallControl, ControlError, DialRequest, PaymentHub, PaymentRequest, PaymentUpdate,
};
use orderline::config::Config;
use orderline::ivr::payment::{Step, StepStatus};
use orderline::store::{
    AgentCallStatus, AgentCallUpdate, PaymentResult, PaymentStatus, PaymentStep,
};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;
use support::api::{Api, TOKEN};
use support::store::TestDb;

on_both_backends!(
    auth_matrix,
    bad_fields_are_named,
    not_found_conflict_and_unavailable,
    pending_payment_cancelled_once,
    sse_replays_then_follows_live_then_closes,
    payment_json_and_webhook_carry_only_documented_keys,
);

const AYESHA: &str = "ayesha-token-0123456789";
const BILAL: &str = "bilal-token-0123456789";

const CONFIG: &str = r#"
[http]
api_tokens = ["t0k-merchant"]

[calling]
window = "09:00-21:00"
timezone = "UTC"

[[agents]]
id = "ayesha"
name = "Ayesha Khan"
sip_uri = "sip:ayesha@127.0.0.1:5080"
api_token = "ayesha-token-0123456789"

[[agents]]
id = "bilal"
name = "Bilal Ahmed"
sip_uri = "sip:bilal@127.0.0.1:5081"
api_token = "bilal-token-0123456789"
"#;

/// What the API asked of the call layer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Asked {
    Dial(DialRequest),
    StartPayment(PaymentRequest),
    PaymentCancelled { call_id: String, payment_id: String },
    HangUp(String),
}

/// The recording test double: no SIP, no media; it answers with `refuse`
/// when set.
#[derive(Default)]
struct Recorder {
    asked: Mutex<Vec<Asked>>,
    refuse: Mutex<Option<ControlError>>,
}

impl Recorder {
    fn record(&self, a: Asked) -> Result<(), ControlError> {
        self.asked.lock().unwrap().push(a);
        match self.refuse.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn asked(&self) -> Vec<Asked> {
        self.asked.lock().unwrap().clone()
    }

    fn refuse(&self, e: Option<ControlError>) {
        *self.refuse.lock().unwrap() = e;
    }
}

impl CallControl for Recorder {
    fn dial(&self, req: DialRequest) -> Result<(), ControlError> {
        self.record(Asked::Dial(req))
    }
    fn start_payment(&self, req: PaymentRequest) -> Result<(), ControlError> {
        self.record(Asked::StartPayment(req))
    }
    fn payment_cancelled(&self, call_id: &str, payment_id: &str) {
        let _ = self.record(Asked::PaymentCancelled {
            call_id: call_id.into(),
            payment_id: payment_id.into(),
        });
    }
    fn hang_up(&self, call_id: &str) -> Result<(), ControlError> {
        self.record(Asked::HangUp(call_id.into()))
    }
}

struct Harness {
    api: Api,
    recorder: Arc<Recorder>,
    hub: Arc<PaymentHub>,
}

/// The API with the config's agents synced, and (if `control`) the
/// recording call layer connected.
async fn harness(db: &TestDb, control: bool) -> Harness {
    let store = db.open().await;
    let config = Config::from_toml(CONFIG).expect("config");
    store
        .sync_config_agents(&config.agents, now())
        .await
        .expect("sync agents");
    let recorder = Arc::new(Recorder::default());
    let hub = Arc::new(PaymentHub::new());
    let (r, h) = (recorder.clone(), hub.clone());
    let api = Api::start_with(store, CONFIG, move |state| {
        let state = state.with_keep_alive(Duration::from_millis(300));
        if control {
            state.with_call_control(r, h)
        } else {
            state
        }
    })
    .await;
    Harness { api, recorder, hub }
}

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_millis(support::api::T0).expect("T0")
}

impl Harness {
    async fn as_(
        &self,
        token: Option<&str>,
        method: Method,
        path: &str,
        body: Option<&str>,
    ) -> (u16, Value) {
        self.api.send_as(token, method, path, body).await
    }

    async fn get(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        self.as_(token, Method::GET, path, None).await
    }

    async fn post(&self, token: Option<&str>, path: &str, body: &str) -> (u16, Value) {
        self.as_(token, Method::POST, path, Some(body)).await
    }

    async fn delete(&self, token: Option<&str>, path: &str) -> (u16, Value) {
        self.as_(token, Method::DELETE, path, None).await
    }

    /// Place a call for `agent` as the merchant and bridge it in the store.
    async fn bridged_call(&self, agent: &str) -> String {
        let (status, call) = self
            .as_(
                Some(TOKEN),
                Method::POST,
                "/v1/calls",
                Some(&format!(
                    r#"{{"agent":"{agent}","to":"+923001234567","order_id":"A-1"}}"#
                )),
            )
            .await;
        assert_eq!(status, 201, "{call}");
        let id = call["id"].as_str().expect("id").to_string();
        let bridge = AgentCallUpdate {
            agent_cause: Some("answered".into()),
            customer_cause: Some("answered".into()),
            ..AgentCallUpdate::status(AgentCallStatus::Bridged)
        };
        self.api
            .store
            .update_agent_call(&id, &bridge, now())
            .await
            .expect("bridge");
        id
    }

    /// The gateway approved: end the in-progress payment in the store, as
    /// the call layer does (publishing is left to the test).
    async fn approve(&self, payment: &str, transaction_id: &str) {
        let result = PaymentResult {
            status: PaymentStatus::Succeeded,
            brand: Some("visa".into()),
            last_four: Some("4242".into()),
            transaction_id: Some(transaction_id.into()),
            token: Some("tok_sandbox_never_shown".into()),
            reason: None,
        };
        self.api
            .store
            .finish_payment(payment, &result, &[PaymentStatus::InProgress], now())
            .await
            .expect("finish")
            .expect("it was in progress");
    }

    /// Request a payment that must be accepted; its id.
    async fn payment_id(&self, token: &str, call: &str) -> String {
        let (status, pay) = self.request_payment(token, call).await;
        assert_eq!(status, 201, "{pay}");
        pay["id"].as_str().expect("id").to_string()
    }

    async fn request_payment(&self, token: &str, call: &str) -> (u16, Value) {
        self.post(
            Some(token),
            &format!("/v1/calls/{call}/payments"),
            r#"{"item":"Blue kurta","amount":"2500.00","currency":"PKR"}"#,
        )
        .await
    }
}

async fn auth_matrix(db: TestDb) {
    let h = harness(&db, true).await;
    let m = Some(TOKEN);
    // No token, or an unknown one: 401 everywhere but the public routes.
    for token in [None, Some("nope-not-a-token-000")] {
        for (method, path) in [
            (Method::GET, "/v1/calls"),
            (Method::GET, "/v1/payments/pay_x"),
            (Method::GET, "/v1/agents"),
            (Method::GET, "/v1/orders"),
        ] {
            let (status, body) = h.as_(token, method.clone(), path, None).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {body}");
        }
    }
    // Agent tokens: 403 on orders, rules, agents.
    for (method, path, body) in [
        (Method::GET, "/v1/orders", None),
        (Method::POST, "/v1/orders", Some("{}")),
        (Method::GET, "/v1/orders/A-1", None),
        (Method::GET, "/v1/orders.csv", None),
        (Method::GET, "/v1/rules", None),
        (Method::GET, "/v1/agents", None),
        (
            Method::POST,
            "/v1/agents",
            Some(r#"{"id":"x","name":"X","sip_uri":"sip:x@127.0.0.1"}"#),
        ),
    ] {
        let (status, err) = h.as_(Some(AYESHA), method.clone(), path, body).await;
        assert_eq!(status, 403, "{method} {path}: {err}");
        assert!(err["error"].is_string());
    }

    // An agent places a call as itself (agent omitted), not as another.
    let (status, call) = h
        .post(Some(AYESHA), "/v1/calls", r#"{"to":"+923001234567"}"#)
        .await;
    assert_eq!(status, 201, "{call}");
    assert_eq!(
        (call["agent"].as_str(), call["agent_name"].as_str()),
        (Some("ayesha"), Some("Ayesha Khan"))
    );
    for (agent, want) in [("bilal", 403), ("ayesha", 201)] {
        let body = format!(r#"{{"agent":"{agent}","to":"+923001234567"}}"#);
        let (status, _) = h.post(Some(AYESHA), "/v1/calls", &body).await;
        assert_eq!(status, want, "ayesha placing a call as {agent}");
    }

    // The merchant's call for ayesha: hers to see and act on, not bilal's.
    let call_id = h.bridged_call("ayesha").await;
    let (status, pay) = h.request_payment(AYESHA, &call_id).await;
    assert_eq!(status, 201, "{pay}");
    let pay_id = pay["id"].as_str().expect("id").to_string();
    for (token, want) in [(m, 200), (Some(AYESHA), 200), (Some(BILAL), 404)] {
        for path in [
            format!("/v1/calls/{call_id}"),
            format!("/v1/payments/{pay_id}"),
        ] {
            let (status, body) = h.get(token, &path).await;
            assert_eq!(status, want, "{path} as {token:?}: {body}");
        }
    }
    // Bilal can neither see nor touch them: 404, as for ids that do not exist.
    for (method, path) in [
        (Method::GET, format!("/v1/payments/{pay_id}/events")),
        (Method::POST, format!("/v1/calls/{call_id}/payments")),
        (Method::DELETE, format!("/v1/payments/{pay_id}")),
        (Method::DELETE, format!("/v1/calls/{call_id}")),
    ] {
        let body = r#"{"item":"Blue kurta","amount":"2500.00","currency":"PKR"}"#;
        let (status, err) = h.as_(Some(BILAL), method.clone(), &path, Some(body)).await;
        assert_eq!(status, 404, "{method} {path}: {err}");
    }
    assert_eq!(
        h.api
            .store
            .get_payment(&pay_id)
            .await
            .unwrap()
            .unwrap()
            .status,
        PaymentStatus::Pending,
        "bilal changed nothing"
    );

    // Listings: an agent sees its own only.
    let count = |v: &Value| v["calls"].as_array().expect("calls").len();
    let (_, all) = h.get(m, "/v1/calls").await;
    let (_, mine) = h.get(Some(AYESHA), "/v1/calls").await;
    let (_, his) = h.get(Some(BILAL), "/v1/calls").await;
    assert_eq!((count(&all), count(&mine), count(&his)), (3, 3, 0));
    let (_, bridged) = h.get(Some(AYESHA), "/v1/calls?status=bridged").await;
    assert_eq!(bridged["calls"][0]["id"].as_str(), Some(call_id.as_str()));
    assert_eq!(count(&bridged), 1);
    assert_eq!(bridged["calls"][0]["payments"], json!([pay_id]));

    // An agent made through the API gets a token that works once shown.
    let (status, made) = h
        .post(
            m,
            "/v1/agents",
            r#"{"id":"sana","name":"Sana","sip_uri":"sip:sana@127.0.0.1:5082"}"#,
        )
        .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["source"], "api");
    let token = made["api_token"].as_str().expect("token").to_string();
    let (status, list) = h.get(Some(&token), "/v1/calls").await;
    assert_eq!((status, count(&list)), (200, 0));
    let (status, _) = h.get(Some(&token), "/v1/agents").await;
    assert_eq!(status, 403);
    let (_, agents) = h.get(m, "/v1/agents").await;
    let listed: Vec<(String, String)> = agents["agents"]
        .as_array()
        .expect("agents")
        .iter()
        .map(|a| {
            (
                a["id"].as_str().unwrap().to_string(),
                a["source"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("ayesha".into(), "config".into()),
            ("bilal".into(), "config".into()),
            ("sana".into(), "api".into())
        ]
    );
    assert!(
        agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a.get("api_token").is_none()),
        "{agents}"
    );
    h.api.stop().await;
}

async fn bad_fields_are_named(db: TestDb) {
    let h = harness(&db, true).await;
    let m = Some(TOKEN);
    let cases: Vec<(&str, &str, Option<&str>)> = vec![
        ("/v1/calls", r#"{"agent":"ayesha"}"#, Some("to")),
        ("/v1/calls", r#"{"agent":"ayesha","to":"12"}"#, Some("to")),
        (
            "/v1/calls",
            r#"{"agent":"ayesha","to":"+92300abc"}"#,
            Some("to"),
        ),
        (
            "/v1/calls",
            r#"{"agent":"ayesha","to":"123456789012345678901"}"#,
            Some("to"),
        ),
        (
            "/v1/calls",
            r#"{"agent":"ayesha","to":923001234567}"#,
            Some("to"),
        ),
        ("/v1/calls", r#"{"to":"+923001234567"}"#, Some("agent")),
        (
            "/v1/calls",
            r#"{"agent":"ayesha","to":"+923001234567","order_id":7}"#,
            Some("order_id"),
        ),
        (
            "/v1/calls",
            r#"{"agent":"ayesha","to":"+923001234567","colour":"red"}"#,
            Some("colour"),
        ),
        ("/v1/calls", r#"[1]"#, Some("body")),
        ("/v1/calls", r#"{"agent":"#, None),
        (
            "/v1/agents",
            r#"{"id":"x y","name":"X","sip_uri":"sip:x@127.0.0.1"}"#,
            Some("id"),
        ),
        (
            "/v1/agents",
            r#"{"id":"x","name":"","sip_uri":"sip:x@127.0.0.1"}"#,
            Some("name"),
        ),
        (
            "/v1/agents",
            r#"{"id":"x","name":"X","sip_uri":"tel:123"}"#,
            Some("sip_uri"),
        ),
        ("/v1/agents", r#"{"id":"x","name":"X"}"#, Some("sip_uri")),
    ];
    for (path, body, field) in cases {
        let (status, err) = h.post(m, path, body).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (if field.is_some() { 422 } else { 400 }, field),
            "{path} {body}: {err}"
        );
        assert!(err["error"].is_string(), "{err}");
    }
    let call = h.bridged_call("ayesha").await;
    let path = format!("/v1/calls/{call}/payments");
    for (body, field) in [
        (r#"{"amount":"1","currency":"PKR"}"#, "item"),
        (r#"{"item":"","amount":"1","currency":"PKR"}"#, "item"),
        (
            &*format!(
                r#"{{"item":"{}","amount":"1","currency":"PKR"}}"#,
                "x".repeat(201)
            ),
            "item",
        ),
        (r#"{"item":"Kurta","currency":"PKR"}"#, "amount"),
        (
            r#"{"item":"Kurta","amount":"0","currency":"PKR"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"-5","currency":"PKR"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"12.345","currency":"PKR"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":12.345,"currency":"PKR"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"1000000.01","currency":"PKR"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"1e3","currency":"PKR"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"10","currency":"pkr"}"#,
            "currency",
        ),
        (
            r#"{"item":"Kurta","amount":"10","currency":"PKRR"}"#,
            "currency",
        ),
        (
            r#"{"item":"Kurta","amount":"10","currency":"XYZ"}"#,
            "currency",
        ),
        // More decimals than the currency has (ISO 4217: JPY 0, KWD 3).
        (
            r#"{"item":"Kurta","amount":"2500.5","currency":"JPY"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"1.2345","currency":"KWD"}"#,
            "amount",
        ),
        (
            r#"{"item":"Kurta","amount":"10","currency":"PKR","card":"4242"}"#,
            "card",
        ),
    ] {
        let (status, err) = h.post(m, &path, body).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (422, Some(field)),
            "{body}: {err}"
        );
    }
    // A JSON number amount is read from its literal, never through a float.
    let (status, p) = h
        .post(
            m,
            &path,
            r#"{"item":"Kurta","amount":1000000,"currency":"PKR"}"#,
        )
        .await;
    assert_eq!(
        (status, p["amount"].as_str()),
        (201, Some("1000000.00")),
        "{p}"
    );
    let (status, err) = h.get(m, "/v1/calls?status=nope").await;
    assert_eq!((status, err["field"].as_str()), (400, Some("status")));
    let (status, err) = h.get(m, "/v1/calls?colour=red").await;
    assert_eq!((status, err["field"].as_str()), (400, Some("colour")));
    h.api.stop().await;
}

async fn not_found_conflict_and_unavailable(db: TestDb) {
    // No call layer: the routes that need it say so with 503.
    let off = harness(&db, false).await;
    let (status, err) = off
        .post(
            Some(TOKEN),
            "/v1/calls",
            r#"{"agent":"ayesha","to":"+923001234567"}"#,
        )
        .await;
    assert_eq!(status, 503, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("call layer"),
        "{err}"
    );
    let (_, list) = off.get(Some(TOKEN), "/v1/calls").await;
    assert_eq!(
        list["calls"],
        json!([]),
        "nothing stored when nothing can dial"
    );
    off.api.stop().await;

    let h = harness(&db, true).await;
    let m = Some(TOKEN);
    let (status, err) = h
        .post(m, "/v1/calls", r#"{"agent":"zoe","to":"+923001234567"}"#)
        .await;
    assert_eq!(status, 404, "{err}");
    for path in [
        "/v1/calls/call_nope",
        "/v1/payments/pay_nope",
        "/v1/payments/pay_nope/events",
    ] {
        let (status, _) = h.get(m, path).await;
        assert_eq!(status, 404, "{path}");
    }
    let (status, _) = h.request_payment(TOKEN, "call_nope").await;
    assert_eq!(status, 404);

    // A dial the call layer refuses: the call is stored as failed, 503.
    h.recorder.refuse(Some(ControlError::Unavailable));
    let (status, err) = h
        .post(m, "/v1/calls", r#"{"agent":"ayesha","to":"+923001234567"}"#)
        .await;
    assert_eq!(status, 503, "{err}");
    h.recorder.refuse(None);
    let (_, list) = h.get(m, "/v1/calls").await;
    assert_eq!(list["calls"][0]["status"], "failed");
    assert_eq!(list["calls"][0]["agent_cause"], "unavailable");
    assert!(list["calls"][0]["ended_at"].is_string());

    // A call that is not bridged yet takes no payment.
    let (status, call) = h
        .post(
            m,
            "/v1/calls",
            r#"{"agent":"ayesha","to":"+923001234567","order_id":"A-9"}"#,
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(call["status"], "dialing_agent");
    let dialing = call["id"].as_str().unwrap().to_string();
    assert!(
        dialing.starts_with("call_") && dialing.len() == 25,
        "{dialing}"
    );
    assert_eq!(
        h.recorder.asked().last(),
        Some(&Asked::Dial(DialRequest {
            call_id: dialing.clone(),
            agent_id: "ayesha".into(),
            agent_name: "Ayesha Khan".into(),
            agent_uri: "sip:ayesha@127.0.0.1:5080".into(),
            agent_srtp: orderline::config::SrtpMode::Off,
            to: "+923001234567".into(),
            order_id: Some("A-9".into()),
        }))
    );
    let (status, err) = h.request_payment(TOKEN, &dialing).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (409, Some("call")),
        "{err}"
    );

    // Bridged: one payment at a time.
    let call_id = h.bridged_call("ayesha").await;
    let (status, pay) = h.request_payment(TOKEN, &call_id).await;
    assert_eq!(status, 201, "{pay}");
    let pay_id = pay["id"].as_str().unwrap().to_string();
    assert!(pay_id.starts_with("pay_") && pay_id.len() == 24, "{pay_id}");
    assert_eq!(
        h.recorder.asked().last(),
        Some(&Asked::StartPayment(PaymentRequest {
            payment_id: pay_id.clone(),
            call_id: call_id.clone(),
            item: "Blue kurta".into(),
            amount: orderline::money::Money::from_minor(250_000, orderline::money::Currency::PKR),
        }))
    );
    let (status, err) = h.request_payment(TOKEN, &call_id).await;
    assert_eq!(
        (status, err["field"].as_str()),
        (409, Some("call")),
        "{err}"
    );

    // The call layer refuses to start one: stored as failed, 409 / 503.
    for (refusal, want) in [
        (ControlError::NotLive, 409),
        (ControlError::Busy, 409),
        (ControlError::Unavailable, 503),
    ] {
        let other = h.bridged_call("bilal").await;
        h.recorder.refuse(Some(refusal.clone()));
        let (status, err) = h.request_payment(TOKEN, &other).await;
        h.recorder.refuse(None);
        assert_eq!(status, want, "{refusal:?}: {err}");
        let (_, c) = h.get(m, &format!("/v1/calls/{other}")).await;
        let failed = c["payments"][0].as_str().expect("the payment was stored");
        let p = h.api.store.get_payment(failed).await.unwrap().unwrap();
        assert_eq!(
            (p.status, p.reason.map(|r| r.to_string())),
            (PaymentStatus::Failed, Some("not_started".to_string()))
        );
        assert_eq!(
            h.api.store.active_payment(&other).await.unwrap(),
            None,
            "the call can try again"
        );
    }

    // Hang up: asked of the call layer; 409 once ended or refused.
    let (status, _) = h.delete(m, &format!("/v1/calls/{dialing}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        h.recorder.asked().last(),
        Some(&Asked::HangUp(dialing.clone()))
    );
    h.recorder.refuse(Some(ControlError::NotLive));
    let (status, _) = h.delete(m, &format!("/v1/calls/{call_id}")).await;
    assert_eq!(status, 409);
    h.recorder.refuse(None);
    let ended = AgentCallUpdate {
        agent_cause: Some("api_hangup".into()),
        ..AgentCallUpdate::status(AgentCallStatus::Ended)
    };
    h.api
        .store
        .update_agent_call(&dialing, &ended, now())
        .await
        .unwrap();
    let asked = h.recorder.asked().len();
    let (status, err) = h.delete(m, &format!("/v1/calls/{dialing}")).await;
    assert_eq!(status, 409, "{err}");
    assert!(err["error"].as_str().unwrap().contains("ended"), "{err}");
    assert_eq!(
        h.recorder.asked().len(),
        asked,
        "an ended call is not asked about"
    );
    h.api.stop().await;
}

async fn pending_payment_cancelled_once(db: TestDb) {
    let h = harness(&db, true).await;
    let call_id = h.bridged_call("ayesha").await;
    let pay_id = h.payment_id(AYESHA, &call_id).await;
    let path = format!("/v1/payments/{pay_id}");
    let (status, cancelled) = h.delete(Some(AYESHA), &path).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["note"]["status"], "cancelled");
    assert_eq!(cancelled["note"]["agent_name"], "Ayesha Khan");
    assert_eq!(
        h.recorder.asked().last(),
        Some(&Asked::PaymentCancelled {
            call_id: call_id.clone(),
            payment_id: pay_id.clone()
        })
    );
    let (status, err) = h.delete(Some(AYESHA), &path).await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("cancelled"),
        "{err}"
    );

    // Once the caller keys, the X is refused, naming the status.
    let running = h.payment_id(AYESHA, &call_id).await;
    assert!(h
        .api
        .store
        .mark_payment_in_progress(&running, now())
        .await
        .unwrap());
    let (status, err) = h
        .delete(Some(AYESHA), &format!("/v1/payments/{running}"))
        .await;
    assert_eq!(status, 409, "{err}");
    assert!(
        err["error"].as_str().unwrap().contains("in_progress"),
        "{err}"
    );
    h.api.stop().await;
}

/// A text/event-stream reader over reqwest's chunks.
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

#[derive(Debug, PartialEq)]
enum Ev {
    Comment(String),
    Event(String, Value),
}

impl Sse {
    async fn open(api: &Api, token: &str, payment: &str) -> Sse {
        let resp = api
            .http
            .get(api.url(&format!("/v1/payments/{payment}/events")))
            .bearer_auth(token)
            .send()
            .await
            .expect("events");
        assert_eq!(resp.status().as_u16(), 200);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        Sse {
            resp,
            buf: String::new(),
        }
    }

    /// The next event or comment; `None` when the server closed the stream.
    async fn next(&mut self) -> Option<Ev> {
        loop {
            if let Some(cut) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..cut + 2).collect();
                let (mut name, mut data, mut comment) = (None, Vec::new(), None);
                for line in block.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        comment = Some(c.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        name = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push(v.to_string());
                    }
                }
                return Some(match name {
                    Some(n) => Ev::Event(
                        n,
                        serde_json::from_str(&data.join("\n")).expect("data is JSON"),
                    ),
                    None => Ev::Comment(comment.unwrap_or_default()),
                });
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), self.resp.chunk())
                .await
                .expect("an event within 10 s")
                .expect("chunk")?;
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("utf-8"));
        }
    }

    /// The next event, skipping keep-alive comments.
    async fn event(&mut self) -> (String, Value) {
        loop {
            match self.next().await {
                Some(Ev::Event(n, v)) => return (n, v),
                Some(Ev::Comment(_)) => continue,
                None => panic!("stream closed early"),
            }
        }
    }
}

fn step(step: Step, status: StepStatus, reason: Option<&str>, ms: i64) -> PaymentStep {
    PaymentStep {
        step,
        status,
        reason: reason.map(str::to_string),
        at: DateTime::from_timestamp_millis(support::api::T0 + ms).unwrap(),
    }
}

async fn sse_replays_then_follows_live_then_closes(db: TestDb) {
    let h = harness(&db, true).await;
    let store = &h.api.store;
    let call_id = h.bridged_call("ayesha").await;
    let pay_id = h.payment_id(AYESHA, &call_id).await;
    // Before anyone listens: the caller keys the amount (stored, published to nobody).
    assert!(store
        .mark_payment_in_progress(&pay_id, now())
        .await
        .unwrap());
    h.hub
        .publish(&pay_id, PaymentUpdate::Status(PaymentStatus::InProgress));
    let early = [
        step(Step::Amount, StepStatus::Completed, None, 1000),
        step(Step::CardNumber, StepStatus::Entering, None, 1100),
    ];
    for s in &early {
        store.add_payment_step(&pay_id, s).await.unwrap();
        h.hub.publish(&pay_id, PaymentUpdate::Step(s.clone()));
    }

    let mut sse = Sse::open(&h.api, AYESHA, &pay_id).await;
    assert_eq!(
        sse.event().await,
        (
            "step".into(),
            json!({"step":"amount","status":"completed","reason":null,"at":"2026-11-23T10:00:01.000Z"})
        )
    );
    assert_eq!(sse.event().await.1["step"], "card_number");
    assert_eq!(
        sse.event().await,
        ("status".into(), json!({"status":"in_progress"}))
    );
    // Idle: a keep-alive comment.
    assert_eq!(sse.next().await, Some(Ev::Comment("keep-alive".into())));

    // Live, written then published as the call layer does.
    let live = [
        step(
            Step::CardNumber,
            StepStatus::ReEntering,
            Some("card_number_check_digit"),
            2000,
        ),
        step(Step::CardNumber, StepStatus::Completed, None, 3000),
        step(Step::Expiry, StepStatus::Completed, None, 4000),
    ];
    for s in &live {
        store.add_payment_step(&pay_id, s).await.unwrap();
        h.hub.publish(&pay_id, PaymentUpdate::Step(s.clone()));
    }
    let (name, data) = sse.event().await;
    assert_eq!(
        (name.as_str(), &data["status"], &data["reason"]),
        (
            "step",
            &json!("re-entering"),
            &json!("card_number_check_digit")
        )
    );
    assert_eq!(sse.event().await.1["status"], "completed");
    assert_eq!(sse.event().await.1["step"], "expiry");
    // A second stream replays all five; a step it read from the store and
    // then receives live (the subscribe-then-read overlap) is not repeated.
    let mut second = Sse::open(&h.api, TOKEN, &pay_id).await;
    for _ in 0..5 {
        assert_eq!(second.event().await.0, "step");
    }
    assert_eq!(second.event().await.0, "status");
    h.hub.publish(&pay_id, PaymentUpdate::Step(live[2].clone()));

    h.approve(&pay_id, "txn_sandbox_7").await;
    h.hub
        .publish(&pay_id, PaymentUpdate::Status(PaymentStatus::Succeeded));
    h.hub.publish(&pay_id, PaymentUpdate::Finished);
    assert_eq!(
        sse.event().await,
        ("status".into(), json!({"status":"succeeded"}))
    );
    let (name, paid) = sse.event().await;
    assert_eq!(name, "result");
    assert_eq!(
        (
            paid["status"].as_str(),
            paid["brand"].as_str(),
            paid["last_four"].as_str()
        ),
        (Some("succeeded"), Some("visa"), Some("4242"))
    );
    assert_eq!(paid["transaction_id"], "txn_sandbox_7");
    assert_eq!(paid["steps"].as_array().unwrap().len(), 5);
    assert_eq!(sse.next().await, None, "the stream closes after the result");
    assert_eq!(second.event().await.0, "status");
    assert_eq!(second.event().await.0, "result");
    assert_eq!(second.next().await, None);
    assert_eq!(h.hub.channels(), 0, "the hub let go of the payment");

    // A finished payment: replay, status, result, close at once.
    let mut late = Sse::open(&h.api, AYESHA, &pay_id).await;
    let mut names = Vec::new();
    while let Some(ev) = late.next().await {
        if let Ev::Event(n, _) = ev {
            names.push(n);
        }
    }
    assert_eq!(
        names,
        ["step", "step", "step", "step", "step", "status", "result"]
    );

    // The agent's X reaches a stream watching a pending payment.
    let pending = h.payment_id(AYESHA, &call_id).await;
    let mut watch = Sse::open(&h.api, AYESHA, &pending).await;
    assert_eq!(
        watch.event().await,
        ("status".into(), json!({"status":"pending"}))
    );
    let (status, _) = h
        .delete(Some(AYESHA), &format!("/v1/payments/{pending}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        watch.event().await,
        ("status".into(), json!({"status":"cancelled"}))
    );
    assert_eq!(watch.event().await.0, "result");
    assert_eq!(watch.next().await, None);
    drop((sse, second, late, watch));

    // A shutdown ends the streams still open instead of waiting on them.
    let waiting = h.payment_id(AYESHA, &call_id).await;
    let mut open = Sse::open(&h.api, AYESHA, &waiting).await;
    assert_eq!(open.event().await.0, "status");
    tokio::time::timeout(Duration::from_secs(5), h.api.stop())
        .await
        .expect("the server stops with an SSE stream open");
    assert_eq!(open.next().await, None);
}

async fn payment_json_and_webhook_carry_only_documented_keys(db: TestDb) {
    let h = harness(&db, true).await;
    let call_id = h.bridged_call("ayesha").await;
    let pay_id = h.payment_id(AYESHA, &call_id).await;
    let store = &h.api.store;
    store
        .mark_payment_in_progress(&pay_id, now())
        .await
        .unwrap();
    store
        .add_payment_step(
            &pay_id,
            &step(Step::CardNumber, StepStatus::Completed, None, 10),
        )
        .await
        .unwrap();
    h.approve(&pay_id, "txn_sandbox_9").await;

    let keys = |v: &Value| -> BTreeSet<String> {
        v.as_object().expect("object").keys().cloned().collect()
    };
    let set = |k: &[&str]| -> BTreeSet<String> { k.iter().map(|s| s.to_string()).collect() };
    let (status, p) = h.get(Some(AYESHA), &format!("/v1/payments/{pay_id}")).await;
    assert_eq!(status, 200);
    // The gateway token is stored but never shown (it could charge the card again).
    assert!(!p.to_string().contains("tok_sandbox_never_shown"), "{p}");
    assert_eq!(
        keys(&p),
        set(&[
            "id",
            "call_id",
            "agent",
            "item",
            "amount",
            "currency",
            "status",
            "steps",
            "brand",
            "last_four",
            "transaction_id",
            "reason",
            "note",
            "created_at",
            "updated_at"
        ])
    );
    assert_eq!(
        keys(&p["steps"][0]),
        set(&["step", "status", "reason", "at"])
    );
    assert_eq!(
        keys(&p["note"]),
        set(&[
            "agent_name",
            "product",
            "transaction_id",
            "amount",
            "currency",
            "status",
            "timestamp"
        ])
    );
    assert_eq!(p["note"]["timestamp"], "2026-11-23 10:00:00");
    let (_, c) = h.get(Some(AYESHA), &format!("/v1/calls/{call_id}")).await;
    assert_eq!(
        keys(&c),
        set(&[
            "id",
            "agent",
            "agent_name",
            "to",
            "order_id",
            "status",
            "agent_cause",
            "customer_cause",
            "ended_by",
            "created_at",
            "agent_answered_at",
            "bridged_at",
            "ended_at",
            "payments"
        ])
    );

    // The webhook as it will be sent.
    let events = store
        .next_due(now(), Duration::from_secs(60), 100)
        .await
        .unwrap();
    let hooks: Vec<_> = events
        .iter()
        .filter(|e| e.event_type.starts_with("payment."))
        .collect();
    assert_eq!(hooks.len(), 1);
    let body: Value = serde_json::from_slice(&event_body(hooks[0])).unwrap();
    assert_eq!(body["type"], "payment.completed");
    assert_eq!(keys(&body), set(&["type", "timestamp", "data"]));
    assert_eq!(
        keys(&body["data"]),
        set(&[
            "payment_id",
            "call_id",
            "order_id",
            "agent_id",
            "agent_name",
            "product",
            "transaction_id",
            "amount",
            "currency",
            "status",
            "timestamp",
            "brand",
            "last_four",
            "reason"
        ])
    );
    assert_eq!(body["data"]["order_id"], "A-1");
    // No value but ids and times holds a run of more than four digits.
    fn walk(key: &str, v: &Value, out: &mut Vec<String>) {
        const SKIP: [&str; 7] = [
            "id",
            "call_id",
            "payment_id",
            "created_at",
            "updated_at",
            "at",
            "timestamp",
        ];
        match v {
            Value::Object(m) => m.iter().for_each(|(k, v)| walk(k, v, out)),
            Value::Array(a) => a.iter().for_each(|v| walk(key, v, out)),
            Value::String(s) if !SKIP.contains(&key) => out.push(s.clone()),
            Value::Number(n) => out.push(n.to_string()),
            _ => {}
        }
    }
    let mut values = Vec::new();
    walk("", &p, &mut values);
    walk("", &body, &mut values);
    for v in values {
        assert!(
            v.split(|c: char| !c.is_ascii_digit())
                .all(|run| run.len() <= 4),
            "digit run in {v:?}"
        );
    }
    h.api.stop().await;
}

#[tokio::test]
async fn agent_page_is_served_with_a_strict_csp() {
    let db = support::store::sqlite_db();
    let api = Api::start(db.open().await).await;
    let resp = api.http.get(api.url("/agent")).send().await.expect("page");
    assert_eq!(resp.status().as_u16(), 200, "no token needed");
    assert_eq!(resp.headers()["content-type"], "text/html; charset=utf-8");
    let csp = resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    let html = resp.text().await.unwrap();
    assert!(csp.starts_with("default-src 'self';"), "{csp}");
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval") && !csp.contains('*'),
        "{csp}"
    );
    assert!(
        csp.contains("connect-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    // The inline script and style are allowed by their hashes, and only they.
    for tag in ["script", "style"] {
        let inner = html
            .split_once(&format!("<{tag}>"))
            .and_then(|(_, r)| r.split_once(&format!("</{tag}>")))
            .expect(tag)
            .0;
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(inner.as_bytes()));
        assert!(
            csp.contains(&format!("{tag}-src 'sha256-{hash}'")),
            "{tag} hash in {csp}"
        );
        assert_eq!(
            html.matches(&format!("<{tag}")).count(),
            1,
            "one inline {tag}"
        );
    }
    for id in [
        "token",
        "refresh",
        "calls",
        "call-id",
        "item",
        "amount",
        "currency",
        "request",
        "cancel",
        "result",
        "status",
        "step-amount",
        "step-card_number",
        "step-expiry",
        "step-cvc",
        "step-postal_code",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "element #{id}");
    }
    assert!(html.contains("data-status"));
    assert!(html.contains('✓'));
    // Token in sessionStorage and the Authorization header; never in a URL;
    // the stream read with fetch (EventSource cannot send headers).
    assert!(
        html.contains("sessionStorage")
            && html.contains("\"Authorization\"")
            && html.contains("getReader")
    );
    assert!(
        !html.contains("EventSource(")
            && !html.contains("?token")
            && !html.contains("localStorage")
    );
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"),
        "no external fetch"
    );
    assert!(
        !html.contains(" onclick=") && !html.contains("innerHTML"),
        "no inline handlers, no HTML injection"
    );
    assert!(html.contains("/v1/calls?status=bridged") && html.contains("/events"));
    api.stop().await;
}
