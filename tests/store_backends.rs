//! The same store tests against SQLite and a real PostgreSQL.

#[macro_use]
mod support;

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use orderline::config::{CallingConfig, CampaignConfig};
use orderline::dialer::{Campaign, CustomerKind, Decision, Next, OrderStatus};
use orderline::ivr::Outcome;
use orderline::store::{
    AttemptReport, AttemptStatus, FlagDecision, Inserted, ListQuery, NewOrder, Store, StoreError,
};
use sqlx::Row;
use support::store::TestDb;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("rfc3339")
        .with_timezone(&Utc)
}

fn order(id: &str, amount: &str) -> NewOrder {
    NewOrder {
        id: id.to_string(),
        phone: "+923001234567".into(),
        amount: amount.into(),
        currency: "PKR".into(),
        customer_kind: CustomerKind::New,
        items: serde_json::json!([{"sku": "A1", "qty": 2, "price": "10.25"}]),
        locale: Some("ur-PK".into()),
        timezone: None,
        project: "default".into(),
        script: Default::default(),
    }
}

fn report(outcome: Outcome) -> AttemptReport {
    AttemptReport {
        outcome,
        trunk: Some("default".into()),
        sip_status: Some(if matches!(outcome, Outcome::NoAnswer) {
            487
        } else {
            200
        }),
        digits: match outcome {
            Outcome::Confirmed => "1".into(),
            Outcome::Cancelled => "2".into(),
            _ => String::new(),
        },
        duration_ms: 12_345,
        error: None,
        operator: None,
    }
}

fn campaign() -> Campaign {
    CallingConfig::default()
        .campaign(&CampaignConfig::default())
        .expect("default campaign")
}

async fn created(store: &Store, o: &NewOrder, plan: Decision, now: DateTime<Utc>) {
    match store.insert_order(o, plan, now).await {
        Ok(Inserted::Created(_)) => {}
        other => panic!("insert {}: {other:?}", o.id),
    }
}

