//! Reading a posted order out of raw JSON, naming the field at fault.
//!
//! We parse by hand instead of `#[derive(Deserialize)]` for two reasons:
//! serde's messages name a line and column, not the field a merchant must
//! fix; and `amount` must reach [`crate::dialer::Amount`] as the exact text
//! the merchant sent. A JSON number is taken from its raw literal
//! (`serde_json::value::RawValue`), never through `f64`, so `1234.10` stays
//! `1234.10` and `0.1` is not `0.1000000000000000055…`.

use std::collections::BTreeMap;

use serde_json::value::RawValue;
use serde_json::Value;

use super::error::ApiError;
use crate::dialer::CustomerKind;
use crate::store::{NewOrder, OrderScript};

const ORDER_FIELDS: [&str; 22] = [
    "id",
    "phone",
    "amount",
    "currency",
    "customer",
    "items",
    "locale",
    "timezone",
    "project",
    "store",
    "number",
    "delivery_fee",
    "customer_name",
    "address",
    "notes",
    "offer",
    "payment_token",
    "card_brand",
    "card_last4",
    "card_exp_month",
    "card_exp_year",
    "trial",
];

/// Parse a JSON body into a JSON object, 400 when it is not JSON.
pub(crate) fn json_object(body: &[u8]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ApiError::invalid(
            "body",
            format!("must be a JSON object, not {}", type_name(&other)),
        )),
    }
}

/// `POST /v1/orders` body → [`NewOrder`], with the store's own validation
/// (phone, amount, currency, locale, time zone) applied afterwards.
pub(crate) fn new_order(body: &[u8]) -> Result<NewOrder, ApiError> {
    let map = json_object(body)?;
    if let Some(unknown) = map.keys().find(|k| !ORDER_FIELDS.contains(&k.as_str())) {
        return Err(ApiError::invalid(
            unknown.clone(),
            format!("unknown field; expected one of {}", ORDER_FIELDS.join(", ")),
        ));
    }
    let id = required_string(&map, "id")?;
    let phone = required_string(&map, "phone")?;
    if phone.trim().is_empty() {
        return Err(ApiError::invalid("phone", "must not be empty"));
    }
    let amount = amount_text(body, &map)?;
    let currency = required_string(&map, "currency")?;
    let customer_kind = match map.get("customer") {
        None | Some(Value::Null) => return Err(ApiError::invalid("customer.kind", "is required")),
        Some(Value::Object(c)) => {
            if let Some(unknown) = c.keys().find(|k| k.as_str() != "kind") {
                return Err(ApiError::invalid(
                    format!("customer.{unknown}"),
                    "unknown field; expected kind",
                ));
            }
            match c.get("kind") {
                Some(Value::String(k)) => CustomerKind::parse(k).ok_or_else(|| {
                    ApiError::invalid(
                        "customer.kind",
                        format!("{k:?} is not one of new, returning, platform_returning"),
                    )
                })?,
                None | Some(Value::Null) => {
                    return Err(ApiError::invalid("customer.kind", "is required"))
                }
                Some(other) => {
                    return Err(ApiError::invalid(
                        "customer.kind",
                        format!("must be a string, not {}", type_name(other)),
                    ))
                }
            }
        }
        Some(other) => {
            return Err(ApiError::invalid(
                "customer",
                format!("must be an object, not {}", type_name(other)),
            ))
        }
    };
    let items = match map.get("items") {
        None | Some(Value::Null) => Value::Array(Vec::new()),
        Some(v @ Value::Array(_)) => v.clone(),
        Some(other) => {
            return Err(ApiError::invalid(
                "items",
                format!("must be an array, not {}", type_name(other)),
            ))
        }
    };
    let order = NewOrder {
        id,
        phone,
        amount,
        currency,
        customer_kind,
        items,
        locale: optional_string(&map, "locale")?,
        timezone: optional_string(&map, "timezone")?,
        project: optional_string(&map, "project")?.unwrap_or_else(|| "default".to_string()),
        script: OrderScript {
            store: optional_string(&map, "store")?,
            number: optional_string(&map, "number")?,
            delivery_fee: match map.get("delivery_fee") {
                None | Some(Value::Null) => None,
                Some(_) => Some(money_text(body, &map, "delivery_fee")?),
            },
            customer_name: optional_string(&map, "customer_name")?,
            address: optional_string(&map, "address")?,
            notes: optional_string(&map, "notes")?,
            prep_error: None,
        },
    };
    order.validate()?;
    Ok(order)
}

