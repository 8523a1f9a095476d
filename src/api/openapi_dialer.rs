//! The OpenAPI description of the call-mode routes (issue #11), merged into
//! `GET /openapi.json` by `openapi.rs` (split out to keep that file short).

use serde_json::{json, Value};

use super::dialer::MAX_QUEUE_PAGE;
use super::vocabulary::{Vocabulary, NAME_PATTERN};
use orderline_dialer::modes::config::{MAX_ATTEMPTS_CAP, MAX_EXTRA_DISPOSITIONS};
use orderline_dialer::modes::rules::{BASE_DISPOSITIONS, UPSELL_DISPOSITIONS};

/// Issue #11's routes (merchant tokens only).
///
/// The response builders come in as arguments so this file needs nothing
/// from `openapi.rs`, which includes it (no import cycle).
pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
    vocab: &Vocabulary,
) -> Value {
    let bad_field =
        error_response("A well-formed body with a field missing or invalid; `field` names it.");
    let malformed =
        error_response("The body is not JSON, or a query parameter is invalid; `field` names it.");
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
                    "400": malformed, "422": bad_field, "401": unauthorized, "403": forbidden,
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
                    query("mode", Vocabulary::names(&vocab.modes), "A configured mode id."),
                    query("project", json!({ "type": "string", "pattern": NAME_PATTERN, "examples": ["default", "shop2"] }), "Only this project's orders."),
                    query("subqueue", json!({ "$ref": "#/components/schemas/Subqueue" }), "Only this sub-queue."),
                    query("limit", json!({ "type": "integer", "minimum": 1, "maximum": MAX_QUEUE_PAGE, "default": MAX_QUEUE_PAGE }), "At most this many orders."),
                ],
                "responses": { "200": json_response("The line.", "DialerQueue"), "400": malformed, "401": unauthorized, "403": forbidden, "503": unavailable }
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
                    "400": malformed, "422": bad_field, "401": unauthorized, "403": forbidden, "404": mode_missing, "503": unavailable,
                    "409": error_response("The mode's own setup cannot take the change (`field` names it): random_share on a mode not of kind random, predictive pacing without a safe_harbor, a status_after_max ticked back into this mode, a status_after_max on a mode of kind upsell, dispositions of the other kind (the upsell buttons on another mode, the robo-call's on an upsell mode)."),
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
                "parameters": [{ "name": "name", "in": "path", "required": true, "schema": Vocabulary::names(&vocab.statuses) }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/TickUpdate" } } } },
                "responses": {
                    "200": json_response("Every status after the change.", "DialerStatuses"),
                    "409": error_response("The tick would loop the mode's attempt cap: the status is that mode's status_after_max now; or the mode is of kind upsell and the status is not paid, shipping, shipped or delivered (`field`: mode)."),
                    "400": malformed, "422": bad_field, "401": unauthorized, "403": forbidden,
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
                    "400": malformed, "422": bad_field, "401": unauthorized, "403": forbidden, "404": mode_missing, "503": unavailable,
                }
            }
        }
    })
}

