-- Two-step sign-in (TOTP, backup codes, half-finished sign-ins, policy grace) and the
-- append-only security event log. SQLite dialect; keep in step with
-- migrations/postgres/0003_mfa.sql. ids: 16-byte BLOB; times: UTC RFC 3339 TEXT.

-- When the session's user last re-entered their password (sensitive account changes).
ALTER TABLE sessions ADD COLUMN reauth_at TEXT;

-- A user's confirmed TOTP authenticator. One per user; MFA is on while a row exists.
-- secret_enc = 0x01 ‖ nonce ‖ AES-256-GCM(secret, AD = user id) ‖ tag.
CREATE TABLE mfa_totp (
    user_id         BLOB PRIMARY KEY NOT NULL REFERENCES users(id),
    secret_enc      BLOB NOT NULL,
    enrolled_at     TEXT NOT NULL,
    -- RFC 6238 time step last accepted: only a later step is accepted (no replay).
    last_used_step  BIGINT NOT NULL,
    last_used_at    TEXT
);

-- A key shown on an enrolment page, not yet confirmed with a code. Opening a new
-- enrolment page replaces the user's earlier ones.
CREATE TABLE mfa_pending (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id),
    session_id  BLOB NOT NULL REFERENCES sessions(id),
    secret_enc  BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX mfa_pending_user ON mfa_pending(user_id);

-- Single-use backup codes, only as keyed hashes.
CREATE TABLE mfa_backup_codes (
    id          BLOB PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL REFERENCES users(id),
    code_hash   BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    used_at     TEXT
);
CREATE UNIQUE INDEX mfa_backup_codes_user_hash ON mfa_backup_codes(user_id, code_hash);

-- Half-finished sign-ins: password done, second factor pending. The browser holds a
-- random token in a cookie; the row holds its keyed hash. session_id is set for a
-- step-up of an existing session.
CREATE TABLE mfa_challenges (
    id          BLOB PRIMARY KEY NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    user_id     BLOB NOT NULL REFERENCES users(id),
    session_id  BLOB,
    login       TEXT NOT NULL,
    return_to   TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_at);

-- mfa.required with a grace period: when the policy first asked the user to enrol.
CREATE TABLE mfa_grace (
    user_id     BLOB PRIMARY KEY NOT NULL REFERENCES users(id),
    started_at  TEXT NOT NULL
);

-- Security events (append-only): who did what to whom, when and from where.
CREATE TABLE audit_events (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES organizations(id),
    actor_kind       TEXT NOT NULL,   -- user | admin | system | support
    actor_id         BLOB,
    subject_user_id  BLOB,            -- no foreign key: events outlive purged users
    action           TEXT NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    details          TEXT NOT NULL,   -- JSON object
    at               TEXT NOT NULL
);
CREATE INDEX audit_events_subject_at ON audit_events(subject_user_id, at);
CREATE INDEX audit_events_org_at ON audit_events(org_id, at);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
