//! The payment flow's script file (`[payment]` in `dialplans/payment.toml`):
//! prompts per step, lengths and time limits, validated on load.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::ivr::dialplan::DialplanError;
use crate::payments::card::{PostalRule, POSTAL_MAX};

/// If the media layer never reports a prompt done, treat the caller as silent
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaymentFile {
    payment: PaymentPlan,
}

/// The payment flow's script and rules (`[payment]` in `dialplans/payment.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PaymentPlan {
    /// Step 1: "the amount to pay is …" (uses `$amount`).
    pub amount: Vec<String>,
    pub card_number: Vec<String>,
    pub expiry: Vec<String>,
    pub cvc: Vec<String>,
    pub postal_code: Vec<String>,
    /// After each step: "press 1 to confirm, press 2 to re-enter".
    pub menu: Vec<String>,
    /// Before the step's prompt again after an invalid entry or key.
    pub invalid: Vec<String>,
    pub approved: Vec<String>,
    pub declined: Vec<String>,
    /// Played when the session fails for any other reason (timeouts, gateway).
    pub failed: Vec<String>,
    pub cancelled: Vec<String>,
    pub confirm_key: char,
    pub reenter_key: char,
    pub cancel_key: char,
    /// Ends a variable-length entry (card number, postal code).
    pub end_key: char,
    /// Silence after a prompt before the session fails (default 60 s).
    pub no_input_timeout: String,
    /// A pause this long after the last digit ends the entry.
    pub digit_pause: String,
    /// Invalid entries on one step; reaching this many fails the session.
    pub max_invalid: u32,
    pub ask_postal_code: bool,
    pub postal_code_min: usize,
    pub postal_code_max: usize,
    /// Last-resort guard if the driver never reports the charge result.
    pub charge_timeout: String,
}

impl Default for PaymentPlan {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        let postal = PostalRule::default();
        Self {
            amount: v(&["amount_to_pay", "$amount"]),
            card_number: v(&["enter_card_number"]),
            expiry: v(&["enter_expiry"]),
            cvc: v(&["enter_cvc"]),
            postal_code: v(&["enter_postal_code"]),
            menu: v(&["press_1_confirm_2_reenter"]),
            invalid: v(&["invalid_key"]),
            approved: v(&["payment_approved"]),
            declined: v(&["payment_declined"]),
            failed: v(&["payment_declined"]),
            cancelled: v(&["payment_cancelled"]),
            confirm_key: '1',
            reenter_key: '2',
            cancel_key: '*',
            end_key: '#',
            no_input_timeout: "60s".into(),
            digit_pause: "5s".into(),
            max_invalid: 3,
            ask_postal_code: true,
            postal_code_min: postal.min_len,
            postal_code_max: postal.max_len,
            charge_timeout: "45s".into(),
        }
    }
}

const KEYS: &str = "0123456789*#ABCD";

impl PaymentPlan {
    /// Load `[payment]` from a dialplan file.
    pub fn load(path: &Path) -> Result<Self, DialplanError> {
        let file: PaymentFile = crate::ivr::dialplan::read_toml(path)?;
        file.payment.validate()?;
        Ok(file.payment)
    }

    pub fn validate(&self) -> Result<(), DialplanError> {
        let bad = |key: &str, reason: &str| DialplanError::Invalid {
            key: format!("payment.{key}"),
            reason: reason.into(),
        };
        let keys = [
            ("confirm_key", self.confirm_key),
            ("reenter_key", self.reenter_key),
            ("cancel_key", self.cancel_key),
            ("end_key", self.end_key),
        ];
        for (i, (name, k)) in keys.iter().enumerate() {
            if !KEYS.contains(*k) {
                return Err(bad(name, "must be a DTMF key 0-9 * # A-D"));
            }
            if keys[..i].iter().any(|(_, other)| other == k) {
                return Err(bad(name, "must differ from the other keys"));
            }
        }
        // Keys that end or cancel an entry cannot also be card digits.
        for (name, k) in &keys[2..] {
            if k.is_ascii_digit() {
                return Err(bad(name, "must not be a digit (digits are card data)"));
            }
        }
        if self.menu.is_empty() {
            return Err(bad("menu", "must name at least one prompt"));
        }
        if self.max_invalid == 0 {
            return Err(bad("max_invalid", "must be at least 1"));
        }
        if self.postal_code_min == 0
            || self.postal_code_min > self.postal_code_max
            || self.postal_code_max > POSTAL_MAX
        {
            return Err(bad(
                "postal_code_min",
                "need 1 <= postal_code_min <= postal_code_max <= 10",
            ));
        }
        for (key, min) in [
            ("no_input_timeout", Duration::from_secs(1)),
            ("digit_pause", Duration::from_secs(1)),
            ("charge_timeout", Duration::from_secs(1)),
        ] {
            if self.duration(key)? < min {
                return Err(bad(key, "must be at least 1s"));
            }
        }
        Ok(())
    }

    pub(super) fn duration(&self, key: &str) -> Result<Duration, DialplanError> {
        let s = match key {
            "no_input_timeout" => &self.no_input_timeout,
            "digit_pause" => &self.digit_pause,
            _ => &self.charge_timeout,
        };
        crate::config::parse_duration(s).map_err(|reason| DialplanError::Invalid {
            key: format!("payment.{key}"),
            reason,
        })
    }

    pub fn no_input_timeout(&self) -> Result<Duration, DialplanError> {
        self.duration("no_input_timeout")
    }

    /// The flow's last-resort wait for the gateway's answer.
    pub fn charge_timeout(&self) -> Result<Duration, DialplanError> {
        self.duration("charge_timeout")
    }
}