pub(super) fn schemas(vocab: &Vocabulary) -> Value {
    let text = json!({ "type": "string" });
    // A mode's buttons: the base four, each at most once, and up to two
    // more; an upsell mode's base four are its own and exclude
    // confirmed/cancelled (issue #15).
    let contains = |base: &[&str]| -> Vec<Value> {
        base.iter()
            .map(|d| json!({ "contains": { "const": d } }))
            .collect()
    };
    let base = json!({
        "type": "array", "uniqueItems": true, "minItems": BASE_DISPOSITIONS.len(), "maxItems": BASE_DISPOSITIONS.len() + MAX_EXTRA_DISPOSITIONS,
        "items": if vocab.mode_dispositions.is_empty() { json!({ "type": "string", "pattern": NAME_PATTERN }) } else { Vocabulary::names(&vocab.mode_dispositions) },
        "allOf": contains(&BASE_DISPOSITIONS),
        "description": "The base four plus up to two extra, each extra mapped in [dialer.disposition_status]."
    });
    let mode_dispositions = if vocab.upsell_modes {
        let mut upsell = contains(&UPSELL_DISPOSITIONS);
        upsell.push(json!({ "not": { "contains": { "enum": ["confirmed", "cancelled"] } } }));
        let extras: Vec<&str> = UPSELL_DISPOSITIONS
            .iter()
            .copied()
            .chain(["not_now"])
            .collect();
        json!({ "anyOf": [base, {
            "type": "array", "uniqueItems": true, "minItems": UPSELL_DISPOSITIONS.len(), "maxItems": UPSELL_DISPOSITIONS.len() + MAX_EXTRA_DISPOSITIONS,
            "items": { "type": "string", "pattern": NAME_PATTERN, "examples": extras },
            "allOf": upsell,
            "description": "A mode of kind upsell: upsold, declined, callback, no_answer plus up to two extra, never confirmed or cancelled, none mapped to a status (issue #15). A mode's list of the other kind is a 409."
        }] })
    } else {
        base
    };
    let mut status_after_max = Vocabulary::names(&vocab.statuses);
    status_after_max["description"] = json!("Refused (422) on a mode of kind upsell, whose cap takes the order out of dial-up with its status kept.");
    // `min`: "exclusiveMinimum" (longer than zero) or "minimum" (zero allowed).
    let duration = |min: &str, max_minutes: u32, example: &str| {
        json!({
            "type": ["string", "number"],
            "pattern": "^[0-9]+ ?(s|m|h|d)( ?[0-9]+ ?(s|m|h))*$",
            "examples": [example, "1h 30m", 45],
            min: 0, "maximum": max_minutes,
            "description": format!("\"3m\" as in the config (humantime), or minutes; at most {max_minutes} minutes.")
        })
    };
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
            "properties": { "status": Vocabulary::names(&vocab.statuses) }
        },
        "ModeSettingsUpdate": {
            "type": "object", "additionalProperties": false, "minProperties": 1,
            "description": "Any of the contract's per-mode settings; each is validated as in the config, and a refusal names its field. A change the mode's own setup cannot take (random_share on a mode not of kind random, predictive pacing without a safe_harbor, a status_after_max ticked back into this mode, a status_after_max on a mode of kind upsell, dispositions of the other kind of mode) is a 409 naming the field.",
            "properties": {
                "pacing": { "type": "string", "enum": ["preview", "progressive", "predictive"] },
                "priority": { "type": "integer", "minimum": i32::MIN, "maximum": i32::MAX },
                "high_priority_new": { "type": "boolean" },
                "standard_time": duration("exclusiveMinimum", 240, "3m"),
                "put_off": duration("minimum", 43_200, "30m"),
                "max_attempts": { "type": "integer", "minimum": 1, "maximum": MAX_ATTEMPTS_CAP },
                "status_after_max": status_after_max,
                "random_share": { "type": "number", "exclusiveMinimum": 0, "maximum": 1, "description": "Kind random only." },
                "dispositions": mode_dispositions,
                "window": { "type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", "examples": ["09:00-21:00", "10:30-18:45"], "description": "HH:MM-HH:MM." },
                "timezone": { "type": "string", "pattern": "^[A-Za-z_]+(/[A-Za-z0-9_+-]+)*$", "examples": ["Asia/Karachi", "UTC", "Europe/London"], "description": "IANA zone for orders without one." }
            }
        },
        "TickUpdate": tick_update(vocab),
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
                "kind": { "type": "string", "enum": ["new_leads", "reconfirmation", "before_buyout", "random", "upsell"] },
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
                    "status_after_max": { "type": ["string", "null"], "description": "null for a mode of kind upsell: its cap takes the order out of dial-up with its status kept." },
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

/// `PUT /v1/dialer/statuses/{name}`: a mode with its own project (or none),
/// or `null` with any project, one `oneOf` branch per configured mode.
fn tick_update(vocab: &Vocabulary) -> Value {
    let clear = json!({
        "type": "object", "required": ["mode"], "additionalProperties": false,
        "properties": {
            "mode": { "type": "null", "description": "Clear the tick." },
            "project": { "type": ["string", "null"], "pattern": NAME_PATTERN, "examples": ["default", "shop2"], "description": "Default: \"default\"." }
        }
    });
    if vocab.modes.is_empty() {
        return json!({ "oneOf": [clear] });
    }
    let mut branches: Vec<Value> = vocab
        .modes
        .iter()
        .zip(&vocab.mode_projects)
        .map(|(mode, project)| json!({
            "type": "object", "required": ["mode"], "additionalProperties": false,
            "properties": {
                "mode": { "type": "string", "const": mode, "description": "The mode orders entering the status join." },
                "project": { "type": ["string", "null"], "enum": [project, null], "description": "The mode's own project (the default)." }
            }
        }))
        .collect();
    branches.push(clear);
    json!({ "oneOf": branches })
}
