//! Sign-in through upstream OpenID providers (identity brokering): the providers admins
//! register, the sign-in (authorization code flow with PKCE, `state` and `nonce`, the ID
//! token verified with the `openidconnect` crate against the upstream's discovery
//! document and JWKS), the links between upstream accounts and users, and unlinking.
//!
//! Who an upstream account is: an existing link (provider, upstream `sub`); else, when
//! the provider allows it, the user with the same e-mail *that the upstream says it
//! verified*; else, when the provider allows it, a new user. Anything else is refused
//! with an explanation: an existing account is never taken over through an unverified
//! e-mail.

pub mod providers;
pub mod routes;

use actix_web::cookie::{time::Duration as CookieDuration, Cookie, SameSite};
use chrono::Duration;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreJwsSigningAlgorithm, CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use uuid::Uuid;

use crate::audit::{self, Actor};
use crate::authn::login;
use crate::core::Core;
use crate::error::{AppError, AppResult};
use crate::sessions::{self, AuthContext, RequestMeta};
use crate::store::{FederationState, IdentityProvider, LinkedLogin, Session, StoreError, User};

pub use providers::redirect_uri;

/// The cookie naming the browser's sign-in sent upstream.
pub const COOKIE: &str = "monban_federation";
const COOKIE_PATH: &str = "/login/federation";
/// How long an upstream sign-in may take.
const STATE_LIFETIME_SECS: i64 = 600;

/// Audit actions.
pub mod action {
    pub const PROVIDER_CREATED: &str = "identity_provider.created";
    pub const PROVIDER_UPDATED: &str = "identity_provider.updated";
    pub const SIGNED_IN: &str = "federation.signed_in";
    pub const LINKED: &str = "federation.linked";
    pub const UNLINKED: &str = "federation.unlinked";
    pub const USER_CREATED: &str = "federation.user_created";
}

/// Why an upstream sign-in did not sign anyone in (a message key of the pages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The user (or the upstream) declined.
    Denied,
    /// No sign-in of this browser is waiting (expired, used, another browser, or a
    /// `state` that does not match).
    BadState,
    /// The upstream could not be reached or answered with an error.
    Upstream(String),
    /// The ID token did not verify (signature, issuer, audience, expiry, nonce).
    InvalidToken(String),
    /// The upstream account is not linked, and may not be linked or created.
    UnknownAccount,
    /// The account cannot sign in now (suspended, locked, deleted).
    AccountUnusable,
    /// The provider is unknown or disabled.
    NoProvider,
    /// Linking: that upstream account is another user's, or this user already has
    /// another account at this provider.
    LinkedElsewhere,
}

impl Failure {
    pub fn key(&self) -> &'static str {
        match self {
            Failure::Denied => "federation.denied",
            Failure::BadState => "federation.bad_state",
            Failure::Upstream(_) => "federation.upstream",
            Failure::InvalidToken(_) => "federation.invalid_token",
            Failure::UnknownAccount => "federation.unknown_account",
            Failure::AccountUnusable => "federation.unusable",
            Failure::NoProvider => "federation.no_provider",
            Failure::LinkedElsewhere => "federation.linked_elsewhere",
        }
    }
}

/// The HTTP client for upstream calls: no redirects followed (the OAuth security BCP;
/// `openidconnect`'s own advice), short timeouts.
fn http() -> &'static reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("an HTTP client")
    })
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// The relying-party client for `p`, from the upstream's discovery document.
async fn client(core: &Core, p: &IdentityProvider) -> Result<Client, Failure> {
    let issuer = IssuerUrl::new(p.issuer.clone()).map_err(|e| Failure::Upstream(e.to_string()))?;
    let meta = CoreProviderMetadata::discover_async(issuer, http())
        .await
        .map_err(|e| Failure::Upstream(format!("discovery: {e}")))?;
    let secret = core
        .keys
        .secrets()
        .open_secret(p.id, &p.client_secret_enc)
        .ok_or_else(|| Failure::Upstream("the client secret does not decrypt".into()))?;
    let secret = String::from_utf8(secret).map_err(|e| Failure::Upstream(e.to_string()))?;
    let redirect = RedirectUrl::new(redirect_uri(core, &p.slug))
        .map_err(|e| Failure::Upstream(e.to_string()))?;
    Ok(CoreClient::from_provider_metadata(
        meta,
        ClientId::new(p.client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect))
}

fn cookie(core: &Core, token: String, lifetime: i64) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path(COOKIE_PATH)
        .http_only(true)
        .secure(core.cfg.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(lifetime))
        .finish()
}

