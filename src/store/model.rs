//! The records the store reads and writes, and how rows become them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::order_script::OrderScript;
use super::StoreError;
use crate::dialer::{self, Amount, CustomerKind, OrderFacts, OrderStatus};
use crate::ivr::Outcome;
use crate::money::{Currency, Money, MoneyError};

/// An order as the merchant posts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    pub id: String,
    pub phone: String,
    /// Decimal text as the merchant wrote it, e.g. `"1234.50"`: at most the
    /// currency's decimals ([`Money::parse`]).
    pub amount: String,
    /// ISO 4217 code, e.g. `"PKR"`.
    pub currency: String,
    pub customer_kind: CustomerKind,
    /// The cart lines, kept as the merchant sent them (a JSON array).
    pub items: serde_json::Value,
    pub locale: Option<String>,
    /// The buyer's IANA zone, when the merchant knows it.
    pub timezone: Option<String>,
    /// The shop/brand (issue #11): `[A-Za-z0-9_-]{1,64}`, default `"default"`.
    pub project: String,
    /// What the confirmation script reads out (issue #13).
    #[serde(default)]
    pub script: OrderScript,
}

impl NewOrder {
    /// Check every field the store and the rules rely on, naming the field.
    pub fn validate(&self) -> Result<(), StoreError> {
        self.facts().map(|_| ())
    }

    /// What the campaign rules need, validating the order on the way.
    pub fn facts(&self) -> Result<OrderFacts, StoreError> {
        let bad = |field: &'static str, reason: &str| StoreError::InvalidOrder {
            field,
            reason: reason.to_string(),
        };
        if self.id.is_empty() || self.id.len() > 128 || self.id.chars().any(char::is_control) {
            return Err(bad("id", "must be 1 to 128 printable characters"));
        }
        let digits = self.phone.strip_prefix('+').unwrap_or(&self.phone);
        if digits.is_empty() || digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "phone",
                "must be digits with an optional leading +, at most 20",
            ));
        }
        let money = self.money()?;
        if let Some(fee) = &self.script.delivery_fee {
            Money::parse(fee, money.currency()).map_err(|e| bad("delivery_fee", &e.to_string()))?;
        }
        if !self.items.is_array() {
            return Err(bad("items", "must be a JSON array"));
        }
        if let Some(locale) = &self.locale {
            if locale.is_empty()
                || locale.len() > 35
                || !locale
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(bad("locale", "must be a language tag like en or ur-PK"));
            }
        }
        if !orderline_dialer::modes::config::is_valid_name(&self.project) {
            return Err(bad("project", "must be 1 to 64 of A-Z a-z 0-9 _ -"));
        }
        self.script.validate()?;
        let timezone = match &self.timezone {
            Some(name) => {
                Some(dialer::parse_timezone(name).map_err(|e| bad("timezone", &e.to_string()))?)
            }
            None => None,
        };
        Ok(OrderFacts {
            amount: Amount::of(money).ok_or_else(|| bad("amount", "is too large"))?,
            kind: self.customer_kind,
            timezone,
        })
    }

    /// The order's money: `currency` an ISO 4217 code, `amount` at most its
    /// decimals (JPY none, PKR 2, KWD 3), naming the field at fault.
    pub fn money(&self) -> Result<Money, StoreError> {
        let bad = |field: &'static str, e: MoneyError| StoreError::InvalidOrder {
            field,
            reason: e.to_string(),
        };
        let currency = Currency::parse(&self.currency).map_err(|e| bad("currency", e))?;
        Money::parse(&self.amount, currency).map_err(|e| bad("amount", e))
    }

    /// Fields that differ from a stored order (empty when the same order was
    /// posted again). Amounts compare by value, so `"10.5"` equals `"10.50"`.
    pub fn differences(&self, stored: &Order) -> Vec<&'static str> {
        let mut diff = Vec::new();
        if self.phone != stored.phone {
            diff.push("phone");
        }
        let posted = Currency::parse(&self.currency)
            .ok()
            .and_then(|c| Money::parse(&self.amount, c).ok());
        if posted.map(Money::minor) != Some(stored.money.minor()) {
            diff.push("amount");
        }
        if self.currency != stored.money.currency().code() {
            diff.push("currency");
        }
        if self.customer_kind != stored.customer_kind {
            diff.push("customer_kind");
        }
        if self.items != stored.items {
            diff.push("items");
        }
        if self.locale != stored.locale {
            diff.push("locale");
        }
        if self.timezone != stored.timezone {
            diff.push("timezone");
        }
        if self.project != stored.project {
            diff.push("project");
        }
        self.script.differences(&stored.script, &mut diff);
        diff
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Order {
    pub id: String,
    pub phone: String,
    /// Decimal text as the merchant wrote it (`"7.5"`), echoed by the API.
    pub amount: String,
    /// What the order is worth: minor units at the currency's ISO 4217
    /// scale (`orders.amount_minor`, `orders.currency`).
    pub money: Money,
    pub customer_kind: CustomerKind,
    pub items: serde_json::Value,
    pub locale: Option<String>,
    pub timezone: Option<String>,
    pub status: OrderStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The shop/brand the order belongs to (issue #11).
    pub project: String,
    /// The merchant's configured status (`[[dialer.statuses]]`) when the
    /// order is in one; it then wins over `status` in the API's view.
    pub dialer_status: Option<String>,
    /// The order's place in dial-up: mode id and sub-queue.
    pub dialer: Option<(String, String)>,
    /// What the confirmation script reads out (issue #13).
    pub script: OrderScript,
}

impl Order {
    /// The one status the merchant sees: a configured one, else the built-in.
    pub fn shown_status(&self) -> &str {
        self.dialer_status
            .as_deref()
            .unwrap_or(self.status.as_str())
    }
}

/// An order with its call attempts, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrderDetail {
    pub order: Order,
    pub attempts: Vec<Attempt>,
}

