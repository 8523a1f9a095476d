//! The `[dialer]` configuration contract (issue #11): `[[dialer.modes]]`,
//! `[[dialer.statuses]]` and `[dialer.disposition_status]`.
//!
//! The structs here are what serde reads (unknown keys refused, so a typo never
//! silently falls back to a default); [`DialerConfig::validate`] turns them into
//! [`CallModes`], the checked rules the queue runs on, or names the first key
//! that is wrong, e.g. `dialer.modes[1].put_off`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use super::rules::{
    AmdPolicy, CallModes, Mode, ModeKind, Pacing, BASE_DISPOSITIONS, BUILTIN_STATUSES,
    FULFILMENT_STATUSES,
};
use super::upsell;
use crate::harbor::{HarborError, SafeHarborConfig, MIN_RING};
use crate::pacer::LEGAL_CAP_PCT;
use crate::window::{CallWindow, WindowError};

/// How many dispositions a mode may add to [`BASE_DISPOSITIONS`] (issue #11:
/// "a base set plus up to two extra"; the console has room for six buttons).
pub const MAX_EXTRA_DISPOSITIONS: usize = 2;
/// The longest put-off accepted: beyond a month an order is not "put off", it
/// is forgotten, and the bound keeps `due + put_off` far from overflow.
pub const MAX_PUT_OFF: TimeDelta = TimeDelta::days(30);
/// The longest standard time per call accepted.
pub const MAX_STANDARD_TIME: TimeDelta = TimeDelta::hours(4);
/// The attempt cap's ceiling: a customer is not rung more than this per mode.
pub const MAX_ATTEMPTS_CAP: u32 = 100;

/// `[dialer]`: call modes, status ticks and where dispositions lead.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DialerConfig {
    #[serde(default)]
    pub modes: Vec<ModeConfig>,
    #[serde(default)]
    pub statuses: Vec<StatusConfig>,
    /// Disposition → status; `confirmed` and `cancelled` default to the
    /// built-in statuses of the same name.
    #[serde(default)]
    pub disposition_status: BTreeMap<String, String>,
}

/// One `[[dialer.modes]]` table.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModeConfig {
    pub id: String,
    pub kind: ModeKind,
    #[serde(default = "default_project")]
    pub project: String,
    #[serde(default)]
    pub pacing: Pacing,
    /// Higher is dialled first.
    #[serde(default)]
    pub priority: i32,
    /// This project's new leads before other projects' at the same priority.
    #[serde(default)]
    pub high_priority_new: bool,
    #[serde(default = "default_standard_time")]
    pub standard_time: String,
    #[serde(default = "default_put_off")]
    pub put_off: String,
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Where an order goes when the cap is reached (default `flagged`: a
    /// person decides, as the robo-call's fallback does). Refused on an
    /// upsell mode ([`super::upsell::status_after_max`]).
    #[serde(default)]
    pub status_after_max: Option<String>,
    /// Kind `random` only: the share of orders taken, in (0, 1].
    #[serde(default)]
    pub random_share: Option<f64>,
    /// The mode's disposition buttons; default [`BASE_DISPOSITIONS`]
    /// ([`super::rules::UPSELL_DISPOSITIONS`] for an upsell mode).
    #[serde(default)]
    pub dispositions: Option<Vec<String>>,
    /// Agents who may work this mode (empty: nobody yet).
    #[serde(default)]
    pub agents: Vec<String>,
    /// `HH:MM-HH:MM`; default the campaign's `[calling] window`.
    #[serde(default)]
    pub window: Option<String>,
    /// Zone for orders that carry none; default `[calling] timezone`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Percent of live answers that may be abandoned over 30 days, (0, 3]
    /// (16 CFR 310.4(b)(4)(i)); default 3.
    #[serde(default)]
    pub abandon_cap: Option<f64>,
    /// How long an unanswered line rings, at least 15 s (16 CFR
    /// 310.4(b)(1)(iv)); default the campaign's `[calling] ring_timeout`.
    #[serde(default)]
    pub ring_timeout: Option<String>,
    /// What an abandoned customer hears; required with `pacing = "predictive"`.
    #[serde(default)]
    pub safe_harbor: Option<SafeHarborConfig>,
    /// `"off" | "hangup" | "message"`: answering-machine detection on the
    /// mode's lines; predictive pacing only.
    #[serde(default)]
    pub amd: AmdPolicy,
}

