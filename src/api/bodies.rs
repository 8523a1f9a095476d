//! Request bodies of the decision, agent-state, disposition and payment
//! routes, read into typed values without the daemon's state: what a body
//! says is checked here (JSON types, enums, lengths, the config's names),
//! what the record's state allows is the handler's. Kept apart so the
//! fuzz target `api_json` drives exactly the code the handlers run, and so
//! a bad value is a 422 naming its field before any state is consulted.

use chrono::{DateTime, Utc};
use orderline_dialer::agents::{AgentInput, FloorRules};
use serde_json::{Map, Value};

use super::error::ApiError;
use super::input::{self, type_name};
use crate::money::Money;
use crate::payments::payment_amount;
use crate::store::FlagDecision;

/// Longest disposition note accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Longest payment item text, in characters.
pub const MAX_ITEM_CHARS: usize = 200;

/// `POST /v1/orders/{id}/decision {"decision","by"?,"note"?}`.
#[derive(Debug)]
pub struct DecisionRequest {
    pub decision: FlagDecision,
    /// Who decided; `api` when not given.
    pub by: String,
    pub note: Option<String>,
}

pub(crate) fn decision(body: &[u8]) -> Result<DecisionRequest, ApiError> {
    let map = input::json_object(body)?;
    input::reject_unknown(&map, &["decision", "by", "note"])?;
    let decision = match map.get("decision") {
        Some(Value::String(s)) if s == "confirm" => FlagDecision::Confirm,
        Some(Value::String(s)) if s == "cancel" => FlagDecision::Cancel,
        Some(Value::String(s)) => {
            return Err(ApiError::invalid(
                "decision",
                format!("{s:?} is not confirm or cancel"),
            ))
        }
        None | Some(Value::Null) => return Err(ApiError::invalid("decision", "is required")),
        Some(other) => {
            return Err(ApiError::invalid(
                "decision",
                format!("must be a string, not {}", type_name(other)),
            ))
        }
    };
    let text = |field: &str, max: usize| -> Result<Option<String>, ApiError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s))
                if s.chars().count() <= max && !s.chars().any(char::is_control) =>
            {
                Ok(Some(s.clone()))
            }
            Some(Value::String(_)) => Err(ApiError::invalid(
                field,
                format!("must be at most {max} printable characters"),
            )),
            Some(other) => Err(ApiError::invalid(
                field,
                format!("must be a string, not {}", type_name(other)),
            )),
        }
    };
    Ok(DecisionRequest {
        decision,
        by: text("by", 128)?.unwrap_or_else(|| "api".to_string()),
        note: text("note", 2000)?,
    })
}

/// `PUT /v1/agents/{id}/state {"state":"ready"|"paused","pause_code"?}`:
/// the move it asks for, with the pause code checked against the config.
pub(crate) fn state_change(body: &[u8], rules: &FloorRules) -> Result<AgentInput, ApiError> {
    let map = object(body)?;
    input::reject_unknown(&map, &["state", "pause_code"]).map_err(ApiError::into_bad_request)?;
    let wanted = input::required_string(&map, "state").map_err(ApiError::into_bad_request)?;
    // `null` is not a pause code (the document lists the codes as strings).
    let code = match map.get("pause_code") {
        Some(Value::Null) => {
            return Err(ApiError::bad_field(
                "pause_code",
                "must be a pause code, not null",
            ))
        }
        _ => input::optional_string(&map, "pause_code").map_err(ApiError::into_bad_request)?,
    };
    match (wanted.as_str(), code) {
        ("ready", None) => Ok(AgentInput::SetReady),
        ("ready", Some(_)) => Err(ApiError::bad_field(
            "pause_code",
            "only with \"state\": \"paused\"",
        )),
        ("paused", Some(code)) if rules.knows_pause_code(&code) => Ok(AgentInput::Pause { code }),
        ("paused", Some(code)) => Err(ApiError::bad_field(
            "pause_code",
            format!("{code:?} is not one of {}", rules.pause_codes.join(", ")),
        )),
        ("paused", None) => Err(ApiError::bad_field(
            "pause_code",
            format!(
                "is required to pause; one of {}",
                rules.pause_codes.join(", ")
            ),
        )),
        (other, _) => Err(ApiError::bad_field(
            "state",
            format!("{other:?}: must be \"ready\" or \"paused\" (the other states follow calls and the session)"),
        )),
    }
}

