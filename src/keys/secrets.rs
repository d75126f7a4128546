//! Local secrets derived from `keys/master.key`: one key per purpose, so that a leak of
//! one derived value says nothing about the others.

use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::hmac;
use uuid::Uuid;

pub struct Secrets {
    csrf: hmac::Key,
    token_hash: hmac::Key,
    client_secret: hmac::Key,
    fresh_login: hmac::Key,
    backup_code: hmac::Key,
    totp: LessSafeKey,
}

/// First byte of a sealed TOTP secret: the format (and key) version.
const TOTP_SEAL_V1: u8 = 1;

fn derive_bytes(master: &[u8], label: &str) -> hmac::Tag {
    let k = hmac::Key::new(hmac::HMAC_SHA256, master);
    hmac::sign(&k, format!("monban/v1/{label}").as_bytes())
}

fn derive(master: &[u8], label: &str) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, derive_bytes(master, label).as_ref())
}

fn totp_aad(user_id: Uuid) -> Vec<u8> {
    let mut ad = b"monban/totp-secret/v1/".to_vec();
    ad.extend_from_slice(user_id.as_bytes());
    ad
}

impl Secrets {
    pub fn derive(master: &[u8]) -> Secrets {
        let totp_key = derive_bytes(master, "totp-encryption");
        // HMAC-SHA256 output is 32 bytes: exactly an AES-256 key.
        let totp = UnboundKey::new(&AES_256_GCM, totp_key.as_ref())
            .map(LessSafeKey::new)
            .expect("a 32-byte AES-256-GCM key");
        Secrets {
            csrf: derive(master, "csrf"),
            token_hash: derive(master, "token-hash"),
            client_secret: derive(master, "client-secret"),
            fresh_login: derive(master, "fresh-login"),
            backup_code: derive(master, "backup-code-hash"),
            totp,
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

    /// Keyed hash of a (normalised) backup code, bound to its user. Backup codes have
    /// only ~50 bits, so a plain hash in a dump could be brute-forced; without the key
    /// (which lives in the keys dir, not the database) it cannot.
    pub fn backup_code_hash(&self, user_id: Uuid, code: &str) -> Vec<u8> {
        let mut ctx = hmac::Context::with_key(&self.backup_code);
        ctx.update(user_id.as_bytes());
        ctx.update(code.as_bytes());
        ctx.sign().as_ref().to_vec()
    }

    /// Encrypts a TOTP secret for storage: `1 ‖ nonce ‖ AES-256-GCM(secret) ‖ tag`, with
    /// a fresh random nonce and the user id as associated data (a sealed secret moved
    /// to another user's row does not open).
    pub fn seal_totp_secret(&self, user_id: Uuid, secret: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&crate::util::random_bytes(NONCE_LEN));
        let mut buf = secret.to_vec();
        self.totp
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(totp_aad(user_id)),
                &mut buf,
            )
            .ok()?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(TOTP_SEAL_V1);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Some(out)
    }

    /// Encrypts a secret that belongs to `owner` (e.g. an upstream provider's client
    /// secret), as [`Secrets::seal_totp_secret`] does with the owner's id as associated
    /// data.
    pub fn seal_secret(&self, owner: Uuid, secret: &[u8]) -> Option<Vec<u8>> {
        self.seal_totp_secret(owner, secret)
    }

    /// Decrypts what [`Secrets::seal_secret`] produced for `owner`.
    pub fn open_secret(&self, owner: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        self.open_totp_secret(owner, sealed)
    }

    /// Decrypts what [`Secrets::seal_totp_secret`] produced for this user; `None` when
    /// it was tampered with, belongs to another user or another master key.
    pub fn open_totp_secret(&self, user_id: Uuid, sealed: &[u8]) -> Option<Vec<u8>> {
        let (&version, rest) = sealed.split_first()?;
        if version != TOTP_SEAL_V1 || rest.len() < NONCE_LEN + aead::MAX_TAG_LEN {
            return None;
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buf = ct.to_vec();
        let plain = self
            .totp
            .open_in_place(nonce, Aad::from(totp_aad(user_id)), &mut buf)
            .ok()?;
        Some(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_secret_round_trip_and_binding() {
        let s = Secrets::derive(&[7u8; 32]);
        let user = Uuid::new_v4();
        let secret = b"12345678901234567890";
        let a = s.seal_totp_secret(user, secret).unwrap();
        let b = s.seal_totp_secret(user, secret).unwrap();
        assert_ne!(a, b, "fresh nonce each time");
        assert_eq!(a.len(), 1 + 12 + 20 + 16);
        assert!(!a.windows(secret.len()).any(|w| w == secret));
        assert_eq!(s.open_totp_secret(user, &a).as_deref(), Some(&secret[..]));
        assert_eq!(
            s.open_totp_secret(Uuid::new_v4(), &a),
            None,
            "bound to user"
        );
        let mut tampered = a.clone();
        tampered[20] ^= 1;
        assert_eq!(s.open_totp_secret(user, &tampered), None);
        let other = Secrets::derive(&[8u8; 32]);
        assert_eq!(other.open_totp_secret(user, &a), None, "other master key");
        assert_eq!(s.open_totp_secret(user, &[1, 2, 3]), None);
    }

    #[test]
    fn backup_code_hash_is_keyed_and_per_user() {
        let s = Secrets::derive(&[7u8; 32]);
        let (u1, u2) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            s.backup_code_hash(u1, "abcde12345"),
            s.backup_code_hash(u1, "abcde12345")
        );
        assert_ne!(
            s.backup_code_hash(u1, "abcde12345"),
            s.backup_code_hash(u2, "abcde12345")
        );
        let other = Secrets::derive(&[8u8; 32]);
        assert_ne!(
            s.backup_code_hash(u1, "abcde12345"),
            other.backup_code_hash(u1, "abcde12345")
        );
    }
}
