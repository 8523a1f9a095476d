//! The parts of an order the confirmation script reads out (issue #13) and
//! the free-text delivery fields of issue #10: store name, order number,
//! delivery fee, customer name, address and notes.
//!
//! They sit apart from [`super::NewOrder`]'s core fields so the rules and the
//! dial-up code, which never read them, keep a small record. `customer_name`
//! and `address` are personal data: the `Debug` form hides them, so a stray
//! `?order` in a log line never writes them (issue #13: "never logged at info").

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::dialer::Amount;

/// Longest store name, customer name, address and notes (characters).
pub const MAX_STORE: usize = 100;
pub const MAX_NUMBER: usize = 32;
pub const MAX_NAME: usize = 200;
pub const MAX_ADDRESS: usize = 500;
pub const MAX_NOTES: usize = 2000;

/// Script fields of an order; all optional as posted. The API fills
/// `store` from `[merchant] name` and `number` from the id before storing.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderScript {
    /// The shop's display name, spoken in the greeting.
    pub store: Option<String>,
    /// The reference the customer knows; its digits are read one by one.
    pub number: Option<String>,
    /// Delivery fee, exact decimal text with the same rules as `amount`,
    /// already included in `amount` (the script says "including delivery").
    pub delivery_fee: Option<String>,
    pub customer_name: Option<String>,
    /// Free text (issue #10).
    pub address: Option<String>,
    /// Free text (issue #10).
    pub notes: Option<String>,
    /// Why the call's dynamic text could not be prepared (set by the
    /// daemon, never posted); `None` when it was, or has not been tried.
    pub prep_error: Option<String>,
}

impl std::fmt::Debug for OrderScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |v: &Option<String>| v.as_ref().map(|_| "<hidden>");
        f.debug_struct("OrderScript")
            .field("store", &self.store)
            .field("number", &self.number)
            .field("delivery_fee", &self.delivery_fee)
            .field("customer_name", &hidden(&self.customer_name))
            .field("address", &hidden(&self.address))
            .field("notes", &hidden(&self.notes))
            .field("prep_error", &self.prep_error)
            .finish()
    }
}

impl OrderScript {
    /// Check each posted field, naming it.
    pub fn validate(&self) -> Result<(), StoreError> {
        text("store", self.store.as_deref(), MAX_STORE, false)?;
        text("number", self.number.as_deref(), MAX_NUMBER, false)?;
        text(
            "customer_name",
            self.customer_name.as_deref(),
            MAX_NAME,
            false,
        )?;
        text("address", self.address.as_deref(), MAX_ADDRESS, true)?;
        text("notes", self.notes.as_deref(), MAX_NOTES, true)?;
        if let Some(fee) = &self.delivery_fee {
            Amount::parse(fee).map_err(|e| StoreError::InvalidOrder {
                field: "delivery_fee",
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// Posted fields that differ from the stored ones (fees by value).
    pub fn differences(&self, stored: &OrderScript, diff: &mut Vec<&'static str>) {
        let pairs = [
            ("store", &self.store, &stored.store),
            ("number", &self.number, &stored.number),
            ("customer_name", &self.customer_name, &stored.customer_name),
            ("address", &self.address, &stored.address),
            ("notes", &self.notes, &stored.notes),
        ];
        for (name, a, b) in pairs {
            if a != b {
                diff.push(name);
            }
        }
        let fee = |f: &Option<String>| f.as_deref().map(|t| Amount::parse(t).ok());
        if fee(&self.delivery_fee) != fee(&stored.delivery_fee) {
            diff.push("delivery_fee");
        }
    }
}

/// 1..=`max` characters; no control characters except, where `multiline`,
/// line breaks and tabs (addresses and notes are pasted from forms).
fn text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<(), StoreError> {
    let Some(v) = value else { return Ok(()) };
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    let count = v.chars().count();
    if v.trim().is_empty() || count > max || v.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(StoreError::InvalidOrder {
            field,
            reason: format!("must be 1 to {max} printable characters"),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(s: &OrderScript) -> &'static str {
        match s.validate() {
            Err(StoreError::InvalidOrder { field, .. }) => field,
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn each_bad_field_is_named() {
        let ok = OrderScript {
            store: Some("Lawn House".into()),
            number: Some("1042".into()),
            delivery_fee: Some("150.00".into()),
            customer_name: Some("Ayesha".into()),
            address: Some("House 5,\nStreet 9".into()),
            notes: Some("call after 5".into()),
            prep_error: None,
        };
        assert!(ok.validate().is_ok());
        let with = |f: fn(&mut OrderScript)| {
            let mut s = ok.clone();
            f(&mut s);
            s
        };
        assert_eq!(
            field(&with(|s| s.delivery_fee = Some("1,5".into()))),
            "delivery_fee"
        );
        assert_eq!(
            field(&with(|s| s.delivery_fee = Some("-1".into()))),
            "delivery_fee"
        );
        assert_eq!(field(&with(|s| s.store = Some(" ".into()))), "store");
        assert_eq!(field(&with(|s| s.number = Some("x".repeat(33)))), "number");
        assert_eq!(
            field(&with(|s| s.customer_name = Some("a\nb".into()))),
            "customer_name"
        );
        assert_eq!(
            field(&with(|s| s.address = Some("a\u{7}".into()))),
            "address"
        );
        assert_eq!(field(&with(|s| s.notes = Some(String::new()))), "notes");
    }

    #[test]
    fn debug_hides_personal_data() {
        let s = OrderScript {
            customer_name: Some("Ayesha Khan".into()),
            address: Some("House 5".into()),
            ..OrderScript::default()
        };
        let d = format!("{s:?}");
        assert!(!d.contains("Ayesha") && !d.contains("House 5"), "{d}");
        assert!(d.contains("<hidden>"), "{d}");
    }

    #[test]
    fn fees_compare_by_value() {
        let a = OrderScript {
            delivery_fee: Some("150".into()),
            ..OrderScript::default()
        };
        let b = OrderScript {
            delivery_fee: Some("150.00".into()),
            ..OrderScript::default()
        };
        let mut diff = Vec::new();
        a.differences(&b, &mut diff);
        assert!(diff.is_empty(), "{diff:?}");
        let c = OrderScript {
            number: Some("7".into()),
            ..b
        };
        a.differences(&c, &mut diff);
        assert_eq!(diff, vec!["number"]);
    }
}
