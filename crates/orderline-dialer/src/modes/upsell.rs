//! What sets an upsell mode apart (issue #15, "an upsell call mode
//! (`kind = "upsell"`) feeds them to operators like any mode").
//!
//! An upsell mode works orders the customer has already paid for, so the
//! robo-call's outcomes make no sense there and nothing the mode does may
//! touch the main order's status:
//!
//! - only [`FULFILMENT_STATUSES`] (`paid`, `shipping`, `shipped`,
//!   `delivered`) may tick orders into it ([`check_tick`]), and only an
//!   order with an offer that no upsell mode has worked to an end enters it
//!   ([`super::OrderCard::upsell_eligible`]);
//! - its buttons are [`UPSELL_DISPOSITIONS`] (plus up to two extras), never
//!   `confirmed`/`cancelled` ([`check_dispositions`]); every button but
//!   `callback`/`no_answer` ends the upsell call, status untouched;
//! - it has no `status_after_max`: at the attempt cap the order leaves
//!   dial-up with its status kept ([`status_after_max`]).
//!
//! An ended upsell call is reported in [`super::Moved::upsell_done`]; the
//! daemon stores it with the move so a restart's re-sync does not tick the
//! still-`paid` order back in (no customer is called twice to sell the same
//! thing).

use chrono::{DateTime, Utc};

use super::config::DialerConfigError;
use super::queue::{DialQueue, Moved};
use super::rules::ModeIdx;
use super::rules::{ModeKind, BASE_DISPOSITIONS, FULFILMENT_STATUSES, UPSELL_DISPOSITIONS};

/// What an upsell mode records when the cap ends its tries.
pub const CAP_OUTCOME: &str = "no_answer";

/// A status ticked into an upsell mode must be one a merchant sets after
/// the sale: an order in `pending` or `processing` has nothing to upsell on.
pub fn check_tick(key: String, status: &str, mode: &str) -> Result<(), DialerConfigError> {
    if FULFILMENT_STATUSES.contains(&status) {
        return Ok(());
    }
    Err(DialerConfigError::KindConflict {
        key,
        reason: format!(
            "mode {mode:?} is an upsell mode: only orders already paid for are upsold, so only {} may tick into it, not {status:?}",
            FULFILMENT_STATUSES.join(", ")
        ),
    })
}

/// The base buttons of a mode of `kind`: [`UPSELL_DISPOSITIONS`] for an
/// upsell mode, `base` (the robo-call's four) for any other.
pub fn base_dispositions(kind: ModeKind, base: &'static [&'static str]) -> &'static [&'static str] {
    match kind {
        ModeKind::Upsell => &UPSELL_DISPOSITIONS,
        _ => base,
    }
}

/// A list of buttons that is another kind's (the robo-call's four on an
/// upsell mode, the upsell four on any other) is a conflict with the mode's
/// kind; and an upsell mode refuses `confirmed` and `cancelled` in any
/// case: a paid order is past them, and a button there must not confirm or
/// cancel the main order.
pub fn check_dispositions(
    kind: ModeKind,
    key: String,
    list: &[String],
) -> Result<(), DialerConfigError> {
    let has_all = |base: &[&str]| base.iter().all(|b| list.iter().any(|d| d == b));
    let (own, other) = match kind {
        ModeKind::Upsell => (&UPSELL_DISPOSITIONS, &BASE_DISPOSITIONS),
        _ => (&BASE_DISPOSITIONS, &UPSELL_DISPOSITIONS),
    };
    if !has_all(own) && has_all(other) {
        return Err(DialerConfigError::KindConflict {
            key,
            reason: format!(
                "these are the buttons of another kind of mode; a mode of kind {} has {}",
                kind_name(kind),
                own.join(", ")
            ),
        });
    }
    if kind != ModeKind::Upsell {
        return Ok(());
    }
    match list.iter().find(|d| *d == "confirmed" || *d == "cancelled") {
        None => Ok(()),
        Some(d) => Err(DialerConfigError::OutOfRange {
            key,
            reason: format!(
                "{d:?} is not an upsell outcome: the order is paid already and an upsell call never changes its status; the buttons are {}",
                UPSELL_DISPOSITIONS.join(", ")
            ),
        }),
    }
}

fn kind_name(kind: ModeKind) -> &'static str {
    match kind {
        ModeKind::NewLeads => "new_leads",
        ModeKind::Reconfirmation => "reconfirmation",
        ModeKind::BeforeBuyout => "before_buyout",
        ModeKind::Random => "random",
        ModeKind::Upsell => "upsell",
    }
}

/// The cap's target status: `given`, else `flagged`, for most modes; none
/// for an upsell mode, which refuses one (the cap would change the main
/// order's status).
pub fn status_after_max(
    kind: ModeKind,
    given: Option<&str>,
    key: String,
) -> Result<Option<String>, DialerConfigError> {
    match (kind, given) {
        (ModeKind::Upsell, None) => Ok(None),
        (ModeKind::Upsell, Some(s)) => Err(DialerConfigError::KindConflict {
            key,
            reason: format!(
                "an upsell mode never changes the order's status, so it takes no status_after_max ({s:?}): at max_attempts the order leaves dial-up with its status kept"
            ),
        }),
        (_, given) => Ok(Some(given.unwrap_or("flagged").to_string())),
    }
}

impl DialQueue {
    /// The order is at its mode's attempt cap: it goes to the mode's
    /// `status_after_max`, or, from an upsell mode, out of dial-up with
    /// its status kept and the upsell call ended ([`super::upsell`]).
    pub(super) fn cap_reached(&mut self, order: &str, now: DateTime<Utc>) -> Moved {
        let after = self
            .entries
            .get(order)
            .and_then(|e| self.rules.mode(e.mode).status_after_max.clone());
        let mut moved = self.move_to_status(order, after.as_deref(), now);
        if after.is_none() {
            moved.upsell_done = Some(super::upsell::CAP_OUTCOME.to_string());
        }
        moved
    }

    /// The operators' queue of a project for a customer who pressed 3: its
    /// first mode that is not an upsell mode (those sell, they do not
    /// confirm orders).
    pub(super) fn operators_of(&self, project: &str) -> Option<ModeIdx> {
        self.rules
            .modes()
            .iter()
            .position(|m| m.project == project && !m.is_upsell())
    }
}
