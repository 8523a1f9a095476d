//! `GET/PUT /v1/rules`: the confirmation campaign's order rules.
//!
//! `PUT` replaces `[campaign]` (flag thresholds, rule list, unmatched action)
//! for the running daemon after the same validation the config file gets
//! ([`CallingConfig::campaign`](crate::config::CallingConfig::campaign)); new orders are planned with it at once.
//! It is stored (table `campaign_rules`, migration 0008, issue #13) before it
//! is swapped in, and [`ApiState::restore_rules`] loads it at start over the
//! config file's `[campaign]`: the file seeds the rules, the stored version
//! wins, so a restart never silently reverts a merchant's change. `[calling]`
//! (window, zone, re-attempts) is shown but read-only here: it also drives the
//! scheduler's retries, and changing it under live attempts needs the
//! daemon's care.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::ApiState;
use crate::config::{AmountSetting, CallingConfig, CampaignConfig, RuleAction};
use crate::dialer::RuleError;
use crate::store::StoreError;

/// Why the stored rules could not be put back at start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoredRulesError {
    #[error("cannot read the stored campaign rules: {0}")]
    Store(#[from] StoreError),
    #[error("the stored campaign rules (from PUT /v1/rules) are not a valid [campaign]: {0}")]
    Parse(#[source] serde_json::Error),
    #[error("the stored campaign rules (from PUT /v1/rules) no longer pass validation: {0}")]
    Invalid(#[source] RuleError),
}

impl ApiState {
    /// Replace the config file's `[campaign]` with the rules last accepted by
    /// `PUT /v1/rules`, if any were stored. Returns whether it did.
    ///
    /// Call once at start, before the scheduler plans anything. A stored set
    /// that no longer validates stops the start with a named error rather
    /// than falling back to the file: falling back is the silent revert
    /// issue #13 forbids.
    pub async fn restore_rules(&self) -> Result<bool, StoredRulesError> {
        let Some(text) = self.inner.store.campaign_rules().await? else {
            return Ok(false);
        };
        let config: CampaignConfig =
            serde_json::from_str(&text).map_err(StoredRulesError::Parse)?;
        let campaign = self
            .inner
            .calling
            .campaign(&config)
            .map_err(StoredRulesError::Invalid)?;
        self.swap_rules(campaign, config);
        Ok(true)
    }

    fn swap_rules(&self, campaign: crate::dialer::Campaign, config: CampaignConfig) {
        let mut live = self
            .inner
            .campaign
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *live = campaign;
        let mut shown = self
            .inner
            .campaign_config
            .write()
            .unwrap_or_else(|p| p.into_inner());
        *shown = config;
    }
}

/// `GET /v1/rules`.
pub(crate) async fn get(State(state): State<ApiState>) -> Result<Json<Value>, ApiError> {
    let persisted = state.store().campaign_rules().await?.is_some();
    Ok(Json(rules_json(&state, persisted)))
}

/// `PUT /v1/rules {"campaign": {...}}`: validate, store, then swap in (a
/// failed write changes nothing).
pub(crate) async fn put(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let body = state.body(body)?;
    let (config, campaign, stored) = campaign_request(&body, &state.inner.calling)?;
    state
        .store()
        .save_campaign_rules(&stored, state.now())
        .await?;
    state.swap_rules(campaign, config);
    tracing::info!("campaign rules replaced over the API and stored");
    Ok(Json(rules_json(&state, true)))
}

/// `PUT /v1/rules` body → the `[campaign]` it sets, the rules built from it
/// with `calling` (the same validation the config file gets), and the JSON
/// text to store.
pub(crate) fn campaign_request(
    body: &[u8],
    calling: &CallingConfig,
) -> Result<(CampaignConfig, crate::dialer::Campaign, String), ApiError> {
    let mut map = super::input::json_object(body)?;
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
    campaign_shape(&campaign_value)?;
    let stored = campaign_value.to_string();
    let config: CampaignConfig = serde_json::from_value(campaign_value)
        .map_err(|e| ApiError::invalid("campaign", e.to_string()))?;
    let campaign = calling.campaign(&config).map_err(|e| rule_error(&e))?;
    Ok((config, campaign, stored))
}

/// Each key of `{"campaign": …}` checked for its JSON type before serde
/// reads it, so a refusal names the nested field
/// (`campaign.rules[1].action`), not just `campaign` — and an array, which
/// serde would take for a struct, is refused.
fn campaign_shape(v: &Value) -> Result<(), ApiError> {
    let c = object(v, "campaign")?;
    for (k, x) in c {
        let at = format!("campaign.{k}");
        match k.as_str() {
            "unmatched" => rule_action(x, &at)?,
            "flag_above" => {
                for (kind, a) in object(x, &at)? {
                    let at = format!("{at}.{kind}");
                    match kind.as_str() {
                        "new" | "returning" | "platform_returning" => amount_setting(a, &at)?,
                        _ => return Err(unknown(&at, "new, returning, platform_returning")),
                    }
                }
            }
            "rules" => match x {
                Value::Null => {}
                Value::Array(list) => {
                    for (i, r) in list.iter().enumerate() {
                        let at = format!("campaign.rules[{i}]");
                        for (key, y) in object(r, &at)? {
                            let at = format!("{at}.{key}");
                            match key.as_str() {
                                "kinds" => kinds(y, &at)?,
                                "min_amount" | "max_amount" => amount_setting(y, &at)?,
                                "action" => rule_action(y, &at)?,
                                _ => {
                                    return Err(unknown(
                                        &at,
                                        "kinds, min_amount, max_amount, action",
                                    ))
                                }
                            }
                        }
                    }
                }
                other => return Err(wrong(&at, "an array or null", other)),
            },
            _ => return Err(unknown(&at, "unmatched, flag_above, rules")),
        }
    }
    Ok(())
}

fn object<'v>(v: &'v Value, at: &str) -> Result<&'v serde_json::Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| wrong(at, "an object", v))
}

