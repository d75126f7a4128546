-- Monban schema, SQLite dialect. Keep in step with migrations/postgres/0001_init.sql.
-- ids: UUID as 16-byte BLOB; times: UTC RFC 3339 TEXT; secrets only as hashes.

CREATE TABLE organizations (
    id          BLOB PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

CREATE TABLE users (
    id                  BLOB PRIMARY KEY NOT NULL,
    org_id              BLOB NOT NULL REFERENCES organizations(id),
    email               TEXT NOT NULL,
    login_id            TEXT,
    display_name        TEXT NOT NULL,
    status              TEXT NOT NULL,
    password_hash       TEXT,
    password_changed_at TEXT,
    failed_logins       BIGINT NOT NULL DEFAULT 0,
    lock_count          BIGINT NOT NULL DEFAULT 0,
    locked_until        TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL
);
CREATE UNIQUE INDEX users_org_email ON users(org_id, email);
CREATE UNIQUE INDEX users_org_login_id ON users(org_id, login_id);

CREATE TABLE sessions (
    id            BLOB PRIMARY KEY NOT NULL,
    token_hash    BLOB NOT NULL UNIQUE,
    org_id        BLOB NOT NULL REFERENCES organizations(id),
    user_id       BLOB NOT NULL REFERENCES users(id),
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    auth_time     TEXT NOT NULL,
    amr           TEXT NOT NULL,
    acr           TEXT NOT NULL,
    ip            TEXT,
    user_agent    TEXT,
    ended_at      TEXT,
    end_reason    TEXT
);
CREATE INDEX sessions_user ON sessions(user_id, ended_at);

CREATE TABLE login_events (
    id          BLOB PRIMARY KEY NOT NULL,
    org_id      BLOB NOT NULL REFERENCES organizations(id),
    user_id     BLOB REFERENCES users(id),
    login       TEXT NOT NULL,
    result      TEXT NOT NULL,
    ip          TEXT,
    user_agent  TEXT,
    session_id  BLOB,
    at          TEXT NOT NULL
);
CREATE INDEX login_events_user_at ON login_events(user_id, at);
CREATE INDEX login_events_at ON login_events(at);
