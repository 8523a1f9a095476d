//! Trial orders (issue #15): the `trial` of `POST /v1/orders`, the sales
//! workflow (`GET /v1/orders/{id}/workflow`), the one extension
//! (`POST /v1/orders/{id}/trial/extend`, 409 the second time) and a
//! notification sent again (`POST /v1/orders/{id}/workflow/{row}/resend`).
//!
//! The rules are `orderline_trial`'s (through `crate::trial`); the daemon's
//! `daemon::trials` runs the due steps. An extension writes its rows, its
//! workflow row and the `trial.extended` webhook (with the CRM note) in one
//! transaction, guarded so that only one request can take it.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::path_id;
use super::input::json_object;
use super::ApiState;
use crate::store::{Extension, NewOrder, NewTrial, StoreError, StoredTrial};
use crate::trial::{self, Row, TrialError};

/// The `trial` of a posted order, planned from `now` in the order's zone
/// (else `[calling] timezone`); `None` when the order has none.
pub(crate) fn posted_trial(
    state: &ApiState,
    body: &[u8],
    order: &NewOrder,
    now: DateTime<Utc>,
) -> Result<Option<NewTrial>, ApiError> {
    let map = json_object(body)?;
    let Some(v) = map.get("trial").filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let currency = order.money()?.currency();
    let input = trial::parse(v, currency).map_err(|e| ApiError::invalid(e.field, e.reason))?;
    let (zone_name, field) = match &order.timezone {
        Some(tz) => (tz.clone(), "timezone"),
        None => (state.inner.calling.timezone.clone(), "calling.timezone"),
    };
    let zone = crate::dialer::parse_timezone(&zone_name)
        .map_err(|e| ApiError::invalid(field, e.to_string()))?;
    trial::new_trial(input, &zone_name, zone, now)
        .map(Some)
        .map_err(|e| ApiError::invalid("trial.days", e.to_string()))
}

/// The order's trial, 404 without the order, 404 naming the trial without one.
async fn load(state: &ApiState, id: &str) -> Result<StoredTrial, ApiError> {
    if let Some(t) = state.store().trial(id).await? {
        return Ok(t);
    }
    if state.store().get_order(id).await?.is_none() {
        return Err(ApiError::NotFound(id.to_string()));
    }
    Err(ApiError::Missing {
        what: "trial of order",
        id: id.to_string(),
    })
}

fn workflow_json(id: &str, t: &StoredTrial) -> Value {
    json!({
        "order_id": id,
        "trial": trial::terms_json(&t.terms, &t.rows),
        "rows": t.rows.iter().map(trial::row_json).collect::<Vec<_>>(),
    })
}

/// `GET /v1/orders/{id}/workflow`.
pub(crate) async fn workflow(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let t = load(&state, &id).await?;
    Ok(Json(workflow_json(&id, &t)))
}

fn refused(message: impl Into<String>) -> ApiError {
    ApiError::Refused {
        field: None,
        message: message.into(),
    }
}

/// `POST /v1/orders/{id}/trial/extend`: 15 more days, once.
pub(crate) async fn extend(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let t = load(&state, &id).await?;
    let now = state.now();
    let plan = trial::plan_of(&t.terms).ok_or_else(|| {
        ApiError::Store(StoreError::Corrupt {
            table: "trials",
            reason: format!("time zone {:?}", t.terms.timezone),
        })
    })?;
    let changed = trial::extend(&plan, &t.rows, now).map_err(|e| match e {
        TrialError::AlreadyExtended => {
            refused(format!("order {id:?}'s trial was already extended once"))
        }
        other => refused(format!("order {id:?}'s trial cannot be extended: {other}")),
    })?;
    let mut rows: Vec<Row> = t.rows.clone();
    for c in &changed {
        match rows.iter_mut().find(|r| r.seq == c.seq) {
            Some(r) => *r = c.clone(),
            None => rows.push(c.clone()),
        }
    }
    let ext = changed
        .last()
        .cloned()
        .ok_or_else(|| refused("nothing to extend"))?;
    let card = state.store().order_extras(&id).await?.card;
    let mut terms = t.terms.clone();
    terms.extended_at = Some(now);
    let mut data = trial::event_data(&id, &terms, &rows, &ext, &card, now);
    data["note"] = json!({
        "agent_name": "api",
        "text": format!("Trial extended by {} days; {}", trial::EXTENSION_DAYS, ext.result.clone().unwrap_or_default()),
        "timestamp": crate::store::note_timestamp(now),
    });
    match state
        .store()
        .extend_trial(&id, &t.rows, &changed, &data, now)
        .await?
    {
        Extension::Taken => {}
        Extension::AlreadyTaken => {
            return Err(refused(format!(
                "order {id:?}'s trial was already extended once"
            )))
        }
        Extension::StepRan => {
            return Err(refused(format!(
                "a step of order {id:?}'s trial ran meanwhile; try again"
            )))
        }
    }
    let t = load(&state, &id).await?;
    Ok((StatusCode::OK, Json(workflow_json(&id, &t))).into_response())
}

/// `POST /v1/orders/{id}/workflow/{row}/resend`: queue a sent notification's
/// webhook again (202, with the new event's id).
pub(crate) async fn resend(
    State(state): State<ApiState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (id, row) = path
        .map(|Path(p)| p)
        .map_err(|e| ApiError::bad_query("id", e.body_text()))?;
    let seq: u32 = row
        .parse()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| ApiError::bad_field("row", "must be a workflow row number (1, 2, …)"))?;
    let t = load(&state, &id).await?;
    let r = t
        .rows
        .iter()
        .find(|r| r.seq == seq)
        .ok_or_else(|| ApiError::Missing {
            what: "workflow row",
            id: format!("{id}/{seq}"),
        })?;
    let event = trial::resendable(r).map_err(|why| ApiError::Refused {
        field: Some("row"),
        message: format!("row {seq} ({}): {why}", r.step.as_str()),
    })?;
    let now = state.now();
    let card = state.store().order_extras(&id).await?.card;
    let mut data = trial::event_data(&id, &t.terms, &t.rows, r, &card, now);
    data["resent"] = json!(true);
    let event_id = state
        .store()
        .resend_trial_event(&id, event, &data, now)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "order_id": id, "row": seq, "event": event, "event_id": event_id })),
    )
        .into_response())
}
