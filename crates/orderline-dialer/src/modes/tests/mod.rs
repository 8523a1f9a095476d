//! Unit tests of call modes on simulated time: every instant is written out,
//! nothing reads a clock.

mod config;
mod moves;
mod picking;
mod rows;
mod settings;
mod skips;
mod upsell;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;

use super::{CallModes, DialQueue, DialResult, DialerConfig, Moved, OrderCard};
use crate::window::{parse_timezone, CallWindow};

/// The campaign's `[calling]` window the tests pass as the default.
pub(super) fn calling() -> CallWindow {
    CallWindow::parse("09:00-21:00", "UTC").expect("static window")
}

#[derive(Deserialize)]
struct Root {
    dialer: DialerConfig,
}

/// Parse a `[dialer]` TOML text.
pub(super) fn parse(text: &str) -> Result<DialerConfig, toml::de::Error> {
    toml::from_str::<Root>(text).map(|r| r.dialer)
}

pub(super) fn rules(text: &str) -> CallModes {
    let cfg = parse(text).unwrap_or_else(|e| panic!("test config parses: {e}"));
    cfg.validate(&calling())
        .unwrap_or_else(|e| panic!("test config is valid: {e}"))
}

pub(super) fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .expect("test timestamp")
}

pub(super) fn mins(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// An order created `age_min` minutes before noon UTC on 2026-12-07.
pub(super) fn card(id: &str, project: &str, age_min: i64) -> OrderCard {
    OrderCard {
        id: id.into(),
        project: project.into(),
        timezone: None,
        created_at: noon() - mins(age_min),
        upsell_eligible: false,
    }
}

pub(super) fn card_in(id: &str, project: &str, tz: &str, age_min: i64) -> OrderCard {
    OrderCard {
        timezone: Some(parse_timezone(tz).expect("test zone")),
        ..card(id, project, age_min)
    }
}

/// 2026-12-07 12:00 UTC, inside the default window.
pub(super) fn noon() -> DateTime<Utc> {
    utc("2026-12-07T12:00:00Z")
}

/// Two projects, four modes. `new_b` is listed before `new_a` so that
/// `new_a` coming first can only be the project boost, not config order.
pub(super) const TEAM: &str = r#"
[[dialer.modes]]
id = "new_b"
kind = "new_leads"
project = "b"
priority = 10
put_off = "30m"
max_attempts = 3
status_after_max = "no_contact"
agents = ["a1", "a2"]

[[dialer.modes]]
id = "new_a"
kind = "new_leads"
project = "a"
priority = 10
high_priority_new = true
put_off = "30m"
max_attempts = 3
status_after_max = "no_contact"
dispositions = ["confirmed", "cancelled", "callback", "no_answer", "wrong_number"]
agents = ["a1", "a2"]

[[dialer.modes]]
id = "reconfirm"
kind = "reconfirmation"
project = "a"
priority = 5
agents = ["a1"]

[[dialer.modes]]
id = "qa"
kind = "random"
project = "a"
priority = 1
random_share = 0.5
agents = ["a2"]

[[dialer.statuses]]
name = "processing"
mode = "new_a"

[[dialer.statuses]]
name = "processing"
mode = "new_b"

[[dialer.statuses]]
name = "reconfirm"
mode = "reconfirm"

[[dialer.statuses]]
name = "confirmed"
mode = "qa"

[[dialer.statuses]]
name = "no_contact"

[[dialer.statuses]]
name = "wrong_number"

[dialer.disposition_status]
wrong_number = "wrong_number"
"#;

pub(super) fn team() -> DialQueue {
    DialQueue::new(rules(TEAM))
}

/// Put an order into dial-up through its status, as the API will.
pub(super) fn enter(q: &mut DialQueue, c: OrderCard, status: &str, now: DateTime<Utc>) -> Moved {
    q.set_status(c, status, now)
        .unwrap_or_else(|e| panic!("status {status}: {e}"))
}

/// Pick for `agent` and return the order id (panics when nothing is due).
pub(super) fn pick_id(q: &mut DialQueue, agent: &str, now: DateTime<Utc>) -> String {
    q.pick(agent, now)
        .unwrap_or_else(|| panic!("{agent} gets an order at {now}"))
        .order_id
}

pub(super) fn finish(
    q: &mut DialQueue,
    order: &str,
    outcome: DialResult,
    now: DateTime<Utc>,
) -> Moved {
    q.finish(order, outcome, now)
        .unwrap_or_else(|e| panic!("report {order}: {e}"))
}

/// Pick until nothing is due, reporting each as no answer; the ids in order.
pub(super) fn drain(q: &mut DialQueue, agent: &str, now: DateTime<Utc>) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(p) = q.pick(agent, now) {
        finish(q, &p.order_id, DialResult::NoAnswer, now);
        out.push(p.order_id);
    }
    out
}
