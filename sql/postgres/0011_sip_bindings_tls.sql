-- Phones may register over TLS (issue #14): 'tls' joins the transports a
-- binding records. Keep in step with sql/sqlite/0011_sip_bindings_tls.sql.

ALTER TABLE sip_bindings DROP CONSTRAINT sip_bindings_transport_check;
ALTER TABLE sip_bindings ADD CONSTRAINT sip_bindings_transport_check
    CHECK (transport IN ('udp', 'tcp', 'tls'));
