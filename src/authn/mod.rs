//! Who is signing in: password verification, lockout, the second step (passkeys, TOTP,
//! backup codes), the sign-in pages.

pub mod gate;
pub mod login;
pub mod mfa;
pub mod passkeys;
pub mod password;
pub mod routes;

pub use password::Passwords;
