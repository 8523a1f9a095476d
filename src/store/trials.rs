//! Trial orders (issue #15): the terms and the workflow rows
//! `orderline_trial` laid out, kept durably (migration 0016).
//!
//! The store holds no rules: rows come in as the sans-IO crate made them.
//! What it guarantees is once-only writing: a step's row is written back
//! only if it is still `waiting` with the `attempts` the runner read, in the
//! same transaction as the step's webhook outbox row, so two runners (a
//! restart, a second node) cannot both record a step or queue its event
//! twice; the extension is one guarded `UPDATE … WHERE extended_at IS NULL`.

use chrono::{DateTime, Utc};
use orderline_trial::{Row, Status, Step};
use sqlx::any::AnyRow;

use super::error::QueryContext;
use super::model::{corrupt, get, ms, opt_time, time};
use super::{enqueue, Store, StoreError, Tx};
use crate::money::{Currency, Money};

/// A trial's terms as the order was posted with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrialTerms {
    pub days: u32,
    /// Charged at the end of the trial.
    pub product: Money,
    /// Shipping and handling, charged at once.
    pub shipping: Money,
    /// The IANA zone the days are counted in.
    pub timezone: String,
    pub placed_at: DateTime<Utc>,
    /// When the one extension was taken.
    pub extended_at: Option<DateTime<Utc>>,
}

/// A trial to store with its order: terms and first rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTrial {
    pub terms: TrialTerms,
    pub rows: Vec<Row>,
}

/// How [`Store::extend_trial`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extension {
    Taken,
    /// Taken before: nothing changed.
    AlreadyTaken,
    /// A step ran between the read and the write: nothing changed.
    StepRan,
}

/// A stored trial: terms and rows, in `seq` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredTrial {
    pub terms: TrialTerms,
    pub rows: Vec<Row>,
}

const T: &str = "trials";
const S: &str = "trial_steps";
const TERMS_COLUMNS: &str =
    "days, product_minor, shipping_minor, currency, timezone, placed_at, extended_at";
const ROW_COLUMNS: &str =
    "seq, step, description, status, scheduled_at, executed_at, attempts, result";

fn int(v: u32) -> i64 {
    i64::from(v)
}

fn terms_from_row(row: &AnyRow) -> Result<TrialTerms, StoreError> {
    let currency: String = get(row, T, "currency")?;
    let currency =
        Currency::stored(&currency).map_err(|_| corrupt(T, format!("currency {currency:?}")))?;
    let minor = |col: &str| -> Result<Money, StoreError> {
        let v: i64 = get(row, T, col)?;
        Ok(Money::from_minor(
            u64::try_from(v).map_err(|_| corrupt(T, col.to_string()))?,
            currency,
        ))
    };
    let days: i64 = get(row, T, "days")?;
    Ok(TrialTerms {
        days: u32::try_from(days).map_err(|_| corrupt(T, "days"))?,
        product: minor("product_minor")?,
        shipping: minor("shipping_minor")?,
        timezone: get(row, T, "timezone")?,
        placed_at: time(T, "placed_at", get(row, T, "placed_at")?)?,
        extended_at: opt_time(T, "extended_at", get(row, T, "extended_at")?)?,
    })
}

fn step_from_row(row: &AnyRow) -> Result<Row, StoreError> {
    let step: String = get(row, S, "step")?;
    let status: String = get(row, S, "status")?;
    let seq: i64 = get(row, S, "seq")?;
    let attempts: i64 = get(row, S, "attempts")?;
    Ok(Row {
        seq: u32::try_from(seq).map_err(|_| corrupt(S, "seq"))?,
        step: Step::parse(&step).ok_or_else(|| corrupt(S, format!("step {step:?}")))?,
        description: get(row, S, "description")?,
        status: Status::parse(&status).ok_or_else(|| corrupt(S, format!("status {status:?}")))?,
        scheduled_at: time(S, "scheduled_at", get(row, S, "scheduled_at")?)?,
        executed_at: opt_time(S, "executed_at", get(row, S, "executed_at")?)?,
        attempts: u32::try_from(attempts).map_err(|_| corrupt(S, "attempts"))?,
        result: get(row, S, "result")?,
    })
}

async fn insert_row(tx: &mut Tx, order_id: &str, r: &Row) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO trial_steps (order_id, {ROW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    ))
    .bind(order_id)
    .bind(int(r.seq))
    .bind(r.step.as_str())
    .bind(&r.description)
    .bind(r.status.as_str())
    .bind(ms(r.scheduled_at))
    .bind(r.executed_at.map(ms))
    .bind(int(r.attempts))
    .bind(r.result.as_deref())
    .execute(&mut **tx)
    .await
    .during("store trial step")?;
    Ok(())
}

/// Write `after` over row `before.seq` if it is still as the caller read it
/// (`waiting`, same `attempts`); `false` when another writer got there first.
async fn update_row(
    tx: &mut Tx,
    order_id: &str,
    before: &Row,
    after: &Row,
) -> Result<bool, StoreError> {
    let changed = sqlx::query(
        "UPDATE trial_steps SET description = $1, status = $2, scheduled_at = $3, executed_at = $4, attempts = $5, result = $6 \
         WHERE order_id = $7 AND seq = $8 AND status = 'waiting' AND attempts = $9",
    )
    .bind(&after.description)
    .bind(after.status.as_str())
    .bind(ms(after.scheduled_at))
    .bind(after.executed_at.map(ms))
    .bind(int(after.attempts))
    .bind(after.result.as_deref())
    .bind(order_id)
    .bind(int(before.seq))
    .bind(int(before.attempts))
    .execute(&mut **tx)
    .await
    .during("write trial step")?
    .rows_affected();
    Ok(changed == 1)
}