/// One `[[dialer.statuses]]` table: a status and its optional tick.
///
/// A status may be listed once per project: `mode` names a mode, and the tick
/// applies to orders of that mode's project. So with two shops, `processing`
/// is listed twice, ticked into each shop's `new_leads` mode.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StatusConfig {
    pub name: String,
    /// "Add to dial-up automatically" into this mode; omit for none.
    #[serde(default)]
    pub mode: Option<String>,
}

fn default_project() -> String {
    "default".into()
}
fn default_standard_time() -> String {
    "3m".into()
}
fn default_put_off() -> String {
    "30m".into()
}
fn default_max_attempts() -> u32 {
    5
}

/// A `[dialer]` table that cannot be used; [`DialerConfigError::key`] names the key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DialerConfigError {
    #[error("{key}: {value:?} is not a name of 1 to 64 characters from A-Z a-z 0-9 _ -")]
    BadName { key: String, value: String },
    #[error("{key}: mode id {id:?} is used twice")]
    DuplicateMode { key: String, id: String },
    #[error("{key}: no mode has id {id:?}")]
    UnknownMode { key: String, id: String },
    #[error("{key}: unknown status {status:?} (neither built-in nor in [[dialer.statuses]])")]
    UnknownStatus { key: String, status: String },
    #[error("{key}: status {status:?} is already ticked for project {project:?}")]
    DuplicateTick {
        key: String,
        status: String,
        project: String,
    },
    #[error("{key}: status {status:?} is listed twice without a mode")]
    DuplicateStatus { key: String, status: String },
    #[error("{key}: bad duration {value:?}: {reason}")]
    Duration {
        key: String,
        value: String,
        reason: String,
    },
    #[error("{key}: {reason}")]
    OutOfRange { key: String, reason: String },
    #[error("{key}: random_share is only for modes of kind \"random\"")]
    ShareOnNonRandom { key: String },
    #[error("{key}: a mode of kind \"random\" needs random_share in (0, 1]")]
    ShareMissing { key: String },
    #[error("{key}: the base disposition {disposition:?} is missing")]
    MissingBaseDisposition { key: String, disposition: String },
    #[error("{key}: at most {MAX_EXTRA_DISPOSITIONS} dispositions beyond the base set")]
    TooManyDispositions { key: String },
    #[error("{key}: {value:?} appears twice")]
    Duplicate { key: String, value: String },
    #[error(
        "{key}: disposition {disposition:?} has no target status in [dialer.disposition_status]"
    )]
    UnmappedDisposition { key: String, disposition: String },
    #[error("{key}: {disposition:?} is handled by the dialer itself and takes no status")]
    ReservedDisposition { key: String, disposition: String },
    #[error("{key}: {reason}")]
    Window { key: String, reason: String },
    #[error("{key}: status {status:?} is ticked back into this mode, so the attempt cap would never end")]
    CapLoops { key: String, status: String },
    #[error("{key}: a mode with pacing = \"predictive\" abandons calls, so it needs [dialer.modes.safe_harbor] with seller_name and callback_number (47 CFR 64.1200(a)(7)(i))")]
    SafeHarborMissing { key: String },
    #[error("{key}: {source}")]
    SafeHarbor { key: String, source: HarborError },
    /// A value sound in itself that the mode's kind cannot take (issue
    /// #15: an upsell mode and the robo-call's outcomes, a cap status, a
    /// pre-sale status tick); the API answers 409, as for a share on a
    /// mode not of kind random.
    #[error("{key}: {reason}")]
    KindConflict { key: String, reason: String },
}

impl DialerConfigError {
    /// The dotted config key at fault, e.g. `dialer.modes[1].put_off`.
    pub fn key(&self) -> &str {
        match self {
            Self::BadName { key, .. }
            | Self::DuplicateMode { key, .. }
            | Self::UnknownMode { key, .. }
            | Self::UnknownStatus { key, .. }
            | Self::DuplicateTick { key, .. }
            | Self::DuplicateStatus { key, .. }
            | Self::Duration { key, .. }
            | Self::OutOfRange { key, .. }
            | Self::ShareOnNonRandom { key }
            | Self::ShareMissing { key }
            | Self::MissingBaseDisposition { key, .. }
            | Self::TooManyDispositions { key }
            | Self::Duplicate { key, .. }
            | Self::UnmappedDisposition { key, .. }
            | Self::ReservedDisposition { key, .. }
            | Self::Window { key, .. }
            | Self::CapLoops { key, .. }
            | Self::SafeHarborMissing { key }
            | Self::SafeHarbor { key, .. }
            | Self::KindConflict { key, .. } => key,
        }
    }
}

