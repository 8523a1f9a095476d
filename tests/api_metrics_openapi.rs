//! `/metrics` (Prometheus text 0.0.4) and `/openapi.json` (OpenAPI 3.1),
//! both served without a token by a running API.

#[macro_use]
mod support;
#[allow(dead_code, unused_macros)]
use std::collections::BTreeSet;

use orderline::api::{Metrics, ROUTES};
use orderline::ivr::Outcome;
use serde_json::Value;
use support::api::Api;

#[test]
fn metrics_render_in_prometheus_text_format() {
    let m = Metrics::new();
    m.call_started();
    m.call_started();
    {
        let _guard = m.active_call();
        assert_eq!(m.active_calls(), 3);
    }
    m.call_ended();
    for o in [
        Outcome::Confirmed,
        Outcome::Confirmed,
        Outcome::NoAnswer,
        Outcome::Hangup,
        Outcome::Busy,
    ] {
        m.attempt_finished(o);
    }
    m.set_webhook_backlog(7);
    m.webhook_failed();
    m.webhook_delivered();
    let text = m.render();
    for line in [
        "# TYPE orderline_active_calls gauge",
        "orderline_active_calls 1",
        "# TYPE orderline_call_attempts_total counter",
        r#"orderline_call_attempts_total{result="confirmed"} 2"#,
        r#"orderline_call_attempts_total{result="no_answer"} 1"#,
        r#"orderline_call_attempts_total{result="busy"} 1"#,
        r#"orderline_call_attempts_total{result="rejected"} 0"#,
        "orderline_calls_answered_total 3",
        "orderline_confirmations_total 2",
        "orderline_webhook_backlog 7",
        "orderline_webhook_failures_total 1",
        "orderline_webhook_deliveries_total 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Every sample line: a metric name, optional labels, one number; every
    // family declared by HELP and TYPE before its samples.
    let mut declared = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            declared.insert(name.to_string());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample");
        value
            .parse::<f64>()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let name = series.split('{').next().unwrap();
        assert!(
            name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "{line}"
        );
        assert!(declared.contains(name), "{name} sampled before its TYPE");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(
                labels.starts_with('{') && labels.ends_with('}') && labels.contains("=\""),
                "{line}"
            );
        }
    }
    assert!(text.ends_with('\n'));
}

#[tokio::test]
async fn metrics_and_openapi_are_served_without_a_token() {
    let db = support::store::sqlite_db();
    let api = Api::start(db.open().await).await;
    api.metrics.attempt_finished(Outcome::Confirmed);
    let resp = public_get(&api, "/metrics").await;
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = resp.text().await.unwrap();
    assert!(text.contains("orderline_confirmations_total 1\n"), "{text}");

    let resp = public_get(&api, "/openapi.json").await;
    assert_eq!(resp.status().as_u16(), 200);
    let raw = resp.text().await.unwrap();
    let doc: Value = serde_json::from_str(&raw).expect("JSON");
    // It parses as an OpenAPI document (utoipa's 3.1 model, an independent reader).
    let parsed: utoipa::openapi::OpenApi =
        serde_json::from_str(&raw).unwrap_or_else(|e| panic!("not OpenAPI: {e}"));
    assert_eq!(doc["openapi"], "3.1.0");
    let distinct_paths: BTreeSet<&str> = ROUTES.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        parsed.paths.paths.len(),
        distinct_paths.len(),
        "paths: {:?}",
        parsed.paths.paths.keys().collect::<Vec<_>>()
    );

    // Every route of the router is described, and nothing else.
    let mut described = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has responses"
            );
            assert!(
                op["operationId"].is_string(),
                "{method} {path} has an operationId"
            );
            described.insert((method.clone(), path.clone()));
        }
    }
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(described, routes);
    // utoipa saw the same operations.
    for (method, path) in &routes {
        let item = parsed
            .paths
            .paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} in utoipa model"));
        let op = match method.as_str() {
            "get" => &item.get,
            "post" => &item.post,
            "put" => &item.put,
            "delete" => &item.delete,
            other => panic!("{other}"),
        };
        assert!(op.is_some(), "{method} {path} in utoipa model");
    }
    // Every $ref resolves.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20);
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r}"));
        assert!(schemas.contains_key(name), "dangling $ref {r}");
    }
    api.stop().await;
}

/// A request without any Authorization header.
async fn public_get(api: &Api, path: &str) -> reqwest::Response {
    api.http.get(api.url(path)).send().await.expect(path)
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}