/// Removes the upstream sign-in cookie.
pub fn removal_cookie(core: &Core) -> Cookie<'static> {
    cookie(core, String::new(), 0)
}

/// The enabled provider `slug` of the organisation.
pub async fn enabled_provider(core: &Core, slug: &str) -> AppResult<Option<IdentityProvider>> {
    Ok(core
        .store
        .get_provider(core.org.id, slug)
        .await?
        .filter(|p| !p.disabled))
}

/// Starts a sign-in at provider `slug`: where to send the browser, and the cookie that
/// binds the answer to it.
pub async fn start(
    core: &Core,
    slug: &str,
    return_to: Option<&str>,
    linking: Option<&Session>,
) -> AppResult<Result<(String, Cookie<'static>), Failure>> {
    let Some(p) = enabled_provider(core, slug).await? else {
        return Ok(Err(Failure::NoProvider));
    };
    let client = match client(core, &p).await {
        Ok(c) => c,
        Err(f) => return Ok(Err(f)),
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge);
    for s in p.scopes.split_whitespace().filter(|s| *s != "openid") {
        req = req.add_scope(Scope::new(s.to_string()));
    }
    let (url, state, nonce) = req.url();
    let now = core.clock.now();
    core.store.delete_expired_federation_states(now).await?;
    let token = crate::util::random_token(32);
    core.store
        .insert_federation_state(&FederationState {
            id: Uuid::new_v4(),
            token_hash: sessions::hash_token(core, &token),
            provider_id: p.id,
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to: return_to
                .and_then(crate::util::safe_local_path)
                .map(str::to_string),
            user_id: linking.map(|s| s.user_id),
            session_id: linking.map(|s| s.id),
            created_at: now,
            expires_at: now + Duration::seconds(STATE_LIFETIME_SECS),
        })
        .await?;
    Ok(Ok((
        url.to_string(),
        cookie(core, token, STATE_LIFETIME_SECS),
    )))
}

/// What the upstream's callback carried.
pub struct Callback<'a> {
    /// The browser's cookie value.
    pub cookie: Option<&'a str>,
    pub code: Option<&'a str>,
    pub state: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// A finished upstream sign-in (a new session), or link (`session_token` None).
pub struct SignedIn {
    pub session_token: Option<String>,
    pub return_to: Option<String>,
}

/// What the upstream says about the account.
struct Upstream {
    subject: String,
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    amr: Vec<String>,
}

/// Finishes a sign-in at provider `slug` with the upstream's callback.
pub async fn finish(
    core: &Core,
    slug: &str,
    cb: Callback<'_>,
    current: Option<&Session>,
    meta: &RequestMeta,
) -> AppResult<Result<SignedIn, Failure>> {
    // The browser's waiting sign-in, taken once whatever happens next.
    let Some(token) = cb.cookie.filter(|t| t.len() == 43) else {
        return Ok(Err(Failure::BadState));
    };
    let Some(st) = core
        .store
        .take_federation_state(&sessions::hash_token(core, token), core.clock.now())
        .await?
    else {
        return Ok(Err(Failure::BadState));
    };
    let Some(p) = enabled_provider(core, slug).await? else {
        return Ok(Err(Failure::NoProvider));
    };
    let state_ok = cb.state.is_some_and(|s| {
        aws_lc_rs::constant_time::verify_slices_are_equal(s.as_bytes(), st.state.as_bytes()).is_ok()
    });
    if st.provider_id != p.id || !state_ok {
        return Ok(Err(Failure::BadState));
    }
    if let Some(e) = cb.error {
        tracing::info!(provider = %p.slug, error = e, "upstream sign-in declined");
        return Ok(Err(Failure::Denied));
    }
    let Some(code) = cb.code else {
        return Ok(Err(Failure::Upstream("no code".into())));
    };
    let up = match verify_upstream(core, &p, code, &st).await {
        Ok(u) => u,
        Err(f) => {
            tracing::info!(provider = %p.slug, failure = ?f, "upstream sign-in refused");
            return Ok(Err(f));
        }
    };
    // Linking from the account page: the session that asked, still live in this browser.
    if let (Some(user_id), Some(session_id)) = (st.user_id, st.session_id) {
        if current.map(|s| s.id) != Some(session_id) {
            return Ok(Err(Failure::BadState));
        }
        let user = core.store.get_user(user_id).await?;
        return Ok(
            match link(core, &p, &user, &up, "account_page", meta).await? {
                Ok(()) => Ok(SignedIn {
                    session_token: None,
                    return_to: st.return_to,
                }),
                Err(f) => Err(f),
            },
        );
    }
    let login_name = format!("{}:{}", p.slug, up.subject);
    let user = match resolve_user(core, &p, &up, meta).await? {
        Ok(u) => u,
        Err(f) => {
            login::record(
                core,
                None,
                &login_name,
                login::result::FEDERATION_REFUSED,
                meta,
                None,
            )
            .await?;
            return Ok(Err(f));
        }
    };
    if !crate::authn::mfa::challenge::can_sign_in(&user, core.clock.now()) {
        login::record(
            core,
            Some(user.id),
            &login_name,
            login::result::INACTIVE,
            meta,
            None,
        )
        .await?;
        return Ok(Err(Failure::AccountUnusable));
    }
    if let Some(old) = current {
        sessions::end(core, old.id, "replaced").await?;
    }
    let ctx = context(&up.amr, !p.require_local_mfa);
    let (session, token) = login::finish(core, &user, &ctx, meta, &login_name).await?;
    core.store.set_session_federated(session.id, p.id).await?;
    audit::record(
        core,
        &Actor::user(user.id),
        Some(user.id),
        action::SIGNED_IN,
        meta,
        serde_json::json!({ "provider": p.slug, "subject": up.subject, "session_id": session.id }),
    )
    .await?;
    Ok(Ok(SignedIn {
        session_token: Some(token),
        return_to: st.return_to,
    }))
}

