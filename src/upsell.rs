//! Upsells (issue #15): an offer's catalog (its upsells and shipping methods,
//! each priced per currency), the quote for one choice in the main order's
//! currency, and the checks on a card on file.
//!
//! Plain data and arithmetic, no I/O: the API parses bodies into these types
//! and the store keeps them. Prices are [`Money`] (minor units at the
//! currency's ISO 4217 scale, issue #9), parsed from decimal text digit by
//! digit: never a float, and more decimals than the currency has are refused.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::money::{Currency, Money};
use crate::payments::card::{luhn_valid, Brand};

/// Most upsells per offer, shipping methods per offer, entries per list.
pub const MAX_UPSELLS: usize = 50;
pub const MAX_SHIPPING: usize = 20;
pub const MAX_LIST: usize = 20;
/// Largest allowed quantity.
pub const MAX_QUANTITY: u64 = 1000;
/// Longest gateway token (characters).
pub const MAX_TOKEN: usize = 200;

/// A field at fault, named as the API names it (`upsells[1].prices.EUR`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{field}`: {reason}")]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

fn bad(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// Prices of one thing, one per currency.
pub type Prices = BTreeMap<String, Money>;

/// One upsell: what it is, the quantities it is sold in, its unit price.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsell {
    pub id: String,
    pub name: String,
    pub products: Vec<String>,
    pub quantities: Vec<u64>,
    pub prices: Prices,
}

/// A shipping method and its price per currency.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipping {
    pub id: String,
    pub name: String,
    pub prices: Prices,
}

/// An offer's catalog, as `PUT /v1/offers/{id}` takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub name: Option<String>,
    pub upsells: Vec<Upsell>,
    pub shipping: Vec<Shipping>,
}

/// The price of one choice in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub unit: Money,
    pub items: Money,
    pub shipping: Money,
    pub total: Money,
}

/// How prices travel: the API writes decimal text, the store minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceForm {
    Decimal,
    Minor,
}

impl Catalog {
    /// Parse and check a catalog body (`form` = [`PriceForm::Decimal`]) or a
    /// stored one ([`PriceForm::Minor`]), naming the field at fault.
    pub fn parse(value: &Value, form: PriceForm) -> Result<Catalog, FieldError> {
        let map = object(value, "body")?;
        only(map, "", &["name", "upsells", "shipping"])?;
        let name = match map.get("name") {
            None | Some(Value::Null) => None,
            Some(v) => Some(text(v, "name", 100)?),
        };
        let upsells = list(map.get("upsells"), "upsells", MAX_UPSELLS)?
            .iter()
            .enumerate()
            .map(|(i, v)| Upsell::parse(v, &format!("upsells[{i}]"), form))
            .collect::<Result<Vec<_>, _>>()?;
        let shipping = list(map.get("shipping"), "shipping", MAX_SHIPPING)?
            .iter()
            .enumerate()
            .map(|(i, v)| Shipping::parse(v, &format!("shipping[{i}]"), form))
            .collect::<Result<Vec<_>, _>>()?;
        unique(upsells.iter().map(|u| u.id.as_str()), "upsells")?;
        unique(shipping.iter().map(|s| s.id.as_str()), "shipping")?;
        Ok(Catalog {
            name,
            upsells,
            shipping,
        })
    }

    /// The JSON form: decimal text for the API, minor units for the store.
    pub fn to_json(&self, form: PriceForm) -> Value {
        json!({
            "name": self.name,
            "upsells": self.upsells.iter().map(|u| json!({
                "id": u.id, "name": u.name, "products": u.products,
                "quantities": u.quantities, "prices": prices_json(&u.prices, form),
            })).collect::<Vec<_>>(),
            "shipping": self.shipping.iter().map(|s| json!({
                "id": s.id, "name": s.name, "prices": prices_json(&s.prices, form),
            })).collect::<Vec<_>>(),
        })
    }

    pub fn upsell(&self, id: &str) -> Option<&Upsell> {
        self.upsells.iter().find(|u| u.id == id)
    }

