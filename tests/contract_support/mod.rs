//! Reading an OpenAPI 3.1 document as a client would (issue #14): values a
//! JSON Schema allows, values it forbids (each with what it breaks and the
//! field a refusal must name), and whether a value matches a schema.
//!
//! Enough of JSON Schema 2020-12 for this API's document: local `$ref`,
//! `allOf`/`oneOf`/`anyOf`, `type` (lists included), `enum`, `const`,
//! `examples`, `minLength`/`maxLength`, `pattern` (ECMA 262 as the `regex`
//! crate reads it), `format: date-time`, `minimum`/`maximum`/
//! `exclusiveMinimum`, `required`, `properties`, `additionalProperties:
//! false`, `minProperties`, `items`, `minItems`/`maxItems`, `uniqueItems`
//! and `contains` (inside `allOf`). A string with a `pattern` takes its
//! valid values from `examples`: the document then carries what a client
//! needs, and the generator never guesses what a pattern allows.

#![allow(dead_code)]

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::Rng;
use regex::Regex;
use serde_json::{json, Map, Value};

/// The document, with its notes on itself.
pub struct Contract<'a> {
    pub doc: &'a Value,
    /// What the document cannot say (a pattern without examples, an example
    /// its own schema refuses).
    pub findings: BTreeSet<String>,
}

/// A forbidden value: what it breaks, and the field its refusal must name
/// (relative to where the value sits).
pub struct Bad {
    pub value: Value,
    pub why: String,
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

fn type_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_listed(ts: &[String], v: &Value) -> bool {
    let t = type_of(v);
    ts.iter()
        .any(|x| x == t || (x == "number" && t == "integer"))
}

/// A regex for a JSON Schema `pattern` (unanchored, as the spec says).
fn pattern(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("the document's pattern {p:?} is not a regex: {e}"))
}

impl<'a> Contract<'a> {
    pub fn new(doc: &'a Value) -> Contract<'a> {
        Contract {
            doc,
            findings: BTreeSet::new(),
        }
    }

    /// Follow local `$ref`s.
    pub fn resolve<'b>(&self, schema: &'b Value) -> &'b Value
    where
        'a: 'b,
    {
        let mut s = schema;
        while let Some(r) = s["$ref"].as_str() {
            s = r
                .trim_start_matches("#/")
                .split('/')
                .fold(self.doc, |v, k| &v[k]);
        }
        s
    }

    /// The schema with `$ref`s followed and `allOf` members merged into one
    /// (properties, required, additionalProperties, `contains` kept aside).
    pub fn flat(&self, schema: &Value) -> Value {
        let s = self.resolve(schema);
        let Some(all) = s["allOf"].as_array() else {
            return s.clone();
        };
        let mut out = s.clone();
        if let Some(o) = out.as_object_mut() {
            o.remove("allOf");
        }
        let mut contains: Vec<Value> = Vec::new();
        for part in all {
            let part = self.flat(part);
            if let Some(c) = part.get("contains") {
                contains.push(c.clone());
                continue;
            }
            for (k, v) in part.as_object().into_iter().flatten() {
                match k.as_str() {
                    "properties" => {
                        let props = out["properties"].as_object().cloned().unwrap_or_default();
                        let mut props = props;
                        props.extend(v.as_object().cloned().unwrap_or_default());
                        out["properties"] = Value::Object(props);
                    }
                    "required" => {
                        let mut req = out["required"].as_array().cloned().unwrap_or_default();
                        req.extend(v.as_array().cloned().unwrap_or_default());
                        out["required"] = Value::Array(req);
                    }
                    _ => {
                        out[k] = v.clone();
                    }
                }
            }
        }
        if !contains.is_empty() {
            out["x-contains"] = Value::Array(contains);
        }
        out
    }

    fn note(&mut self, finding: String) {
        self.findings.insert(finding);
    }

