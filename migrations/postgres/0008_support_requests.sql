-- Admin-approved support access: support staff ask, an admin approves or denies.
-- PostgreSQL dialect; keep in step with migrations/sqlite/0008_support_requests.sql.
CREATE TABLE support_requests (
    id               UUID PRIMARY KEY NOT NULL,
    org_id           UUID NOT NULL REFERENCES organizations(id),
    support_user_id  UUID NOT NULL REFERENCES users(id),
    user_id          UUID NOT NULL REFERENCES users(id),
    reason           TEXT NOT NULL,
    readonly         BOOLEAN NOT NULL,
    client_ids       TEXT NOT NULL,
    duration_secs    BIGINT NOT NULL,
    -- pending | approved | denied
    status           TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    decided_at       TIMESTAMPTZ,
    decided_by       TEXT,
    grant_id         UUID
);
CREATE INDEX support_requests_org_status ON support_requests(org_id, status);
