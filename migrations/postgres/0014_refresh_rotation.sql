-- The token a refresh token was exchanged for (its successor): a client's retry of
-- a rotation whose answer it never received, within tokens.refresh_retry_grace_secs,
-- retires that successor and gets a new one instead of revoking the grant.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by UUID;
