-- An agent's phone may protect its media with SDES-SRTP (issue #14):
-- `off`, `optional` or `required`, for agents made through the API as for
-- `[[agents]] srtp` (config agents are written here at every start).
-- Keep in step with the other backend's 0012_agents_srtp.sql.
ALTER TABLE agents ADD COLUMN srtp TEXT NOT NULL DEFAULT 'off'
    CHECK (srtp IN ('off', 'optional', 'required'));
