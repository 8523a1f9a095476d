//! The OpenAPI description of the call-mode routes (issue #11), merged into
//! `GET /openapi.json` by `openapi.rs` (split out to keep that file short).

use serde_json::{json, Value};

use super::dialer::MAX_QUEUE_PAGE;

/// Issue #11's routes (merchant tokens only).
///
/// The response builders come in as arguments so this file needs nothing
/// from `openapi.rs`, which includes it (no import cycle).
pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
) -> Value {
    let bad_field =
        error_response("A field or query parameter is missing or invalid, or the body is not JSON; `field` names it.");
    let forbidden = error_response("An agent token (these routes are the merchant's).");
    let unavailable = error_response("The daemon runs no call-mode queue.");
    let mode_missing = error_response("No such mode in [[dialer.modes]].");
    let query = |name: &str, schema: Value, description: &str| json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema });
    json!({
        "/v1/orders/{id}/status": {
            "put": {
                "operationId": "setOrderStatus",
                "summary": "Move an order to a status: a ticked one puts it in its mode's unprocessed sub-queue, any other takes it out of dial-up.",
                "parameters": id_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/StatusUpdate" } } } },
                "responses": {
                    "200": json_response("The order after the move.", "Order"),
                    "400": bad_field, "401": unauthorized, "403": forbidden,
                    "404": error_response("No such order."), "503": unavailable,
                }
            }
        },
        "/v1/dialer/overview": {
            "get": {
                "operationId": "dialerOverview",
                "summary": "The admin table: each mode of each project with its sub-queue counts and agents.",
                "responses": { "200": json_response("Every configured mode.", "DialerOverview"), "401": unauthorized, "403": forbidden, "503": unavailable }
            }
        },
        "/v1/dialer/queue": {
            "get": {
                "operationId": "dialerQueue",
                "summary": "Orders in line, in dial order, each with why it stands there.",
                "parameters": [
                    query("mode", json!({ "type": "string" }), "A configured mode id."),
                    query("project", json!({ "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" }), "Only this project's orders."),
                    query("subqueue", json!({ "$ref": "#/components/schemas/Subqueue" }), "Only this sub-queue."),
                    query("limit", json!({ "type": "integer", "minimum": 1, "maximum": MAX_QUEUE_PAGE, "default": MAX_QUEUE_PAGE }), "At most this many orders."),
                ],
                "responses": { "200": json_response("The line.", "DialerQueue"), "400": bad_field, "401": unauthorized, "403": forbidden, "503": unavailable }
            }
        },
        "/v1/dialer/modes/{id}": {
            "get": {
                "operationId": "getDialerMode",
                "summary": "A mode's settings (the config with changes made over the API), live operator access and counts.",
                "parameters": id_param,
                "responses": { "200": json_response("The mode.", "DialerMode"), "401": unauthorized, "403": forbidden, "404": mode_missing, "503": unavailable }
            },
            "put": {
                "operationId": "setDialerModeSettings",
                "summary": "Change some of a mode's settings (keys left out keep their value), checked exactly as [[dialer.modes]] in the config; stored, so a restart keeps it. A lowered cap moves orders at it to status_after_max.",
                "parameters": id_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ModeSettingsUpdate" } } } },
                "responses": {
                    "200": json_response("The mode after the change.", "DialerMode"),
                    "400": bad_field, "401": unauthorized, "403": forbidden, "404": mode_missing, "503": unavailable,
                }
            }
        },
        "/v1/dialer/statuses": {
            "get": {
                "operationId": "dialerStatuses",
                "summary": "Every known status (built-in and [[dialer.statuses]]) with its \"add to dial-up automatically\" ticks per project.",
                "responses": { "200": json_response("The statuses.", "DialerStatuses"), "401": unauthorized, "403": forbidden, "503": unavailable }
            }
        },
        "/v1/dialer/statuses/{name}": {
            "put": {
                "operationId": "setDialerStatusTick",
                "summary": "Tick a status into a mode (for that mode's project) or clear its tick for a project; orders already in the status follow at once; stored, so a restart keeps it.",
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TickUpdate" } } } },
                "responses": {
                    "200": json_response("Every status after the change.", "DialerStatuses"),
                    "400": bad_field, "401": unauthorized, "403": forbidden,
                    "404": error_response("No such status."), "503": unavailable,
                }
            }
        },
        "/v1/dialer/modes/{id}/stats": {
            "get": {
                "operationId": "getDialerModeStats",
                "summary": "The mode's predictive pacer: dial level, forecast answer rate, 30-day abandon rate and its margin to the legal 3 %, today's lines (issue #12).",
                "parameters": id_param,
                "responses": { "200": json_response("The pacer's figures.", "PacerStats"), "401": unauthorized, "403": forbidden, "404": mode_missing, "503": unavailable }
            }
        },
        "/v1/dialer/modes/{id}/agents": {
            "put": {
                "operationId": "setDialerModeAgents",
                "summary": "Replace who may work the mode; stored, so a restart keeps it.",
                "parameters": id_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ModeAgents" } } } },
                "responses": {
                    "200": json_response("The mode after the change.", "DialerMode"),
                    "400": bad_field, "401": unauthorized, "403": forbidden, "404": mode_missing, "503": unavailable,
                }
            }
        }
    })
}

