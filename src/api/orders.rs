//! `/v1/orders`: create (idempotent), read with attempts and history, list
//! with keyset pages, and the human decision on a flagged order.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::error::ApiError;
use super::extract::{list_query, path_id};
use super::input;
use super::views::{attempt_json, history_json, order_json};
use super::ApiState;
use crate::store::Inserted;

/// `POST /v1/orders`: 201 new, 200 the same order again, 409 a different
/// body under a known id (naming the fields).
pub(crate) async fn create(
    State(state): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = state.body(body)?;
    let mut order = input::new_order(&body)?;
    let mut extras = input::order_extras(&body)?;
    // Defaults stored with the order, so the call and the API read one value.
    if order.script.store.is_none() {
        order.script.store = state.inner.merchant_name.clone();
    }
    if order.script.number.is_none() {
        order.script.number = Some(order.id.clone());
    }
    let facts = order.facts()?;
    // Names no prompt covers are rendered now, never during the call; one
    // that cannot be spoken fails the order's preparation (kept, flagged).
    if let Some(tts) = state.inner.tts.clone() {
        let locale = order
            .locale
            .clone()
            .unwrap_or_else(|| state.inner.calling.default_locale.clone());
        let texts = crate::ivr::script::texts_to_render(
            &order.items,
            order.script.store.as_deref(),
            order.script.customer_name.as_deref(),
        );
        // The script's parts as whole sentences, where the voice reads them.
        let phrases = match state.inner.phrases.get(&crate::media::tts::lang(&locale)) {
            Some(p) if tts.voice(&locale).ok() == Some(crate::media::tts::Voice::Neural) => {
                p.texts(&order_text(&order, &locale, state.inner.max_items))
            }
            _ => Vec::new(),
        };
        if !texts.is_empty() || !phrases.is_empty() {
            let why = tokio::task::spawn_blocking(move || {
                let why = tts.prepare(&locale, &texts);
                if why.is_none() {
                    tts.render_phrases(&locale, &phrases);
                }
                why
            })
            .await
            .unwrap_or_else(|e| Some(format!("text-to-speech task failed: {e}")));
            if let Some(why) = &why {
                tracing::debug!(order = %order.id, reason = %why, "order preparation failed");
            }
            order.script.prep_error = why;
        }
    }
    let now = state.now();
    extras.trial = super::trials::posted_trial(&state, &body, &order, now)?;
    let plan = state.campaign_snapshot().plan_order(&facts, now);
    match state
        .inner
        .store
        .insert_order_with(&order, &extras, plan, now)
        .await?
    {
        Inserted::Created(mut o) => {
            state.inner.metrics.order_created();
            // A first status ticked into a mode (e.g. `flagged` → a human)
            // puts the order in dial-up at once (issue #11).
            if let Some(dialup) = &state.inner.dialup {
                if dialup.rules().tick(o.status.as_str(), &o.project).is_some() {
                    dialup
                        .set_status(
                            &o,
                            o.status.as_str(),
                            "dialer: status ticked on create",
                            now,
                        )
                        .await
                        .map_err(super::dialer::dialup_error)?;
                    if let Some(detail) = state.inner.store.get_order(&o.id).await? {
                        o = detail.order;
                    }
                }
            }
            Ok((StatusCode::CREATED, Json(with_extras(&o, &extras))).into_response())
        }
        Inserted::Existing(o) => {
            Ok((StatusCode::OK, Json(with_extras(&o, &extras))).into_response())
        }
        Inserted::Conflict { existing, fields } => Err(ApiError::Conflict {
            id: existing.id.clone(),
            fields,
            existing: Box::new(existing),
        }),
    }
}

/// `GET /v1/orders/{id}`: the order, its call attempts and status history.
pub(crate) async fn get(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let detail = state
        .inner
        .store
        .get_order(&id)
        .await?
        .ok_or_else(|| ApiError::NotFound(id.clone()))?;
    let history = state.inner.store.status_history(&id).await?;
    let extras = state.inner.store.order_extras(&id).await?;
    let mut body = with_extras(&detail.order, &extras);
    body["attempts"] = detail.attempts.iter().map(attempt_json).collect();
    body["history"] = history.iter().map(history_json).collect();
    Ok(Json(body))
}

/// `GET /v1/orders?status=&from=&to=&cursor=&limit=`.
pub(crate) async fn list(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let q = list_query(
        query.as_deref(),
        &["status", "from", "to", "cursor", "limit"],
        &|s| state.configured_status(s),
    )?;
    let page = state.inner.store.list_orders(&q).await?;
    Ok(Json(json!({
        "orders": page.orders.iter().map(order_json).collect::<Vec<_>>(),
        "next_cursor": page.next_cursor,
    })))
}

/// `POST /v1/orders/{id}/decision {"decision":"confirm"|"cancel","by"?,"note"?}`.
pub(crate) async fn decide(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let body = state.body(body)?;
    let super::bodies::DecisionRequest { decision, by, note } = super::bodies::decision(&body)?;
    let order = state
        .inner
        .store
        .decide(&id, decision, &by, note.as_deref(), state.now())
        .await?;
    // A decided order leaves the mode `flagged` was ticked into (issue #11).
    let order = match &state.inner.dialup {
        Some(dialup) => {
            dialup
                .follow(&id, state.now())
                .await
                .map_err(super::dialer::dialup_error)?;
            state
                .inner
                .store
                .get_order(&id)
                .await?
                .map_or(order, |d| d.order)
        }
        None => order,
    };
    Ok(Json(order_json(&order)))
}

/// The order's view with what it carries for upsells (issue #15): the
/// offer, the card on file as the console shows it (`XXXX XXXX XXXX 4242`,
/// brand, expiry month/year: never the token) and the main order of an
/// upsell order.
pub(crate) fn with_extras(o: &crate::store::Order, e: &crate::store::OrderExtras) -> Value {
    let mut body = order_json(o);
    body["offer"] = json!(e.offer);
    body["card_on_file"] = if e.card.token.is_some() || e.card.last4.is_some() {
        e.card.masked()
    } else {
        Value::Null
    };
    body["upsell_of"] = json!(e.upsell_of);
    body
}

/// What the script reads out of an order being created.
fn order_text<'a>(
    order: &'a crate::store::NewOrder,
    locale: &'a str,
    max_items: u32,
) -> crate::ivr::script::OrderText<'a> {
    crate::ivr::script::OrderText {
        locale,
        number: order.script.number.as_deref().unwrap_or(&order.id),
        amount: &order.amount,
        currency: &order.currency,
        delivery_fee: order.script.delivery_fee.as_deref(),
        items: &order.items,
        store: order.script.store.as_deref(),
        customer_name: order.script.customer_name.as_deref(),
        max_items,
    }
}
