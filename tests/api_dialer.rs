//! Call modes over HTTP (issue #11) on 127.0.0.1 against a real store, SQLite
//! and PostgreSQL: status moves in and out of modes, the admin counts against
//! the stored rows after each step, the orders in line and their filters, bad
//! input named, agent tokens refused, operator access kept. Restarts are in
//! `api_dialer_restart.rs`.

#[macro_use]
mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::api::{order_body, T0};
use support::dialer::*;
use support::store::TestDb;

on_both_backends!(
    status_moves_in_and_out_of_modes,
    bad_input_names_the_field_and_agents_get_403,
    operator_access_is_stored
);

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
    // The list filter by a built-in status sees the one status too.
    let (_, calling) = api.get("/v1/orders?status=calling").await;
    assert_eq!(calling["orders"], json!([]), "{calling}");
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
        .bearer_auth(support::api::TOKEN)
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
        assert_eq!(status, 422, "{body}: {err}");
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
        assert_eq!(status, 422, "{body}: {err}");
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