/// How an insert went. Posting the same id twice is not an error: the
/// existing order comes back, and a different body is reported, not stored.
#[derive(Debug, Clone, PartialEq)]
pub enum Inserted {
    /// A new order; the plan was applied.
    Created(Order),
    /// The same order was posted before; nothing changed.
    Existing(Order),
    /// An order with this id exists with other values in these fields;
    /// nothing changed (an API answers 409 with the stored order).
    Conflict {
        existing: Order,
        fields: Vec<&'static str>,
    },
}

impl Inserted {
    pub fn order(&self) -> &Order {
        match self {
            Inserted::Created(o)
            | Inserted::Existing(o)
            | Inserted::Conflict { existing: o, .. } => o,
        }
    }
}

/// Where a call attempt is in its life: `due` waits for its time, `live` has
/// been claimed by a worker and is being called, `done` is finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    Due,
    Live,
    Done,
}

impl AttemptStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Due => "due",
            AttemptStatus::Live => "live",
            AttemptStatus::Done => "done",
        }
    }

    fn parse(s: &str) -> Option<AttemptStatus> {
        [AttemptStatus::Due, AttemptStatus::Live, AttemptStatus::Done]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// One call attempt for an order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attempt {
    pub id: i64,
    pub order_id: String,
    /// 1 for the first call, 2 for the first re-attempt, …
    pub attempt_no: u32,
    pub state: AttemptStatus,
    pub scheduled_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub trunk: Option<String>,
    pub sip_status: Option<u16>,
    pub outcome: Option<Outcome>,
    pub digits: Option<String>,
    pub duration_ms: Option<i64>,
    /// Why the attempt failed on our side (e.g. interrupted by a restart).
    pub error: Option<String>,
    /// We called (a robo-call) or the customer called us back (issue #13).
    pub kind: AttemptKind,
}

/// Who placed a call attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptKind {
    /// A robo-call the scheduler placed.
    Outbound,
    /// The customer called in about the order (a callback).
    Inbound,
}

impl AttemptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptKind::Outbound => "outbound",
            AttemptKind::Inbound => "inbound",
        }
    }
}

/// A due attempt claimed by [`super::Store::due_attempts`], with its order.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedAttempt {
    pub attempt: Attempt,
    pub order: Order,
}

impl ClaimedAttempt {
    /// The rule input for [`crate::dialer::Campaign::after_attempt`].
    pub fn rule_state(&self) -> dialer::AttemptState {
        rule_state(&self.attempt, &self.order)
    }
}

pub(crate) fn rule_state(attempt: &Attempt, order: &Order) -> dialer::AttemptState {
    dialer::AttemptState {
        attempt_no: attempt.attempt_no,
        started_at: attempt.started_at.unwrap_or(attempt.scheduled_at),
        timezone: order
            .timezone
            .as_deref()
            .and_then(|tz| dialer::parse_timezone(tz).ok()),
    }
}

/// What the call driver reports when an attempt ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptReport {
    pub outcome: Outcome,
    pub trunk: Option<String>,
    /// Final SIP status of the INVITE (200 when answered).
    pub sip_status: Option<u16>,
    /// Keys pressed (confirm flow keys only; never card data).
    pub digits: String,
    pub duration_ms: i64,
    pub error: Option<String>,
    /// Press 3, live (issue #13): the agent the customer was handed to;
    /// `None` for every other call (outcome `operator` then means a callback).
    pub operator: Option<String>,
}

