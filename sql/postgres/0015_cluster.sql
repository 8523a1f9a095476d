-- Several `orderline serve` nodes on one PostgreSQL (issue #16). A live
-- attempt belongs to the node that claimed it (`node`) for as long as its
-- lease lasts (`lease_until`, Unix ms): the owner renews it on a tick, and
-- any node may close as interrupted a live row whose lease ran out (its
-- owner died). Without `[cluster]` rows are claimed by node 'local' with no
-- lease, and a start closes every live row, as before.
-- Keep in step with the other backend's 0015_cluster.sql.
ALTER TABLE call_attempts ADD COLUMN node TEXT;
ALTER TABLE call_attempts ADD COLUMN lease_until BIGINT;
CREATE INDEX call_attempts_lease ON call_attempts (lease_until) WHERE state = 'live';

-- Which node leased a webhook event for delivery (its lease is
-- `next_attempt_at`, moved forward by the claim as before).
ALTER TABLE webhook_outbox ADD COLUMN node TEXT;

-- One row per node: its heartbeat tells the others it is alive, so each
-- takes floor(limit / live nodes) of a trunk's channels and call rate.
CREATE TABLE cluster_nodes (
    node         TEXT PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    pid          BIGINT NOT NULL
);