    /// The price of `quantity` × `upsell` shipped by `shipping`, in
    /// `currency` (the main order's: a quote is never converted). Errors
    /// name `upsell`, `quantity` or `shipping`.
    pub fn quote(
        &self,
        upsell: &str,
        quantity: u64,
        shipping: &str,
        currency: Currency,
    ) -> Result<Quote, FieldError> {
        let u = self.upsell(upsell).ok_or_else(|| {
            bad(
                "upsell",
                format!("{upsell:?} is not an upsell of this offer"),
            )
        })?;
        if !u.quantities.contains(&quantity) {
            return Err(bad(
                "quantity",
                format!("{quantity} is not one of the allowed {:?}", u.quantities),
            ));
        }
        let s = self
            .shipping
            .iter()
            .find(|s| s.id == shipping)
            .ok_or_else(|| {
                bad(
                    "shipping",
                    format!("{shipping:?} is not a shipping method of this offer"),
                )
            })?;
        let code = currency.code();
        let no_price = |field: &str| {
            bad(
                field,
                format!("has no price in {code}, the order's currency"),
            )
        };
        let unit = *u.prices.get(code).ok_or_else(|| no_price("upsell"))?;
        let ship = *s.prices.get(code).ok_or_else(|| no_price("shipping"))?;
        let too_large = || bad("quantity", "makes the price too large");
        let items = unit.minor().checked_mul(quantity).ok_or_else(too_large)?;
        let total = items.checked_add(ship.minor()).ok_or_else(too_large)?;
        Ok(Quote {
            unit,
            items: Money::from_minor(items, currency),
            shipping: ship,
            total: Money::from_minor(total, currency),
        })
    }
}

impl Upsell {
    fn parse(v: &Value, at: &str, form: PriceForm) -> Result<Upsell, FieldError> {
        let map = object(v, at)?;
        only(map, at, &["id", "name", "products", "quantities", "prices"])?;
        let products = list(map.get("products"), &format!("{at}.products"), MAX_LIST)?
            .iter()
            .enumerate()
            .map(|(i, p)| text(p, &format!("{at}.products[{i}]"), 64))
            .collect::<Result<Vec<_>, _>>()?;
        let quantities = list(map.get("quantities"), &format!("{at}.quantities"), MAX_LIST)?
            .iter()
            .enumerate()
            .map(|(i, q)| {
                q.as_u64()
                    .filter(|n| (1..=MAX_QUANTITY).contains(n))
                    .ok_or_else(|| {
                        bad(
                            format!("{at}.quantities[{i}]"),
                            format!("must be an integer from 1 to {MAX_QUANTITY}"),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        for (i, q) in quantities.iter().enumerate() {
            if quantities[..i].contains(q) {
                return Err(bad(format!("{at}.quantities[{i}]"), "is listed twice"));
            }
        }
        Ok(Upsell {
            id: id(map.get("id"), &format!("{at}.id"))?,
            name: text(field(map, "name", at)?, &format!("{at}.name"), 100)?,
            products,
            quantities,
            prices: prices(map.get("prices"), &format!("{at}.prices"), form, false)?,
        })
    }
}

impl Shipping {
    fn parse(v: &Value, at: &str, form: PriceForm) -> Result<Shipping, FieldError> {
        let map = object(v, at)?;
        only(map, at, &["id", "name", "prices"])?;
        Ok(Shipping {
            id: id(map.get("id"), &format!("{at}.id"))?,
            name: text(field(map, "name", at)?, &format!("{at}.name"), 100)?,
            // Free shipping is a price of zero.
            prices: prices(map.get("prices"), &format!("{at}.prices"), form, true)?,
        })
    }
}

fn prices_json(p: &Prices, form: PriceForm) -> Value {
    let map: Map<String, Value> = p
        .iter()
        .map(|(code, m)| {
            let v = match form {
                PriceForm::Decimal => json!(m.to_string()),
                PriceForm::Minor => json!(m.minor()),
            };
            (code.clone(), v)
        })
        .collect();
    Value::Object(map)
}

fn prices(
    v: Option<&Value>,
    at: &str,
    form: PriceForm,
    zero_ok: bool,
) -> Result<Prices, FieldError> {
    let map = match v {
        None | Some(Value::Null) => return Err(bad(at, "is required")),
        Some(v) => object(v, at)?,
    };
    if map.is_empty() {
        return Err(bad(at, "must give a price in at least one currency"));
    }
    let mut out = Prices::new();
    for (code, price) in map {
        let here = format!("{at}.{code}");
        let currency = Currency::parse(code).map_err(|e| bad(&here, e.to_string()))?;
        let money = match (form, price) {
            (PriceForm::Decimal, Value::String(s)) => {
                Money::parse(s, currency).map_err(|e| bad(&here, e.to_string()))?
            }
            (PriceForm::Minor, Value::Number(n)) => Money::from_minor(
                n.as_u64()
                    .ok_or_else(|| bad(&here, "is not a minor-unit count"))?,
                currency,
            ),
            _ => return Err(bad(
                &here,
                "must be a decimal string like \"1500.00\" (exact, in the currency's minor units)",
            )),
        };
        if money.is_zero() && !zero_ok {
            return Err(bad(&here, "must be more than zero"));
        }
        out.insert(code.clone(), money);
    }
    Ok(out)
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, FieldError> {
    v.as_object()
        .ok_or_else(|| bad(at, format!("must be an object, not {}", json_kind(v))))
}

fn only(map: &Map<String, Value>, at: &str, allowed: &[&str]) -> Result<(), FieldError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(bad(
            if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            },
            format!("unknown field; expected {}", allowed.join(", ")),
        )),
        None => Ok(()),
    }
}

fn field<'a>(map: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a Value, FieldError> {
    match map.get(key) {
        None | Some(Value::Null) => Err(bad(format!("{at}.{key}"), "is required")),
        Some(v) => Ok(v),
    }
}

fn list<'a>(v: Option<&'a Value>, at: &str, max: usize) -> Result<&'a Vec<Value>, FieldError> {
    match v {
        None | Some(Value::Null) => Err(bad(at, "is required")),
        Some(Value::Array(a)) if a.is_empty() || a.len() > max => {
            Err(bad(at, format!("must have 1 to {max} entries")))
        }
        Some(Value::Array(a)) => Ok(a),
        Some(other) => Err(bad(
            at,
            format!("must be an array, not {}", json_kind(other)),
        )),
    }
}