async fn event_types(store: &Store, order_id: &str) -> Vec<String> {
    store
        .order_events(order_id)
        .await
        .expect("events")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

on_both_backends!(
    insert_is_idempotent_and_conflicts_are_reported,
    plans_other_than_calls_emit_their_webhooks,
    list_orders_pages_are_stable,
    claiming_is_atomic_under_concurrency,
    a_late_claim_outside_the_window_is_deferred_not_called,
    finish_attempt_writes_result_status_and_outbox_together,
    a_failed_finish_changes_nothing,
    reconcile_after_crash_never_calls_an_attempt_twice,
    flagged_orders_take_one_human_decision,
    outbox_leases_retries_and_delivers,
    outbox_lease_is_exclusive_under_concurrency,
    money_is_never_a_float,
    claims_and_leases_take_exactly_their_limit,
    pending_until_the_first_call_is_claimed,
    script_fields_are_stored_and_compared,
    a_caller_finds_open_orders_by_the_end_of_the_phone,
);

/// Issue #16 (the inbound lookup without `LIKE`): open orders whose phone
/// ends in the caller's digits, newest first; a phone shorter than the tail,
/// another ending, or a settled order never match.
async fn a_caller_finds_open_orders_by_the_end_of_the_phone(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    let with_phone = |id: &str, phone: &str| NewOrder {
        phone: phone.into(),
        ..order(id, "10")
    };
    created(
        &store,
        &with_phone("T-1", "+923001234567"),
        Decision::CallAt(now),
        now,
    )
    .await;
    let later = now + TimeDelta::seconds(1);
    created(
        &store,
        &with_phone("T-2", "03001234567"),
        Decision::CallAt(later),
        later,
    )
    .await;
    created(
        &store,
        &with_phone("T-3", "+923001234568"),
        Decision::CallAt(now),
        now,
    )
    .await;
    created(
        &store,
        &with_phone("T-4", "1234567"),
        Decision::CallAt(now),
        now,
    )
    .await;
    created(
        &store,
        &with_phone("T-5", "+923001234567"),
        Decision::ConfirmWithoutCall,
        now,
    )
    .await;
    let ids = |tail: &str| {
        let store = store.clone();
        let tail = tail.to_string();
        async move {
            store
                .open_orders_ending_with(&tail)
                .await
                .expect("lookup")
                .into_iter()
                .map(|o| o.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(ids("3001234567").await, vec!["T-2", "T-1"]);
    assert_eq!(ids("1234567").await, vec!["T-2", "T-4", "T-1"]);
    assert!(ids("93001234567890").await.is_empty());
    assert!(ids("9999999").await.is_empty());
}

/// Issue #13: an order whose first call is not yet due is `pending`, and
/// becomes `calling` (with its history row) when a worker claims the call.
async fn pending_until_the_first_call_is_claimed(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T22:00:00Z");
    let due = t("2026-06-02T04:15:00Z");
    let Inserted::Created(o) = store
        .insert_order(&order("P-1", "10"), Decision::CallAt(due), now)
        .await
        .expect("insert")
    else {
        panic!("not created")
    };
    assert_eq!(o.status, OrderStatus::Pending);
    assert!(store.due_attempts(now, 10).await.expect("claim").is_empty());
    let claimed = store.due_attempts(due, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].order.status, OrderStatus::Calling);
    let stored = store.get_order("P-1").await.expect("get").expect("order");
    assert_eq!(stored.order.status, OrderStatus::Calling);
    let history: Vec<_> = store
        .status_history("P-1")
        .await
        .expect("history")
        .into_iter()
        .map(|h| (h.from, h.to))
        .collect();
    assert_eq!(
        history,
        vec![
            (None, "pending".to_string()),
            (Some("pending".to_string()), "calling".to_string())
        ]
    );
    // A call due now starts out `calling` as before.
    created(&store, &order("P-2", "10"), Decision::CallAt(now), now).await;
    let o = store.get_order("P-2").await.expect("get").expect("order");
    assert_eq!(o.order.status, OrderStatus::Calling);
}

/// Issue #13: the script's fields round-trip and take part in the
/// same-id comparison.
async fn script_fields_are_stored_and_compared(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    let mut o = order("S-1", "1650");
    o.script = orderline::store::OrderScript {
        store: Some("Lawn House".into()),
        number: Some("1042".into()),
        delivery_fee: Some("150".into()),
        customer_name: Some("Ayesha Khan".into()),
        address: Some("House 5\nStreet 9".into()),
        notes: Some("ring twice".into()),
        prep_error: None,
    };
    created(&store, &o, Decision::CallAt(now), now).await;
    let got = store.get_order("S-1").await.expect("get").expect("order");
    assert_eq!(got.order.script, o.script);
    let mut same = o.clone();
    same.script.delivery_fee = Some("150.00".into());
    assert!(matches!(
        store.insert_order(&same, Decision::CallAt(now), now).await,
        Ok(Inserted::Existing(_))
    ));
    let mut other = o.clone();
    other.script.address = Some("elsewhere".into());
    match store.insert_order(&other, Decision::CallAt(now), now).await {
        Ok(Inserted::Conflict { fields, .. }) => assert_eq!(fields, vec!["address"]),
        x => panic!("{x:?}"),
    }
}

/// A claim or lease of `n` takes `n` rows, not more: on PostgreSQL an
/// `IN (SELECT … LIMIT n FOR UPDATE SKIP LOCKED)` is re-run per outer row and
/// took 66 rows for a limit of 1 (the deliverer then sat on 65 leased events).
async fn claims_and_leases_take_exactly_their_limit(db: TestDb) {
    let store = db.open().await;
    let due = t("2026-06-01T10:00:00Z");
    for i in 0..40 {
        created(
            &store,
            &order(&format!("l{i}"), "1"),
            Decision::CallAt(due),
            due,
        )
        .await;
    }
    let now = due + TimeDelta::minutes(1);
    for limit in [1u32, 2, 5] {
        let got = store.due_attempts(now, limit).await.expect("claim");
        assert_eq!(got.len(), limit as usize, "claim with limit {limit}");
    }
    // Finish the claimed ones so the outbox has events, then lease them.
    let claimed = store.due_attempts(now, 40).await.expect("claim rest");
    assert_eq!(claimed.len(), 40 - 8);
    for c in &claimed {
        let report = orderline::store::AttemptReport {
            outcome: orderline::ivr::Outcome::Confirmed,
            trunk: None,
            sip_status: Some(200),
            digits: "1".into(),
            duration_ms: 1000,
            error: None,
            operator: None,
        };
        store
            .finish_attempt(
                c.attempt.id,
                &report,
                orderline::dialer::Next::Done(OrderStatus::Confirmed),
                now,
            )
            .await
            .expect("finish");
    }
    let lease = std::time::Duration::from_secs(60);
    for limit in [1u32, 3] {
        let got = store.next_due(now, lease, limit).await.expect("lease");
        assert_eq!(got.len(), limit as usize, "lease with limit {limit}");
    }
}

async fn insert_is_idempotent_and_conflicts_are_reported(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    let first = store
        .insert_order(&order("A-1", "10.50"), Decision::CallAt(now), now)
        .await
        .expect("insert");
    let Inserted::Created(o) = first else {
        panic!("{first:?}")
    };
    assert_eq!(o.status, OrderStatus::Calling);
    assert_eq!(o.amount, "10.50");

    // Same order again, amount written differently but equal: the existing order, nothing new.
    let later = now + TimeDelta::minutes(5);
    let again = store
        .insert_order(&order("A-1", "10.5"), Decision::Flag, later)
        .await
        .expect("re-insert");
    let Inserted::Existing(o2) = again else {
        panic!("{again:?}")
    };
    assert_eq!(o2, o);
    let detail = store.get_order("A-1").await.expect("get").expect("exists");
    assert_eq!(
        detail.attempts.len(),
        1,
        "the second plan must not be applied"
    );
    assert_eq!(detail.attempts[0].attempt_no, 1);
    assert_eq!(detail.attempts[0].state, AttemptStatus::Due);
    assert_eq!(detail.attempts[0].scheduled_at, now);

    // Same id, different body: reported with the fields, stored order untouched.
    let mut other = order("A-1", "11");
    other.phone = "+923009999999".into();
    match store
        .insert_order(&other, Decision::CallAt(now), later)
        .await
        .expect("conflict is not an error")
    {
        Inserted::Conflict { existing, fields } => {
            assert_eq!(existing, o);
            assert_eq!(fields, vec!["phone", "amount"]);
        }
        x => panic!("{x:?}"),
    }

    // Invalid input names the field and stores nothing.
    for (field, bad) in [
        (
            "amount",
            NewOrder {
                amount: "1.5e3".into(),
                ..order("B-1", "1")
            },
        ),
        (
            "phone",
            NewOrder {
                phone: "call me".into(),
                ..order("B-1", "1")
            },
        ),
        (
            "currency",
            NewOrder {
                currency: "rupees".into(),
                ..order("B-1", "1")
            },
        ),
        (
            "timezone",
            NewOrder {
                timezone: Some("Mars/Base".into()),
                ..order("B-1", "1")
            },
        ),
        (
            "items",
            NewOrder {
                items: serde_json::json!({"not": "a list"}),
                ..order("B-1", "1")
            },
        ),
    ] {
        match store.insert_order(&bad, Decision::Flag, now).await {
            Err(StoreError::InvalidOrder { field: f, .. }) => assert_eq!(f, field),
            x => panic!("{field}: {x:?}"),
        }
    }
    assert!(store.get_order("B-1").await.expect("get").is_none());
    assert!(store.get_order("nope").await.expect("get").is_none());
}

async fn plans_other_than_calls_emit_their_webhooks(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    created(&store, &order("F", "900"), Decision::Flag, now).await;
    created(&store, &order("C", "5"), Decision::ConfirmWithoutCall, now).await;
    created(&store, &order("K", "5"), Decision::CallAt(now), now).await;
    let f = store.get_order("F").await.expect("get").expect("F");
    assert_eq!(f.order.status, OrderStatus::Flagged);
    assert!(f.attempts.is_empty());
    assert_eq!(event_types(&store, "F").await, vec!["order.flagged"]);
    assert_eq!(
        store
            .get_order("C")
            .await
            .expect("get")
            .expect("C")
            .order
            .status,
        OrderStatus::Confirmed
    );
    assert_eq!(event_types(&store, "C").await, vec!["order.confirmed"]);
    assert!(
        event_types(&store, "K").await.is_empty(),
        "scheduling a call is not a merchant event"
    );
}

async fn list_orders_pages_are_stable(db: TestDb) {
    let store = db.open().await;
    let base = t("2026-06-01T00:00:00Z");
    // 23 orders, several sharing a millisecond so the id breaks ties.
    let mut expected = Vec::new();
    for i in 0..23 {
        let id = format!("o{:02}", (i * 7) % 23);
        let at = base + TimeDelta::seconds(i / 3);
        let plan = if i % 2 == 0 {
            Decision::Flag
        } else {
            Decision::CallAt(at)
        };
        created(&store, &order(&id, "1"), plan, at).await;
        expected.push((at, id));
    }
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();

    let mut seen = Vec::new();
    let mut cursor = None;
    let mut pages = 0;
    loop {
        let page = store
            .list_orders(&ListQuery {
                cursor: cursor.clone(),
                limit: 5,
                ..ListQuery::default()
            })
            .await
            .expect("page");
        // New orders arriving while a client pages must not shift what it sees.
        if pages == 1 {
            created(
                &store,
                &order("zz-late", "1"),
                Decision::Flag,
                base + TimeDelta::hours(1),
            )
            .await;
        }
        seen.extend(page.orders.iter().map(|o| o.id.clone()));
        pages += 1;
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 20, "pagination does not end");
    }
    let mut want = expected.clone();
    want.push("zz-late".into());
    assert_eq!(seen, want, "every order exactly once, oldest first");

    // Filters: status, and the [from, to) range on creation time.
    let flagged = store
        .list_orders(&ListQuery {
            status: Some(OrderStatus::Flagged),
            limit: 100,
            ..ListQuery::default()
        })
        .await
        .expect("list");
    assert_eq!(flagged.orders.len(), 13);
    assert!(flagged
        .orders
        .iter()
        .all(|o| o.status == OrderStatus::Flagged));
    let window = ListQuery {
        from: Some(base + TimeDelta::seconds(2)),
        to: Some(base + TimeDelta::seconds(4)),
        limit: 4,
        ..ListQuery::default()
    };
    let p1 = store.list_orders(&window).await.expect("list");
    assert_eq!(p1.orders.len(), 4);
    let p2 = store
        .list_orders(&ListQuery {
            cursor: p1.next_cursor.clone(),
            ..window.clone()
        })
        .await
        .expect("list");
    assert_eq!(p2.orders.len(), 2);
    assert!(p2.next_cursor.is_none());
    assert!(p1
        .orders
        .iter()
        .chain(&p2.orders)
        .all(|o| o.created_at >= base + TimeDelta::seconds(2)
            && o.created_at < base + TimeDelta::seconds(4)));

    assert!(matches!(
        store
            .list_orders(&ListQuery {
                cursor: Some("garbage".into()),
                limit: 5,
                ..ListQuery::default()
            })
            .await,
        Err(StoreError::BadCursor(_))
    ));
}

async fn claiming_is_atomic_under_concurrency(db: TestDb) {
    let store = db.open().await;
    let due = t("2026-06-01T10:00:00Z");
    for i in 0..60 {
        created(
            &store,
            &order(&format!("c{i}"), "1"),
            Decision::CallAt(due + TimeDelta::seconds(i % 5)),
            due,
        )
        .await;
    }
    created(
        &store,
        &order("future", "1"),
        Decision::CallAt(due + TimeDelta::hours(1)),
        due,
    )
    .await;
    let now = due + TimeDelta::minutes(1);

    let mut workers = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        workers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store.due_attempts(now, 3).await.expect("claim");
                if batch.is_empty() {
                    break;
                }
                assert!(
                    batch.len() <= 3,
                    "claimed {} attempts with a limit of 3",
                    batch.len()
                );
                for c in batch {
                    assert_eq!(c.attempt.state, AttemptStatus::Live);
                    assert_eq!(c.attempt.started_at, Some(now));
                    assert_eq!(c.attempt.order_id, c.order.id);
                    mine.push(c.attempt.id);
                }
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut all = Vec::new();
    let mut busy_workers = 0;
    for w in workers {
        let mine = w.await.expect("worker");
        busy_workers += usize::from(!mine.is_empty());
        all.extend(mine);
    }
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), 60, "every due attempt claimed once");
    assert_eq!(unique.len(), 60, "no attempt claimed twice");
    assert!(busy_workers >= 1);
    assert!(store.due_attempts(now, 10).await.expect("claim").is_empty());
    // The future attempt stays due until its time.
    let later = store
        .due_attempts(due + TimeDelta::hours(1), 10)
        .await
        .expect("claim");
    assert_eq!(
        later
            .iter()
            .map(|c| c.order.id.as_str())
            .collect::<Vec<_>>(),
        vec!["future"]
    );
}