/// What a posted order carries for upsells (issue #15): its offer and the
/// card on file (gateway token, brand, last four, expiry month/year). A
/// token that looks like a card number is refused, naming `payment_token`.
pub(crate) fn order_extras(body: &[u8]) -> Result<crate::store::OrderExtras, ApiError> {
    use crate::upsell;
    let map = json_object(body)?;
    let offer = optional_string(&map, "offer")?;
    if let Some(o) = &offer {
        if !upsell::is_id(o) {
            return Err(ApiError::invalid(
                "offer",
                "must be 1 to 64 of A-Z a-z 0-9 _ -",
            ));
        }
    }
    let token = optional_string(&map, "payment_token")?;
    if let Some(t) = &token {
        upsell::check_token(t).map_err(|e| ApiError::invalid(e.field, e.reason))?;
    }
    let brand = optional_string(&map, "card_brand")?
        .map(|b| {
            upsell::parse_brand(&b).ok_or_else(|| {
                ApiError::invalid(
                    "card_brand",
                    "must be one of visa, mastercard, amex, discover, diners_club, jcb, unionpay, unknown",
                )
            })
        })
        .transpose()?;
    let last4 = optional_string(&map, "card_last4")?;
    if let Some(l) = &last4 {
        if crate::payments::card::LastFour::parse(l).is_none() {
            return Err(ApiError::invalid(
                "card_last4",
                "must be the card's last 4 digits",
            ));
        }
    }
    let number = |field: &str, lo: u64, hi: u64| -> Result<Option<u32>, ApiError> {
        match map.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_u64()
                .filter(|n| (lo..=hi).contains(n))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    ApiError::invalid(field, format!("must be an integer from {lo} to {hi}"))
                }),
        }
    };
    Ok(crate::store::OrderExtras {
        offer,
        card: upsell::CardOnFile {
            token,
            brand,
            last4,
            exp_month: number("card_exp_month", 1, 12)?,
            exp_year: number("card_exp_year", 2000, 2099)?,
        },
        upsell_of: None,
        trial: None,
    })
}

/// The amount as exact decimal text: a JSON string as is, a JSON number as
/// the literal the client wrote.
pub(crate) fn amount_text(
    body: &[u8],
    map: &serde_json::Map<String, Value>,
) -> Result<String, ApiError> {
    money_text(body, map, "amount")
}

/// A money field (`amount`, `delivery_fee`) as exact decimal text.
fn money_text(
    body: &[u8],
    map: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<String, ApiError> {
    match map.get(field) {
        None | Some(Value::Null) => Err(ApiError::invalid(field, "is required")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Number(_)) => {
            // Re-read the body keeping raw literals; the body already parsed
            // once, so this cannot fail on syntax.
            let raw: BTreeMap<String, &RawValue> =
                serde_json::from_slice(body).map_err(|e| ApiError::MalformedJson(e.to_string()))?;
            raw.get(field)
                .map(|r| r.get().trim().to_string())
                .ok_or_else(|| ApiError::invalid(field, "is required"))
        }
        Some(other) => Err(ApiError::invalid(
            field,
            format!(
                "must be a decimal string or number, not {}",
                type_name(other)
            ),
        )),
    }
}

pub(crate) fn required_string(
    map: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<String, ApiError> {
    match map.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Err(ApiError::invalid(field, "is required")),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a string, not {}", type_name(other)),
        )),
    }
}

pub(crate) fn optional_string(
    map: &serde_json::Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ApiError> {
    match map.get(field) {
        Some(Value::String(s)) => Ok(Some(s.clone())),
        None | Some(Value::Null) => Ok(None),
        Some(other) => Err(ApiError::invalid(
            field,
            format!("must be a string, not {}", type_name(other)),
        )),
    }
}

/// Text of 1 to `max` characters, not blank, with no control characters
/// (an agent's name, a payment's item), or a 422 naming `field`.
pub(crate) fn printable_text(field: &str, text: &str, max: usize) -> Result<(), ApiError> {
    if text.trim().is_empty() || text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(ApiError::bad_field(
            field,
            format!("must be 1 to {max} printable characters, not blank"),
        ));
    }
    Ok(())
}

