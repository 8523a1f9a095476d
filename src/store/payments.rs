//! Keypad payments on a bridged call: created `pending` by the API, moved to
//! `in_progress` and given steps by the call layer, ended once — with the CRM
//! note and the `payment.completed` / `payment.failed` webhook in the same
//! transaction.
//!
//! Nothing here has a place for card data: the result keeps brand, last
//! four (exactly four digits), transaction id and a reason code.

use chrono::{DateTime, Utc};

use super::agent_calls::load_call;
use super::error::QueryContext;
use super::model::{is_record_id, ms};
use super::model_calls::{
    note_timestamp, payment_from_row, step_from_row, CrmNote, PAYMENT_COLUMNS,
};
use super::{enqueue, Payment, PaymentResult, PaymentStatus, PaymentStep, Store, StoreError, Tx};
use crate::ivr::payment::{EndReason, FailReason};
use crate::payments::{check_payment_amount, PaymentRequest};

/// The cause written on calls a restart found live (payments get
/// [`FailReason::Interrupted`], written the same).
pub const INTERRUPTED: &str = "interrupted";

const ACTIVE: &str = "('pending', 'in_progress')";

impl Store {
    /// Store a new `pending` payment on a bridged call.
    ///
    /// [`StoreError::CallNotFound`], [`StoreError::CallNotBridged`], or
    /// [`StoreError::PaymentActive`] when the call already has a pending or
    /// in-progress payment — checked in the insert itself and backed by a
    /// unique index, so two concurrent requests cannot both start one.
    pub async fn insert_payment(
        &self,
        p: &PaymentRequest,
        now: DateTime<Utc>,
    ) -> Result<Payment, StoreError> {
        validate_payment(p)?;
        let mut tx = self.begin("insert payment").await?;
        let row = sqlx::query(&format!(
            "INSERT INTO payments (id, call_id, agent_id, item, amount_minor, currency, status, created_at, updated_at) \
             SELECT $1, c.id, c.agent_id, $3, $4, $5, 'pending', $6, $6 FROM agent_calls c \
             WHERE c.id = $2 AND c.status = 'bridged' \
             AND NOT EXISTS (SELECT 1 FROM payments q WHERE q.call_id = c.id AND q.status IN {ACTIVE}) \
             ON CONFLICT DO NOTHING RETURNING {PAYMENT_COLUMNS}"
        ))
        .bind(&p.payment_id)
        .bind(&p.call_id)
        .bind(&p.item)
        .bind(i64::try_from(p.amount.minor()).unwrap_or(i64::MAX))
        .bind(p.amount.currency().code())
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .during("insert payment")?;
        let Some(row) = row else {
            let call = load_call(&mut tx, &p.call_id).await?;
            return Err(match call {
                None => StoreError::CallNotFound(p.call_id.clone()),
                Some(c) if c.status != super::AgentCallStatus::Bridged => {
                    StoreError::CallNotBridged {
                        id: c.id,
                        status: c.status.as_str(),
                    }
                }
                Some(c) => StoreError::PaymentActive { call_id: c.id },
            });
        };
        let payment = payment_from_row(&row)?;
        tx.commit().await.during("insert payment")?;
        Ok(payment)
    }

    /// A payment with its steps, or `None`.
    pub async fn get_payment(&self, id: &str) -> Result<Option<Payment>, StoreError> {
        let mut tx = self.pool.begin().await.during("get payment")?;
        let p = load_payment(&mut tx, "id", id).await?;
        tx.commit().await.during("get payment")?;
        Ok(p)
    }

    /// The gateway's card token of a finished payment (for refunds and
    /// reconciliation with the processor); kept out of [`Payment`] so the API
    /// can never show it.
    pub async fn payment_gateway_token(&self, id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT gateway_token FROM payments WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .during("get payment token")?
            .ok_or_else(|| StoreError::PaymentNotFound(id.to_string()))?;
        sqlx::Row::try_get::<Option<String>, _>(&row, "gateway_token").during("get payment token")
    }

