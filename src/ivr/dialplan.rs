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

/// One part of the confirmation script (issue #13): what it says, in order.
///
/// `$name` entries are the call's variables; `$name?` may be empty. When a
/// plain `$name` has nothing to say for this order (no delivery fee, no
/// store name), the part says `otherwise` instead (empty: the part is left out).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptPart {
    /// A name for the merchant and the logs (`greeting`, `number`, ...).
    pub part: String,
    pub say: Vec<String>,
    #[serde(default)]
    pub otherwise: Vec<String>,
    /// Whether the repeat key plays this part again (the greeting: no).
    #[serde(default = "yes")]
    pub repeat: bool,
}

fn yes() -> bool {
    true
}

/// The confirm flow's script and rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfirmPlan {
    /// The script as parts a merchant can reorder or drop (`[[confirm.script]]`).
    /// When present, `greeting` and `summary` are not used.
    pub script: Vec<ScriptPart>,
    /// Played once on answer, before the menu (without a `script`).
    pub greeting: Vec<String>,
    /// The order summary (uses `$amount`; without a `script`).
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
    /// "Talk to a person" (issue #13): the hold prompt, then the operator
    /// seam; unset: the key is a wrong key.
    pub operator_key: Option<char>,
    /// "Hear this again": the script's repeatable parts and the menu again.
    pub repeat_key: Option<char>,
    /// How often the repeat key works before it counts as a wrong key.
    pub max_repeats: u32,
    /// Played while we look for a ready operator.
    pub hold: Vec<String>,
    /// How long the customer holds before the order becomes a callback.
    pub operator_wait: String,
    /// "Nobody is free; we will call you back", then BYE (outcome `operator`).
    pub operator_callback: Vec<String>,
    /// Items read out before "and N more items".
    pub max_items: u32,
}