async fn a_late_claim_outside_the_window_is_deferred_not_called(db: TestDb) {
    let store = db.open().await;
    let c = campaign(); // 09:15-20:45 UTC
    let due = t("2026-06-01T20:40:00Z");
    created(&store, &order("L", "1"), Decision::CallAt(due), due).await;
    // The daemon comes back at 23:00: the attempt is due, but it is night.
    let night = t("2026-06-01T23:00:00Z");
    let claimed = store.due_attempts(night, 10).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let tz = claimed[0].rule_state().timezone;
    let until = c.defer_until(tz, night).expect("outside the window");
    assert_eq!(until, t("2026-06-02T09:15:00Z"));
    let deferred = store
        .defer_attempt(claimed[0].attempt.id, until)
        .await
        .expect("defer");
    assert_eq!(
        (
            deferred.attempt_no,
            deferred.state,
            deferred.scheduled_at,
            deferred.started_at
        ),
        (1, AttemptStatus::Due, until, None)
    );
    assert!(matches!(
        store.defer_attempt(claimed[0].attempt.id, until).await,
        Err(StoreError::AttemptNotLive(_))
    ));
    assert!(store
        .due_attempts(t("2026-06-02T09:14:59Z"), 10)
        .await
        .expect("claim")
        .is_empty());
    let morning = store.due_attempts(until, 10).await.expect("claim");
    assert_eq!(morning.len(), 1);
    assert_eq!(
        c.defer_until(tz, until),
        None,
        "inside the window: call now"
    );
}

