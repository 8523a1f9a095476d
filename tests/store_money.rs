//! Migration 0009 (one money vocabulary, issue #9) on both backends: rows
//! written by the schema of migration 0008 — order amounts as decimal text
//! with up to 4 places, payment amounts in hundredths for every currency —
//! read back as `Money` at the currency's ISO 4217 scale.
//!
//! The old schema is built by sqlx's own migrator from the files in `sql/`
//! (the same text, so the same checksums `Store::open` then finds), the old
//! rows are written with plain SQL, and `Store::open` applies 0009.

#[macro_use]
mod support;

use std::path::Path;

use orderline::store::PaymentStatus;
use sqlx::migrate::Migrator;
use support::store::TestDb;

/// Apply migrations 0001–0008 of this backend, as a deployed daemon of the
/// previous release would have.
async fn migrate_to_0008(db: &TestDb) {
    let dialect = if db.url.starts_with("sqlite:") {
        "sqlite"
    } else {
        "postgres"
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sql")
        .join(dialect);
    let mut copied = 0;
    for entry in std::fs::read_dir(&src).expect("sql dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let version: u32 = name.get(..4).and_then(|v| v.parse().ok()).unwrap_or(0);
        if (1..=8).contains(&version) {
            std::fs::copy(&path, dir.path().join(name)).expect("copy migration");
            copied += 1;
        }
    }
    assert_eq!(copied, 8, "migrations 0001-0008 in {}", src.display());
    if dialect == "sqlite" {
        // Store::open creates the file; the old release did the same.
        std::fs::File::create(db.url.trim_start_matches("sqlite://")).expect("create db file");
    }
    let migrator = Migrator::new(dir.path()).await.expect("read migrations");
    let mut raw = db.raw().await;
    migrator.run(&mut raw).await.expect("migrate to 0008");
}

async fn exec(db: &TestDb, sql: &str) {
    let mut raw = db.raw().await;
    sqlx::query(sql)
        .execute(&mut raw)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// `(id, amount as sent, currency, minor units after 0009, shown at scale)`.
const ORDERS: [(&str, &str, &str, u64, &str); 8] = [
    ("o_pkr", "1234.5", "PKR", 123_450, "1234.50"),
    ("o_pkr4", "10.5000", "PKR", 1_050, "10.50"),
    ("o_jpy", "1200", "JPY", 1_200, "1200"),
    ("o_jpy_frac", "99.5", "JPY", 100, "100"),
    ("o_kwd", "1.25", "KWD", 1_250, "1.250"),
    ("o_kwd_round", "1.2345", "KWD", 1_235, "1.235"),
    ("o_clf", "0.0001", "CLF", 1, "0.0001"),
    ("o_odd", "7.125", "XYZ", 713, "7.13"),
];

/// `(id, currency, hundredths before, minor units after 0009)`.
const PAYMENTS: [(&str, &str, i64, u64); 4] = [
    ("pay_pkr", "PKR", 250_000, 250_000),
    ("pay_jpy", "JPY", 250_000, 2_500),
    ("pay_jpy_small", "JPY", 20, 1),
    ("pay_kwd", "KWD", 150, 1_500),
];

async fn old_rows_read_at_the_currency_scale(db: TestDb) {
    migrate_to_0008(&db).await;
    for (id, amount, currency, _, _) in ORDERS {
        exec(
            &db,
            &format!(
                "INSERT INTO orders (id, phone, amount, currency, customer_kind, items, status, created_at, updated_at) \
                 VALUES ('{id}', '+923001234567', '{amount}', '{currency}', 'new', '[]', 'flagged', 1, 1)"
            ),
        )
        .await;
    }
    exec(
        &db,
        "INSERT INTO agents (id, name, sip_uri, source, created_at, updated_at) \
         VALUES ('ayesha', 'Ayesha', 'sip:ayesha@127.0.0.1:5062', 'config', 1, 1)",
    )
    .await;
    for (i, (id, currency, hundredths, _)) in PAYMENTS.into_iter().enumerate() {
        exec(
            &db,
            &format!(
                "INSERT INTO agent_calls (id, agent_id, agent_name, callee, status, created_at) \
                 VALUES ('call_{i}', 'ayesha', 'Ayesha', '+923001234567', 'ended', 1)"
            ),
        )
        .await;
        exec(
            &db,
            &format!(
                "INSERT INTO payments (id, call_id, agent_id, item, amount_minor, currency, status, created_at, updated_at) \
                 VALUES ('{id}', 'call_{i}', 'ayesha', 'Kurta', {hundredths}, '{currency}', 'succeeded', 1, 1)"
            ),
        )
        .await;
    }

    let store = db.open().await; // applies 0009
    for (id, amount, currency, minor, shown) in ORDERS {
        let o = store
            .get_order(id)
            .await
            .expect("get order")
            .expect("order")
            .order;
        assert_eq!(o.amount, amount, "{id}: the merchant's text is kept");
        assert_eq!(o.money.currency().code(), currency, "{id}");
        assert_eq!(o.money.minor(), minor, "{id}");
        assert_eq!(o.money.to_string(), shown, "{id}");
    }
    for (id, currency, _, minor) in PAYMENTS {
        let p = store
            .get_payment(id)
            .await
            .expect("get payment")
            .expect("payment");
        assert_eq!(p.status, PaymentStatus::Succeeded);
        assert_eq!(p.amount.currency().code(), currency, "{id}");
        assert_eq!(p.amount.minor(), minor, "{id}");
    }
    // A second open finds 0009 applied and changes nothing.
    store.close().await;
    let again = db.open().await;
    let o = again
        .get_order("o_jpy_frac")
        .await
        .expect("get")
        .expect("order");
    assert_eq!(o.order.money.minor(), 100);
}

on_both_backends!(old_rows_read_at_the_currency_scale);