impl Default for ConfirmPlan {
    fn default() -> Self {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Self {
            script: Vec::new(),
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
            operator_key: None,
            repeat_key: None,
            max_repeats: 3,
            hold: v(&["operator_hold"]),
            operator_wait: "10s".into(),
            operator_callback: v(&["operator_callback"]),
            max_items: 3,
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
        let mut used = vec![self.confirm_key, self.cancel_key];
        for (key, name) in [
            (self.operator_key, "operator_key"),
            (self.repeat_key, "repeat_key"),
        ] {
            if let Some(k) = key {
                if !KEYS.contains(k) {
                    return Err(bad(name, "must be a DTMF key 0-9 * # A-D"));
                }
                if used.contains(&k) {
                    return Err(bad(name, "must differ from the other keys"));
                }
                used.push(k);
            }
        }
        let wait = self.operator_wait()?;
        if wait > Duration::from_secs(120) {
            return Err(bad("operator_wait", "must be at most 2m (a short hold)"));
        }
        for p in &self.script {
            if p.say.is_empty() {
                return Err(bad("script", &format!("part {:?} says nothing", p.part)));
            }
        }
        Ok(())
    }

    pub fn operator_wait(&self) -> Result<Duration, DialplanError> {
        crate::config::parse_duration(&self.operator_wait).map_err(|reason| {
            DialplanError::Invalid {
                key: "confirm.operator_wait".into(),
                reason,
            }
        })
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

/// The script's parts said in order, each `$name` replaced; a part whose
/// plain variable is empty says its `otherwise` (issue #13); a part with a
/// rendering of its own (variable `@<part>`) says that instead. `only_repeat`
/// keeps the parts the repeat key plays again.
pub fn expand_script(
    parts: &[ScriptPart],
    vars: &HashMap<String, Vec<String>>,
    only_repeat: bool,
) -> Result<Vec<String>, DialplanError> {
    let mut out = Vec::new();
    for p in parts.iter().filter(|p| p.repeat || !only_repeat) {
        // The part rendered whole for this order (`ivr::script::Phrases`).
        if let Some(whole) = vars.get(&format!("@{}", p.part)).filter(|v| !v.is_empty()) {
            out.extend(whole.iter().cloned());
            continue;
        }
        let mut said = Vec::new();
        let mut empty = false;
        for item in &p.say {
            let Some(var) = item.strip_prefix('$') else {
                said.push(item.clone());
                continue;
            };
            let (var, optional) = match var.strip_suffix('?') {
                Some(v) => (v, true),
                None => (var, false),
            };
            let value = vars
                .get(var)
                .ok_or_else(|| DialplanError::MissingVariable(var.to_string()))?;
            empty |= value.is_empty() && !optional;
            said.extend(value.iter().cloned());
        }
        if empty {
            out.extend(expand(&p.otherwise, vars)?);
        } else {
            out.extend(said);
        }
    }
    Ok(out)
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
        assert_eq!(plan.operator_key, Some('3'));
        assert_eq!(plan.repeat_key, Some('9'));
        let parts: Vec<&str> = plan.script.iter().map(|p| p.part.as_str()).collect();
        assert_eq!(parts, ["greeting", "number", "items", "total"]);
    }

    fn part(name: &str, say: &[&str], otherwise: &[&str], repeat: bool) -> ScriptPart {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        ScriptPart {
            part: name.into(),
            say: v(say),
            otherwise: v(otherwise),
            repeat,
        }
    }

    #[test]
    fn script_parts_fall_back_and_repeat_skips_the_greeting() {
        let parts = [
            part(
                "greeting",
                &["hello", "$name?", "calling_from", "$store"],
                &["greeting"],
                false,
            ),
            part(
                "total",
                &["with_fee", "$fee", "total_is", "$amount"],
                &["order_total", "$amount"],
                true,
            ),
        ];
        let mut vars: HashMap<String, Vec<String>> = HashMap::new();
        vars.insert("name".into(), vec![]);
        vars.insert("store".into(), vec!["tts_ab".into()]);
        vars.insert("fee".into(), vec![]);
        vars.insert("amount".into(), vec!["5".into(), "usd".into()]);
        assert_eq!(
            expand_script(&parts, &vars, false).unwrap(),
            ["hello", "calling_from", "tts_ab", "order_total", "5", "usd"]
        );
        vars.insert("store".into(), vec![]);
        vars.insert("fee".into(), vec!["1".into(), "usd_one".into()]);
        assert_eq!(
            expand_script(&parts, &vars, false).unwrap(),
            ["greeting", "with_fee", "1", "usd_one", "total_is", "5", "usd"]
        );
        assert_eq!(
            expand_script(&parts, &vars, true).unwrap(),
            ["with_fee", "1", "usd_one", "total_is", "5", "usd"]
        );
        // A part rendered whole is said as that one prompt, repeat included.
        vars.insert("@total".into(), vec!["tts_whole".into()]);
        assert_eq!(
            expand_script(&parts, &vars, false).unwrap(),
            ["greeting", "tts_whole"]
        );
        assert_eq!(expand_script(&parts, &vars, true).unwrap(), ["tts_whole"]);
        vars.insert("@total".into(), vec![]);
        assert_eq!(expand_script(&parts, &vars, true).unwrap().len(), 6);
        vars.remove("fee");
        assert!(matches!(
            expand_script(&parts, &vars, false),
            Err(DialplanError::MissingVariable(v)) if v == "fee"
        ));
    }

    #[test]
    fn operator_and_repeat_keys_must_be_distinct() {
        let p = ConfirmPlan {
            operator_key: Some('1'),
            ..ConfirmPlan::default()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("confirm.operator_key"));
        let p = ConfirmPlan {
            operator_key: Some('3'),
            repeat_key: Some('3'),
            ..ConfirmPlan::default()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("confirm.repeat_key"));
        let p = ConfirmPlan {
            operator_wait: "5m".into(),
            ..ConfirmPlan::default()
        };
        assert!(p
            .validate()
            .unwrap_err()
            .to_string()
            .contains("operator_wait"));
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
