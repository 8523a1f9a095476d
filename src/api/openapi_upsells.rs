//! The OpenAPI description of upsells (issue #15, first slice): offers'
//! catalogs, the eligible orders, quotes and card-on-file purchases, merged
//! into `GET /openapi.json` by `openapi.rs` (the builders come in as
//! arguments, so no import cycle).

use serde_json::{json, Value};

use super::vocabulary::PRINTABLE;
use crate::upsell::{MAX_LIST, MAX_QUANTITY, MAX_SHIPPING, MAX_TOKEN, MAX_UPSELLS};

const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
const PRICE_PATTERN: &str = "^[0-9]+(\\.[0-9]{1,4})?$";

/// The order fields of issue #15, added to `NewOrder`.
pub(super) fn new_order_properties() -> Value {
    json!({
        "offer": { "type": ["string", "null"], "pattern": ID_PATTERN, "description": "The offer (PUT /v1/offers/{id}) the order was sold under; with one of the statuses paid, shipping, shipped, delivered the order is eligible for upsells.", "examples": ["lawn-suit"] },
        "payment_token": { "type": ["string", "null"], "maxLength": MAX_TOKEN, "pattern": "^[A-Za-z0-9_.:-]{1,200}$",
            "description": "The card on file: the merchant's gateway token for the card the customer paid with, charged for upsells. Never a card number: a value holding 13 to 19 digits that pass the Luhn check (with or without spaces or dashes) is a 422 naming payment_token. Never shown by the API.",
            "examples": ["tok_visa", "tok_chargeDeclined"] },
        "card_brand": { "type": ["string", "null"], "enum": ["visa", "mastercard", "amex", "discover", "diners_club", "jcb", "unionpay", "unknown", null] },
        "card_last4": { "type": ["string", "null"], "pattern": "^[0-9]{4}$", "examples": ["4242"] },
        "card_exp_month": { "type": ["integer", "null"], "minimum": 1, "maximum": 12 },
        "card_exp_year": { "type": ["integer", "null"], "minimum": 2000, "maximum": 2099 }
    })
}

/// The order view's fields of issue #15, added to `Order`.
pub(super) fn order_properties() -> Value {
    json!({
        "offer": { "type": ["string", "null"] },
        "card_on_file": { "oneOf": [{ "$ref": "#/components/schemas/CardOnFile" }, { "type": "null" }] },
        "upsell_of": { "type": ["string", "null"], "description": "For an upsell order: the order it was sold on." }
    })
}

