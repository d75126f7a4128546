-- SAML 2.0 identity provider: service providers, pending AuthnRequests, seen
-- request IDs (replay), and which service providers took part in each session.
-- PostgreSQL dialect.

CREATE TABLE saml_service_providers (
    id                      UUID PRIMARY KEY NOT NULL,
    org_id                  UUID NOT NULL REFERENCES organizations(id),
    entity_id               TEXT NOT NULL UNIQUE,
    name                    TEXT NOT NULL,
    acs                     TEXT NOT NULL,
    slo_url                 TEXT,
    slo_binding             TEXT,
    signing_certs           TEXT NOT NULL,
    encryption_cert         TEXT,
    authn_requests_signed   BOOLEAN NOT NULL,
    want_assertions_signed  BOOLEAN NOT NULL,
    name_id_format          TEXT NOT NULL,
    attributes              TEXT NOT NULL,
    sign_response           BOOLEAN NOT NULL,
    sign_assertion          BOOLEAN NOT NULL,
    encrypt_assertions      BOOLEAN NOT NULL DEFAULT FALSE,
    idp_initiated           BOOLEAN NOT NULL,
    disabled                BOOLEAN NOT NULL DEFAULT FALSE,
    created_at              TIMESTAMPTZ NOT NULL,
    updated_at              TIMESTAMPTZ NOT NULL
);

CREATE TABLE saml_pending_requests (
    id              TEXT PRIMARY KEY NOT NULL,
    sp_entity_id    TEXT NOT NULL,
    request_id      TEXT,
    acs_url         TEXT NOT NULL,
    relay_state     TEXT,
    force_authn     BOOLEAN NOT NULL,
    authn_context   TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX saml_pending_requests_expiry ON saml_pending_requests(expires_at);

CREATE TABLE saml_request_ids (
    sp_entity_id    TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (sp_entity_id, request_id)
);

CREATE TABLE saml_session_sps (
    session_id      UUID NOT NULL,
    sp_entity_id    TEXT NOT NULL,
    name_id         TEXT NOT NULL,
    name_id_format  TEXT NOT NULL,
    session_index   TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (session_id, sp_entity_id)
);
CREATE INDEX saml_session_sps_index ON saml_session_sps(sp_entity_id, session_index);
