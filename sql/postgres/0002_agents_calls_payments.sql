-- Agents, agent-bridged calls and keypad payments (issue #5), PostgreSQL dialect.
-- Keep in step with sql/sqlite/0002_agents_calls_payments.sql.
-- Times are integer milliseconds since the Unix epoch (UTC), as in 0001.
-- Card data has no column here, by design: a payment keeps brand, last four,
-- transaction id and a CRM note; never the card number, expiry, CVC or postal code.

CREATE TABLE agents (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    sip_uri     TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('config', 'api')),
    token_hash  TEXT UNIQUE,                -- SHA-256 hex of the agent's API token; never the token
    removed_at  BIGINT,                    -- a config agent no longer in the config
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE agent_calls (
    id                TEXT PRIMARY KEY,     -- call_…
    agent_id          TEXT NOT NULL REFERENCES agents (id),
    agent_name        TEXT NOT NULL,        -- as it was when the call was placed
    callee            TEXT NOT NULL,        -- the customer's number ("to" in the API)
    order_id          TEXT,                 -- the merchant's order, if given (not necessarily in orders)
    status            TEXT NOT NULL CHECK (status IN ('dialing_agent', 'dialing_customer', 'bridged', 'ended', 'failed')),
    agent_cause       TEXT,
    customer_cause    TEXT,
    ended_by          TEXT CHECK (ended_by IN ('agent', 'customer', 'api', 'local')),
    created_at        BIGINT NOT NULL,
    agent_answered_at BIGINT,
    bridged_at        BIGINT,
    ended_at          BIGINT
);
CREATE INDEX agent_calls_by_created ON agent_calls (created_at, id);
CREATE INDEX agent_calls_by_agent ON agent_calls (agent_id, created_at, id);
CREATE INDEX agent_calls_by_status ON agent_calls (status, created_at, id);

CREATE TABLE payments (
    id             TEXT PRIMARY KEY,        -- pay_…
    call_id        TEXT NOT NULL REFERENCES agent_calls (id),
    agent_id       TEXT NOT NULL REFERENCES agents (id),
    item           TEXT NOT NULL,
    amount_minor   BIGINT NOT NULL CHECK (amount_minor > 0),  -- 2500.00 is 250000
    currency       TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'in_progress', 'succeeded', 'failed', 'cancelled')),
    brand          TEXT,
    last_four      TEXT CHECK (last_four IS NULL OR length(last_four) = 4),
    transaction_id TEXT,
    -- the gateway's card token (kept for refunds and reconciliation; never shown by the API)
    gateway_token  TEXT,
    reason         TEXT,
    note           TEXT,                    -- CRM note, a JSON object, written when the payment ends
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX payments_by_call ON payments (call_id, created_at, id);
-- At most one active payment per call, even under concurrent requests.
CREATE UNIQUE INDEX payments_one_active ON payments (call_id) WHERE status IN ('pending', 'in_progress');
CREATE INDEX payments_active ON payments (status) WHERE status IN ('pending', 'in_progress');

CREATE TABLE payment_steps (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    step       TEXT NOT NULL CHECK (step IN ('amount', 'card_number', 'expiry', 'cvc', 'postal_code')),
    status     TEXT NOT NULL CHECK (status IN ('entering', 'completed', 're-entering', 'failed')),
    reason     TEXT,
    at         BIGINT NOT NULL
);
CREATE INDEX payment_steps_by_payment ON payment_steps (payment_id, seq);