async fn finish_attempt_writes_result_status_and_outbox_together(db: TestDb) {
    let store = db.open().await;
    let c = campaign();
    let now = t("2026-06-01T10:00:00Z");
    created(&store, &order("R", "1"), Decision::CallAt(now), now).await;
    created(&store, &order("Y", "1"), Decision::CallAt(now), now).await;
    let claimed = store.due_attempts(now, 10).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    let end = now + TimeDelta::seconds(30);

    // Y: answered and confirmed.
    let y = claimed
        .iter()
        .find(|a| a.order.id == "Y")
        .expect("Y claimed");
    let next = c.after_attempt(&y.rule_state(), Outcome::Confirmed, end);
    let done = store
        .finish_attempt(y.attempt.id, &report(Outcome::Confirmed), next, end)
        .await
        .expect("finish");
    assert_eq!(done.order_status, OrderStatus::Confirmed);
    assert!(done.next_attempt.is_none());
    let detail = store.get_order("Y").await.expect("get").expect("Y");
    assert_eq!(detail.order.status, OrderStatus::Confirmed);
    let a = &detail.attempts[0];
    assert_eq!(
        (
            a.state,
            a.outcome,
            a.digits.as_deref(),
            a.sip_status,
            a.duration_ms
        ),
        (
            AttemptStatus::Done,
            Some(Outcome::Confirmed),
            Some("1"),
            Some(200),
            Some(12_345)
        )
    );
    assert_eq!(a.finished_at, Some(end));
    assert_eq!(
        event_types(&store, "Y").await,
        vec!["call.attempted", "order.confirmed"]
    );
    let events = store.order_events("Y").await.expect("events");
    assert_eq!(events[0].payload["outcome"], "confirmed");
    assert_eq!(events[1].payload["status"], "confirmed");

    // A second report for the same attempt is refused and writes nothing.
    let again = store
        .finish_attempt(y.attempt.id, &report(Outcome::Cancelled), next, end)
        .await;
    assert!(
        matches!(again, Err(StoreError::AttemptNotLive(id)) if id == y.attempt.id),
        "{again:?}"
    );
    assert_eq!(event_types(&store, "Y").await.len(), 2);

    // R: no answer -> a second attempt 3 h after the first started.
    let r = claimed
        .iter()
        .find(|a| a.order.id == "R")
        .expect("R claimed");
    let next = c.after_attempt(&r.rule_state(), Outcome::NoAnswer, end);
    assert_eq!(next, Next::RetryAt(now + TimeDelta::hours(3)));
    let done = store
        .finish_attempt(r.attempt.id, &report(Outcome::NoAnswer), next, end)
        .await
        .expect("finish");
    assert_eq!(done.order_status, OrderStatus::Calling);
    let retry = done.next_attempt.expect("retry scheduled");
    assert_eq!(
        (retry.attempt_no, retry.state, retry.scheduled_at),
        (2, AttemptStatus::Due, now + TimeDelta::hours(3))
    );
    assert_eq!(
        event_types(&store, "R").await,
        vec!["call.attempted", "order.unreachable"],
        "an unanswered call tells the merchant the customer was not reached"
    );
    assert!(store
        .due_attempts(now + TimeDelta::hours(2), 10)
        .await
        .expect("claim")
        .is_empty());
    assert_eq!(
        store
            .due_attempts(now + TimeDelta::hours(3), 10)
            .await
            .expect("claim")
            .len(),
        1
    );
}

