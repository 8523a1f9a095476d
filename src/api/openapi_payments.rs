//! The OpenAPI description of agents, agent-bridged calls and keypad
//! payments (issue #5), merged into `GET /openapi.json` by `openapi.rs`
//! (split out to keep that file short; the response builders come in as
//! arguments, so no import cycle).

use serde_json::{json, Value};

use super::vocabulary::{NAME_PATTERN, PRINTABLE};

/// Issue #5: agents, agent calls, payments.
pub(super) fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let agent_id =
        json!({ "type": "string", "pattern": NAME_PATTERN, "examples": ["ayesha", "a_2"] });
    let agent_name = json!({ "type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$", "examples": ["Ayesha Khan"] });
    let opt_text = json!({ "type": ["string", "null"] });
    let srtp = json!({ "type": "string", "enum": ["off", "optional", "required"], "default": "off",
        "description": "SDES-SRTP (RFC 4568) on the agent's leg, as [[agents]] srtp: off (plain RTP), optional (offered, plain if declined), required (RTP/SAVP only; a phone without SRTP gets no call). The keys travel in the SDP, so give the phone a TLS path (sip_uri with ;transport=tls, or a phone registering over TLS)." });
    json!({
        "NewAgent": {
            "description": "Give sip_uri (a phone at a fixed address) or sip_user + sip_password (a phone that registers), not both.",
            "oneOf": [
                { "type": "object", "required": ["id", "name", "sip_uri"], "additionalProperties": false,
                  "properties": { "id": agent_id.clone(), "name": agent_name.clone(),
                    "sip_uri": { "type": "string", "pattern": "^sips?:", "examples": ["sip:ayesha@127.0.0.1:5080", "sip:1001@192.0.2.10"] },
                    "srtp": srtp.clone() } },
                { "type": "object", "required": ["id", "name", "sip_user", "sip_password"], "additionalProperties": false,
                  "properties": { "id": agent_id, "name": agent_name,
                    "sip_user": { "type": "string", "pattern": "^[A-Za-z0-9._!~*'+-]{1,64}$", "description": "Digest user name the phone registers with.", "examples": ["1001", "ayesha.k"] },
                    "sip_password": { "type": "string", "minLength": 8, "pattern": PRINTABLE, "description": "Shown once in the 201; stored only as HA1 hashes (MD5, SHA-256).", "examples": ["phone-pass-7f3a9c"] },
                    "srtp": srtp } }
            ]
        },
        "Agent": {
            "type": "object",
            "properties": { "id": text, "name": text, "sip_uri": text, "source": { "type": "string", "enum": ["config", "api"] },
                "srtp": { "type": "string", "enum": ["off", "optional", "required"], "description": "SDES-SRTP on the agent's leg ([[agents]] srtp, or srtp at creation)." },
                "state": { "$ref": "#/components/schemas/AgentState" },
                "pause_code": { "type": ["string", "null"] },
                "call_id": { "type": ["string", "null"], "description": "The call the agent is reserved for, on, or wrapping up." },
                "state_since": { "type": "string", "format": "date-time" },
                "seconds_in_state": { "type": "integer", "minimum": 0 },
                "today": { "$ref": "#/components/schemas/AgentToday" },
                "pause_codes": { "type": "array", "items": text, "description": "GET /v1/agents/{id} only: the configured [operators] pause_codes." },
                "dispositions": { "type": "array", "items": text, "description": "GET /v1/agents/{id} only: the configured [operators] dispositions." },
                "offer": { "oneOf": [{ "$ref": "#/components/schemas/PreviewOffer" }, { "type": "null" }], "description": "GET /v1/agents/{id} only: the order offered to the reserved agent in a preview mode (Call or Skip with POST /v1/agents/{id}/preview), else null." },
                "registrations": { "type": "array", "description": "registered phones of an agent with sip_user, most recent first (absent when none)",
                    "items": { "type": "object", "properties": { "contact": text, "source": text, "transport": { "type": "string", "enum": ["udp", "tcp", "tls"] },
                        "expires_in": { "type": "integer" }, "user_agent": { "type": ["string", "null"] } } } } }
        },
        "CreatedAgent": {
            "allOf": [
                { "$ref": "#/components/schemas/Agent" },
                { "type": "object", "properties": { "api_token": { "type": "string", "description": "The agent's bearer token; shown only here." },
                    "sip_user": { "type": "string", "description": "With sip_user in the request." },
                    "sip_password": { "type": "string", "description": "With sip_user in the request; shown only here." } } }
            ]
        },
        "AgentList": { "type": "object", "properties": { "agents": { "type": "array", "items": { "$ref": "#/components/schemas/Agent" } } } },
        "NewCall": {
            "type": "object", "required": ["agent", "to"], "additionalProperties": false,
            "properties": {
                "agent": { "type": "string", "description": "Agent id; an agent token may leave it out (itself) but not name another agent.", "examples": ["a1"] },
                "to": { "type": "string", "pattern": "^\\+?[0-9]{3,20}$", "examples": ["03001234567", "+923001234567"] },
                "order_id": { "type": ["string", "null"], "minLength": 1, "maxLength": 128, "pattern": PRINTABLE }
            }
        },
        "CallStatus": { "type": "string", "enum": ["dialing_agent", "dialing_customer", "bridged", "ended", "failed"] },
        "Call": {
            "type": "object",
            "properties": {
                "id": text, "agent": text, "agent_name": text, "to": text, "order_id": opt_text,
                "status": { "$ref": "#/components/schemas/CallStatus" },
                "agent_cause": opt_text, "customer_cause": opt_text,
                "ended_by": { "type": ["string", "null"], "enum": ["agent", "customer", "api", "local", null] },
                "created_at": { "type": "string", "format": "date-time" },
                "agent_answered_at": { "type": ["string", "null"], "format": "date-time" },
                "bridged_at": { "type": ["string", "null"], "format": "date-time" },
                "ended_at": { "type": ["string", "null"], "format": "date-time" },
                "payments": { "type": "array", "items": text }
            }
        },
        "CallList": { "type": "object", "properties": { "calls": { "type": "array", "items": { "$ref": "#/components/schemas/Call" } } } },
        "NewPayment": {
            "type": "object", "required": ["item", "amount", "currency"], "additionalProperties": false,
            "properties": {
                "item": { "type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$", "examples": ["Lawn suit, 3 pieces"] },
                "amount": { "type": ["string", "number"], "pattern": "^[0-9]+(\\.[0-9]{1,3})?$", "minimum": 0, "exclusiveMinimum": 0, "maximum": 1000000, "description": "Decimal > 0 with at most the currency's ISO 4217 decimal places (PKR 2, JPY 0, KWD 3), at most 1000000; more places are a 422 naming `amount`. A JSON number is read from its literal. Returned with exactly the currency's places (`2500.00` PKR, `2500` JPY).", "examples": ["2500.00", "1", "999999.99"] },
                "currency": { "type": "string", "pattern": "^[A-Z]{3}$", "description": "An ISO 4217 code with a minor unit; any other is a 422 naming `currency`.", "examples": ["PKR", "USD", "EUR"] }
            }
        },
        "PaymentStep": {
            "type": "object",
            "properties": {
                "step": { "type": "string", "enum": ["amount", "card_number", "expiry", "cvc", "postal_code"] },
                "status": { "type": "string", "enum": ["entering", "completed", "re-entering", "failed"] },
                "reason": opt_text,
                "at": { "type": "string", "format": "date-time" }
            }
        },
        "CrmNote": {
            "type": "object",
            "properties": {
                "agent_name": text, "product": text, "transaction_id": opt_text, "amount": text, "currency": text, "status": text,
                "timestamp": { "type": "string", "description": "UTC, YYYY-MM-DD HH:MM:SS" }
            }
        },
        "Payment": {
            "type": "object",
            "properties": {
                "id": text, "call_id": text, "agent": text, "item": text, "amount": text, "currency": text,
                "status": { "type": "string", "enum": ["pending", "in_progress", "succeeded", "failed", "cancelled"] },
                "steps": { "type": "array", "items": { "$ref": "#/components/schemas/PaymentStep" } },
                "brand": opt_text, "last_four": opt_text, "transaction_id": opt_text, "reason": opt_text,
                "note": { "oneOf": [{ "$ref": "#/components/schemas/CrmNote" }, { "type": "null" }] },
                "created_at": { "type": "string", "format": "date-time" },
                "updated_at": { "type": "string", "format": "date-time" }
            }
        }
    })
}

