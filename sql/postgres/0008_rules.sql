-- The campaign rules set over the API (PUT /v1/rules, issue #13), PostgreSQL dialect.
-- Keep in step with sql/sqlite/0008_rules.sql. Versions 0005-0007 belong to
-- other branches; this one is 0008.
--
-- One row at most (id = 1): the `campaign` object of the last accepted PUT, as
-- JSON. At start it replaces the config file's [campaign]: the file seeds the
-- rules, the stored version wins. Times are integer ms since the Unix epoch.
CREATE TABLE campaign_rules (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    campaign   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The webhook deliverer hands out only each order's oldest undelivered event
-- (one order's events in order, others concurrently): this finds "an earlier
-- undelivered event of the same order" without scanning the backlog.
CREATE INDEX webhook_outbox_order_pending ON webhook_outbox (order_id, seq) WHERE delivered_at IS NULL;

-- Inbound callbacks (issue #13): a customer calling back about an open order
-- is recorded as a call attempt of kind 'inbound'. Inbound attempts are
-- numbered from 1001 so they never take the number of a robo-call the
-- scheduler will place (UNIQUE (order_id, attempt_no)); the re-attempt cap
-- counts robo-calls only.
ALTER TABLE call_attempts ADD COLUMN kind TEXT NOT NULL DEFAULT 'outbound' CHECK (kind IN ('outbound', 'inbound'));
