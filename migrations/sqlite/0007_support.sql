-- Support grants: time-boxed, scoped access to a user's account by support staff,
-- issued by the user (or approved by an admin). SQLite dialect; keep in step with
-- migrations/postgres/0007_support.sql.

CREATE TABLE support_grants (
    id           BLOB PRIMARY KEY NOT NULL,
    org_id       BLOB NOT NULL REFERENCES organizations(id),
    user_id      BLOB NOT NULL REFERENCES users(id),
    token_hash   BLOB NOT NULL UNIQUE,
    -- user | admin
    source       TEXT NOT NULL,
    readonly     BOOLEAN NOT NULL,
    -- JSON array of client ids the grant covers; empty: every client.
    client_ids   TEXT NOT NULL,
    -- Where the engineer lands (a local path or a registered client's URL).
    target       TEXT,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    revoked_at   TEXT,
    redeemed_at  TEXT,
    redeemed_by  BLOB
);
CREATE INDEX support_grants_user_created ON support_grants(user_id, created_at);

-- An impersonation session: the support engineer acting as the session's user.
ALTER TABLE sessions ADD COLUMN impersonator_id BLOB;
ALTER TABLE sessions ADD COLUMN support_grant_id BLOB;
-- Tokens minted under a grant carry act.sub and the grant id.
ALTER TABLE token_families ADD COLUMN impersonator_id BLOB;
ALTER TABLE token_families ADD COLUMN support_grant_id BLOB;
