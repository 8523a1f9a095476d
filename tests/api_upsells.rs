//! Upsells (issue #15, first slice) over HTTP on 127.0.0.1 against a real
//! store (SQLite in a temp dir and PostgreSQL from `scripts/pg-test`), with
//! the call-mode queue (statuses are set through `PUT /v1/orders/{id}/status`)
//! and the sandbox gateway, whose charges the test counts.

#[macro_use]
mod support;

use std::sync::Arc;

use orderline::payments::SandboxGateway;
use reqwest::Method;
use serde_json::{json, Value};
use support::api::Api;
use support::card_data::{assert_no_card_data, Secrets};
use support::store::TestDb;

on_both_backends!(
    catalog_is_checked_and_kept,
    card_on_file_is_kept_masked_and_card_numbers_refused,
    eligible_orders_are_searched,
    quotes_are_in_the_orders_currency,
    a_card_on_file_purchase_charges_once_and_a_decline_offers_keypad
);

/// The API with the call-mode queue and a sandbox gateway the test keeps.
async fn start(db: &TestDb) -> (Api, Arc<SandboxGateway>) {
    let store = db.open().await;
    let (dialup, _) = support::dialer::daemon(&store, support::api::T0).await;
    let gateway = Arc::new(SandboxGateway::new());
    let g = gateway.clone();
    let api = Api::start_with(store, support::dialer::CONFIG, move |s| {
        s.with_dialup(dialup).with_gateway(g)
    })
    .await;
    (api, gateway)
}

fn catalog() -> Value {
    json!({
        "name": "Lawn suit",
        "upsells": [
            { "id": "scarf", "name": "Silk scarf", "products": ["SC-1"], "quantities": [1, 2], "prices": { "PKR": "1500.50", "EUR": "9.99" } },
            { "id": "shoes", "name": "Shoes", "products": ["SH-1", "SH-2"], "quantities": [1], "prices": { "PKR": "4000" } }
        ],
        "shipping": [
            { "id": "std", "name": "Standard", "prices": { "PKR": "200", "EUR": "0" } },
            { "id": "air", "name": "Express", "prices": { "PKR": "650.00" } }
        ]
    })
}

async fn put(api: &Api, path: &str, body: &Value) -> (u16, Value) {
    api.send(Method::PUT, path, Some(&body.to_string())).await
}

/// An order with `extra` fields merged into a valid PKR order.
fn order(id: &str, currency: &str, extra: Value) -> String {
    let mut o = json!({
        "id": id, "phone": "+923001234567", "amount": "2500.00", "currency": currency,
        "customer": { "kind": "returning" }, "customer_name": "Ayesha Khan",
    });
    if let (Some(o), Some(extra)) = (o.as_object_mut(), extra.as_object()) {
        o.extend(extra.clone());
    }
    o.to_string()
}

/// An order on offer `lawn-suit` with a card on file `token`, set `status`.
async fn sold(api: &Api, id: &str, currency: &str, token: &str, status: &str) {
    let body = order(
        id,
        currency,
        json!({ "offer": "lawn-suit", "payment_token": token, "card_brand": "visa", "card_last4": "4242", "card_exp_month": 12, "card_exp_year": 2030 }),
    );
    let (st, v) = api.post("/v1/orders", &body).await;
    assert_eq!(st, 201, "{v}");
    set_status(api, id, status).await;
}

async fn set_status(api: &Api, id: &str, status: &str) {
    let (st, v) = put(
        api,
        &format!("/v1/orders/{id}/status"),
        &json!({ "status": status }),
    )
    .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["status"], status, "{v}");
}

/// A change to a good catalog.
type Change = Box<dyn Fn(&mut Value)>;

