//! Agents, agent calls and keypad payments in the store (issue #5), the same
//! checks on SQLite and on a real PostgreSQL.

#[macro_use]
mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, TimeDelta, Utc};
use orderline::config::AgentConfig;
use orderline::ivr::payment::{EndReason, FailReason, Step, StepStatus};
use orderline::money::{Currency, Money};
use orderline::payments::PaymentRequest;
use orderline::store::{
    AgentCallStatus, AgentCallUpdate, AgentSource, EndedBy, NewAgent, NewAgentCall, PaymentResult,
    PaymentStatus, PaymentStep, Store, StoreError,
};
use serde_json::Value;
use sqlx::Row;
use support::store::TestDb;

on_both_backends!(
    agents_sync_insert_and_token_lookup,
    calls_move_along_and_list_newest_first,
    a_payment_runs_once_and_ends_once_with_one_webhook,
    cancel_only_from_pending,
    concurrent_ends_write_one_result,
    reconcile_closes_what_a_crash_left_live,
    results_cannot_carry_card_data,
);

const API_TOKEN: &str = "api-made-token-7f3a9c1e5b";
const CONFIG_TOKEN: &str = "agent-token-0123456789";

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-23T14:05:09Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn agent_cfg(id: &str, name: &str, token: Option<&str>) -> AgentConfig {
    AgentConfig {
        id: id.into(),
        name: name.into(),
        sip_uri: Some(format!("sip:{id}@127.0.0.1:5080")),
        sip_user: None,
        sip_password: None,
        api_token: token.map(Into::into),
        srtp: Default::default(),
    }
}

/// A store with agent `ayesha` and a bridged call `call_1` (order `A-1`).
async fn bridged(db: &TestDb) -> Store {
    let store = db.open().await;
    store
        .sync_config_agents(
            &[agent_cfg("ayesha", "Ayesha Khan", Some(CONFIG_TOKEN))],
            t0(),
        )
        .await
        .expect("sync");
    new_call(&store, "call_1", "ayesha", t0()).await;
    store
        .update_agent_call(
            "call_1",
            &AgentCallUpdate::status(AgentCallStatus::Bridged),
            t0(),
        )
        .await
        .expect("bridge");
    store
}

async fn new_call(store: &Store, id: &str, agent: &str, now: DateTime<Utc>) {
    let c = NewAgentCall {
        id: id.into(),
        agent_id: agent.into(),
        to: "+923001234567".into(),
        order_id: Some("A-1".into()),
    };
    store.insert_agent_call(&c, now).await.expect("insert call");
}

fn new_payment(id: &str, call: &str) -> PaymentRequest {
    PaymentRequest {
        payment_id: id.into(),
        call_id: call.into(),
        item: "Blue kurta".into(),
        amount: Money::from_minor(250_000, Currency::PKR),
    }
}

fn succeeded() -> PaymentResult {
    PaymentResult {
        status: PaymentStatus::Succeeded,
        brand: Some("visa".into()),
        last_four: Some("4242".into()),
        transaction_id: Some("txn_sandbox_1".into()),
        token: Some("tok_sandbox_kept_for_refunds".into()),
        reason: None,
    }
}

/// Every payment webhook in the outbox, as (type, data).
async fn payment_events(db: &TestDb) -> Vec<(String, Value)> {
    let mut raw = db.raw().await;
    sqlx::query("SELECT event_type, payload FROM webhook_outbox WHERE event_type LIKE 'payment.%' ORDER BY seq")
        .fetch_all(&mut raw)
        .await
        .expect("outbox")
        .iter()
        .map(|r| {
            let payload: String = r.try_get("payload").expect("payload");
            (r.try_get("event_type").expect("type"), serde_json::from_str(&payload).expect("json"))
        })
        .collect()
}

