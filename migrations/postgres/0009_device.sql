-- OAuth 2.0 Device Authorization Grant (RFC 8628), with an optional admin approval
-- step for clients flagged `requires_admin_approval`.
-- PostgreSQL dialect; keep in step with migrations/sqlite/0009_device.sql.
ALTER TABLE clients ADD COLUMN requires_admin_approval BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE device_authorizations (
    id                UUID PRIMARY KEY NOT NULL,
    org_id            UUID NOT NULL REFERENCES organizations(id),
    -- Keyed hashes: the device code (the device's secret) and the user code.
    device_code_hash  BYTEA NOT NULL UNIQUE,
    user_code_hash    BYTEA NOT NULL UNIQUE,
    client_id         TEXT NOT NULL,
    scope             TEXT NOT NULL,
    -- pending (waiting for the user) | awaiting_admin | approved | denied | used
    status            TEXT NOT NULL,
    user_id           UUID REFERENCES users(id),
    auth_time         TIMESTAMPTZ,
    amr               TEXT,
    acr               TEXT,
    interval_secs     BIGINT NOT NULL,
    last_polled_at    TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL,
    user_decided_at   TIMESTAMPTZ,
    admin_decided_at  TIMESTAMPTZ,
    admin_decided_by  TEXT,
    family_id         UUID
);
CREATE INDEX device_authorizations_status ON device_authorizations(org_id, status);
CREATE INDEX device_authorizations_expiry ON device_authorizations(expires_at);