/// `fed` plus what the upstream reports (RFC 8176 values only); `acr` mfa when the
/// upstream says `mfa` and the provider is trusted for it (`trust_mfa`: not
/// `require_local_mfa`; otherwise the upstream's `mfa` is dropped and the sign-on gate
/// asks for Monban's own second step).
fn context(upstream_amr: &[String], trust_mfa: bool) -> AuthContext {
    const KNOWN: &[&str] = &[
        "face", "fpt", "geo", "hwk", "iris", "kba", "mca", "mfa", "otp", "pin", "pop", "pwd",
        "rba", "retina", "sc", "sms", "swk", "tel", "user", "vbm", "wia",
    ];
    let mut amr = vec!["fed"];
    for a in upstream_amr {
        if let Some(k) = KNOWN.iter().find(|k| **k == a.as_str()) {
            if !amr.contains(k) && (trust_mfa || *k != "mfa") {
                amr.push(k);
            }
        }
    }
    let acr = if amr.contains(&"mfa") {
        sessions::ACR_MFA
    } else {
        sessions::ACR_PASSWORD
    };
    AuthContext { amr, acr }
}

/// Exchanges the code and verifies the ID token; reads the claims (from the ID token,
/// and from userinfo where it lacks them).
async fn verify_upstream(
    core: &Core,
    p: &IdentityProvider,
    code: &str,
    st: &FederationState,
) -> Result<Upstream, Failure> {
    let client = client(core, p).await?;
    let tr = client
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| Failure::Upstream(e.to_string()))?
        .set_pkce_verifier(PkceCodeVerifier::new(st.pkce_verifier.clone()))
        .request_async(http())
        .await
        .map_err(|e| Failure::Upstream(format!("token: {e}")))?;
    let id_token = tr
        .id_token()
        .ok_or_else(|| Failure::InvalidToken("no ID token".into()))?;
    // Any asymmetric algorithm (the upstream's JWKS holds the key); never `none`, and
    // no HMAC with the client secret.
    let verifier = client.id_token_verifier().set_allowed_algs(vec![
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
        CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
        CoreJwsSigningAlgorithm::RsaSsaPssSha256,
        CoreJwsSigningAlgorithm::RsaSsaPssSha384,
        CoreJwsSigningAlgorithm::RsaSsaPssSha512,
        CoreJwsSigningAlgorithm::EcdsaP256Sha256,
        CoreJwsSigningAlgorithm::EcdsaP384Sha384,
        CoreJwsSigningAlgorithm::EdDsa,
    ]);
    let claims = id_token
        .claims(&verifier, &Nonce::new(st.nonce.clone()))
        .map_err(|e| Failure::InvalidToken(e.to_string()))?;
    // The verified token's own claims, for the provider's claim names.
    let raw: serde_json::Value = id_token
        .to_string()
        .split('.')
        .nth(1)
        .and_then(|b| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(b)
                .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let text =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    // `email_verified` speaks of the standard `email` claim only: an e-mail read from
    // another claim (which the upstream may let users edit) is never "verified".
    let standard_email = p.claim_email == "email";
    let mut up = Upstream {
        subject: claims.subject().to_string(),
        email: text(&raw, &p.claim_email),
        email_verified: standard_email
            && raw
                .get("email_verified")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        name: text(&raw, &p.claim_name),
        amr: claims
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.to_string()).collect())
            .unwrap_or_default(),
    };
    if up.email.is_none() || up.name.is_none() {
        // userinfo, for what the ID token did not carry.
        if let Ok(req) = client.user_info(tr.access_token().clone(), Some(claims.subject().clone()))
        {
            if let Ok(info) = req
                .request_async::<openidconnect::EmptyAdditionalClaims, _, openidconnect::core::CoreGenderClaim>(http())
                .await
            {
                if up.email.is_none() && standard_email {
                    up.email = info.email().map(|e| e.to_string());
                    up.email_verified = info.email_verified().unwrap_or(false);
                }
                if up.name.is_none() && p.claim_name == "name" {
                    up.name = info.name().and_then(|n| n.get(None)).map(|n| n.to_string());
                }
            }
        }
    }
    Ok(up)
}

