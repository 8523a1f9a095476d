//! Call modes over HTTP (issue #11): an order's status, the admin table, the
//! orders in line, a mode's settings and who may work it, and `/metrics`.
//!
//! Handlers borrow the daemon's [`Dialup`] handle (503 when the daemon runs
//! none) and hold no state. Merchant tokens only (the router's
//! `merchant_only` layer answers 403 to an agent token). Every 400 names the
//! field or query parameter at fault.

use std::fmt::Write as _;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use orderline_dialer::modes::config::is_valid_name;
use orderline_dialer::modes::{
    DialerConfigError, Mode, ModeOverview, QueueError, QueueFilter, Subqueue,
};
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{form_pairs, path_id};
use super::input::{self, type_name};
use super::views::{order_json, time};
use super::ApiState;
use crate::dialup::{Dialup, DialupError};

/// Most orders one `GET /v1/dialer/queue` returns (and the default).
pub const MAX_QUEUE_PAGE: usize = 1000;

/// `PUT /v1/orders/{id}/status {"status": "..."}`.
pub(crate) async fn set_status(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let status = match sole_field(&state, body, "status")? {
        Value::String(s) => s,
        other => {
            return Err(ApiError::bad_field(
                "status",
                format!("must be a string, not {}", type_name(&other)),
            ))
        }
    };
    let dialup = state.dialup()?;
    if !dialup.is_status(&status) {
        return Err(ApiError::bad_field(
            "status",
            format!("{status:?} is neither a built-in status nor one of [[dialer.statuses]]"),
        ));
    }
    let order = state
        .store()
        .get_order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?
        .order;
    dialup
        .set_status(&order, &status, "api: status set", state.now())
        .await
        .map_err(dialup_error)?;
    let order = state
        .store()
        .get_order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?
        .order;
    Ok(Json(order_json(&order)))
}

/// `GET /v1/dialer/overview`: projects × modes with their sub-queue counts.
pub(crate) async fn overview(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let overview = state.dialup()?.overview().await;
    Ok(Json(
        json!({ "modes": overview.modes.iter().map(mode_overview_json).collect::<Vec<_>>() }),
    ))
}

/// `GET /v1/dialer/queue?mode=&project=&subqueue=&limit=`: in dial order.
pub(crate) async fn queue(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let dialup = state.dialup()?;
    let filter = queue_filter(query.as_deref(), dialup)?;
    let items = dialup.queue(&filter, state.now()).await;
    let orders: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "order_id": i.order_id,
                "mode": i.mode,
                "project": i.project,
                "subqueue": i.subqueue,
                "due_at": time(i.due_at),
                "attempts": i.attempts,
                "priority": i.priority,
                "callback_agent": i.callback_agent,
                "reason": i.reason,
            })
        })
        .collect();
    Ok(Json(json!({ "orders": orders })))
}

/// `GET /v1/dialer/modes/{id}`: the mode's settings, live access and counts.
pub(crate) async fn mode(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let dialup = state.dialup()?;
    Ok(Json(mode_json(dialup, &id).await?))
}

/// `GET /v1/dialer/modes/{id}/stats`: the mode's pacer — dial level,
/// forecast answer rate, 30-day abandon rate and its margin to the legal
/// 3 %, today's lines (issue #12).
pub(crate) async fn stats(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let dialup = state.dialup()?;
    let stats = dialup.pacer_stats(&id, state.now()).map_err(dialup_error)?;
    let mut v = serde_json::to_value(stats).map_err(|e| ApiError::Refused {
        field: None,
        message: e.to_string(),
    })?;
    if let Value::Object(o) = &mut v {
        o.insert("mode".into(), Value::String(id));
    }
    Ok(Json(v))
}

