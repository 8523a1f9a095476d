//! `GET /openapi.json`: the OpenAPI 3.1 description of this API.
//!
//! Written by hand as JSON (see `docs/decisions.md`): our handlers parse
//! bodies by hand to name the field at fault, so utoipa's derive macros would
//! describe types we do not deserialize with. A test deserializes this
//! document into utoipa's OpenAPI model and checks it against [`ROUTES`],
//! the list the router is built from, so an undocumented route fails CI.

use axum::Json;
use serde_json::{json, Value};

use super::BODY_LIMIT;

/// Every route as (method, path) in OpenAPI path syntax.
pub const ROUTES: [(&str, &str); 9] = [
    ("post", "/v1/orders"),
    ("get", "/v1/orders"),
    ("get", "/v1/orders.csv"),
    ("get", "/v1/orders/{id}"),
    ("post", "/v1/orders/{id}/decision"),
    ("get", "/v1/rules"),
    ("put", "/v1/rules"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
];

pub(crate) async fn serve() -> Json<Value> {
    Json(document())
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn json_response(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn list_params(with_paging: bool) -> Value {
    let mut p = vec![
        json!({ "name": "status", "in": "query", "required": false, "schema": { "$ref": "#/components/schemas/Status" } }),
        json!({ "name": "from", "in": "query", "required": false, "description": "Created at or after: RFC 3339 or epoch ms.", "schema": { "type": "string" } }),
        json!({ "name": "to", "in": "query", "required": false, "description": "Created before: RFC 3339 or epoch ms.", "schema": { "type": "string" } }),
    ];
    if with_paging {
        p.push(json!({ "name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page.", "schema": { "type": "string" } }));
        p.push(json!({ "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 500, "default": 50 } }));
    }
    Value::Array(p)
}

/// The document (also used by tests).
pub fn document() -> Value {
    let id_param =
        json!([{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }]);
    let unauthorized =
        error_response("Missing or wrong bearer token (`WWW-Authenticate: Bearer`).");
    let invalid = error_response("A field is missing or invalid; `field` names it.");
    let malformed =
        error_response("The body is not JSON, or a query parameter is invalid; `field` names it.");
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "orderline merchant API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!("Orders for confirmation calls, their outcomes, campaign rules. Bodies up to {BODY_LIMIT} bytes. Errors are `{{\"error\", \"field\"}}`."),
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
                    "parameters": list_params(true),
                    "responses": { "200": json_response("One page.", "OrderPage"), "400": malformed, "401": unauthorized }
                }
            },
            "/v1/orders.csv": {
                "get": {
                    "operationId": "exportOrders",
                    "summary": "Every order matching the filter as RFC 4180 CSV (streamed).",
                    "parameters": list_params(false),
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
                    "summary": "Replace [campaign] for the running daemon (not persisted: a restart reloads the config file).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["campaign"], "properties": { "campaign": { "$ref": "#/components/schemas/Campaign" } } } } } },
                    "responses": { "200": json_response("Rules now in force.", "Rules"), "400": malformed, "401": unauthorized, "422": invalid }
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
            "schemas": schemas(),
        }
    })
}

fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let opt_text = json!({ "type": ["string", "null"] });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": text, "field": opt_text, "fields": { "type": "array", "items": text }, "order": { "$ref": "#/components/schemas/Order" } }
        },
        "Status": { "type": "string", "enum": ["pending", "calling", "confirmed", "cancelled", "flagged"] },
        "Customer": {
            "type": "object", "required": ["kind"],
            "properties": { "kind": { "type": "string", "enum": ["new", "returning", "platform_returning"] } }
        },
        "NewOrder": {
            "type": "object", "required": ["id", "phone", "amount", "currency", "customer"],
            "properties": {
                "id": text,
                "phone": { "type": "string", "description": "Digits with an optional leading +." },
                "amount": { "type": "string", "description": "Exact decimal, at most 4 places; a JSON number is read from its literal text.", "example": "1234.50" },
                "currency": { "type": "string", "description": "ISO 4217, e.g. PKR." },
                "customer": { "$ref": "#/components/schemas/Customer" },
                "items": { "type": "array", "items": { "type": "object" } },
                "locale": opt_text,
                "timezone": { "type": ["string", "null"], "description": "IANA zone of the buyer." }
            }
        },
        "Order": {
            "type": "object",
            "properties": {
                "id": text, "phone": text, "amount": text, "currency": text,
                "customer": { "$ref": "#/components/schemas/Customer" },
                "items": { "type": "array", "items": { "type": "object" } },
                "locale": opt_text, "timezone": opt_text,
                "status": { "$ref": "#/components/schemas/Status" },
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
                "result": { "type": ["string", "null"], "description": "confirmed, cancelled, no_input, hangup, no_answer, busy, rejected, failed" },
                "digits": opt_text,
                "duration_ms": { "type": ["integer", "null"] },
                "error": opt_text
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
            "type": "object", "required": ["decision"],
            "properties": { "decision": { "type": "string", "enum": ["confirm", "cancel"] }, "by": text, "note": text }
        },
        "Campaign": {
            "type": "object",
            "properties": {
                "unmatched": { "type": "string", "enum": ["call", "confirm", "flag"] },
                "flag_above": { "type": "object", "properties": { "new": opt_text, "returning": opt_text, "platform_returning": opt_text } },
                "rules": { "type": ["array", "null"], "items": { "type": "object", "properties": {
                    "kinds": { "type": "array", "items": { "type": "string" } },
                    "min_amount": text, "max_amount": text,
                    "action": { "type": "string", "enum": ["call", "confirm", "flag"] }
                } } }
            }
        },
        "Rules": {
            "type": "object",
            "properties": { "campaign": { "$ref": "#/components/schemas/Campaign" }, "calling": { "type": "object" }, "persisted": { "type": "boolean" } }
        }
    })
}
