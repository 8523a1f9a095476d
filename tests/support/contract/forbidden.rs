//! Values and bodies a schema forbids, each with what it breaks and the
//! field a refusal must name.

use rand::rngs::StdRng;
use serde_json::{json, Value};

use super::{pattern, type_listed, type_of, types, Bad, Contract};

impl Contract<'_> {
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
    let name = field_name;
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
                    out.push(without(base, path, r, "then: required"));
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
                out.push(without(base, path, r, "required"));
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

/// `base` with the key `key` of the object at `path` removed.
fn without(base: &Value, path: &[String], key: &str, why: &str) -> (Value, String, String) {
    let mut body = base.clone();
    if let Some(o) = body
        .pointer_mut(&pointer(path))
        .and_then(Value::as_object_mut)
    {
        o.remove(key);
    }
    let mut at = path.to_vec();
    at.push(key.to_string());
    (body, field_name(&at), why.into())
}

/// `["rules", "[0]", "kinds"]` → `rules[0].kinds`, as the API names fields.
fn field_name(path: &[String]) -> String {
    path.join(".").replace(".[", "[")
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
