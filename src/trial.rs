//! Trial orders (issue #15) at the edge of the sans-IO rules in
//! `orderline_trial`: the `trial` object of `POST /v1/orders` read into exact
//! money, the stored trial a new order carries, the workflow as the API
//! shows it and the webhooks' data.
//!
//! Plain data, no I/O (the daemon's `daemon::trials` runs the steps). Card
//! data never appears: a charge row's result holds a transaction id or a
//! reason code, and the webhooks carry the card's brand and last four only.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::money::{Currency, Money};
use crate::store::{NewTrial, TrialTerms};
use crate::upsell::{json_kind, CardOnFile, FieldError};

pub use orderline_trial::{
    charged, day_at, due, extend, notified, resendable, schedule, ChargeOutcome, Plan, Row,
    RowType, Status, Step, TrialError, Work, CHARGE_FAILED, EXTENSION_DAYS, MAX_DAYS,
};

/// The `trial` object as posted: days and two exact amounts in the order's
/// currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrialInput {
    pub days: u32,
    pub product: Money,
    pub shipping: Money,
}

fn bad(field: &str, reason: impl Into<String>) -> FieldError {
    FieldError {
        field: format!("trial.{field}"),
        reason: reason.into(),
    }
}

/// Read `trial` (`{"days", "product_amount", "shipping_amount", "currency"?}`)
/// in `currency`, the order's; errors name `trial.<field>`.
pub fn parse(v: &Value, currency: Currency) -> Result<TrialInput, FieldError> {
    let map: &Map<String, Value> = v.as_object().ok_or_else(|| FieldError {
        field: "trial".into(),
        reason: format!("must be an object, not {}", json_kind(v)),
    })?;
    const FIELDS: [&str; 4] = ["days", "product_amount", "shipping_amount", "currency"];
    if let Some(k) = map.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(bad(
            k,
            format!("unknown field; expected {}", FIELDS.join(", ")),
        ));
    }
    let days = match map.get("days") {
        None | Some(Value::Null) => return Err(bad("days", "is required")),
        Some(d) => d
            .as_u64()
            .filter(|d| (1..=u64::from(MAX_DAYS)).contains(d))
            .and_then(|d| u32::try_from(d).ok())
            .ok_or_else(|| bad("days", format!("must be an integer from 1 to {MAX_DAYS}")))?,
    };
    match map.get("currency") {
        None | Some(Value::Null) => {}
        Some(Value::String(c)) if c == currency.code() => {}
        Some(_) => {
            return Err(bad(
                "currency",
                format!("must be the order's currency, {}", currency.code()),
            ))
        }
    }
    let amount = |field: &str| -> Result<Money, FieldError> {
        match map.get(field) {
            None | Some(Value::Null) => Err(bad(field, "is required")),
            Some(Value::String(s)) => {
                Money::parse(s, currency).map_err(|e| bad(field, e.to_string()))
            }
            Some(other) => Err(bad(
                field,
                format!(
                    "must be a decimal string like \"49.00\" (exact, in {}'s minor units), not {}",
                    currency.code(),
                    json_kind(other)
                ),
            )),
        }
    };
    Ok(TrialInput {
        days,
        product: amount("product_amount")?,
        shipping: amount("shipping_amount")?,
    })
}

/// The trial a new order is stored with: its terms and first rows, placed
/// at `now`, days counted in `zone` (named `zone_name`).
pub fn new_trial(
    input: TrialInput,
    zone_name: &str,
    zone: Tz,
    now: DateTime<Utc>,
) -> Result<NewTrial, TrialError> {
    let rows = schedule(&Plan {
        days: input.days,
        placed_at: now,
        zone,
    })?;
    Ok(NewTrial {
        terms: TrialTerms {
            days: input.days,
            product: input.product,
            shipping: input.shipping,
            timezone: zone_name.to_string(),
            placed_at: now,
            extended_at: None,
        },
        rows,
    })
}

/// The rules' plan of stored terms (`None`: the stored zone is unknown).
pub fn plan_of(terms: &TrialTerms) -> Option<Plan> {
    let zone: Tz = terms.timezone.parse().ok()?;
    Some(Plan {
        days: terms.days,
        placed_at: terms.placed_at,
        zone,
    })
}

/// The amount a charge row takes: the product at the end, S&H at once.
pub fn amount_of(terms: &TrialTerms, step: Step) -> Money {
    if step.charges_product() {
        terms.product
    } else {
        terms.shipping
    }
}

