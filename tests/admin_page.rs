//! The call-mode admin page (`GET /console/admin`, issue #11) in headless
//! Chromium (`tests/support/browser.rs`): sign in with the merchant token,
//! see counts per mode and sub-queue equal to `GET /v1/dialer/overview`
//! (which the API tests hold equal to the store), change a mode's put-off in
//! its form, and see the API return the new value; tick a status into a mode
//! from the statuses table. Also: the page loads
//! nothing from elsewhere and is served under the same strict CSP as `/agent`.

#[macro_use]
mod support;
#[allow(dead_code, unused_macros)]
use std::time::Duration;

use orderline_dialer::modes::DialResult;
use serde_json::Value;
use support::api::{order_body, T0, TOKEN};
use support::browser::Browser;
use support::dialer::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_shows_the_counts_and_changes_a_put_off() {
    let db = support::store::sqlite_db();
    let (api, dialup) = start(db.open().await).await;
    // Orders in three modes and two projects; one unanswered call.
    for (id, project, status) in [
        ("A1", "default", "processing"),
        ("A2", "default", "processing"),
        ("A3", "default", "processing"),
        ("B1", "shop2", "processing"),
        ("C1", "default", "awaiting_pickup"),
    ] {
        let (code, o) = api
            .post(
                "/v1/orders",
                &with_project(&order_body(id, r#""1500""#, "new"), project),
            )
            .await;
        assert_eq!(code, 201, "{o}");
        api.advance_ms(1_000);
        let (code, o) = put_status(&api, id, status).await;
        assert_eq!(code, 200, "{o}");
    }
    let t = T0 + 10_000;
    let p = dialup.pick("a1", at(t)).await.expect("pick").expect("due");
    dialup
        .finish(&p.order_id, DialResult::NoAnswer, at(t))
        .await
        .expect("finish");
    let (_, overview) = api.get("/v1/dialer/overview").await;
    // The API's counts agree with the stored rows (support::dialer::counts).
    counts(&api).await;

    // The page is served with the strict policy and loads nothing from elsewhere.
    let resp = reqwest::get(api.url("/console/admin")).await.expect("page");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-security-policy"],
        orderline::api::admin_page_csp()
    );
    assert!(orderline::api::admin_page_csp().contains("connect-src 'self'"));
    let html = resp.text().await.expect("html");
    for needle in [
        "src=\"http",
        "href=\"http",
        "src=\"//",
        "@import",
        "innerHTML",
    ] {
        assert!(
            !html.contains(needle),
            "the page must be self-contained: {needle}"
        );
    }

    let url = api.url("/console/admin");
    let (shown, stored_token, in_local) = tokio::task::block_in_place(|| {
        let mut b = Browser::launch();
        b.navigate(&url);
        b.fill(&["^token$"], TOKEN).expect("token field");
        b.click(&["sign ?in"]).expect("sign-in button");
        b.wait_for(
            "document.querySelector('[data-test=count-new-unprocessed]')",
            Duration::from_secs(10),
            "the admin table",
        );
        let shown = b.eval(
            "Object.fromEntries([...document.querySelectorAll('[data-test^=count-]')].map(e => [e.dataset.test, Number(e.textContent)]))",
        );
        // The forms come after the counts: the page fetches each mode's
        // settings once the overview is drawn, so wait for them too.
        b.wait_for(
            "!!document.getElementById('new-put_off')",
            Duration::from_secs(10),
            "the mode forms",
        );
        let token = b.eval("sessionStorage.getItem('orderline.admin.token')");
        let local = b.eval("localStorage.length");
        // Change the put-off of mode `new` in its form and save.
        b.fill(&["^new-put_off$"], "45m").expect("put_off field");
        b.click(&["^save new$"]).expect("save button");
        b.wait_for(
            "document.getElementById('message').textContent.includes('Saved new')",
            Duration::from_secs(10),
            "the save",
        );
        // A refused value shows the API's error naming the field.
        b.fill(&["^new-max_attempts$"], "0")
            .expect("max_attempts field");
        b.click(&["^save new$"]).expect("save button");
        b.wait_for(
            "document.getElementById('message').textContent.includes('max_attempts')",
            Duration::from_secs(10),
            "the refusal",
        );
        // Tick `shipped` (project default) into `pickup` from the statuses table.
        b.fill(&["^tick-shipped-default$"], "pickup")
            .expect("tick select");
        b.wait_for(
            "document.getElementById('message').textContent.includes('Saved shipped for default')",
            Duration::from_secs(10),
            "the tick",
        );
        (shown, token, local)
    });
    assert_eq!(
        stored_token,
        Value::from(TOKEN),
        "token kept in sessionStorage"
    );
    assert_eq!(in_local, Value::from(0), "nothing in localStorage");
    // Every count on the page is the API's.
    let modes = overview["modes"].as_array().expect("modes");
    assert_eq!(modes.len(), 3);
    let mut compared = 0;
    for m in modes {
        for sub in ["unprocessed", "no_answer", "callback", "in_flight"] {
            let key = format!("count-{}-{sub}", m["id"].as_str().expect("id"));
            assert_eq!(shown[&key], m["counts"][sub], "{key}: page {shown}");
            compared += 1;
        }
    }
    assert_eq!(compared, 12);
    assert_eq!(shown["count-new-unprocessed"], 2);
    assert_eq!(shown["count-new-no_answer"], 1);
    assert_eq!(shown["count-pickup-unprocessed"], 1);
    // The API returns the new put-off; the refused cap changed nothing.
    let (_, mode) = api.get("/v1/dialer/modes/new").await;
    assert_eq!(mode["settings"]["put_off"], "45m", "{mode}");
    assert_eq!(mode["settings"]["max_attempts"], 3, "{mode}");
    let (_, st) = api.get("/v1/dialer/statuses").await;
    let shipped = st["statuses"]
        .as_array()
        .expect("statuses")
        .iter()
        .find(|s| s["name"] == "shipped")
        .expect("shipped")
        .clone();
    assert_eq!(
        shipped["ticks"],
        serde_json::json!([{ "project": "default", "mode": "pickup" }])
    );
    api.stop().await;
}
