-- Admin API and account security controls. SQLite dialect; keep in step with
-- migrations/postgres/0005_admin.sql.

-- The user must change their password at the next sign-in (admin request).
ALTER TABLE users ADD COLUMN password_change_required BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_change_requested_at TEXT;
-- Native/desktop apps blocked for this user (browser sign-in keeps working).
ALTER TABLE users ADD COLUMN app_blocked_at TEXT;
ALTER TABLE users ADD COLUMN app_blocked_by TEXT;
-- A login id may be changed once.
ALTER TABLE users ADD COLUMN login_id_changed_at TEXT;
-- Soft delete: restorable until purged.
ALTER TABLE users ADD COLUMN deleted_at TEXT;
ALTER TABLE users ADD COLUMN status_before_delete TEXT;
-- Space-separated roles, e.g. `support`.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';

CREATE INDEX users_org_status ON users(org_id, status);

-- Bearer credentials for the admin API, stored as keyed hashes.
CREATE TABLE admin_tokens (
    id            BLOB PRIMARY KEY NOT NULL,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    name          TEXT NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    scopes        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT,
    revoked_at    TEXT,
    last_used_at  TEXT
);

-- Organisation policies (lockout, MFA requirement) as JSON over the config defaults.
CREATE TABLE org_policies (
    org_id      BLOB PRIMARY KEY NOT NULL REFERENCES organizations(id),
    policy      TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