/// PUT then GET keeps exact prices; every bad field is a 422 naming it by
/// its path; nothing of a refused catalog is stored.
async fn catalog_is_checked_and_kept(db: TestDb) {
    let (api, _) = start(&db).await;
    let (st, v) = put(&api, "/v1/offers/lawn-suit", &catalog()).await;
    assert_eq!(st, 201, "{v}");
    let (st, got) = api.get("/v1/offers/lawn-suit").await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got["id"], "lawn-suit");
    assert_eq!(got["upsells"][0]["prices"]["PKR"], "1500.50", "{got}");
    assert_eq!(got["upsells"][1]["prices"]["PKR"], "4000.00", "{got}");
    assert_eq!(got["shipping"][0]["prices"]["EUR"], "0.00", "{got}");
    assert_eq!(got["upsells"][0]["quantities"], json!([1, 2]));
    let (st, _) = put(&api, "/v1/offers/lawn-suit", &catalog()).await;
    assert_eq!(st, 200, "a second PUT replaces");

    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|c| c["upsells"][1]["prices"]["EUR"] = json!("1.234")),
            "upsells[1].prices.EUR",
        ),
        (
            Box::new(|c| c["upsells"][1]["prices"]["EUR"] = json!(9.99)),
            "upsells[1].prices.EUR",
        ),
        (
            Box::new(|c| c["upsells"][0]["prices"]["XYZ"] = json!("1")),
            "upsells[0].prices.XYZ",
        ),
        (
            Box::new(|c| c["upsells"][0]["prices"]["PKR"] = json!("0")),
            "upsells[0].prices.PKR",
        ),
        (
            Box::new(|c| c["upsells"][0]["quantities"] = json!([1, 0])),
            "upsells[0].quantities[1]",
        ),
        (
            Box::new(|c| c["upsells"][1]["id"] = json!("scarf")),
            "upsells[1].id",
        ),
        (
            Box::new(|c| c["shipping"][1]["prices"] = json!({})),
            "shipping[1].prices",
        ),
        (
            Box::new(|c| c["shipping"][0]["colour"] = json!("red")),
            "shipping[0].colour",
        ),
        (Box::new(|c| c["upsells"] = json!([])), "upsells"),
    ];
    for (change, field) in cases {
        let mut body = catalog();
        change(&mut body);
        let (st, err) = put(&api, "/v1/offers/other", &body).await;
        assert_eq!((st, err["field"].as_str()), (422, Some(field)), "{err}");
    }
    let (st, err) = api.get("/v1/offers/other").await;
    assert_eq!(st, 404, "a refused catalog is not stored: {err}");
    let (st, _) = api.get("/v1/offers/lawn-suit").await;
    assert_eq!(st, 200);
    let (st, err) = put(&api, "/v1/offers/bad%20id", &catalog()).await;
    assert_eq!((st, err["field"].as_str()), (400, Some("id")), "{err}");
}

/// A card number where the gateway token goes is a 422 naming
/// `payment_token` and stores nothing; a token is kept and shown masked.
async fn card_on_file_is_kept_masked_and_card_numbers_refused(db: TestDb) {
    let (api, _) = start(&db).await;
    for pan in [
        "4242424242424242",
        "4242 4242 4242 4242",
        "4000-0000-0000-0002",
        "tok_378282246310005",
    ] {
        let (st, err) = api
            .post(
                "/v1/orders",
                &order("C-1", "PKR", json!({ "payment_token": pan })),
            )
            .await;
        assert_eq!(
            (st, err["field"].as_str()),
            (422, Some("payment_token")),
            "{pan}: {err}"
        );
        assert!(
            !err.to_string().contains(&pan[pan.len() - 8..]),
            "the error echoes the number: {err}"
        );
    }
    let (st, _) = api.get("/v1/orders/C-1").await;
    assert_eq!(st, 404, "a refused order is not stored");
    for (extra, field) in [
        (json!({ "card_last4": "42" }), "card_last4"),
        (json!({ "card_brand": "Visa" }), "card_brand"),
        (json!({ "card_exp_month": 13 }), "card_exp_month"),
        (json!({ "offer": "lawn suit" }), "offer"),
    ] {
        let (st, err) = api.post("/v1/orders", &order("C-1", "PKR", extra)).await;
        assert_eq!((st, err["field"].as_str()), (422, Some(field)), "{err}");
    }

    sold(&api, "C-2", "PKR", "tok_visa", "paid").await;
    let (st, o) = api.get("/v1/orders/C-2").await;
    assert_eq!(st, 200, "{o}");
    assert_eq!(
        o["card_on_file"],
        json!({ "number": "XXXX XXXX XXXX 4242", "brand": "visa", "exp_month": 12, "exp_year": 2030 })
    );
    assert_eq!(o["offer"], "lawn-suit");
    assert!(
        !o.to_string().contains("tok_visa"),
        "the token is never shown: {o}"
    );
    // Posting it again with another card is a conflict naming the field.
    let again = order(
        "C-2",
        "PKR",
        json!({ "offer": "lawn-suit", "payment_token": "tok_mastercard", "card_brand": "visa", "card_last4": "4242", "card_exp_month": 12, "card_exp_year": 2030 }),
    );
    let (st, err) = api.post("/v1/orders", &again).await;
    assert_eq!(
        (st, err["field"].as_str()),
        (409, Some("payment_token")),
        "{err}"
    );
}

