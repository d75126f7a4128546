-- OpenID Connect: clients, codes, token families, refresh tokens, consents,
-- session participation, back-channel logout queue. SQLite dialect.

ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN phone_number TEXT;
ALTER TABLE users ADD COLUMN phone_number_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN address TEXT;
ALTER TABLE users ADD COLUMN locale TEXT;

CREATE TABLE clients (
    id                          BLOB PRIMARY KEY NOT NULL,
    org_id                      BLOB NOT NULL REFERENCES organizations(id),
    client_id                   TEXT NOT NULL UNIQUE,
    name                        TEXT NOT NULL,
    kind                        TEXT NOT NULL,
    application_type            TEXT NOT NULL,
    secret_hash                 BLOB,
    token_endpoint_auth_method  TEXT NOT NULL,
    redirect_uris               TEXT NOT NULL,
    post_logout_redirect_uris   TEXT NOT NULL,
    allowed_scopes              TEXT NOT NULL,
    grant_types                 TEXT NOT NULL,
    signing_alg                 TEXT NOT NULL,
    jwks                        TEXT,
    backchannel_logout_uri      TEXT,
    first_party                 BOOLEAN NOT NULL DEFAULT FALSE,
    disabled                    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at                  TEXT NOT NULL,
    updated_at                  TEXT NOT NULL
);

CREATE TABLE token_families (
    id            BLOB PRIMARY KEY NOT NULL,
    client_id     TEXT NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users(id),
    session_id    BLOB,
    scope         TEXT NOT NULL,
    auth_time     TEXT NOT NULL,
    amr           TEXT NOT NULL,
    acr           TEXT NOT NULL,
    offline       BOOLEAN NOT NULL,
    claims        TEXT,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    revoked_reason TEXT
);
CREATE INDEX token_families_session ON token_families(session_id);
CREATE INDEX token_families_user ON token_families(user_id);

CREATE TABLE authorization_codes (
    code_hash             BLOB PRIMARY KEY NOT NULL,
    family_id             BLOB NOT NULL,
    client_id             TEXT NOT NULL,
    user_id               BLOB NOT NULL REFERENCES users(id),
    session_id            BLOB NOT NULL,
    redirect_uri          TEXT NOT NULL,
    redirect_uri_given    BOOLEAN NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT,
    code_challenge        TEXT,
    claims                TEXT,
    auth_time             TEXT NOT NULL,
    amr                   TEXT NOT NULL,
    acr                   TEXT NOT NULL,
    created_at            TEXT NOT NULL,
    expires_at            TEXT NOT NULL,
    used_at               TEXT
);

CREATE TABLE refresh_tokens (
    id            BLOB PRIMARY KEY NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    family_id     BLOB NOT NULL REFERENCES token_families(id),
    client_id     TEXT NOT NULL,
    scope         TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    used_at       TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);

CREATE TABLE revoked_tokens (
    jti         TEXT PRIMARY KEY NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE used_assertions (
    jti         TEXT PRIMARY KEY NOT NULL,
    expires_at  TEXT NOT NULL
);

CREATE TABLE consents (
    user_id     BLOB NOT NULL REFERENCES users(id),
    client_id   TEXT NOT NULL,
    scope       TEXT NOT NULL,
    granted_at  TEXT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE session_clients (
    session_id  BLOB NOT NULL,
    client_id   TEXT NOT NULL,
    first_at    TEXT NOT NULL,
    PRIMARY KEY (session_id, client_id)
);

CREATE TABLE backchannel_queue (
    id              BLOB PRIMARY KEY NOT NULL,
    client_id       TEXT NOT NULL,
    uri             TEXT NOT NULL,
    logout_token    TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    claimed_until   TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    failed_at       TEXT,
    last_error      TEXT
);
CREATE INDEX backchannel_due ON backchannel_queue(delivered_at, failed_at, next_attempt_at);
