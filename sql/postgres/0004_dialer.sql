-- Call modes (issue #11), postgres dialect. Keep in step with sql/sqlite/0004_dialer.sql.
-- Version 0003 is taken by another branch (SIP bindings); this one is 0004.
--
-- orders.project: the shop/brand an order belongs to (modes are per project).
-- orders.dialer_status: the merchant's configured status ([[dialer.statuses]])
-- when the order is in one; NULL means the built-in status column says it all.
-- The built-in column keeps its CHECK so the robo-call's states stay exact.
ALTER TABLE orders ADD COLUMN project TEXT NOT NULL DEFAULT 'default';
ALTER TABLE orders ADD COLUMN dialer_status TEXT;

-- One row per order in dial-up: orderline_dialer::modes::QueueRow. The daemon
-- writes a row together with the order's status in one transaction and
-- rebuilds its DialQueue from these rows at start.
CREATE TABLE dialer_queue (
    order_id        TEXT PRIMARY KEY REFERENCES orders (id),
    project         TEXT NOT NULL,
    timezone        TEXT,
    created_at      BIGINT NOT NULL,
    mode            TEXT NOT NULL,
    subqueue        TEXT NOT NULL CHECK (subqueue IN ('unprocessed', 'no_answer', 'callback')),
    due_at          BIGINT NOT NULL,
    attempts        INTEGER NOT NULL CHECK (attempts >= 0),
    callback_agent  TEXT,
    in_flight_agent TEXT,
    CHECK (callback_agent IS NULL OR subqueue = 'callback')
);
CREATE INDEX dialer_queue_by_mode ON dialer_queue (mode, subqueue, due_at);

-- Operator access set over the API (PUT /v1/dialer/modes/{id}/agents): it
-- replaces the config's agents list for that mode, across restarts.
-- agents is a JSON array of agent ids.
CREATE TABLE dialer_mode_access (
    mode       TEXT PRIMARY KEY,
    agents     TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
