//! `/v1/orders`: create (idempotent), read with attempts and history, list
//! with keyset pages, and the human decision on a flagged order.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::input::{self, type_name};
use super::ApiState;
use crate::dialer::OrderStatus;
use crate::store::{Attempt, FlagDecision, Inserted, ListQuery, Order, StatusChange, MAX_PAGE};

/// Page size when `limit` is not given.
pub const DEFAULT_PAGE: u32 = 50;

/// `POST /v1/orders`: 201 new, 200 the same order again, 409 a different
/// body under a known id (naming the fields).
pub(crate) async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = state.body(body)?;
    let order = input::new_order(&body)?;
    let facts = order.facts()?;
    let now = state.now();
    let plan = state.campaign_snapshot().plan_order(&facts, now);
    match state.inner.store.insert_order(&order, plan, now).await? {
        Inserted::Created(o) => {
            state.inner.metrics.order_created();
            Ok((StatusCode::CREATED, Json(order_json(&o))).into_response())
        }
        Inserted::Existing(o) => Ok((StatusCode::OK, Json(order_json(&o))).into_response()),
        Inserted::Conflict { existing, fields } => Err(ApiError::Conflict {
            id: existing.id.clone(),
            fields,
            existing: Box::new(existing),
        }),
    }
}

/// `GET /v1/orders/{id}`: the order, its call attempts and status history.
pub(crate) async fn get(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let detail = state
        .inner
        .store
        .get_order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    let history = state.inner.store.status_history(&id).await?;
    let mut body = order_json(&detail.order);
    body["attempts"] = detail.attempts.iter().map(attempt_json).collect();
    body["history"] = history.iter().map(history_json).collect();
    Ok(Json(body))
}

/// `GET /v1/orders?status=&from=&to=&cursor=&limit=`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = list_query(
        query.as_deref(),
        &["status", "from", "to", "cursor", "limit"],
    )?;
    let page = state.inner.store.list_orders(&q).await?;
    Ok(Json(json!({
        "orders": page.orders.iter().map(order_json).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

/// `POST /v1/orders/{id}/decision {"decision":"confirm"|"cancel","by"?,"note"?}`.
pub(crate) async fn decide(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let body = state.body(body)?;
    let map = input::json_object(&body)?;
    if let Some(unknown) = map
        .keys()
        .find(|k| !["decision", "by", "note"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(
            unknown.clone(),
            "unknown field; expected decision, by, note",
        ));
    }
    let decision = match map.get("decision") {
        Some(Value::String(s)) if s == "confirm" => FlagDecision::Confirm,
        Some(Value::String(s)) if s == "cancel" => FlagDecision::Cancel,
        Some(Value::String(s)) => {
            return Err(ApiError::invalid(
                "decision",
                format!("{s:?} is not confirm or cancel"),
            ))
        }
        None | Some(Value::Null) => return Err(ApiError::invalid("decision", "is required")),
        Some(other) => {
            return Err(ApiError::invalid(
                "decision",
                format!("must be a string, not {}", type_name(other)),
            ))
        }
    };
    let text = |field: &str, max: usize| -> Result<Option<String>, ApiError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s))
                if s.chars().count() <= max && !s.chars().any(char::is_control) =>
            {
                Ok(Some(s.clone()))
            }
            Some(Value::String(_)) => Err(ApiError::invalid(
                field,
                format!("must be at most {max} printable characters"),
            )),
            Some(other) => Err(ApiError::invalid(
                field,
                format!("must be a string, not {}", type_name(other)),
            )),
        }
    };
    let by = text("by", 128)?.unwrap_or_else(|| "api".to_string());
    let note = text("note", 2000)?;
    let order = state
        .inner
        .store
        .decide(&id, decision, &by, note.as_deref(), state.now())
        .await?;
    Ok(Json(order_json(&order)))
}

/// The `{id}` path segment, or a JSON 400 (bad percent-encoding, not UTF-8).
pub(crate) fn path_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|e| ApiError::bad_query("id", e.body_text()))
}

/// Parse the list filters shared by the JSON list and the CSV export.
pub(crate) fn list_query(query: Option<&str>, allowed: &[&str]) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery {
        limit: DEFAULT_PAGE,
        ..ListQuery::default()
    };
    let pairs: Vec<(String, String)> = form_pairs(query.unwrap_or(""))?;
    for (key, value) in pairs {
        match key.as_str() {
            k if !allowed.contains(&k) => {
                return Err(ApiError::bad_query(
                    k,
                    format!("unknown parameter; expected one of {}", allowed.join(", ")),
                ))
            }
            "status" => {
                q.status = Some(OrderStatus::parse(&value).ok_or_else(|| {
                    ApiError::bad_query(
                        "status",
                        format!(
                        "{value:?} is not one of pending, calling, confirmed, cancelled, flagged"
                    ),
                    )
                })?)
            }
            "from" => q.from = Some(instant("from", &value)?),
            "to" => q.to = Some(instant("to", &value)?),
            "cursor" => q.cursor = Some(value).filter(|c| !c.is_empty()),
            "limit" => {
                q.limit = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_query(
                            "limit",
                            format!("must be a whole number from 1 to {MAX_PAGE}"),
                        )
                    })?
            }
            _ => {}
        }
    }
    Ok(q)
}

/// `application/x-www-form-urlencoded` pairs, percent-decoded.
pub(crate) fn form_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)
                .ok_or_else(|| ApiError::bad_query("query", "bad percent-encoding"))?;
            let v = percent_decode(v)
                .ok_or_else(|| ApiError::bad_query(k.clone(), "bad percent-encoding"))?;
            Ok((k, v))
        })
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// An instant in a query: RFC 3339 (`2026-11-23T10:00:00Z`) or epoch ms.
fn instant(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    let bad = || {
        ApiError::bad_query(
            field,
            format!("{value:?} is not an RFC 3339 time or epoch milliseconds"),
        )
    };
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value
            .parse::<i64>()
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .ok_or_else(bad);
    }
    // An unencoded `+05:00` offset arrives as a space (form decoding): accept it.
    DateTime::parse_from_rfc3339(value)
        .or_else(|_| DateTime::parse_from_rfc3339(&value.replace(' ', "+")))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad())
}

pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The API's view of an order (the same shape the merchant posted, plus
/// `status` and times).
pub(crate) fn order_json(o: &Order) -> Value {
    json!({
        "id": o.id,
        "phone": o.phone,
        "amount": o.amount,
        "currency": o.currency,
        "customer": { "kind": o.customer_kind.as_str() },
        "items": o.items,
        "locale": o.locale,
        "timezone": o.timezone,
        "status": o.status.as_str(),
        "created_at": time(o.created_at),
        "updated_at": time(o.updated_at),
    })
}

fn attempt_json(a: &Attempt) -> Value {
    json!({
        "attempt_no": a.attempt_no,
        "state": a.state.as_str(),
        "scheduled_at": time(a.scheduled_at),
        "time": a.started_at.map(time),
        "finished_at": a.finished_at.map(time),
        "trunk": a.trunk,
        "sip_status": a.sip_status,
        "result": a.outcome.map(|o| o.as_str()),
        "digits": a.digits,
        "duration_ms": a.duration_ms,
        "error": a.error,
    })
}

fn history_json(h: &StatusChange) -> Value {
    json!({
        "from": h.from.map(OrderStatus::as_str),
        "to": h.to.as_str(),
        "reason": h.reason,
        "at": time(h.at),
    })
}
