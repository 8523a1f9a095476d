-- Mode settings and status ticks changed over the API (issue #11,
-- PUT /v1/dialer/modes/{id} and PUT /v1/dialer/statuses/{name}): the config
-- seeds the rules, these rows are laid over it at every start, so a restart
-- keeps the merchant's changes (docs/call-modes.md).

-- One accumulated patch per mode: a JSON object of ModeSettings keys
-- (pacing, priority, put_off, ...); keys absent keep the config's value.
CREATE TABLE dialer_mode_settings (
    mode       TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- A status's tick for one project: mode NULL means "no tick" (the status
-- takes that project's orders out of dial-up).
CREATE TABLE dialer_status_ticks (
    status     TEXT NOT NULL,
    project    TEXT NOT NULL,
    mode       TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (status, project)
);
