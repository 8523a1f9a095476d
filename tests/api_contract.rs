//! Issue #14, "the API does what its document says": a property-based client
//! reads the served `/openapi.json` of a running daemon (`orderline serve`
//! on PostgreSQL, with agents, call modes, statuses and the call layer) and
//! holds every operation with a JSON body or query parameters to it:
//!
//! - bodies and queries the document allows (required fields, random subsets
//!   of the optional ones, values from `enum`/`examples`, strings and numbers
//!   at their bounds, `null` where the type allows it) get a 2xx, or a
//!   documented 404/409 for the record's state;
//! - every body or query value it forbids (each property with a value of an
//!   unlisted type, outside its enum, length, range or pattern; each required
//!   property missing; an unknown property under `additionalProperties:
//!   false`; at every depth) gets a 4xx whose `field` names it;
//! - a request without a token gets 401, a body that is not JSON 400;
//! - every status is one the operation documents, and every JSON response
//!   matches the schema documented for that status.
//!
//! Findings are listed, and there must be none. Seeded: a failure replays
//! (`CONTRACT_SEED=n` tries another stream).

#[macro_use]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use support::contract::{encode, forbidden_bodies, Contract};
use support::http::{json as call, request};
use support::*;

const TOKEN: &str = "contract-token-71be";
const AGENT_TOKEN: &str = "contract-agent-a1-5d0c";

/// Allowed requests per operation.
const ALLOWED: usize = 25;

fn tail(http: SocketAddr, database: &str, dead: u16) -> String {
    format!(
        r#"
[http]
listen = "{http}"
api_tokens = ["{TOKEN}"]

{database}

# Every order is flagged, none is robo-called: no rule matches.
[campaign]
unmatched = "flag"
rules = []

[[agents]]
id = "a1"
name = "Ayesha"
sip_uri = "sip:a1@127.0.0.1:{dead}"
api_token = "{AGENT_TOKEN}"

[operators]
pause_codes = ["lunch", "training"]
dispositions = ["confirmed", "cancelled", "callback", "no_answer", "wrong_number"]

[dialer.disposition_status]
wrong_number = "shipped"

[[dialer.modes]]
id = "new"
kind = "new_leads"
priority = 10
status_after_max = "no_contact"
agents = ["a1"]

[[dialer.modes]]
id = "sample"
kind = "random"
random_share = 0.2
project = "shop2"

[[dialer.modes]]
id = "upsell"
kind = "upsell"
project = "shop2"

[[dialer.statuses]]
name = "paid"
mode = "upsell"

[[dialer.statuses]]
name = "flagged"
mode = "new"

[[dialer.statuses]]
name = "processing"
mode = "sample"

[[dialer.statuses]]
name = "shipped"

[[dialer.statuses]]
name = "no_contact"
"#
    )
}

struct Rig {
    http: SocketAddr,
    /// A UDP port nobody answers on: the agents' phones.
    dead: u16,
    n: u32,
    findings: Vec<String>,
    allowed: usize,
    forbidden: usize,
    /// Allowed bodies refused by a documented `x-cross-field` rule.
    cross_field: usize,
    /// Operations whose allowed requests never got a 2xx (state: 404/409).
    never_2xx: BTreeMap<String, BTreeSet<u16>>,
    with_2xx: BTreeSet<String>,
}

impl Rig {
    fn send(&mut self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        call(
            self.http,
            &method.to_uppercase(),
            path,
            TOKEN,
            body.map(|b| b.to_string()).as_deref(),
        )
    }

    fn next(&mut self, prefix: &str) -> String {
        self.n += 1;
        format!("{prefix}-{}", self.n)
    }

    /// A flagged order (the campaign flags everything), for decisions.
    fn order(&mut self) -> String {
        let id = self.next("ct");
        let body = json!({ "id": id, "phone": "03001234567", "amount": "1500", "currency": "PKR", "customer": { "kind": "new" } });
        let (st, v) = self.send("post", "/v1/orders", Some(&body));
        assert_eq!(st, 201, "fixture order: {v}");
        id
    }