/// Every value of every text column of a table, for "is X stored anywhere".
async fn table_text(db: &TestDb, table: &str) -> String {
    let mut raw = db.raw().await;
    let cols = columns(db, table).await;
    let select: Vec<String> = cols
        .iter()
        .map(|c| format!("CAST({c} AS TEXT) AS {c}"))
        .collect();
    let rows = sqlx::query(&format!("SELECT {} FROM {table}", select.join(", ")))
        .fetch_all(&mut raw)
        .await
        .expect("dump");
    let mut out = String::new();
    for r in rows {
        for c in &cols {
            let v: Option<String> = r.try_get(c.as_str()).expect("col");
            out.push_str(v.as_deref().unwrap_or(""));
            out.push('|');
        }
    }
    out
}

async fn columns(db: &TestDb, table: &str) -> Vec<String> {
    let mut raw = db.raw().await;
    let sql = if db.url.starts_with("sqlite") {
        format!("SELECT name FROM pragma_table_info('{table}')")
    } else {
        format!("SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns WHERE table_name = '{table}'")
    };
    let cols: Vec<String> = sqlx::query(&sql)
        .fetch_all(&mut raw)
        .await
        .expect("columns")
        .iter()
        .map(|r| r.try_get("name").expect("name"))
        .collect();
    assert!(!cols.is_empty(), "{table} exists");
    cols
}

async fn agents_sync_insert_and_token_lookup(db: TestDb) {
    let store = db.open().await;
    let cfg = [
        agent_cfg("ayesha", "Ayesha Khan", Some(CONFIG_TOKEN)),
        agent_cfg("bilal", "Bilal", None),
    ];
    store.sync_config_agents(&cfg, t0()).await.expect("sync");
    store
        .sync_config_agents(&cfg, t0())
        .await
        .expect("sync is repeatable");

    let created = store
        .insert_agent(
            &NewAgent {
                id: "sana".into(),
                name: "Sana".into(),
                sip_uri: "sip:sana@127.0.0.1:5081;transport=tls".into(),
                srtp: orderline::config::SrtpMode::Required,
                api_token: API_TOKEN.into(),
            },
            t0(),
        )
        .await
        .expect("insert agent");
    assert_eq!(created.source, AgentSource::Api);
    // The agent's SRTP mode is stored and read back (migration 0012).
    assert_eq!(created.srtp, orderline::config::SrtpMode::Required);
    let read = store.get_agent("sana").await.expect("get").expect("sana");
    assert_eq!(read.srtp, orderline::config::SrtpMode::Required);
    let dup = NewAgent {
        id: "ayesha".into(),
        name: "X".into(),
        sip_uri: "sip:x@127.0.0.1".into(),
        srtp: orderline::config::SrtpMode::Off,
        api_token: "another-token-123456".into(),
    };
    assert!(
        matches!(store.insert_agent(&dup, t0()).await, Err(StoreError::AgentExists(id)) if id == "ayesha")
    );
    let short = NewAgent {
        id: "z".into(),
        name: "Z".into(),
        sip_uri: "sip:z@127.0.0.1".into(),
        srtp: orderline::config::SrtpMode::Off,
        api_token: "short".into(),
    };
    assert!(matches!(
        store.insert_agent(&short, t0()).await,
        Err(StoreError::InvalidAgent {
            field: "api_token",
            ..
        })
    ));

    let ids: Vec<(String, AgentSource)> = store
        .list_agents()
        .await
        .expect("list")
        .into_iter()
        .map(|a| (a.id, a.source))
        .collect();
    assert_eq!(
        ids,
        vec![
            ("ayesha".into(), AgentSource::Config),
            ("bilal".into(), AgentSource::Config),
            ("sana".into(), AgentSource::Api)
        ]
    );
    assert_eq!(
        store
            .get_agent("bilal")
            .await
            .expect("get")
            .expect("bilal")
            .name,
        "Bilal"
    );
    assert_eq!(store.get_agent("nobody").await.expect("get"), None);

    assert_eq!(
        store
            .agent_by_token(CONFIG_TOKEN)
            .await
            .expect("lookup")
            .map(|a| a.id),
        Some("ayesha".into())
    );
    assert_eq!(
        store
            .agent_by_token(API_TOKEN)
            .await
            .expect("lookup")
            .map(|a| a.id),
        Some("sana".into())
    );
    assert_eq!(
        store
            .agent_by_token("agent-token-012345678")
            .await
            .expect("lookup"),
        None
    );
    assert_eq!(store.agent_by_token("").await.expect("lookup"), None);

    // The tokens are stored as SHA-256 hex, never as given.
    let stored = table_text(&db, "agents").await;
    assert!(
        !stored.contains(API_TOKEN) && !stored.contains(CONFIG_TOKEN),
        "{stored}"
    );
    assert!(
        stored.contains(&orderline::store::token_hash(API_TOKEN)),
        "{stored}"
    );
    if let Some(path) = db.url.strip_prefix("sqlite://") {
        store.close().await;
        for file in [path.to_string(), format!("{path}-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                assert!(
                    !bytes
                        .windows(API_TOKEN.len())
                        .any(|w| w == API_TOKEN.as_bytes()),
                    "{file} holds the token"
                );
            }
        }
    }
    let store = db.open().await;

    // The config moves ayesha's token to bilal and drops ayesha.
    let later = t0() + TimeDelta::hours(1);
    store
        .sync_config_agents(
            &[agent_cfg("bilal", "Bilal Ahmed", Some(CONFIG_TOKEN))],
            later,
        )
        .await
        .expect("resync");
    assert_eq!(
        store.get_agent("ayesha").await.expect("get"),
        None,
        "a dropped config agent is gone"
    );
    let bilal = store
        .agent_by_token(CONFIG_TOKEN)
        .await
        .expect("lookup")
        .expect("bilal");
    assert_eq!(
        (bilal.id.as_str(), bilal.name.as_str()),
        ("bilal", "Bilal Ahmed")
    );
    assert_eq!(bilal.updated_at, later);
    assert_eq!(
        store.list_agents().await.expect("list").len(),
        2,
        "API agents survive a config sync"
    );
    // Its id stays taken (its calls keep it).
    let again = NewAgent {
        id: "ayesha".into(),
        name: "A".into(),
        sip_uri: "sip:a@127.0.0.1".into(),
        srtp: orderline::config::SrtpMode::Off,
        api_token: "yet-another-token-1".into(),
    };
    assert!(matches!(
        store.insert_agent(&again, later).await,
        Err(StoreError::AgentExists(_))
    ));
}

