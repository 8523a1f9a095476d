//! Mode settings and status ticks changed at run time (issue #11:
//! `PUT /v1/dialer/modes/{id}` and the "add to dial-up automatically" tick).
//!
//! The config seeds the rules; the merchant's changes are kept as
//! [`ModeSettings`] patches per mode and [`Tick`]s per status and project,
//! laid over the config's [`DialerConfig`] and checked by the very same
//! [`DialerConfig::validate`] — so a change the API accepts is exactly one the
//! config file would accept, and its error names the same key.

use serde::{Deserialize, Serialize};

use super::config::{DialerConfig, DialerConfigError, StatusConfig};
use super::rules::Pacing;

/// The per-mode settings a merchant may change (every key of the contract
/// but `id`, `kind`, `project` — which say what the mode *is* — and `agents`,
/// which has its own route). `None` leaves the value as it was.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high_priority_new: Option<bool>,
    /// A duration as in the config, e.g. `"3m"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standard_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub put_off: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_after_max: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_share: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispositions: Option<Vec<String>>,
    /// `HH:MM-HH:MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// IANA zone for orders that carry none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

impl ModeSettings {
    /// Lay `newer` over `self`: each key it sets wins (the stored override
    /// accumulates the merchant's changes).
    pub fn merge(&mut self, newer: &ModeSettings) {
        fn over<T: Clone>(old: &mut Option<T>, new: &Option<T>) {
            if new.is_some() {
                old.clone_from(new);
            }
        }
        over(&mut self.pacing, &newer.pacing);
        over(&mut self.priority, &newer.priority);
        over(&mut self.high_priority_new, &newer.high_priority_new);
        over(&mut self.standard_time, &newer.standard_time);
        over(&mut self.put_off, &newer.put_off);
        over(&mut self.max_attempts, &newer.max_attempts);
        over(&mut self.status_after_max, &newer.status_after_max);
        over(&mut self.random_share, &newer.random_share);
        over(&mut self.dispositions, &newer.dispositions);
        over(&mut self.window, &newer.window);
        over(&mut self.timezone, &newer.timezone);
    }
}

/// A status's tick for one project: `mode` is the mode its orders enter
/// (`None`: the status takes them out of dial-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tick {
    pub status: String,
    pub project: String,
    pub mode: Option<String>,
}

impl DialerConfig {
    /// The config with `settings` laid over mode `id`, not yet validated
    /// (call [`DialerConfig::validate`], whose error keys then name
    /// `dialer.modes[i].<field>`).
    pub fn with_mode_settings(
        &self,
        id: &str,
        settings: &ModeSettings,
    ) -> Result<DialerConfig, DialerConfigError> {
        let mut cfg = self.clone();
        let m = cfg.modes.iter_mut().find(|m| m.id == id).ok_or_else(|| {
            DialerConfigError::UnknownMode {
                key: "dialer.modes".into(),
                id: id.to_string(),
            }
        })?;
        let s = settings.clone();
        if let Some(v) = s.pacing {
            m.pacing = v;
        }
        if let Some(v) = s.priority {
            m.priority = v;
        }
        if let Some(v) = s.high_priority_new {
            m.high_priority_new = v;
        }
        if let Some(v) = s.standard_time {
            m.standard_time = v;
        }
        if let Some(v) = s.put_off {
            m.put_off = v;
        }
        if let Some(v) = s.max_attempts {
            m.max_attempts = v;
        }
        if s.status_after_max.is_some() {
            m.status_after_max = s.status_after_max;
        }
        if s.random_share.is_some() {
            m.random_share = s.random_share;
        }
        if s.dispositions.is_some() {
            m.dispositions = s.dispositions;
        }
        if s.window.is_some() {
            m.window = s.window;
        }
        if s.timezone.is_some() {
            m.timezone = s.timezone;
        }
        Ok(cfg)
    }

    /// The config with `tick` applied: the status's entry for the tick's
    /// project is replaced (the status stays listed, unticked, when it loses
    /// its last tick). The status must be known already (built-in or listed)
    /// and a named mode must belong to the tick's project.
    pub fn with_tick(&self, tick: &Tick) -> Result<DialerConfig, DialerConfigError> {
        let known = super::rules::BUILTIN_STATUSES.contains(&tick.status.as_str())
            || super::rules::FULFILMENT_STATUSES.contains(&tick.status.as_str())
            || self.statuses.iter().any(|s| s.name == tick.status);
        if !known {
            return Err(DialerConfigError::UnknownStatus {
                key: "dialer.statuses.name".into(),
                status: tick.status.clone(),
            });
        }
        let project_of = |mode: &str| {
            self.modes
                .iter()
                .find(|m| m.id == mode)
                .map(|m| m.project.clone())
        };
        if let Some(mode) = &tick.mode {
            match project_of(mode) {
                None => {
                    return Err(DialerConfigError::UnknownMode {
                        key: "dialer.statuses.mode".into(),
                        id: mode.clone(),
                    })
                }
                Some(p) if p != tick.project => {
                    return Err(DialerConfigError::OutOfRange {
                        key: "dialer.statuses.project".into(),
                        reason: format!(
                            "mode {mode:?} belongs to project {p:?}, not {:?}",
                            tick.project
                        ),
                    })
                }
                Some(_) => {}
            }
        }
        let mut cfg = self.clone();
        // Drop this status's tick for this project, and its unticked entry.
        cfg.statuses.retain(|s| {
            s.name != tick.status
                || s.mode
                    .as_deref()
                    .is_some_and(|m| project_of(m).as_deref() != Some(tick.project.as_str()))
        });
        let still_listed = cfg.statuses.iter().any(|s| s.name == tick.status);
        if tick.mode.is_some() || !still_listed {
            cfg.statuses.push(StatusConfig {
                name: tick.status.clone(),
                mode: tick.mode.clone(),
            });
        }
        Ok(cfg)
    }

    /// Statuses ticked into some mode (the ones the daemon checks at start).
    pub fn ticked_statuses(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .statuses
            .iter()
            .filter(|s| s.mode.is_some())
            .map(|s| s.name.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    }
}