/// Ids, statuses, dispositions and agents: `[A-Za-z0-9_-]{1,64}` (issue #11),
/// so they can sit in URLs (`/v1/dialer/modes/{id}`) and metric labels unescaped.
pub fn is_valid_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn name(key: String, value: &str) -> Result<(), DialerConfigError> {
    if is_valid_name(value) {
        Ok(())
    } else {
        Err(DialerConfigError::BadName {
            key,
            value: value.to_string(),
        })
    }
}

/// `"3m"`, `"30m"`, `"1h 30m"` through `humantime` (docs/decisions.md).
fn duration(key: String, value: &str, max: TimeDelta) -> Result<TimeDelta, DialerConfigError> {
    let bad = |reason: String| DialerConfigError::Duration {
        key: key.clone(),
        value: value.to_string(),
        reason,
    };
    let std = humantime::parse_duration(value).map_err(|e| bad(e.to_string()))?;
    let d = TimeDelta::from_std(std).map_err(|_| bad("too large".into()))?;
    if d > max {
        return Err(bad(format!(
            "longer than the maximum of {}",
            humantime::format_duration(max.to_std().unwrap_or_default())
        )));
    }
    Ok(d)
}

impl DialerConfig {
    /// Check every key and build the rules. `calling` is the campaign's
    /// `[calling]` window and zone, the default for modes that set none.
    pub fn validate(&self, calling: &CallWindow) -> Result<CallModes, DialerConfigError> {
        let statuses = self.status_names()?;
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut modes = Vec::with_capacity(self.modes.len());
        for (i, m) in self.modes.iter().enumerate() {
            let key = |field: &str| format!("dialer.modes[{i}].{field}");
            name(key("id"), &m.id)?;
            if ids.insert(&m.id, i).is_some() {
                return Err(DialerConfigError::DuplicateMode {
                    key: key("id"),
                    id: m.id.clone(),
                });
            }
            modes.push(self.mode(i, m, calling, &statuses)?);
        }
        let mut ticks = HashMap::new();
        let mut unticked = BTreeSet::new();
        for (i, s) in self.statuses.iter().enumerate() {
            match &s.mode {
                Some(id) => {
                    let Some(&idx) = ids.get(id.as_str()) else {
                        return Err(DialerConfigError::UnknownMode {
                            key: format!("dialer.statuses[{i}].mode"),
                            id: id.clone(),
                        });
                    };
                    let project = modes[idx].project.clone();
                    if modes[idx].is_upsell() {
                        upsell::check_tick(format!("dialer.statuses[{i}].mode"), &s.name, id)?;
                    }
                    if ticks
                        .insert((s.name.clone(), project.clone()), idx)
                        .is_some()
                    {
                        return Err(DialerConfigError::DuplicateTick {
                            key: format!("dialer.statuses[{i}].mode"),
                            status: s.name.clone(),
                            project,
                        });
                    }
                }
                None => {
                    if !unticked.insert(s.name.clone()) {
                        return Err(DialerConfigError::DuplicateStatus {
                            key: format!("dialer.statuses[{i}].name"),
                            status: s.name.clone(),
                        });
                    }
                }
            }
        }
        let disposition_status = self.disposition_status(&statuses)?;
        for (i, m) in modes.iter().enumerate() {
            if let Some(after) = &m.status_after_max {
                if ticks.get(&(after.clone(), m.project.clone())) == Some(&i) {
                    return Err(DialerConfigError::CapLoops {
                        key: format!("dialer.modes[{i}].status_after_max"),
                        status: after.clone(),
                    });
                }
            }
            for d in &m.dispositions {
                // An upsell mode's outcomes take no status (super::upsell).
                if !m.is_upsell()
                    && !is_dialer_disposition(d)
                    && !disposition_status.contains_key(d)
                {
                    return Err(DialerConfigError::UnmappedDisposition {
                        key: format!("dialer.modes[{i}].dispositions"),
                        disposition: d.clone(),
                    });
                }
            }
        }
        Ok(CallModes::new(modes, ticks, statuses, disposition_status))
    }