/// `POST /v1/calls/{id}/disposition`, read and checked against the config.
#[derive(Debug)]
pub struct DispositionRequest {
    pub disposition: String,
    pub callback_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
    /// "Dispose and pause": the pause code to go to instead of ready.
    pub then_pause: Option<String>,
    pub same_agent: bool,
}

pub(crate) fn disposition(
    body: &[u8],
    rules: &FloorRules,
    now: DateTime<Utc>,
) -> Result<DispositionRequest, ApiError> {
    let map = object(body)?;
    input::reject_unknown(
        &map,
        &[
            "disposition",
            "callback_at",
            "callback_same_agent",
            "pause_code",
            "note",
        ],
    )
    .map_err(ApiError::into_bad_request)?;
    let disposition =
        input::required_string(&map, "disposition").map_err(ApiError::into_bad_request)?;
    if !rules.knows_disposition(&disposition) {
        return Err(ApiError::bad_field(
            "disposition",
            format!(
                "{disposition:?} is not one of {}",
                rules.dispositions.join(", ")
            ),
        ));
    }
    let callback_at = match input::optional_string(&map, "callback_at")
        .map_err(ApiError::into_bad_request)?
    {
        None => None,
        Some(s) => {
            let at = DateTime::parse_from_rfc3339(&s)
                .map_err(|_| {
                    ApiError::bad_field("callback_at", "must be an RFC 3339 time with its offset")
                })?
                .with_timezone(&Utc);
            if at <= now {
                return Err(ApiError::bad_field("callback_at", "must be in the future"));
            }
            Some(at)
        }
    };
    // A callback needs its time (VICIdial's CALLBK asks for one, too).
    if disposition == "callback" && callback_at.is_none() {
        return Err(ApiError::bad_field(
            "callback_at",
            "is required with the callback disposition",
        ));
    }
    let note = input::optional_string(&map, "note").map_err(ApiError::into_bad_request)?;
    if note
        .as_deref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        return Err(ApiError::bad_field(
            "note",
            format!("at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    let then_pause =
        input::optional_string(&map, "pause_code").map_err(ApiError::into_bad_request)?;
    if let Some(code) = &then_pause {
        if !rules.knows_pause_code(code) {
            return Err(ApiError::bad_field(
                "pause_code",
                format!("{code:?} is not one of {}", rules.pause_codes.join(", ")),
            ));
        }
    }
    let same_agent = match map.get("callback_same_agent") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::bad_field(
                "callback_same_agent",
                "must be true or false",
            ))
        }
    };
    Ok(DispositionRequest {
        disposition,
        callback_at,
        note,
        then_pause,
        same_agent,
    })
}

/// `POST /v1/calls/{id}/payments {"item","amount","currency"}`: the item
/// text and the amount in its currency. Card data never comes this way.
pub(crate) fn payment(body: &[u8]) -> Result<(String, Money), ApiError> {
    let map = object(body)?;
    input::reject_unknown(&map, &["item", "amount", "currency"])
        .map_err(ApiError::into_bad_request)?;
    let item = input::required_string(&map, "item").map_err(ApiError::into_bad_request)?;
    input::printable_text("item", &item, MAX_ITEM_CHARS)?;
    let amount = input::amount_text(body, &map).map_err(ApiError::into_bad_request)?;
    let currency = input::required_string(&map, "currency").map_err(ApiError::into_bad_request)?;
    let amount = payment_amount(&amount, &currency)
        .map_err(|e| ApiError::bad_field(e.field(), e.to_string()))?;
    Ok((item, amount))
}

/// A JSON object body, in the field-error dialect these routes share.
fn object(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    input::json_object(body).map_err(ApiError::into_bad_request)
}