    /// The call's `pending` or `in_progress` payment, if any.
    pub async fn active_payment(&self, call_id: &str) -> Result<Option<Payment>, StoreError> {
        let mut tx = self.pool.begin().await.during("get active payment")?;
        let p = load_payment(&mut tx, "call_id", call_id).await?;
        tx.commit().await.during("get active payment")?;
        Ok(p.filter(|p| !p.status.is_final()))
    }

    /// Record a step event (and touch the payment's `updated_at`).
    /// [`StoreError::PaymentNotFound`] for an unknown id.
    pub async fn add_payment_step(
        &self,
        payment_id: &str,
        step: &PaymentStep,
    ) -> Result<(), StoreError> {
        if let Some(reason) = &step.reason {
            check_code("reason", reason)?;
        }
        let mut tx = self.begin("add payment step").await?;
        let touched = sqlx::query("UPDATE payments SET updated_at = $1 WHERE id = $2")
            .bind(ms(step.at))
            .bind(payment_id)
            .execute(&mut *tx)
            .await
            .during("add payment step")?
            .rows_affected();
        if touched == 0 {
            return Err(StoreError::PaymentNotFound(payment_id.to_string()));
        }
        sqlx::query("INSERT INTO payment_steps (payment_id, step, status, reason, at) VALUES ($1, $2, $3, $4, $5)")
            .bind(payment_id)
            .bind(step.step.as_str())
            .bind(step.status.as_str())
            .bind(step.reason.as_deref())
            .bind(ms(step.at))
            .execute(&mut *tx)
            .await
            .during("add payment step")?;
        tx.commit().await.during("add payment step")?;
        Ok(())
    }

    /// `pending` → `in_progress` (the caller's first key). `false` if it was
    /// not pending (e.g. the agent cancelled it meanwhile).
    pub async fn mark_payment_in_progress(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let changed = sqlx::query("UPDATE payments SET status = 'in_progress', updated_at = $1 WHERE id = $2 AND status = 'pending'")
            .bind(ms(now))
            .bind(id)
            .execute(&self.pool)
            .await
            .during("mark payment in progress")?
            .rows_affected();
        Ok(changed == 1)
    }

    /// End a payment: final status, result fields, CRM note and the outbox
    /// webhook (`payment.completed` for `succeeded`, else `payment.failed`),
    /// in one transaction, and only if its current status is in `only_from`
    /// (final statuses in `only_from` are ignored: a payment ends once).
    /// Returns the updated payment, or `None` if it was not in `only_from`
    /// (then nothing was written). [`StoreError::PaymentNotFound`] for an
    /// unknown id; [`StoreError::InvalidPayment`] for a result that is not
    /// final or has a malformed field.
    pub async fn finish_payment(
        &self,
        id: &str,
        r: &PaymentResult,
        only_from: &[PaymentStatus],
        now: DateTime<Utc>,
    ) -> Result<Option<Payment>, StoreError> {
        validate_result(r)?;
        let mut tx = self.begin("finish payment").await?;
        let payment = load_payment(&mut tx, "id", id)
            .await?
            .ok_or_else(|| StoreError::PaymentNotFound(id.to_string()))?;
        if !finish_in_tx(&mut tx, &payment, r, only_from, now).await? {
            return Ok(None);
        }
        let done = load_payment(&mut tx, "id", id)
            .await?
            .ok_or_else(|| StoreError::PaymentNotFound(id.to_string()))?;
        tx.commit().await.during("finish payment")?;
        Ok(Some(done))
    }

