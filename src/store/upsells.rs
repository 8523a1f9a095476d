//! Upsells (issue #15): offers' catalogs, what an order carries for upsells
//! (offer, card on file), the eligible orders, and purchases.
//!
//! A purchase is claimed (a `pending` row under the order and the client's
//! idempotency key) BEFORE the gateway is called and ended in one transaction
//! with its upsell order, CRM note and webhook: a retry of the same request
//! finds the row, and the gateway charge carries the row's own key, so a
//! retry — even after a crash between charge and end — is one charge.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;

use super::error::QueryContext;
use super::model::{corrupt, get, ms, order_from_row, time, ORDER_COLUMNS};
use super::{enqueue, load_order, Order, Store, StoreError, Tx};
use crate::money::{Currency, Money};
use crate::upsell::{parse_brand, CardOnFile};

/// What an order carries for upsells, besides the order itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderExtras {
    /// The offer (`PUT /v1/offers/{id}`) the order was sold under.
    pub offer: Option<String>,
    pub card: CardOnFile,
    /// For an upsell order: the order it was sold on.
    pub upsell_of: Option<String>,
    /// A trial order's terms and first workflow rows (issue #15), stored
    /// with the order; reads leave it `None` (see `Store::trial`).
    pub trial: Option<super::NewTrial>,
}

impl OrderExtras {
    pub fn is_empty(&self) -> bool {
        *self == OrderExtras::default()
    }

    /// Fields that differ from the stored ones (an order posted again).
    pub(crate) fn differences(&self, stored: &OrderExtras) -> Vec<&'static str> {
        let mut d = Vec::new();
        if self.offer != stored.offer {
            d.push("offer");
        }
        let (a, b) = (&self.card, &stored.card);
        if a.token != b.token {
            d.push("payment_token");
        }
        if a.brand != b.brand {
            d.push("card_brand");
        }
        if a.last4 != b.last4 {
            d.push("card_last4");
        }
        if a.exp_month != b.exp_month {
            d.push("card_exp_month");
        }
        if a.exp_year != b.exp_year {
            d.push("card_exp_year");
        }
        d
    }
}

/// A purchase as asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPurchase {
    pub id: String,
    pub order_id: String,
    pub idempotency_key: String,
    pub upsell_id: String,
    pub quantity: u64,
    pub shipping_id: String,
    pub amount: Money,
}