async fn a_failed_finish_changes_nothing(db: TestDb) {
    // The store refuses a sixth call even if a caller asks for it; the refusal
    // comes after the attempt row and the outbox row were written inside the
    // transaction, so this proves they roll back together.
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    created(&store, &order("X", "1"), Decision::CallAt(now), now).await;
    let mut at = now;
    for n in 1..=5u32 {
        let claimed = store.due_attempts(at, 10).await.expect("claim");
        assert_eq!(claimed.len(), 1, "attempt {n}");
        let id = claimed[0].attempt.id;
        let next_at = at + TimeDelta::hours(3);
        let result = store
            .finish_attempt(id, &report(Outcome::NoAnswer), Next::RetryAt(next_at), at)
            .await;
        if n < 5 {
            result.expect("finish");
            at = next_at;
            continue;
        }
        assert!(
            matches!(result, Err(StoreError::AttemptCap { .. })),
            "{result:?}"
        );
        let detail = store.get_order("X").await.expect("get").expect("X");
        assert_eq!(detail.attempts.len(), 5, "no sixth attempt");
        assert_eq!(
            detail.attempts[4].state,
            AttemptStatus::Live,
            "the attempt update rolled back"
        );
        assert_eq!(
            event_types(&store, "X").await.len(),
            8,
            "the outbox rows rolled back (4 unanswered calls: call.attempted + order.unreachable each)"
        );
        // The caller can still close it properly.
        store
            .finish_attempt(
                id,
                &report(Outcome::NoAnswer),
                Next::Fallback(OrderStatus::Flagged),
                at,
            )
            .await
            .expect("fallback");
        let kinds = event_types(&store, "X").await;
        assert_eq!(
            kinds[8..],
            [
                "call.attempted",
                "order.unreachable",
                "order.no_answer_final",
                "order.flagged"
            ],
            "the attempts ran out without an answer: order.no_answer_final, then the fallback"
        );
        assert_eq!(
            store
                .get_order("X")
                .await
                .expect("get")
                .expect("X")
                .order
                .status,
            OrderStatus::Flagged
        );
        assert_eq!(
            event_types(&store, "X").await.last().map(String::as_str),
            Some("order.flagged")
        );
    }
}

