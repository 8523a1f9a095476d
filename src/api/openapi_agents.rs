//! The OpenAPI description of the agent-state routes (issue #10), merged
//! into `GET /openapi.json` by `openapi.rs` (split out to keep that file short).

use serde_json::{json, Value};

use super::bodies::MAX_NOTE_CHARS;
use super::vocabulary::Vocabulary;

/// Issue #10's routes (an agent's own token, or a merchant's).
///
/// The response builders come in as arguments so this file needs nothing
/// from `openapi.rs`, which includes it (no import cycle).
pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
) -> Value {
    let not_found = error_response("No such agent (or another agent's, for an agent token).");
    let unavailable = error_response("The daemon runs no agents' floor.");
    json!({
        "/v1/agents/{id}": {
            "get": {
                "operationId": "getAgent",
                "summary": "An agent with its state, time in state, current call and today's seconds per state.",
                "parameters": id_param,
                "responses": { "200": json_response("The agent, with `pause_codes` and `dispositions` (arrays of strings): the configured [operators] lists the console offers.", "Agent"), "401": unauthorized, "404": not_found, "503": unavailable }
            }
        },
        "/v1/agents/{id}/state": {
            "put": {
                "operationId": "setAgentState",
                "summary": "Go ready, or pause with a configured pause code. Setting the state the agent is in changes nothing (200).",
                "parameters": id_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/AgentStateChange" } } } },
                "responses": {
                    "200": json_response("The agent after the change.", "Agent"),
                    "400": error_response("The body is not JSON."), "422": error_response("A field is missing or invalid (a pause code not in [operators] pause_codes, a state other than ready/paused); `field` names it."),
                    "401": unauthorized, "404": not_found,
                    "409": error_response("The rules refuse it now (`field`: state): the agent is offline or connecting, on a call, or owes a disposition."),
                    "503": unavailable
                }
            }
        },
        "/v1/agents/{id}/events": {
            "get": {
                "operationId": "agentEvents",
                "summary": "Server-Sent Events: `state` (the agent, as GET /v1/agents/{id}) on connect, then one `state` per transition (AgentTransition); `: keep-alive` every 15 s.",
                "parameters": id_param,
                "responses": {
                    "200": { "description": "An event stream.", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
                    "401": unauthorized, "404": not_found, "503": unavailable
                }
            }
        },
        "/v1/agents/{id}/preview": {
            "post": {
                "operationId": "decidePreview",
                "summary": "Preview pacing: the agent's answer to the order offered (`offer` on GET /v1/agents/{id}). `call` dials it into the agent's session under the offer's call_id (the agent stays reserved until the customer connects or the call fails); `skip` returns it to its place in the queue without an attempt, not offered to this agent again until the mode's put_off, and the agent is ready for the next order.",
                "parameters": id_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PreviewDecision" } } } },
                "responses": {
                    "200": json_response("Carried out: the offer with `action`.", "PreviewDone"),
                    "400": error_response("The body is not JSON."), "422": error_response("A field is missing or invalid (action not call/skip, call_id missing, unknown field); `field` names it."),
                    "401": unauthorized, "404": not_found,
                    "409": error_response("No order is offered to the agent, or the offer now standing has another call_id (`field`: call_id): a late or double click acts on nothing."),
                    "503": error_response("The call-mode queue or operator dialer is not running, or the call could not be placed (the order went back to its queue).")
                }
            }
        },
        "/v1/calls/{id}/disposition": {
            "post": {
                "operationId": "postCallDisposition",
                "summary": "Record the agent's disposition of a call; an agent in wrap-up for it goes back to ready. A call the operator dialer placed for a queued order also settles that order in its mode (the disposition's target status, no_answer's put-off, a callback booked); posting again corrects the call's record but moves the order no further.",
                "parameters": id_param,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewDisposition" } } } },
                "responses": {
                    "200": json_response("Recorded.", "Disposition"),
                    "400": error_response("The body is not JSON."), "422": error_response("A field is missing or invalid (a disposition not in [operators] dispositions or not a button of the order's mode, callback_same_agent not a boolean, pause_code not one of [operators] pause_codes, callback_at not a future RFC 3339 time or missing for `callback`, note too long); `field` names it."),
                    "401": unauthorized,
                    "404": error_response("No such call (or another agent's)."),
                    "503": unavailable
                }
            }
        }
    })
}

pub(super) fn schemas(vocab: &Vocabulary) -> Value {
    let seconds = json!({ "type": "integer", "minimum": 0 });
    let state = json!({ "type": "string", "enum": ["offline", "connecting", "paused", "ready", "reserved", "in_call", "wrap_up"] });
    let opt_text = json!({ "type": ["string", "null"] });
    let time = json!({ "type": "string", "format": "date-time" });
    json!({
        "AgentState": state,
        "AgentToday": {
            "type": "object", "required": ["paused", "waiting", "talking", "wrap_up"],
            "description": "Seconds today (midnight in [operators] timezone): waiting is ready; talking is reserved or in a call.",
            "properties": { "paused": seconds, "waiting": seconds, "talking": seconds, "wrap_up": seconds }
        },
        "AgentStateChange": {
            "type": "object", "required": ["state"], "additionalProperties": false,
            "properties": {
                "state": { "type": "string", "enum": ["ready", "paused"] },
                "pause_code": Vocabulary::names(&vocab.pause_codes)
            },
            "if": { "properties": { "state": { "const": "paused" } } },
            "then": { "required": ["pause_code"] },
            "else": { "not": { "required": ["pause_code"] } },
            "description": "pause_code: required with paused, refused with ready; one of [operators] pause_codes."
        },
        "AgentTransition": {
            "type": "object", "required": ["agent_id", "state", "from", "reason", "state_since"],
            "properties": {
                "agent_id": { "type": "string" },
                "state": { "$ref": "#/components/schemas/AgentState" },
                "from": { "$ref": "#/components/schemas/AgentState" },
                "reason": { "type": "string", "enum": ["login", "leg_answered", "leg_ended", "set_ready", "pause", "reserve", "release", "customer_connected", "customer_ended", "customer_ended_before_agent_spoke", "disposition", "wrap_up_timeout", "logout", "restart"] },
                "pause_code": opt_text, "call_id": opt_text, "state_since": time,
                "offer": { "oneOf": [{ "$ref": "#/components/schemas/PreviewOffer" }, { "type": "null" }], "description": "On a transition to reserved: the order offered in preview, or null (a progressive call)." }
            }
        },
        "PreviewOffer": {
            "type": "object", "required": ["call_id", "order_id", "mode", "subqueue", "attempt", "reason", "offered_at", "order"],
            "description": "An order offered to a reserved agent in a preview mode, before Call or Skip.",
            "properties": {
                "call_id": { "type": "string", "description": "The id the call carries if placed; the agent is reserved under it." },
                "order_id": { "type": "string" }, "mode": { "type": "string" },
                "subqueue": { "type": "string", "enum": ["unprocessed", "no_answer", "callback"] },
                "attempt": { "type": "integer", "minimum": 1, "description": "This call's number in the mode if placed." },
                "reason": { "type": "string", "enum": ["callback_for_agent", "callback_for_anyone", "unprocessed", "no_answer_due"] },
                "offered_at": time,
                "order": { "type": ["object", "null"], "description": "The order (as GET /v1/orders/{id}) with its `attempts`." }
            }
        },
        "PreviewDecision": {
            "type": "object", "required": ["action", "call_id"], "additionalProperties": false,
            "properties": {
                "action": { "type": "string", "enum": ["call", "skip"] },
                "call_id": { "type": "string", "description": "The offer's call_id, as the agent saw it." }
            }
        },
        "PreviewDone": {
            "type": "object", "required": ["action", "call_id", "order_id", "mode", "subqueue", "attempt", "reason", "offered_at"],
            "properties": {
                "action": { "type": "string", "enum": ["call", "skip"] },
                "call_id": { "type": "string" }, "order_id": { "type": "string" }, "mode": { "type": "string" },
                "subqueue": { "type": "string", "enum": ["unprocessed", "no_answer", "callback"] },
                "attempt": { "type": "integer", "minimum": 1 },
                "reason": { "type": "string" }, "offered_at": time
            }
        },
        "NewDisposition": {
            "type": "object", "required": ["disposition"], "additionalProperties": false,
            "properties": {
                "disposition": Vocabulary::names(&vocab.dispositions),
                "callback_at": { "type": ["string", "null"], "format": "date-time", "description": "When to call back; in the future (a past time is a 422); required with `callback`." },
                "pause_code": Vocabulary::names_or_null(&vocab.pause_codes),
                "callback_same_agent": { "type": ["boolean", "null"], "description": "With `callback` on a dialled order: only this agent gets it (default false: anyone working the mode)." },
                "note": { "type": ["string", "null"], "maxLength": MAX_NOTE_CHARS }
            },
            "if": { "properties": { "disposition": { "const": "callback" } } },
            "then": { "required": ["callback_at"], "properties": { "callback_at": { "type": "string" } } },
            "description": "pause_code: dispose and pause (an agent in wrap-up for this call goes straight to paused with this code, so no customer is handed over in between)."
        },
        "Disposition": {
            "type": "object", "required": ["call_id", "agent_id", "disposition", "disposed_at", "agent_state"],
            "properties": {
                "call_id": { "type": "string" }, "agent_id": { "type": "string" }, "disposition": { "type": "string" },
                "callback_at": { "type": ["string", "null"], "format": "date-time" }, "note": opt_text,
                "disposed_at": time,
                "agent_state": { "$ref": "#/components/schemas/AgentState" }
            }
        }
    })
}