/// Store a new order's trial (inside the order's own insert).
pub(super) async fn write_trial(
    tx: &mut Tx,
    order_id: &str,
    t: &NewTrial,
) -> Result<(), StoreError> {
    let amount = |m: &Money| i64::try_from(m.minor()).unwrap_or(i64::MAX);
    sqlx::query(&format!(
        "INSERT INTO trials (order_id, {TERMS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(order_id)
    .bind(int(t.terms.days))
    .bind(amount(&t.terms.product))
    .bind(amount(&t.terms.shipping))
    .bind(t.terms.product.currency().code())
    .bind(&t.terms.timezone)
    .bind(ms(t.terms.placed_at))
    .bind(t.terms.extended_at.map(ms))
    .execute(&mut **tx)
    .await
    .during("store trial")?;
    for r in &t.rows {
        insert_row(tx, order_id, r).await?;
    }
    Ok(())
}

/// An order's trial terms inside a transaction (an order posted again).
pub(super) async fn load_terms(
    tx: &mut Tx,
    order_id: &str,
) -> Result<Option<TrialTerms>, StoreError> {
    sqlx::query(&format!(
        "SELECT {TERMS_COLUMNS} FROM trials WHERE order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await
    .during("load trial")?
    .as_ref()
    .map(terms_from_row)
    .transpose()
}

impl Store {
    /// An order's trial and its workflow rows, or `None`.
    pub async fn trial(&self, order_id: &str) -> Result<Option<StoredTrial>, StoreError> {
        let Some(terms) = sqlx::query(&format!(
            "SELECT {TERMS_COLUMNS} FROM trials WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
        .during("read trial")?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(&format!(
            "SELECT {ROW_COLUMNS} FROM trial_steps WHERE order_id = $1 ORDER BY seq"
        ))
        .bind(order_id)
        .fetch_all(&self.pool)
        .await
        .during("read trial steps")?
        .iter()
        .map(step_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(StoredTrial {
            terms: terms_from_row(&terms)?,
            rows,
        }))
    }

    /// Orders with a waiting step due at `now`, most overdue first.
    pub async fn due_trials(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError> {
        sqlx::query(
            "SELECT order_id, MIN(scheduled_at) AS due FROM trial_steps \
             WHERE status = 'waiting' AND scheduled_at <= $1 \
             GROUP BY order_id ORDER BY due, order_id LIMIT $2",
        )
        .bind(ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .during("find due trial steps")?
        .iter()
        .map(|row| get(row, S, "order_id"))
        .collect()
    }

    /// Record a step that ran: queue `event` (its type and data) if any,
    /// then write `after(event id)` over `before` if `before` still stands
    /// — one transaction. `false` (nothing written, nothing queued) when
    /// another runner recorded the step first.
    pub async fn finish_trial_step(
        &self,
        order_id: &str,
        before: &Row,
        after: impl FnOnce(Option<&str>) -> Row,
        event: Option<(&str, &serde_json::Value)>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin("record trial step").await?;
        let id = match event {
            Some((kind, data)) => Some(enqueue(&mut tx, kind, Some(order_id), data, now).await?),
            None => None,
        };
        let row = after(id.as_deref());
        if !update_row(&mut tx, order_id, before, &row).await? {
            // Dropping the transaction rolls the queued event back.
            return Ok(false);
        }
        tx.commit().await.during("record trial step")?;
        Ok(true)
    }

    /// Take the one extension: mark the trial extended, write the moved rows
    /// and add the extension row (`changed`, from `orderline_trial::extend`;
    /// the rows not yet stored are inserted), and queue `trial.extended`
    /// with `data` — one transaction, or nothing.
    pub async fn extend_trial(
        &self,
        order_id: &str,
        current: &[Row],
        changed: &[Row],
        data: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<Extension, StoreError> {
        let mut tx = self.begin("extend trial").await?;
        let taken = sqlx::query(
            "UPDATE trials SET extended_at = $1 WHERE order_id = $2 AND extended_at IS NULL",
        )
        .bind(ms(now))
        .bind(order_id)
        .execute(&mut *tx)
        .await
        .during("extend trial")?
        .rows_affected();
        if taken == 0 {
            return Ok(Extension::AlreadyTaken);
        }
        for row in changed {
            match current.iter().find(|r| r.seq == row.seq) {
                Some(before) => {
                    if !update_row(&mut tx, order_id, before, row).await? {
                        // Dropping the transaction keeps nothing of the extension.
                        return Ok(Extension::StepRan);
                    }
                }
                None => insert_row(&mut tx, order_id, row).await?,
            }
        }
        enqueue(&mut tx, "trial.extended", Some(order_id), data, now).await?;
        tx.commit().await.during("extend trial")?;
        Ok(Extension::Taken)
    }

    /// Queue a notification again (`…/workflow/{row}/resend`); the event id.
    pub async fn resend_trial_event(
        &self,
        order_id: &str,
        event: &str,
        data: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin("resend trial notification").await?;
        let id = enqueue(&mut tx, event, Some(order_id), data, now).await?;
        tx.commit().await.during("resend trial notification")?;
        Ok(id)
    }
}
