-- Two-step sign-in (TOTP, backup codes, half-finished sign-ins, policy grace) and the
-- append-only security event log. PostgreSQL dialect; keep in step with
-- migrations/sqlite/0003_mfa.sql. ids: UUID; times: TIMESTAMPTZ (UTC).

-- When the session's user last re-entered their password (sensitive account changes).
ALTER TABLE sessions ADD COLUMN reauth_at TIMESTAMPTZ;

-- A user's confirmed TOTP authenticator. One per user; MFA is on while a row exists.
-- secret_enc = 0x01 ‖ nonce ‖ AES-256-GCM(secret, AD = user id) ‖ tag.
CREATE TABLE mfa_totp (
    user_id         UUID PRIMARY KEY NOT NULL REFERENCES users(id),
    secret_enc      BYTEA NOT NULL,
    enrolled_at     TIMESTAMPTZ NOT NULL,
    -- RFC 6238 time step last accepted: only a later step is accepted (no replay).
    last_used_step  BIGINT NOT NULL,
    last_used_at    TIMESTAMPTZ
);

-- A key shown on an enrolment page, not yet confirmed with a code. Opening a new
-- enrolment page replaces the user's earlier ones.
CREATE TABLE mfa_pending (
    id          UUID PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users(id),
    session_id  UUID NOT NULL REFERENCES sessions(id),
    secret_enc  BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX mfa_pending_user ON mfa_pending(user_id);

-- Single-use backup codes, only as keyed hashes.
CREATE TABLE mfa_backup_codes (
    id          UUID PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users(id),
    code_hash   BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ
);
CREATE UNIQUE INDEX mfa_backup_codes_user_hash ON mfa_backup_codes(user_id, code_hash);

-- Half-finished sign-ins: password done, second factor pending. The browser holds a
-- random token in a cookie; the row holds its keyed hash. session_id is set for a
-- step-up of an existing session.
CREATE TABLE mfa_challenges (
    id          UUID PRIMARY KEY NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    user_id     UUID NOT NULL REFERENCES users(id),
    session_id  UUID,
    login       TEXT NOT NULL,
    return_to   TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX mfa_challenges_expires ON mfa_challenges(expires_at);

-- mfa.required with a grace period: when the policy first asked the user to enrol.
CREATE TABLE mfa_grace (
    user_id     UUID PRIMARY KEY NOT NULL REFERENCES users(id),
    started_at  TIMESTAMPTZ NOT NULL
);

-- Security events (append-only): who did what to whom, when and from where.
CREATE TABLE audit_events (
    id               UUID PRIMARY KEY NOT NULL,
    org_id           UUID NOT NULL REFERENCES organizations(id),
    actor_kind       TEXT NOT NULL,   -- user | admin | system | support
    actor_id         UUID,
    subject_user_id  UUID,            -- no foreign key: events outlive purged users
    action           TEXT NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    details          TEXT NOT NULL,   -- JSON object
    at               TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_events_subject_at ON audit_events(subject_user_id, at);
CREATE INDEX audit_events_org_at ON audit_events(org_id, at);
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;
CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
