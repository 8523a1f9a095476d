//! Upsells (issue #15, first slice): the offers' catalog, the eligible
//! orders, a quote in the main order's currency, and a purchase charged to
//! the card on file through the configured gateway.
//!
//! One idempotency key per purchase: the client's `Idempotency-Key` header,
//! or one generated and returned (`idempotency_key`) for the client to send
//! on a retry. The purchase row is claimed under that key before the
//! gateway is called, so a retry answers the stored result and never charges
//! twice; the gateway charge carries the row's own key (`ups_<id>`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::extract::{form_pairs, path_id};
use super::input::{json_object, reject_unknown, required_string, type_name};
use super::orders::with_extras;
use super::views::time;
use super::ApiState;
use crate::payments::card::Brand;
use crate::payments::IdempotencyKey;
use crate::store::{
    NewPurchase, Order, OrderExtras, Purchase, PurchaseEnd, PurchaseRecord, ELIGIBLE,
};
use crate::upsell::{is_id, Catalog, FieldError, PriceForm, Quote};

/// Most orders one search returns.
pub const SEARCH_LIMIT: u32 = 100;

fn field_error(e: FieldError) -> ApiError {
    ApiError::bad_field(e.field, e.reason)
}

fn offer_id(id: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let id = path_id(id)?;
    if is_id(&id) {
        Ok(id)
    } else {
        Err(ApiError::bad_query(
            "id",
            "must be 1 to 64 of A-Z a-z 0-9 _ -",
        ))
    }
}

/// `PUT /v1/offers/{id}`: create (201) or replace (200) an offer's catalog.
pub(crate) async fn put_offer(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = offer_id(id)?;
    let body = state.body(body)?;
    let value: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    let catalog = Catalog::parse(&value, PriceForm::Decimal).map_err(field_error)?;
    let created = state
        .store()
        .put_offer(&id, &catalog.to_json(PriceForm::Minor), state.now())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(offer_json(&id, &catalog))).into_response())
}

/// `GET /v1/offers/{id}`.
pub(crate) async fn get_offer(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = offer_id(id)?;
    let catalog = load_catalog(&state, &id)
        .await?
        .ok_or_else(|| ApiError::Missing {
            what: "offer",
            id: id.clone(),
        })?;
    Ok(Json(offer_json(&id, &catalog)))
}

fn offer_json(id: &str, c: &Catalog) -> Value {
    let mut v = c.to_json(PriceForm::Decimal);
    v["id"] = json!(id);
    v
}

async fn load_catalog(state: &ApiState, id: &str) -> Result<Option<Catalog>, ApiError> {
    match state.store().get_offer(id).await? {
        None => Ok(None),
        Some(stored) => Catalog::parse(&stored, PriceForm::Minor)
            .map(Some)
            .map_err(|e| {
                ApiError::Store(crate::store::StoreError::Corrupt {
                    table: "offers",
                    reason: e.to_string(),
                })
            }),
    }
}

/// `GET /v1/upsell/orders?q=&status=`: orders an upsell can be sold on.
pub(crate) async fn search(
    State(state): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let (mut q, mut status) = (None, None);
    for (k, v) in form_pairs(query.as_deref().unwrap_or(""))? {
        match k.as_str() {
            "q" if v.chars().count() > 100 || v.chars().any(char::is_control) => {
                return Err(ApiError::bad_query(
                    "q",
                    "must be at most 100 printable characters",
                ))
            }
            "q" => q = Some(v).filter(|s| !s.is_empty()),
            "status" if ELIGIBLE.contains(&v.as_str()) => status = Some(v),
            "status" => {
                return Err(ApiError::bad_query(
                    "status",
                    format!("must be one of {}", ELIGIBLE.join(", ")),
                ))
            }
            other => {
                return Err(ApiError::bad_query(
                    other.to_string(),
                    "unknown parameter; expected q, status",
                ))
            }
        }
    }
    let found = state
        .store()
        .upsell_candidates(q.as_deref(), status.as_deref(), SEARCH_LIMIT)
        .await?;
    let orders: Vec<Value> = found.iter().map(|(o, e)| with_extras(o, e)).collect();
    Ok(Json(json!({ "orders": orders })))
}

/// What the customer chose.
struct Choice {
    upsell: String,
    quantity: u64,
    shipping: String,
}

fn choice(map: &Map<String, Value>) -> Result<Choice, ApiError> {
    let bad = ApiError::into_bad_request;
    let upsell = required_string(map, "upsell").map_err(bad)?;
    let shipping = required_string(map, "shipping").map_err(bad)?;
    let quantity = match map.get("quantity") {
        None | Some(Value::Null) => return Err(ApiError::bad_field("quantity", "is required")),
        Some(v) => v.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            ApiError::bad_field(
                "quantity",
                format!("must be a positive integer, not {}", type_name(v)),
            )
        })?,
    };
    Ok(Choice {
        upsell,
        quantity,
        shipping,
    })
}