    /// After a crash: every live agent call → `ended` (cause `interrupted`,
    /// `ended_by` `local`), every `pending`/`in_progress` payment → `failed`
    /// (reason `interrupted`) with its note and webhook. One transaction.
    /// Returns (calls ended, payments failed).
    pub async fn reconcile_agent_calls_on_start(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(u64, u64), StoreError> {
        let mut tx = self.begin("reconcile agent calls").await?;
        let ids: Vec<String> = sqlx::query(&format!(
            "SELECT id FROM payments WHERE status IN {ACTIVE} ORDER BY created_at, id"
        ))
        .fetch_all(&mut *tx)
        .await
        .during("reconcile payments")?
        .iter()
        .map(|row| sqlx::Row::try_get(row, "id"))
        .collect::<Result<_, _>>()
        .during("reconcile payments")?;
        let interrupted = PaymentResult::ended(
            PaymentStatus::Failed,
            Some(EndReason::Failed(FailReason::Interrupted)),
        );
        let mut payments = 0;
        for id in ids {
            if let Some(p) = load_payment(&mut tx, "id", &id).await? {
                if finish_in_tx(
                    &mut tx,
                    &p,
                    &interrupted,
                    &[PaymentStatus::Pending, PaymentStatus::InProgress],
                    now,
                )
                .await?
                {
                    payments += 1;
                }
            }
        }
        let calls = sqlx::query(
            "UPDATE agent_calls SET \
               customer_cause = CASE WHEN status IN ('dialing_customer', 'bridged') THEN $1 ELSE customer_cause END, \
               status = 'ended', agent_cause = $1, ended_by = 'local', ended_at = $2 \
             WHERE status IN ('dialing_agent', 'dialing_customer', 'bridged')",
        )
        .bind(INTERRUPTED)
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .during("reconcile agent calls")?
        .rows_affected();
        tx.commit().await.during("reconcile agent calls")?;
        Ok((calls, payments))
    }
}

/// Apply `r` to `payment` if it is still in one of the non-final statuses of
/// `only_from`; write the note and queue the webhook. `false`: not applied.
async fn finish_in_tx(
    tx: &mut Tx,
    payment: &Payment,
    r: &PaymentResult,
    only_from: &[PaymentStatus],
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let from: Vec<&str> = only_from
        .iter()
        .filter(|s| !s.is_final())
        .map(|s| s.as_str())
        .collect();
    if !from.contains(&payment.status.as_str()) {
        return Ok(false);
    }
    let call = load_call(tx, &payment.call_id)
        .await?
        .ok_or_else(|| StoreError::CallNotFound(payment.call_id.clone()))?;
    let note = CrmNote {
        agent_name: call.agent_name.clone(),
        product: payment.item.clone(),
        transaction_id: r.transaction_id.clone(),
        amount: payment.amount.to_string(),
        currency: payment.amount.currency().code().to_string(),
        status: r.status.as_str().to_string(),
        timestamp: note_timestamp(now),
    };
    let note_text = serde_json::to_string(&note).map_err(|e| StoreError::InvalidPayment {
        field: "note",
        reason: e.to_string(),
    })?;
    let params: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 10)).collect();
    let sql = format!(
        "UPDATE payments SET status = $1, brand = $2, last_four = $3, transaction_id = $4, reason = $5, note = $6, \
         updated_at = $7, gateway_token = $9 WHERE id = $8 AND status IN ({})",
        params.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(r.status.as_str())
        .bind(r.brand.as_deref())
        .bind(r.last_four.as_deref())
        .bind(r.transaction_id.as_deref())
        .bind(r.reason.as_ref().map(ToString::to_string))
        .bind(note_text)
        .bind(ms(now))
        .bind(payment.id.as_str())
        .bind(r.token.as_deref());
    for s in &from {
        query = query.bind(*s);
    }
    // The status condition in the UPDATE itself makes two concurrent ends
    // safe on PostgreSQL too: the second waits for the first's row lock,
    // then sees the new status and changes nothing.
    if query
        .execute(&mut **tx)
        .await
        .during("finish payment")?
        .rows_affected()
        == 0
    {
        return Ok(false);
    }
    let event = if r.status == PaymentStatus::Succeeded {
        "payment.completed"
    } else {
        "payment.failed"
    };
    let data = serde_json::json!({
        "payment_id": payment.id,
        "call_id": call.id,
        "order_id": call.order_id,
        "agent_id": call.agent_id,
        "agent_name": note.agent_name,
        "product": note.product,
        "transaction_id": note.transaction_id,
        "amount": note.amount,
        "currency": note.currency,
        "status": note.status,
        "timestamp": note.timestamp,
        "brand": r.brand,
        "last_four": r.last_four,
        "reason": r.reason.as_ref().map(ToString::to_string),
    });
    // The outbox's order_id references `orders`; an agent call's order id
    // need not be one of ours, so it travels in the payload only.
    enqueue(tx, event, None, &data, now).await?;
    Ok(true)
}

