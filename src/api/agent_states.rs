//! Agents' states on the floor (issue #10): `GET /v1/agents/{id}`,
//! `PUT /v1/agents/{id}/state`, `GET /v1/agents/{id}/events` (SSE) and
//! `POST /v1/calls/{id}/disposition`.
//!
//! An agent's own token reaches its own agent only; a merchant token every
//! agent (a supervisor). The rules live in `orderline_dialer::agents`; the
//! daemon's [`crate::floor::Floor`] applies them and writes the agent log;
//! this file only reads requests and shows results.

use std::collections::VecDeque;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::sse::Event;
use axum::response::Response;
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use orderline_dialer::agents::{AgentError, AgentInput, AgentState};
use orderline_dialer::modes::{DialResult, QueueError};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use super::auth::Principal;
use super::bodies;
use super::calls::visible_call;
use super::dialer::dialup_error;
use super::error::ApiError;
use super::extract::path_id;
use super::preview::offer_json;
use super::sse::{self, EventFeed};
use super::views::{agent_json, time};
use super::ApiState;
use crate::dialup::DialupError;
use crate::floor::{AgentView, Floor, FloorError, FloorEvent};
use crate::store::{Agent, CallDisposition};

/// The state fields an agent's JSON gains (also on `GET /v1/agents`).
pub(crate) fn state_fields(v: &mut Value, view: &AgentView) {
    v["state"] = json!(view.state.kind().as_str());
    v["pause_code"] = json!(view.state.pause_code());
    v["call_id"] = json!(view.state.call());
    v["state_since"] = json!(time(view.since));
    v["seconds_in_state"] = json!(view.seconds_in_state);
    v["today"] = json!({
        "paused": view.today.paused,
        "waiting": view.today.waiting,
        "talking": view.today.talking,
        "wrap_up": view.today.wrap_up,
    });
}

/// `/metrics` lines: agents per state (`orderline_agents{state="ready"}`).
pub(crate) async fn metrics(state: &ApiState, floor: &Floor) -> String {
    use std::fmt::Write;
    let ids: Vec<String> = match state.store().list_agents().await {
        Ok(agents) => agents.into_iter().map(|a| a.id).collect(),
        Err(e) => {
            tracing::error!(error = %e, "metrics cannot list the agents");
            return String::new();
        }
    };
    let mut out = String::from(
        "# HELP orderline_agents Agents per state on the floor.\n# TYPE orderline_agents gauge\n",
    );
    for (kind, n) in floor.counts(&ids).await {
        let _ = writeln!(out, "orderline_agents{{state=\"{}\"}} {n}", kind.as_str());
    }
    out
}

/// The agent, if it exists and the principal may see it (else 404 either way).
async fn visible_agent(
    state: &ApiState,
    principal: &Principal,
    id: &str,
) -> Result<Agent, ApiError> {
    let missing = || ApiError::Missing {
        what: "agent",
        id: id.to_string(),
    };
    if !principal.sees(id) {
        return Err(missing());
    }
    state.store().get_agent(id).await?.ok_or_else(missing)
}

pub(crate) fn floor_error(e: FloorError) -> ApiError {
    match e {
        FloorError::Rule(AgentError::UnknownPauseCode(code)) => ApiError::bad_field(
            "pause_code",
            format!("{code:?} is not one of the configured pause codes"),
        ),
        FloorError::Rule(AgentError::UnknownDisposition(d)) => ApiError::bad_field(
            "disposition",
            format!("{d:?} is not one of the configured dispositions"),
        ),
        FloorError::Rule(rule) => ApiError::Refused {
            field: Some("state"),
            message: rule.to_string(),
        },
        FloorError::UnknownAgent(id) => ApiError::Missing { what: "agent", id },
        FloorError::Store(e) => ApiError::Store(e),
    }
}

async fn agent_with_state(
    floor: &Floor,
    agent: &Agent,
    now: DateTime<Utc>,
) -> Result<Value, ApiError> {
    let view = floor.view(&agent.id, now).await.map_err(floor_error)?;
    let mut v = agent_json(agent);
    state_fields(&mut v, &view);
    Ok(v)
}

/// `GET /v1/agents/{id}`: the agent with its state, time in state, current
/// call and today's seconds per state.
pub(crate) async fn get(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let agent = visible_agent(&state, &principal, &path_id(id)?).await?;
    let floor = state.floor()?;
    let mut v = agent_with_state(floor, &agent, state.now()).await?;
    // The console's Pause reasons and disposition buttons come from here.
    v["pause_codes"] = json!(floor.rules().pause_codes);
    v["dispositions"] = json!(floor.rules().dispositions);
    // Preview pacing: the order offered to the reserved agent, or null.
    v["offer"] = offer_json(&state, &agent.id, v["call_id"].as_str()).await;
    Ok(Json(v))
}

/// `PUT /v1/agents/{id}/state {"state":"ready"|"paused","pause_code"?}`.
pub(crate) async fn set_state(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let agent = visible_agent(&state, &principal, &path_id(id)?).await?;
    let body = state.body(body)?;
    let floor = state.floor()?;
    let change = bodies::state_change(&body, floor.rules())?;
    let now = state.now();
    floor
        .apply(&agent.id, change, now)
        .await
        .map_err(floor_error)?;
    Ok(Json(agent_with_state(floor, &agent, now).await?))
}