    fn status_names(&self) -> Result<BTreeSet<String>, DialerConfigError> {
        let mut names: BTreeSet<String> = BUILTIN_STATUSES
            .iter()
            .chain(FULFILMENT_STATUSES.iter())
            .map(|s| s.to_string())
            .collect();
        for (i, s) in self.statuses.iter().enumerate() {
            name(format!("dialer.statuses[{i}].name"), &s.name)?;
            names.insert(s.name.clone());
        }
        Ok(names)
    }

    fn disposition_status(
        &self,
        statuses: &BTreeSet<String>,
    ) -> Result<HashMap<String, String>, DialerConfigError> {
        let mut map: HashMap<String, String> =
            [("confirmed", "confirmed"), ("cancelled", "cancelled")]
                .into_iter()
                .map(|(d, s)| (d.to_string(), s.to_string()))
                .collect();
        for (d, s) in &self.disposition_status {
            let key = format!("dialer.disposition_status.{d}");
            name(key.clone(), d)?;
            if is_dialer_disposition(d) {
                return Err(DialerConfigError::ReservedDisposition {
                    key,
                    disposition: d.clone(),
                });
            }
            if !statuses.contains(s) {
                return Err(DialerConfigError::UnknownStatus {
                    key,
                    status: s.clone(),
                });
            }
            map.insert(d.clone(), s.clone());
        }
        Ok(map)
    }