/// Only orders with an offer in paid, shipping, shipped or delivered; `q`
/// finds them by id, phone or name; `status` narrows.
async fn eligible_orders_are_searched(db: TestDb) {
    let (api, _) = start(&db).await;
    sold(&api, "E-1", "PKR", "tok_visa", "paid").await;
    sold(&api, "E-2", "PKR", "tok_visa", "delivered").await;
    // Not eligible: no offer; an offer but not yet paid.
    let (st, _) = api
        .post("/v1/orders", &order("E-3", "PKR", json!({})))
        .await;
    assert_eq!(st, 201);
    set_status(&api, "E-3", "paid").await;
    let (st, _) = api
        .post(
            "/v1/orders",
            &order(
                "E-4",
                "PKR",
                json!({ "offer": "lawn-suit", "customer_name": "Bilal" }),
            ),
        )
        .await;
    assert_eq!(st, 201);

    let ids = |v: &Value| -> Vec<String> {
        let mut ids: Vec<String> = v["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| o["id"].as_str().expect("id").to_string())
            .collect();
        ids.sort();
        ids
    };
    let (st, all) = api.get("/v1/upsell/orders").await;
    assert_eq!(st, 200, "{all}");
    assert_eq!(ids(&all), ["E-1", "E-2"], "{all}");
    assert_eq!(
        all["orders"][0]["card_on_file"]["number"],
        "XXXX XXXX XXXX 4242"
    );
    let (_, v) = api.get("/v1/upsell/orders?status=delivered").await;
    assert_eq!(ids(&v), ["E-2"]);
    let (_, v) = api.get("/v1/upsell/orders?q=e-1").await;
    assert_eq!(ids(&v), ["E-1"], "by id, any case");
    let (_, v) = api.get("/v1/upsell/orders?q=ayesha").await;
    assert_eq!(ids(&v), ["E-1", "E-2"], "by name");
    let (_, v) = api.get("/v1/upsell/orders?q=3001234").await;
    assert_eq!(ids(&v), ["E-1", "E-2"], "by phone");
    let (_, v) = api.get("/v1/upsell/orders?q=bilal").await;
    assert_eq!(ids(&v), Vec::<String>::new(), "E-4 is not paid");
    set_status(&api, "E-4", "shipping").await;
    let (_, v) = api.get("/v1/upsell/orders?q=bilal").await;
    assert_eq!(ids(&v), ["E-4"]);
    let (st, err) = api.get("/v1/upsell/orders?status=calling").await;
    assert_eq!((st, err["field"].as_str()), (400, Some("status")), "{err}");
}

/// The quote is in the main order's currency; a catalog without a price in
/// it is a 422 naming the field; the choice is checked.
async fn quotes_are_in_the_orders_currency(db: TestDb) {
    let (api, _) = start(&db).await;
    let (st, _) = put(&api, "/v1/offers/lawn-suit", &catalog()).await;
    assert_eq!(st, 201);
    sold(&api, "Q-PKR", "PKR", "tok_visa", "shipped").await;
    sold(&api, "Q-EUR", "EUR", "tok_visa", "shipped").await;
    sold(&api, "Q-USD", "USD", "tok_visa", "shipped").await;
    let quote = |id: &str, body: Value| {
        let api = &api;
        let path = format!("/v1/orders/{id}/upsells/quote");
        async move { api.post(&path, &body.to_string()).await }
    };
    let (st, q) = quote(
        "Q-PKR",
        json!({ "upsell": "scarf", "quantity": 2, "shipping": "air" }),
    )
    .await;
    assert_eq!(st, 200, "{q}");
    assert_eq!(
        (
            q["currency"].as_str(),
            q["unit_price"].as_str(),
            q["shipping_price"].as_str(),
            q["total"].as_str()
        ),
        (
            Some("PKR"),
            Some("1500.50"),
            Some("650.00"),
            Some("3651.00")
        ),
        "{q}"
    );
    let (st, q) = quote(
        "Q-EUR",
        json!({ "upsell": "scarf", "quantity": 1, "shipping": "std" }),
    )
    .await;
    assert_eq!(st, 200, "{q}");
    assert_eq!(
        (q["currency"].as_str(), q["total"].as_str()),
        (Some("EUR"), Some("9.99")),
        "{q}"
    );
    for (id, body, field) in [
        (
            "Q-USD",
            json!({ "upsell": "scarf", "quantity": 1, "shipping": "std" }),
            "upsell",
        ),
        (
            "Q-EUR",
            json!({ "upsell": "scarf", "quantity": 1, "shipping": "air" }),
            "shipping",
        ),
        (
            "Q-EUR",
            json!({ "upsell": "shoes", "quantity": 1, "shipping": "std" }),
            "upsell",
        ),
        (
            "Q-PKR",
            json!({ "upsell": "scarf", "quantity": 3, "shipping": "std" }),
            "quantity",
        ),
        (
            "Q-PKR",
            json!({ "upsell": "hat", "quantity": 1, "shipping": "std" }),
            "upsell",
        ),
        (
            "Q-PKR",
            json!({ "upsell": "scarf", "quantity": 0, "shipping": "std" }),
            "quantity",
        ),
        (
            "Q-PKR",
            json!({ "upsell": "scarf", "quantity": 1 }),
            "shipping",
        ),
    ] {
        let (st, err) = quote(id, body.clone()).await;
        assert_eq!(
            (st, err["field"].as_str()),
            (422, Some(field)),
            "{id} {body}: {err}"
        );
    }
    let (st, err) = quote(
        "Q-USD",
        json!({ "upsell": "scarf", "quantity": 1, "shipping": "std" }),
    )
    .await;
    assert!(
        err["error"].as_str().unwrap_or("").contains("USD"),
        "{st} {err}"
    );
    // An order not yet paid is not eligible; an unknown one is 404.
    let (st, _) = api
        .post(
            "/v1/orders",
            &order("Q-NEW", "PKR", json!({ "offer": "lawn-suit" })),
        )
        .await;
    assert_eq!(st, 201);
    let (st, err) = quote(
        "Q-NEW",
        json!({ "upsell": "scarf", "quantity": 1, "shipping": "std" }),
    )
    .await;
    assert_eq!(st, 409, "{err}");
    let (st, _) = quote(
        "Q-NONE",
        json!({ "upsell": "scarf", "quantity": 1, "shipping": "std" }),
    )
    .await;
    assert_eq!(st, 404);
}

/// Approved once: a new upsell order linked to the main one, a note, one
/// `upsell.completed`; a retry with the same key answers the same result
/// and the gateway saw one charge. A declined card on file: 402 with
/// `next: keypad` and `upsell.failed`. Keypad is not built yet: 409.
async fn a_card_on_file_purchase_charges_once_and_a_decline_offers_keypad(db: TestDb) {
    let (api, gateway) = start(&db).await;
    let (st, _) = put(&api, "/v1/offers/lawn-suit", &catalog()).await;
    assert_eq!(st, 201);
    sold(&api, "B-1", "PKR", "tok_visa", "delivered").await;
    let buy = |id: &str, key: Option<&str>, body: Value| {
        let mut req = api
            .http
            .post(api.url(&format!("/v1/orders/{id}/upsells")))
            .bearer_auth(support::api::TOKEN)
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        async move {
            let resp = req.send().await.expect("request");
            let st = resp.status().as_u16();
            (st, resp.json::<Value>().await.expect("json"))
        }
    };
    let body = json!({ "upsell": "scarf", "quantity": 2, "shipping": "std", "payment": { "method": "card_on_file" } });
    let (st, first) = buy("B-1", Some("buy-B-1-a"), body.clone()).await;
    assert_eq!(st, 201, "{first}");
    assert_eq!(first["status"], "approved", "{first}");
    assert_eq!(
        (first["amount"].as_str(), first["currency"].as_str()),
        (Some("3201.00"), Some("PKR"))
    );
    assert_eq!(first["upsell_order_id"], "B-1-U1", "{first}");
    assert_eq!(first["card_on_file"]["number"], "XXXX XXXX XXXX 4242");
    assert_eq!(first["note"]["status"], "approved", "{first}");
    assert!(
        first["transaction_id"]
            .as_str()
            .is_some_and(|t| t.starts_with("txn_")),
        "{first}"
    );
    assert_eq!(gateway.charge_count(), 1);

    let (st, again) = buy("B-1", Some("buy-B-1-a"), body.clone()).await;
    assert_eq!(st, 200, "a retry answers the stored purchase: {again}");
    assert_eq!(
        (
            &again["id"],
            &again["transaction_id"],
            &again["upsell_order_id"]
        ),
        (
            &first["id"],
            &first["transaction_id"],
            &first["upsell_order_id"]
        )
    );
    assert_eq!(gateway.charge_count(), 1, "a retry never charges twice");
    let mut other = body.clone();
    other["quantity"] = json!(1);
    let (st, err) = buy("B-1", Some("buy-B-1-a"), other).await;
    assert_eq!(
        (st, err["field"].as_str()),
        (409, Some("quantity")),
        "{err}"
    );
    assert_eq!(gateway.charge_count(), 1);

    let (st, up) = api.get("/v1/orders/B-1-U1").await;
    assert_eq!(st, 200, "{up}");
    assert_eq!(
        (
            up["status"].as_str(),
            up["upsell_of"].as_str(),
            up["amount"].as_str()
        ),
        (Some("paid"), Some("B-1"), Some("3201.00")),
        "{up}"
    );
    assert_eq!(up["items"][0]["upsell"], "scarf");
    assert_eq!(up["items"][0]["quantity"], 2);
    let events = api.store.order_events("B-1").await.expect("events");
    let done: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "upsell.completed")
        .collect();
    assert_eq!(done.len(), 1, "one webhook for one purchase: {events:?}");
    assert_eq!(done[0].payload["upsell_order_id"], "B-1-U1");
    assert_eq!(done[0].payload["card"]["last4"], "4242");
    assert!(
        !done[0].payload.to_string().contains("tok_visa"),
        "no token in webhooks"
    );

    // No header: a key is generated and returned; a second purchase is a second charge.
    let (st, second) = buy("B-1", None, json!({ "upsell": "shoes", "quantity": 1, "shipping": "air", "payment": { "method": "card_on_file" } })).await;
    assert_eq!(st, 201, "{second}");
    assert_eq!(second["upsell_order_id"], "B-1-U2");
    assert_eq!(second["amount"], "4650.00");
    let key = second["idempotency_key"]
        .as_str()
        .expect("generated key")
        .to_string();
    let (st, replay) = buy("B-1", Some(&key), json!({ "upsell": "shoes", "quantity": 1, "shipping": "air", "payment": { "method": "card_on_file" } })).await;
    assert_eq!((st, &replay["id"]), (200, &second["id"]), "{replay}");
    assert_eq!(gateway.charge_count(), 2);

    // A declined card on file: use another card.
    sold(&api, "B-2", "PKR", "tok_chargeDeclined", "shipped").await;
    let (st, declined) = buy("B-2", Some("buy-B-2"), body.clone()).await;
    assert_eq!(st, 402, "{declined}");
    assert_eq!(
        (
            declined["status"].as_str(),
            declined["reason"].as_str(),
            declined["next"].as_str()
        ),
        (Some("declined"), Some("card_declined"), Some("keypad")),
        "{declined}"
    );
    assert_eq!(declined["upsell_order_id"], Value::Null);
    let failed: Vec<_> = api
        .store
        .order_events("B-2")
        .await
        .expect("events")
        .into_iter()
        .filter(|e| e.event_type == "upsell.failed")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].payload["next"], "keypad");
    assert_eq!(failed[0].payload["reason"], "card_declined");
    let (st, _) = api.get("/v1/orders/B-2-U1").await;
    assert_eq!(st, 404, "a declined purchase makes no order");

    let keypad = json!({ "upsell": "scarf", "quantity": 1, "shipping": "std", "payment": { "method": "keypad", "call_id": "call_x" } });
    let (st, err) = buy("B-2", None, keypad).await;
    assert_eq!((st, err["field"].as_str()), (409, Some("payment")), "{err}");
    let (st, err) = buy("B-2", None, json!({ "upsell": "scarf", "quantity": 1, "shipping": "std", "payment": { "method": "cash" } })).await;
    assert_eq!(
        (st, err["field"].as_str()),
        (422, Some("payment.method")),
        "{err}"
    );
    // No card on file.
    let (st, _) = api
        .post(
            "/v1/orders",
            &order("B-3", "PKR", json!({ "offer": "lawn-suit" })),
        )
        .await;
    assert_eq!(st, 201);
    set_status(&api, "B-3", "paid").await;
    let (st, err) = buy("B-3", None, body).await;
    assert_eq!((st, err["field"].as_str()), (409, Some("payment")), "{err}");
}

