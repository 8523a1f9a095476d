//! Call modes over HTTP (issue #11) on 127.0.0.1 against a real store, SQLite
//! and PostgreSQL: status moves in and out of modes, the admin counts against
//! the stored rows after each step, the orders in line and their filters, bad
//! input named, agent tokens refused, operator access kept, and a restart
//! that rebuilds the daemon's queue from the same database.

#[macro_use]
#[allow(dead_code)]
mod store_support;
mod api_support;

use std::collections::BTreeMap;

use api_support::{order_body, Api, T0};
use chrono::{DateTime, Utc};
use orderline::config::Config;
use orderline::daemon::Dialup;
use orderline::ivr::Outcome;
use orderline::store::{AttemptReport, DialupMove, Store, StoreError};
use reqwest::Method;
use serde_json::{json, Value};
use store_support::TestDb;

on_both_backends!(
    status_moves_in_and_out_of_modes,
    bad_input_names_the_field_and_agents_get_403,
    operator_access_is_stored,
    restart_keeps_rows_and_releases_in_flight,
    a_failed_batch_writes_nothing,
    robo_call_outcomes_and_decisions_are_followed
);

/// Two projects, three modes; `processing` ticked per project, `flagged`
/// (built-in) ticked into `new` so a flagged order goes to a human.
const CONFIG: &str = r#"
[http]
api_tokens = ["t0k-merchant"]

[calling]
window = "09:00-21:00"
timezone = "UTC"

[campaign.flag_above]
new = "50000"

[[agents]]
id = "a1"
name = "Ayesha"
sip_uri = "sip:a1@127.0.0.1:5080"
api_token = "a1-token-0123456789"

[[dialer.modes]]
id = "new"
kind = "new_leads"
project = "default"
priority = 10
put_off = "30m"
max_attempts = 3
status_after_max = "no_contact"
agents = ["a1"]

[[dialer.modes]]
id = "shop2_new"
kind = "new_leads"
project = "shop2"
priority = 5
agents = ["a2"]

[[dialer.modes]]
id = "pickup"
kind = "before_buyout"
project = "default"
priority = 1

[[dialer.statuses]]
name = "processing"
mode = "new"

[[dialer.statuses]]
name = "processing"
mode = "shop2_new"

[[dialer.statuses]]
name = "awaiting_pickup"
mode = "pickup"

[[dialer.statuses]]
name = "shipped"

[[dialer.statuses]]
name = "no_contact"

[[dialer.statuses]]
name = "flagged"
mode = "new"
"#;

const AGENT_TOKEN: &str = "a1-token-0123456789";

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("time")
}

/// The daemon's side: the queue rebuilt from the store, as `daemon::run` does.
async fn daemon(store: &Store, now_ms: i64) -> (Dialup, orderline::daemon::Restored) {
    let config = Config::from_toml(CONFIG).expect("config");
    store
        .sync_config_agents(&config.agents, at(now_ms))
        .await
        .expect("agents");
    Dialup::start(store.clone(), &config, at(now_ms))
        .await
        .expect("dial-up restored")
}

async fn start(store: Store) -> (Api, Dialup) {
    let (dialup, restored) = daemon(&store, T0).await;
    assert!(restored.released.is_empty(), "{restored:?}");
    let handle = dialup.clone();
    let api = Api::start_with(store, CONFIG, move |s| s.with_dialup(handle)).await;
    (api, dialup)
}

fn with_project(body: &str, project: &str) -> String {
    let mut v: Value = serde_json::from_str(body).expect("body");
    v["project"] = json!(project);
    v.to_string()
}

async fn put_status(api: &Api, id: &str, status: &str) -> (u16, Value) {
    api.send(
        Method::PUT,
        &format!("/v1/orders/{id}/status"),
        Some(&json!({ "status": status }).to_string()),
    )
    .await
}

/// `{mode: {subqueue: n}}` from the API's overview, and the same from the
/// stored rows; asserts they agree and returns the API's.
async fn counts(api: &Api) -> BTreeMap<String, BTreeMap<String, u64>> {
    let (status, overview) = api.get("/v1/dialer/overview").await;
    assert_eq!(status, 200, "{overview}");
    let mut shown = BTreeMap::new();
    for m in overview["modes"].as_array().expect("modes") {
        let mut c = BTreeMap::new();
        for sub in ["unprocessed", "no_answer", "callback", "in_flight"] {
            let n = m["counts"][sub].as_u64().expect("count");
            if n > 0 {
                c.insert(sub.to_string(), n);
            }
        }
        shown.insert(m["id"].as_str().expect("id").to_string(), c);
    }
    let mut stored: BTreeMap<String, BTreeMap<String, u64>> =
        shown.keys().map(|k| (k.clone(), BTreeMap::new())).collect();
    for c in api.store.dialup_counts().await.expect("stored counts") {
        let sub = if c.in_flight {
            "in_flight".to_string()
        } else {
            serde_json::to_value(c.subqueue)
                .expect("sub")
                .as_str()
                .expect("str")
                .to_string()
        };
        *stored.entry(c.mode).or_default().entry(sub).or_default() += c.count;
    }
    assert_eq!(shown, stored, "the admin counts match the stored rows");
    shown
}

