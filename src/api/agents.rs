//! `/v1/agents` (merchant only): list the agents, create one with its own
//! API token. The token is shown once, in the 201; the store keeps only its
//! SHA-256.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::agent_states::{floor_error, state_fields};
use super::input;
use super::views::agent_json;
use super::ApiState;
use crate::store::NewAgent;

/// `POST /v1/agents {"id","name","sip_uri"}`: 201 with `api_token` (once).
pub(crate) async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = state.body(body)?;
    let map = input::json_object(&body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(&map, &["id", "name", "sip_uri"]).map_err(ApiError::into_bad_request)?;
    let id = input::required_string(&map, "id").map_err(ApiError::into_bad_request)?;
    let name = input::required_string(&map, "name").map_err(ApiError::into_bad_request)?;
    let sip_uri = input::required_string(&map, "sip_uri").map_err(ApiError::into_bad_request)?;
    if crate::sip::Uri::parse(&sip_uri)
        .ok()
        .and_then(|u| u.as_sip().map(|_| ()))
        .is_none()
    {
        return Err(ApiError::bad_field(
            "sip_uri",
            "must be a sip: URI like sip:agent@127.0.0.1:5080",
        ));
    }
    let api_token = new_token();
    let agent = state
        .store()
        .insert_agent(
            &NewAgent {
                id,
                name,
                sip_uri,
                api_token: api_token.clone(),
            },
            state.now(),
        )
        .await?;
    let mut body = agent_json(&agent);
    body["api_token"] = Value::String(api_token);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /v1/agents`.
pub(crate) async fn list(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let agents = state.store().list_agents().await?;
    let control = state.control().ok();
    let floor = state.floor().ok();
    let now = state.now();
    let mut shown: Vec<Value> = Vec::with_capacity(agents.len());
    for a in &agents {
        let mut v = agent_json(a);
        // The supervisor view (issue #10): state, time in it, current call.
        if let Some(floor) = floor {
            let view = floor.view(&a.id, now).await.map_err(floor_error)?;
            state_fields(&mut v, &view);
        }
        shown.push(v);
    }
    let shown: Vec<Value> = agents
        .iter()
        .zip(shown)
        .map(|(a, mut v)| {
            if let Some(regs) = control
                .as_ref()
                .map(|c| c.registrations(&a.id))
                .filter(|r| !r.is_empty())
            {
                v["registrations"] = regs
                    .iter()
                    .map(|r| {
                        json!({ "contact": r.contact, "source": r.source, "transport": r.transport,
                                "expires_in": r.expires_in_s, "user_agent": r.user_agent })
                    })
                    .collect();
            }
            v
        })
        .collect();
    Ok(Json(json!({ "agents": shown })))
}

/// `agt_` + 32 random bytes as hex (256 bits from the thread's CSPRNG).
fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let mut token = String::from("agt_");
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    token
}
