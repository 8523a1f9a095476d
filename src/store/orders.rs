//! Orders: idempotent insert with its plan, lookup, keyset listing, and the
//! human decision on a flagged order.

use chrono::{DateTime, Utc};

use super::attempts::schedule;
use super::error::QueryContext;
use super::model::{
    attempt_from_row, ms, order_from_row, status_change_from_row, ATTEMPT_COLUMNS, ORDER_COLUMNS,
};
use super::trials::{load_terms, write_trial, NewTrial, TrialTerms};
use super::upsells::{load_extras, write_extras, OrderExtras};
use super::{
    load_order, set_status, FlagDecision, Inserted, ListQuery, NewOrder, Order, OrderDetail, Page,
    StatusChange, Store, StoreError, MAX_PAGE,
};
use crate::dialer::{Decision, OrderStatus};

impl Store {
    /// Store a new order and apply the plan the rules made for it, atomically.
    ///
    /// Idempotent on `order.id`: posting the same order again returns
    /// [`Inserted::Existing`] and changes nothing (the plan is ignored); a
    /// different body under an existing id returns [`Inserted::Conflict`]
    /// naming the fields. Insert and plan share one transaction, so a crash
    /// never leaves an order that nobody will call.
    pub async fn insert_order(
        &self,
        order: &NewOrder,
        plan: Decision,
        now: DateTime<Utc>,
    ) -> Result<Inserted, StoreError> {
        self.insert_order_with(order, &OrderExtras::default(), plan, now)
            .await
    }

