-- The confirmation script's order fields (issue #13) and issue #10's free
-- text. Keep sqlite/ and postgres/ in step (same columns; the CHECK change
-- below differs by dialect).
-- Version 0005 is left to a parallel branch; this one is 0006.
--
-- store_name: the shop's display name spoken in the greeting.
-- order_number: the reference the customer knows (the API fills in the id).
-- delivery_fee: exact decimal text like amount, already included in amount.
-- customer_name, address, notes: personal data, never logged at info level.
-- prep_error: why the call's dynamic text (TTS) could not be prepared.
ALTER TABLE orders ADD COLUMN store_name TEXT;
ALTER TABLE orders ADD COLUMN order_number TEXT;
ALTER TABLE orders ADD COLUMN delivery_fee TEXT;
ALTER TABLE orders ADD COLUMN customer_name TEXT;
ALTER TABLE orders ADD COLUMN address TEXT;
ALTER TABLE orders ADD COLUMN notes TEXT;
ALTER TABLE orders ADD COLUMN prep_error TEXT;

-- Outcome `operator` (press 3: the customer asked for a person). SQLite
-- cannot change a CHECK in place: the table is rebuilt with the same rows
-- and ids (nothing references call_attempts).
CREATE TABLE call_attempts_0006 (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id     TEXT NOT NULL REFERENCES orders (id),
    attempt_no   INTEGER NOT NULL CHECK (attempt_no >= 1),
    state        TEXT NOT NULL CHECK (state IN ('due', 'live', 'done')),
    scheduled_at INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    trunk        TEXT,
    sip_status   INTEGER,
    outcome      TEXT CHECK (outcome IN ('confirmed', 'cancelled', 'no_input', 'hangup', 'no_answer', 'busy', 'rejected', 'failed', 'operator')),
    digits       TEXT,
    duration_ms  INTEGER,
    error        TEXT,
    UNIQUE (order_id, attempt_no)
);
INSERT INTO call_attempts_0006 (id, order_id, attempt_no, state, scheduled_at, started_at, finished_at, trunk, sip_status, outcome, digits, duration_ms, error)
    SELECT id, order_id, attempt_no, state, scheduled_at, started_at, finished_at, trunk, sip_status, outcome, digits, duration_ms, error FROM call_attempts;
DROP TABLE call_attempts;
ALTER TABLE call_attempts_0006 RENAME TO call_attempts;
CREATE INDEX call_attempts_due ON call_attempts (state, scheduled_at, id);