fn wrong(at: &str, what: &str, v: &Value) -> ApiError {
    ApiError::invalid(
        at,
        format!("must be {what}, not {}", super::input::type_name(v)),
    )
}

fn unknown(at: &str, expected: &str) -> ApiError {
    ApiError::invalid(at, format!("unknown field; expected {expected}"))
}

fn rule_action(v: &Value, at: &str) -> Result<(), ApiError> {
    match v.as_str() {
        Some("call" | "confirm" | "flag") => Ok(()),
        _ => Err(ApiError::invalid(at, "must be call, confirm or flag")),
    }
}

/// `AmountSetting`: decimal text (checked later, with its rule's key), a
/// whole number, or null.
fn amount_setting(v: &Value, at: &str) -> Result<(), ApiError> {
    match v {
        Value::Null | Value::String(_) => Ok(()),
        Value::Number(n) if n.is_u64() => Ok(()),
        other => Err(wrong(at, "a decimal string or a whole number", other)),
    }
}

fn kinds(v: &Value, at: &str) -> Result<(), ApiError> {
    match v {
        Value::Null => Ok(()),
        Value::Array(list) => {
            for (i, k) in list.iter().enumerate() {
                if !matches!(k.as_str(), Some("new" | "returning" | "platform_returning")) {
                    return Err(ApiError::invalid(
                        format!("{at}[{i}]"),
                        "must be new, returning or platform_returning",
                    ));
                }
            }
            Ok(())
        }
        other => Err(wrong(at, "an array or null", other)),
    }
}

/// Config keys are `campaign.rules[0].max_amount`; the API body nests the
/// same names, so the key is the field.
fn rule_error(e: &RuleError) -> ApiError {
    ApiError::invalid(e.key(), e.to_string())
}

/// `persisted`: the rules shown come from the store (a `PUT`), not the file.
fn rules_json(state: &ApiState, persisted: bool) -> Value {
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
        "persisted": persisted,
    })
}

fn action(a: RuleAction) -> &'static str {
    match a {
        RuleAction::Call => "call",
        RuleAction::Confirm => "confirm",
        RuleAction::Flag => "flag",
    }
}