/// A stored purchase.
#[derive(Debug, Clone, PartialEq)]
pub struct Purchase {
    pub id: String,
    pub order_id: String,
    pub idempotency_key: String,
    /// The key the gateway charge carries: `ups_<id>` (the purchase id).
    pub gateway_key: String,
    pub upsell_id: String,
    pub quantity: u64,
    pub shipping_id: String,
    pub amount: Money,
    /// `pending`, `approved`, `declined` or `failed`.
    pub status: String,
    pub transaction_id: Option<String>,
    pub reason: Option<String>,
    pub upsell_order_id: Option<String>,
    pub note: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// What a purchase's end writes besides its status: the upsell order's
/// lines, the CRM note and the webhook's data.
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseRecord {
    pub items: serde_json::Value,
    pub note: serde_json::Value,
    pub webhook: serde_json::Value,
}

/// How a purchase ended at the gateway (`approved`, `declined`, `failed`).
pub use crate::payments::on_file::ChargeEnd as PurchaseEnd;

const PURCHASE_COLUMNS: &str = "id, order_id, idempotency_key, gateway_key, upsell_id, quantity, shipping_id, amount_minor, currency, \
     status, transaction_id, reason, upsell_order_id, note, created_at";

fn purchase_from_row(row: &AnyRow) -> Result<Purchase, StoreError> {
    const T: &str = "upsell_purchases";
    let currency: String = get(row, T, "currency")?;
    let currency =
        Currency::stored(&currency).map_err(|_| corrupt(T, format!("currency {currency:?}")))?;
    let minor: i64 = get(row, T, "amount_minor")?;
    let quantity: i64 = get(row, T, "quantity")?;
    let note: Option<String> = get(row, T, "note")?;
    Ok(Purchase {
        id: get(row, T, "id")?,
        order_id: get(row, T, "order_id")?,
        idempotency_key: get(row, T, "idempotency_key")?,
        gateway_key: get(row, T, "gateway_key")?,
        upsell_id: get(row, T, "upsell_id")?,
        quantity: u64::try_from(quantity).map_err(|_| corrupt(T, "quantity"))?,
        shipping_id: get(row, T, "shipping_id")?,
        amount: Money::from_minor(
            u64::try_from(minor).map_err(|_| corrupt(T, "amount_minor"))?,
            currency,
        ),
        status: get(row, T, "status")?,
        transaction_id: get(row, T, "transaction_id")?,
        reason: get(row, T, "reason")?,
        upsell_order_id: get(row, T, "upsell_order_id")?,
        note: note
            .map(|n| serde_json::from_str(&n).map_err(|e| corrupt(T, format!("note: {e}"))))
            .transpose()?,
        created_at: time(T, "created_at", get(row, T, "created_at")?)?,
    })
}

const EXTRAS_COLUMNS: &str =
    "offer_id, payment_token, card_brand, card_last4, card_exp_month, card_exp_year, upsell_of";

fn extras_from_row(row: &AnyRow) -> Result<OrderExtras, StoreError> {
    const T: &str = "order_cards";
    let brand: Option<String> = get(row, T, "card_brand")?;
    let month: Option<i64> = get(row, T, "card_exp_month")?;
    let year: Option<i64> = get(row, T, "card_exp_year")?;
    Ok(OrderExtras {
        offer: get(row, T, "offer_id")?,
        card: CardOnFile {
            token: get(row, T, "payment_token")?,
            brand: brand
                .map(|b| parse_brand(&b).ok_or_else(|| corrupt(T, format!("card_brand {b:?}"))))
                .transpose()?,
            last4: get(row, T, "card_last4")?,
            exp_month: month.and_then(|m| u32::try_from(m).ok()),
            exp_year: year.and_then(|y| u32::try_from(y).ok()),
        },
        upsell_of: get(row, T, "upsell_of")?,
        trial: None,
    })
}

/// Store an order's extras (inside the order's own insert).
pub(super) async fn write_extras(
    tx: &mut Tx,
    order_id: &str,
    e: &OrderExtras,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO order_cards (order_id, {EXTRAS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(order_id)
    .bind(e.offer.as_deref())
    .bind(e.card.token.as_deref())
    .bind(e.card.brand.map(|b| b.as_str()))
    .bind(e.card.last4.as_deref())
    .bind(e.card.exp_month.map(i64::from))
    .bind(e.card.exp_year.map(i64::from))
    .bind(e.upsell_of.as_deref())
    .execute(&mut **tx)
    .await
    .during("store order card")?;
    Ok(())
}

/// An order's extras inside a transaction (default when it has none).
pub(super) async fn load_extras(tx: &mut Tx, order_id: &str) -> Result<OrderExtras, StoreError> {
    sqlx::query(&format!(
        "SELECT {EXTRAS_COLUMNS} FROM order_cards WHERE order_id = $1"
    ))
    .bind(order_id)
    .fetch_optional(&mut **tx)
    .await
    .during("load order card")?
    .as_ref()
    .map_or(Ok(OrderExtras::default()), extras_from_row)
}

/// The statuses that make an order eligible for an upsell.
pub const ELIGIBLE: [&str; 4] = orderline_dialer::modes::FULFILMENT_STATUSES;

impl Store {
    /// Create or replace an offer's catalog (stored JSON, minor units).
    /// `true` when the offer is new.
    pub async fn put_offer(
        &self,
        id: &str,
        catalog: &serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin("store offer").await?;
        let existed = sqlx::query("SELECT id FROM offers WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .during("store offer")?
            .is_some();
        sqlx::query(
            "INSERT INTO offers (id, catalog, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET catalog = excluded.catalog, updated_at = excluded.updated_at",
        )
        .bind(id)
        .bind(catalog.to_string())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .during("store offer")?;
        tx.commit().await.during("store offer")?;
        Ok(!existed)
    }

    /// An offer's stored catalog, or `None`.
    pub async fn get_offer(&self, id: &str) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(row) = sqlx::query("SELECT catalog FROM offers WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .during("read offer")?
        else {
            return Ok(None);
        };
        let text: String = get(&row, "offers", "catalog")?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| corrupt("offers", format!("catalog: {e}")))
    }

    /// An order's offer, card on file and upsell link (default: none).
    pub async fn order_extras(&self, order_id: &str) -> Result<OrderExtras, StoreError> {
        sqlx::query(&format!(
            "SELECT {EXTRAS_COLUMNS} FROM order_cards WHERE order_id = $1"
        ))
        .bind(order_id)
        .fetch_optional(&self.pool)
        .await
        .during("read order card")?
        .as_ref()
        .map_or(Ok(OrderExtras::default()), extras_from_row)
    }

    /// Orders an upsell can be sold on: status `paid`, `shipping`,
    /// `shipped` or `delivered` (or the one `status` given), with an offer,
    /// newest first; `q` matches the order id, phone or customer name
    /// (case-insensitive substring).
    pub async fn upsell_candidates(
        &self,
        q: Option<&str>,
        status: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(Order, OrderExtras)>, StoreError> {
        let statuses: Vec<&str> = match status {
            Some(s) => vec![s],
            None => ELIGIBLE.to_vec(),
        };
        let marks: Vec<String> = (1..=statuses.len()).map(|i| format!("${i}")).collect();
        let mut n = statuses.len();
        let mut search = String::new();
        if q.is_some() {
            n += 1;
            search = format!(
                " AND (LOWER(orders.id) LIKE ${n} OR LOWER(orders.phone) LIKE ${n} OR LOWER(COALESCE(orders.customer_name, '')) LIKE ${n})"
            );
        }
        let sql = format!(
            "SELECT {ORDER_COLUMNS}, {EXTRAS_COLUMNS} FROM orders JOIN order_cards ON order_cards.order_id = orders.id \
             WHERE order_cards.offer_id IS NOT NULL AND COALESCE(orders.dialer_status, orders.status) IN ({}){search} \
             ORDER BY orders.created_at DESC, orders.id LIMIT ${}",
            marks.join(", "),
            n + 1
        );
        let mut query = sqlx::query(&sql);
        for s in &statuses {
            query = query.bind(*s);
        }
        if let Some(q) = q {
            // `%` and `_` in the search stay wildcards: a wider match, never an error.
            query = query.bind(format!("%{}%", q.to_lowercase()));
        }
        query
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .during("search upsell orders")?
            .iter()
            .map(|row| Ok((order_from_row(row)?, extras_from_row(row)?)))
            .collect()
    }

    /// Claim a purchase under `(order_id, idempotency_key)`: the new row
    /// (`Ok((purchase, true))`), or the one a previous request with the
    /// same key made (`false`), whatever its state.
    pub async fn claim_purchase(
        &self,
        p: &NewPurchase,
        now: DateTime<Utc>,
    ) -> Result<(Purchase, bool), StoreError> {
        let mut tx = self.begin("claim upsell purchase").await?;
        let inserted = sqlx::query(&format!(
            "INSERT INTO upsell_purchases ({PURCHASE_COLUMNS}, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', NULL, NULL, NULL, NULL, $10, $10) \
             ON CONFLICT (order_id, idempotency_key) DO NOTHING"
        ))
        .bind(&p.id)
        .bind(&p.order_id)
        .bind(&p.idempotency_key)
        .bind(format!("ups_{}", p.id.trim_start_matches("ups_")))
        .bind(&p.upsell_id)
        .bind(i64::try_from(p.quantity).unwrap_or(i64::MAX))
        .bind(&p.shipping_id)
        .bind(i64::try_from(p.amount.minor()).unwrap_or(i64::MAX))
        .bind(p.amount.currency().code())
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .during("claim upsell purchase")?
        .rows_affected();
        let row = sqlx::query(&format!(
            "SELECT {PURCHASE_COLUMNS} FROM upsell_purchases WHERE order_id = $1 AND idempotency_key = $2"
        ))
        .bind(&p.order_id)
        .bind(&p.idempotency_key)
        .fetch_one(&mut *tx)
        .await
        .during("claim upsell purchase")?;
        tx.commit().await.during("claim upsell purchase")?;
        Ok((purchase_from_row(&row)?, inserted == 1))
    }

    /// A main order's purchases, oldest first.
    pub async fn purchases(&self, order_id: &str) -> Result<Vec<Purchase>, StoreError> {
        sqlx::query(&format!(
            "SELECT {PURCHASE_COLUMNS} FROM upsell_purchases WHERE order_id = $1 ORDER BY created_at, id"
        ))
        .bind(order_id)
        .fetch_all(&self.pool)
        .await
        .during("list upsell purchases")?
        .iter()
        .map(purchase_from_row)
        .collect()
    }

    /// End a pending purchase, once: its status and gateway answer; when
    /// approved, a new upsell order (`<main id>-U<n>`, status `paid`,
    /// linked to the main order) with `items`; the CRM `note`; and the
    /// webhook `upsell.completed` / `upsell.failed` — one transaction. A
    /// purchase already ended is returned as it is (a concurrent retry).
    pub async fn finish_purchase(
        &self,
        purchase_id: &str,
        main: &Order,
        end: &PurchaseEnd,
        record: &PurchaseRecord,
        now: DateTime<Utc>,
    ) -> Result<Purchase, StoreError> {
        let mut tx = self.begin("end upsell purchase").await?;
        let changed = sqlx::query(
            "UPDATE upsell_purchases SET status = $1, transaction_id = $2, reason = $3, note = $4, updated_at = $5 \
             WHERE id = $6 AND status = 'pending'",
        )
        .bind(end.status)
        .bind(end.transaction_id.as_deref())
        .bind(end.reason.as_deref())
        .bind(record.note.to_string())
        .bind(ms(now))
        .bind(purchase_id)
        .execute(&mut *tx)
        .await
        .during("end upsell purchase")?
        .rows_affected();
        if changed == 1 {
            let mut payload = record.webhook.clone();
            if end.status == "approved" {
                let id = upsell_order_id(&mut tx, main, purchase_id).await?;
                let amount = purchase_amount(&mut tx, purchase_id).await?;
                insert_upsell_order(&mut tx, main, &id, amount, &record.items, now).await?;
                sqlx::query("UPDATE upsell_purchases SET upsell_order_id = $1 WHERE id = $2")
                    .bind(&id)
                    .bind(purchase_id)
                    .execute(&mut *tx)
                    .await
                    .during("link upsell order")?;
                payload["upsell_order_id"] = serde_json::json!(id);
            }
            let event = if end.status == "approved" {
                "upsell.completed"
            } else {
                "upsell.failed"
            };
            enqueue(&mut tx, event, Some(&main.id), &payload, now).await?;
        }
        let row = sqlx::query(&format!(
            "SELECT {PURCHASE_COLUMNS} FROM upsell_purchases WHERE id = $1"
        ))
        .bind(purchase_id)
        .fetch_one(&mut *tx)
        .await
        .during("end upsell purchase")?;
        tx.commit().await.during("end upsell purchase")?;
        purchase_from_row(&row)
    }
}

async fn purchase_amount(tx: &mut Tx, purchase_id: &str) -> Result<Money, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {PURCHASE_COLUMNS} FROM upsell_purchases WHERE id = $1"
    ))
    .bind(purchase_id)
    .fetch_one(&mut **tx)
    .await
    .during("read upsell purchase")?;
    Ok(purchase_from_row(&row)?.amount)
}

/// `<main id>-U<n>` (n: this main order's upsell orders so far + 1), or the
/// purchase id when that is taken or too long.
async fn upsell_order_id(
    tx: &mut Tx,
    main: &Order,
    purchase_id: &str,
) -> Result<String, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM order_cards WHERE upsell_of = $1")
        .bind(&main.id)
        .fetch_one(&mut **tx)
        .await
        .during("count upsell orders")?;
    let n: i64 = get(&row, "order_cards", "n")?;
    let id = format!("{}-U{}", main.id, n + 1);
    if id.len() <= 128 && load_order(tx, &id).await?.is_none() {
        Ok(id)
    } else {
        Ok(purchase_id.to_string())
    }
}

