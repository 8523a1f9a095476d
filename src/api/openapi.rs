//! `GET /openapi.json`: the OpenAPI 3.1 description of this API.
//!
//! Written by hand as JSON (see `docs/decisions.md`): our handlers parse
//! bodies by hand to name the field at fault, so utoipa's derive macros would
//! describe types we do not deserialize with. A test deserializes this
//! document into utoipa's OpenAPI model and checks it against [`ROUTES`],
//! the list the router is built from, so an undocumented route fails CI.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use super::openapi_agents;
use super::openapi_dialer;
use super::openapi_payments;
use super::openapi_sessions;
use super::openapi_trials;
use super::openapi_upsells;
use super::vocabulary::{Vocabulary, AMOUNT_PATTERN, NAME_PATTERN, PRINTABLE};
use super::{ApiState, BODY_LIMIT, DEFAULT_PAGE};
use crate::store::MAX_PAGE;

/// Every route as (method, path) in OpenAPI path syntax.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/orders"),
    ("get", "/v1/orders"),
    ("get", "/v1/orders.csv"),
    ("get", "/v1/orders/{id}"),
    ("post", "/v1/orders/{id}/decision"),
    ("get", "/v1/rules"),
    ("put", "/v1/rules"),
    ("post", "/v1/agents"),
    ("get", "/v1/agents"),
    ("post", "/v1/calls"),
    ("get", "/v1/calls"),
    ("get", "/v1/calls/{id}"),
    ("delete", "/v1/calls/{id}"),
    ("post", "/v1/calls/{id}/payments"),
    ("get", "/v1/payments/{id}"),
    ("delete", "/v1/payments/{id}"),
    ("get", "/v1/payments/{id}/events"),
    ("put", "/v1/orders/{id}/status"),
    ("get", "/v1/dialer/overview"),
    ("get", "/v1/dialer/queue"),
    ("get", "/v1/dialer/modes/{id}"),
    ("put", "/v1/dialer/modes/{id}/agents"),
    ("get", "/v1/agents/{id}"),
    ("put", "/v1/agents/{id}/state"),
    ("get", "/v1/agents/{id}/events"),
    ("post", "/v1/agents/{id}/preview"),
    ("post", "/v1/calls/{id}/disposition"),
    ("put", "/v1/dialer/modes/{id}"),
    ("get", "/v1/dialer/statuses"),
    ("put", "/v1/dialer/statuses/{name}"),
    ("get", "/v1/dialer/modes/{id}/stats"),
    ("post", "/v1/agents/{id}/session"),
    ("get", "/v1/agents/{id}/session"),
    ("delete", "/v1/agents/{id}/session"),
    ("get", "/agent"),
    ("get", "/console/admin"),
    ("get", "/console"),
    ("get", "/v1/calls/{id}/order"),
    ("put", "/v1/offers/{id}"),
    ("get", "/v1/offers/{id}"),
    ("get", "/v1/upsell/orders"),
    ("post", "/v1/orders/{id}/upsells/quote"),
    ("post", "/v1/orders/{id}/upsells"),
    ("get", "/v1/orders/{id}/workflow"),
    ("post", "/v1/orders/{id}/trial/extend"),
    ("post", "/v1/orders/{id}/workflow/{row}/resend"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

pub(crate) async fn serve(State(state): State<ApiState>) -> Json<Value> {
    Json(document_with(&state.vocabulary()))
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn list_params(with_paging: bool, vocab: &Vocabulary) -> Value {
    let status = if vocab.statuses.is_empty() {
        json!({ "anyOf": [{ "$ref": "#/components/schemas/Status" }, { "type": "string", "pattern": NAME_PATTERN, "examples": ["processing"] }] })
    } else {
        Vocabulary::names(&vocab.statuses)
    };
    let instant = json!({ "anyOf": [
        { "type": "string", "format": "date-time" },
        { "type": "string", "pattern": "^[0-9]{1,15}$", "description": "Epoch milliseconds.", "examples": ["1795428000000", "0"] }
    ] });
    let mut p = vec![
        json!({ "name": "status", "in": "query", "required": false, "description": "A built-in status or a configured [[dialer.statuses]] name.", "schema": status }),
        json!({ "name": "from", "in": "query", "required": false, "description": "Created at or after: RFC 3339 or epoch ms.", "schema": instant }),
        json!({ "name": "to", "in": "query", "required": false, "description": "Created before: RFC 3339 or epoch ms.", "schema": instant }),
    ];
    if with_paging {
        p.push(json!({ "name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page (empty: the first page).", "schema": { "type": "string", "pattern": "^(-?[0-9]{1,18}:.*)?$", "examples": ["1795428000000:A-1001", ""] } }));
        p.push(json!({ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": DEFAULT_PAGE } }));
    }
    Value::Array(p)
}

/// The document for a daemon with no call modes or operators configured.
pub fn document() -> Value {
    document_with(&Vocabulary::default())
}

/// The document with this daemon's configured names as enums.
pub fn document_with(vocab: &Vocabulary) -> Value {
    let id_param =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let unauthorized =
        error_response("Missing or wrong bearer token (`WWW-Authenticate: Bearer`).");
    let invalid = error_response("A field is missing or invalid; `field` names it.");
    let malformed =
        error_response("The body is not JSON, or a query parameter is invalid; `field` names it.");
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "orderline merchant and agent API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("Orders for confirmation calls, their outcomes, campaign rules; agents, agent-bridged calls and keypad payments (merchant or agent tokens). Bodies up to {BODY_LIMIT} bytes. Errors are `{{\"error\", \"field\"}}`."),
        },
        "security": [{ "bearer": [] }],
        "paths": {
            "/v1/orders": {
                "post": {
                    "operationId": "createOrder",
                    "summary": "Submit an order; idempotent on id.",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewOrder" } } } },
                    "responses": {
                        "201": json_response("Created and planned (call scheduled, flagged or confirmed).", "Order"),
                        "200": json_response("The same order was posted before; unchanged.", "Order"),
                        "400": malformed, "401": unauthorized, "422": invalid,
                        "409": error_response("Same id, different body; `fields` lists the differences, `order` the stored order."),
                        "413": error_response("Body too large."),
                    }
                },
                "get": {
                    "operationId": "listOrders",
                    "summary": "Orders oldest first, keyset-paged.",
                    "parameters": list_params(true, vocab),
                    "responses": { "200": json_response("One page.", "OrderPage"), "400": malformed, "401": unauthorized }
                }
            },
            "/v1/orders.csv": {
                "get": {
                    "operationId": "exportOrders",
                    "summary": "Every order matching the filter as RFC 4180 CSV (streamed).",
                    "parameters": list_params(false, vocab),
                    "responses": {
                        "200": { "description": "CSV with a header row.", "content": { "text/csv": { "schema": { "type": "string" } } } },
                        "400": malformed, "401": unauthorized
                    }
                }
            },
            "/v1/orders/{id}": {
                "get": {
                    "operationId": "getOrder",
                    "summary": "An order with its call attempts and status history.",
                    "parameters": id_param,
                    "responses": { "200": json_response("The order.", "OrderDetail"), "401": unauthorized, "404": error_response("No such order.") }
                }
            },
            "/v1/orders/{id}/decision": {
                "post": {
                    "operationId": "decideOrder",
                    "summary": "Confirm or cancel a flagged order.",
                    "parameters": id_param,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Decision" } } } },
                    "responses": {
                        "200": json_response("The order after the decision.", "Order"),
                        "400": malformed, "401": unauthorized, "422": invalid,
                        "404": error_response("No such order."),
                        "409": error_response("The order is not flagged."),
                    }
                }
            },
            "/v1/rules": {
                "get": {
                    "operationId": "getRules",
                    "summary": "The campaign rules in force.",
                    "responses": { "200": json_response("Rules.", "Rules"), "401": unauthorized }
                },
                "put": {
                    "operationId": "putRules",
                    "summary": "Replace [campaign]: stored, and loaded at start over the config file's (the stored version wins).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["campaign"], "properties": { "campaign": { "$ref": "#/components/schemas/Campaign" } } } } } },
                    "responses": { "200": json_response("Rules now in force.", "Rules"), "400": malformed, "401": unauthorized, "422": invalid },
                    "x-cross-field": [{ "field": "campaign.rules[].max_amount", "status": 422, "rule": "greater than the same rule's min_amount (JSON Schema cannot compare two values)" }]
                }
            },
            "/metrics": {
                "get": {
                    "operationId": "metrics",
                    "summary": "Prometheus text format 0.0.4 (no auth).",
                    "security": [],
                    "responses": { "200": { "description": "Metrics.", "content": { "text/plain": { "schema": { "type": "string" } } } } }
                }
            },
            "/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document (no auth).",
                    "security": [],
                    "responses": { "200": { "description": "OpenAPI 3.1.", "content": { "application/json": { "schema": { "type": "object" } } } } }
                }
            }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": schemas(vocab),
        }
    });
    if let (Some(paths), Value::Object(more)) = (
        doc["paths"].as_object_mut(),
        openapi_payments::paths(
            &id_param,
            &unauthorized,
            &malformed,
            json_response,
            error_response,
        ),
    ) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (
        doc["paths"].as_object_mut(),
        openapi_dialer::paths(
            &id_param,
            &unauthorized,
            json_response,
            error_response,
            vocab,
        ),
    ) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (
        doc["paths"].as_object_mut(),
        openapi_agents::paths(&id_param, &unauthorized, json_response, error_response),
    ) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (
        doc["paths"].as_object_mut(),
        openapi_sessions::paths(&id_param, &unauthorized, json_response, error_response),
    ) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (
        doc["paths"].as_object_mut(),
        openapi_upsells::paths(&id_param, &unauthorized, json_response, error_response),
    ) {
        paths.extend(more);
    }
    if let (Some(paths), Value::Object(more)) = (
        doc["paths"].as_object_mut(),
        openapi_trials::paths(&id_param, &unauthorized, json_response, error_response),
    ) {
        paths.extend(more);
    }
    doc["paths"]["/v1/orders"]["post"]["x-cross-field"] = openapi_trials::order_cross_field();
    doc
}

