-- Registered contacts of agents' phones (RFC 3261 §10, issue #10), SQLite dialect.
-- Keep in step with sql/postgres/0003_sip_bindings.sql.
-- Times are integer milliseconds since the Unix epoch (UTC), as in 0001.
-- No password and no HA1 here: config agents' HA1 is computed at start.

CREATE TABLE sip_bindings (
    agent_id    TEXT NOT NULL REFERENCES agents (id),
    contact     TEXT NOT NULL,              -- the Contact URI as registered
    source      TEXT NOT NULL,              -- ip:port the REGISTER came from (NAT: where calls go)
    transport   TEXT NOT NULL CHECK (transport IN ('udp', 'tcp')),
    call_id     TEXT NOT NULL,              -- RFC 3261 §10.3 step 7
    cseq        INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    user_agent  TEXT,
    PRIMARY KEY (agent_id, contact)
);
CREATE INDEX sip_bindings_by_expiry ON sip_bindings (expires_at);
