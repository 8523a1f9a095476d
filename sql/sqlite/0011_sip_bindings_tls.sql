-- Phones may register over TLS (issue #14): 'tls' joins the transports a
-- binding records. SQLite cannot alter a CHECK, so the table is rebuilt.
-- Keep in step with sql/postgres/0011_sip_bindings_tls.sql.

CREATE TABLE sip_bindings_new (
    agent_id    TEXT NOT NULL REFERENCES agents (id),
    contact     TEXT NOT NULL,
    source      TEXT NOT NULL,
    transport   TEXT NOT NULL CHECK (transport IN ('udp', 'tcp', 'tls')),
    call_id     TEXT NOT NULL,
    cseq        INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    user_agent  TEXT,
    PRIMARY KEY (agent_id, contact)
);
INSERT INTO sip_bindings_new
    SELECT agent_id, contact, source, transport, call_id, cseq, expires_at, updated_at, user_agent
    FROM sip_bindings;
DROP TABLE sip_bindings;
ALTER TABLE sip_bindings_new RENAME TO sip_bindings;
CREATE INDEX sip_bindings_by_expiry ON sip_bindings (expires_at);
