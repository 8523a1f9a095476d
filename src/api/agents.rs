//! `/v1/agents` (merchant only): list the agents, create one with its own
//! API token. The token is shown once, in the 201; the store keeps only its
//! SHA-256. A registering agent's SIP password likewise: shown once, kept
//! only as digest HA1 hashes.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::agent_states::{floor_error, state_fields};
use super::error::ApiError;
use super::input;
use super::views::agent_json;
use super::ApiState;
use crate::config::SrtpMode;
use crate::config::{check_sip_password, check_sip_user};
use crate::sip::digest::{ha1, Algorithm};
use crate::store::{NewAgent, SipCredentials};

/// Longest agent name accepted, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// `POST /v1/agents {"id","name", "sip_uri" | "sip_user"+"sip_password"}`:
/// 201 with `api_token` (once). An agent whose phone registers gives
/// `sip_user` and `sip_password` instead of a fixed `sip_uri` (issue #10):
/// the password is shown once in the 201 and stored only as its HA1 hashes
/// (MD5 and SHA-256) for the registrar's realm, like a config agent's.
pub(crate) async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = state.body(body)?;
    let map = input::json_object(&body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(
        &map,
        &["id", "name", "sip_uri", "sip_user", "sip_password", "srtp"],
    )
    .map_err(ApiError::into_bad_request)?;
    // Every key is a string here: `null` would leave it ambiguous which of
    // the two shapes (sip_uri, or sip_user + sip_password) was meant.
    if let Some((k, _)) = map.iter().find(|(_, v)| v.is_null()) {
        return Err(ApiError::bad_field(k.clone(), "must be a string, not null"));
    }
    let id = input::required_string(&map, "id").map_err(ApiError::into_bad_request)?;
    let name = input::required_string(&map, "name").map_err(ApiError::into_bad_request)?;
    input::printable_text("name", &name, MAX_NAME_CHARS)?;
    let field = |f: &str| input::optional_string(&map, f).map_err(ApiError::into_bad_request);
    // `srtp`: as `[[agents]] srtp` (issue #14); plain RTP when absent.
    let srtp = match field("srtp")? {
        None => SrtpMode::Off,
        Some(word) => SrtpMode::parse(&word)
            .ok_or_else(|| ApiError::bad_field("srtp", "must be one of off, optional, required"))?,
    };
    let phone = match (
        field("sip_uri")?,
        field("sip_user")?,
        field("sip_password")?,
    ) {
        (Some(uri), None, None) => Phone::Fixed(uri),
        (None, Some(user), Some(password)) => Phone::Registering { user, password },
        (Some(_), _, _) => {
            return Err(ApiError::bad_field(
                "sip_uri",
                "give either sip_uri or sip_user + sip_password, not both",
            ))
        }
        (None, Some(_), None) => {
            return Err(ApiError::bad_field(
                "sip_password",
                "is required with sip_user",
            ))
        }
        (None, None, Some(_)) => {
            return Err(ApiError::bad_field(
                "sip_user",
                "is required with sip_password",
            ))
        }
        (None, None, None) => {
            return Err(ApiError::bad_field(
                "sip_uri",
                "is required (or sip_user + sip_password for a phone that registers)",
            ))
        }
    };
    let api_token = new_token();
    let new = |sip_uri: String| NewAgent {
        id: id.clone(),
        name: name.clone(),
        sip_uri,
        srtp,
        api_token: api_token.clone(),
    };
    let now = state.now();
    let (agent, shown_password) = match phone {
        Phone::Fixed(sip_uri) => {
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
            (state.store().insert_agent(&new(sip_uri), now).await?, None)
        }
        Phone::Registering { user, password } => {
            check_sip_user(&user).map_err(|r| ApiError::bad_field("sip_user", r))?;
            check_sip_password(&password).map_err(|r| ApiError::bad_field("sip_password", r))?;
            if state.inner.config_sip_users.contains(&user) {
                return Err(ApiError::Refused {
                    field: Some("sip_user"),
                    message: format!("SIP user {user:?} is already used by another agent"),
                });
            }
            let realm = state.inner.sip_realm.clone();
            let sip = SipCredentials {
                ha1_md5: ha1(Algorithm::Md5, &user, &realm, &password).to_string(),
                ha1_sha256: ha1(Algorithm::Sha256, &user, &realm, &password).to_string(),
                // The address-of-record, as config agents are stored.
                user,
                realm,
            };
            let aor = format!("sip:{}@{}", sip.user, sip.realm);
            let agent = state
                .store()
                .insert_registering_agent(&new(aor), &sip, now)
                .await?;
            let live = state
                .control()
                .map(|c| c.add_registering_agent(&agent.id, &sip))
                .unwrap_or(false);
            if !live {
                tracing::warn!(agent = %agent.id, "the registrar did not take the new account now; it will after a restart");
            }
            (agent, Some((sip.user, password)))
        }
    };
    let mut body = agent_json(&agent);
    body["api_token"] = Value::String(api_token);
    if let Some((user, password)) = shown_password {
        body["sip_user"] = Value::String(user);
        body["sip_password"] = Value::String(password);
    }
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// How a new agent's phone is reached.
enum Phone {
    Fixed(String),
    Registering { user: String, password: String },
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
