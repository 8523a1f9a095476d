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

-- Outcome `operator` (press 3: the customer asked for a person).
ALTER TABLE call_attempts DROP CONSTRAINT IF EXISTS call_attempts_outcome_check;
ALTER TABLE call_attempts ADD CONSTRAINT call_attempts_outcome_check
    CHECK (outcome IN ('confirmed', 'cancelled', 'no_input', 'hangup', 'no_answer', 'busy', 'rejected', 'failed', 'operator'));