/// Printable text of 1 to `max` characters, not blank.
fn text(v: &Value, at: &str, max: usize) -> Result<String, FieldError> {
    let s = v
        .as_str()
        .ok_or_else(|| bad(at, format!("must be a string, not {}", json_kind(v))))?;
    if s.trim().is_empty() || s.chars().count() > max || s.chars().any(char::is_control) {
        return Err(bad(
            at,
            format!("must be 1 to {max} printable characters, not blank"),
        ));
    }
    Ok(s.to_string())
}

/// An id: 1 to 64 of `A-Z a-z 0-9 _ -`.
fn id(v: Option<&Value>, at: &str) -> Result<String, FieldError> {
    let v = v.ok_or_else(|| bad(at, "is required"))?;
    let s = v
        .as_str()
        .ok_or_else(|| bad(at, format!("must be a string, not {}", json_kind(v))))?;
    if is_id(s) {
        Ok(s.to_string())
    } else {
        Err(bad(at, "must be 1 to 64 of A-Z a-z 0-9 _ -"))
    }
}

/// 1 to 64 of `A-Z a-z 0-9 _ -`: offer, upsell and shipping ids.
pub fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn unique<'a>(ids: impl Iterator<Item = &'a str>, at: &str) -> Result<(), FieldError> {
    let mut seen = Vec::new();
    for (i, id) in ids.enumerate() {
        if seen.contains(&id) {
            return Err(bad(
                format!("{at}[{i}].id"),
                format!("{id:?} is listed twice"),
            ));
        }
        seen.push(id);
    }
    Ok(())
}

/// A JSON value's type as an error names it ("must be a string, not a
/// number"); the API's body readers say it the same way.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

// ---- the card on file ----------------------------------------------------

