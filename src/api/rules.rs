//! `GET/PUT /v1/rules`: the confirmation campaign's order rules.
//!
//! `PUT` replaces `[campaign]` (flag thresholds, rule list, unmatched action)
//! for the running daemon after the same validation the config file gets
//! ([`CallingConfig::campaign`](crate::config::CallingConfig::campaign)); new orders are planned with it at once.
//! It is held in memory only: a restart reloads the config file, so a change
//! meant to last must also be written there. `[calling]` (window, zone,
//! re-attempts) is shown but read-only here: it also drives the scheduler's
//! retries, and changing it under live attempts needs the daemon's care.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::ApiState;
use crate::config::{AmountSetting, CampaignConfig, RuleAction};
use crate::dialer::RuleError;

/// `GET /v1/rules`.
pub(crate) async fn get(State(state): State<ApiState>) -> Json<Value> {
    Json(rules_json(&state))
}

/// `PUT /v1/rules {"campaign": {...}}`: validate, then swap in.
pub(crate) async fn put(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = state.body(body)?;
    let mut map = super::input::json_object(&body)?;
    if let Some(unknown) = map.keys().find(|k| k.as_str() != "campaign") {
        let reason = if unknown == "calling" {
            "is read-only over the API; change the config file"
        } else {
            "unknown field; expected campaign"
        };
        return Err(ApiError::invalid(unknown.clone(), reason));
    }
    let campaign_value = map
        .remove("campaign")
        .ok_or_else(|| ApiError::invalid("campaign", "is required"))?;
    let config: CampaignConfig = serde_json::from_value(campaign_value)
        .map_err(|e| ApiError::invalid("campaign", e.to_string()))?;
    let campaign = state
        .inner
        .calling
        .campaign(&config)
        .map_err(|e| rule_error(&e))?;
    {
        let mut live = state
            .inner
            .campaign
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *live = campaign;
        let mut shown = state
            .inner
            .campaign_config
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *shown = config;
    }
    tracing::info!("campaign rules replaced over the API (until the next restart)");
    Ok(Json(rules_json(&state)))
}

/// Config keys are `campaign.rules[0].max_amount`; the API body nests the
/// same names, so the key is the field.
fn rule_error(e: &RuleError) -> ApiError {
    ApiError::invalid(e.key(), e.to_string())
}

fn rules_json(state: &ApiState) -> Value {
    let c = state
        .inner
        .campaign_config
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let calling = &state.inner.calling;
    let amount = |a: &Option<AmountSetting>| a.as_ref().map(AmountSetting::text);
    json!({
        "campaign": {
            "unmatched": action(c.unmatched),
            "flag_above": {
                "new": amount(&c.flag_above.new),
                "returning": amount(&c.flag_above.returning),
                "platform_returning": amount(&c.flag_above.platform_returning),
            },
            "rules": c.rules.as_ref().map(|rules| rules.iter().map(|r| json!({
                "kinds": r.kinds.as_ref().map(|k| k.iter().map(|k| k.as_str()).collect::<Vec<_>>()),
                "min_amount": amount(&r.min_amount),
                "max_amount": amount(&r.max_amount),
                "action": action(r.action),
            })).collect::<Vec<_>>()),
        },
        "calling": {
            "window": calling.window,
            "timezone": calling.timezone,
            "max_reattempts": calling.max_reattempts,
            "reattempt_interval": calling.reattempt_interval,
            "no_answer_fallback": match calling.no_answer_fallback {
                crate::config::Fallback::Confirm => "confirm",
                crate::config::Fallback::Cancel => "cancel",
                crate::config::Fallback::Flag => "flag",
            },
        },
        "persisted": false,
    })
}

fn action(a: RuleAction) -> &'static str {
    match a {
        RuleAction::Call => "call",
        RuleAction::Confirm => "confirm",
        RuleAction::Flag => "flag",
    }
}
