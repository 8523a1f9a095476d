//! Registered contacts (migrations 0003, 0011: TLS) on SQLite and a real PostgreSQL: a
//! binding is saved, refreshed in place, listed while live, removed, and
//! lapsed ones are purged; the agent must exist (foreign key).

#[macro_use]
mod support;

use chrono::{DateTime, Utc};
use orderline::config::AgentConfig;
use orderline::store::StoredBinding;
use support::store::TestDb;

on_both_backends!(bindings_are_saved_refreshed_listed_and_purged);

fn t(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).expect("time")
}

const T0: i64 = 1_800_000_000_000;

fn binding(contact: &str, expires_at: i64, cseq: i64) -> StoredBinding {
    StoredBinding {
        agent_id: "ayesha".into(),
        contact: contact.into(),
        source: "127.0.0.1:5062".into(),
        transport: "udp".into(),
        call_id: "reg-1".into(),
        cseq,
        expires_at,
        updated_at: T0,
        user_agent: Some("baresip 1.0.0".into()),
    }
}

async fn bindings_are_saved_refreshed_listed_and_purged(db: TestDb) {
    let store = db.open().await;
    let agent = AgentConfig {
        id: "ayesha".into(),
        name: "Ayesha Khan".into(),
        sip_uri: Some("sip:1001@127.0.0.1".into()),
        sip_user: Some("1001".into()),
        sip_password: None,
        api_token: None,
        srtp: Default::default(),
    };
    store
        .sync_config_agents(&[agent], t(T0))
        .await
        .expect("sync");

    let a = binding("sip:1001@127.0.0.1:5062", T0 + 60_000, 1);
    // A phone registered over TLS (migration 0011 admits the transport).
    let b = StoredBinding {
        transport: "tls".into(),
        ..binding("sip:1001@127.0.0.1:5064;transport=tls", T0 + 10_000, 1)
    };
    store.save_binding(&a).await.expect("save a");
    store.save_binding(&b).await.expect("save b");
    assert_eq!(
        store.live_bindings(t(T0)).await.expect("live"),
        vec![a.clone(), b.clone()]
    );

    // A refresh replaces the row (same agent and contact), no second row.
    let a2 = StoredBinding {
        cseq: 2,
        expires_at: T0 + 120_000,
        ..a.clone()
    };
    store.save_binding(&a2).await.expect("refresh a");
    assert_eq!(
        store.live_bindings(t(T0)).await.expect("live"),
        vec![a2.clone(), b.clone()]
    );

    // b lapses: no longer listed, and purged.
    assert_eq!(
        store.live_bindings(t(T0 + 10_000)).await.expect("live"),
        vec![a2.clone()]
    );
    assert_eq!(
        store
            .purge_expired_bindings(t(T0 + 10_000))
            .await
            .expect("purge"),
        1
    );
    assert_eq!(
        store.live_bindings(t(T0)).await.expect("live"),
        vec![a2.clone()]
    );

    store
        .remove_binding("ayesha", &a2.contact)
        .await
        .expect("remove");
    assert!(store.live_bindings(t(T0)).await.expect("live").is_empty());

    // A binding of an unknown agent is refused by the foreign key.
    let ghost = StoredBinding {
        agent_id: "nobody".into(),
        ..a
    };
    assert!(store.save_binding(&ghost).await.is_err());
    store.close().await;
}
