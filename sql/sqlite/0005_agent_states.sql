-- Agent states and call dispositions (issue #10), sqlite dialect.
-- Keep in step with sql/postgres/0005_agent_states.sql.
-- Times are integer milliseconds since the Unix epoch (UTC), as in 0001.

-- The agent log: one row per transition of orderline_dialer::agents::AgentMachine.
-- The daemon rebuilds each agent's state from its last row at start, and the
-- per-day seconds (paused, waiting, talking, wrap-up) are computed from the rows.
CREATE TABLE agent_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_id    TEXT NOT NULL REFERENCES agents (id),
    from_state  TEXT NOT NULL CHECK (from_state IN ('offline', 'connecting', 'paused', 'ready', 'reserved', 'in_call', 'wrap_up')),
    to_state    TEXT NOT NULL CHECK (to_state IN ('offline', 'connecting', 'paused', 'ready', 'reserved', 'in_call', 'wrap_up')),
    pause_code  TEXT,                       -- the new state's pause code (paused only)
    call_id     TEXT,                       -- the call the transition is about, if any
    reason      TEXT NOT NULL,              -- orderline_dialer::agents::Reason, e.g. wrap_up_timeout
    at          INTEGER NOT NULL,
    CHECK (pause_code IS NULL OR to_state = 'paused')
);
CREATE INDEX agent_log_by_agent ON agent_log (agent_id, at, seq);

-- The agent's disposition of a call, posted in wrap-up
-- (POST /v1/calls/{id}/disposition). callback_at: when to call back, if asked.
ALTER TABLE agent_calls ADD COLUMN disposition TEXT;
ALTER TABLE agent_calls ADD COLUMN callback_at INTEGER;
ALTER TABLE agent_calls ADD COLUMN disposition_note TEXT;
ALTER TABLE agent_calls ADD COLUMN disposed_at INTEGER;

-- Agents created over the API that register their phone (POST /v1/agents
-- with sip_user + sip_password): only the digest HA1 hashes are kept, never
-- the password (RFC 7616 §3.4.2), for the realm they were computed in (a
-- changed [sip] domain makes them unusable; the daemon then skips them).
-- Config agents keep their password in the config and are not stored here.
ALTER TABLE agents ADD COLUMN sip_user TEXT;
ALTER TABLE agents ADD COLUMN sip_realm TEXT;
ALTER TABLE agents ADD COLUMN ha1_md5 TEXT;
ALTER TABLE agents ADD COLUMN ha1_sha256 TEXT;
CREATE UNIQUE INDEX agents_by_sip_user ON agents (sip_user);