/// `PUT /v1/dialer/modes/{id}/agents {"agents": ["a1", ...]}`: who may work
/// the mode; stored, so a restart keeps it.
pub(crate) async fn set_agents(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (id, dialup) = configured_mode(&state, id)?;
    let list = match sole_field(&state, body, "agents")? {
        Value::Array(list) => list,
        other => {
            return Err(ApiError::bad_field(
                "agents",
                format!("must be an array, not {}", type_name(&other)),
            ))
        }
    };
    let mut agents = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        match v {
            Value::String(s) if is_valid_name(s) => agents.push(s.clone()),
            _ => {
                return Err(ApiError::bad_field(
                    format!("agents[{i}]"),
                    "must be an agent id of 1 to 64 of A-Z a-z 0-9 _ -",
                ))
            }
        }
    }
    agents.sort();
    agents.dedup();
    dialup
        .set_agents(&id, agents, state.now())
        .await
        .map_err(dialup_error)?;
    Ok(Json(mode_json(dialup, &id).await?))
}

/// The `{id}` of a configured mode and the queue, or a 404 / 503.
pub(crate) fn configured_mode(
    state: &ApiState,
    id: Result<Path<String>, PathRejection>,
) -> Result<(String, &Dialup), ApiError> {
    let id = path_id(id)?;
    let dialup = state.dialup()?;
    if dialup.rules().mode_index(&id).is_none() {
        return Err(ApiError::Missing { what: "mode", id });
    }
    Ok((id, dialup))
}

/// The body's one field `name`: the body must be a JSON object with that key
/// only (an unknown key or a missing value is a 400 naming the key).
pub(crate) fn sole_field(
    state: &ApiState,
    body: Result<Bytes, BytesRejection>,
    name: &str,
) -> Result<Value, ApiError> {
    let body = state.body(body)?;
    let mut map = input::json_object(&body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(&map, &[name]).map_err(ApiError::into_bad_request)?;
    match map.remove(name) {
        None | Some(Value::Null) => Err(ApiError::bad_field(name, "is required")),
        Some(v) => Ok(v),
    }
}

/// `/metrics` lines: orders per mode and sub-queue (labels are config ids,
/// which validation keeps to `[A-Za-z0-9_-]`, so they need no escaping).
pub(crate) async fn metrics(dialup: &Dialup) -> String {
    let overview = dialup.overview().await;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# HELP orderline_dialer_orders Orders in dial-up per call mode and sub-queue (in_flight: being dialled).\n# TYPE orderline_dialer_orders gauge"
    );
    for m in &overview.modes {
        let c = m.counts;
        for (sub, n) in [
            ("unprocessed", c.unprocessed),
            ("no_answer", c.no_answer),
            ("callback", c.callback),
            ("in_flight", c.in_flight),
        ] {
            let _ = writeln!(
                out,
                "orderline_dialer_orders{{mode=\"{}\",project=\"{}\",subqueue=\"{sub}\"}} {n}",
                m.id, m.project
            );
        }
    }
    out
}

fn mode_overview_json(m: &ModeOverview) -> Value {
    json!({
        "id": m.id,
        "project": m.project,
        "kind": m.kind,
        "counts": {
            "unprocessed": m.counts.unprocessed,
            "no_answer": m.counts.no_answer,
            "callback": m.counts.callback,
            "in_flight": m.counts.in_flight,
        },
        "agents": m.agents,
    })
}

pub(crate) async fn mode_json(dialup: &Dialup, id: &str) -> Result<Value, ApiError> {
    let missing = || ApiError::Missing {
        what: "mode",
        id: id.to_string(),
    };
    let rules = dialup.rules();
    let idx = rules.mode_index(id).ok_or_else(missing)?;
    let m: &Mode = rules.mode(idx);
    let overview = dialup.overview().await;
    let live = overview
        .modes
        .iter()
        .find(|o| o.id == id)
        .ok_or_else(missing)?;
    let mut body = mode_overview_json(live);
    let minutes = |d: chrono::TimeDelta| d.num_seconds() as f64 / 60.0;
    // The config's spelling too ("45m"), so a form can send back what it shows.
    let spelled = |d: chrono::TimeDelta| {
        humantime::format_duration(d.to_std().unwrap_or_default()).to_string()
    };
    body["settings"] = json!({
        "pacing": m.pacing,
        "priority": m.priority,
        "high_priority_new": m.high_priority_new,
        "standard_time": spelled(m.standard_time),
        "standard_time_minutes": minutes(m.standard_time),
        "put_off": spelled(m.put_off),
        "put_off_minutes": minutes(m.put_off),
        "max_attempts": m.max_attempts,
        "status_after_max": m.status_after_max,
        "random_share": m.random_share,
        "dispositions": m.dispositions,
        "window": m.window.hours(),
        "timezone": m.window.timezone().name(),
    });
    Ok(body)
}

