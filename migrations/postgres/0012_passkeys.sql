-- Passkeys and security keys (WebAuthn) and their half-finished ceremonies.
-- PostgreSQL dialect; keep in step with migrations/sqlite/0012_passkeys.sql.

-- A user's registered credential. credential: webauthn-rs's Passkey as JSON (public
-- key, algorithm, counter, backup flags); no secret is stored. sign_count is the
-- authenticator's signature counter, compared and raised in one conditional UPDATE
-- at each use (a counter that goes back is a cloned authenticator).
CREATE TABLE passkeys (
    id              UUID PRIMARY KEY NOT NULL,
    user_id         UUID NOT NULL REFERENCES users(id),
    credential_id   BYTEA NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    -- RFC 8176: hwk (device-bound key) or swk (synced, backup-eligible passkey).
    kind            TEXT NOT NULL,
    aaguid          TEXT,
    credential      TEXT NOT NULL,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    last_used_at    TIMESTAMPTZ
);
CREATE INDEX passkeys_user ON passkeys(user_id);

-- A registration or authentication started and not yet finished: single-use (taken
-- by one DELETE … RETURNING), bound to the browser by a cookie whose keyed hash is
-- token_hash, and to the session (registration) or half-finished sign-in (second
-- step) that started it.
CREATE TABLE webauthn_ceremonies (
    id                UUID PRIMARY KEY NOT NULL,
    token_hash        BYTEA NOT NULL UNIQUE,
    purpose           TEXT NOT NULL,   -- register | second_step | passwordless
    user_id           UUID,
    session_id        UUID,
    mfa_challenge_id  UUID,
    return_to         TEXT,
    state             TEXT NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    expires_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies(expires_at);