async fn calls_move_along_and_list_newest_first(db: TestDb) {
    let store = db.open().await;
    store
        .sync_config_agents(
            &[
                agent_cfg("ayesha", "Ayesha Khan", None),
                agent_cfg("bilal", "Bilal", None),
            ],
            t0(),
        )
        .await
        .expect("sync");
    let c = NewAgentCall {
        id: "call_x".into(),
        agent_id: "nobody".into(),
        to: "+923001234567".into(),
        order_id: None,
    };
    assert!(
        matches!(store.insert_agent_call(&c, t0()).await, Err(StoreError::AgentNotFound(a)) if a == "nobody")
    );
    let bad = NewAgentCall {
        to: "12".into(),
        agent_id: "ayesha".into(),
        ..c.clone()
    };
    assert!(matches!(
        store.insert_agent_call(&bad, t0()).await,
        Err(StoreError::InvalidCall { field: "to", .. })
    ));

    for (i, (id, agent)) in [
        ("call_a", "ayesha"),
        ("call_b", "bilal"),
        ("call_c", "ayesha"),
    ]
    .into_iter()
    .enumerate()
    {
        new_call(&store, id, agent, t0() + TimeDelta::seconds(i as i64)).await;
    }
    let a = store
        .get_agent_call("call_a")
        .await
        .expect("get")
        .expect("call_a");
    assert_eq!(
        (a.status, a.agent_name.as_str(), a.to.as_str()),
        (
            AgentCallStatus::DialingAgent,
            "Ayesha Khan",
            "+923001234567"
        )
    );
    assert_eq!(a.order_id.as_deref(), Some("A-1"));
    assert_eq!(
        (a.agent_answered_at, a.bridged_at, a.ended_at, a.ended_by),
        (None, None, None, None)
    );
    assert!(a.payments.is_empty());

    let t1 = t0() + TimeDelta::seconds(10);
    let t2 = t0() + TimeDelta::seconds(20);
    let t3 = t0() + TimeDelta::seconds(30);
    let answered = AgentCallUpdate {
        agent_cause: Some("answered".into()),
        ..AgentCallUpdate::status(AgentCallStatus::DialingCustomer)
    };
    store
        .update_agent_call("call_a", &answered, t1)
        .await
        .expect("answered");
    let bridge = AgentCallUpdate {
        customer_cause: Some("answered".into()),
        ..AgentCallUpdate::status(AgentCallStatus::Bridged)
    };
    store
        .update_agent_call("call_a", &bridge, t2)
        .await
        .expect("bridged");
    let a = store
        .get_agent_call("call_a")
        .await
        .expect("get")
        .expect("call_a");
    assert_eq!(
        (a.status, a.agent_answered_at, a.bridged_at),
        (AgentCallStatus::Bridged, Some(t1), Some(t2))
    );
    assert_eq!(
        (a.agent_cause.as_deref(), a.customer_cause.as_deref()),
        (Some("answered"), Some("answered"))
    );

    let bridged: Vec<String> = store
        .list_agent_calls(None, Some(AgentCallStatus::Bridged), 50)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(bridged, ["call_a"]);
    let all: Vec<String> = store
        .list_agent_calls(None, None, 50)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(all, ["call_c", "call_b", "call_a"], "newest first");
    let mine: Vec<String> = store
        .list_agent_calls(Some("ayesha"), None, 50)
        .await
        .expect("list")
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(mine, ["call_c", "call_a"]);
    assert_eq!(
        store
            .list_agent_calls(Some("ayesha"), None, 1)
            .await
            .expect("list")
            .len(),
        1
    );
    assert!(store
        .list_agent_calls(Some("bilal"), Some(AgentCallStatus::Bridged), 50)
        .await
        .expect("list")
        .is_empty());

    let hangup = AgentCallUpdate {
        status: AgentCallStatus::Ended,
        agent_cause: None,
        customer_cause: Some("hangup".into()),
        ended_by: Some(EndedBy::Customer),
    };
    store
        .update_agent_call("call_a", &hangup, t3)
        .await
        .expect("ended");
    // A late report does not reopen or re-stamp it.
    store
        .update_agent_call(
            "call_a",
            &AgentCallUpdate::status(AgentCallStatus::Bridged),
            t3 + TimeDelta::seconds(5),
        )
        .await
        .expect("no-op");
    let a = store
        .get_agent_call("call_a")
        .await
        .expect("get")
        .expect("call_a");
    assert_eq!(
        (a.status, a.ended_at, a.ended_by),
        (AgentCallStatus::Ended, Some(t3), Some(EndedBy::Customer))
    );
    assert_eq!(
        (a.agent_cause.as_deref(), a.customer_cause.as_deref()),
        (Some("answered"), Some("hangup"))
    );
    assert_eq!(a.bridged_at, Some(t2));

    let failed = AgentCallUpdate {
        agent_cause: Some("busy".into()),
        ended_by: Some(EndedBy::Agent),
        ..AgentCallUpdate::status(AgentCallStatus::Failed)
    };
    store
        .update_agent_call("call_b", &failed, t3)
        .await
        .expect("failed");
    let b = store
        .get_agent_call("call_b")
        .await
        .expect("get")
        .expect("call_b");
    assert_eq!(
        (b.status, b.ended_at, b.agent_answered_at),
        (AgentCallStatus::Failed, Some(t3), None)
    );

    assert!(matches!(
        store.update_agent_call("call_zz", &hangup, t3).await,
        Err(StoreError::CallNotFound(id)) if id == "call_zz"
    ));
    assert_eq!(store.get_agent_call("call_zz").await.expect("get"), None);
}

