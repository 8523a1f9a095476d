//! The API's JSON views of store records (orders, attempts, status history,
//! payments), shared by the handlers that return them and by [`ApiError`]'s
//! conflict body. They live apart from any one handler so that `error`,
//! `orders`, `payments` and `sse` each import them one way (issue #9: no
//! helpers living in a handler, no import cycles).
//!
//! [`ApiError`]: super::ApiError

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

use crate::store::{Agent, Attempt, Order, Payment, PaymentStep, StatusChange};

/// Times in API bodies: RFC 3339, UTC, milliseconds.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The API's view of an agent (never its token), shared by `/v1/agents`
/// and the state routes.
pub(crate) fn agent_json(a: &Agent) -> Value {
    json!({ "id": a.id, "name": a.name, "sip_uri": a.sip_uri, "srtp": a.srtp.as_str(), "source": a.source.as_str() })
}

/// The API's view of an order (the same shape the merchant posted, plus
/// `status` and times).
pub(crate) fn order_json(o: &Order) -> Value {
    json!({
        "id": o.id,
        "phone": o.phone,
        "amount": o.amount,
        "currency": o.money.currency().code(),
        "customer": { "kind": o.customer_kind.as_str() },
        "items": o.items,
        "locale": o.locale,
        "timezone": o.timezone,
        "status": o.shown_status(),
        "project": o.project,
        "store": o.script.store,
        "number": o.script.number.as_deref().unwrap_or(&o.id),
        "delivery_fee": o.script.delivery_fee,
        "customer_name": o.script.customer_name,
        "address": o.script.address,
        "notes": o.script.notes,
        "preparation_error": o.script.prep_error,
        "dialer": o.dialer.as_ref().map(|(mode, subqueue)| json!({ "mode": mode, "subqueue": subqueue })),
        "created_at": time(o.created_at),
        "updated_at": time(o.updated_at),
    })
}

pub(crate) fn attempt_json(a: &Attempt) -> Value {
    json!({
        "attempt_no": a.attempt_no,
        "state": a.state.as_str(),
        "scheduled_at": time(a.scheduled_at),
        "time": a.started_at.map(time),
        "finished_at": a.finished_at.map(time),
        "trunk": a.trunk,
        "sip_status": a.sip_status,
        "result": a.outcome.map(|o| o.as_str()),
        "digits": a.digits,
        "duration_ms": a.duration_ms,
        "error": a.error,
        "kind": a.kind.as_str(),
    })
}

pub(crate) fn history_json(h: &StatusChange) -> Value {
    json!({
        "from": h.from,
        "to": h.to,
        "reason": h.reason,
        "at": time(h.at),
    })
}

/// The API's view of a payment: never a card number, expiry, CVC or postal
/// code (the record has none).
pub(crate) fn payment_json(p: &Payment) -> Value {
    json!({
        "id": p.id,
        "call_id": p.call_id,
        "agent": p.agent_id,
        "item": p.item,
        "amount": p.amount.to_string(),
        "currency": p.amount.currency().code(),
        "status": p.status.as_str(),
        "steps": p.steps.iter().map(step_json).collect::<Vec<_>>(),
        "brand": p.brand,
        "last_four": p.last_four,
        "transaction_id": p.transaction_id,
        "reason": p.reason.as_ref().map(ToString::to_string),
        "note": p.note,
        "created_at": time(p.created_at),
        "updated_at": time(p.updated_at),
    })
}

/// One step as the agent sees it.
pub(crate) fn step_json(s: &PaymentStep) -> Value {
    json!({
        "step": s.step.as_str(),
        "status": s.status.as_str(),
        "reason": s.reason,
        "at": time(s.at),
    })
}
