//! Changing the call-mode rules over HTTP (issue #11): `PUT
//! /v1/dialer/modes/{id}` (a mode's settings), `GET /v1/dialer/statuses` and
//! `PUT /v1/dialer/statuses/{name}` (the "add to dial-up automatically" tick).
//!
//! The body is checked key by key so a wrong type names its key; the values
//! are then checked by the config's own validation (`DialerConfig::validate`
//! through `Dialup`), so the API accepts exactly what the config file would,
//! and a refusal is a 400 naming the field. Merchant tokens only.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::Json;
use orderline_dialer::modes::config::is_valid_name;
use orderline_dialer::modes::{DialerConfigError, ModeSettings, Pacing, Tick};
use serde_json::{json, Map, Value};

use super::dialer::{configured_mode, dialup_error, mode_json};
use super::error::ApiError;
use super::extract::path_id;
use super::input::{self, type_name};
use super::ApiState;
use crate::dialup::{Dialup, DialupError};

/// The keys `PUT /v1/dialer/modes/{id}` takes (the contract's per-mode settings).
pub const MODE_SETTING_KEYS: [&str; 11] = [
    "pacing",
    "priority",
    "high_priority_new",
    "standard_time",
    "put_off",
    "max_attempts",
    "status_after_max",
    "random_share",
    "dispositions",
    "window",
    "timezone",
];

/// `PUT /v1/dialer/modes/{id}`: change some of a mode's settings; the keys
/// left out keep their value. Stored (migration 0007), so a restart keeps it.
pub(crate) async fn set_mode(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let (id, dialup) = configured_mode(&state, id)?;
    let body = state.body(body)?;
    let patch = mode_patch(&body)?;
    dialup
        .set_mode_settings(&id, &patch, state.now())
        .await
        .map_err(dialup_error)?;
    Ok(Json(mode_json(dialup, &id).await?))
}

/// `PUT /v1/dialer/modes/{id}` body → the settings it changes, each
/// checked for its JSON type and named when wrong (the values are then
/// checked as the config's are, against the mode).
pub(crate) fn mode_patch(body: &[u8]) -> Result<ModeSettings, ApiError> {
    let map = input::json_object(body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(&map, &MODE_SETTING_KEYS).map_err(ApiError::into_bad_request)?;
    let patch = mode_settings(&map)?;
    if patch == ModeSettings::default() {
        return Err(ApiError::bad_field(
            "body",
            format!(
                "names no setting; expected some of {}",
                MODE_SETTING_KEYS.join(", ")
            ),
        ));
    }
    Ok(patch)
}

/// `GET /v1/dialer/statuses`: every known status and its ticks per project.
pub(crate) async fn statuses(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(statuses_json(state.dialup()?)))
}

/// `PUT /v1/dialer/statuses/{name} {"mode": "new" | null, "project": "..."}`:
/// tick the status into a mode (for that mode's project) or clear the tick
/// (`mode: null`, for `project`, default `default`). Orders already in the
/// status follow at once; stored, so a restart keeps it.
pub(crate) async fn set_tick(
    State(state): State<ApiState>,
    name: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let status = path_id(name)?;
    let dialup = state.dialup()?;
    if !dialup.is_status(&status) {
        return Err(ApiError::Missing {
            what: "status",
            id: status,
        });
    }
    let body = state.body(body)?;
    let map = input::json_object(&body).map_err(ApiError::into_bad_request)?;
    input::reject_unknown(&map, &["mode", "project"]).map_err(ApiError::into_bad_request)?;
    let mode = match map.get("mode") {
        None => {
            return Err(ApiError::bad_field(
                "mode",
                "is required (null clears the tick)",
            ))
        }
        Some(Value::Null) => None,
        Some(Value::String(m)) => Some(m.clone()),
        Some(other) => {
            return Err(ApiError::bad_field(
                "mode",
                format!("must be a mode id or null, not {}", type_name(other)),
            ))
        }
    };
    let rules = dialup.rules();
    let mode_project = match &mode {
        Some(m) => {
            let idx = rules.mode_index(m).ok_or_else(|| {
                ApiError::bad_field("mode", format!("{m:?} is not a configured mode"))
            })?;
            Some(rules.mode(idx).project.clone())
        }
        None => None,
    };
    let project = match map.get("project") {
        None | Some(Value::Null) => mode_project.unwrap_or_else(|| "default".to_string()),
        Some(Value::String(p)) if is_valid_name(p) => p.clone(),
        Some(_) => {
            return Err(ApiError::bad_field(
                "project",
                "must be a project id of 1 to 64 of A-Z a-z 0-9 _ -",
            ))
        }
    };
    let tick = Tick {
        status,
        project,
        mode,
    };
    dialup
        .set_tick(&tick, state.now())
        .await
        .map_err(|e| match e {
            // The config's check names the mode's key (e.g. a tick that would
            // loop the cap refuses as `status_after_max`); here the body's
            // field at fault is the tick's mode.
            // A tick that would loop a mode's cap conflicts with that mode's
            // status_after_max as it stands now (409), not with the body.
            // So does a pre-sale status ticked into an upsell mode (issue #15).
            DialupError::Rules(
                r @ (DialerConfigError::CapLoops { .. } | DialerConfigError::KindConflict { .. }),
            ) => ApiError::Refused {
                field: Some("mode"),
                message: r.to_string(),
            },
            DialupError::Rules(r) if !r.key().ends_with("project") => {
                ApiError::bad_field("mode", r.to_string())
            }
            e => dialup_error(e),
        })?;
    Ok(Json(statuses_json(dialup)))
}