pub(super) fn schemas() -> Value {
    let text = json!({ "type": "string" });
    let opt_text = json!({ "type": ["string", "null"] });
    let price =
        json!({ "type": "string", "pattern": PRICE_PATTERN, "examples": ["1500.00", "9.99"] });
    let prices = |zero: bool| {
        json!({
            "type": "object", "minProperties": 1,
            "properties": { "PKR": price.clone(), "EUR": price.clone(), "USD": price.clone() },
            "description": format!("Price per currency: keys are ISO 4217 codes with a minor unit (any such code, not only those listed), values exact decimal strings with at most the currency's decimal places (PKR 2, JPY 0, KWD 3); more places, a float or an unknown code is a 422 naming e.g. `upsells[1].prices.EUR`.{}", if zero { " Zero is free shipping." } else { " Zero is refused." }),
        })
    };
    let id = json!({ "type": "string", "pattern": ID_PATTERN, "examples": ["scarf", "std", "shoes", "air", "gift-box", "belt_2", "express", "socks", "cap", "pickup", "bag", "night"] });
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 100, "pattern": "\\S", "examples": ["Silk scarf"] });
    let catalog = json!({
        "type": "object", "required": ["upsells", "shipping"], "additionalProperties": false,
        "properties": {
            "name": { "type": ["string", "null"], "minLength": 1, "maxLength": 100, "pattern": "\\S", "examples": ["Lawn suit"] },
            "upsells": { "type": "array", "minItems": 1, "maxItems": MAX_UPSELLS, "items": {
                "type": "object", "required": ["id", "name", "products", "quantities", "prices"], "additionalProperties": false,
                "properties": {
                    "id": id.clone(), "name": name.clone(),
                    "products": { "type": "array", "minItems": 1, "maxItems": MAX_LIST, "items": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": "\\S", "examples": ["SC-1"] } },
                    "quantities": { "type": "array", "minItems": 1, "maxItems": MAX_LIST, "uniqueItems": true, "items": { "type": "integer", "minimum": 1, "maximum": MAX_QUANTITY } },
                    "prices": prices(false),
                } } },
            "shipping": { "type": "array", "minItems": 1, "maxItems": MAX_SHIPPING, "items": {
                "type": "object", "required": ["id", "name", "prices"], "additionalProperties": false,
                "properties": { "id": id, "name": name, "prices": prices(true) } } }
        }
    });
    // The answer: the catalog as stored plus its id (a schema of its own:
    // the request's `additionalProperties: false` would refuse `id`).
    let mut offer = catalog.clone();
    offer["properties"]["id"] = text.clone();
    offer["required"] = json!(["id", "upsells", "shipping"]);
    json!({
        "Catalog": catalog,
        "Offer": offer,
        "CardOnFile": {
            "type": "object",
            "description": "The card on file as the console shows it: never the token, never a number beyond the last four.",
            "properties": {
                "number": { "type": ["string", "null"], "pattern": "^XXXX XXXX XXXX [0-9]{4}$", "examples": ["XXXX XXXX XXXX 4242"] },
                "brand": opt_text, "exp_month": { "type": ["integer", "null"] }, "exp_year": { "type": ["integer", "null"] }
            }
        },
        "UpsellChoice": {
            "type": "object", "required": ["upsell", "quantity", "shipping"], "additionalProperties": false,
            "properties": {
                "upsell": { "type": "string", "description": "An upsell id of the order's offer (else a 422 naming upsell)." },
                "quantity": { "type": "integer", "minimum": 1, "description": "One of the upsell's quantities (else a 422 naming quantity)." },
                "shipping": { "type": "string", "description": "A shipping method id of the offer (else a 422 naming shipping)." }
            }
        },
        "UpsellPurchaseRequest": {
            "type": "object", "required": ["upsell", "quantity", "shipping", "payment"], "additionalProperties": false,
            "properties": {
                "upsell": { "type": "string" },
                "quantity": { "type": "integer", "minimum": 1 },
                "shipping": { "type": "string" },
                "payment": { "oneOf": [
                    { "type": "object", "required": ["method"], "additionalProperties": false,
                      "properties": { "method": { "type": "string", "enum": ["card_on_file"] } } },
                    { "type": "object", "required": ["method", "call_id"], "additionalProperties": false,
                      "properties": { "method": { "type": "string", "enum": ["keypad"] },
                        "call_id": { "type": "string", "minLength": 1, "maxLength": 64, "pattern": PRINTABLE, "examples": ["call_abc"] } },
                      "description": "Not built yet: answered 409 (use POST /v1/calls/{id}/payments for a keypad payment)." }
                ] }
            }
        },
        "UpsellQuote": {
            "type": "object",
            "properties": {
                "order_id": text, "upsell": text, "quantity": { "type": "integer" }, "shipping": text,
                "currency": { "type": "string", "description": "The main order's currency, always." },
                "unit_price": text, "items_price": text, "shipping_price": text, "total": text
            }
        },
        "UpsellPurchase": {
            "type": "object",
            "properties": {
                "id": text, "order_id": text,
                "idempotency_key": { "type": "string", "description": "The client's Idempotency-Key, or the one generated: send it on a retry." },
                "upsell": text, "quantity": { "type": "integer" }, "shipping": text,
                "amount": text, "currency": text,
                "status": { "type": "string", "enum": ["approved", "declined", "failed", "pending"] },
                "transaction_id": opt_text, "reason": opt_text,
                "upsell_order_id": { "type": ["string", "null"], "description": "The new upsell order (status paid, linked to the main order) when approved." },
                "card_on_file": { "$ref": "#/components/schemas/CardOnFile" },
                "note": { "type": ["object", "null"], "description": "The CRM note." },
                "next": { "type": ["string", "null"], "enum": ["keypad", null], "description": "keypad: the card on file did not pay; use another card." },
                "created_at": { "type": "string", "format": "date-time" }
            }
        },
        "UpsellOrders": {
            "type": "object",
            "properties": { "orders": { "type": "array", "items": { "$ref": "#/components/schemas/Order" } } }
        }
    })
}

