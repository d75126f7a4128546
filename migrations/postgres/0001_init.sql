-- Monban schema, PostgreSQL dialect. Keep in step with migrations/sqlite/0001_init.sql.
-- ids: UUID; times: TIMESTAMPTZ (UTC); secrets only as hashes.

CREATE TABLE organizations (
    id          UUID PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE users (
    id                  UUID PRIMARY KEY NOT NULL,
    org_id              UUID NOT NULL REFERENCES organizations(id),
    email               TEXT NOT NULL,
    login_id            TEXT,
    display_name        TEXT NOT NULL,
    status              TEXT NOT NULL,
    password_hash       TEXT,
    password_changed_at TIMESTAMPTZ,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    lock_count          BIGINT NOT NULL DEFAULT 0,
    locked_until        TIMESTAMPTZ,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX users_org_email ON users(org_id, email);
CREATE UNIQUE INDEX users_org_login_id ON users(org_id, login_id);

CREATE TABLE sessions (
    id            UUID PRIMARY KEY NOT NULL,
    token_hash    BYTEA NOT NULL UNIQUE,
    org_id        UUID NOT NULL REFERENCES organizations(id),
    user_id       UUID NOT NULL REFERENCES users(id),
    created_at    TIMESTAMPTZ NOT NULL,
    last_seen_at  TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL,
    auth_time     TIMESTAMPTZ NOT NULL,
    amr           TEXT NOT NULL,
    acr           TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    ended_at      TIMESTAMPTZ,
    end_reason    TEXT
);
CREATE INDEX sessions_user ON sessions(user_id, ended_at);

CREATE TABLE login_events (
    id          UUID PRIMARY KEY NOT NULL,
    org_id      UUID NOT NULL REFERENCES organizations(id),
    user_id     UUID REFERENCES users(id),
    login       TEXT NOT NULL,
    result      TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    session_id  UUID,
    at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX login_events_user_at ON login_events(user_id, at);
CREATE INDEX login_events_at ON login_events(at);