/// The user behind the upstream account (linking or creating as the provider allows).
async fn resolve_user(
    core: &Core,
    p: &IdentityProvider,
    up: &Upstream,
    meta: &RequestMeta,
) -> AppResult<Result<User, Failure>> {
    let now = core.clock.now();
    if let Some(link) = core.store.find_link(p.id, &up.subject).await? {
        core.store.touch_link(link.id, now).await?;
        return Ok(Ok(core.store.get_user(link.user_id).await?));
    }
    let mut created = false;
    let email = up.email.as_deref().and_then(crate::users::normalize_email);
    let existing = match &email {
        Some(e) => core.store.find_user_by_login(core.org.id, e).await?,
        None => None,
    };
    let user = match existing {
        // Linking to an existing account needs an e-mail the upstream verified, and
        // an account that can sign in now or is waiting for its invitation (the
        // verified e-mail answers the invitation: it becomes active). An account made
        // by another provider's first sign-in (no password of its own, already
        // linked; perhaps from an unverified e-mail, by someone else) is never joined
        // by e-mail.
        Some(u)
            if p.link_by_verified_email
                && up.email_verified
                && (u.password_hash.is_some() || core.store.list_links(u.id).await?.is_empty())
                && (crate::authn::mfa::challenge::can_sign_in(&u, now)
                    || u.status == crate::store::user_status::PENDING) =>
        {
            if u.status == crate::store::user_status::PENDING {
                core.store
                    .set_user_status(
                        u.id,
                        &[crate::store::user_status::PENDING],
                        crate::store::user_status::ACTIVE,
                        now,
                    )
                    .await?;
                crate::cache::user_changed(core, u.id).await;
                core.store.get_user(u.id).await?
            } else {
                u
            }
        }
        Some(_) => return Ok(Err(Failure::UnknownAccount)),
        None if p.create_users && email.is_some() => {
            created = true;
            let u = crate::users::create(
                core,
                crate::users::CreateUser {
                    email: email.clone().unwrap_or_default(),
                    display_name: up.name.clone(),
                    active_without_password: true,
                    ..Default::default()
                },
            )
            .await?;
            audit::record(
                core,
                &Actor::system(),
                Some(u.id),
                action::USER_CREATED,
                meta,
                serde_json::json!({ "provider": p.slug, "subject": up.subject }),
            )
            .await?;
            u
        }
        None => return Ok(Err(Failure::UnknownAccount)),
    };
    let how = if created { "created" } else { "verified_email" };
    match link(core, p, &user, up, how, meta).await? {
        Ok(()) => Ok(Ok(user)),
        Err(f) => Ok(Err(f)),
    }
}

