//! Local secrets derived from `keys/master.key`: one HMAC key per purpose, so that a
//! leak of one derived value says nothing about the others.

use aws_lc_rs::hmac;

pub struct Secrets {
    csrf: hmac::Key,
    token_hash: hmac::Key,
    client_secret: hmac::Key,
    fresh_login: hmac::Key,
}

fn derive(master: &[u8], label: &str) -> hmac::Key {
    let k = hmac::Key::new(hmac::HMAC_SHA256, master);
    let sub = hmac::sign(&k, format!("monban/v1/{label}").as_bytes());
    hmac::Key::new(hmac::HMAC_SHA256, sub.as_ref())
}

impl Secrets {
    pub fn derive(master: &[u8]) -> Secrets {
        Secrets {
            csrf: derive(master, "csrf"),
            token_hash: derive(master, "token-hash"),
            client_secret: derive(master, "client-secret"),
            fresh_login: derive(master, "fresh-login"),
        }
    }

    /// MAC binding a CSRF token to the pre-session cookie it was issued for.
    pub fn csrf_mac(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.csrf, data).as_ref().to_vec()
    }

    /// Keyed hash for high-entropy secrets kept in the database (session ids, client
    /// secrets, refresh tokens): a database dump alone cannot be used to forge lookups.
    pub fn token_hash(&self, secret: &[u8]) -> Vec<u8> {
        hmac::sign(&self.token_hash, secret).as_ref().to_vec()
    }

    /// Keyed hash of an OAuth client secret (full-entropy secrets need no argon2).
    pub fn client_secret_hash(&self, secret: &[u8]) -> Vec<u8> {
        hmac::sign(&self.client_secret, secret).as_ref().to_vec()
    }

    /// MAC proving that the server itself asked for a fresh sign-in at a time.
    pub fn fresh_login_mac(&self, data: &[u8]) -> Vec<u8> {
        hmac::sign(&self.fresh_login, data).as_ref().to_vec()
    }
}
