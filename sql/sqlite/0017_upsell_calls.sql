-- Upsell call modes (issue #15), SQLite dialect.
-- Keep in step with the other backend's 0017_upsell_calls.sql.
--
-- dialer_upsell_done: orders an upsell call mode (kind = "upsell") has worked
-- to an end: an agent's outcome button (upsold, declined, an extra) or the
-- mode's attempt cap (outcome no_answer). An upsell mode never changes the
-- order's status, so the order stays paid/shipped and its status still ticks
-- it into the mode; this row is what keeps the daemon's re-sync after a
-- restart or a rule change from putting it back and calling the customer a
-- second time. Written in the same transaction as the move that deleted the
-- order's dialer_queue row.

CREATE TABLE dialer_upsell_done (
    order_id TEXT PRIMARY KEY REFERENCES orders (id),
    outcome  TEXT NOT NULL,
    done_at  INTEGER NOT NULL
);
