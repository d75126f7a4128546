-- Admin-approved support access: support staff ask, an admin approves or denies.
-- SQLite dialect; keep in step with migrations/postgres/0008_support_requests.sql.
CREATE TABLE support_requests (
    id               BLOB PRIMARY KEY NOT NULL,
    org_id           BLOB NOT NULL REFERENCES organizations(id),
    support_user_id  BLOB NOT NULL REFERENCES users(id),
    user_id          BLOB NOT NULL REFERENCES users(id),
    reason           TEXT NOT NULL,
    readonly         BOOLEAN NOT NULL,
    client_ids       TEXT NOT NULL,
    duration_secs    BIGINT NOT NULL,
    -- pending | approved | denied
    status           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    expires_at       TEXT NOT NULL,
    decided_at       TEXT,
    decided_by       TEXT,
    grant_id         BLOB
);
CREATE INDEX support_requests_org_status ON support_requests(org_id, status);