    fn mode(
        &self,
        i: usize,
        m: &ModeConfig,
        calling: &CallWindow,
        statuses: &BTreeSet<String>,
    ) -> Result<Mode, DialerConfigError> {
        let key = |field: &str| format!("dialer.modes[{i}].{field}");
        name(key("project"), &m.project)?;
        let standard_time = duration(key("standard_time"), &m.standard_time, MAX_STANDARD_TIME)?;
        if standard_time <= TimeDelta::zero() {
            return Err(DialerConfigError::OutOfRange {
                key: key("standard_time"),
                reason: "must be longer than zero".into(),
            });
        }
        let put_off = duration(key("put_off"), &m.put_off, MAX_PUT_OFF)?;
        if !(1..=MAX_ATTEMPTS_CAP).contains(&m.max_attempts) {
            return Err(DialerConfigError::OutOfRange {
                key: key("max_attempts"),
                reason: format!("must be 1 to {MAX_ATTEMPTS_CAP}"),
            });
        }
        let status_after_max = upsell::status_after_max(
            m.kind,
            m.status_after_max.as_deref(),
            key("status_after_max"),
        )?;
        if let Some(after) = status_after_max.as_ref().filter(|s| !statuses.contains(*s)) {
            return Err(DialerConfigError::UnknownStatus {
                key: key("status_after_max"),
                status: after.clone(),
            });
        }
        if let Some(list) = &m.dispositions {
            upsell::check_dispositions(m.kind, key("dispositions"), list)?;
        }
        let base = upsell::base_dispositions(m.kind, &BASE_DISPOSITIONS);
        let dispositions = dispositions(key("dispositions"), m.dispositions.as_deref(), base)?;
        let mut agents = BTreeSet::new();
        for (j, a) in m.agents.iter().enumerate() {
            name(format!("dialer.modes[{i}].agents[{j}]"), a)?;
            if !agents.insert(a.clone()) {
                return Err(DialerConfigError::Duplicate {
                    key: key("agents"),
                    value: a.clone(),
                });
            }
        }
        let window = match (&m.window, &m.timezone) {
            (None, None) => *calling,
            (w, tz) => {
                let hours = w.clone().unwrap_or_else(|| calling.hours());
                let zone = tz
                    .clone()
                    .unwrap_or_else(|| calling.timezone().name().to_string());
                // Name the key at fault: a bad zone is `timezone` even
                // when the window is set too.
                let field = |e: &WindowError| match e {
                    WindowError::TimeZone(_) => "timezone",
                    _ => "window",
                };
                CallWindow::parse(&hours, &zone).map_err(|e| DialerConfigError::Window {
                    key: key(field(&e)),
                    reason: e.to_string(),
                })?
            }
        };
        // After the values' own checks: a share on a mode of another kind
        // is a conflict with the mode, reported once its values are sound.
        let random_share = match (m.kind, m.random_share) {
            (ModeKind::Random, Some(s)) if s > 0.0 && s <= 1.0 => Some(s),
            (ModeKind::Random, Some(_)) => {
                return Err(DialerConfigError::OutOfRange {
                    key: key("random_share"),
                    reason: "must be in (0, 1]".into(),
                })
            }
            (ModeKind::Random, None) => {
                return Err(DialerConfigError::ShareMissing {
                    key: key("random_share"),
                })
            }
            (_, Some(_)) => {
                return Err(DialerConfigError::ShareOnNonRandom {
                    key: key("random_share"),
                })
            }
            (_, None) => None,
        };
        let abandon_cap_pct = m.abandon_cap.unwrap_or(LEGAL_CAP_PCT);
        if !(abandon_cap_pct.is_finite()
            && abandon_cap_pct > 0.0
            && abandon_cap_pct <= LEGAL_CAP_PCT)
        {
            return Err(DialerConfigError::OutOfRange {
                key: key("abandon_cap"),
                reason: format!(
                    "{abandon_cap_pct} must be above 0 and at most {LEGAL_CAP_PCT} (percent of live answers over 30 days, 16 CFR 310.4(b)(4)(i))"
                ),
            });
        }
        let ring_timeout = match &m.ring_timeout {
            None => None,
            Some(v) => {
                let d = duration(key("ring_timeout"), v, TimeDelta::minutes(5))?;
                if d.to_std().map_or(true, |d| d < MIN_RING) {
                    return Err(DialerConfigError::OutOfRange {
                        key: key("ring_timeout"),
                        reason: format!(
                            "{v:?} is under the {} s minimum ring (16 CFR 310.4(b)(1)(iv))",
                            MIN_RING.as_secs()
                        ),
                    });
                }
                Some(d)
            }
        };
        match (&m.safe_harbor, m.pacing) {
            (Some(h), _) => h
                .validate()
                .map_err(|source| DialerConfigError::SafeHarbor {
                    key: key(&format!("safe_harbor.{}", source.field())),
                    source,
                })?,
            (None, Pacing::Predictive) => {
                return Err(DialerConfigError::SafeHarborMissing {
                    key: key("safe_harbor"),
                })
            }
            (None, _) => {}
        }
        if m.amd != AmdPolicy::Off && m.pacing != Pacing::Predictive {
            return Err(DialerConfigError::OutOfRange {
                key: key("amd"),
                reason: "answering-machine detection runs on predictive lines only (a progressive or preview call has its agent on the line, who hears the machine); set pacing = \"predictive\" or amd = \"off\"".into(),
            });
        }
        Ok(Mode {
            id: m.id.clone(),
            kind: m.kind,
            project: m.project.clone(),
            pacing: m.pacing,
            priority: m.priority,
            high_priority_new: m.high_priority_new,
            standard_time,
            put_off,
            max_attempts: m.max_attempts,
            status_after_max,
            random_share,
            dispositions,
            agents,
            window,
            abandon_cap_pct,
            ring_timeout,
            safe_harbor: m.safe_harbor.clone(),
            amd: m.amd,
        })
    }
}

/// Dispositions the dialer acts on itself rather than through a status.
pub fn is_dialer_disposition(d: &str) -> bool {
    d == "callback" || d == "no_answer"
}

/// The mode's buttons: `list`, which must hold every `base` button and at
/// most [`MAX_EXTRA_DISPOSITIONS`] more; `base` when not given.
fn dispositions(
    key: String,
    list: Option<&[String]>,
    base: &[&str],
) -> Result<Vec<String>, DialerConfigError> {
    let Some(list) = list else {
        return Ok(base.iter().map(|d| d.to_string()).collect());
    };
    let mut seen = BTreeSet::new();
    for d in list {
        name(key.clone(), d)?;
        if !seen.insert(d.as_str()) {
            return Err(DialerConfigError::Duplicate {
                key,
                value: d.clone(),
            });
        }
    }
    if let Some(missing) = base.iter().find(|b| !seen.contains(*b)) {
        return Err(DialerConfigError::MissingBaseDisposition {
            key,
            disposition: missing.to_string(),
        });
    }
    if list.len() > base.len() + MAX_EXTRA_DISPOSITIONS {
        return Err(DialerConfigError::TooManyDispositions { key });
    }
    Ok(list.to_vec())
}