/// The payment whose `column` (`id` or `call_id`) is `value` — for
/// `call_id`, its newest — with its steps.
async fn load_payment(
    tx: &mut Tx,
    column: &'static str,
    value: &str,
) -> Result<Option<Payment>, StoreError> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE {column} = $1 ORDER BY created_at DESC, id DESC LIMIT 1"
    ))
    .bind(value)
    .fetch_optional(&mut **tx)
    .await
    .during("load payment")?
    else {
        return Ok(None);
    };
    let mut payment = payment_from_row(&row)?;
    for row in sqlx::query("SELECT payment_id, step, status, reason, at FROM payment_steps WHERE payment_id = $1 ORDER BY seq")
        .bind(&payment.id)
        .fetch_all(&mut **tx)
        .await
        .during("load payment steps")?
    {
        payment.steps.push(step_from_row(&row)?.1);
    }
    Ok(Some(payment))
}

fn validate_payment(p: &PaymentRequest) -> Result<(), StoreError> {
    let bad = |field: &'static str, reason: &str| StoreError::InvalidPayment {
        field,
        reason: reason.to_string(),
    };
    if !is_record_id(&p.payment_id) {
        return Err(bad(
            "id",
            "must be 1-64 characters of A-Z, a-z, 0-9, '_' or '-'",
        ));
    }
    let n = p.item.chars().count();
    if p.item.trim().is_empty() || n > 200 || p.item.chars().any(char::is_control) {
        return Err(bad("item", "must be 1 to 200 printable characters"));
    }
    check_payment_amount(p.amount).map_err(|e| bad(e.field(), &e.to_string()))?;
    Ok(())
}

fn validate_result(r: &PaymentResult) -> Result<(), StoreError> {
    let bad = |field: &'static str, reason: &str| StoreError::InvalidPayment {
        field,
        reason: reason.to_string(),
    };
    if !r.status.is_final() {
        return Err(bad(
            "status",
            "a payment ends as succeeded, failed or cancelled",
        ));
    }
    if let Some(b) = &r.brand {
        if b.is_empty() || b.len() > 32 || !b.bytes().all(|c| c.is_ascii_lowercase() || c == b'_') {
            return Err(bad("brand", "must be a lowercase brand code like visa"));
        }
    }
    if let Some(l) = &r.last_four {
        if l.len() != 4 || !l.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("last_four", "must be exactly four digits"));
        }
    }
    if let Some(t) = &r.transaction_id {
        if t.is_empty() || t.len() > 128 || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad(
                "transaction_id",
                "must be 1 to 128 printable ASCII characters",
            ));
        }
    }
    if let Some(t) = &r.token {
        if t.is_empty() || t.len() > 256 || !t.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(bad("token", "must be 1 to 256 printable ASCII characters"));
        }
    }
    if let Some(reason) = &r.reason {
        check_code("reason", &reason.to_string())?;
    }
    Ok(())
}

/// A reason code: short, printable, and never a run of digits long enough
/// to be (part of) a card number, expiry+CVC, or postal code.
fn check_code(field: &'static str, code: &str) -> Result<(), StoreError> {
    let longest_digits = code
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    if code.is_empty()
        || code.len() > 128
        || !code.bytes().all(|b| b.is_ascii_graphic())
        || longest_digits > 3
    {
        return Err(StoreError::InvalidPayment {
            field,
            reason: "must be a reason code of printable ASCII with no run of more than 3 digits"
                .into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_codes_cannot_carry_digit_runs() {
        assert!(check_code("reason", "declined:insufficient_funds").is_ok());
        assert!(check_code("reason", "gateway:http_502").is_ok());
        assert!(check_code("reason", "card_number_check_digit").is_ok());
        assert!(check_code("reason", "bad:4242424242424242").is_err());
        assert!(check_code("reason", "zip 54000").is_err());
        assert!(check_code("reason", "").is_err());
    }
}