/// The upsell order: the main order's customer and address, the upsell's
/// lines, status `paid` (the charge went through), no call planned.
async fn insert_upsell_order(
    tx: &mut Tx,
    main: &Order,
    id: &str,
    amount: Money,
    items: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO orders (id, phone, amount, currency, customer_kind, items, locale, timezone, status, created_at, updated_at, project, \
         store_name, order_number, delivery_fee, customer_name, address, notes, prep_error, amount_minor, dialer_status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'confirmed', $9, $9, $10, $11, $12, NULL, $13, $14, NULL, NULL, $15, 'paid')",
    )
    .bind(id)
    .bind(&main.phone)
    .bind(amount.to_string())
    .bind(amount.currency().code())
    .bind(main.customer_kind.as_str())
    .bind(items.to_string())
    .bind(main.locale.as_deref())
    .bind(main.timezone.as_deref())
    .bind(ms(now))
    .bind(&main.project)
    .bind(main.script.store.as_deref())
    .bind(id)
    .bind(main.script.customer_name.as_deref())
    .bind(main.script.address.as_deref())
    .bind(i64::try_from(amount.minor()).unwrap_or(i64::MAX))
    .execute(&mut **tx)
    .await
    .during("insert upsell order")?;
    sqlx::query("INSERT INTO order_status_history (order_id, from_status, to_status, reason, at) VALUES ($1, NULL, 'paid', $2, $3)")
        .bind(id)
        .bind(format!("upsell of {} charged to the card on file", main.id))
        .bind(ms(now))
        .execute(&mut **tx)
        .await
        .during("record status history")?;
    let main_extras = load_extras(tx, &main.id).await?;
    write_extras(
        tx,
        id,
        &OrderExtras {
            offer: None,
            card: main_extras.card,
            upsell_of: Some(main.id.clone()),
            trial: None,
        },
    )
    .await
}