async fn reconcile_after_crash_never_calls_an_attempt_twice(db: TestDb) {
    let c = campaign();
    let now = t("2026-06-01T10:00:00Z");
    let (first_id, last_id) = {
        let store = db.open().await;
        created(&store, &order("P", "1"), Decision::CallAt(now), now).await;
        created(&store, &order("Q", "1"), Decision::CallAt(now), now).await;
        created(
            &store,
            &order("Idle", "1"),
            Decision::CallAt(now + TimeDelta::days(1)),
            now,
        )
        .await;
        // Q is on its last allowed attempt when the crash happens.
        let mut at = now;
        for _ in 1..5 {
            let q = store.due_attempts(at, 10).await.expect("claim");
            let q = q.into_iter().find(|a| a.order.id == "Q").expect("Q due");
            at += TimeDelta::hours(3);
            store
                .finish_attempt(q.attempt.id, &report(Outcome::Busy), Next::RetryAt(at), at)
                .await
                .expect("finish");
        }
        let live = store.due_attempts(at, 10).await.expect("claim");
        assert_eq!(live.len(), 1, "Q's fifth attempt");
        let p_live = store
            .get_order("P")
            .await
            .expect("get")
            .expect("P")
            .attempts[0]
            .clone();
        assert_eq!(
            p_live.state,
            AttemptStatus::Live,
            "P was claimed in the first round"
        );
        // Crash: the process dies with both attempts live; nothing is closed.
        (p_live.id, live[0].attempt.id)
    };
    let restart = now + TimeDelta::hours(13);
    let store = db.open().await;
    let rec = store
        .reconcile_live_on_start(restart, |claimed| {
            c.after_attempt(&claimed.rule_state(), Outcome::Failed, restart)
        })
        .await
        .expect("reconcile");
    assert_eq!(rec.interrupted, vec![first_id, last_id]);
    assert_eq!((rec.rescheduled, rec.fell_back), (1, 1));

    let p = store.get_order("P").await.expect("get").expect("P");
    assert_eq!(p.attempts.len(), 2);
    assert_eq!(
        (p.attempts[0].state, p.attempts[0].outcome),
        (AttemptStatus::Done, Some(Outcome::Failed))
    );
    assert!(p.attempts[0]
        .error
        .as_deref()
        .is_some_and(|e| e.contains("interrupted")));
    assert_eq!(p.attempts[1].state, AttemptStatus::Due);
    assert!(c.window().contains(p.attempts[1].scheduled_at));
    assert_eq!(p.order.status, OrderStatus::Calling);
    assert_eq!(
        event_types(&store, "P").await,
        vec!["call.attempted"],
        "a call cut off by our stop does not tell the merchant the customer was unreachable"
    );
    let q = store.get_order("Q").await.expect("get").expect("Q");
    assert_eq!(q.attempts.len(), 5);
    assert_eq!(
        q.order.status,
        OrderStatus::Flagged,
        "default fallback after the last attempt"
    );

    // A second restart finds nothing; the interrupted attempts are never handed out again.
    let again = store
        .reconcile_live_on_start(restart, |_| panic!("nothing is live"))
        .await
        .expect("reconcile");
    assert!(again.interrupted.is_empty());
    let far = restart + TimeDelta::days(3);
    let claimed: Vec<i64> = store
        .due_attempts(far, 100)
        .await
        .expect("claim")
        .iter()
        .map(|a| a.attempt.id)
        .collect();
    assert!(!claimed.contains(&first_id) && !claimed.contains(&last_id));
    assert_eq!(claimed.len(), 2, "P's re-attempt and Idle's first call");
}

