//! The merchant API over HTTP on 127.0.0.1, against a real store: SQLite in
//! a temp dir and PostgreSQL from `scripts/pg-test` (the same checks on both).

#[macro_use]
mod support;

use std::collections::HashSet;

use orderline::ivr::Outcome;
use orderline::store::AttemptReport;
use reqwest::Method;
use serde_json::{json, Value};
use support::api::{order_body, Api, TOKEN};
use support::store::TestDb;

on_both_backends!(
    script_fields_round_trip_with_defaults,
    a_finished_call_shows_in_the_order,
    create_repeat_conflict,
    list_pages_with_stable_cursors,
    csv_export_pages_through_everything,
    flagged_order_decision
);

/// Issue #13: the script's fields are stored and returned; `store` defaults
/// to `[merchant] name`, `number` to the id; bad ones get a 400 naming them.
async fn script_fields_round_trip_with_defaults(db: TestDb) {
    let config = format!(
        "{}\n[merchant]\nname = \"Lawn House\"\n",
        support::api::CONFIG
    );
    let api = Api::start_with(db.open().await, &config, |s| s).await;
    let body = order_body("S-1", r#""1650.50""#, "new").replace(
        r#""locale""#,
        r#""number":"A-1042","delivery_fee":150.50,"customer_name":"Ayesha Khan","address":"House 5\nStreet 9","notes":"ring twice","locale""#,
    );
    let (status, created) = api.post("/v1/orders", &body).await;
    assert_eq!(status, 201, "{created}");
    let (_, got) = api.get("/v1/orders/S-1").await;
    assert_eq!(got["store"], "Lawn House", "{got}");
    assert_eq!(got["number"], "A-1042");
    assert_eq!(got["delivery_fee"], "150.50");
    assert_eq!(got["customer_name"], "Ayesha Khan");
    assert_eq!(got["address"], "House 5\nStreet 9");
    assert_eq!(got["notes"], "ring twice");
    assert_eq!(got["preparation_error"], Value::Null);

    let plain = order_body("S-2", r#""10""#, "new")
        .replace(r#""locale""#, r#""store":"Zara Lite","locale""#);
    let (status, o) = api.post("/v1/orders", &plain).await;
    assert_eq!(status, 201, "{o}");
    assert_eq!(o["store"], "Zara Lite");
    assert_eq!(o["number"], "S-2", "the number defaults to the id");

    for (extra, field) in [
        (r#""delivery_fee":"1,50""#, "delivery_fee"),
        (r#""customer_name":"""#, "customer_name"),
        (r#""store":7"#, "store"),
    ] {
        let bad = order_body("S-3", r#""10""#, "new")
            .replace(r#""locale""#, &format!("{extra},\"locale\""));
        let (status, err) = api.post("/v1/orders", &bad).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(err["field"], field, "{err}");
    }
}

/// 201, then 200 with the same order, then 409 naming the changed fields.
async fn create_repeat_conflict(db: TestDb) {
    let api = Api::start(db.open().await).await;
    let (status, created) = api
        .post("/v1/orders", &order_body("A-1", r#""1234.50""#, "new"))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], "A-1");
    assert_eq!(created["amount"], "1234.50");
    assert_eq!(
        created["status"], "calling",
        "a normal order gets a call scheduled"
    );
    assert_eq!(created["customer"]["kind"], "new");

    api.advance_ms(5_000);
    // Same body, amount written another way (a number with another scale).
    let (status, again) = api
        .post("/v1/orders", &order_body("A-1", "1234.5", "new"))
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again, created,
        "a repeat returns the stored order unchanged"
    );

    let (status, conflict) = api
        .post("/v1/orders", &order_body("A-1", r#""99.00""#, "returning"))
        .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["field"], "amount");
    assert_eq!(conflict["fields"], json!(["amount", "customer.kind"]));
    assert_eq!(
        conflict["order"]["amount"], "1234.50",
        "the stored order is reported, not changed"
    );

    let (status, detail) = api.get("/v1/orders/A-1").await;
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "calling");
    let attempts = detail["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1, "{detail}");
    assert_eq!(attempts[0]["attempt_no"], 1);
    assert_eq!(attempts[0]["state"], "due");
    assert_eq!(attempts[0]["result"], Value::Null);
    assert_eq!(detail["history"][0]["to"], "calling");
    assert_eq!(detail["history"][0]["reason"], "rules: call");
    assert_eq!(
        api.metrics
            .render()
            .lines()
            .find(|l| l.starts_with("orderline_orders_created_total")),
        Some("orderline_orders_created_total 1")
    );

    let (status, bad) = api.get("/v1/orders/%FF").await;
    assert_eq!(
        (status, bad["field"].as_str()),
        (400, Some("id")),
        "not UTF-8: {bad}"
    );
    let (status, missing) = api.get("/v1/orders/nope").await;
    assert_eq!(status, 404);
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("nope")),
        "{missing}"
    );
    api.stop().await;
}

async fn create_n(api: &Api, prefix: &str, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..n {
        let id = format!("{prefix}-{i:02}");
        let (status, body) = api
            .post("/v1/orders", &order_body(&id, r#""100""#, "returning"))
            .await;
        assert_eq!(status, 201, "{body}");
        ids.push(id);
        // Two orders per millisecond tick: the cursor must order ties by id.
        if i % 2 == 1 {
            api.advance_ms(1);
        }
    }
    ids
}

/// Pages of 3 over 7 orders; orders created between page reads land after
/// the last page and never shift or repeat earlier rows.
async fn list_pages_with_stable_cursors(db: TestDb) {
    let api = Api::start(db.open().await).await;
    let ids = create_n(&api, "P", 7).await;
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/orders?limit=3&status=calling&cursor={}", urlencode(c)),
            None => "/v1/orders?limit=3&status=calling".to_string(),
        };
        let (status, page) = api.get(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for o in page["orders"].as_array().expect("orders") {
            seen.push(o["id"].as_str().expect("id").to_string());
        }
        if pages == 1 {
            api.advance_ms(10);
            create_n(&api, "Q", 1).await;
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(pages < 10, "cursor loop");
    }
    let mut expected = ids.clone();
    expected.push("Q-00".into());
    assert_eq!(seen, expected, "oldest first, no repeats, no gaps");
    assert_eq!(pages, 3);

    // Filters: from/to and status.
    let (_, none) = api.get("/v1/orders?status=confirmed").await;
    assert_eq!(none["orders"], json!([]));
    assert_eq!(none["next_cursor"], Value::Null);
    let (status, late) = api
        .get(&format!("/v1/orders?from={}", support::api::T0 + 2))
        .await;
    assert_eq!(status, 200);
    let late_ids: Vec<&str> = late["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap())
        .collect();
    assert_eq!(late_ids, ["P-04", "P-05", "P-06", "Q-00"]);
    let (_, early) = api.get("/v1/orders?to=2026-11-23T10:00:00.001Z").await;
    assert_eq!(early["orders"].as_array().unwrap().len(), 2);
    // An offset, encoded or (sloppily) not: 15:00:00.001+05:00 is the same instant.
    for to in [
        "2026-11-23T15:00:00.001%2B05:00",
        "2026-11-23T15:00:00.001+05:00",
    ] {
        let (status, early) = api.get(&format!("/v1/orders?to={to}")).await;
        assert_eq!(
            (status, early["orders"].as_array().map(Vec::len)),
            (200, Some(2)),
            "{to}"
        );
    }

    // Bad parameters are 400s naming the parameter.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("status=shipped", "status"),
        ("from=yesterday", "from"),
        ("cursor=garbage", "cursor"),
        ("colour=red", "colour"),
    ] {
        let (status, err) = api.get(&format!("/v1/orders?{query}")).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (400, Some(field)),
            "{query}: {err}"
        );
    }
    api.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The export holds every matching order (more than one store page) with a
/// header row and RFC 4180 quoting.
async fn csv_export_pages_through_everything(db: TestDb) {
    let api = Api::start(db.open().await).await;
    let tricky = r#"{"id":"Q,\"1\"","phone":"+923001234567","amount":"7.5","currency":"PKR","customer":{"kind":"returning"},"items":[{"name":"tea, green","note":"say \"hi\""}]}"#;
    assert_eq!(api.post("/v1/orders", tricky).await.0, 201);
    api.advance_ms(1);
    create_n(&api, "C", 503).await; // 504 orders: two store pages of 500 at most
    let resp = api
        .http
        .get(api.url("/v1/orders.csv?status=calling"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let text = resp.text().await.expect("csv body");
    let rows: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(
        rows[0],
        "id,status,phone,amount,currency,customer_kind,locale,timezone,created_at,updated_at,items"
    );
    assert_eq!(rows.len(), 1 + 504, "header + every order");
    assert_eq!(
        rows[1],
        r#""Q,""1""",calling,+923001234567,7.5,PKR,returning,,,2026-11-23T10:00:00.000Z,2026-11-23T10:00:00.000Z,"[{""name"":""tea, green"",""note"":""say \""hi\""""}]""#
    );
    assert!(
        rows[2].starts_with("C-00,calling,+923001234567,100,PKR,returning,ur-PK,,"),
        "{}",
        rows[2]
    );
    let ids: HashSet<&str> = rows[1..]
        .iter()
        .map(|r| r.split(',').next().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        504,
        "no repeats across pages (the quoted id's first cell is `\"Q`, still unique)"
    );
    let (status, err) = api.get("/v1/orders.csv?limit=5").await;
    assert_eq!(
        (status, err["field"].as_str()),
        (400, Some("limit")),
        "paging is not a CSV parameter"
    );
    api.stop().await;
}

/// A high-value order from a new customer is flagged without a call; a
/// decision confirms it once and writes the webhook event.
async fn flagged_order_decision(db: TestDb) {
    let api = Api::start(db.open().await).await;
    let (status, order) = api
        .post("/v1/orders", &order_body("BIG-1", r#""75000""#, "new"))
        .await;
    assert_eq!(status, 201);
    assert_eq!(order["status"], "flagged");
    let (_, detail) = api.get("/v1/orders/BIG-1").await;
    assert_eq!(detail["attempts"], json!([]), "flagged without a call");

    let (status, err) = api
        .post("/v1/orders/BIG-1/decision", r#"{"decision":"ship"}"#)
        .await;
    assert_eq!((status, err["field"].as_str()), (422, Some("decision")));
    api.advance_ms(60_000);
    let (status, decided) = api
        .post(
            "/v1/orders/BIG-1/decision",
            r#"{"decision":"confirm","by":"agent-7","note":"called back"}"#,
        )
        .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "confirmed");
    let (status, again) = api
        .post("/v1/orders/BIG-1/decision", r#"{"decision":"cancel"}"#)
        .await;
    assert_eq!(status, 409, "only flagged orders take a decision: {again}");
    let (status, _) = api
        .post("/v1/orders/none/decision", r#"{"decision":"cancel"}"#)
        .await;
    assert_eq!(status, 404);

    let (_, detail) = api.get("/v1/orders/BIG-1").await;
    assert_eq!(detail["status"], "confirmed");
    assert_eq!(
        detail["history"][1]["reason"],
        "decision: confirm by agent-7"
    );
    let events = api.store.order_events("BIG-1").await.expect("events");
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["order.flagged", "order.confirmed"]);
    assert_eq!(events[1].payload["status"], "confirmed");
    api.stop().await;
}

#[tokio::test]
async fn bad_inputs_are_4xx_naming_the_field() {
    let db = support::store::sqlite_db();
    let api = Api::start(db.open().await).await;
    let ok = order_body("B-1", r#""10""#, "new");
    let cases: Vec<(String, u16, Option<&str>)> = vec![
        ("{\"id\":".into(), 400, None),
        ("not json".into(), 400, None),
        ("[]".into(), 422, Some("body")),
        (
            ok.replace(r#""+923001234567""#, r#""""#),
            422,
            Some("phone"),
        ),
        (
            ok.replace(r#""+923001234567""#, "923001234567"),
            422,
            Some("phone"),
        ),
        (ok.replace(r#""10""#, r#""ten""#), 422, Some("amount")),
        (ok.replace(r#""10""#, r#""-10""#), 422, Some("amount")),
        (ok.replace(r#""10""#, "1e3"), 422, Some("amount")),
        (ok.replace(r#""10""#, r#""1.23456""#), 422, Some("amount")),
        (ok.replace(r#""10""#, "true"), 422, Some("amount")),
        // More decimals than the currency has (ISO 4217: PKR 2, JPY 0, KWD 3).
        (ok.replace(r#""10""#, r#""12.345""#), 422, Some("amount")),
        (ok.replace(r#""10""#, "12.345"), 422, Some("amount")),
        (
            ok.replace(r#""10""#, r#""10.5""#)
                .replace(r#""PKR""#, r#""JPY""#),
            422,
            Some("amount"),
        ),
        (
            ok.replace(r#""10""#, r#""1.2345""#)
                .replace(r#""PKR""#, r#""KWD""#),
            422,
            Some("amount"),
        ),
        (ok.replace(r#""PKR""#, r#""XYZ""#), 422, Some("currency")),
        (
            ok.replace(r#""new""#, r#""vip""#),
            422,
            Some("customer.kind"),
        ),
        (
            ok.replace(r#"{"kind":"new"}"#, "{}"),
            422,
            Some("customer.kind"),
        ),
        (
            ok.replace(r#"{"kind":"new"}"#, r#""new""#),
            422,
            Some("customer"),
        ),
        (ok.replace(r#""ur-PK""#, r#""ur PK!""#), 422, Some("locale")),
        (ok.replace(r#""PKR""#, r#""rupees""#), 422, Some("currency")),
        (ok.replace(r#""id":"B-1""#, r#""id":"""#), 422, Some("id")),
        (ok.replace(r#""id":"B-1""#, r#""id":7"#), 422, Some("id")),
        (
            ok.replace(r#""locale""#, r#""shipping""#),
            422,
            Some("shipping"),
        ),
        (
            ok.replace(r#","locale":"ur-PK""#, r#","timezone":"Mars/Olympus""#),
            422,
            Some("timezone"),
        ),
        (
            ok.replace(r#"[{"sku":"A1","qty":2}]"#, "7"),
            422,
            Some("items"),
        ),
    ];
    for (body, status, field) in cases {
        let (got, err) = api.post("/v1/orders", &body).await;
        assert_eq!(
            (got, err["field"].as_str()),
            (status, field),
            "{body} -> {err}"
        );
        assert!(
            err["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{err}"
        );
    }
    // Too large: 413 with a JSON error, not a dropped connection or a 500.
    let huge = format!(
        r#"{{"id":"H","pad":"{}"}}"#,
        "x".repeat(orderline::api::BODY_LIMIT)
    );
    let (status, err) = api.post("/v1/orders", &huge).await;
    assert_eq!(status, 413, "{err}");
    // Nothing was stored.
    let (_, list) = api.get("/v1/orders").await;
    assert_eq!(list["orders"], json!([]));
    api.stop().await;
}

/// Each currency takes the decimals ISO 4217 gives it, and the amount comes
/// back as the merchant wrote it.
#[tokio::test]
async fn amounts_take_the_currency_scale() {
    let db = support::store::sqlite_db();
    let api = Api::start(db.open().await).await;
    for (id, amount, currency) in [
        ("J-1", r#""1200""#, "JPY"),
        ("K-1", r#""1.255""#, "KWD"),
        ("P-1", "7.5", "PKR"),
    ] {
        let body = order_body(id, amount, "new").replace(r#""PKR""#, &format!("\"{currency}\""));
        let (status, o) = api.post("/v1/orders", &body).await;
        assert_eq!(status, 201, "{body} -> {o}");
        assert_eq!(o["amount"], amount.trim_matches('"'), "{o}");
        assert_eq!(o["currency"], currency, "{o}");
    }
    // Four places are too many for KWD; the same amount again is the same order.
    let again = order_body("K-1", r#""1.2550""#, "new").replace(r#""PKR""#, r#""KWD""#);
    assert_eq!(
        api.post("/v1/orders", &again).await.0,
        422,
        "4 places for KWD"
    );
    let again = order_body("K-1", "1.255", "new").replace(r#""PKR""#, r#""KWD""#);
    assert_eq!(api.post("/v1/orders", &again).await.0, 200);
    api.stop().await;
}

#[tokio::test]
async fn every_route_but_metrics_and_openapi_needs_a_token() {
    let db = support::store::sqlite_db();
    let api = Api::start(db.open().await).await;
    for (method, path) in orderline::api::ROUTES {
        let path = path.replace("{id}", "X");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        for auth in [
            None,
            Some("Bearer wrong"),
            Some("Bearer "),
            Some("Basic dDBrLW1lcmNoYW50"),
            Some("t0k-merchant"),
        ] {
            let mut req = api.http.request(method.clone(), api.url(&path));
            if let Some(a) = auth {
                req = req.header("authorization", a);
            }
            let resp = req.body("{}").send().await.expect("request");
            let status = resp.status().as_u16();
            // The agent, console and admin pages are static and ask for the token themselves.
            if [
                "/metrics",
                "/openapi.json",
                "/agent",
                "/console",
                "/console/admin",
            ]
            .contains(&path.as_str())
            {
                assert_eq!(status, 200, "{path} is public");
                continue;
            }
            assert_eq!(status, 401, "{method} {path} with {auth:?}");
            assert_eq!(resp.headers()["www-authenticate"], "Bearer");
            let body: Value = resp.json().await.expect("json error");
            assert!(body["error"].is_string());
        }
    }
    // The second configured token works too, with a lower-case scheme.
    let resp = api
        .http
        .get(api.url("/v1/orders"))
        .header("authorization", "bearer second-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    // Unknown routes and methods are JSON errors too.
    let (status, err) = api.get("/v1/nothing").await;
    assert_eq!(status, 404, "{err}");
    let (status, err) = api.send(Method::DELETE, "/v1/orders", None).await;
    assert_eq!(status, 405, "{err}");
    api.stop().await;
}

#[tokio::test]
async fn rules_can_be_read_and_replaced_with_validation() {
    let db = support::store::sqlite_db();
    let api = Api::start(db.open().await).await;
    let (status, rules) = api.get("/v1/rules").await;
    assert_eq!(status, 200);
    assert_eq!(rules["campaign"]["flag_above"]["new"], "50000");
    assert_eq!(rules["calling"]["window"], "09:00-21:00");
    assert_eq!(
        rules["persisted"], false,
        "nothing stored yet: the file's rules"
    );

    for (body, field) in [
        (
            r#"{"campaign":{"rules":[{"min_amount":"100","max_amount":"50"}]}}"#,
            "campaign.rules[0].max_amount",
        ),
        (
            r#"{"campaign":{"flag_above":{"new":"lots"}}}"#,
            "campaign.flag_above.new",
        ),
        (
            r#"{"campaign":{"rules":[{"kinds":[]}]}}"#,
            "campaign.rules[0].kinds",
        ),
        (
            r#"{"campaign":{"unmatched":"maybe"}}"#,
            "campaign.unmatched",
        ),
        (r#"{"campaign":[]}"#, "campaign"),
        (
            r#"{"campaign":{"rules":[{"action":"call","colour":1}]}}"#,
            "campaign.rules[0].colour",
        ),
        (r#"{"calling":{"window":"00:00-23:59"}}"#, "calling"),
        (r#"{}"#, "campaign"),
    ] {
        let (status, err) = api.send(Method::PUT, "/v1/rules", Some(body)).await;
        assert_eq!(
            (status, err["field"].as_str()),
            (422, Some(field)),
            "{body}: {err}"
        );
    }
    // Confirm returning customers without a call, flag new ones above 1000.
    let (status, now) = api
        .send(
            Method::PUT,
            "/v1/rules",
            Some(r#"{"campaign":{"unmatched":"call","flag_above":{"new":1000},"rules":[{"kinds":["returning"],"action":"confirm"}]}}"#),
        )
        .await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["campaign"]["flag_above"]["new"], "1000");
    assert_eq!(
        api.post("/v1/orders", &order_body("R-1", r#""5000""#, "returning"))
            .await
            .1["status"],
        "confirmed"
    );
    assert_eq!(
        api.post("/v1/orders", &order_body("R-2", r#""5000""#, "new"))
            .await
            .1["status"],
        "flagged"
    );
    assert_eq!(
        api.post(
            "/v1/orders",
            &order_body("R-3", r#""500""#, "platform_returning")
        )
        .await
        .1["status"],
        "calling"
    );
    api.stop().await;
}

/// What the scheduler records after a call shows in `GET /v1/orders/{id}`.
async fn a_finished_call_shows_in_the_order(db: TestDb) {
    let api = Api::start(db.open().await).await;
    let (status, _) = api
        .post("/v1/orders", &order_body("K-1", r#""900""#, "returning"))
        .await;
    assert_eq!(status, 201);
    let t0 = chrono::DateTime::from_timestamp_millis(support::api::T0).unwrap();
    let claimed = api.store.due_attempts(t0, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let config = orderline::config::Config::from_toml(support::api::CONFIG).unwrap();
    let campaign = config.calling.campaign(&config.campaign).unwrap();
    let end = t0 + chrono::TimeDelta::seconds(20);
    let next = campaign.after_attempt(&claimed[0].rule_state(), Outcome::Confirmed, end);
    let report = AttemptReport {
        outcome: Outcome::Confirmed,
        trunk: Some("default".into()),
        sip_status: Some(200),
        digits: "1".into(),
        duration_ms: 12_345,
        error: None,
        operator: None,
    };
    api.store
        .finish_attempt(claimed[0].attempt.id, &report, next, end)
        .await
        .expect("finish");

    let (_, detail) = api.get("/v1/orders/K-1").await;
    assert_eq!(detail["status"], "confirmed");
    let a = &detail["attempts"][0];
    assert_eq!(a["state"], "done");
    assert_eq!(a["time"], "2026-11-23T10:00:00.000Z");
    assert_eq!(a["finished_at"], "2026-11-23T10:00:20.000Z");
    assert_eq!(a["trunk"], "default");
    assert_eq!(a["sip_status"], 200);
    assert_eq!(a["result"], "confirmed");
    assert_eq!(a["digits"], "1");
    assert_eq!(a["duration_ms"], 12_345);
    let history: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["to"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["calling", "confirmed"]);
    let events = api.store.order_events("K-1").await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(kinds, ["call.attempted", "order.confirmed"]);
    api.stop().await;
}
