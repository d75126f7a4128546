-- OAuth 2.0 Device Authorization Grant (RFC 8628), with an optional admin approval
-- step for clients flagged `requires_admin_approval`.
-- SQLite dialect; keep in step with migrations/postgres/0009_device.sql.
ALTER TABLE clients ADD COLUMN requires_admin_approval BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE device_authorizations (
    id                BLOB PRIMARY KEY NOT NULL,
    org_id            BLOB NOT NULL REFERENCES organizations(id),
    -- Keyed hashes: the device code (the device's secret) and the user code.
    device_code_hash  BLOB NOT NULL UNIQUE,
    user_code_hash    BLOB NOT NULL UNIQUE,
    client_id         TEXT NOT NULL,
    scope             TEXT NOT NULL,
    -- pending (waiting for the user) | awaiting_admin | approved | denied | used
    status            TEXT NOT NULL,
    user_id           BLOB REFERENCES users(id),
    auth_time         TEXT,
    amr               TEXT,
    acr               TEXT,
    interval_secs     BIGINT NOT NULL,
    last_polled_at    TEXT,
    created_at        TEXT NOT NULL,
    expires_at        TEXT NOT NULL,
    user_decided_at   TEXT,
    admin_decided_at  TEXT,
    admin_decided_by  TEXT,
    family_id         BLOB
);
CREATE INDEX device_authorizations_status ON device_authorizations(org_id, status);
CREATE INDEX device_authorizations_expiry ON device_authorizations(expires_at);
