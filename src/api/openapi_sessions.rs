//! The OpenAPI description of the agent session routes (issue #10), merged
//! into `GET /openapi.json` by `openapi.rs` (split out to keep that file
//! short; the builders come in as arguments, so no import cycle).

use serde_json::{json, Value};

/// `POST`/`GET`/`DELETE /v1/agents/{id}/session` (the agent's own token or
/// a merchant's).
pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
) -> Value {
    let missing = error_response(
        "No such agent (or another agent's, for an agent token), or no session for DELETE/GET.",
    );
    let unavailable = error_response("The daemon runs no call layer.");
    json!({
        "/v1/agents/{id}/session": {
            "post": {
                "operationId": "startAgentSession",
                "summary": "Log the agent in: orderline calls its registered phone (or its sip_uri) once and keeps the leg up with comfort noise; customer calls for the agent are then connected into that leg without ringing.",
                "parameters": id_param,
                "responses": {
                    "201": json_response("The session, connecting.", "AgentSession"),
                    "401": unauthorized, "404": missing,
                    "409": error_response("The agent already has a session."),
                    "422": error_response("The agent has neither a live registration nor a sip_uri; `message` says which."),
                    "503": unavailable,
                }
            },
            "get": {
                "operationId": "getAgentSession",
                "summary": "The agent's session: state, the call connected now, customers served and the last connect latency.",
                "parameters": id_param,
                "responses": {
                    "200": json_response("The session.", "AgentSession"),
                    "401": unauthorized, "404": missing, "503": unavailable,
                }
            },
            "delete": {
                "operationId": "endAgentSession",
                "summary": "Log the agent out: a customer on the line is hung up, then the agent's leg gets a BYE.",
                "parameters": id_param,
                "responses": {
                    "202": json_response("Logging out.", "AgentSession"),
                    "401": unauthorized, "404": missing, "503": unavailable,
                }
            }
        }
    })
}

pub(super) fn schemas() -> Value {
    json!({
        "AgentSession": {
            "type": "object",
            "required": ["agent", "state"],
            "properties": {
                "agent": { "type": "string" },
                "state": { "type": "string", "enum": ["connecting", "up", "in_call", "logging_out"] },
                "target": { "type": "string", "description": "The SIP URI the session called." },
                "call_id": { "type": ["string", "null"], "description": "The customer call connected now." },
                "customers": { "type": "integer", "minimum": 0 },
                "last_connect": {
                    "type": ["object", "null"],
                    "description": "The last customer call's 200 OK to the first agent-leg packet carrying the customer's sound.",
                    "properties": {
                        "call_id": { "type": "string" },
                        "latency_us": { "type": "integer", "minimum": 0 },
                        "first_rtp_us": { "type": ["integer", "null"], "minimum": 0, "description": "The 200 OK to the customer's first RTP packet: the far end's share." }
                    }
                }
            }
        }
    })
}