fn schemas(vocab: &Vocabulary) -> Value {
    let mut all = order_schemas(vocab);
    for more in [
        openapi_payments::schemas(),
        openapi_dialer::schemas(vocab),
        openapi_agents::schemas(vocab),
        openapi_sessions::schemas(),
        openapi_upsells::schemas(),
        openapi_trials::schemas(),
    ] {
        if let (Some(all), Value::Object(more)) = (all.as_object_mut(), more) {
            all.extend(more);
        }
    }
    // Issue #15's order fields, kept with the rest of upsells' document.
    for (schema, more) in [
        ("NewOrder", openapi_upsells::new_order_properties()),
        ("Order", openapi_upsells::order_properties()),
        ("NewOrder", openapi_trials::new_order_properties()),
    ] {
        if let (Some(props), Value::Object(more)) =
            (all[schema]["properties"].as_object_mut(), more)
        {
            props.extend(more);
        }
    }
    all
}

fn order_schemas(vocab: &Vocabulary) -> Value {
    let text = json!({ "type": "string" });
    let rule_amount = json!({ "type": ["string", "integer", "null"], "minimum": 0, "pattern": AMOUNT_PATTERN, "examples": ["50000", "1234.50"], "description": "A plain decimal (at most 4 places) or a whole number." });
    let _ = vocab;
    let opt_text = json!({ "type": ["string", "null"] });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": text, "field": opt_text, "fields": { "type": "array", "items": text }, "order": { "$ref": "#/components/schemas/Order" } }
        },
        "Status": { "type": "string", "enum": ["pending", "calling", "confirmed", "cancelled", "flagged"] },
        "Customer": {
            "type": "object", "required": ["kind"], "additionalProperties": false,
            "properties": { "kind": { "type": "string", "enum": ["new", "returning", "platform_returning"] } }
        },
        "NewOrder": {
            "type": "object", "required": ["id", "phone", "amount", "currency", "customer"], "additionalProperties": false,
            "properties": {
                "id": { "type": "string", "minLength": 1, "maxLength": 128, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$", "examples": ["A-1001", "shop/42"] },
                "phone": { "type": "string", "pattern": "^\\+?[0-9]{1,20}$", "description": "Digits with an optional leading +, at most 20.", "examples": ["03001234567", "+923001234567"] },
                "amount": { "type": ["string", "number"], "pattern": "^[0-9]+(\\.[0-9]{1,4})?$", "description": "Exact decimal with at most the currency's ISO 4217 decimal places (PKR 2, JPY 0, KWD 3); more places are a 422 naming `amount`. A JSON number is read from its literal text. Returned as sent.", "examples": ["1234.50", "7"] },
                "currency": { "type": "string", "pattern": "^[A-Z]{3}$", "description": "An ISO 4217 code with a minor unit, e.g. PKR; any other is a 422 naming `currency`.", "examples": ["PKR", "EUR"] },
                "customer": { "$ref": "#/components/schemas/Customer" },
                "items": { "type": ["array", "null"], "description": "Free-form line items, stored as given.", "items": {} },
                "locale": { "type": ["string", "null"], "minLength": 1, "maxLength": 35, "pattern": "^[A-Za-z0-9_-]+$", "examples": ["en", "ur-PK"] },
                "timezone": { "type": ["string", "null"], "description": "IANA zone of the buyer.", "examples": ["Asia/Karachi", "UTC"] },
                "project": { "type": ["string", "null"], "pattern": "^[A-Za-z0-9_-]{1,64}$", "default": "default", "description": "Shop or brand; call modes are per project.", "examples": ["default", "shop_2"] },
                "store": { "type": ["string", "null"], "minLength": 1, "maxLength": 100, "pattern": "\\S", "description": "Store name spoken in the greeting (rendered by TTS when the order arrives); default [merchant] name." },
                "number": { "type": ["string", "null"], "minLength": 1, "maxLength": 32, "pattern": "\\S", "description": "Order reference the customer knows; its digits are read one by one. Default: the id." },
                "delivery_fee": { "type": ["string", "number", "null"], "pattern": "^[0-9]+(\\.[0-9]{1,4})?$", "description": "Delivery fee included in amount; same rules as amount, in the order's currency (a JSON number is read from its literal).", "examples": ["150.00"] },
                "customer_name": { "type": ["string", "null"], "minLength": 1, "maxLength": 200, "pattern": "\\S", "description": "Personal data: stored and returned, never logged at info level." },
                "address": { "type": ["string", "null"], "minLength": 1, "maxLength": 500, "pattern": "\\S", "description": "Delivery address, free text (line breaks allowed). Never logged at info level." },
                "notes": { "type": ["string", "null"], "minLength": 1, "maxLength": 2000, "pattern": "\\S", "description": "Free text for operators." }
            }
        },
        "Order": {
            "type": "object",
            "properties": {
                "id": text, "phone": text, "amount": text, "currency": text,
                "customer": { "$ref": "#/components/schemas/Customer" },
                "items": { "type": "array", "items": { "type": "object" } },
                "locale": opt_text, "timezone": opt_text,
                "status": { "type": "string", "description": "The order's one status: built-in (pending: created, first call not yet due; calling: a call is claimed or retries are scheduled; confirmed, cancelled, flagged) or a configured [[dialer.statuses]] name." },
                "project": text,
                "store": opt_text, "number": text, "delivery_fee": opt_text,
                "customer_name": opt_text, "address": opt_text, "notes": opt_text,
                "preparation_error": { "type": ["string", "null"], "description": "Why the call's spoken text could not be prepared (e.g. a name the TTS engine cannot render); the order is kept and not called." },
                "dialer": { "oneOf": [{ "$ref": "#/components/schemas/Placement" }, { "type": "null" }], "description": "Where the order sits in dial-up; null when in none." },
                "created_at": { "type": "string", "format": "date-time" },
                "updated_at": { "type": "string", "format": "date-time" }
            }
        },
        "Attempt": {
            "type": "object",
            "properties": {
                "attempt_no": { "type": "integer" },
                "state": { "type": "string", "enum": ["due", "live", "done"] },
                "scheduled_at": { "type": "string", "format": "date-time" },
                "time": { "type": ["string", "null"], "format": "date-time", "description": "When the call started." },
                "finished_at": { "type": ["string", "null"], "format": "date-time" },
                "trunk": opt_text,
                "sip_status": { "type": ["integer", "null"] },
                "result": { "type": ["string", "null"], "description": "confirmed, cancelled, no_input, hangup, no_answer, busy, rejected, failed, operator (pressed 3 for a person)" },
                "digits": opt_text,
                "duration_ms": { "type": ["integer", "null"] },
                "error": opt_text,
                "kind": { "type": "string", "enum": ["outbound", "inbound"], "description": "outbound: a robo-call; inbound: the customer called back (numbered from 1001)." }
            }
        },
        "StatusChange": {
            "type": "object",
            "properties": { "from": opt_text, "to": text, "reason": text, "at": { "type": "string", "format": "date-time" } }
        },
        "OrderDetail": {
            "allOf": [
                { "$ref": "#/components/schemas/Order" },
                { "type": "object", "properties": {
                    "attempts": { "type": "array", "items": { "$ref": "#/components/schemas/Attempt" } },
                    "history": { "type": "array", "items": { "$ref": "#/components/schemas/StatusChange" } }
                } }
            ]
        },
        "OrderPage": {
            "type": "object",
            "properties": { "orders": { "type": "array", "items": { "$ref": "#/components/schemas/Order" } }, "next_cursor": opt_text }
        },
        "Decision": {
            "type": "object", "required": ["decision"], "additionalProperties": false,
            "properties": {
                "decision": { "type": "string", "enum": ["confirm", "cancel"] },
                "by": { "type": ["string", "null"], "maxLength": 128, "pattern": PRINTABLE, "description": "Who decided; default `api`." },
                "note": { "type": ["string", "null"], "maxLength": 2000, "pattern": PRINTABLE }
            }
        },
        "Campaign": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "unmatched": { "type": "string", "enum": ["call", "confirm", "flag"], "default": "confirm" },
                "flag_above": { "type": "object", "additionalProperties": false, "properties": { "new": rule_amount, "returning": rule_amount, "platform_returning": rule_amount } },
                "rules": { "type": ["array", "null"], "items": { "type": "object", "additionalProperties": false, "properties": {
                    "kinds": { "type": ["array", "null"], "minItems": 1, "items": { "type": "string", "enum": ["new", "returning", "platform_returning"] }, "description": "Null or absent: every kind; an empty list could never match and is a 422." },
                    "min_amount": rule_amount, "max_amount": rule_amount,
                    "action": { "type": "string", "enum": ["call", "confirm", "flag"] }
                } }, "description": "First match wins; min_amount inclusive, max_amount exclusive (a rule whose max is not above its min is a 422 naming it)." }
            }
        },
        "Rules": {
            "type": "object",
            "properties": { "campaign": { "$ref": "#/components/schemas/Campaign" }, "calling": { "type": "object" }, "persisted": { "type": "boolean" } }
        }
    })
}
