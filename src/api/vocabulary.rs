//! The names a daemon's config defines (call modes, statuses, dispositions,
//! pause codes) and the patterns its parsers hold text to, shared by the
//! OpenAPI files so the document says exactly what the checks accept
//! (issue #14). Its own file: `openapi.rs` includes the other `openapi_*`
//! files, which need these too (no import cycle).

use serde_json::{json, Value};

/// What this daemon's config names: the document lists them as `enum`s,
/// so a client reads the values a request may carry from the same rules
/// that check it (empty lists fall back to the name pattern).
#[derive(Debug, Clone, Default)]
pub struct Vocabulary {
    /// `[[dialer.modes]]` ids.
    pub modes: Vec<String>,
    /// Each mode's project, in the order of `modes`.
    pub mode_projects: Vec<String>,
    /// Built-in and `[[dialer.statuses]]` names.
    pub statuses: Vec<String>,
    /// `[operators] dispositions`.
    pub dispositions: Vec<String>,
    /// `[operators] pause_codes`.
    pub pause_codes: Vec<String>,
    /// What a mode's `dispositions` may list: the dialer's own and those
    /// mapped in `[dialer.disposition_status]`.
    pub mode_dispositions: Vec<String>,
    /// Some mode is of kind `upsell` (issue #15): a mode's `dispositions`
    /// may then also be the upsell buttons.
    pub upsell_modes: bool,
}

impl Vocabulary {
    /// A name from `list`, or any config-style name when the list is empty.
    pub(crate) fn names(list: &[String]) -> Value {
        if list.is_empty() {
            json!({ "type": "string", "pattern": NAME_PATTERN, "examples": ["default"] })
        } else {
            json!({ "type": "string", "enum": list })
        }
    }
}

/// Free text without control characters (`char::is_control`).
pub(crate) const PRINTABLE: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// A plain decimal amount (`crate::money::parse_decimal`, 4 places at most).
pub(crate) const AMOUNT_PATTERN: &str = "^[0-9]+(\\.[0-9]{1,4})?$";

/// Config ids (modes, projects, statuses, agents): `is_valid_name`.
pub(crate) const NAME_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

impl Vocabulary {
    /// As [`Vocabulary::names`], with `null` allowed (the parser reads it as absent).
    pub(crate) fn names_or_null(list: &[String]) -> Value {
        if list.is_empty() {
            json!({ "type": ["string", "null"], "pattern": NAME_PATTERN, "examples": ["default"] })
        } else {
            let mut all: Vec<Value> = list.iter().map(|s| json!(s)).collect();
            all.push(Value::Null);
            json!({ "type": ["string", "null"], "enum": all })
        }
    }
}