    /// A value the schema allows; `at` names where, for findings.
    pub fn allowed(&mut self, schema: &Value, rng: &mut StdRng, at: &str) -> Value {
        let s = self.flat(schema);
        let branches = s["oneOf"].as_array().or(s["anyOf"].as_array()).cloned();
        if let Some(branches) = branches {
            let pick = branches[rng.gen_range(0..branches.len())].clone();
            // The branch may hold a `$ref`: resolve against the document.
            let pick: &Value = &pick;
            return self.allowed(pick, rng, at);
        }
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(vals) = s["enum"].as_array() {
            return vals[rng.gen_range(0..vals.len())].clone();
        }
        let ts = types(&s);
        let non_null: Vec<&String> = ts.iter().filter(|t| *t != "null").collect();
        if ts.iter().any(|t| t == "null") && (non_null.is_empty() || rng.gen_bool(0.2)) {
            return Value::Null;
        }
        let t = if non_null.is_empty() {
            // An untyped schema (`items: {}`): anything; an object is typical.
            return json!({ "sku": "A1", "qty": 2 });
        } else {
            non_null[rng.gen_range(0..non_null.len())].clone()
        };
        let examples: Vec<&Value> = s["examples"]
            .as_array()
            .map(|e| e.iter().filter(|v| type_listed(std::slice::from_ref(&t), v)).collect())
            .unwrap_or_default();
        if !examples.is_empty() && (t == "string" || rng.gen_bool(0.5)) {
            let v = examples[rng.gen_range(0..examples.len())].clone();
            let mut errs = Vec::new();
            self.validate(schema, &v, at, &mut errs);
            for e in errs {
                self.note(format!("example of {at} is refused by its own schema: {e}"));
            }
            return v;
        }
        match t.as_str() {
            "object" => self.allowed_object(&s, rng, at),
            "array" => self.allowed_array(&s, rng, at),
            "string" => self.allowed_string(&s, rng, at),
            "integer" => {
                let lo = s["minimum"].as_i64().unwrap_or(-1_000_000_000_000);
                let hi = s["maximum"].as_i64().unwrap_or(1_000_000_000_000);
                let v = match rng.gen_range(0..4) {
                    0 => lo,
                    1 => hi,
                    _ => rng.gen_range(lo..=hi.min(lo.saturating_add(1_000)).max(lo)),
                };
                json!(v)
            }
            "number" => {
                let lo = s["minimum"]
                    .as_f64()
                    .or(s["exclusiveMinimum"].as_f64().map(|m| m + 0.01))
                    .unwrap_or(0.0);
                let hi = s["maximum"].as_f64().unwrap_or(lo + 1_000.0);
                let v = rng.gen_range(lo..=hi);
                let v = ((v * 100.0).floor() / 100.0).max(lo);
                json!(v)
            }
            "boolean" => json!(rng.gen_bool(0.5)),
            other => panic!("{at}: type {other} the generator does not know"),
        }
    }