/// What [`super::Store::finish_attempt`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub order_status: OrderStatus,
    /// The re-attempt scheduled, if the rules asked for one.
    pub next_attempt: Option<Attempt>,
}

/// One change of an order's status, with why it happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    /// `None` for the status the order was created with. Built-in
    /// ([`OrderStatus::as_str`]) or configured (`[[dialer.statuses]]`) names.
    pub from: Option<String>,
    pub to: String,
    /// e.g. `rules: call`, `call: confirmed`, `fallback after 5 call attempts`,
    /// `decision: cancel by agent-7`.
    pub reason: String,
    pub at: DateTime<Utc>,
}

pub(crate) fn status_change_from_row(row: &AnyRow) -> Result<StatusChange, StoreError> {
    const T: &str = "order_status_history";
    Ok(StatusChange {
        from: get(row, T, "from_status")?,
        to: get(row, T, "to_status")?,
        reason: get(row, T, "reason")?,
        at: time(T, "at", get(row, T, "at")?)?,
    })
}

/// A human decision on a flagged order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagDecision {
    Confirm,
    Cancel,
}

impl FlagDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            FlagDecision::Confirm => "confirm",
            FlagDecision::Cancel => "cancel",
        }
    }

    pub fn status(self) -> OrderStatus {
        match self {
            FlagDecision::Confirm => OrderStatus::Confirmed,
            FlagDecision::Cancel => OrderStatus::Cancelled,
        }
    }
}

/// Filters and position for [`super::Store::list_orders`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub status: Option<OrderStatus>,
    /// A configured `[[dialer.statuses]]` status (issue #11): orders shown
    /// with it (`orders.dialer_status`).
    pub configured_status: Option<String>,
    /// Orders created at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Orders created before this instant.
    pub to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size; clamped to 1..=[`MAX_PAGE`].
    pub limit: u32,
}

/// Largest page [`super::Store::list_orders`] returns.
pub const MAX_PAGE: u32 = 500;

/// One page of orders, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub orders: Vec<Order>,
    /// Pass back as `ListQuery::cursor` for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A webhook event waiting in (or delivered from) the outbox.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxEvent {
    /// Position in the outbox: events are delivered in this order.
    pub seq: i64,
    /// Stable across delivery retries: the `webhook-id` header.
    pub id: String,
    /// `order.confirmed`, `order.cancelled`, `order.flagged`, `call.attempted`,
    /// `order.unreachable`, `order.no_answer_final` (README "Webhooks").
    pub event_type: String,
    pub order_id: Option<String>,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    /// Failed deliveries so far.
    pub attempts: u32,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// What [`super::Store::reconcile_live_on_start`] found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Attempts found `live` and closed as `failed`.
    pub interrupted: Vec<i64>,
    /// Of those, how many got a re-attempt scheduled.
    pub rescheduled: usize,
    /// Of those, how many orders took the fallback instead.
    pub fell_back: usize,
}

/// A record id the API hands out or accepts: 1-64 characters of
/// `A-Z a-z 0-9 _ -` (agent calls and payments check theirs with it).
pub(crate) fn is_record_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

// ---- row decoding ---------------------------------------------------------

pub(crate) fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn corrupt(table: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        table,
        reason: reason.into(),
    }
}

pub(crate) fn get<'r, T>(row: &'r AnyRow, table: &'static str, col: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(col)
        .map_err(|e| corrupt(table, format!("column {col}: {e}")))
}

pub(crate) fn time(table: &'static str, col: &str, v: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(v)
        .ok_or_else(|| corrupt(table, format!("column {col}: {v} is not a time")))
}

pub(crate) fn opt_time(
    table: &'static str,
    col: &str,
    v: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    v.map(|v| time(table, col, v)).transpose()
}

fn json(table: &'static str, col: &str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(table, format!("column {col}: {e}")))
}

pub(crate) const ORDER_COLUMNS: &str =
    "id, phone, amount, amount_minor, currency, customer_kind, items, locale, timezone, status, created_at, updated_at, project, dialer_status, \
     store_name, order_number, delivery_fee, customer_name, address, notes, prep_error, \
     (SELECT q.mode FROM dialer_queue q WHERE q.order_id = orders.id) AS dialer_mode, \
     (SELECT q.subqueue FROM dialer_queue q WHERE q.order_id = orders.id) AS dialer_subqueue";

