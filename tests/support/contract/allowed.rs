//! Values a schema allows: required properties and random subsets of the
//! rest, `enum`/`const`/`examples`, strings and numbers at their bounds,
//! `null` where the type lists it, `if`/`then`/`else` honoured.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};

use super::{pattern, type_listed, types, Contract};

impl Contract<'_> {
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
            .map(|e| {
                e.iter()
                    .filter(|v| type_listed(std::slice::from_ref(&t), v))
                    .collect()
            })
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
}
