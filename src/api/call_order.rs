//! `GET /v1/calls/{id}/order`: the order a click-to-call was placed for,
//! with its earlier attempts, for the operator console's pop (issue #10).
//!
//! An agent token may not read `/v1/orders` (merchant data); it may read
//! the one order behind a call it owns, which is what the operator needs
//! on screen while talking to that customer.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::Value;

use super::auth::Principal;
use super::calls::visible_call;
use super::error::ApiError;
use super::extract::path_id;
use super::views::{attempt_json, order_json};
use super::ApiState;

/// The call's order with `attempts`; 404 when the call is not the
/// principal's or was placed without an order.
pub(crate) async fn get(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let call = visible_call(&state, &principal, &path_id(id)?).await?;
    let order_id = call.order_id.ok_or_else(|| ApiError::Missing {
        what: "order of call",
        id: call.id.clone(),
    })?;
    let detail = state
        .store()
        .get_order(&order_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(order_id.clone()))?;
    let mut body = order_json(&detail.order);
    body["attempts"] = detail.attempts.iter().map(attempt_json).collect();
    body["call_id"] = Value::String(call.id);
    Ok(Json(body))
}