/// `?mode=&project=&subqueue=&limit=`, each checked and named when bad.
fn queue_filter(query: Option<&str>, dialup: &Dialup) -> Result<QueueFilter, ApiError> {
    let mut filter = QueueFilter {
        limit: Some(MAX_QUEUE_PAGE),
        ..QueueFilter::default()
    };
    for (key, value) in form_pairs(query.unwrap_or(""))? {
        match key.as_str() {
            "mode" => {
                if dialup.rules().mode_index(&value).is_none() {
                    return Err(ApiError::bad_query(
                        "mode",
                        format!("{value:?} is not a configured mode"),
                    ));
                }
                filter.mode = Some(value);
            }
            "project" => {
                if !is_valid_name(&value) {
                    return Err(ApiError::bad_query(
                        "project",
                        "must be 1 to 64 of A-Z a-z 0-9 _ -",
                    ));
                }
                filter.project = Some(value);
            }
            "subqueue" => {
                filter.subqueue = Some(match value.as_str() {
                    "unprocessed" => Subqueue::Unprocessed,
                    "no_answer" => Subqueue::NoAnswer,
                    "callback" => Subqueue::Callback,
                    _ => {
                        return Err(ApiError::bad_query(
                            "subqueue",
                            format!("{value:?} is not unprocessed, no_answer or callback"),
                        ))
                    }
                });
            }
            "limit" => {
                let n: usize = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_QUEUE_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_query("limit", format!("must be 1 to {MAX_QUEUE_PAGE}"))
                    })?;
                filter.limit = Some(n);
            }
            other => {
                return Err(ApiError::bad_query(
                    other.to_string(),
                    "unknown parameter; expected mode, project, subqueue, limit",
                ))
            }
        }
    }
    Ok(filter)
}

/// A dial-up failure at the edge: the queue's refusals name their field.
pub(crate) fn dialup_error(e: DialupError) -> ApiError {
    match e {
        DialupError::Queue(QueueError::UnknownStatus(s)) => {
            ApiError::bad_field("status", format!("unknown status {s:?}"))
        }
        DialupError::Queue(QueueError::BadAgent(a)) => {
            ApiError::bad_field("agents", format!("{a:?} is not a valid agent id"))
        }
        DialupError::Queue(QueueError::UnknownMode(id)) => ApiError::Missing { what: "mode", id },
        DialupError::Store(e) => ApiError::from(e),
        // The config's own check refused a change: name the key's last part
        // (`dialer.modes[0].put_off` → `put_off`), the body's field.
        // A value the document allows that this mode's own setup cannot
        // take is a conflict with the mode's state (409), not a bad value.
        DialupError::Rules(
            e @ (DialerConfigError::ShareOnNonRandom { .. }
            | DialerConfigError::SafeHarborMissing { .. }
            | DialerConfigError::CapLoops { .. }
            | DialerConfigError::KindConflict { .. }),
        ) => ApiError::Refused {
            field: Some(match &e {
                DialerConfigError::ShareOnNonRandom { .. } => "random_share",
                DialerConfigError::SafeHarborMissing { .. } => "pacing",
                // Issue #15: what an upsell mode (or another kind) cannot take.
                DialerConfigError::KindConflict { key, .. } if key.ends_with("dispositions") => {
                    "dispositions"
                }
                _ => "status_after_max",
            }),
            message: e.to_string(),
        },
        DialupError::Rules(e) => {
            let field = e.key().rsplit('.').next().unwrap_or("body");
            let field = field.split('[').next().unwrap_or(field).to_string();
            ApiError::bad_field(field, e.to_string())
        }
        other => ApiError::Refused {
            field: None,
            message: other.to_string(),
        },
    }
}
