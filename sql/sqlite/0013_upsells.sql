-- Upsells (issue #15, first slice), SQLite dialect.
-- Keep in step with the other backend's 0013_upsells.sql.
--
-- offers: the merchant's catalog per offer (PUT /v1/offers/{id}), kept as the
-- checked JSON the API returns; every price in it is an integer count of the
-- currency's minor units (migration 0009's money vocabulary), never a float.
--
-- order_cards: what an order carries for upsells: the offer it was sold under
-- and the card on file as the merchant's gateway knows it: a gateway token,
-- brand, last four and expiry month/year. Never a card number (the API refuses
-- a token that looks like one) and never a CVC. upsell_of links an upsell order
-- to the order it was sold on.
--
-- upsell_purchases: one row per purchase attempt, claimed BEFORE the gateway
-- is called, keyed by (order_id, idempotency_key): a retry of the same request
-- finds the row and never charges twice; the gateway charge carries
-- gateway_key (ups_<purchase id>), so even a retry after a crash between the
-- charge and the row's end is one charge at the processor.

CREATE TABLE offers (
    id         TEXT PRIMARY KEY,
    catalog    TEXT NOT NULL,               -- JSON, prices in minor units
    updated_at INTEGER NOT NULL
);

CREATE TABLE order_cards (
    order_id       TEXT PRIMARY KEY REFERENCES orders (id),
    offer_id       TEXT,
    payment_token  TEXT,
    card_brand     TEXT,
    card_last4     TEXT CHECK (card_last4 IS NULL OR length(card_last4) = 4),
    card_exp_month INTEGER CHECK (card_exp_month IS NULL OR card_exp_month BETWEEN 1 AND 12),
    card_exp_year  INTEGER,
    upsell_of      TEXT REFERENCES orders (id)
);
CREATE INDEX order_cards_by_offer ON order_cards (offer_id);

CREATE TABLE upsell_purchases (
    id              TEXT PRIMARY KEY,        -- ups_…
    order_id        TEXT NOT NULL REFERENCES orders (id),
    idempotency_key TEXT NOT NULL,
    gateway_key     TEXT NOT NULL,
    upsell_id       TEXT NOT NULL,
    quantity        INTEGER NOT NULL CHECK (quantity >= 1),
    shipping_id     TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'failed')),
    transaction_id  TEXT,
    reason          TEXT,
    upsell_order_id TEXT REFERENCES orders (id),
    note            TEXT,                    -- CRM note, JSON
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    UNIQUE (order_id, idempotency_key)
);