    /// An agent whose phone never answers (one call at a time each).
    fn agent(&mut self) -> String {
        let id = self.next("ag");
        let body = json!({ "id": id, "name": "Agent", "sip_uri": format!("sip:{id}@127.0.0.1:{}", self.dead) });
        let (st, v) = self.send("post", "/v1/agents", Some(&body));
        assert_eq!(st, 201, "fixture agent: {v}");
        id
    }

    /// A call of a fresh agent, for an order or none.
    fn call(&mut self, order: Option<&str>) -> String {
        let agent = self.agent();
        let body = json!({ "agent": agent, "to": "03001234567", "order_id": order });
        let (st, v) = self.send("post", "/v1/calls", Some(&body));
        assert_eq!(st, 201, "fixture call: {v}");
        v["id"].as_str().expect("call id").to_string()
    }

    /// The value of `{param}` in `template` for this request.
    fn path(&mut self, template: &str, fresh: bool, fixed: &Fixtures) -> String {
        if !template.contains('{') {
            return template.to_string();
        }
        let value = match template {
            "/v1/orders/{id}/decision" if fresh => self.order(),
            // Two parameters: the fixture order's row 1 (it has no trial: 404).
            "/v1/orders/{id}/workflow/{row}/resend" => {
                return format!("/v1/orders/{}/workflow/1/resend", fixed.order)
            }
            t if t.starts_with("/v1/orders/") => fixed.order.clone(),
            "/v1/calls/{id}" if fresh => self.call(None),
            "/v1/calls/{id}/order" => fixed.call_with_order.clone(),
            t if t.starts_with("/v1/calls/") => fixed.call.clone(),
            t if t.starts_with("/v1/payments/") => "pay_none".into(),
            t if t.starts_with("/v1/agents/") => "a1".into(),
            t if t.starts_with("/v1/dialer/modes/") => "new".into(),
            t if t.starts_with("/v1/dialer/statuses/") => "processing".into(),
            t if t.starts_with("/v1/offers/") => "lawn-suit".into(),
            other => panic!("no fixture for {other}"),
        };
        let open = template.find('{').expect("a parameter");
        let close = template.find('}').expect("a parameter");
        format!("{}{}{}", &template[..open], value, &template[close + 1..])
    }

    /// Status documented, JSON body matching its documented schema.
    fn check_response(&mut self, c: &Contract, op: &Value, what: &str, st: u16, v: &Value) -> bool {
        let Some(resp) = op["responses"].get(st.to_string()) else {
            self.findings
                .push(format!("{what}: status {st} is not documented: {v}"));
            return false;
        };
        let resp = c.resolve(resp);
        if let Some(schema) = resp["content"]["application/json"].get("schema") {
            let mut errs = Vec::new();
            c.validate(schema, v, "response", &mut errs);
            for e in errs.into_iter().take(3) {
                self.findings
                    .push(format!("{what}: {st} does not match its schema: {e}"));
            }
        }
        true
    }
}

struct Fixtures {
    order: String,
    call: String,
    call_with_order: String,
}

