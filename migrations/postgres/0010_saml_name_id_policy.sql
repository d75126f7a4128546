-- The NameID format an AuthnRequest's NameIDPolicy asked for, when it differs from
-- the service provider's configured one (only `transient` is honoured that way).
ALTER TABLE saml_pending_requests ADD COLUMN name_id_format TEXT;