    /// [`Store::insert_order`] with what the order carries for upsells
    /// (issue #15: offer, card on file), stored in the same transaction and
    /// compared like the order's own fields when the order is posted again.
    pub async fn insert_order_with(
        &self,
        order: &NewOrder,
        extras: &OrderExtras,
        plan: Decision,
        now: DateTime<Utc>,
    ) -> Result<Inserted, StoreError> {
        order.validate()?;
        let money = order.money()?;
        // An order whose first call is not yet due (e.g. outside the calling
        // window) is `pending` until a worker claims that call (issue #13).
        let failed_prep = order
            .script
            .prep_error
            .as_ref()
            .map(|why| format!("preparation failed: {why}"));
        let (status, reason) = match plan {
            // The call could not say what it must (issue #13): kept, for a human.
            _ if failed_prep.is_some() => (
                OrderStatus::Flagged,
                failed_prep.as_deref().unwrap_or_default(),
            ),
            Decision::CallAt(at) if at > now => {
                (OrderStatus::Pending, "rules: call; first call not yet due")
            }
            Decision::CallAt(_) => (OrderStatus::Calling, "rules: call"),
            Decision::Flag => (OrderStatus::Flagged, "rules: flag without a call"),
            Decision::ConfirmWithoutCall => {
                (OrderStatus::Confirmed, "rules: confirm without a call")
            }
        };
        let mut tx = self.begin("insert order").await?;
        let inserted = sqlx::query(
            "INSERT INTO orders (id, phone, amount, currency, customer_kind, items, locale, timezone, status, created_at, updated_at, project, \
             store_name, order_number, delivery_fee, customer_name, address, notes, prep_error, amount_minor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&order.id)
        .bind(&order.phone)
        .bind(&order.amount)
        .bind(money.currency().code())
        .bind(order.customer_kind.as_str())
        .bind(order.items.to_string())
        .bind(order.locale.as_deref())
        .bind(order.timezone.as_deref())
        .bind(status.as_str())
        .bind(ms(now))
        .bind(&order.project)
        .bind(order.script.store.as_deref())
        .bind(order.script.number.as_deref())
        .bind(order.script.delivery_fee.as_deref())
        .bind(order.script.customer_name.as_deref())
        .bind(order.script.address.as_deref())
        .bind(order.script.notes.as_deref())
        .bind(order.script.prep_error.as_deref())
        .bind(i64::try_from(money.minor()).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .during("insert order")?
        .rows_affected();
        if inserted == 0 {
            let existing = load_order(&mut tx, &order.id)
                .await?
                .ok_or_else(|| StoreError::OrderNotFound(order.id.clone()))?;
            let stored_extras = load_extras(&mut tx, &order.id).await?;
            let stored_trial = load_terms(&mut tx, &order.id).await?;
            tx.commit().await.during("insert order")?;
            let mut fields = order.differences(&existing);
            fields.extend(extras.differences(&stored_extras));
            if !same_trial(extras.trial.as_ref(), stored_trial.as_ref()) {
                fields.push("trial");
            }
            return Ok(if fields.is_empty() {
                Inserted::Existing(existing)
            } else {
                Inserted::Conflict { existing, fields }
            });
        }
        set_status(&mut tx, &order.id, None, status, reason, now).await?;
        if !extras.is_empty() {
            write_extras(&mut tx, &order.id, extras).await?;
        }
        if let Some(trial) = &extras.trial {
            write_trial(&mut tx, &order.id, trial).await?;
        }
        if let (Decision::CallAt(at), None) = (plan, &failed_prep) {
            schedule(&mut tx, &order.id, 1, at).await?;
        }
        let stored = load_order(&mut tx, &order.id)
            .await?
            .ok_or_else(|| StoreError::OrderNotFound(order.id.clone()))?;
        tx.commit().await.during("insert order")?;
        Ok(Inserted::Created(stored))
    }

    /// An order and its call attempts (oldest first), or `None`.
    pub async fn get_order(&self, id: &str) -> Result<Option<OrderDetail>, StoreError> {
        let Some(row) = sqlx::query(&format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .during("get order")?
        else {
            return Ok(None);
        };
        let order = order_from_row(&row)?;
        let attempts = sqlx::query(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM call_attempts WHERE order_id = $1 ORDER BY attempt_no"
        ))
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .during("get order attempts")?
        .iter()
        .map(attempt_from_row)
        .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(OrderDetail { order, attempts }))
    }

    /// Every status an order has had, oldest first (empty for an unknown id).
    pub async fn status_history(&self, order_id: &str) -> Result<Vec<StatusChange>, StoreError> {
        sqlx::query("SELECT from_status, to_status, reason, at FROM order_status_history WHERE order_id = $1 ORDER BY id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await
            .during("read status history")?
            .iter()
            .map(status_change_from_row)
            .collect()
    }

    /// Orders oldest first, filtered, one page at a time.
    ///
    /// Keyset pagination on `(created_at, id)`: a page starts strictly after
    /// the last row of the previous one, so orders inserted meanwhile never
    /// shift, repeat or hide rows the way `OFFSET` would.
    pub async fn list_orders(&self, q: &ListQuery) -> Result<Page, StoreError> {
        let limit = q.limit.clamp(1, MAX_PAGE);
        let mut conditions: Vec<String> = Vec::new();
        let mut texts: Vec<(usize, String)> = Vec::new();
        let mut ints: Vec<(usize, i64)> = Vec::new();
        let mut n = 0;
        let mut param = || {
            n += 1;
            n
        };
        if let Some(status) = q.status {
            let p = param();
            // The order's one status: one shown with a configured status (issue #11) is not in a built-in one.
            conditions.push(format!("status = ${p} AND dialer_status IS NULL"));
            texts.push((p, status.as_str().to_string()));
        }
        if let Some(status) = &q.configured_status {
            let p = param();
            conditions.push(format!("dialer_status = ${p}"));
            texts.push((p, status.clone()));
        }
        if let Some(from) = q.from {
            let p = param();
            conditions.push(format!("created_at >= ${p}"));
            ints.push((p, ms(from)));
        }
        if let Some(to) = q.to {
            let p = param();
            conditions.push(format!("created_at < ${p}"));
            ints.push((p, ms(to)));
        }
        if let Some(cursor) = &q.cursor {
            let (at, id) = decode_cursor(cursor)?;
            let (pa, pi) = (param(), param());
            conditions.push(format!(
                "(created_at > ${pa} OR (created_at = ${pa} AND id > ${pi}))"
            ));
            ints.push((pa, at));
            texts.push((pi, id));
        }
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let p_limit = param();
        let sql = format!("SELECT {ORDER_COLUMNS} FROM orders {where_clause} ORDER BY created_at, id LIMIT ${p_limit}");
        // Bind in parameter order: $1, $2, … must be bound as the 1st, 2nd, … value.
        enum Arg {
            Text(String),
            Int(i64),
        }
        let mut args: Vec<(usize, Arg)> =
            texts.into_iter().map(|(p, v)| (p, Arg::Text(v))).collect();
        args.extend(ints.into_iter().map(|(p, v)| (p, Arg::Int(v))));
        args.push((p_limit, Arg::Int(i64::from(limit) + 1)));
        args.sort_by_key(|(p, _)| *p);
        let mut query = sqlx::query(&sql);
        for (_, arg) in args {
            query = match arg {
                Arg::Text(v) => query.bind(v),
                Arg::Int(v) => query.bind(v),
            };
        }
        let rows = query.fetch_all(&self.pool).await.during("list orders")?;
        let mut orders = rows
            .iter()
            .map(order_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if orders.len() > limit as usize {
            orders.truncate(limit as usize);
            orders
                .last()
                .map(|o| encode_cursor(ms(o.created_at), &o.id))
        } else {
            None
        };
        Ok(Page {
            orders,
            next_cursor,
        })
    }

    /// A human's decision on a flagged order: confirm or cancel it.
    ///
    /// Refused (with [`StoreError::NotFlagged`]) unless the order is flagged,
    /// so two operators clicking at once cannot both decide.
    pub async fn decide(
        &self,
        order_id: &str,
        decision: FlagDecision,
        decided_by: &str,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Order, StoreError> {
        let mut tx = self.begin("decide flagged order").await?;
        let reason = format!("decision: {} by {decided_by}", decision.as_str());
        let changed = set_status(
            &mut tx,
            order_id,
            Some(OrderStatus::Flagged),
            decision.status(),
            &reason,
            now,
        )
        .await?;
        let order = load_order(&mut tx, order_id)
            .await?
            .ok_or_else(|| StoreError::OrderNotFound(order_id.to_string()))?;
        if !changed {
            return Err(StoreError::NotFlagged {
                id: order_id.to_string(),
                status: order.status.as_str(),
            });
        }
        sqlx::query("INSERT INTO flag_decisions (order_id, decision, decided_by, note, decided_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(order_id)
            .bind(decision.as_str())
            .bind(decided_by)
            .bind(note)
            .bind(ms(now))
            .execute(&mut *tx)
            .await
            .during("record flag decision")?;
        tx.commit().await.during("decide flagged order")?;
        Ok(order)
    }
}

/// Whether a trial posted again is the stored one (its days, amounts and
/// zone; the placing instant is the first post's).
fn same_trial(posted: Option<&NewTrial>, stored: Option<&TrialTerms>) -> bool {
    match (posted.map(|t| &t.terms), stored) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            (a.days, a.product, a.shipping, &a.timezone)
                == (b.days, b.product, b.shipping, &b.timezone)
        }
        _ => false,
    }
}

fn encode_cursor(created_ms: i64, id: &str) -> String {
    format!("{created_ms}:{id}")
}

fn decode_cursor(cursor: &str) -> Result<(i64, String), StoreError> {
    let bad = || StoreError::BadCursor(cursor.to_string());
    let (at, id) = cursor.split_once(':').ok_or_else(bad)?;
    Ok((at.parse().map_err(|_| bad())?, id.to_string()))
}
