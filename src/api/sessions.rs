//! `/v1/agents/{id}/session` (issue #10): an agent logs in (orderline calls
//! its phone and keeps the leg up), looks at its session, logs out. The
//! agent's own token or a merchant token; another agent's id is a 404 for
//! an agent token (ids do not leak, as for calls).

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::{json, Value};

use super::auth::Principal;
use super::control::{ControlError, SessionRequest, SessionView};
use super::error::ApiError;
use super::extract::path_id;
use super::ApiState;

/// `POST /v1/agents/{id}/session`: 201 `connecting`. 409 when the agent
/// already has a session, 422 when it has neither a live registration nor
/// a `sip_uri` (the message says which).
pub(crate) async fn create(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let agent_id = visible_agent(&state, &principal, path_id(id)?).await?;
    let agent = state
        .store()
        .get_agent(&agent_id)
        .await?
        .ok_or_else(|| ApiError::Missing {
            what: "agent",
            id: agent_id.clone(),
        })?;
    let control = state.control()?;
    control
        .start_session(SessionRequest {
            agent_id: agent.id.clone(),
            agent_uri: agent.sip_uri,
            agent_srtp: agent.srtp,
        })
        .map_err(|e| session_error(&agent.id, e))?;
    let view = control.session(&agent.id);
    Ok((
        StatusCode::CREATED,
        Json(session_json(&agent.id, view.as_ref())),
    )
        .into_response())
}

/// `GET /v1/agents/{id}/session`: 404 when the agent is not logged in.
pub(crate) async fn get(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let agent_id = visible_agent(&state, &principal, path_id(id)?).await?;
    let view = state
        .control()?
        .session(&agent_id)
        .ok_or_else(|| session_error(&agent_id, ControlError::NoSession))?;
    Ok(Json(session_json(&agent_id, Some(&view))))
}

/// `DELETE /v1/agents/{id}/session`: 202, the BYE follows (a customer on
/// the line is hung up first); 404 when the agent is not logged in.
pub(crate) async fn delete(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let agent_id = visible_agent(&state, &principal, path_id(id)?).await?;
    state
        .control()?
        .end_session(&agent_id)
        .map_err(|e| session_error(&agent_id, e))?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "agent": agent_id, "state": "logging_out" })),
    )
        .into_response())
}

/// The agent id if the principal may act for it; else 404 (as if unknown).
async fn visible_agent(
    _state: &ApiState,
    principal: &Principal,
    agent_id: String,
) -> Result<String, ApiError> {
    if principal.sees(&agent_id) {
        Ok(agent_id)
    } else {
        Err(ApiError::Missing {
            what: "agent",
            id: agent_id,
        })
    }
}

fn session_error(agent_id: &str, e: ControlError) -> ApiError {
    match e {
        ControlError::NoSession => ApiError::Missing {
            what: "session of agent",
            id: agent_id.to_string(),
        },
        ControlError::NoTarget(why) => ApiError::Invalid {
            field: "agent".into(),
            reason: why.into(),
        },
        ControlError::SessionExists | ControlError::Busy | ControlError::NotLive => {
            ApiError::Refused {
                field: Some("agent"),
                message: format!("agent {agent_id:?}: {e}"),
            }
        }
        ControlError::Unavailable | ControlError::NotRegistered => {
            ApiError::Unavailable(format!("agent {agent_id:?}: {e}"))
        }
    }
}

fn session_json(agent_id: &str, view: Option<&SessionView>) -> Value {
    let Some(v) = view else {
        return json!({ "agent": agent_id, "state": "connecting" });
    };
    json!({
        "agent": agent_id,
        "state": v.state,
        "target": v.target,
        "call_id": v.call_id,
        "customers": v.customers,
        "last_connect": v.last_connect.as_ref().map(|t| json!({
            "call_id": t.call_id, "latency_us": t.latency_us, "first_rtp_us": t.first_rtp_us,
        })),
    })
}