/// The main order, its extras and the quote for `c`, or why not: 404 no
/// order, 409 not eligible (status, offer, catalog), 422 the choice.
async fn priced(
    state: &ApiState,
    order_id: &str,
    c: &Choice,
) -> Result<(Order, OrderExtras, Catalog, Quote), ApiError> {
    let order = state
        .store()
        .get_order(order_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(order_id.to_string()))?
        .order;
    if !ELIGIBLE.contains(&order.shown_status()) {
        return Err(ApiError::Refused {
            field: None,
            message: format!(
                "order {order_id:?} is {}; upsells are sold on orders that are {}",
                order.shown_status(),
                ELIGIBLE.join(", ")
            ),
        });
    }
    let extras = state.store().order_extras(order_id).await?;
    let Some(offer) = extras.offer.clone() else {
        return Err(ApiError::Refused {
            field: None,
            message: format!("order {order_id:?} has no offer; post it with \"offer\""),
        });
    };
    let catalog = load_catalog(state, &offer)
        .await?
        .ok_or_else(|| ApiError::Refused {
            field: None,
            message: format!("offer {offer:?} has no catalog; PUT /v1/offers/{offer} first"),
        })?;
    let quote = catalog
        .quote(&c.upsell, c.quantity, &c.shipping, order.money.currency())
        .map_err(field_error)?;
    Ok((order, extras, catalog, quote))
}

fn quote_json(order: &Order, c: &Choice, q: &Quote) -> Value {
    json!({
        "order_id": order.id,
        "upsell": c.upsell,
        "quantity": c.quantity,
        "shipping": c.shipping,
        "currency": q.total.currency().code(),
        "unit_price": q.unit.to_string(),
        "items_price": q.items.to_string(),
        "shipping_price": q.shipping.to_string(),
        "total": q.total.to_string(),
    })
}

/// `POST /v1/orders/{id}/upsells/quote {"upsell","quantity","shipping"}`.
pub(crate) async fn quote(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    let id = path_id(id)?;
    let body = state.body(body)?;
    let map = json_object(&body).map_err(ApiError::into_bad_request)?;
    reject_unknown(&map, &["upsell", "quantity", "shipping"])
        .map_err(ApiError::into_bad_request)?;
    let c = choice(&map)?;
    let (order, _, _, q) = priced(&state, &id, &c).await?;
    Ok(Json(quote_json(&order, &c, &q)))
}

/// The `Idempotency-Key` header: 1 to 200 of `A-Z a-z 0-9 _ - :`.
fn client_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let bad = || ApiError::bad_field("Idempotency-Key", "must be 1 to 200 of A-Z a-z 0-9 _ - :");
    let key = v.to_str().map_err(|_| bad())?;
    IdempotencyKey::new(key).map_err(|_| bad())?;
    Ok(Some(key.to_string()))
}

/// `POST /v1/orders/{id}/upsells {"upsell","quantity","shipping","payment"}`.
pub(crate) async fn buy(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let id = path_id(id)?;
    let body = state.body(body)?;
    let map = json_object(&body).map_err(ApiError::into_bad_request)?;
    reject_unknown(&map, &["upsell", "quantity", "shipping", "payment"])
        .map_err(ApiError::into_bad_request)?;
    let c = choice(&map)?;
    let keypad = payment_method(&map)?;
    let key = client_key(&headers)?;
    let (order, extras, catalog, quote) = priced(&state, &id, &c).await?;
    if let Some(call_id) = keypad {
        return Err(ApiError::Refused {
            field: Some("payment"),
            message: format!(
                "paying an upsell by keypad is not built yet (call {call_id:?}); charge the card on file, or take a keypad payment with POST /v1/calls/{{id}}/payments"
            ),
        });
    }
    if extras.card.token.is_none() {
        return Err(ApiError::Refused {
            field: Some("payment"),
            message: format!("order {id:?} has no card on file (payment_token)"),
        });
    }
    let purchase_id = super::random_id("ups_");
    let new = NewPurchase {
        id: purchase_id.clone(),
        order_id: id.clone(),
        idempotency_key: key.unwrap_or_else(|| purchase_id.clone()),
        upsell_id: c.upsell.clone(),
        quantity: c.quantity,
        shipping_id: c.shipping.clone(),
        amount: quote.total,
    };
    let (purchase, fresh) = state.store().claim_purchase(&new, state.now()).await?;
    if let Some(field) = replay_difference(&purchase, &new) {
        return Err(ApiError::Refused {
            field: Some(field),
            message: "this Idempotency-Key was used for another purchase on this order".into(),
        });
    }
    if purchase.status != "pending" {
        return Ok(purchase_response(&purchase, &extras, false));
    }
    let end = charge(&state, &purchase, &extras).await;
    let upsell = catalog.upsell(&c.upsell);
    let items = json!([{
        "upsell": c.upsell,
        "name": upsell.map(|u| u.name.clone()),
        "products": upsell.map(|u| u.products.clone()),
        "quantity": c.quantity,
        "unit_price": quote.unit.to_string(),
        "shipping": c.shipping,
        "shipping_price": quote.shipping.to_string(),
    }]);
    let now = state.now();
    let note = json!({
        "agent_name": "api",
        "product": upsell.map_or(c.upsell.clone(), |u| u.name.clone()),
        "transaction_id": end.transaction_id,
        "amount": quote.total.to_string(),
        "currency": quote.total.currency().code(),
        "status": end.status,
        "timestamp": crate::store::note_timestamp(now),
    });
    let webhook = json!({
        "purchase_id": purchase.id,
        "order_id": id,
        "upsell": c.upsell,
        "quantity": c.quantity,
        "shipping": c.shipping,
        "amount": quote.total.to_string(),
        "currency": quote.total.currency().code(),
        "status": end.status,
        "transaction_id": end.transaction_id,
        "reason": end.reason,
        "card": { "brand": extras.card.brand.map(Brand::as_str), "last4": extras.card.last4 },
        "next": (end.status != "approved").then_some("keypad"),
        "note": note,
        "at": time(now),
    });
    let done = state
        .store()
        .finish_purchase(
            &purchase.id,
            &order,
            &end,
            &PurchaseRecord {
                items,
                note,
                webhook,
            },
            now,
        )
        .await?;
    Ok(purchase_response(&done, &extras, fresh))
}