/// Issue #5's routes (merchant and agent tokens).
pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    malformed: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
) -> Value {
    let bad_field = error_response(
        "A well-formed body with a field missing or invalid; `field` names it (and the 400 is for a body that is not JSON).",
    );
    let forbidden = error_response("An agent token on a merchant-only route.");
    let not_found = error_response("No such record (or another agent's).");
    let unavailable = error_response("The call layer is not running or cannot take the request.");
    json!({
            "/v1/agents": {
                "post": {
                    "operationId": "createAgent",
                    "summary": "Create an agent with its own API token (merchant only). The token is shown once.",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewAgent" } } } },
                    "responses": {
                        "201": json_response("Created; `api_token` is not shown again.", "CreatedAgent"),
                        "400": malformed.clone(), "422": bad_field.clone(), "401": unauthorized, "403": forbidden,
                        "409": error_response("An agent with this id exists (`field`: id), or another agent has this sip_user (`field`: sip_user)."),
                    }
                },
                "get": {
                    "operationId": "listAgents",
                    "summary": "Every agent, from the config and the API (merchant only).",
                    "responses": { "200": json_response("Agents.", "AgentList"), "401": unauthorized, "403": forbidden }
                }
            },
            "/v1/calls": {
                "post": {
                    "operationId": "createCall",
                    "summary": "Ring the agent, then bridge the customer. An agent token may omit `agent` (itself).",
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewCall" } } } },
                    "responses": {
                        "201": json_response("Stored and dialing the agent.", "Call"),
                        "400": malformed.clone(), "422": bad_field.clone(), "401": unauthorized,
                        "403": error_response("An agent token naming another agent."),
                        "404": error_response("No such agent."),
                        "503": unavailable.clone(),
                    }
                },
                "get": {
                    "operationId": "listCalls",
                    "summary": "Calls newest first (50); an agent token sees its own.",
                    "parameters": [{ "name": "status", "in": "query", "required": false, "schema": { "$ref": "#/components/schemas/CallStatus" } }],
                    "responses": { "200": json_response("Calls.", "CallList"), "400": malformed.clone(), "401": unauthorized }
                }
            },
            "/v1/calls/{id}": {
                "get": {
                    "operationId": "getCall",
                    "summary": "A call.",
                    "parameters": id_param,
                    "responses": { "200": json_response("The call.", "Call"), "401": unauthorized, "404": not_found.clone() }
                },
                "delete": {
                    "operationId": "hangUpCall",
                    "summary": "Hang up both legs (cause api_hangup).",
                    "parameters": id_param,
                    "responses": {
                        "200": json_response("The call.", "Call"), "401": unauthorized, "404": not_found.clone(),
                        "409": error_response("The call already ended."), "503": unavailable.clone(),
                    }
                }
            },
            "/v1/calls/{id}/payments": {
                "post": {
                    "operationId": "requestPayment",
                    "summary": "Start a keypad payment on a bridged call: the caller keys the card while the agent is muted.",
                    "parameters": id_param,
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewPayment" } } } },
                    "responses": {
                        "201": json_response("Stored, pending until the caller's first key.", "Payment"),
                        "400": malformed.clone(), "422": bad_field.clone(), "401": unauthorized, "404": not_found.clone(),
                        "409": error_response("The call is not bridged, or a payment is already active on it (`field`: call)."),
                        "503": unavailable.clone(),
                    }
                }
            },
            "/v1/payments/{id}": {
                "get": {
                    "operationId": "getPayment",
                    "summary": "A payment with its steps (never card data).",
                    "parameters": id_param,
                    "responses": { "200": json_response("The payment.", "Payment"), "401": unauthorized, "404": not_found.clone() }
                },
                "delete": {
                    "operationId": "cancelPayment",
                    "summary": "Cancel a pending payment (the agent's X).",
                    "parameters": id_param,
                    "responses": {
                        "200": json_response("The payment, now cancelled.", "Payment"), "401": unauthorized, "404": not_found.clone(),
                        "409": error_response("The payment is in progress or already ended."),
                    }
                }
            },
            "/v1/payments/{id}/events": {
                "get": {
                    "operationId": "paymentEvents",
                    "summary": "Server-Sent Events: stored `step`s, `status`, then live `step`/`status`, then `result` (the payment) and close; `: keep-alive` every 15 s.",
                    "parameters": id_param,
                    "responses": {
                        "200": { "description": "An event stream.", "content": { "text/event-stream": { "schema": { "type": "string" } } } },
                        "401": unauthorized, "404": not_found
                    }
                }
            },
            "/agent": {
                "get": {
                    "operationId": "agentPage",
                    "summary": "The agent's payment page (static HTML; asks for the token; no auth).",
                    "security": [],
                    "responses": { "200": { "description": "HTML.", "content": { "text/html": { "schema": { "type": "string" } } } } }
                }
            },
            "/console/admin": {
                "get": {
                    "operationId": "adminPage",
                    "summary": "The merchant's call-mode admin page (static HTML; asks for the merchant token; no auth).",
                    "security": [],
                    "responses": { "200": { "description": "HTML.", "content": { "text/html": { "schema": { "type": "string" } } } } }
                }
            },
            "/console": {
                "get": {
                    "operationId": "consolePage",
                    "summary": "The operator console (static HTML; asks for agent id and token, keeps them in sessionStorage, sends the token as a header; no auth).",
                    "security": [],
                    "responses": { "200": { "description": "HTML.", "content": { "text/html": { "schema": { "type": "string" } } } } }
                }
            },
            "/v1/calls/{id}/order": {
                "get": {
                    "operationId": "getCallOrder",
                    "summary": "The order a call was placed for, with its attempts (an agent reads only its own calls' orders): the console's pop.",
                    "parameters": id_param,
                    "responses": { "200": json_response("The order with attempts and call_id.", "Order"), "401": unauthorized, "404": not_found }
                }
            }
    })
}
