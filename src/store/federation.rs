//! Persistence of sign-in through upstream OpenID providers: the providers, the links
//! between upstream accounts and users, the half-finished upstream sign-ins, and which
//! sessions came through a provider. Expanded per dialect by [`impl_federation_store!`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::StoreResult;

/// An upstream OpenID provider.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IdentityProvider {
    pub id: Uuid,
    pub org_id: Uuid,
    pub slug: String,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    /// Sealed (AES-256-GCM, the provider id as associated data).
    pub client_secret_enc: Vec<u8>,
    /// Space-separated.
    pub scopes: String,
    pub claim_email: String,
    pub claim_name: String,
    pub create_users: bool,
    pub link_by_verified_email: bool,
    /// Monban's own second step is still asked of users who have one.
    pub require_local_mfa: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An upstream account linked to a user.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct LinkedLogin {
    pub id: Uuid,
    pub user_id: Uuid,
    pub provider_id: Uuid,
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A sign-in sent upstream and not yet back.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct FederationState {
    pub id: Uuid,
    pub token_hash: Vec<u8>,
    pub provider_id: Uuid,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: Option<String>,
    pub user_id: Option<Uuid>,
    pub session_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait FederationStore {
    /// `Conflict("slug")` when the organisation has a provider with that slug.
    async fn insert_provider(&self, p: &IdentityProvider) -> StoreResult<()>;
    /// Writes every field but id, org and created_at (a new slug: `Conflict` when taken).
    async fn update_provider(&self, p: &IdentityProvider) -> StoreResult<bool>;
    async fn get_provider(&self, org_id: Uuid, slug: &str)
        -> StoreResult<Option<IdentityProvider>>;
    async fn get_provider_by_id(&self, id: Uuid) -> StoreResult<Option<IdentityProvider>>;
    async fn list_providers(&self, org_id: Uuid) -> StoreResult<Vec<IdentityProvider>>;

    async fn find_link(&self, provider_id: Uuid, subject: &str)
        -> StoreResult<Option<LinkedLogin>>;
    async fn list_links(&self, user_id: Uuid) -> StoreResult<Vec<LinkedLogin>>;
    /// The users linked at a provider.
    async fn users_linked_to(&self, provider_id: Uuid) -> StoreResult<Vec<Uuid>>;
    /// `Conflict("id")` when that upstream account or this user and provider are
    /// already linked.
    async fn insert_link(&self, l: &LinkedLogin) -> StoreResult<()>;
    async fn touch_link(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()>;
    /// The removed link (None when there was none).
    async fn delete_link(
        &self,
        user_id: Uuid,
        provider_id: Uuid,
    ) -> StoreResult<Option<LinkedLogin>>;

    async fn insert_federation_state(&self, s: &FederationState) -> StoreResult<()>;
    /// Takes (deletes and returns) the unexpired state with this token hash.
    async fn take_federation_state(
        &self,
        token_hash: &[u8],
        now: DateTime<Utc>,
    ) -> StoreResult<Option<FederationState>>;
    async fn delete_expired_federation_states(&self, now: DateTime<Utc>) -> StoreResult<u64>;

    async fn set_session_federated(&self, session_id: Uuid, provider_id: Uuid) -> StoreResult<()>;
    /// The live sessions of `user_id` that came through `provider_id`.
    async fn sessions_federated_via(
        &self,
        user_id: Uuid,
        provider_id: Uuid,
    ) -> StoreResult<Vec<Uuid>>;
}

/// Implements [`FederationStore`] for `$store` (a struct with a `pool: sqlx::Pool<$db>`).
macro_rules! impl_federation_store {
    ($store:ty, $db:ty) => {
        const _: () = {
            use $crate::store::federation::{
                FederationState, FederationStore, IdentityProvider, LinkedLogin,
            };
            use $crate::store::sql::{insert_into, named_query, select};
            use $crate::store::{StoreError, StoreResult};
            use chrono::{DateTime, Utc};
            use uuid::Uuid;

            const PROVIDER_COLS: &str = "id, org_id, slug, display_name, issuer, client_id, \
                client_secret_enc, scopes, claim_email, claim_name, create_users, \
                link_by_verified_email, require_local_mfa, disabled, created_at, updated_at";
            const LINK_COLS: &str = "id, user_id, provider_id, subject, email, linked_at, last_used_at";
            const STATE_COLS: &str = "id, token_hash, provider_id, state, nonce, pkce_verifier, \
                return_to, user_id, session_id, created_at, expires_at";

            #[async_trait::async_trait]
            impl FederationStore for $store {
                async fn insert_provider(&self, p: &IdentityProvider) -> StoreResult<()> {
                    insert_into!($db, "identity_providers", p => {
                        id, org_id, slug, display_name, issuer, client_id, client_secret_enc,
                        scopes, claim_email, claim_name, create_users, link_by_verified_email,
                        require_local_mfa, disabled, created_at, updated_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn update_provider(&self, p: &IdentityProvider) -> StoreResult<bool> {
                    let r = named_query!(
                        $db,
                        "UPDATE identity_providers SET slug = :slug, display_name = :display_name, issuer = :issuer, \
                         client_id = :client_id, client_secret_enc = :client_secret_enc, scopes = :scopes, \
                         claim_email = :claim_email, claim_name = :claim_name, create_users = :create_users, \
                         link_by_verified_email = :link_by_verified_email, \
                         require_local_mfa = :require_local_mfa, disabled = :disabled, \
                         updated_at = :updated_at WHERE id = :id",
                        {
                            slug: &p.slug,
                            display_name: &p.display_name,
                            issuer: &p.issuer,
                            client_id: &p.client_id,
                            client_secret_enc: &p.client_secret_enc,
                            scopes: &p.scopes,
                            claim_email: &p.claim_email,
                            claim_name: &p.claim_name,
                            create_users: p.create_users,
                            link_by_verified_email: p.link_by_verified_email,
                            require_local_mfa: p.require_local_mfa,
                            disabled: p.disabled,
                            updated_at: p.updated_at,
                            id: p.id,
                        }
                    )
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(r.rows_affected() == 1)
                }

                async fn get_provider(&self, org_id: Uuid, slug: &str) -> StoreResult<Option<IdentityProvider>> {
                    Ok(select!($db, IdentityProvider,
                        "SELECT {PROVIDER_COLS} FROM identity_providers WHERE org_id = $1 AND slug = $2",
                        org_id, slug)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn get_provider_by_id(&self, id: Uuid) -> StoreResult<Option<IdentityProvider>> {
                    Ok(select!($db, IdentityProvider,
                        "SELECT {PROVIDER_COLS} FROM identity_providers WHERE id = $1", id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn list_providers(&self, org_id: Uuid) -> StoreResult<Vec<IdentityProvider>> {
                    Ok(select!($db, IdentityProvider,
                        "SELECT {PROVIDER_COLS} FROM identity_providers WHERE org_id = $1 ORDER BY slug",
                        org_id)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn find_link(&self, provider_id: Uuid, subject: &str) -> StoreResult<Option<LinkedLogin>> {
                    Ok(select!($db, LinkedLogin,
                        "SELECT {LINK_COLS} FROM linked_logins WHERE provider_id = $1 AND subject = $2",
                        provider_id, subject)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn list_links(&self, user_id: Uuid) -> StoreResult<Vec<LinkedLogin>> {
                    Ok(select!($db, LinkedLogin,
                        "SELECT {LINK_COLS} FROM linked_logins WHERE user_id = $1 ORDER BY linked_at, id",
                        user_id)
                    .fetch_all(&self.pool)
                    .await?)
                }

                async fn users_linked_to(&self, provider_id: Uuid) -> StoreResult<Vec<Uuid>> {
                    Ok(sqlx::query_as::<$db, (Uuid,)>(
                        "SELECT user_id FROM linked_logins WHERE provider_id = $1",
                    )
                    .bind(provider_id)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect())
                }

                async fn insert_link(&self, l: &LinkedLogin) -> StoreResult<()> {
                    insert_into!($db, "linked_logins", l => {
                        id, user_id, provider_id, subject, email, linked_at, last_used_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn touch_link(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<()> {
                    sqlx::query::<$db>("UPDATE linked_logins SET last_used_at = $2 WHERE id = $1")
                        .bind(id)
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn delete_link(&self, user_id: Uuid, provider_id: Uuid) -> StoreResult<Option<LinkedLogin>> {
                    Ok(select!($db, LinkedLogin,
                        "DELETE FROM linked_logins WHERE user_id = $1 AND provider_id = $2 RETURNING {LINK_COLS}",
                        user_id, provider_id)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn insert_federation_state(&self, s: &FederationState) -> StoreResult<()> {
                    insert_into!($db, "federation_states", s => {
                        id, token_hash, provider_id, state, nonce, pkce_verifier, return_to,
                        user_id, session_id, created_at, expires_at,
                    })
                    .execute(&self.pool)
                    .await
                    .map_err(StoreError::from_sqlx)?;
                    Ok(())
                }

                async fn take_federation_state(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<Option<FederationState>> {
                    Ok(select!($db, FederationState,
                        "DELETE FROM federation_states WHERE token_hash = $1 AND expires_at > $2 RETURNING {STATE_COLS}",
                        token_hash, now)
                    .fetch_optional(&self.pool)
                    .await?)
                }

                async fn delete_expired_federation_states(&self, now: DateTime<Utc>) -> StoreResult<u64> {
                    let r = sqlx::query::<$db>("DELETE FROM federation_states WHERE expires_at <= $1")
                        .bind(now)
                        .execute(&self.pool)
                        .await?;
                    Ok(r.rows_affected())
                }

                async fn set_session_federated(&self, session_id: Uuid, provider_id: Uuid) -> StoreResult<()> {
                    sqlx::query::<$db>("UPDATE sessions SET federated_via = $2 WHERE id = $1")
                        .bind(session_id)
                        .bind(provider_id)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }

                async fn sessions_federated_via(&self, user_id: Uuid, provider_id: Uuid) -> StoreResult<Vec<Uuid>> {
                    Ok(sqlx::query_as::<$db, (Uuid,)>(
                        "SELECT id FROM sessions WHERE user_id = $1 AND federated_via = $2 AND ended_at IS NULL",
                    )
                    .bind(user_id)
                    .bind(provider_id)
                    .fetch_all(&self.pool)
                    .await?
                    .into_iter()
                    .map(|(id,)| id)
                    .collect())
                }
            }
        };
    };
}

pub(crate) use impl_federation_store;
