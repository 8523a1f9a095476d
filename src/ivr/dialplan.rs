//! Dialplan files: what a flow says and which keys mean what.
//!
//! Format: TOML, one table per flow (`dialplans/confirm.toml` holds
//! `[confirm]`). Prompt lists name WAV files under `prompts/<locale>/`;
//! a name starting with `$` is a variable the call fills in (`$amount` becomes
//! the spoken order amount, e.g. `["2", "thousand", "4", "hundred", "50", "rupees"]`).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DialplanError {
    #[error("cannot read dialplan {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("dialplan {path}: {source}")]
    Syntax {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("dialplan key `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    #[error("dialplan variable `{0}` has no value for this call")]
    MissingVariable(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfirmFile {
    confirm: ConfirmPlan,
}

/// The confirm flow's script and rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmPlan {
    /// Played once on answer, before the menu.
    pub greeting: Vec<String>,
    /// The order summary (uses `$amount`).
    pub summary: Vec<String>,
    /// The question: "press 1 to confirm, press 2 to cancel".
    pub menu: Vec<String>,
    /// After a wrong key, before the menu again.
    pub invalid: Vec<String>,
    /// After silence, before the menu again.
    pub no_input: Vec<String>,
    pub confirmed: Vec<String>,
    pub cancelled: Vec<String>,
    /// Played before hanging up when no valid answer came.
    pub goodbye: Vec<String>,
    pub confirm_key: char,
    pub cancel_key: char,
    /// Re-prompts after wrong keys before the call ends as `no_input`.
    pub max_invalid: u32,
    /// Silence after the menu before it is repeated.
    pub no_input_timeout: String,
    /// How many times the menu is repeated after silence.
    pub no_input_repeats: u32,
}

impl Default for ConfirmPlan {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Self {
            greeting: v(&["greeting"]),
            summary: v(&["order_total", "$amount"]),
            menu: v(&["press_1_confirm_2_cancel"]),
            invalid: v(&["invalid_key"]),
            no_input: v(&["no_input"]),
            confirmed: v(&["confirmed_thanks"]),
            cancelled: v(&["cancelled_thanks"]),
            goodbye: v(&["goodbye"]),
            confirm_key: '1',
            cancel_key: '2',
            max_invalid: 3,
            no_input_timeout: "5s".into(),
            no_input_repeats: 1,
        }
    }
}

const KEYS: &str = "0123456789*#ABCD";

impl ConfirmPlan {
    /// Load `[confirm]` from a dialplan file.
    pub fn load(path: &Path) -> Result<Self, DialplanError> {
        let file: ConfirmFile = read_toml(path)?;
        file.confirm.validate()?;
        Ok(file.confirm)
    }

    pub fn validate(&self) -> Result<(), DialplanError> {
        let bad = |key: &str, reason: &str| DialplanError::Invalid {
            key: format!("confirm.{key}"),
            reason: reason.into(),
        };
        if !KEYS.contains(self.confirm_key) {
            return Err(bad("confirm_key", "must be a DTMF key 0-9 * # A-D"));
        }
        if !KEYS.contains(self.cancel_key) {
            return Err(bad("cancel_key", "must be a DTMF key 0-9 * # A-D"));
        }
        if self.confirm_key == self.cancel_key {
            return Err(bad("cancel_key", "must differ from confirm_key"));
        }
        if self.menu.is_empty() {
            return Err(bad("menu", "must name at least one prompt"));
        }
        let t = self.no_input_timeout()?;
        if t < Duration::from_secs(1) {
            return Err(bad("no_input_timeout", "must be at least 1s"));
        }
        Ok(())
    }

    pub fn no_input_timeout(&self) -> Result<Duration, DialplanError> {
        crate::config::parse_duration(&self.no_input_timeout).map_err(|reason| {
            DialplanError::Invalid {
                key: "confirm.no_input_timeout".into(),
                reason,
            }
        })
    }
}

/// Read and parse a dialplan file into `T` (one flow's `[table]` wrapper),
/// with errors naming the file.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DialplanError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| DialplanError::Read {
        path: name.clone(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| DialplanError::Syntax {
        path: name,
        source: Box::new(e),
    })
}

/// Replace `$name` entries with the call's values.
pub fn expand(
    seq: &[String],
    vars: &HashMap<String, Vec<String>>,
) -> Result<Vec<String>, DialplanError> {
    let mut out = Vec::with_capacity(seq.len());
    for item in seq {
        match item.strip_prefix('$') {
            Some(var) => out.extend(
                vars.get(var)
                    .ok_or_else(|| DialplanError::MissingVariable(var.to_string()))?
                    .iter()
                    .cloned(),
            ),
            None => out.push(item.clone()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_dialplan_is_valid_and_matches_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("dialplans/confirm.toml");
        let plan = ConfirmPlan::load(&path).expect("shipped dialplan loads");
        assert_eq!(plan.confirm_key, '1');
        assert_eq!(plan.cancel_key, '2');
        assert_eq!(plan.max_invalid, 3);
        assert_eq!(plan.summary, ConfirmPlan::default().summary);
    }

    #[test]
    fn bad_keys_are_named() {
        let p = ConfirmPlan {
            cancel_key: '1',
            ..ConfirmPlan::default()
        };
        let e = p.validate().unwrap_err().to_string();
        assert!(e.contains("confirm.cancel_key"), "{e}");
        let p = ConfirmPlan {
            confirm_key: 'x',
            ..ConfirmPlan::default()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("confirm.confirm_key"));
    }

    #[test]
    fn variables_expand_and_missing_ones_are_errors() {
        let mut vars = HashMap::new();
        vars.insert(
            "amount".to_string(),
            vec!["5".to_string(), "rupees".to_string()],
        );
        let seq = vec!["order_total".to_string(), "$amount".to_string()];
        assert_eq!(
            expand(&seq, &vars).unwrap(),
            vec!["order_total", "5", "rupees"]
        );
        assert!(matches!(
            expand(&["$nope".to_string()], &vars),
            Err(DialplanError::MissingVariable(v)) if v == "nope"
        ));
    }
}