fn count_map(pairs: &[(&str, &[(&str, u64)])]) -> BTreeMap<String, BTreeMap<String, u64>> {
    let mut all: BTreeMap<String, BTreeMap<String, u64>> = ["new", "shop2_new", "pickup"]
        .iter()
        .map(|m| (m.to_string(), BTreeMap::new()))
        .collect();
    for (mode, subs) in pairs {
        for (sub, n) in *subs {
            all.get_mut(*mode)
                .expect("mode")
                .insert(sub.to_string(), *n);
        }
    }
    all
}

async fn line(api: &Api, query: &str) -> Vec<String> {
    let (status, body) = api.get(&format!("/v1/dialer/queue{query}")).await;
    assert_eq!(status, 200, "{query}: {body}");
    body["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| o["order_id"].as_str().expect("id").to_string())
        .collect()
}

async fn status_moves_in_and_out_of_modes(db: TestDb) {
    let (api, _dialup) = start(db.open().await).await;
    for (id, project) in [("D1", "default"), ("D2", "default"), ("S1", "shop2")] {
        let (status, o) = api
            .post(
                "/v1/orders",
                &with_project(&order_body(id, r#""1500""#, "new"), project),
            )
            .await;
        assert_eq!(status, 201, "{o}");
        assert_eq!(o["project"], project);
        assert_eq!(o["dialer"], Value::Null, "calling is not ticked");
        api.advance_ms(1_000);
    }
    assert_eq!(counts(&api).await, count_map(&[]));

    // A ticked status puts each order in its own project's mode.
    for id in ["D1", "D2", "S1"] {
        let (status, o) = put_status(&api, id, "processing").await;
        assert_eq!(status, 200, "{o}");
        assert_eq!(o["status"], "processing");
        let want = if id == "S1" { "shop2_new" } else { "new" };
        assert_eq!(
            o["dialer"],
            json!({ "mode": want, "subqueue": "unprocessed" }),
            "{id}"
        );
    }
    assert_eq!(
        counts(&api).await,
        count_map(&[
            ("new", &[("unprocessed", 2)]),
            ("shop2_new", &[("unprocessed", 1)])
        ])
    );
    // Dial order: mode priority (new 10 before shop2_new 5), oldest first inside.
    assert_eq!(line(&api, "").await, ["D1", "D2", "S1"]);
    assert_eq!(line(&api, "?mode=shop2_new").await, ["S1"]);
    assert_eq!(line(&api, "?project=default").await, ["D1", "D2"]);
    assert_eq!(
        line(&api, "?project=default&subqueue=unprocessed").await,
        ["D1", "D2"]
    );
    assert!(line(&api, "?subqueue=no_answer").await.is_empty());
    let (_, q) = api.get("/v1/dialer/queue?mode=new").await;
    assert_eq!(q["orders"][0]["reason"], "unprocessed", "{q}");
    assert_eq!(q["orders"][0]["attempts"], 0);
    assert_eq!(q["orders"][0]["subqueue"], "unprocessed");
    assert!(q["orders"][0]["due_at"].is_string());

    // Setting the same status again is no reset and no second history row.
    api.advance_ms(1_000);
    let (_, before) = api.get("/v1/orders/D1").await;
    let (status, _) = put_status(&api, "D1", "processing").await;
    assert_eq!(status, 200);
    let (_, after) = api.get("/v1/orders/D1").await;
    assert_eq!(before["history"], after["history"]);

    // An unticked status takes the order out; another tick moves it.
    let (_, o) = put_status(&api, "D1", "shipped").await;
    assert_eq!(
        (o["status"].clone(), o["dialer"].clone()),
        (json!("shipped"), Value::Null)
    );
    let (_, o) = put_status(&api, "D2", "awaiting_pickup").await;
    assert_eq!(
        o["dialer"],
        json!({ "mode": "pickup", "subqueue": "unprocessed" })
    );
    assert_eq!(
        counts(&api).await,
        count_map(&[
            ("pickup", &[("unprocessed", 1)]),
            ("shop2_new", &[("unprocessed", 1)])
        ])
    );
    assert_eq!(line(&api, "?project=default").await, ["D2"]);

    // The CSV export shows the same one status.
    let csv = api
        .http
        .get(api.url("/v1/orders.csv"))
        .bearer_auth(api_support::TOKEN)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("text");
    let d1 = csv.lines().find(|l| l.starts_with("D1,")).expect("D1 row");
    assert!(d1.split(',').any(|f| f == "shipped"), "{d1}");

    // A built-in status: the order's one status, with its history.
    let (_, o) = put_status(&api, "D2", "confirmed").await;
    assert_eq!(
        (o["status"].clone(), o["dialer"].clone()),
        (json!("confirmed"), Value::Null)
    );
    let (_, d2) = api.get("/v1/orders/D2").await;
    let steps: Vec<(Value, Value)> = d2["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["from"].clone(), h["to"].clone()))
        .collect();
    assert_eq!(
        steps,
        [
            (Value::Null, json!("calling")),
            (json!("calling"), json!("processing")),
            (json!("processing"), json!("awaiting_pickup")),
            (json!("awaiting_pickup"), json!("confirmed")),
        ]
    );

    // A new order whose first status is ticked (flagged → a human) enters at once.
    let (status, f) = api
        .post("/v1/orders", &order_body("F1", r#""75000""#, "new"))
        .await;
    assert_eq!(status, 201, "{f}");
    assert_eq!(f["status"], "flagged");
    assert_eq!(
        f["dialer"],
        json!({ "mode": "new", "subqueue": "unprocessed" })
    );
    assert_eq!(
        counts(&api).await,
        count_map(&[
            ("new", &[("unprocessed", 1)]),
            ("shop2_new", &[("unprocessed", 1)])
        ])
    );

    // /metrics: orders per mode and sub-queue.
    let text = api
        .http
        .get(api.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    for (mode, project, n) in [
        ("new", "default", 1),
        ("shop2_new", "shop2", 1),
        ("pickup", "default", 0),
    ] {
        let want = format!("orderline_dialer_orders{{mode=\"{mode}\",project=\"{project}\",subqueue=\"unprocessed\"}} {n}");
        assert!(
            text.lines().any(|l| l == want),
            "{want} missing in:\n{text}"
        );
    }
    api.stop().await;
}

async fn bad_input_names_the_field_and_agents_get_403(db: TestDb) {
    let (api, _dialup) = start(db.open().await).await;
    let (status, o) = api
        .post("/v1/orders", &order_body("B1", r#""1500""#, "new"))
        .await;
    assert_eq!(status, 201, "{o}");
    for (body, field) in [
        (r#"{"status":"teleported"}"#, "status"),
        (r#"{"status":5}"#, "status"),
        (r#"{}"#, "status"),
        (r#"{"status":"processing","mode":"new"}"#, "mode"),
        (r#"["processing"]"#, "body"),
    ] {
        let (status, err) = api
            .send(Method::PUT, "/v1/orders/B1/status", Some(body))
            .await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    let (status, _) = put_status(&api, "nope", "processing").await;
    assert_eq!(status, 404);
    for (query, field) in [
        ("?mode=nope", "mode"),
        ("?subqueue=later", "subqueue"),
        ("?project=bad%20name", "project"),
        ("?limit=0", "limit"),
        ("?colour=red", "colour"),
    ] {
        let (status, err) = api.get(&format!("/v1/dialer/queue{query}")).await;
        assert_eq!(status, 400, "{query}: {err}");
        assert_eq!(err["field"], field, "{query}: {err}");
    }
    for (body, field) in [
        (r#"{"agents":"a1"}"#, "agents"),
        (r#"{"agents":["a1","bad name"]}"#, "agents[1]"),
        (r#"{"agents":[],"x":1}"#, "x"),
    ] {
        let (status, err) = api
            .send(Method::PUT, "/v1/dialer/modes/new/agents", Some(body))
            .await;
        assert_eq!(status, 400, "{body}: {err}");
        assert_eq!(err["field"], field, "{body}: {err}");
    }
    let (status, _) = api.get("/v1/dialer/modes/nope").await;
    assert_eq!(status, 404);
    let (status, err) = api
        .post(
            "/v1/orders",
            &with_project(&order_body("B2", r#""1500""#, "new"), "no spaces"),
        )
        .await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["field"], "project");

    // An agent token is refused on every dial-up route, as on other admin routes.
    for (method, path, body) in [
        (
            Method::PUT,
            "/v1/orders/B1/status",
            Some(r#"{"status":"processing"}"#),
        ),
        (Method::GET, "/v1/dialer/overview", None),
        (Method::GET, "/v1/dialer/queue", None),
        (Method::GET, "/v1/dialer/modes/new", None),
        (
            Method::PUT,
            "/v1/dialer/modes/new/agents",
            Some(r#"{"agents":["a1"]}"#),
        ),
    ] {
        let (status, err) = api
            .send_as(Some(AGENT_TOKEN), method.clone(), path, body)
            .await;
        assert_eq!(status, 403, "{method} {path}: {err}");
    }
    let (_, o) = api.get("/v1/orders/B1").await;
    assert_eq!(o["status"], "calling", "the refused agent changed nothing");
    api.stop().await;
}

async fn operator_access_is_stored(db: TestDb) {
    let (api, _dialup) = start(db.open().await).await;
    let (status, m) = api.get("/v1/dialer/modes/new").await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["agents"], json!(["a1"]));
    assert_eq!(m["kind"], "new_leads");
    assert_eq!(m["settings"]["max_attempts"], 3);
    assert_eq!(m["settings"]["put_off_minutes"], 30.0);
    let (status, m) = api
        .send(
            Method::PUT,
            "/v1/dialer/modes/new/agents",
            Some(r#"{"agents":["a3","a1","a3"]}"#),
        )
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(m["agents"], json!(["a1", "a3"]));
    let (_, overview) = api.get("/v1/dialer/overview").await;
    assert_eq!(overview["modes"][0]["agents"], json!(["a1", "a3"]));
    api.stop().await;

    // A restart keeps it (a new queue from the same database).
    let store = db.open().await;
    let (dialup, _) = daemon(&store, T0 + 60_000).await;
    let overview = dialup.overview().await;
    let new = overview.modes.iter().find(|m| m.id == "new").expect("new");
    assert_eq!(new.agents, ["a1", "a3"]);
    let shop2 = overview
        .modes
        .iter()
        .find(|m| m.id == "shop2_new")
        .expect("shop2");
    assert_eq!(shop2.agents, ["a2"], "other modes keep the config's list");
}

async fn restart_keeps_rows_and_releases_in_flight(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    for id in ["R1", "R2", "R3"] {
        let (status, _) = api
            .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
            .await;
        assert_eq!(status, 201);
        api.advance_ms(1_000);
        let (status, o) = put_status(&api, id, "processing").await;
        assert_eq!(status, 200, "{o}");
    }
    // a1 takes R1: in flight in memory and in the store.
    let now = T0 + 10_000;
    let pick = dialup
        .pick("a1", at(now))
        .await
        .expect("pick")
        .expect("an order");
    assert_eq!(pick.order_id, "R1");
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 2), ("in_flight", 1)])])
    );
    let before = api.store.dialup_rows().await.expect("rows");
    assert_eq!(
        before
            .iter()
            .filter(|r| r.in_flight_agent.is_some())
            .count(),
        1
    );
    assert!(
        !line(&api, "").await.contains(&"R1".to_string()),
        "in flight is not in line"
    );

    // The daemon dies: its queue is gone; a new one is built from the same DB.
    api.stop().await;
    drop(dialup);
    let store = db.open().await;
    let (dialup, restored) = daemon(&store, now + 5_000).await;
    assert_eq!(restored.rows, 3);
    assert_eq!(restored.released, ["R1"]);
    let after = store.dialup_rows().await.expect("rows");
    assert_eq!(after.len(), before.len(), "no row lost");
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(
            (&b.order_id, &b.mode, b.subqueue, b.attempts),
            (&a.order_id, &a.mode, a.subqueue, a.attempts)
        );
        assert_eq!(a.in_flight_agent, None, "{a:?}");
    }
    // R1 is back at the head of the line, once: nothing lost, nothing twice.
    let mut picked = Vec::new();
    while let Some(p) = dialup.pick("a1", at(now + 6_000)).await.expect("pick") {
        picked.push(p.order_id);
    }
    assert_eq!(picked, ["R1", "R2", "R3"]);
    assert_eq!(
        store
            .dialup_rows()
            .await
            .expect("rows")
            .iter()
            .filter(|r| r.in_flight_agent.is_some())
            .count(),
        3
    );
    // And a second restart releases all three, still without an attempt.
    let (_, restored) = daemon(&store, now + 7_000).await;
    assert_eq!(restored.released, ["R1", "R2", "R3"]);
    assert!(store
        .dialup_rows()
        .await
        .expect("rows")
        .iter()
        .all(|r| r.attempts == 0 && r.in_flight_agent.is_none()));
}

/// Status and row are one transaction: a batch that fails on its second
/// order leaves the first order's status, history and row as they were.
async fn a_failed_batch_writes_nothing(db: TestDb) {
    let (api, _dialup) = start(db.open().await).await;
    let (status, _) = api
        .post("/v1/orders", &order_body("A1", r#""1500""#, "new"))
        .await;
    assert_eq!(status, 201);
    let (status, _) = put_status(&api, "A1", "processing").await;
    assert_eq!(status, 200);
    let (_, before) = api.get("/v1/orders/A1").await;
    let rows = api.store.dialup_rows().await.expect("rows");
    assert_eq!(rows.len(), 1);

    let moves = [
        DialupMove {
            order_id: "A1".into(),
            status: Some("shipped".into()),
            row: None,
        },
        DialupMove {
            order_id: "ghost".into(),
            status: Some("shipped".into()),
            row: None,
        },
    ];
    let err = api
        .store
        .apply_dialup(&moves, "test", at(T0 + 1_000))
        .await
        .expect_err("ghost is no order");
    assert!(
        matches!(&err, StoreError::OrderNotFound(id) if id == "ghost"),
        "{err:?}"
    );
    let (_, after) = api.get("/v1/orders/A1").await;
    assert_eq!(after, before, "status, dialer and history unchanged");
    assert_eq!(after["status"], "processing");
    assert_eq!(api.store.dialup_rows().await.expect("rows"), rows);
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 1)])])
    );
    api.stop().await;
}

/// Statuses changed outside the dial-up (a robo-call outcome, a decision on
/// a flagged order) move the order's dial-up place; a crash between the two
/// writes is repaired when the queue is rebuilt.
async fn robo_call_outcomes_and_decisions_are_followed(db: TestDb) {
    let (api, dialup) = start(db.open().await).await;
    for id in ["C1", "C2"] {
        let (status, o) = api
            .post("/v1/orders", &order_body(id, r#""1500""#, "new"))
            .await;
        assert_eq!(
            (status, o["status"].clone()),
            (201, json!("calling")),
            "{o}"
        );
    }
    // The robo-call gets no input, attempt after attempt, until the
    // campaign's fallback flags the orders, recorded as the scheduler does.
    let config = Config::from_toml(CONFIG).expect("config");
    let campaign = config.calling.campaign(&config.campaign).expect("campaign");
    let mut later = T0;
    for _day in 0..30 {
        later += 86_400_000;
        for c in api.store.due_attempts(at(later), 10).await.expect("claim") {
            let next = campaign.after_attempt(&c.rule_state(), Outcome::NoInput, at(later));
            let report = AttemptReport {
                outcome: Outcome::NoInput,
                trunk: None,
                sip_status: Some(200),
                digits: String::new(),
                duration_ms: 1_000,
                error: None,
            };
            api.store
                .finish_attempt(c.attempt.id, &report, next, at(later))
                .await
                .expect("finish");
        }
    }
    for id in ["C1", "C2"] {
        let (_, o) = api.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(o["status"], "flagged", "{o}");
        assert_eq!(o["dialer"], Value::Null, "not followed yet");
    }
    // The scheduler's hook runs for C1 ...
    dialup.follow("C1", at(later)).await.expect("follow");
    let (_, c1) = api.get("/v1/orders/C1").await;
    assert_eq!(
        c1["dialer"],
        json!({ "mode": "new", "subqueue": "unprocessed" })
    );
    // ... while C2's was cut off by a crash: the rebuild repairs it.
    api.stop().await;
    drop(dialup);
    let store = db.open().await;
    let (dialup, restored) = daemon(&store, later + 1_000).await;
    assert_eq!(restored.followed, ["C2"]);
    let handle = dialup.clone();
    let api = Api::start_with(store, CONFIG, move |s| s.with_dialup(handle)).await;
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 2)])])
    );
    // A decision on a flagged order takes it out of dial-up.
    let (status, d) = api
        .post(
            "/v1/orders/C1/decision",
            r#"{"decision":"confirm","by":"a1"}"#,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(
        (d["status"].clone(), d["dialer"].clone()),
        (json!("confirmed"), Value::Null)
    );
    assert_eq!(
        counts(&api).await,
        count_map(&[("new", &[("unprocessed", 1)])])
    );
    // A second rebuild finds nothing to follow.
    let (_, restored) = daemon(&api.store, later + 2_000).await;
    assert!(restored.followed.is_empty(), "{restored:?}");
    api.stop().await;
}