async fn a_payment_runs_once_and_ends_once_with_one_webhook(db: TestDb) {
    let store = bridged(&db).await;
    // Not on a call that is not bridged.
    new_call(&store, "call_2", "ayesha", t0()).await;
    assert!(matches!(
        store
            .insert_payment(&new_payment("pay_x", "call_2"), t0())
            .await,
        Err(StoreError::CallNotBridged {
            status: "dialing_agent",
            ..
        })
    ));
    assert!(matches!(
        store
            .insert_payment(&new_payment("pay_x", "call_zz"), t0())
            .await,
        Err(StoreError::CallNotFound(_))
    ));
    // A bad currency code cannot be built any more (`Currency::parse`); an
    // amount out of range is still refused by the store itself.
    let bad = PaymentRequest {
        amount: Money::from_minor(0, Currency::PKR),
        ..new_payment("pay_x", "call_1")
    };
    assert!(matches!(
        store.insert_payment(&bad, t0()).await,
        Err(StoreError::InvalidPayment {
            field: "amount",
            ..
        })
    ));

    let p = store
        .insert_payment(&new_payment("pay_1", "call_1"), t0())
        .await
        .expect("insert payment");
    assert_eq!(
        (
            p.status,
            p.amount.to_string().as_str(),
            p.amount.minor(),
            p.agent_id.as_str()
        ),
        (PaymentStatus::Pending, "2500.00", 250_000, "ayesha")
    );
    assert!(p.steps.is_empty() && p.note.is_none());
    assert!(matches!(
        store.insert_payment(&new_payment("pay_2", "call_1"), t0()).await,
        Err(StoreError::PaymentActive { call_id }) if call_id == "call_1"
    ));
    assert_eq!(
        store
            .active_payment("call_1")
            .await
            .expect("active")
            .map(|p| p.id),
        Some("pay_1".into())
    );
    assert_eq!(
        store
            .get_agent_call("call_1")
            .await
            .expect("get")
            .expect("call")
            .payments,
        ["pay_1"]
    );

    let t1 = t0() + TimeDelta::seconds(3);
    assert!(store
        .mark_payment_in_progress("pay_1", t1)
        .await
        .expect("in progress"));
    assert!(!store
        .mark_payment_in_progress("pay_1", t1)
        .await
        .expect("only once"));
    let steps = [
        PaymentStep {
            step: Step::Amount,
            status: StepStatus::Completed,
            reason: None,
            at: t1,
        },
        PaymentStep {
            step: Step::CardNumber,
            status: StepStatus::Entering,
            reason: None,
            at: t1 + TimeDelta::seconds(1),
        },
        PaymentStep {
            step: Step::CardNumber,
            status: StepStatus::ReEntering,
            reason: Some("card_number_check_digit".into()),
            at: t1 + TimeDelta::seconds(2),
        },
        PaymentStep {
            step: Step::CardNumber,
            status: StepStatus::Completed,
            reason: None,
            at: t1 + TimeDelta::seconds(3),
        },
    ];
    for s in &steps {
        store.add_payment_step("pay_1", s).await.expect("step");
    }
    assert!(matches!(
        store.add_payment_step("pay_zz", &steps[0]).await,
        Err(StoreError::PaymentNotFound(_))
    ));
    let p = store
        .get_payment("pay_1")
        .await
        .expect("get")
        .expect("pay_1");
    assert_eq!(p.status, PaymentStatus::InProgress);
    assert_eq!(p.steps, steps);
    assert_eq!(p.updated_at, steps[3].at);

    let end = t0() + TimeDelta::seconds(60);
    let done = store
        .finish_payment(
            "pay_1",
            &succeeded(),
            &[PaymentStatus::Pending, PaymentStatus::InProgress],
            end,
        )
        .await
        .expect("finish")
        .expect("it was in progress");
    assert_eq!(done.status, PaymentStatus::Succeeded);
    assert_eq!(
        (done.brand.as_deref(), done.last_four.as_deref()),
        (Some("visa"), Some("4242"))
    );
    // The gateway token is kept, but never part of the payment record the API shows.
    assert_eq!(
        store
            .payment_gateway_token("pay_1")
            .await
            .expect("token")
            .as_deref(),
        Some("tok_sandbox_kept_for_refunds")
    );
    assert!(!serde_json::to_string(&done)
        .expect("json")
        .contains("tok_sandbox"));
    let note = done.note.clone().expect("note");
    assert_eq!(
        serde_json::to_value(&note).expect("note json"),
        serde_json::json!({"agent_name":"Ayesha Khan","product":"Blue kurta","transaction_id":"txn_sandbox_1",
            "amount":"2500.00","currency":"PKR","status":"succeeded","timestamp":"2026-11-23 14:06:09"})
    );
    // A second end (the call layer racing a hang-up, say) changes nothing.
    let again = PaymentResult::ended(
        PaymentStatus::Failed,
        Some(EndReason::Failed(FailReason::CallerHungUp)),
    );
    assert_eq!(
        store
            .finish_payment(
                "pay_1",
                &again,
                &[PaymentStatus::Pending, PaymentStatus::InProgress],
                end
            )
            .await
            .expect("finish"),
        None
    );
    // Even if the caller lists final statuses.
    assert_eq!(
        store
            .finish_payment("pay_1", &again, &PaymentStatus::ALL, end)
            .await
            .expect("finish"),
        None
    );
    assert_eq!(
        store
            .get_payment("pay_1")
            .await
            .expect("get")
            .expect("pay_1"),
        done
    );
    assert_eq!(store.active_payment("call_1").await.expect("active"), None);
    assert!(matches!(
        store
            .finish_payment("pay_zz", &again, &PaymentStatus::ALL, end)
            .await,
        Err(StoreError::PaymentNotFound(_))
    ));
    assert!(matches!(
        store
            .finish_payment(
                "pay_1",
                &PaymentResult::ended(PaymentStatus::InProgress, None),
                &PaymentStatus::ALL,
                end
            )
            .await,
        Err(StoreError::InvalidPayment {
            field: "status",
            ..
        })
    ));

    let events = payment_events(&db).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (kind, data) = &events[0];
    assert_eq!(kind, "payment.completed");
    let keys: BTreeSet<&str> = data
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let documented: BTreeSet<&str> = [
        "payment_id",
        "call_id",
        "order_id",
        "agent_id",
        "agent_name",
        "product",
        "transaction_id",
        "amount",
        "currency",
        "status",
        "timestamp",
        "brand",
        "last_four",
        "reason",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, documented);
    assert_eq!(
        data,
        &serde_json::json!({"payment_id":"pay_1","call_id":"call_1","order_id":"A-1","agent_id":"ayesha",
            "agent_name":"Ayesha Khan","product":"Blue kurta","transaction_id":"txn_sandbox_1","amount":"2500.00",
            "currency":"PKR","status":"succeeded","timestamp":"2026-11-23 14:06:09","brand":"visa","last_four":"4242","reason":null})
    );

    // The call can take another payment now.
    store
        .insert_payment(&new_payment("pay_2", "call_1"), end)
        .await
        .expect("second payment");
    assert_eq!(
        store
            .get_agent_call("call_1")
            .await
            .expect("get")
            .expect("call")
            .payments,
        ["pay_1", "pay_2"]
    );
}