pub(super) fn paths(
    id_param: &Value,
    unauthorized: &Value,
    json_response: fn(&str, &str) -> Value,
    error_response: fn(&str) -> Value,
) -> Value {
    let invalid = error_response("A field is missing or invalid; `field` names it.");
    let malformed = error_response(
        "The body is not JSON, or a path or query parameter is invalid; `field` names it.",
    );
    let no_order = error_response("No such order.");
    let not_eligible = error_response("The order is not eligible: not paid, shipping, shipped or delivered, no offer, or the offer has no catalog.");
    let body = |schema: &str| json!({ "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } });
    json!({
        "/v1/offers/{id}": {
            "put": {
                "operationId": "putOffer",
                "summary": "Create or replace an offer's catalog: its upsells (products, allowed quantities, unit price per currency) and shipping methods (price per currency).",
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": ID_PATTERN, "examples": ["lawn-suit"] } }],
                "requestBody": body("Catalog"),
                "responses": {
                    "201": json_response("Created.", "Offer"), "200": json_response("Replaced.", "Offer"),
                    "400": malformed, "401": unauthorized, "422": invalid.clone(),
                    "413": error_response("Body too large.")
                },
                "x-cross-field": [
                    { "field": "upsells[].id", "status": 422, "rule": "unique within the offer" },
                    { "field": "shipping[].id", "status": 422, "rule": "unique within the offer" }
                ]
            },
            "get": {
                "operationId": "getOffer",
                "summary": "An offer's catalog, prices as decimal strings.",
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string", "pattern": ID_PATTERN, "examples": ["lawn-suit"] } }],
                "responses": { "200": json_response("The offer.", "Offer"), "400": malformed.clone(), "401": unauthorized, "404": error_response("No such offer.") }
            }
        },
        "/v1/upsell/orders": {
            "get": {
                "operationId": "searchUpsellOrders",
                "summary": "Orders an upsell can be sold on (status paid, shipping, shipped or delivered, with an offer), newest first, at most 100.",
                "parameters": [
                    { "name": "q", "in": "query", "required": false, "description": "Part of the order id, phone or customer name (case-insensitive).", "schema": { "type": "string", "maxLength": 100, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", "examples": ["A-10", "0300", "ayesha"] } },
                    { "name": "status", "in": "query", "required": false, "schema": { "type": "string", "enum": ["paid", "shipping", "shipped", "delivered"] } }
                ],
                "responses": { "200": json_response("The eligible orders with their offer and card on file (masked).", "UpsellOrders"), "400": malformed.clone(), "401": unauthorized }
            }
        },
        "/v1/orders/{id}/upsells/quote": {
            "post": {
                "operationId": "quoteUpsell",
                "summary": "The price of an upsell choice in the main order's currency (422 naming upsell or shipping if the catalog has no price in it).",
                "parameters": id_param,
                "requestBody": body("UpsellChoice"),
                "responses": {
                    "200": json_response("The quote.", "UpsellQuote"),
                    "400": malformed.clone(), "401": unauthorized, "404": no_order.clone(), "409": not_eligible.clone(), "422": invalid.clone()
                }
            }
        },
        "/v1/orders/{id}/upsells": {
            "post": {
                "operationId": "buyUpsell",
                "summary": "Buy an upsell with the card on file, through the configured gateway. One purchase per Idempotency-Key (header; generated and returned when absent): a retry answers the stored result and never charges twice. Approved: a new upsell order (status paid, linked to this one), a CRM note and the webhook upsell.completed. Declined or failed: 402 with next = keypad (use another card) and the webhook upsell.failed.",
                "parameters": [
                    id_param[0].clone(),
                    { "name": "Idempotency-Key", "in": "header", "required": false, "schema": { "type": "string", "pattern": "^[A-Za-z0-9_:-]{1,200}$", "examples": ["upsell-A-1001-1"] } }
                ],
                "requestBody": body("UpsellPurchaseRequest"),
                "responses": {
                    "201": json_response("Charged; the upsell order was made.", "UpsellPurchase"),
                    "200": json_response("A retry of a purchase that was charged: the stored result.", "UpsellPurchase"),
                    "402": json_response("The card on file was declined, or the charge failed (reason): use another card.", "UpsellPurchase"),
                    "400": malformed, "401": unauthorized, "404": no_order,
                    "409": error_response("The order is not eligible, has no card on file, the Idempotency-Key was used for another choice (field names it), or payment is keypad (not built yet)."),
                    "422": invalid
                }
            }
        }
    })
}