async fn flagged_orders_take_one_human_decision(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    created(&store, &order("F1", "5000"), Decision::Flag, now).await;
    created(&store, &order("F2", "5000"), Decision::Flag, now).await;
    created(&store, &order("N", "5"), Decision::CallAt(now), now).await;
    let o = store
        .decide(
            "F1",
            FlagDecision::Cancel,
            "agent-7",
            Some("customer unreachable"),
            now,
        )
        .await
        .expect("decide");
    assert_eq!(o.status, OrderStatus::Cancelled);
    assert_eq!(
        event_types(&store, "F1").await,
        vec!["order.flagged", "order.cancelled"]
    );
    let twice = store
        .decide("F1", FlagDecision::Confirm, "agent-8", None, now)
        .await;
    assert!(
        matches!(twice, Err(StoreError::NotFlagged { status, .. }) if status == "cancelled"),
        "{twice:?}"
    );
    assert!(matches!(
        store
            .decide("N", FlagDecision::Confirm, "a", None, now)
            .await,
        Err(StoreError::NotFlagged { .. })
    ));
    assert!(matches!(
        store
            .decide("ghost", FlagDecision::Confirm, "a", None, now)
            .await,
        Err(StoreError::OrderNotFound(_))
    ));
    // Two operators at once: exactly one wins.
    let (a, b) = tokio::join!(
        store.decide("F2", FlagDecision::Confirm, "a", None, now),
        store.decide("F2", FlagDecision::Cancel, "b", None, now)
    );
    assert_eq!(
        usize::from(a.is_ok()) + usize::from(b.is_ok()),
        1,
        "{a:?} {b:?}"
    );
    assert_eq!(event_types(&store, "F2").await.len(), 2);

    let history = store.status_history("F1").await.expect("history");
    let steps: Vec<_> = history
        .iter()
        .map(|h| (h.from.as_deref(), h.to.as_str(), h.reason.as_str()))
        .collect();
    assert_eq!(
        steps,
        vec![
            (None, "flagged", "rules: flag without a call"),
            (Some("flagged"), "cancelled", "decision: cancel by agent-7"),
        ]
    );
}

async fn outbox_leases_retries_and_delivers(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    created(&store, &order("W1", "5"), Decision::ConfirmWithoutCall, now).await;
    created(
        &store,
        &order("W2", "5"),
        Decision::Flag,
        now + TimeDelta::milliseconds(1),
    )
    .await;
    let lease = Duration::from_secs(60);
    let batch = store
        .next_due(now + TimeDelta::seconds(1), lease, 10)
        .await
        .expect("due");
    assert_eq!(
        batch
            .iter()
            .map(|e| e.event_type.as_str())
            .collect::<Vec<_>>(),
        vec!["order.confirmed", "order.flagged"]
    );
    assert!(batch.iter().all(|e| e.id.len() == 36 && e.attempts == 0));
    // Leased: a second sender sees nothing until the lease ends.
    assert!(store
        .next_due(now + TimeDelta::seconds(2), lease, 10)
        .await
        .expect("due")
        .is_empty());

    store
        .mark_delivered(&batch[0].id, now + TimeDelta::seconds(2))
        .await
        .expect("delivered");
    let n = store
        .mark_failed(
            &batch[1].id,
            "HTTP 503",
            Duration::from_secs(300),
            now + TimeDelta::seconds(2),
        )
        .await
        .expect("failed");
    assert_eq!(n, 1);
    assert!(
        store
            .next_due(now + TimeDelta::seconds(200), lease, 10)
            .await
            .expect("due")
            .is_empty(),
        "backing off"
    );
    let retry = store
        .next_due(now + TimeDelta::seconds(302), lease, 10)
        .await
        .expect("due");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].id, batch[1].id, "the id is stable across retries");
    assert_eq!(
        (retry[0].attempts, retry[0].last_error.as_deref()),
        (1, Some("HTTP 503"))
    );
    store
        .mark_delivered(&retry[0].id, now + TimeDelta::seconds(303))
        .await
        .expect("delivered");
    assert!(store
        .next_due(now + TimeDelta::days(1), lease, 10)
        .await
        .expect("due")
        .is_empty());
    let delivered = store
        .get_event(&retry[0].id)
        .await
        .expect("get")
        .expect("event");
    assert_eq!(delivered.delivered_at, Some(now + TimeDelta::seconds(303)));
    // A late failure report for a delivered event changes nothing.
    store
        .mark_failed(
            &retry[0].id,
            "late",
            Duration::from_secs(1),
            now + TimeDelta::seconds(304),
        )
        .await
        .expect("late report");
    assert!(store
        .next_due(now + TimeDelta::days(1), lease, 10)
        .await
        .expect("due")
        .is_empty());
    assert!(matches!(
        store.mark_delivered("no-such-id", now).await,
        Err(StoreError::EventNotFound(_))
    ));
}

