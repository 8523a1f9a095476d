-- Trial orders (issue #15), SQLite dialect.
-- Keep in step with the other backend's 0016_trials.sql.
--
-- trials: an order's trial terms, written in the order's own insert
-- transaction: the days, the product and shipping-and-handling amounts in the
-- currency's minor units (migration 0009's money vocabulary, never a float),
-- the customer's IANA zone the days are counted in, the placing instant, and
-- when the one extension was taken (NULL: not yet; the UPDATE that sets it is
-- guarded by IS NULL, so two requests cannot both extend).
--
-- trial_steps: the sales workflow's rows, as orderline_trial::schedule laid
-- them out. A step is run when due and its row written back guarded by
-- (status = 'waiting', attempts = what the runner read), in one transaction
-- with its webhook outbox row: a step runs once, and a notification is queued
-- once. A charge try carries the idempotency key trial_<order>_<seq>_<try>, so
-- a crash between the charge and the row's write is one charge at the gateway.
-- Never card data: results hold a transaction id or a reason code.

CREATE TABLE trials (
    order_id       TEXT PRIMARY KEY REFERENCES orders (id),
    days           INTEGER NOT NULL CHECK (days BETWEEN 1 AND 90),
    product_minor  INTEGER NOT NULL CHECK (product_minor >= 0),
    shipping_minor INTEGER NOT NULL CHECK (shipping_minor >= 0),
    currency       TEXT NOT NULL,
    timezone       TEXT NOT NULL,
    placed_at      INTEGER NOT NULL,
    extended_at    INTEGER
);

CREATE TABLE trial_steps (
    order_id     TEXT NOT NULL REFERENCES trials (order_id),
    seq          INTEGER NOT NULL CHECK (seq >= 1),
    step         TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('waiting', 'completed', 'failed')),
    scheduled_at INTEGER NOT NULL,
    executed_at  INTEGER,
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    result       TEXT,
    PRIMARY KEY (order_id, seq)
);
-- The runner's poll: waiting rows by due time.
CREATE INDEX trial_steps_due ON trial_steps (scheduled_at) WHERE status = 'waiting';