/// `{"statuses": [{"name", "ticks": [{"project", "mode"}]}]}`, sorted by name.
fn statuses_json(dialup: &Dialup) -> Value {
    let rules = dialup.rules();
    let ticks = rules.ticks();
    let list: Vec<Value> = rules
        .statuses()
        .map(|name| {
            let mine: Vec<Value> = ticks
                .iter()
                .filter(|(s, _, _)| *s == name)
                .map(|(_, p, m)| json!({ "project": p, "mode": m }))
                .collect();
            json!({ "name": name, "ticks": mine })
        })
        .collect();
    json!({ "statuses": list })
}

/// The body's settings, each checked for its JSON type and named when wrong.
fn mode_settings(map: &Map<String, Value>) -> Result<ModeSettings, ApiError> {
    let mut s = ModeSettings::default();
    for (key, v) in map {
        let wrong = |what: &str| {
            ApiError::bad_field(key.clone(), format!("must be {what}, not {}", type_name(v)))
        };
        match key.as_str() {
            "pacing" => {
                s.pacing = Some(match v.as_str() {
                    Some("preview") => Pacing::Preview,
                    Some("progressive") => Pacing::Progressive,
                    Some("predictive") => Pacing::Predictive,
                    _ => return Err(wrong("preview, progressive or predictive")),
                })
            }
            "priority" => {
                let n = v.as_i64().ok_or_else(|| wrong("an integer"))?;
                s.priority = Some(
                    i32::try_from(n)
                        .map_err(|_| ApiError::bad_field("priority", "out of range"))?,
                );
            }
            "high_priority_new" => {
                s.high_priority_new = Some(v.as_bool().ok_or_else(|| wrong("a boolean"))?)
            }
            "standard_time" | "put_off" => {
                // "45m" as in the config, or a number of minutes (what a form holds).
                let text = match v {
                    Value::String(t) => t.clone(),
                    Value::Number(n) => match n.as_f64() {
                        Some(m) if m.is_finite() && m >= 0.0 => {
                            format!("{}s", (m * 60.0).round() as u64)
                        }
                        _ => return Err(wrong("a duration like \"30m\" or minutes >= 0")),
                    },
                    _ => return Err(wrong("a duration like \"30m\" or a number of minutes")),
                };
                if key == "put_off" {
                    s.put_off = Some(text);
                } else {
                    s.standard_time = Some(text);
                }
            }
            "max_attempts" => {
                let n = v.as_u64().ok_or_else(|| wrong("a positive integer"))?;
                s.max_attempts = Some(
                    u32::try_from(n)
                        .map_err(|_| ApiError::bad_field("max_attempts", "out of range"))?,
                );
            }
            "status_after_max" => s.status_after_max = Some(string(v, &wrong)?),
            "random_share" => s.random_share = Some(v.as_f64().ok_or_else(|| wrong("a number"))?),
            "dispositions" => {
                let list = v.as_array().ok_or_else(|| wrong("an array of names"))?;
                let mut out = Vec::with_capacity(list.len());
                for (i, d) in list.iter().enumerate() {
                    match d.as_str() {
                        Some(d) => out.push(d.to_string()),
                        None => {
                            return Err(ApiError::bad_field(
                                format!("dispositions[{i}]"),
                                "must be a string",
                            ))
                        }
                    }
                }
                s.dispositions = Some(out);
            }
            "window" => s.window = Some(string(v, &wrong)?),
            "timezone" => s.timezone = Some(string(v, &wrong)?),
            // reject_unknown has refused every other key.
            _ => {}
        }
    }
    Ok(s)
}

fn string(v: &Value, wrong: &dyn Fn(&str) -> ApiError) -> Result<String, ApiError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| wrong("a string"))
}