/// Every operation with a JSON body or query parameters, plus the auth and
/// malformed-body checks; returns the number of operations held to it.
fn check_all(rig: &mut Rig, doc: &Value, seed: u64) -> usize {
    let mut c = Contract::new(doc);
    let mut rng = StdRng::seed_from_u64(seed);
    let order = rig.order();
    let fixed = Fixtures {
        call_with_order: rig.call(Some(&order)),
        order,
        call: rig.call(None),
    };
    let mut ops = 0;
    let paths = doc["paths"].as_object().expect("paths");
    // PUT /v1/rules last: it may change how the next orders are planned.
    let mut list: Vec<(&String, &String, &Value)> = paths
        .iter()
        .flat_map(|(p, item)| {
            item.as_object()
                .into_iter()
                .flatten()
                .map(move |(m, op)| (p, m, op))
        })
        .collect();
    // Within a path: create, change, read, then delete.
    let rank = |m: &str| {
        ["post", "put", "get", "delete"]
            .iter()
            .position(|x| *x == m)
    };
    list.sort_by_key(|(p, m, _)| (p.as_str() == "/v1/rules", p.to_string(), rank(m)));
    for (template, method, op) in list {
        let what = format!("{} {template}", method.to_uppercase());
        let ok_json = op["responses"]["200"]["content"]
            .get("application/json")
            .or(op["responses"]["201"]["content"].get("application/json"))
            .or(op["responses"]["202"]["content"].get("application/json"))
            .is_some();
        let body_schema = op["requestBody"]["content"]["application/json"]
            .get("schema")
            .cloned();
        let query: Vec<Value> = op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .cloned()
            .collect();
        let secured = op.get("security") != Some(&json!([]));
        if secured {
            let path = if template.contains('{') {
                rig.path(template, false, &fixed)
            } else {
                template.clone()
            };
            let (st, text) = request(rig.http, &method.to_uppercase(), &path, None, None);
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if st != 401 {
                rig.findings
                    .push(format!("{what} without a token: {st}, not 401"));
            }
            rig.check_response(&c, op, &format!("{what} (no token)"), st, &v);
        }
        // Static pages, /metrics, /openapi.json and event streams: the
        // document says only that they are there.
        if !ok_json || template.ends_with("/events") {
            continue;
        }
        if body_schema.is_none() && query.is_empty() {
            // Still check the plain request's status and response.
            let path = if template.contains('{') {
                rig.path(template, true, &fixed)
            } else {
                template.clone()
            };
            let (st, v) = rig.send(method, &path, None);
            rig.allowed += 1;
            rig.took(&what, st);
            if rig.check_response(&c, op, &what, st, &v) && !(st < 400 || st == 404 || st == 409) {
                rig.findings.push(format!("{what}: refused {st}: {v}"));
            }
            ops += 1;
            continue;
        }
        ops += 1;
        if let Some(schema) = &body_schema {
            // Not JSON at all.
            let path = rig.path_or(template, &fixed);
            let (st, v) = call(
                rig.http,
                &method.to_uppercase(),
                &path,
                TOKEN,
                Some("{\"oops"),
            );
            if st != 400 {
                rig.findings
                    .push(format!("{what}: malformed JSON answered {st}, not 400"));
            }
            rig.check_response(&c, op, &format!("{what} (malformed)"), st, &v);
            // Allowed bodies.
            for _ in 0..ALLOWED {
                let mut body = c.allowed(schema, &mut rng, "body");
                uniquify(rig, template, method, &mut body, "");
                let path = rig.path(template, true, &fixed);
                let (st, v) = rig.send(method, &path, Some(&body));
                rig.allowed += 1;
                rig.took(&what, st);
                if rig.check_response(&c, op, &what, st, &v)
                    && !(st < 400 || st == 404 || st == 409)
                {
                    if cross_field(op, st, &v) {
                        rig.cross_field += 1;
                    } else {
                        rig.findings
                            .push(format!("{what}: allowed body refused {st}: {body} → {v}"));
                    }
                }
            }
            // Forbidden bodies, around one allowed base the server took
            // (so a refusal is the forbidden value's, not the base's); a
            // route whose state refuses every body (a payment on a call
            // that is not bridged) keeps the last one tried.
            let mut base = Value::Null;
            for _ in 0..20 {
                base = c.allowed(schema, &mut rng, "body");
                uniquify(rig, template, method, &mut base, "");
                let path = rig.path(template, true, &fixed);
                let (st, _) = rig.send(method, &path, Some(&base));
                if st < 300 {
                    break;
                }
            }
            for (mut body, field, why) in forbidden_bodies(&c, schema, &base) {
                uniquify(rig, template, method, &mut body, &field);
                let path = rig.path(template, false, &fixed);
                let (st, v) = rig.send(method, &path, Some(&body));
                rig.forbidden += 1;
                forbidden_outcome(rig, &c, op, &what, &field, &why, &body.to_string(), st, &v);
            }
        }
        if !query.is_empty() {
            let path = rig.path_or(template, &fixed);
            for _ in 0..ALLOWED {
                let mut pairs = Vec::new();
                for p in &query {
                    if rng.gen_bool(0.5) {
                        let v = c.allowed(&p["schema"], &mut rng, &format!("query {}", p["name"]));
                        pairs.push(format!(
                            "{}={}",
                            p["name"].as_str().unwrap_or(""),
                            encode(&text(&v))
                        ));
                    }
                }
                let url = format!("{path}?{}", pairs.join("&"));
                let (st, v) = rig.send(method, &url, None);
                rig.allowed += 1;
                rig.took(&what, st);
                if rig.check_response(&c, op, &what, st, &v) && st >= 400 {
                    rig.findings
                        .push(format!("{what}: allowed query refused {st}: {url} → {v}"));
                }
            }
            for p in &query {
                let name = p["name"].as_str().unwrap_or("").to_string();
                for bad in c.forbidden(&p["schema"]) {
                    // A query value is text: `null` and `[]` do not exist
                    // there, and a number's text is also a string.
                    if matches!(
                        bad.value,
                        Value::Null | Value::Array(_) | Value::Object(_) | Value::Bool(_)
                    ) {
                        continue;
                    }
                    let t = text(&bad.value);
                    if bad.why.starts_with("type number") || bad.why.starts_with("type integer") {
                        continue;
                    }
                    let url = format!("{path}?{name}={}", encode(&t));
                    let (st, v) = rig.send(method, &url, None);
                    rig.forbidden += 1;
                    forbidden_outcome(rig, &c, op, &what, &name, &bad.why, &url, st, &v);
                }
            }
        }
        if template == "/v1/rules" && method == "put" {
            let (st, v) = rig.send(
                "put",
                "/v1/rules",
                Some(&json!({ "campaign": { "unmatched": "flag" } })),
            );
            assert_eq!(st, 200, "rules restored: {v}");
        }
    }
    for f in std::mem::take(&mut c.findings) {
        rig.findings.push(format!("document: {f}"));
    }
    ops
}