/// `POST /v1/calls/{id}/disposition {"disposition","callback_at"?,"note"?}`:
/// recorded on the call; an agent in wrap-up for this call goes back to
/// ready. A disposition after the wrap-up timed out is still recorded.
pub(crate) async fn disposition(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let call = visible_call(&state, &principal, &path_id(id)?).await?;
    let body = state.body(body)?;
    let floor = state.floor()?;
    let now = state.now();
    let bodies::DispositionRequest {
        disposition,
        callback_at,
        note,
        then_pause,
        same_agent,
    } = bodies::disposition(&body, floor.rules(), now)?;
    // A call the operator dialer placed for a queued order: the
    // disposition settles the order in its queue (issue #11), checked
    // against the order's mode first so a button the mode lacks is a 400
    // and nothing is written.
    if let (Some(order), Ok(dialup)) = (call.order_id.as_deref(), state.dialup()) {
        let result = match (disposition.as_str(), callback_at) {
            ("callback", Some(at)) => DialResult::Callback { at, same_agent },
            (d, _) => DialResult::Disposition(d.to_string()),
        };
        match dialup.finish_by(order, &call.agent_id, result, now).await {
            Ok(_) => {}
            Err(DialupError::Queue(QueueError::DispositionNotInMode { mode, disposition })) => {
                return Err(ApiError::bad_field(
                    "disposition",
                    format!("{disposition:?} is not one of mode {mode}'s dispositions"),
                ))
            }
            Err(e) => return Err(dialup_error(e)),
        }
    }
    let d = CallDisposition {
        disposition: disposition.clone(),
        callback_at,
        note,
        at: now,
    };
    state.store().set_call_disposition(&call.id, &d).await?;
    state.metrics().disposition_posted(&d.disposition);
    let moved = floor
        .apply(
            &call.agent_id,
            AgentInput::Disposition {
                call: call.id.clone(),
                disposition,
                then_pause,
            },
            now,
        )
        .await;
    match moved {
        Ok(_) => {}
        // Not in wrap-up for this call (it timed out, or the agent has no
        // session): the disposition stands, the state does not change.
        Err(FloorError::Rule(AgentError::WrongCall { .. } | AgentError::NotLoggedIn))
        | Err(FloorError::Rule(AgentError::NotConnected)) => {}
        Err(e) => return Err(floor_error(e)),
    }
    let (agent_state, _) = floor.state(&call.agent_id).await;
    Ok(Json(json!({
        "call_id": call.id,
        "agent_id": call.agent_id,
        "disposition": d.disposition,
        "callback_at": d.callback_at.map(time),
        "note": d.note,
        "disposed_at": time(d.at),
        "agent_state": agent_state.kind().as_str(),
    })))
}

/// `GET /v1/agents/{id}/events`: Server-Sent Events. On connect `event:
/// state` with the agent's current view, then one `event: state` per
/// transition (with `from` and `reason`); a client that fell behind gets
/// the current view again. `: keep-alive` every 15 s.
pub(crate) async fn events(
    State(state): State<ApiState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let agent = visible_agent(&state, &principal, &path_id(id)?).await?;
    let floor = state.floor()?.clone();
    // Subscribe first, then read: a change in between is sent twice, never lost.
    let changes = floor.subscribe();
    let first = agent_with_state(&floor, &agent, state.now()).await?;
    let feed = Feed {
        state: state.clone(),
        floor,
        agent,
        changes,
        queue: VecDeque::from([Event::default().event("state").data(first.to_string())]),
        closing: state.inner.closing.subscribe(),
    };
    Ok(sse::respond(&state, feed))
}

impl EventFeed for Feed {
    fn next_event(&mut self) -> impl std::future::Future<Output = Option<Event>> + Send {
        self.next()
    }
}

struct Feed {
    state: ApiState,
    floor: Floor,
    agent: Agent,
    changes: tokio::sync::broadcast::Receiver<FloorEvent>,
    queue: VecDeque<Event>,
    closing: tokio::sync::watch::Receiver<bool>,
}

impl Feed {
    async fn next(&mut self) -> Option<Event> {
        loop {
            if let Some(event) = self.queue.pop_front() {
                return Some(event);
            }
            let change = tokio::select! {
                change = self.changes.recv() => change,
                _ = self.closing.wait_for(|closing| *closing) => return None,
            };
            match change {
                Ok(e) if e.agent_id == self.agent.id => {
                    let t = &e.transition;
                    let mut v = transition_json(&t.to);
                    v["agent_id"] = json!(e.agent_id);
                    v["from"] = json!(t.from.kind().as_str());
                    v["reason"] = json!(t.reason.as_str());
                    v["state_since"] = json!(time(t.at));
                    if let AgentState::Reserved { call } = &t.to {
                        v["offer"] = offer_json(&self.state, &e.agent_id, Some(call)).await;
                    }
                    self.queue
                        .push_back(Event::default().event("state").data(v.to_string()));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(_)) => {
                    match agent_with_state(&self.floor, &self.agent, self.state.now()).await {
                        Ok(v) => self
                            .queue
                            .push_back(Event::default().event("state").data(v.to_string())),
                        Err(e) => {
                            tracing::error!(error = %e, agent = %self.agent.id, "SSE cannot read the agent's state");
                            return None;
                        }
                    }
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}

fn transition_json(to: &AgentState) -> Value {
    json!({
        "state": to.kind().as_str(),
        "pause_code": to.pause_code(),
        "call_id": to.call(),
    })
}
