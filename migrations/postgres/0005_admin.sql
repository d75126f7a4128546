-- Admin API and account security controls. PostgreSQL dialect; keep in step with
-- migrations/sqlite/0005_admin.sql.

-- The user must change their password at the next sign-in (admin request).
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_change_requested_at TIMESTAMPTZ;
-- Native/desktop apps blocked for this user (browser sign-in keeps working).
ALTER TABLE users ADD COLUMN app_blocked_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN app_blocked_by TEXT;
-- A login id may be changed once.
ALTER TABLE users ADD COLUMN login_id_changed_at TIMESTAMPTZ;
-- Soft delete: restorable until purged.
ALTER TABLE users ADD COLUMN deleted_at TIMESTAMPTZ;
ALTER TABLE users ADD COLUMN status_before_delete TEXT;
-- Space-separated roles, e.g. `support`.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';

CREATE INDEX users_org_status ON users(org_id, status);

-- Bearer credentials for the admin API, stored as keyed hashes.
CREATE TABLE admin_tokens (
    id            UUID PRIMARY KEY NOT NULL,
    org_id        UUID NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    token_hash    BYTEA NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    last_used_at  TIMESTAMPTZ
);

-- Organisation policies (lockout, MFA requirement) as JSON over the config defaults.
CREATE TABLE org_policies (
    org_id      UUID PRIMARY KEY NOT NULL REFERENCES organizations(id),
    policy      TEXT NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
