//! Issue #14, "the API does what its document says", for `POST /v1/orders`:
//! a small property-based client reads the served `/openapi.json`, generates
//! bodies its `NewOrder` schema allows (required fields, random subsets of
//! the optional ones, values from `examples`/`enum`, strings at their length
//! bounds, `null` where the type allows it) and bodies it forbids (a
//! required field missing, a value of a type the schema does not list, an
//! enum value it does not list, a string one past `maxLength` or short of
//! `minLength`, an unknown property under `additionalProperties: false`),
//! and checks each against the running daemon: allowed → 201/200, forbidden
//! → 4xx whose `field` names the property. Findings are listed, and there
//! must be none. Seeded: a failure replays.

#[macro_use]
mod support;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use support::http::json as call;
use support::*;

const TOKEN: &str = "contract-token-71be";

/// Follow a local `$ref`.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let path = r.trim_start_matches("#/");
            path.split('/').fold(doc, |v, k| &v[k])
        }
        None => schema,
    }
}

fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

/// A value the schema allows. A `pattern` (other than "not blank") without
/// `examples` cannot say what one is: that is a finding, and `"x"` is tried.
fn allowed(
    doc: &Value,
    schema: &Value,
    rng: &mut StdRng,
    findings: &mut Vec<String>,
) -> Option<Value> {
    let schema = resolve(doc, schema);
    if let Some(vals) = schema["enum"].as_array() {
        return Some(vals[rng.gen_range(0..vals.len())].clone());
    }
    let ts = types(schema);
    if ts.iter().any(|t| t == "null") && rng.gen_bool(0.2) {
        return Some(Value::Null);
    }
    if let Some(ex) = schema["examples"].as_array() {
        return Some(ex[rng.gen_range(0..ex.len())].clone());
    }
    match ts.first().map(String::as_str) {
        Some("object") => {
            let mut m = Map::new();
            let props = schema["properties"].as_object()?;
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            for (k, s) in props {
                if required.contains(&k.as_str()) || rng.gen_bool(0.5) {
                    m.insert(k.clone(), allowed(doc, s, rng, findings)?);
                }
            }
            Some(Value::Object(m))
        }
        Some("array") => Some(json!([])),
        Some("string") if schema["pattern"].as_str().is_some_and(|p| p != "\\S") => {
            let note = format!(
                "pattern {} has no examples of what it allows",
                schema["pattern"]
            );
            if !findings.contains(&note) {
                findings.push(note);
            }
            Some(json!("x"))
        }
        Some("string") => {
            let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
            let max = schema["maxLength"].as_u64().unwrap_or(40) as usize;
            let len = match rng.gen_range(0..3) {
                0 => min.max(1),
                1 => max,
                _ => rng.gen_range(min.max(1)..=max),
            };
            Some(Value::String(
                (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect(),
            ))
        }
        Some("number") => Some(json!(12)),
        Some("integer") => Some(json!(1)),
        Some("boolean") => Some(json!(true)),
        _ => Some(json!({})),
    }
}

/// Values the schema forbids, each with what it breaks.
fn forbidden(schema: &Value) -> Vec<(Value, String)> {
    let ts = types(schema);
    let mut out = Vec::new();
    for (t, v) in [
        ("string", json!("x")),
        ("number", json!(7)),
        ("boolean", json!(true)),
        ("object", json!({})),
        ("array", json!([])),
        ("null", Value::Null),
    ] {
        let listed =
            ts.iter().any(|x| x == t) || (t == "number" && ts.iter().any(|x| x == "integer"));
        // An untyped schema (`items: {}`) allows everything.
        if !ts.is_empty() && !listed {
            out.push((v, format!("type {t} not in {ts:?}")));
        }
    }
    if schema["enum"].is_array() {
        out.push((json!("zz-not-listed"), "enum".into()));
    }
    if let Some(max) = schema["maxLength"].as_u64() {
        out.push((
            Value::String("a".repeat(max as usize + 1)),
            format!("maxLength {max}"),
        ));
    }
    if let Some(min) = schema["minLength"].as_u64().filter(|m| *m > 0) {
        out.push((
            Value::String("a".repeat(min as usize - 1)),
            format!("minLength {min}"),
        ));
    }
    out
}

#[test]
fn post_orders_accepts_what_the_document_allows_and_names_what_it_forbids() {
    let dir = tempfile::tempdir().expect("tempdir");
    let http = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port");
    let tail = format!("[http]\nlisten = \"{http}\"\napi_tokens = [\"{TOKEN}\"]\n");
    let daemon = Daemon::start_with(dir.path(), free_udp_port(), &tail, |_| {});
    let (st, doc) = call(http, "GET", "/openapi.json", TOKEN, None);
    assert_eq!(st, 200, "{doc}");
    let op = &doc["paths"]["/v1/orders"]["post"];
    let schema = resolve(
        &doc,
        &op["requestBody"]["content"]["application/json"]["schema"],
    );
    let props = schema["properties"]
        .as_object()
        .expect("NewOrder properties");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mut rng = StdRng::seed_from_u64(0x14);
    let mut findings = Vec::new();
    let mut n = 0u32;
    let mut next_id = |body: &mut Value| {
        n += 1;
        body["id"] = json!(format!("contract-{n}"));
    };
    let post = |body: &Value| call(http, "POST", "/v1/orders", TOKEN, Some(&body.to_string()));

    // Allowed: 60 random bodies the schema allows.
    let mut checked_allowed = 0;
    for _ in 0..60 {
        let mut body = allowed(&doc, schema, &mut rng, &mut findings).expect("an object schema");
        next_id(&mut body);
        let (st, v) = post(&body);
        checked_allowed += 1;
        if !(st == 200 || st == 201) {
            findings.push(format!("allowed but refused {st}: {body} → {v}"));
        }
    }

    // Forbidden: each property's bad values, and each required one missing.
    let mut base = allowed(&doc, schema, &mut rng, &mut findings).expect("a valid body");
    for r in &required {
        if base[*r].is_null() {
            base[*r] = allowed(&doc, &props[*r], &mut rng, &mut findings).expect("value");
        }
    }
    let mut checked_forbidden = 0;
    let mut cases: Vec<(Value, String, String)> = Vec::new();
    for (k, s) in props {
        let s = resolve(&doc, s);
        for (bad, why) in forbidden(s) {
            let mut body = base.clone();
            body[k] = bad;
            cases.push((body, k.clone(), why));
        }
        // One level down (customer.kind).
        if let Some(inner) = s["properties"].as_object() {
            for (ik, is) in inner {
                for (bad, why) in forbidden(resolve(&doc, is)) {
                    let mut body = base.clone();
                    body[k][ik] = bad;
                    cases.push((body, format!("{k}.{ik}"), why));
                }
            }
        }
    }
    for r in &required {
        let mut body = base.clone();
        body.as_object_mut().expect("object").remove(*r);
        cases.push((body, (*r).to_string(), "required".into()));
    }
    if schema["additionalProperties"] == json!(false) {
        let mut body = base.clone();
        body["zz_extra"] = json!(1);
        cases.push((body, "zz_extra".into(), "additionalProperties".into()));
    }
    for (mut body, field, why) in cases {
        if field != "id" {
            next_id(&mut body);
        }
        let (st, v) = post(&body);
        checked_forbidden += 1;
        let named = v["field"].as_str().unwrap_or("");
        if !(400..500).contains(&st) {
            findings.push(format!(
                "forbidden ({field}: {why}) but accepted {st}: {body}"
            ));
        } else if !(named == field || named.starts_with(&format!("{field}."))) {
            findings.push(format!(
                "forbidden ({field}: {why}) refused {st} naming {named:?}: {v}"
            ));
        }
    }
    eprintln!("POST /v1/orders: {checked_allowed} allowed and {checked_forbidden} forbidden bodies checked");
    assert!(
        checked_forbidden > 30,
        "too few forbidden cases: {checked_forbidden}"
    );
    assert!(
        findings.is_empty(),
        "{} findings:\n{}\n{}",
        findings.len(),
        findings.join("\n"),
        daemon
            .logs()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