/// The first key not in `allowed`, as a field error.
pub(crate) fn reject_unknown(
    map: &serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ApiError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(unknown) => Err(ApiError::invalid(
            unknown.clone(),
            format!("unknown field; expected {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    crate::upsell::json_kind(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(body: &str) -> String {
        match new_order(body.as_bytes()) {
            Err(ApiError::Invalid { field, .. }) => field,
            other => panic!("expected a field error for {body}, got {other:?}"),
        }
    }

    const OK: &str = r#"{"id":"A1","phone":"+923001234567","amount":"1234.50","currency":"PKR","customer":{"kind":"new"},"items":[],"locale":"ur-PK"}"#;

    #[test]
    fn a_good_order_parses() {
        let o = new_order(OK.as_bytes()).unwrap();
        assert_eq!(o.amount, "1234.50");
        assert_eq!(o.customer_kind, CustomerKind::New);
    }

    #[test]
    fn a_number_amount_keeps_its_literal() {
        let o = new_order(OK.replace(r#""1234.50""#, "1234.10").as_bytes()).unwrap();
        assert_eq!(o.amount, "1234.10");
        assert_eq!(field_of(&OK.replace(r#""1234.50""#, "1e3")), "amount");
        assert_eq!(field_of(&OK.replace(r#""1234.50""#, "-5")), "amount");
    }

    #[test]
    fn script_fields_parse_and_fee_keeps_its_literal() {
        let body = OK.replace(
            r#""locale""#,
            r#""store":"Lawn House","number":"1042","delivery_fee":150.50,"customer_name":"Ayesha","address":"House 5","notes":"after 5","locale""#,
        );
        let o = new_order(body.as_bytes()).unwrap();
        assert_eq!(o.script.store.as_deref(), Some("Lawn House"));
        assert_eq!(o.script.number.as_deref(), Some("1042"));
        assert_eq!(o.script.delivery_fee.as_deref(), Some("150.50"));
        assert_eq!(o.script.customer_name.as_deref(), Some("Ayesha"));
        assert_eq!(o.script.address.as_deref(), Some("House 5"));
        assert_eq!(o.script.notes.as_deref(), Some("after 5"));
    }

    #[test]
    fn bad_fields_are_named() {
        assert_eq!(
            field_of(&OK.replace(r#""+923001234567""#, r#""""#)),
            "phone"
        );
        assert_eq!(
            field_of(&OK.replace(r#""1234.50""#, r#""12,50""#)),
            "amount"
        );
        assert_eq!(
            field_of(&OK.replace(r#""new""#, r#""vip""#)),
            "customer.kind"
        );
        assert_eq!(field_of(&OK.replace(r#""ur-PK""#, r#""ur PK""#)), "locale");
        assert_eq!(field_of(&OK.replace(r#""PKR""#, "5")), "currency");
        assert_eq!(
            field_of(&OK.replace(r#""items":[]"#, r#""items":{}"#)),
            "items"
        );
        assert_eq!(
            field_of(&OK.replace(r#""locale""#, r#""colour""#)),
            "colour"
        );
        assert_eq!(field_of("[1]"), "body");
        let script = |extra: &str| OK.replace(r#""locale""#, &format!("{extra},\"locale\""));
        assert_eq!(field_of(&script(r#""delivery_fee":"1,5""#)), "delivery_fee");
        assert_eq!(field_of(&script(r#""delivery_fee":true"#)), "delivery_fee");
        assert_eq!(field_of(&script(r#""store":5"#)), "store");
        assert_eq!(field_of(&script(r#""customer_name":"""#)), "customer_name");
        assert_eq!(field_of(&script(r#""number":"\u0007""#)), "number");
        assert!(matches!(new_order(b"{"), Err(ApiError::MalformedJson(_))));
    }
}
