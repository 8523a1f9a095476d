//! The OpenAPI description of trial orders (issue #15): the `trial` of a new
//! order, the sales workflow, the extension and a notification's resend,
//! merged into `GET /openapi.json` by `openapi.rs` (the builders come in as
//! arguments, so no import cycle).

use serde_json::{json, Value};

use crate::trial::{EXTENSION_DAYS, MAX_DAYS};

const AMOUNT: &str = "^[0-9]+(\\.[0-9]{1,4})?$";

/// `trial` on `NewOrder`.
pub(super) fn new_order_properties() -> Value {
    json!({
        "trial": { "oneOf": [{ "$ref": "#/components/schemas/TrialTerms" }, { "type": "null" }] }
    })
}

/// Rules between `trial` and the rest of the order (the contract client
/// tolerates a 422 naming one of these fields).
pub(super) fn order_cross_field() -> Value {
    json!([
        { "field": "trial.product_amount", "status": 422, "rule": "at most the order currency's decimal places" },
        { "field": "trial.shipping_amount", "status": 422, "rule": "at most the order currency's decimal places" },
        { "field": "trial.currency", "status": 422, "rule": "the order's currency" }
    ])
}

pub(super) fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let time = json!({ "type": "string", "format": "date-time" });
    let opt_time = json!({ "type": ["string", "null"], "format": "date-time" });
    let amount = |what: &str| json!({ "type": "string", "pattern": AMOUNT, "examples": ["49.00", "250"], "description": format!("{what}: an exact decimal string in the order's currency, at most its ISO 4217 decimal places (PKR 2, JPY 0, KWD 3); a float or more places is a 422 naming it.") });
    json!({
        "TrialTerms": {
            "type": "object", "required": ["days", "product_amount", "shipping_amount"], "additionalProperties": false,
            "description": format!("A trial order: shipping and handling charged at once to the card on file, the product at the end of the trial. Days are calendar days in the order's timezone (else [calling] timezone), DST included. Extensible once by {EXTENSION_DAYS} days."),
            "properties": {
                "days": { "type": "integer", "minimum": 1, "maximum": MAX_DAYS },
                "product_amount": amount("Charged at the end of the trial"),
                "shipping_amount": amount("Shipping and handling, charged at once"),
                "currency": { "type": ["string", "null"], "pattern": "^[A-Z]{3}$", "examples": ["PKR"], "description": "If given, the order's currency (else a 422 naming trial.currency)." }
            }
        },
        "WorkflowRow": {
            "type": "object",
            "properties": {
                "row": { "type": "integer", "minimum": 1, "description": "The row's number in the workflow (resend names it)." },
                "step": { "type": "string", "enum": ["placed", "confirmation", "reminder", "extension_offer", "charge", "payment_confirmation", "extension"] },
                "type": { "type": "string", "enum": ["notification", "charge", "call"] },
                "description": text,
                "status": { "type": "string", "enum": ["waiting", "completed", "failed"] },
                "scheduled_at": time, "executed_at": opt_time,
                "result": { "type": ["string", "null"], "description": "What happened: a transaction id, a decline's reason code, the retry time, the webhook's event id. Never card data." },
                "actions": { "type": "array", "items": { "type": "string", "enum": ["resend"] } }
            }
        },
        "Workflow": {
            "type": "object",
            "properties": {
                "order_id": text,
                "trial": {
                    "type": "object",
                    "properties": {
                        "days": { "type": "integer" }, "product_amount": text, "shipping_amount": text,
                        "currency": text, "timezone": text, "placed_at": time,
                        "extended": { "type": "boolean" }, "ends_at": opt_time
                    }
                },
                "rows": { "type": "array", "items": { "$ref": "#/components/schemas/WorkflowRow" } }
            }
        },
        "Resent": {
            "type": "object",
            "properties": {
                "order_id": text, "row": { "type": "integer" },
                "event": { "type": "string", "enum": ["trial.confirmation", "trial.reminder", "trial.extension_offer", "trial.charged", "trial.extended"] },
                "event_id": text
            }
        }
    })
}

pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
) -> Value {
    let malformed = error_response("A path parameter is invalid; `field` names it.");
    let missing = error_response("No such order, or the order has no trial.");
    json!({
        "/v1/orders/{id}/workflow": {
            "get": {
                "operationId": "getWorkflow",
                "summary": "A trial order's sales workflow: order placed + S&H charge, confirmation, the 7-days-left reminder, the extension offer, the end-of-trial charge, the payment confirmation, and the extension when taken — each with its type, status, scheduled and executed times, result and allowed actions.",
                "parameters": id_param,
                "responses": { "200": json_response("The workflow.", "Workflow"), "400": malformed.clone(), "401": unauthorized, "404": missing.clone() }
            }
        },
        "/v1/orders/{id}/trial/extend": {
            "post": {
                "operationId": "extendTrial",
                "summary": format!("Extend the trial by {EXTENSION_DAYS} days, once: the end-of-trial charge and its confirmation move (day 30 for a 15-day trial), the extension offer not yet sent is closed, an extension row and the webhook trial.extended (with the CRM note) are written."),
                "parameters": id_param,
                "responses": {
                    "200": json_response("Extended; the workflow as it is now.", "Workflow"),
                    "400": malformed.clone(), "401": unauthorized, "404": missing.clone(),
                    "409": error_response("Already extended once, or the end-of-trial charge was already tried.")
                }
            }
        },
        "/v1/orders/{id}/workflow/{row}/resend": {
            "post": {
                "operationId": "resendNotification",
                "summary": "Queue a sent notification's webhook again (a new event id, `resent: true` in its data).",
                "parameters": [
                    id_param[0].clone(),
                    { "name": "row", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1, "examples": [2] } }
                ],
                "responses": {
                    "202": json_response("Queued.", "Resent"),
                    "400": malformed, "401": unauthorized,
                    "404": error_response("No such order, trial or row."),
                    "409": error_response("The row is not a notification, or it was not sent (field: row)."),
                    "422": error_response("row is not a row number.")
                }
            }
        }
    })
}