    fn allowed_object(&mut self, s: &Value, rng: &mut StdRng, at: &str) -> Value {
        let props = s["properties"].as_object().cloned().unwrap_or_default();
        let required: Vec<String> = s["required"]
            .as_array()
            .map(|r| {
                r.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let min_props = s["minProperties"].as_u64().unwrap_or(0) as usize;
        let mut m = Map::new();
        let keys: Vec<String> = props.keys().cloned().collect();
        for k in &keys {
            if required.contains(k) || rng.gen_bool(0.5) {
                let sub: &Value = &props[k].clone();
                m.insert(k.clone(), self.allowed(sub, rng, &format!("{at}.{k}")));
            }
        }
        let mut tries = 0;
        while m.len() < min_props && tries < 50 && !keys.is_empty() {
            tries += 1;
            let k = &keys[rng.gen_range(0..keys.len())];
            if !m.contains_key(k) {
                let sub: &Value = &props[k].clone();
                m.insert(k.clone(), self.allowed(sub, rng, &format!("{at}.{k}")));
            }
        }
        // `if`/`then`/`else` (a value that needs another key, or forbids one).
        if s.get("if").is_some() {
            let mut e = Vec::new();
            self.validate(&s["if"], &Value::Object(m.clone()), at, &mut e);
            let branch = if e.is_empty() { &s["then"] } else { &s["else"] };
            for r in branch["required"].as_array().into_iter().flatten() {
                if let Some(k) = r.as_str() {
                    // Present, and as the branch's own schema for it says.
                    let sub = &props[k].clone();
                    for _ in 0..20 {
                        let mut e = Vec::new();
                        if let Some(v) = m.get(k) {
                            self.validate(&branch["properties"][k], v, at, &mut e);
                            if e.is_empty() {
                                break;
                            }
                        }
                        m.insert(k.to_string(), self.allowed(sub, rng, &format!("{at}.{k}")));
                    }
                }
            }
            for r in branch["not"]["required"].as_array().into_iter().flatten() {
                if let Some(k) = r.as_str() {
                    m.remove(k);
                }
            }
        }
        Value::Object(m)
    }

    fn allowed_array(&mut self, s: &Value, rng: &mut StdRng, at: &str) -> Value {
        let min = s["minItems"].as_u64().unwrap_or(0) as usize;
        let max = s["maxItems"].as_u64().unwrap_or(min as u64 + 3) as usize;
        let unique = s["uniqueItems"] == json!(true);
        let mut out: Vec<Value> = s["x-contains"]
            .as_array()
            .map(|c| c.iter().filter_map(|c| c.get("const").cloned()).collect())
            .unwrap_or_default();
        let n = rng.gen_range(min.max(out.len())..=max.max(min).max(out.len()));
        let items: &Value = &s["items"].clone();
        let mut tries = 0;
        while out.len() < n && tries < 100 {
            tries += 1;
            let v = self.allowed(items, rng, &format!("{at}[]"));
            if !(unique && out.contains(&v)) {
                out.push(v);
            }
        }
        Value::Array(out)
    }

    fn allowed_string(&mut self, s: &Value, rng: &mut StdRng, at: &str) -> Value {
        if s["format"] == "date-time" {
            let days = rng.gen_range(1..30);
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64);
            let t = chrono::DateTime::from_timestamp(now + days * 86_400, 0).unwrap_or_default();
            return json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        let min = s["minLength"].as_u64().unwrap_or(0) as usize;
        let max = s["maxLength"].as_u64().unwrap_or(40) as usize;
        let len = match rng.gen_range(0..3) {
            0 => min.max(1),
            1 => max,
            _ => rng.gen_range(min.max(1)..=max.max(1)),
        };
        let v: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        if let Some(p) = s["pattern"].as_str() {
            if !pattern(p).is_match(&v) {
                self.note(format!(
                    "{at}: pattern {p:?} has no examples of what it allows"
                ));
            }
        }
        json!(v)
    }

    /// Values the schema forbids, each with what it breaks (one level: the
    /// caller walks into objects and arrays).
    pub fn forbidden(&self, schema: &Value) -> Vec<Bad> {
        let s = self.flat(schema);
        let mut out = Vec::new();
        let branches: Vec<Value> = s["oneOf"]
            .as_array()
            .or(s["anyOf"].as_array())
            .map(|b| b.iter().map(|b| self.flat(b)).collect())
            .unwrap_or_default();
        let ts: Vec<String> = if branches.is_empty() {
            types(&s)
        } else if branches.iter().all(|b| !types(b).is_empty()) {
            branches.iter().flat_map(types).collect()
        } else {
            Vec::new()
        };
        for v in [
            json!("x"),
            json!(7),
            json!(1.5),
            json!(true),
            json!({}),
            json!([]),
            Value::Null,
        ] {
            // An untyped schema (`items: {}`) allows everything.
            if !ts.is_empty() && !type_listed(&ts, &v) {
                out.push(Bad {
                    why: format!("type {} not in {ts:?}", type_of(&v)),
                    value: v,
                });
            }
        }
        if !branches.is_empty() {
            return out;
        }
        if s["enum"].is_array() || s.get("const").is_some() {
            out.push(Bad {
                value: json!("zz-not-listed"),
                why: "enum".into(),
            });
        }
        if let Some(max) = s["maxLength"].as_u64() {
            out.push(Bad {
                value: Value::String("a".repeat(max as usize + 1)),
                why: format!("maxLength {max}"),
            });
        }
        if let Some(min) = s["minLength"].as_u64().filter(|m| *m > 0) {
            out.push(Bad {
                value: Value::String("a".repeat(min as usize - 1)),
                why: format!("minLength {min}"),
            });
        }
        if let Some(p) = s["pattern"].as_str() {
            let re = pattern(p);
            let mut n = 0;
            for c in [
                "",
                "   ",
                "a b",
                "a\u{7}b",
                "!",
                "25:99-99:99",
                "-",
                "ab/cd",
            ] {
                if n < 2 && !re.is_match(c) {
                    n += 1;
                    out.push(Bad {
                        value: json!(c),
                        why: format!("pattern {p}"),
                    });
                }
            }
        }
        if s["format"] == "date-time" {
            out.push(Bad {
                value: json!("next tuesday"),
                why: "format date-time".into(),
            });
        }
        let numeric = ts.iter().any(|t| t == "integer" || t == "number");
        if numeric {
            if let Some(min) = s["minimum"].as_f64() {
                out.push(Bad {
                    value: json!(min as i64 - 1),
                    why: format!("minimum {min}"),
                });
            }
            if let Some(min) = s["exclusiveMinimum"].as_f64() {
                out.push(Bad {
                    value: json!(min),
                    why: format!("exclusiveMinimum {min}"),
                });
            }
            if let Some(max) = s["maximum"].as_f64() {
                out.push(Bad {
                    value: json!(max as i64 + 1),
                    why: format!("maximum {max}"),
                });
            }
        }
        if ts.iter().any(|t| t == "array") {
            if let Some(max) = s["maxItems"].as_u64() {
                let items: &Value = &s["items"].clone();
                let mut c = Contract::new(self.doc);
                let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(max);
                let mut long: Vec<Value> = self.flat(items)["enum"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                while long.len() <= max as usize {
                    long.push(c.allowed(items, &mut rng, "maxItems"));
                }
                out.push(Bad {
                    value: Value::Array(long),
                    why: format!("maxItems {max}"),
                });
            }
            if let Some(min) = s["minItems"].as_u64().filter(|m| *m > 0) {
                out.push(Bad {
                    value: json!([]),
                    why: format!("minItems {min}"),
                });
            }
            for c in s["x-contains"].as_array().into_iter().flatten() {
                if let Some(must) = c.get("const") {
                    let others: Vec<Value> = s["x-contains"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c.get("const").cloned())
                        .filter(|v| v != must)
                        .collect();
                    out.push(Bad {
                        value: Value::Array(others),
                        why: format!("contains {must}"),
                    });
                }
            }
            if s["uniqueItems"] == json!(true) {
                let mut c = Contract::new(self.doc);
                let mut rng = <StdRng as rand::SeedableRng>::seed_from_u64(7);
                let mut list = c.allowed(&s.clone(), &mut rng, "uniqueItems");
                if let Some(a) = list.as_array_mut() {
                    if let Some(first) = a.first().cloned() {
                        a.push(first);
                        out.push(Bad {
                            value: list,
                            why: "uniqueItems".into(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Push one line per way `v` breaks `schema`.
    pub fn validate(&self, schema: &Value, v: &Value, at: &str, errs: &mut Vec<String>) {
        let s = self.resolve(schema);
        if let Some(all) = s["allOf"].as_array() {
            for part in all {
                self.validate(part, v, at, errs);
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(branches) = s[key].as_array() {
                let fits = branches.iter().filter(|b| {
                    let mut e = Vec::new();
                    self.validate(b, v, at, &mut e);
                    e.is_empty()
                });
                let n = fits.count();
                if n == 0 || (key == "oneOf" && n > 1) {
                    errs.push(format!("{at}: {v} matches {n} of {key}"));
                }
            }
        }
        if let Some(cond) = s.get("if") {
            let mut e = Vec::new();
            self.validate(cond, v, at, &mut e);
            let branch = if e.is_empty() { "then" } else { "else" };
            if let Some(b) = s.get(branch) {
                self.validate(b, v, at, errs);
            }
        }
        if let Some(not) = s.get("not") {
            let mut e = Vec::new();
            self.validate(not, v, at, &mut e);
            if e.is_empty() {
                errs.push(format!("{at}: {v} matches `not` {not}"));
            }
        }
        if let Some(c) = s.get("const") {
            if c != v {
                errs.push(format!("{at}: {v} is not {c}"));
            }
        }
        if let Some(vals) = s["enum"].as_array() {
            if !vals.contains(v) {
                errs.push(format!("{at}: {v} not in enum {}", s["enum"]));
            }
        }
        let ts = types(s);
        if !ts.is_empty() && !type_listed(&ts, v) {
            errs.push(format!("{at}: {} is not {ts:?}", type_of(v)));
            return;
        }
        match v {
            Value::Object(m) => {
                for r in s["required"].as_array().into_iter().flatten() {
                    if let Some(r) = r.as_str() {
                        if !m.contains_key(r) {
                            errs.push(format!("{at}: required {r} missing"));
                        }
                    }
                }
                let props = s["properties"].as_object();
                for (k, val) in m {
                    match props.and_then(|p| p.get(k)) {
                        Some(ps) => self.validate(ps, val, &format!("{at}.{k}"), errs),
                        None if s["additionalProperties"] == json!(false) => {
                            errs.push(format!("{at}: property {k} not allowed"))
                        }
                        None => {}
                    }
                }
                if let Some(min) = s["minProperties"].as_u64() {
                    if (m.len() as u64) < min {
                        errs.push(format!("{at}: fewer than {min} properties"));
                    }
                }
            }
            Value::Array(a) => {
                if s.get("items").is_some() {
                    for (i, item) in a.iter().enumerate() {
                        self.validate(&s["items"], item, &format!("{at}[{i}]"), errs);
                    }
                }
                if let Some(c) = s.get("contains") {
                    let any = a.iter().any(|item| {
                        let mut e = Vec::new();
                        self.validate(c, item, at, &mut e);
                        e.is_empty()
                    });
                    if !any {
                        errs.push(format!("{at}: no item matches contains {c}"));
                    }
                }
                if s["uniqueItems"] == json!(true) {
                    for (i, x) in a.iter().enumerate() {
                        if a[..i].contains(x) {
                            errs.push(format!("{at}: item {i} repeats"));
                        }
                    }
                }
                if let Some(max) = s["maxItems"].as_u64() {
                    if a.len() as u64 > max {
                        errs.push(format!("{at}: more than {max} items"));
                    }
                }
                if let Some(min) = s["minItems"].as_u64() {
                    if (a.len() as u64) < min {
                        errs.push(format!("{at}: fewer than {min} items"));
                    }
                }
            }
            Value::String(text) => {
                let n = text.chars().count() as u64;
                if s["maxLength"].as_u64().is_some_and(|m| n > m) {
                    errs.push(format!("{at}: longer than maxLength"));
                }
                if s["minLength"].as_u64().is_some_and(|m| n < m) {
                    errs.push(format!("{at}: shorter than minLength"));
                }
                if let Some(p) = s["pattern"].as_str() {
                    if !pattern(p).is_match(text) {
                        errs.push(format!("{at}: {text:?} does not match {p}"));
                    }
                }
                if s["format"] == "date-time" && chrono::DateTime::parse_from_rfc3339(text).is_err()
                {
                    errs.push(format!("{at}: {text:?} is not a date-time"));
                }
            }
            Value::Number(n) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if s["minimum"].as_f64().is_some_and(|m| x < m) {
                    errs.push(format!("{at}: {x} below minimum"));
                }
                if s["maximum"].as_f64().is_some_and(|m| x > m) {
                    errs.push(format!("{at}: {x} above maximum"));
                }
                if s["exclusiveMinimum"].as_f64().is_some_and(|m| x <= m) {
                    errs.push(format!("{at}: {x} not above exclusiveMinimum"));
                }
            }
            _ => {}
        }
    }
}

/// Every forbidden body reachable from `base` under `schema`: each property
/// set to each value its schema forbids, each required property removed, an
/// unknown property where `additionalProperties` is false, at every depth.
/// Returns (body, field the refusal must name, why).
pub fn forbidden_bodies<'a>(
    c: &Contract<'a>,
    schema: &Value,
    base: &Value,
) -> Vec<(Value, String, String)> {
    let mut out = Vec::new();
    walk(c, schema, base, &mut Vec::new(), &mut out);
    // A change one branch forbids may be what another allows (`oneOf`).
    out.retain(|(body, _, _)| {
        let mut e = Vec::new();
        c.validate(schema, body, "body", &mut e);
        !e.is_empty()
    });
    out
}

fn walk<'a>(
    c: &Contract<'a>,
    schema: &Value,
    base: &Value,
    path: &mut Vec<String>,
    out: &mut Vec<(Value, String, String)>,
) {
    let s = c.flat(schema);
    let s = &s;
    let here = base.pointer(&pointer(path)).cloned().unwrap_or(Value::Null);
    let name = |path: &[String]| path.join(".").replace(".[", "[");
    // A `oneOf` of whole object schemas: walk the branch the base value is.
    if let Some(branches) = s["oneOf"].as_array() {
        for b in branches {
            let mut e = Vec::new();
            c.validate(b, &here, "", &mut e);
            if e.is_empty() && c.flat(b)["properties"].is_object() {
                walk(c, b, base, path, out);
                return;
            }
        }
    }
    if let Some(cond) = s.get("if") {
        let mut e = Vec::new();
        c.validate(cond, &here, "", &mut e);
        if e.is_empty() {
            for r in s["then"]["required"].as_array().into_iter().flatten() {
                if let Some(r) = r.as_str() {
                    let mut body = base.clone();
                    if let Some(o) = body
                        .pointer_mut(&pointer(path))
                        .and_then(Value::as_object_mut)
                    {
                        o.remove(r);
                    }
                    path.push(r.to_string());
                    out.push((body, name(path), "then: required".into()));
                    path.pop();
                }
            }
        } else {
            for r in s["else"]["not"]["required"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(r) = r.as_str() {
                    let mut body = base.clone();
                    path.push(r.to_string());
                    set(&mut body, path, json!("zz"));
                    out.push((body, name(path), "else: not required".into()));
                    path.pop();
                }
            }
        }
    }
    if let Some(props) = s["properties"].as_object() {
        if !here.is_object() {
            return;
        }
        for (k, ps) in props {
            path.push(k.clone());
            for bad in c.forbidden(ps) {
                let mut body = base.clone();
                set(&mut body, path, bad.value);
                out.push((body, name(path), bad.why));
            }
            walk(c, ps, base, path, out);
            path.pop();
        }
        for r in s["required"].as_array().into_iter().flatten() {
            if let Some(r) = r.as_str() {
                let mut body = base.clone();
                if let Some(o) = body
                    .pointer_mut(&pointer(path))
                    .and_then(Value::as_object_mut)
                {
                    o.remove(r);
                }
                path.push(r.to_string());
                out.push((body, name(path), "required".into()));
                path.pop();
            }
        }
        if s["additionalProperties"] == json!(false) {
            let mut body = base.clone();
            path.push("zz_extra".into());
            set(&mut body, path, json!(1));
            out.push((body, name(path), "additionalProperties".into()));
            path.pop();
        }
        if let Some(min) = s["minProperties"].as_u64().filter(|m| *m > 0) {
            if path.is_empty() {
                out.push((json!({}), "body".into(), format!("minProperties {min}")));
            }
        }
    }
    if here.as_array().is_some_and(|a| !a.is_empty()) && s.get("items").is_some() {
        let items: &Value = &s["items"];
        path.push("[0]".into());
        for bad in c.forbidden(items) {
            let mut body = base.clone();
            set(&mut body, path, bad.value);
            out.push((body, name(path), format!("item: {}", bad.why)));
        }
        walk(c, items, base, path, out);
        path.pop();
    }
}

fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| {
            if p == "[0]" {
                "/0".to_string()
            } else {
                format!("/{p}")
            }
        })
        .collect()
}

fn set(body: &mut Value, path: &[String], v: Value) {
    let (last, parent) = path.split_last().expect("a path");
    let Some(p) = body.pointer_mut(&pointer(parent)) else {
        return;
    };
    if last == "[0]" {
        if let Some(a) = p.as_array_mut() {
            if a.is_empty() {
                a.push(v);
            } else {
                a[0] = v;
            }
        }
    } else if let Some(o) = p.as_object_mut() {
        o.insert(last.clone(), v);
    }
}

/// Percent-encode a query value (everything but unreserved characters).
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
