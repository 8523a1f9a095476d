//! `GET /v1/dialer/modes/{id}/stats` (issue #12) on 127.0.0.1 against a real
//! SQLite store: the shape (every field of the `PacerStats` schema), zeros
//! before any call, the counters moving when the mode's pacer is fed events
//! through the daemon's `Dialup` handle and kept across a restart (the
//! ledger is stored), 404 for an unknown mode, and the route in
//! `/openapi.json`.

#[macro_use]
mod support;
use orderline_dialer::pacer::{AgentEvent, CallEvent};
use serde_json::Value;
#[allow(dead_code, unused_macros)]
use support::api::T0;
use support::dialer::*;

const FIELDS: [&str; 12] = [
    "mode",
    "dial_level",
    "forecast_answer_rate",
    "answered_30d",
    "abandoned_30d",
    "abandon_pct_30d",
    "abandon_cap_pct",
    "margin_to_cap_pct",
    "allowed_abandon_pct",
    "forecast_bias",
    "occupancy",
    "today",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_have_their_shape_and_follow_the_pacer() {
    let db = support::store::sqlite_db();
    let (api, dialup) = start(db.open().await).await;

    let (status, s) = api.get("/v1/dialer/modes/new/stats").await;
    assert_eq!(status, 200, "{s}");
    for f in FIELDS {
        // Occupancy is null, but present, before any agent logged in.
        let present = s.get(f).is_some_and(|v| f == "occupancy" || !v.is_null());
        assert!(present, "{f} missing in {s}");
    }
    assert!(s["occupancy"].is_null(), "nobody logged in yet: {s}");
    assert_eq!(s["mode"], "new");
    assert_eq!(s["today"]["placed"], 0);
    assert_eq!(s["answered_30d"], 0);
    assert_eq!(s["abandon_cap_pct"], 3.0);
    assert_eq!(s["margin_to_cap_pct"], 3.0);

    // Two agents, four lines: two live answers, one of them abandoned.
    let now = at(T0);
    for a in [1, 2] {
        dialup
            .pacer_agent("new", a, AgentEvent::LoggedIn, now)
            .expect("mode exists");
        dialup
            .pacer_agent("new", a, AgentEvent::Ready, now)
            .expect("mode exists");
    }
    let n = dialup.dial_now("new", now).expect("mode exists");
    assert!(n >= 2, "two ready agents, cold start: {n} lines");
    for k in 0..4 {
        dialup
            .pacer_call("new", k, CallEvent::Dialled, now)
            .await
            .expect("mode exists");
    }
    let later = at(T0 + 8_000);
    dialup
        .pacer_call("new", 0, CallEvent::AnsweredLive, later)
        .await
        .expect("mode exists");
    dialup
        .pacer_call("new", 0, CallEvent::Connected, later)
        .await
        .expect("mode exists");
    dialup
        .pacer_call("new", 1, CallEvent::AnsweredLive, later)
        .await
        .expect("mode exists");
    dialup
        .pacer_call("new", 1, CallEvent::Abandoned, at(T0 + 10_000))
        .await
        .expect("mode exists");

    api.advance_ms(10_000);
    let (status, s) = api.get("/v1/dialer/modes/new/stats").await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["today"]["placed"], 4, "{s}");
    assert_eq!(s["today"]["answered"], 2, "{s}");
    assert_eq!(s["today"]["abandoned"], 1, "{s}");
    assert_eq!(s["answered_30d"], 2);
    assert_eq!(s["abandoned_30d"], 1);
    assert_eq!(s["abandon_pct_30d"], 50.0);
    assert_eq!(s["margin_to_cap_pct"], -47.0);
    assert!(s["dial_level"].as_f64().unwrap_or(0.0) > 0.0, "{s}");
    // Another mode's pacer is its own.
    let (_, other) = api.get("/v1/dialer/modes/pickup/stats").await;
    assert_eq!(other["today"]["placed"], 0, "{other}");

    // A restart on the same store keeps the month (migration 0010): a new
    // Dialup, as the daemon builds it at start, has the same 30-day counts.
    let (again, _) = daemon(&db.open().await, T0 + 20_000).await;
    let s = again
        .pacer_stats("new", at(T0 + 20_000))
        .expect("mode exists");
    assert_eq!(
        (s.answered_30d, s.abandoned_30d, s.today.placed),
        (2, 1, 4),
        "{s:?}"
    );

    let (status, e) = api.get("/v1/dialer/modes/nope/stats").await;
    assert_eq!(status, 404, "{e}");
    assert!(dialup.pacer_stats("nope", now).is_err());

    let (status, doc) = api.get("/openapi.json").await;
    assert_eq!(status, 200);
    let op = &doc["paths"]["/v1/dialer/modes/{id}/stats"]["get"];
    assert_eq!(op["operationId"], "getDialerModeStats", "{op}");
    let schema = &doc["components"]["schemas"]["PacerStats"];
    let required: Vec<&str> = schema["required"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(required, FIELDS, "{schema}");
}
