-- orderline schema, PostgreSQL dialect. Keep in step with sql/sqlite/0001_init.sql:
-- same tables, columns and constraints; only types and identity syntax differ.
-- Times are integer milliseconds since the Unix epoch (UTC) in both dialects,
-- so the same comparisons and keyset cursors work everywhere.
-- Money is exact decimal text as the merchant sent it; never a float.

CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    phone         TEXT NOT NULL,
    amount        TEXT NOT NULL,
    currency      TEXT NOT NULL,
    customer_kind TEXT NOT NULL CHECK (customer_kind IN ('new', 'returning', 'platform_returning')),
    items         TEXT NOT NULL,            -- JSON array as sent
    locale        TEXT,
    timezone      TEXT,                     -- IANA zone of the buyer, if known
    status        TEXT NOT NULL CHECK (status IN ('pending', 'calling', 'confirmed', 'cancelled', 'flagged')),
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX orders_by_created ON orders (created_at, id);
CREATE INDEX orders_by_status_created ON orders (status, created_at, id);

CREATE TABLE call_attempts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    attempt_no   BIGINT NOT NULL CHECK (attempt_no >= 1),
    state        TEXT NOT NULL CHECK (state IN ('due', 'live', 'done')),
    scheduled_at BIGINT NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    trunk        TEXT,
    sip_status   BIGINT,
    outcome      TEXT CHECK (outcome IN ('confirmed', 'cancelled', 'no_input', 'hangup', 'no_answer', 'busy', 'rejected', 'failed')),
    digits       TEXT,
    duration_ms  BIGINT,
    error        TEXT,
    UNIQUE (order_id, attempt_no)
);
CREATE INDEX call_attempts_due ON call_attempts (state, scheduled_at, id);

CREATE TABLE order_status_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    TEXT NOT NULL REFERENCES orders (id),
    from_status TEXT,
    to_status   TEXT NOT NULL,
    reason      TEXT NOT NULL,
    at          BIGINT NOT NULL
);
CREATE INDEX order_status_history_by_order ON order_status_history (order_id, id);

CREATE TABLE flag_decisions (
    order_id   TEXT PRIMARY KEY REFERENCES orders (id),
    decision   TEXT NOT NULL CHECK (decision IN ('confirm', 'cancel')),
    decided_by TEXT NOT NULL,
    note       TEXT,
    decided_at BIGINT NOT NULL
);

CREATE TABLE webhook_outbox (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- delivery order
    id              TEXT NOT NULL UNIQUE,   -- UUIDv7, stable across delivery retries
    event_type      TEXT NOT NULL,
    order_id        TEXT REFERENCES orders (id),
    payload         TEXT NOT NULL,          -- JSON object
    created_at      BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    delivered_at    BIGINT,
    last_error      TEXT
);
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at, seq) WHERE delivered_at IS NULL;
