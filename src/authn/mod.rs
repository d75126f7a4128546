//! Who is signing in: password verification, lockout, the sign-in pages.

pub mod login;
pub mod password;
pub mod routes;

pub use password::Passwords;
