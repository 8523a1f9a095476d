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

mod allowed;
mod forbidden;

#[allow(unused_imports)] // used by api_contract only; every test binary includes support
pub use forbidden::forbidden_bodies;

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::{json, Value};

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

pub(crate) fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(|t| t.as_str().map(String::from))
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn type_of(v: &Value) -> &'static str {
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

pub(crate) fn type_listed(ts: &[String], v: &Value) -> bool {
    let t = type_of(v);
    ts.iter()
        .any(|x| x == t || (x == "number" && t == "integer"))
}

/// A regex for a JSON Schema `pattern` (unanchored, as the spec says).
pub(crate) fn pattern(p: &str) -> Regex {
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

    pub(crate) fn note(&mut self, finding: String) {
        self.findings.insert(finding);
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