#[tokio::test]
async fn sqlite_runs_in_wal_mode_and_creates_its_file() {
    let db = support::store::sqlite_db();
    let store = db.open().await;
    let mut raw = db.raw().await;
    let mode: String = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .expect("pragma")
        .try_get(0)
        .expect("mode");
    assert_eq!(mode, "wal");
    assert_eq!(store.backend(), orderline::store::Backend::Sqlite);
    assert!(matches!(
        Store::open("mysql://x").await,
        Err(StoreError::UnsupportedUrl(_))
    ));
}

async fn outbox_lease_is_exclusive_under_concurrency(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    for i in 0..40 {
        created(&store, &order(&format!("w{i}"), "1"), Decision::Flag, now).await;
    }
    let later = now + TimeDelta::seconds(1);
    let mut senders = Vec::new();
    for _ in 0..4 {
        let store = store.clone();
        senders.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let batch = store
                    .next_due(later, Duration::from_secs(600), 3)
                    .await
                    .expect("lease");
                if batch.is_empty() {
                    break;
                }
                mine.extend(batch.into_iter().map(|e| e.id));
                tokio::task::yield_now().await;
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for s in senders {
        all.extend(s.await.expect("sender"));
    }
    let unique: HashSet<&String> = all.iter().collect();
    assert_eq!(
        (all.len(), unique.len()),
        (40, 40),
        "each event leased exactly once"
    );
}

#[test]
fn pg_test_script_fails_loudly() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test");
    for args in [
        vec!["start", "not-a-port"],
        vec!["stop", "/nonexistent"],
        vec![],
    ] {
        let out = std::process::Command::new("bash")
            .arg(&script)
            .args(&args)
            .output()
            .expect("run pg-test");
        assert!(!out.status.success(), "{args:?} must fail");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("pg-test:"),
            "{args:?} explains itself"
        );
    }
}

async fn money_is_never_a_float(db: TestDb) {
    let store = db.open().await;
    let now = t("2026-06-01T10:00:00Z");
    // Four decimals only where the currency has them (CLF, ISO 4217).
    for (id, amount, currency) in [
        ("m1", "0.1", "PKR"),
        ("m2", "19.99", "PKR"),
        ("m3", "123456789012.3456", "CLF"),
        ("m4", "100.00", "PKR"),
    ] {
        let o = NewOrder {
            currency: currency.into(),
            ..order(id, amount)
        };
        created(&store, &o, Decision::Flag, now).await;
        assert_eq!(
            store
                .get_order(id)
                .await
                .expect("get")
                .expect("order")
                .order
                .amount,
            amount,
            "stored exactly as sent"
        );
    }
    let mut raw = db.raw().await;
    let floaty: Vec<String> = match store.backend() {
        orderline::store::Backend::Sqlite => {
            let mut bad = Vec::new();
            for table in [
                "orders",
                "call_attempts",
                "order_status_history",
                "flag_decisions",
                "webhook_outbox",
            ] {
                let rows = sqlx::query(&format!(
                    "SELECT name, type FROM pragma_table_info('{table}')"
                ))
                .fetch_all(&mut raw)
                .await
                .expect("pragma");
                assert!(!rows.is_empty(), "{table} exists");
                for r in rows {
                    let ty: String = r.try_get("type").expect("type");
                    let up = ty.to_uppercase();
                    if up.contains("REAL")
                        || up.contains("FLOA")
                        || up.contains("DOUB")
                        || up.contains("NUMERIC")
                        || up.contains("DECIMAL")
                    {
                        bad.push(format!(
                            "{table}.{}",
                            r.try_get::<String, _>("name").expect("name")
                        ));
                    }
                }
            }
            let ty: String = sqlx::query("SELECT typeof(amount) AS t FROM orders WHERE id = 'm2'")
                .fetch_one(&mut raw)
                .await
                .expect("typeof")
                .try_get("t")
                .expect("t");
            assert_eq!(ty, "text");
            bad
        }
        orderline::store::Backend::Postgres => {
            let rows = sqlx::query(
                "SELECT table_name || '.' || column_name AS c FROM information_schema.columns \
                 WHERE table_schema = 'public' AND data_type IN ('real', 'double precision', 'numeric', 'money')",
            )
            .fetch_all(&mut raw)
            .await
            .expect("columns");
            let ty: String = sqlx::query("SELECT data_type AS t FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'amount'")
                .fetch_one(&mut raw)
                .await
                .expect("amount column")
                .try_get("t")
                .expect("t");
            assert_eq!(ty, "text");
            rows.iter()
                .map(|r| r.try_get::<String, _>("c").expect("c"))
                .collect()
        }
    };
    assert!(floaty.is_empty(), "float-like columns: {floaty:?}");
}