async fn cancel_only_from_pending(db: TestDb) {
    let store = bridged(&db).await;
    store
        .insert_payment(&new_payment("pay_1", "call_1"), t0())
        .await
        .expect("insert");
    let cancel = PaymentResult::ended(PaymentStatus::Cancelled, Some(EndReason::CancelledByAgent));
    let c = store
        .finish_payment("pay_1", &cancel, &[PaymentStatus::Pending], t0())
        .await
        .expect("cancel")
        .expect("was pending");
    assert_eq!(c.status, PaymentStatus::Cancelled);
    assert_eq!(
        c.note.as_ref().map(|n| n.status.as_str()),
        Some("cancelled")
    );
    assert!(
        !store
            .mark_payment_in_progress("pay_1", t0())
            .await
            .expect("too late"),
        "a cancelled payment never starts"
    );
    assert_eq!(
        store
            .finish_payment("pay_1", &cancel, &[PaymentStatus::Pending], t0())
            .await
            .expect("again"),
        None
    );

    store
        .insert_payment(&new_payment("pay_2", "call_1"), t0())
        .await
        .expect("insert");
    assert!(store
        .mark_payment_in_progress("pay_2", t0())
        .await
        .expect("start"));
    assert_eq!(
        store
            .finish_payment("pay_2", &cancel, &[PaymentStatus::Pending], t0())
            .await
            .expect("cancel"),
        None,
        "once the caller keys, the agent cannot cancel"
    );
    assert_eq!(
        store
            .get_payment("pay_2")
            .await
            .expect("get")
            .expect("pay_2")
            .status,
        PaymentStatus::InProgress
    );
    let events = payment_events(&db).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        (
            events[0].0.as_str(),
            &events[0].1["status"],
            &events[0].1["reason"]
        ),
        (
            "payment.failed",
            &Value::from("cancelled"),
            &Value::from("cancelled_by_agent")
        )
    );
}

