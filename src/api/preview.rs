//! Preview pacing over HTTP (issue #11): the order offered to an agent, as
//! `offer` on `GET /v1/agents/{id}` and its SSE `state` events, and the
//! agent's answer, `POST /v1/agents/{id}/preview {"action":"call"|"skip",
//! "call_id"}`.
//!
//! The offer carries the order itself (with its earlier attempts), so the
//! console can show the customer before the agent decides: the agent may
//! read that one order because it is offered to them, as with
//! `GET /v1/calls/{id}/order` for their own call. `call_id` in the request
//! names the offer the agent saw: a click on an offer that was withdrawn or
//! replaced is refused (409) instead of acting on another order.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Principal;
use super::error::ApiError;
use super::extract::path_id;
use super::input;
use super::views::{attempt_json, order_json, time};
use super::ApiState;
use crate::dialup::{Offer, PreviewAction, PreviewError};

/// The offer standing for `agent` under `call_id` (the call the agent is
/// reserved for), as JSON with its order; `Null` when there is none.
pub(crate) async fn offer_json(state: &ApiState, agent: &str, call_id: Option<&str>) -> Value {
    let (Ok(dialup), Some(call_id)) = (state.dialup(), call_id) else {
        return Value::Null;
    };
    let Some(offer) = dialup
        .previews()
        .offer(agent)
        .filter(|o| o.call_id == call_id)
    else {
        return Value::Null;
    };
    let order = match state.store().get_order(&offer.order_id).await {
        Ok(Some(detail)) => {
            let mut o = order_json(&detail.order);
            o["attempts"] = detail.attempts.iter().map(attempt_json).collect();
            o
        }
        Ok(None) => Value::Null,
        Err(e) => {
            tracing::error!(error = %e, order = %offer.order_id, "cannot read the offered order");
            Value::Null
        }
    };
    let mut v = fields(&offer);
    v["order"] = order;
    v
}

fn fields(offer: &Offer) -> Value {
    json!({
        "call_id": offer.call_id,
        "order_id": offer.order_id,
        "mode": offer.mode,
        "subqueue": offer.subqueue,
        "attempt": offer.attempt,
        "reason": offer.reason,
        "offered_at": time(offer.offered_at),
    })
}

/// `POST /v1/agents/{id}/preview {"action":"call"|"skip","call_id"}`: Call
/// dials the offered order into the agent's session under `call_id`; Skip
/// returns it to its queue without an attempt (not offered to this agent
/// again until the mode's put-off) and the agent is ready for the next.
pub(crate) async fn decide(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let agent = path_id(id)?;
    let missing = || ApiError::Missing {
        what: "agent",
        id: agent.clone(),
    };
    if !principal.sees(&agent) || state.store().get_agent(&agent).await?.is_none() {
        return Err(missing());
    }
    let body = state.body(body)?;
    let map = input::json_object(&body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(&map, &["action", "call_id"]).map_err(ApiError::into_bad_request)?;
    let action = match input::required_string(&map, "action")
        .map_err(ApiError::into_bad_request)?
        .as_str()
    {
        "call" => PreviewAction::Call,
        "skip" => PreviewAction::Skip,
        other => {
            return Err(ApiError::bad_field(
                "action",
                format!("{other:?}: must be \"call\" or \"skip\""),
            ))
        }
    };
    let call_id = input::required_string(&map, "call_id").map_err(ApiError::into_bad_request)?;
    let dialup = state.dialup()?;
    let offer = dialup
        .previews()
        .decide(&agent, &call_id, action)
        .await
        .map_err(|e| match e {
            PreviewError::NoOffer(_) | PreviewError::Stale { .. } => ApiError::Refused {
                field: Some("call_id"),
                message: e.to_string(),
            },
            PreviewError::NotRunning | PreviewError::Failed(_) => {
                ApiError::Unavailable(e.to_string())
            }
        })?;
    let mut v = fields(&offer);
    v["action"] = json!(match action {
        PreviewAction::Call => "call",
        PreviewAction::Skip => "skip",
    });
    Ok(Json(v))
}