/// The card-data search (issue #5's) over upsells: a card number posted as
/// a token, in every spelling, reaches no row (the SQLite files, WAL
/// included), no webhook and no response; purchases approved and declined
/// are written meanwhile. The search first proves it finds the number where
/// it was sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn card_numbers_reach_no_row_webhook_or_response() {
    const PAN: &str = "4000056655665556";
    let db = support::store::sqlite_db();
    let (api, _) = start(&db).await;
    let mut secrets = Secrets::card(PAN, "", "", "");
    secrets.add("spaced card number", "4000 0566 5566 5556", false);
    secrets.add("dashed card number", "4000-0566-5566-5556", false);
    let mut seen: Vec<(String, Vec<u8>)> = Vec::new();
    let (st, _) = put(&api, "/v1/offers/lawn-suit", &catalog()).await;
    assert_eq!(st, 201);
    for (i, token) in [
        PAN,
        "4000 0566 5566 5556",
        "4000-0566-5566-5556",
        "tok_4000056655665556",
    ]
    .into_iter()
    .enumerate()
    {
        let body = order(
            &format!("P-{i}"),
            "PKR",
            json!({ "offer": "lawn-suit", "payment_token": token, "card_last4": "5556" }),
        );
        assert!(
            !secrets.find(body.as_bytes()).is_empty(),
            "the search finds what was sent"
        );
        let (st, err) = api.post("/v1/orders", &body).await;
        assert_eq!(st, 422, "{err}");
        seen.push((
            format!("refusal of {token:?}"),
            err.to_string().into_bytes(),
        ));
    }
    sold(&api, "P-OK", "PKR", "tok_visa", "paid").await;
    sold(&api, "P-NO", "PKR", "tok_chargeDeclined", "paid").await;
    for id in ["P-OK", "P-NO"] {
        let (st, v) = api
            .post(
                &format!("/v1/orders/{id}/upsells"),
                &json!({ "upsell": "scarf", "quantity": 1, "shipping": "std", "payment": { "method": "card_on_file" } }).to_string(),
            )
            .await;
        assert!(st == 201 || st == 402, "{v}");
        seen.push((format!("purchase {id}"), v.to_string().into_bytes()));
        for e in api.store.order_events(id).await.expect("events") {
            seen.push((
                format!("webhook {}", e.event_type),
                e.payload.to_string().into_bytes(),
            ));
        }
        let (_, o) = api.get(&format!("/v1/orders/{id}")).await;
        seen.push((format!("order {id}"), o.to_string().into_bytes()));
    }
    let (_, search) = api.get("/v1/upsell/orders").await;
    seen.push(("search".into(), search.to_string().into_bytes()));
    api.stop().await;
    let file = db.url.trim_start_matches("sqlite://").to_string();
    for suffix in ["", "-wal", "-shm"] {
        if let Ok(bytes) = std::fs::read(format!("{file}{suffix}")) {
            seen.push((format!("orderline.db{suffix}"), bytes));
        }
    }
    assert!(
        seen.iter().any(|(n, _)| n == "orderline.db"),
        "the database file was read"
    );
    assert_no_card_data(&secrets, &seen);
}

