//! `/v1/calls`: agent-bridged calls. The API stores the call, then asks the
//! call layer to dial; the call layer moves it along in the store.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Principal;
use super::control::{ControlError, DialRequest};
use super::error::ApiError;
use super::extract::{form_pairs, path_id};
use super::input;
use super::views::time;
use super::ApiState;
use crate::store::{AgentCall, AgentCallStatus, AgentCallUpdate, EndedBy, NewAgentCall};

/// How many calls `GET /v1/calls` returns.
pub const CALL_PAGE: u32 = 50;

/// `POST /v1/calls {"agent","to","order_id"?}`: 201 with the call
/// (`dialing_agent`). An agent token may leave out `agent` (itself) but not
/// name another agent.
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = state.body(body)?;
    let map = input::json_object(&body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(&map, &["agent", "to", "order_id"])
        .map_err(ApiError::into_bad_request)?;
    let named = input::optional_string(&map, "agent").map_err(ApiError::into_bad_request)?;
    let agent_id = match (&principal, named) {
        (Principal::Merchant, Some(a)) => a,
        (Principal::Merchant, None) => return Err(ApiError::bad_field("agent", "is required")),
        (Principal::Agent { id, .. }, None) => id.clone(),
        (Principal::Agent { id, .. }, Some(a)) if &a == id => a,
        (Principal::Agent { .. }, Some(_)) => {
            return Err(ApiError::Forbidden(
                "an agent token may only place calls as itself",
            ))
        }
    };
    let to = input::required_string(&map, "to").map_err(ApiError::into_bad_request)?;
    let digits = to.strip_prefix('+').unwrap_or(&to);
    if !(3..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::bad_field("to", "must match ^\\+?[0-9]{3,20}$"));
    }
    let order_id = input::optional_string(&map, "order_id").map_err(ApiError::into_bad_request)?;
    if let Some(o) = &order_id {
        if o.is_empty() || o.len() > 128 || o.chars().any(char::is_control) {
            return Err(ApiError::bad_field(
                "order_id",
                "must be 1 to 128 printable characters",
            ));
        }
    }
    let store = state.store();
    let agent = store
        .get_agent(&agent_id)
        .await?
        .ok_or_else(|| ApiError::Missing {
            what: "agent",
            id: agent_id.clone(),
        })?;
    let control = state.control()?;
    let now = state.now();
    let new = NewAgentCall {
        id: random_id("call_"),
        agent_id: agent.id.clone(),
        to,
        order_id,
    };
    let call = store.insert_agent_call(&new, now).await?;
    let req = DialRequest {
        call_id: call.id.clone(),
        agent_id: agent.id,
        agent_name: call.agent_name.clone(),
        agent_uri: agent.sip_uri,
        agent_srtp: agent.srtp,
        to: call.to.clone(),
        order_id: call.order_id.clone(),
    };
    if let Err(e) = control.dial(req) {
        let failed = AgentCallUpdate::failed_locally("unavailable");
        store
            .update_agent_call(&call.id, &failed, state.now())
            .await?;
        return Err(ApiError::Unavailable(format!(
            "the call layer could not place the call: {e}"
        )));
    }
    Ok((StatusCode::CREATED, Json(call_json(&call))).into_response())
}

/// `GET /v1/calls?status=`: newest first, [`CALL_PAGE`] at most; an
/// agent sees its own only.
pub(crate) async fn list(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let mut status = None;
    for (key, value) in form_pairs(query.as_deref().unwrap_or(""))? {
        match key.as_str() {
            "status" => {
                status = Some(AgentCallStatus::parse(&value).ok_or_else(|| {
                    ApiError::bad_query(
                        "status",
                        format!("{value:?} is not one of dialing_agent, dialing_customer, bridged, ended, failed"),
                    )
                })?)
            }
            other => return Err(ApiError::bad_query(other, "unknown parameter; expected status")),
        }
    }
    let calls = state
        .store()
        .list_agent_calls(principal.agent_id(), status, CALL_PAGE)
        .await?;
    Ok(Json(
        json!({ "calls": calls.iter().map(call_json).collect::<Vec<_>>() }),
    ))
}

/// `GET /v1/calls/{id}`.
pub(crate) async fn get(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let call = visible_call(&state, &principal, &path_id(id)?).await?;
    Ok(Json(call_json(&call)))
}

/// `DELETE /v1/calls/{id}`: hang up both legs; 409 if it already ended.
pub(crate) async fn hang_up(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let call = visible_call(&state, &principal, &path_id(id)?).await?;
    if call.status.is_final() {
        return Err(ApiError::Refused {
            field: None,
            message: format!("call {:?} is already {}", call.id, call.status.as_str()),
        });
    }
    state
        .control()?
        .hang_up(&call.id)
        .map_err(|e| control_error(&call.id, e))?;
    let call = visible_call(&state, &principal, &call.id).await?;
    Ok(Json(call_json(&call)))
}

/// The call, if it exists and the principal may see it (else 404 either way).
pub(crate) async fn visible_call(
    state: &ApiState,
    principal: &Principal,
    id: &str,
) -> Result<AgentCall, ApiError> {
    state
        .store()
        .get_agent_call(id)
        .await?
        .filter(|c| principal.sees(&c.agent_id))
        .ok_or_else(|| ApiError::Missing {
            what: "call",
            id: id.to_string(),
        })
}

/// The call layer's refusal as an HTTP answer: 409 for the call's state,
/// 503 when it cannot take work.
pub(crate) fn control_error(call_id: &str, e: ControlError) -> ApiError {
    match e {
        ControlError::NotLive
        | ControlError::Busy
        | ControlError::SessionExists
        | ControlError::NoSession
        | ControlError::NoTarget(_) => ApiError::Refused {
            field: Some("call"),
            message: format!("call {call_id:?}: {e}"),
        },
        ControlError::Unavailable | ControlError::NotRegistered => {
            ApiError::Unavailable(format!("call {call_id:?}: {e}"))
        }
    }
}

/// `call_` / `pay_` + 20 random characters of the base32 alphabet (100 bits).
pub(crate) fn random_id(prefix: &str) -> String {
    use rand::Rng;
    const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(prefix.len() + 20);
    id.push_str(prefix);
    for _ in 0..20 {
        id.push(char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]));
    }
    id
}

/// The API's view of a call.
pub(crate) fn call_json(c: &AgentCall) -> Value {
    json!({
        "id": c.id,
        "agent": c.agent_id,
        "agent_name": c.agent_name,
        "to": c.to,
        "order_id": c.order_id,
        "status": c.status.as_str(),
        "agent_cause": c.agent_cause,
        "customer_cause": c.customer_cause,
        "ended_by": c.ended_by.map(EndedBy::as_str),
        "created_at": time(c.created_at),
        "agent_answered_at": c.agent_answered_at.map(time),
        "bridged_at": c.bridged_at.map(time),
        "ended_at": c.ended_at.map(time),
        "payments": c.payments,
    })
}