/// What an order may carry of the card the customer paid with: the gateway's
/// token and what PCI DSS Req. 3.4.1 lets us show (brand, last four,
/// expiry month and year). Never the number.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct CardOnFile {
    pub token: Option<String>,
    pub brand: Option<Brand>,
    pub last4: Option<String>,
    pub exp_month: Option<u32>,
    pub exp_year: Option<u32>,
}

impl std::fmt::Debug for CardOnFile {
    /// The token is not card data, but it can charge: kept out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardOnFile")
            .field("token", &self.token.as_ref().map(|_| "<token>"))
            .field("brand", &self.brand)
            .field("last4", &self.last4)
            .finish()
    }
}

impl CardOnFile {
    /// The console's view: `XXXX XXXX XXXX 4242`, brand, expiry month/year.
    pub fn masked(&self) -> Value {
        json!({
            "number": self.last4.as_ref().map(|l| format!("XXXX XXXX XXXX {l}")),
            "brand": self.brand.map(Brand::as_str),
            "exp_month": self.exp_month,
            "exp_year": self.exp_year,
        })
    }
}

/// Whether `token` holds what looks like a card number: a run of 13 to 19
/// digits (spaces and dashes between them ignored) passing the Luhn check
/// (ISO/IEC 7812-1). A merchant pasting a PAN where the gateway token goes
/// must be refused before it reaches a row, a log or a webhook (PCI DSS
/// Req. 3.5).
pub fn looks_like_pan(token: &str) -> bool {
    let mut run: Vec<u8> = Vec::new();
    let check = |run: &mut Vec<u8>| {
        let hit = (13..=19).contains(&run.len()) && luhn_valid(run);
        run.clear();
        hit
    };
    for b in token.bytes() {
        if b.is_ascii_digit() {
            run.push(b);
        } else if (b == b' ' || b == b'-') && !run.is_empty() {
            continue;
        } else if check(&mut run) {
            return true;
        }
    }
    check(&mut run)
}

/// A gateway token as accepted: 1 to 200 of `A-Z a-z 0-9 _ . : -`, and
/// nothing that looks like a card number.
pub fn check_token(token: &str) -> Result<(), FieldError> {
    if looks_like_pan(token) {
        return Err(bad(
            "payment_token",
            "looks like a card number; send the gateway's token, never the card",
        ));
    }
    let ok = !token.is_empty()
        && token.len() <= MAX_TOKEN
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "payment_token",
            format!("must be 1 to {MAX_TOKEN} of A-Z a-z 0-9 _ . : -"),
        ))
    }
}

