//! OpenID Connect persistence, one module per table group: [`clients`], the grants
//! and what they issue ([`tokens`]: token families, authorization codes, refresh
//! tokens), small per-grant records ([`grants`]: revoked access tokens, used
//! assertions, consents, which clients took part in a session), device requests
//! ([`device`]) and the back-channel logout queue ([`backchannel`]).

pub mod backchannel;
pub mod clients;
pub mod device;
pub mod grants;
pub mod tokens;

pub use backchannel::{BackchannelJob, BackchannelStore};
pub use clients::{Client, ClientStore};
pub use device::{DeviceAuthorization, DeviceStore, DeviceUserDecision};
pub use grants::{GrantRecordStore, FRESH_LOGIN_PREFIX};
pub use tokens::{AuthCode, Consumed, RefreshToken, Rotation, TokenFamily, TokenStore};

/// Every OpenID Connect store trait (implemented by any type that has them all).
pub trait OidcStore:
    ClientStore + TokenStore + GrantRecordStore + DeviceStore + BackchannelStore
{
}

impl<T> OidcStore for T where
    T: ClientStore + TokenStore + GrantRecordStore + DeviceStore + BackchannelStore
{
}

/// Implements every OpenID Connect store trait for a store struct with a `pool` of `$db`.
macro_rules! impl_oidc_store {
    ($store:ty, $db:ty) => {
        $crate::store::oidc::clients::impl_client_store!($store, $db);
        $crate::store::oidc::tokens::impl_token_store!($store, $db);
        $crate::store::oidc::grants::impl_grant_record_store!($store, $db);
        $crate::store::oidc::device::impl_device_store!($store, $db);
        $crate::store::oidc::backchannel::impl_backchannel_store!($store, $db);
    };
}

pub(crate) use impl_oidc_store;