/// Links the upstream account to `user`, recorded. Refused when that upstream account
/// is another user's, or `user` already has another account at this provider.
async fn link(
    core: &Core,
    p: &IdentityProvider,
    user: &User,
    up: &Upstream,
    how: &str,
    meta: &RequestMeta,
) -> AppResult<Result<(), Failure>> {
    let now = core.clock.now();
    if let Some(existing) = core.store.find_link(p.id, &up.subject).await? {
        return Ok(if existing.user_id == user.id {
            Ok(())
        } else {
            Err(Failure::LinkedElsewhere)
        });
    }
    let link = LinkedLogin {
        id: Uuid::new_v4(),
        user_id: user.id,
        provider_id: p.id,
        subject: up.subject.clone(),
        email: up.email.clone(),
        linked_at: now,
        last_used_at: Some(now),
    };
    match core.store.insert_link(&link).await {
        Ok(()) => {}
        // The user is already linked to another account of this provider (or a
        // racing sign-in linked it): not this one.
        Err(StoreError::Conflict(_)) => return Ok(Err(Failure::LinkedElsewhere)),
        Err(e) => return Err(e.into()),
    }
    audit::record(
        core,
        &Actor::user(user.id),
        Some(user.id),
        action::LINKED,
        meta,
        serde_json::json!({ "provider": p.slug, "subject": up.subject, "email": up.email, "by": how }),
    )
    .await?;
    // A link is a new way into the account: the user hears of it.
    crate::notify::send(
        core,
        &crate::notify::Recipient::user(user),
        crate::notify::Message::LinkedLoginAdded {
            provider: p.display_name.clone(),
        },
    )
    .await?;
    Ok(Ok(()))
}

/// What the member security view and the account page show of a link.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct LinkedLoginView {
    /// The provider's slug.
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub linked_at: chrono::DateTime<chrono::Utc>,
    pub last_used_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The user's linked logins.
pub async fn links_of(core: &Core, user_id: Uuid) -> AppResult<Vec<LinkedLoginView>> {
    let mut out = Vec::new();
    for l in core.store.list_links(user_id).await? {
        let provider = core
            .store
            .get_provider_by_id(l.provider_id)
            .await?
            .map(|p| p.slug)
            .unwrap_or_default();
        out.push(LinkedLoginView {
            provider,
            subject: l.subject,
            email: l.email,
            linked_at: l.linked_at,
            last_used_at: l.last_used_at,
        });
    }
    Ok(out)
}

/// Unlinks the user's account at provider `slug` (an admin, or the user): the link
/// goes, the sessions that came through it end, it is recorded and the user told.
/// False when there was no such link.
pub async fn unlink(
    core: &Core,
    user: &User,
    slug: &str,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<bool> {
    let Some(p) = core.store.get_provider(core.org.id, slug).await? else {
        return Ok(false);
    };
    let Some(link) = core.store.delete_link(user.id, p.id).await? else {
        return Ok(false);
    };
    let sessions = core.store.sessions_federated_via(user.id, p.id).await?;
    for id in &sessions {
        sessions::end(core, *id, "federation_unlinked").await?;
    }
    // Support sessions opened from one of those sessions go too.
    if !sessions.is_empty() {
        sessions::end_impersonations_by(core, user.id, "federation_unlinked").await?;
    }
    audit::record(
        core,
        actor,
        Some(user.id),
        action::UNLINKED,
        meta,
        serde_json::json!({ "provider": p.slug, "subject": link.subject, "sessions_ended": sessions.len() }),
    )
    .await?;
    crate::notify::send(
        core,
        &crate::notify::Recipient::user(user),
        crate::notify::Message::LinkedLoginRemoved {
            provider: p.display_name.clone(),
            by_admin: actor.id != Some(user.id),
        },
    )
    .await?;
    Ok(true)
}

/// Drops every link of provider `p` (its issuer changed), ending the sessions that
/// came through it; each is audited. Returns how many.
pub(crate) async fn drop_links_of(
    core: &Core,
    p: &IdentityProvider,
    actor: &Actor,
    meta: &RequestMeta,
) -> AppResult<usize> {
    let users = core.store.users_linked_to(p.id).await?;
    for user_id in &users {
        let user = core.store.get_user(*user_id).await?;
        unlink(core, &user, &p.slug, actor, meta).await?;
    }
    Ok(users.len())
}

/// A bad request about a provider field.
pub(crate) fn invalid(field: &'static str, message: &str) -> AppError {
    AppError::bad_request("invalid_identity_provider", format!("{field}: {message}"))
        .with_field(field, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_is_fed_plus_known_upstream_values() {
        let up: Vec<String> = vec!["pwd".into(), "mfa".into(), "otp".into(), "x-custom".into()];
        let c = context(&up, true);
        assert_eq!(c.amr, vec!["fed", "pwd", "mfa", "otp"]);
        assert_eq!(c.acr, sessions::ACR_MFA);
        // Monban's own second step required: the upstream's word on MFA is not taken.
        let c = context(&up, false);
        assert_eq!(c.amr, vec!["fed", "pwd", "otp"]);
        assert_eq!(c.acr, sessions::ACR_PASSWORD);
        let c = context(&[], true);
        assert_eq!(c.amr, vec!["fed"]);
        assert_eq!(c.acr, sessions::ACR_PASSWORD);
    }
}