/// The gateway idempotency key of try `attempt` of charge row `seq`: the
/// same on every run of that try (a restart never charges twice), another
/// for the retry. The order id is hashed (it may hold characters keys may
/// not).
pub fn charge_key(order_id: &str, seq: u32, attempt: u32) -> String {
    let digest = Sha256::digest(order_id.as_bytes());
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("trial_{hex}_{seq}_{attempt}")
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// When the trial ends now (its charge row's time).
pub fn ends_at(rows: &[Row]) -> Option<DateTime<Utc>> {
    rows.iter()
        .find(|r| r.step == Step::Charge)
        .map(|r| r.scheduled_at)
}

/// One workflow row as `GET /v1/orders/{id}/workflow` shows it.
pub fn row_json(r: &Row) -> Value {
    json!({
        "row": r.seq,
        "step": r.step.as_str(),
        "type": r.step.row_type().as_str(),
        "description": r.description,
        "status": r.status.as_str(),
        "scheduled_at": time(r.scheduled_at),
        "executed_at": r.executed_at.map(time),
        "result": r.result,
        "actions": if resendable(r).is_ok() { json!(["resend"]) } else { json!([]) },
    })
}

/// The trial's terms as shown (exact decimal text).
pub fn terms_json(terms: &TrialTerms, rows: &[Row]) -> Value {
    json!({
        "days": terms.days,
        "product_amount": terms.product.to_string(),
        "shipping_amount": terms.shipping.to_string(),
        "currency": terms.product.currency().code(),
        "timezone": terms.timezone,
        "placed_at": time(terms.placed_at),
        "extended": terms.extended_at.is_some(),
        "ends_at": ends_at(rows).map(time),
    })
}

/// A trial webhook's data: the order, the row, the terms; for a charge its
/// amount, outcome and the card's brand and last four (never more).
pub fn event_data(
    order_id: &str,
    terms: &TrialTerms,
    rows: &[Row],
    row: &Row,
    card: &CardOnFile,
    now: DateTime<Utc>,
) -> Value {
    let mut data = json!({
        "order_id": order_id,
        "row": row.seq,
        "step": row.step.as_str(),
        "description": row.description,
        "trial": terms_json(terms, rows),
        "at": time(now),
    });
    let charge = match row.step {
        Step::Placed | Step::Charge => Some(row),
        Step::PaymentConfirmation => rows.iter().find(|r| r.step == Step::Charge),
        _ => None,
    };
    if let Some(c) = charge {
        let amount = amount_of(terms, c.step);
        data["charge"] = json!({
            "row": c.seq,
            "amount": amount.to_string(),
            "currency": amount.currency().code(),
            "status": c.status.as_str(),
            "result": c.result,
            "card": { "brand": card.brand.map(|b| b.as_str()), "last4": card.last4 },
        });
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_fields_are_exact_and_named() {
        let pkr = Currency::PKR;
        let t = parse(
            &json!({"days": 15, "product_amount": "4999.50", "shipping_amount": "250"}),
            pkr,
        )
        .expect("trial");
        assert_eq!(
            (t.days, t.product.minor(), t.shipping.minor()),
            (15, 499_950, 25_000)
        );
        let field = |v: Value| parse(&v, pkr).expect_err("refused").field;
        let ok = json!({"days": 15, "product_amount": "1", "shipping_amount": "1"});
        for (k, v, f) in [
            ("days", json!(0), "trial.days"),
            ("days", json!(91), "trial.days"),
            ("days", json!("15"), "trial.days"),
            ("product_amount", json!("1.234"), "trial.product_amount"),
            ("product_amount", json!(49.5), "trial.product_amount"),
            ("shipping_amount", json!(null), "trial.shipping_amount"),
            ("currency", json!("EUR"), "trial.currency"),
            ("colour", json!("red"), "trial.colour"),
        ] {
            let mut v2 = ok.clone();
            v2[k] = v;
            assert_eq!(field(v2), f, "{k}");
        }
        assert_eq!(field(json!([1])), "trial");
    }

    #[test]
    fn charge_keys_are_stable_per_try_and_valid() {
        let a = charge_key("ORD 1/ü", 5, 1);
        assert_eq!(a, charge_key("ORD 1/ü", 5, 1));
        assert_ne!(a, charge_key("ORD 1/ü", 5, 2));
        assert_ne!(a, charge_key("ORD 2", 5, 1));
        assert!(crate::payments::IdempotencyKey::new(&a).is_ok(), "{a}");
    }
}