impl Rig {
    /// Tally an allowed request's status per operation.
    fn took(&mut self, what: &str, st: u16) {
        if st < 300 {
            self.with_2xx.insert(what.to_string());
            self.never_2xx.remove(what);
        } else if !self.with_2xx.contains(what) {
            self.never_2xx
                .entry(what.to_string())
                .or_default()
                .insert(st);
        }
    }

    fn path_or(&mut self, template: &str, fixed: &Fixtures) -> String {
        if template.contains('{') {
            self.path(template, false, fixed)
        } else {
            template.to_string()
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn forbidden_outcome(
    rig: &mut Rig,
    c: &Contract,
    op: &Value,
    what: &str,
    field: &str,
    why: &str,
    sent: &str,
    st: u16,
    v: &Value,
) {
    let named = v["field"].as_str().unwrap_or("");
    let head = field.split(['.', '[']).next().unwrap_or(field);
    if !(400..500).contains(&st) {
        rig.findings.push(format!(
            "{what}: forbidden ({field}: {why}) but answered {st}: {sent}"
        ));
    } else if !(named == field
        || named.starts_with(&format!("{field}."))
        || named.starts_with(&format!("{field}["))
        || (field.contains('[') && named == head))
    {
        rig.findings.push(format!(
            "{what}: forbidden ({field}: {why}) refused {st} naming {named:?}: {sent} → {v}"
        ));
    }
    rig.check_response(c, op, &format!("{what} (forbidden {field})"), st, v);
}

/// A refusal the operation's `x-cross-field` list documents: a rule
/// between two values that JSON Schema cannot state (e.g. max above min).
fn cross_field(op: &Value, st: u16, v: &Value) -> bool {
    let named = v["field"].as_str().unwrap_or("");
    // `rules[3].max_amount` → `rules[].max_amount`
    let mut general = String::new();
    let mut in_index = false;
    for ch in named.chars() {
        match ch {
            '[' => {
                in_index = true;
                general.push('[');
            }
            ']' => {
                in_index = false;
                general.push(']');
            }
            _ if in_index => {}
            _ => general.push(ch),
        }
    }
    op["x-cross-field"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| {
            x["field"].as_str() == Some(general.as_str())
                && x["status"].as_u64() == Some(u64::from(st))
        })
}

/// Ids that must be new for a create to be a create (all but `keep`, the
/// field a forbidden body is about).
fn uniquify(rig: &mut Rig, template: &str, method: &str, body: &mut Value, keep: &str) {
    if method != "post" || !body.is_object() {
        return;
    }
    let mut set = |key: &str, value: &dyn Fn(&mut Rig) -> String| {
        if keep != key && body.get(key).is_some_and(Value::is_string) {
            body[key] = json!(value(rig));
        }
    };
    match template {
        "/v1/orders" => set("id", &|r| r.next("ct")),
        "/v1/agents" => {
            set("id", &|r| r.next("ag"));
            set("sip_user", &|r| r.next("user"));
        }
        "/v1/calls" => set("agent", &|r| r.agent()),
        _ => {}
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn every_operation_accepts_what_the_document_allows_and_names_what_it_forbids() {
    let db = tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(support::store::postgres_db());
    let dir = tempfile::tempdir().expect("tempdir");
    let http: SocketAddr = format!("127.0.0.1:{}", free_tcp_port())
        .parse()
        .expect("addr");
    let database = format!("[database]\nurl = \"{}\"", db.url);
    let dead = free_udp_port();
    let tail = tail(http, &database, dead);
    let daemon = Daemon::start_with(dir.path(), free_udp_port(), &tail, |_| {});
    let (st, doc) = call(http, "GET", "/openapi.json", TOKEN, None);
    assert_eq!(st, 200, "{doc}");
    let seed = std::env::var("CONTRACT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x14);
    let mut rig = Rig {
        http,
        dead,
        n: 0,
        findings: Vec::new(),
        allowed: 0,
        forbidden: 0,
        cross_field: 0,
        never_2xx: BTreeMap::new(),
        with_2xx: BTreeSet::new(),
    };
    let ops = check_all(&mut rig, &doc, seed);
    let distinct: BTreeSet<&String> = rig.findings.iter().collect();
    eprintln!(
        "{ops} operations: {} allowed ({} refused by a documented cross-field rule) and {} forbidden requests checked (seed {seed}), {} findings",
        rig.allowed,
        rig.cross_field,
        rig.forbidden,
        distinct.len()
    );
    // Routes whose state refuses every allowed request here (no bridged
    // call, no payment, no preview offer): their bodies are still checked.
    eprintln!("no 2xx for: {:?}", rig.never_2xx);
    assert!(ops >= 25, "too few operations checked: {ops}");
    assert!(
        rig.with_2xx.len() >= 25,
        "too few operations ever accepted a request: {:?}",
        rig.with_2xx
    );
    assert!(
        rig.forbidden > 300,
        "too few forbidden cases: {}",
        rig.forbidden
    );
    assert!(
        distinct.is_empty(),
        "{} findings:\n{}\n{}",
        distinct.len(),
        distinct.into_iter().cloned().collect::<Vec<_>>().join("\n"),
        daemon
            .logs()
            .lines()
            .rev()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n")
    );
}