/// `payment`: `{"method":"card_on_file"}` (`None`) or
/// `{"method":"keypad","call_id":…}` (`Some(call_id)`).
fn payment_method(map: &Map<String, Value>) -> Result<Option<String>, ApiError> {
    let p = match map.get("payment") {
        None | Some(Value::Null) => return Err(ApiError::bad_field("payment", "is required")),
        Some(Value::Object(p)) => p,
        Some(other) => {
            return Err(ApiError::bad_field(
                "payment",
                format!("must be an object, not {}", type_name(other)),
            ))
        }
    };
    let named = |e: ApiError| match e {
        ApiError::Invalid { field, reason } | ApiError::BadField { field, reason } => {
            ApiError::bad_field(format!("payment.{field}"), reason)
        }
        other => other,
    };
    match p.get("method").and_then(Value::as_str) {
        Some("card_on_file") => {
            reject_unknown(p, &["method"]).map_err(named)?;
            Ok(None)
        }
        Some("keypad") => {
            reject_unknown(p, &["method", "call_id"]).map_err(named)?;
            let call = required_string(p, "call_id").map_err(named)?;
            if call.is_empty() || call.len() > 64 || call.chars().any(char::is_control) {
                return Err(ApiError::bad_field("payment.call_id", "must be a call id"));
            }
            Ok(Some(call))
        }
        _ => Err(ApiError::bad_field(
            "payment.method",
            "must be card_on_file or keypad",
        )),
    }
}

/// The field a retry under the same key changed (`None`: the same request).
fn replay_difference(stored: &Purchase, asked: &NewPurchase) -> Option<&'static str> {
    if stored.upsell_id != asked.upsell_id {
        Some("upsell")
    } else if stored.quantity != asked.quantity {
        Some("quantity")
    } else if stored.shipping_id != asked.shipping_id {
        Some("shipping")
    } else {
        None
    }
}

/// Charge the card on file with the purchase's own key (the one path
/// trial charges take too, `payments::on_file`).
async fn charge(state: &ApiState, p: &Purchase, extras: &OrderExtras) -> PurchaseEnd {
    crate::payments::on_file::charge(
        state.inner.gateway.as_ref(),
        &p.gateway_key,
        &extras.card,
        &p.amount,
    )
    .await
}

/// 201 (new) or 200 (a retry) for an approved purchase; 402 with
/// `"next":"keypad"` (use another card) for a declined or failed one.
fn purchase_response(p: &Purchase, extras: &OrderExtras, fresh: bool) -> Response {
    let status = match p.status.as_str() {
        "approved" if fresh => StatusCode::CREATED,
        "approved" => StatusCode::OK,
        _ => StatusCode::PAYMENT_REQUIRED,
    };
    let body = json!({
        "id": p.id,
        "order_id": p.order_id,
        "idempotency_key": p.idempotency_key,
        "upsell": p.upsell_id,
        "quantity": p.quantity,
        "shipping": p.shipping_id,
        "amount": p.amount.to_string(),
        "currency": p.amount.currency().code(),
        "status": p.status,
        "transaction_id": p.transaction_id,
        "reason": p.reason,
        "upsell_order_id": p.upsell_order_id,
        "card_on_file": extras.card.masked(),
        "note": p.note,
        "next": (p.status != "approved").then_some("keypad"),
        "created_at": time(p.created_at),
    });
    (status, Json(body)).into_response()
}
