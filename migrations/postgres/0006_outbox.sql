-- Outgoing notifications (e-mail): the outbox the delivery worker drains. PostgreSQL
-- dialect; keep in step with migrations/sqlite/0006_outbox.sql. ids: UUID;
-- times: TIMESTAMPTZ (UTC).
--
-- Subject and body are rendered when the message is queued, so what is sent does not
-- depend on templates or settings changed later. A row stays until it is sent (or
-- given up after notify.max_attempts): nothing is lost across restarts. A worker
-- claims a row by setting claimed_until, so several replicas never send it twice.
CREATE TABLE outbox (
    id              UUID PRIMARY KEY NOT NULL,
    org_id          UUID NOT NULL REFERENCES organizations(id),
    -- The user it is about, if any; kept NULL when the user is purged.
    user_id         UUID REFERENCES users(id) ON DELETE SET NULL,
    to_address      TEXT NOT NULL,
    to_name         TEXT NOT NULL,
    -- ja or en: the language it was rendered in.
    locale          TEXT NOT NULL,
    -- Template name, e.g. invitation or account_locked.
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body_text       TEXT NOT NULL,
    body_html       TEXT,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ,
    failed_at       TIMESTAMPTZ,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
CREATE INDEX outbox_user ON outbox(user_id, created_at);
CREATE INDEX outbox_org ON outbox(org_id, created_at);