async fn concurrent_ends_write_one_result(db: TestDb) {
    let store = bridged(&db).await;
    for round in 0..5 {
        let id = format!("pay_{round}");
        store
            .insert_payment(&new_payment(&id, "call_1"), t0())
            .await
            .expect("insert");
        store
            .mark_payment_in_progress(&id, t0())
            .await
            .expect("start");
        let mut tasks = Vec::new();
        for i in 0..4 {
            let (store, id) = (store.clone(), id.clone());
            tasks.push(tokio::spawn(async move {
                let r = if i % 2 == 0 {
                    succeeded()
                } else {
                    PaymentResult::ended(
                        PaymentStatus::Failed,
                        Some(EndReason::Failed(FailReason::CallerHungUp)),
                    )
                };
                store
                    .finish_payment(&id, &r, &[PaymentStatus::InProgress], t0())
                    .await
                    .expect("finish")
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.expect("task").is_some());
        }
        assert_eq!(winners, 1, "round {round}");
    }
    assert_eq!(
        payment_events(&db).await.len(),
        5,
        "one webhook per payment"
    );
}

async fn reconcile_closes_what_a_crash_left_live(db: TestDb) {
    let store = bridged(&db).await;
    new_call(&store, "call_dialing", "ayesha", t0()).await;
    new_call(&store, "call_done", "ayesha", t0()).await;
    let end = AgentCallUpdate {
        ended_by: Some(EndedBy::Agent),
        agent_cause: Some("hangup".into()),
        ..AgentCallUpdate::status(AgentCallStatus::Ended)
    };
    store
        .update_agent_call("call_done", &end, t0())
        .await
        .expect("end");
    new_call(&store, "call_3", "ayesha", t0()).await;
    store
        .update_agent_call(
            "call_3",
            &AgentCallUpdate::status(AgentCallStatus::Bridged),
            t0(),
        )
        .await
        .expect("bridge");
    store
        .insert_payment(&new_payment("pay_pending", "call_1"), t0())
        .await
        .expect("insert");
    store
        .insert_payment(&new_payment("pay_running", "call_3"), t0())
        .await
        .expect("insert");
    store
        .mark_payment_in_progress("pay_running", t0())
        .await
        .expect("start");
    store.close().await;

    // "Restart".
    let store = db.open().await;
    let later = t0() + TimeDelta::minutes(2);
    assert_eq!(
        store
            .reconcile_agent_calls_on_start(later)
            .await
            .expect("reconcile"),
        (3, 2)
    );
    for id in ["call_1", "call_3", "call_dialing"] {
        let c = store.get_agent_call(id).await.expect("get").expect(id);
        assert_eq!(
            (c.status, c.ended_by, c.ended_at),
            (AgentCallStatus::Ended, Some(EndedBy::Local), Some(later)),
            "{id}"
        );
        assert_eq!(c.agent_cause.as_deref(), Some("interrupted"), "{id}");
    }
    let c = store
        .get_agent_call("call_dialing")
        .await
        .expect("get")
        .expect("call");
    assert_eq!(c.customer_cause, None, "the customer was never called");
    let done = store
        .get_agent_call("call_done")
        .await
        .expect("get")
        .expect("call");
    assert_eq!(
        (done.ended_by, done.agent_cause.as_deref(), done.ended_at),
        (Some(EndedBy::Agent), Some("hangup"), Some(t0()))
    );
    for id in ["pay_pending", "pay_running"] {
        let p = store.get_payment(id).await.expect("get").expect(id);
        assert_eq!(
            (p.status, p.reason.map(|r| r.to_string())),
            (PaymentStatus::Failed, Some("interrupted".to_string())),
            "{id}"
        );
        assert_eq!(p.note.expect("note").status, "failed");
    }
    let events = payment_events(&db).await;
    assert_eq!(events.len(), 2);
    assert!(
        events
            .iter()
            .all(|(k, d)| k == "payment.failed" && d["reason"] == "interrupted"),
        "{events:?}"
    );
    assert_eq!(
        store
            .reconcile_agent_calls_on_start(later)
            .await
            .expect("again"),
        (0, 0),
        "idempotent"
    );
}

/// No column could hold a card number, expiry, CVC or postal code, and the
/// result fields refuse anything shaped like one.
async fn results_cannot_carry_card_data(db: TestDb) {
    let store = bridged(&db).await;
    for table in ["agents", "agent_calls", "payments", "payment_steps"] {
        for col in columns(&db, table).await {
            for word in [
                "card", "pan", "cvc", "cvv", "expir", "postal", "zip", "number",
            ] {
                assert!(
                    !col.contains(word),
                    "{table}.{col} looks like a place for card data"
                );
            }
        }
    }
    store
        .insert_payment(&new_payment("pay_1", "call_1"), t0())
        .await
        .expect("insert");
    let any = [PaymentStatus::Pending, PaymentStatus::InProgress];
    let pan = "4242424242424242";
    let bad = [
        (
            "last_four",
            PaymentResult {
                last_four: Some(pan.into()),
                ..succeeded()
            },
        ),
        (
            "last_four",
            PaymentResult {
                last_four: Some("42a2".into()),
                ..succeeded()
            },
        ),
        (
            "reason",
            PaymentResult {
                reason: Some(EndReason::Failed(FailReason::Declined(pan.into()))),
                ..succeeded()
            },
        ),
        (
            "reason",
            PaymentResult {
                reason: Some(EndReason::Failed(FailReason::Gateway(
                    "postal_54000".into(),
                ))),
                ..succeeded()
            },
        ),
        (
            "brand",
            PaymentResult {
                brand: Some("4242".into()),
                ..succeeded()
            },
        ),
    ];
    for (field, r) in bad {
        match store.finish_payment("pay_1", &r, &any, t0()).await {
            Err(StoreError::InvalidPayment { field: f, reason }) => {
                assert_eq!(f, field);
                assert!(
                    !reason.contains(pan),
                    "the error must not echo the value: {reason}"
                );
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    let step = PaymentStep {
        step: Step::PostalCode,
        status: StepStatus::Failed,
        reason: Some("54000".into()),
        at: t0(),
    };
    assert!(matches!(
        store.add_payment_step("pay_1", &step).await,
        Err(StoreError::InvalidPayment {
            field: "reason",
            ..
        })
    ));
    assert!(payment_events(&db).await.is_empty());
    assert_eq!(
        store
            .get_payment("pay_1")
            .await
            .expect("get")
            .expect("pay_1")
            .status,
        PaymentStatus::Pending
    );
}