/// The same through the real daemon (`orderline serve` on SQLite, the
/// sandbox gateway from its default `[payments.gateway]`, webhooks to a
/// receiver on 127.0.0.1): the status route takes `paid`; a purchase under
/// an `Idempotency-Key` makes one upsell order and one delivered
/// `upsell.completed`, its retry answers the stored purchase; a declined
/// card on file is delivered as `upsell.failed` with `next: keypad`.
#[test]
fn upsells_through_the_daemon() {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};
    use support::http::{json as call, request_with, WebhookSink};
    const TOKEN: &str = "upsell-token-5e1d";
    let dir = tempfile::tempdir().expect("tempdir");
    let sink = WebhookSink::start();
    let http: SocketAddr = format!("127.0.0.1:{}", support::free_tcp_port())
        .parse()
        .expect("addr");
    let tail = format!(
        "[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n\n[webhooks]\nurl = \"{}\"\nsecret = \"upsell-secret\"\n\n[campaign]\nunmatched = \"flag\"\nrules = []\n",
        sink.url()
    );
    let _daemon = support::Daemon::start_with(dir.path(), support::free_tcp_port(), &tail, |_| {});
    let send = |method: &str, path: &str, body: Value| {
        call(http, method, path, TOKEN, Some(&body.to_string()))
    };
    let (st, v) = send("PUT", "/v1/offers/lawn-suit", catalog());
    assert_eq!(st, 201, "{v}");
    for (id, token) in [("D-1", "tok_visa"), ("D-2", "tok_chargeDeclined")] {
        let body = order(
            id,
            "PKR",
            json!({ "offer": "lawn-suit", "payment_token": token, "card_brand": "visa", "card_last4": "4242" }),
        );
        let (st, v) = call(http, "POST", "/v1/orders", TOKEN, Some(&body));
        assert_eq!(st, 201, "{v}");
        let (st, v) = send(
            "PUT",
            &format!("/v1/orders/{id}/status"),
            json!({ "status": "paid" }),
        );
        assert_eq!((st, v["status"].as_str()), (200, Some("paid")), "{v}");
    }
    let buy = json!({ "upsell": "scarf", "quantity": 1, "shipping": "air", "payment": { "method": "card_on_file" } }).to_string();
    let purchase = |id: &str, key: &str| {
        let (st, text) = request_with(
            http,
            "POST",
            &format!("/v1/orders/{id}/upsells"),
            Some(TOKEN),
            &[("Idempotency-Key", key)],
            Some(&buy),
        );
        (st, serde_json::from_str::<Value>(&text).expect("json"))
    };
    let (st, first) = purchase("D-1", "daemon-D-1");
    assert_eq!(st, 201, "{first}");
    assert_eq!(
        (first["amount"].as_str(), first["upsell_order_id"].as_str()),
        (Some("2150.50"), Some("D-1-U1")),
        "{first}"
    );
    let (st, again) = purchase("D-1", "daemon-D-1");
    assert_eq!(
        (st, &again["id"], &again["transaction_id"]),
        (200, &first["id"], &first["transaction_id"]),
        "{again}"
    );
    let (st, _) = call(http, "GET", "/v1/orders/D-1-U2", TOKEN, None);
    assert_eq!(st, 404, "the retry made no second order");
    let (st, declined) = purchase("D-2", "daemon-D-2");
    assert_eq!(
        (st, declined["next"].as_str()),
        (402, Some("keypad")),
        "{declined}"
    );

    let t0 = Instant::now();
    let of = |kind: &str| -> Vec<Value> {
        sink.received()
            .iter()
            .map(|h| h.json())
            .filter(|b| b["type"] == kind)
            .collect()
    };
    while (of("upsell.completed").is_empty() || of("upsell.failed").is_empty())
        && t0.elapsed() < Duration::from_secs(15)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let done = of("upsell.completed");
    assert_eq!(done.len(), 1, "one purchase, one webhook: {done:?}");
    assert_eq!(done[0]["data"]["upsell_order_id"], "D-1-U1");
    let failed = of("upsell.failed");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["data"]["reason"], "card_declined");
    assert_eq!(failed[0]["data"]["next"], "keypad");
}