pub(crate) fn order_from_row(row: &AnyRow) -> Result<Order, StoreError> {
    const T: &str = "orders";
    let kind: String = get(row, T, "customer_kind")?;
    let status: String = get(row, T, "status")?;
    let items: String = get(row, T, "items")?;
    let dialer_mode: Option<String> = get(row, T, "dialer_mode")?;
    let dialer_subqueue: Option<String> = get(row, T, "dialer_subqueue")?;
    let currency: String = get(row, T, "currency")?;
    let currency =
        Currency::stored(&currency).map_err(|_| corrupt(T, format!("currency {currency:?}")))?;
    let minor: i64 = get(row, T, "amount_minor")?;
    let minor = u64::try_from(minor).map_err(|_| corrupt(T, format!("amount_minor {minor}")))?;
    Ok(Order {
        id: get(row, T, "id")?,
        phone: get(row, T, "phone")?,
        amount: get(row, T, "amount")?,
        money: Money::from_minor(minor, currency),
        customer_kind: CustomerKind::parse(&kind)
            .ok_or_else(|| corrupt(T, format!("customer_kind {kind:?}")))?,
        items: json(T, "items", &items)?,
        locale: get(row, T, "locale")?,
        timezone: get(row, T, "timezone")?,
        status: OrderStatus::parse(&status)
            .ok_or_else(|| corrupt(T, format!("status {status:?}")))?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
        updated_at: time(T, "updated_at", get(row, T, "updated_at")?)?,
        project: get(row, T, "project")?,
        dialer_status: get(row, T, "dialer_status")?,
        dialer: dialer_mode.zip(dialer_subqueue),
        script: OrderScript {
            store: get(row, T, "store_name")?,
            number: get(row, T, "order_number")?,
            delivery_fee: get(row, T, "delivery_fee")?,
            customer_name: get(row, T, "customer_name")?,
            address: get(row, T, "address")?,
            notes: get(row, T, "notes")?,
            prep_error: get(row, T, "prep_error")?,
        },
    })
}

pub(crate) const ATTEMPT_COLUMNS: &str =
    "id, order_id, attempt_no, state, scheduled_at, started_at, finished_at, \
     trunk, sip_status, outcome, digits, duration_ms, error, kind";

pub(crate) fn attempt_from_row(row: &AnyRow) -> Result<Attempt, StoreError> {
    const T: &str = "call_attempts";
    let state: String = get(row, T, "state")?;
    let outcome: Option<String> = get(row, T, "outcome")?;
    let attempt_no: i64 = get(row, T, "attempt_no")?;
    let sip_status: Option<i64> = get(row, T, "sip_status")?;
    Ok(Attempt {
        id: get(row, T, "id")?,
        order_id: get(row, T, "order_id")?,
        attempt_no: u32::try_from(attempt_no)
            .map_err(|_| corrupt(T, format!("attempt_no {attempt_no}")))?,
        state: AttemptStatus::parse(&state)
            .ok_or_else(|| corrupt(T, format!("state {state:?}")))?,
        scheduled_at: time(T, "scheduled_at", get(row, T, "scheduled_at")?)?,
        started_at: opt_time(T, "started_at", get(row, T, "started_at")?)?,
        finished_at: opt_time(T, "finished_at", get(row, T, "finished_at")?)?,
        trunk: get(row, T, "trunk")?,
        sip_status: sip_status
            .map(|s| u16::try_from(s).map_err(|_| corrupt(T, format!("sip_status {s}"))))
            .transpose()?,
        outcome: outcome
            .map(|o| {
                serde_json::from_value(serde_json::Value::String(o.clone()))
                    .map_err(|_| corrupt(T, format!("outcome {o:?}")))
            })
            .transpose()?,
        digits: get(row, T, "digits")?,
        duration_ms: get(row, T, "duration_ms")?,
        error: get(row, T, "error")?,
        kind: match get::<String>(row, T, "kind")?.as_str() {
            "inbound" => AttemptKind::Inbound,
            "outbound" => AttemptKind::Outbound,
            other => return Err(corrupt(T, format!("kind {other:?}"))),
        },
    })
}

pub(crate) const OUTBOX_COLUMNS: &str =
    "seq, id, event_type, order_id, payload, created_at, next_attempt_at, attempts, delivered_at, last_error";

pub(crate) fn event_from_row(row: &AnyRow) -> Result<OutboxEvent, StoreError> {
    const T: &str = "webhook_outbox";
    let payload: String = get(row, T, "payload")?;
    let attempts: i64 = get(row, T, "attempts")?;
    Ok(OutboxEvent {
        seq: get(row, T, "seq")?,
        id: get(row, T, "id")?,
        event_type: get(row, T, "event_type")?,
        order_id: get(row, T, "order_id")?,
        payload: json(T, "payload", &payload)?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
        next_attempt_at: time(T, "next_attempt_at", get(row, T, "next_attempt_at")?)?,
        attempts: u32::try_from(attempts)
            .map_err(|_| corrupt(T, format!("attempts {attempts}")))?,
        delivered_at: opt_time(T, "delivered_at", get(row, T, "delivered_at")?)?,
        last_error: get(row, T, "last_error")?,
    })
}