pub(super) fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let count = json!({ "type": "integer", "minimum": 0 });
    let agents = json!({ "type": "array", "items": { "type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$" } });
    json!({
        "Subqueue": { "type": "string", "enum": ["unprocessed", "no_answer", "callback"] },
        "Placement": {
            "type": "object", "required": ["mode", "subqueue"],
            "properties": { "mode": text, "subqueue": { "$ref": "#/components/schemas/Subqueue" } }
        },
        "StatusUpdate": {
            "type": "object", "required": ["status"], "additionalProperties": false,
            "properties": { "status": { "type": "string", "description": "Built-in or configured status name." } }
        },
        "ModeSettingsUpdate": {
            "type": "object", "additionalProperties": false, "minProperties": 1,
            "description": "Any of the contract's per-mode settings; each is validated as in the config, and a refusal names its field.",
            "properties": {
                "pacing": { "type": "string", "enum": ["preview", "progressive", "predictive"] },
                "priority": { "type": "integer" },
                "high_priority_new": { "type": "boolean" },
                "standard_time": { "type": ["string", "number"], "description": "\"3m\" as in the config, or minutes; at most 4h." },
                "put_off": { "type": ["string", "number"], "description": "\"30m\" as in the config, or minutes; at most 30 days." },
                "max_attempts": { "type": "integer", "minimum": 1, "maximum": 100 },
                "status_after_max": { "type": "string", "description": "A known status, not ticked back into this mode." },
                "random_share": { "type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "Kind random only." },
                "dispositions": { "type": "array", "items": text, "description": "The base four plus up to two extra, each extra mapped in [dialer.disposition_status]." },
                "window": { "type": "string", "description": "HH:MM-HH:MM." },
                "timezone": { "type": "string", "description": "IANA zone for orders without one." }
            }
        },
        "TickUpdate": {
            "type": "object", "required": ["mode"], "additionalProperties": false,
            "properties": {
                "mode": { "type": ["string", "null"], "description": "The mode orders entering the status join; null clears the tick." },
                "project": { "type": "string", "description": "Default: the mode's project, or \"default\" when clearing." }
            }
        },
        "DialerStatuses": {
            "type": "object", "required": ["statuses"],
            "properties": { "statuses": { "type": "array", "items": {
                "type": "object", "required": ["name", "ticks"],
                "properties": {
                    "name": text,
                    "ticks": { "type": "array", "items": { "type": "object", "required": ["project", "mode"], "properties": { "project": text, "mode": text } } }
                }
            } } }
        },
        "PacerStats": {
            "type": "object",
            "required": ["mode", "dial_level", "forecast_answer_rate", "answered_30d", "abandoned_30d", "abandon_pct_30d", "abandon_cap_pct", "margin_to_cap_pct", "allowed_abandon_pct", "forecast_bias", "occupancy", "today"],
            "properties": {
                "mode": text,
                "dial_level": { "type": "number", "minimum": 0, "description": "Lines up per active agent after the last decision." },
                "forecast_answer_rate": { "type": "number", "minimum": 0, "maximum": 1, "description": "Forecast live-answer probability this hour." },
                "answered_30d": count, "abandoned_30d": count,
                "abandon_pct_30d": { "type": "number", "description": "Abandons per live answer over the rolling 30 days, percent." },
                "abandon_cap_pct": { "type": "number", "description": "The mode's configured cap, percent (at most 3)." },
                "margin_to_cap_pct": { "type": "number", "description": "3 % minus the 30-day rate, percentage points." },
                "allowed_abandon_pct": { "type": "number", "description": "The rate the 30-day budget allows right now, percent." },
                "forecast_bias": { "type": "number", "description": "Real abandons per forecast abandon, learned online." },
                "occupancy": { "type": ["number", "null"], "minimum": 0, "maximum": 1, "description": "Today's share of the mode's agents' logged-in time (paused included) spent with a customer or in wrap-up; null before anyone logged in." },
                "today": {
                    "type": "object", "required": ["placed", "answered", "abandoned"],
                    "properties": { "placed": count, "answered": count, "abandoned": count }
                }
            }
        },
        "ModeAgents": {
            "type": "object", "required": ["agents"], "additionalProperties": false,
            "properties": { "agents": agents }
        },
        "ModeCounts": {
            "type": "object", "required": ["unprocessed", "no_answer", "callback"],
            "properties": { "unprocessed": count, "no_answer": count, "callback": count, "in_flight": count }
        },
        "ModeOverview": {
            "type": "object", "required": ["id", "project", "kind", "counts", "agents"],
            "properties": {
                "id": text, "project": text,
                "kind": { "type": "string", "enum": ["new_leads", "reconfirmation", "before_buyout", "random"] },
                "counts": { "$ref": "#/components/schemas/ModeCounts" },
                "agents": agents
            }
        },
        "DialerOverview": {
            "type": "object", "required": ["modes"],
            "properties": { "modes": { "type": "array", "items": { "$ref": "#/components/schemas/ModeOverview" } } }
        },
        "DialerMode": {
            "allOf": [
                { "$ref": "#/components/schemas/ModeOverview" },
                { "type": "object", "properties": { "settings": { "type": "object", "properties": {
                    "pacing": { "type": "string", "enum": ["preview", "progressive", "predictive"] },
                    "priority": { "type": "integer" },
                    "high_priority_new": { "type": "boolean" },
                    "standard_time": { "type": "string", "description": "As the config spells it, e.g. \"3m\"." },
                    "standard_time_minutes": { "type": "number" },
                    "put_off": { "type": "string", "description": "As the config spells it, e.g. \"30m\"." },
                    "put_off_minutes": { "type": "number" },
                    "max_attempts": { "type": "integer" },
                    "status_after_max": text,
                    "random_share": { "type": ["number", "null"] },
                    "dispositions": { "type": "array", "items": text },
                    "window": { "type": "string", "description": "HH:MM-HH:MM in the mode's zone." },
                    "timezone": text
                } } } }
            ]
        },
        "QueueItem": {
            "type": "object", "required": ["order_id", "mode", "subqueue", "due_at", "attempts", "reason"],
            "properties": {
                "order_id": text, "mode": text, "project": text,
                "subqueue": { "$ref": "#/components/schemas/Subqueue" },
                "due_at": { "type": "string", "format": "date-time", "description": "When it can next be dialled (window opening included)." },
                "attempts": count,
                "priority": { "type": "integer" },
                "callback_agent": { "type": ["string", "null"] },
                "reason": { "type": "string", "enum": ["callback_for_agent", "callback_for_anyone", "unprocessed", "no_answer_due", "put_off", "callback_later", "outside_window"] }
            }
        },
        "DialerQueue": {
            "type": "object", "required": ["orders"],
            "properties": { "orders": { "type": "array", "items": { "$ref": "#/components/schemas/QueueItem" } } }
        }
    })
}