/// A brand name as [`Brand::as_str`] writes it.
pub fn parse_brand(s: &str) -> Option<Brand> {
    [
        Brand::Visa,
        Brand::Mastercard,
        Brand::Amex,
        Brand::Discover,
        Brand::DinersClub,
        Brand::Jcb,
        Brand::UnionPay,
        Brand::Unknown,
    ]
    .into_iter()
    .find(|b| b.as_str() == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Value {
        json!({
            "name": "Lawn suit",
            "upsells": [
                { "id": "scarf", "name": "Silk scarf", "products": ["SC-1"], "quantities": [1, 2], "prices": { "PKR": "1500.50", "EUR": "9.99" } },
                { "id": "shoes", "name": "Shoes", "products": ["SH-1", "SH-2"], "quantities": [1], "prices": { "PKR": "4000" } }
            ],
            "shipping": [ { "id": "std", "name": "Standard", "prices": { "PKR": "200", "EUR": "0" } } ]
        })
    }

    fn field_of(v: Value) -> String {
        Catalog::parse(&v, PriceForm::Decimal)
            .expect_err("refused")
            .field
    }

    #[test]
    fn a_catalog_round_trips_through_both_forms() {
        let c = Catalog::parse(&catalog(), PriceForm::Decimal).expect("catalog");
        assert_eq!(c.upsells[0].prices["PKR"].minor(), 150_050);
        let stored = c.to_json(PriceForm::Minor);
        assert_eq!(stored["upsells"][0]["prices"]["PKR"], 150_050);
        assert_eq!(
            Catalog::parse(&stored, PriceForm::Minor).expect("stored"),
            c
        );
        assert_eq!(
            c.to_json(PriceForm::Decimal)["upsells"][0]["prices"]["PKR"],
            "1500.50"
        );
    }

    #[test]
    fn bad_fields_are_named_with_their_path() {
        let mut v = catalog();
        v["upsells"][1]["prices"]["EUR"] = json!("1.234");
        assert_eq!(field_of(v), "upsells[1].prices.EUR");
        let mut v = catalog();
        v["upsells"][1]["prices"]["EUR"] = json!(1.5);
        assert_eq!(field_of(v), "upsells[1].prices.EUR");
        let mut v = catalog();
        v["upsells"][0]["prices"]["eur"] = json!("1");
        assert_eq!(field_of(v), "upsells[0].prices.eur");
        let mut v = catalog();
        v["upsells"][0]["quantities"] = json!([1, 0]);
        assert_eq!(field_of(v), "upsells[0].quantities[1]");
        let mut v = catalog();
        v["upsells"][1]["id"] = json!("scarf");
        assert_eq!(field_of(v), "upsells[1].id");
        let mut v = catalog();
        v["shipping"][0]["colour"] = json!("red");
        assert_eq!(field_of(v), "shipping[0].colour");
        let mut v = catalog();
        v["upsells"][0]["prices"]["PKR"] = json!("0");
        assert_eq!(field_of(v), "upsells[0].prices.PKR");
        assert_eq!(field_of(json!({ "upsells": [] })), "upsells");
    }

    #[test]
    fn a_quote_is_in_the_orders_currency_or_names_the_missing_price() {
        let c = Catalog::parse(&catalog(), PriceForm::Decimal).expect("catalog");
        let pkr = Currency::PKR;
        let q = c.quote("scarf", 2, "std", pkr).expect("quote");
        assert_eq!(q.total.to_string(), "3201.00");
        assert_eq!(q.items.minor(), 300_100);
        let eur = Currency::parse("EUR").expect("EUR");
        assert_eq!(
            c.quote("scarf", 1, "std", eur)
                .expect("eur")
                .total
                .to_string(),
            "9.99"
        );
        assert_eq!(
            c.quote("shoes", 1, "std", eur).expect_err("no EUR").field,
            "upsell"
        );
        let jpy = Currency::parse("JPY").expect("JPY");
        assert_eq!(
            c.quote("scarf", 1, "std", jpy).expect_err("no JPY").field,
            "upsell"
        );
        assert_eq!(
            c.quote("scarf", 3, "std", pkr).expect_err("qty").field,
            "quantity"
        );
        assert_eq!(
            c.quote("hat", 1, "std", pkr).expect_err("upsell").field,
            "upsell"
        );
        assert_eq!(
            c.quote("scarf", 1, "air", pkr).expect_err("ship").field,
            "shipping"
        );
    }

    #[test]
    fn card_numbers_are_refused_as_tokens() {
        for pan in [
            "4242424242424242",
            "4242 4242 4242 4242",
            "4242-4242-4242-4242",
            "378282246310005",
            "tok_4242424242424242",
        ] {
            assert!(looks_like_pan(pan), "{pan}");
            assert_eq!(check_token(pan).expect_err(pan).field, "payment_token");
        }
        for token in [
            "tok_visa",
            "tok_1N3T00LkdIwHu7ix",
            "4242424242424241",
            "123456789012",
        ] {
            assert!(!looks_like_pan(token), "{token}");
        }
        assert!(check_token("tok_visa").is_ok());
        assert!(check_token("tok visa").is_err());
        assert_eq!(parse_brand("visa"), Some(Brand::Visa));
        assert_eq!(parse_brand("Visa"), None);
        let card = CardOnFile {
            token: Some("tok_visa".into()),
            brand: Some(Brand::Visa),
            last4: Some("4242".into()),
            exp_month: Some(12),
            exp_year: Some(2030),
        };
        assert_eq!(card.masked()["number"], "XXXX XXXX XXXX 4242");
        assert!(!format!("{card:?}").contains("tok_visa"));
    }
}
