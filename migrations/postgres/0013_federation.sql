-- Sign-in through upstream OpenID providers (identity brokering), the links between
-- upstream accounts and users, and the half-finished upstream sign-ins.
-- PostgreSQL dialect; keep in step with migrations/sqlite/0013_federation.sql.

-- An upstream OpenID provider. client_secret_enc: AES-256-GCM under the master key
-- with the provider id as associated data (never stored in the clear).
CREATE TABLE identity_providers (
    id                      UUID PRIMARY KEY NOT NULL,
    org_id                  UUID NOT NULL REFERENCES organizations(id),
    slug                    TEXT NOT NULL,
    display_name            TEXT NOT NULL,
    issuer                  TEXT NOT NULL,
    client_id               TEXT NOT NULL,
    client_secret_enc       BYTEA NOT NULL,
    scopes                  TEXT NOT NULL,
    claim_email             TEXT NOT NULL,
    claim_name              TEXT NOT NULL,
    create_users            BOOLEAN NOT NULL,
    link_by_verified_email  BOOLEAN NOT NULL,
    require_local_mfa       BOOLEAN NOT NULL,
    disabled                BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL,
    UNIQUE (org_id, slug)
);

-- An upstream account linked to a user: one per (provider, upstream subject), and one
-- per user and provider.
CREATE TABLE linked_logins (
    id            UUID PRIMARY KEY NOT NULL,
    user_id       UUID NOT NULL REFERENCES users(id),
    provider_id   UUID NOT NULL REFERENCES identity_providers(id),
    subject       TEXT NOT NULL,
    email         TEXT,
    linked_at     TIMESTAMPTZ NOT NULL,
    last_used_at  TIMESTAMPTZ,
    UNIQUE (provider_id, subject),
    UNIQUE (user_id, provider_id)
);

-- A sign-in sent to an upstream provider and not yet back: single-use, bound to the
-- browser by a cookie whose keyed hash is token_hash; state, nonce and the PKCE
-- verifier are checked at the callback.
CREATE TABLE federation_states (
    id             UUID PRIMARY KEY NOT NULL,
    token_hash     BYTEA NOT NULL UNIQUE,
    provider_id    UUID NOT NULL,
    state          TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    pkce_verifier  TEXT NOT NULL,
    return_to      TEXT,
    -- Linking from the account page: the user and session that asked.
    user_id        UUID,
    session_id     UUID,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX federation_states_expires ON federation_states(expires_at);

-- Which provider a session came through (unlinking ends those sessions).
ALTER TABLE sessions ADD COLUMN federated_via UUID;
