//! Password hashing (argon2id, OWASP parameters by default) and the password policy.
//!
//! Hashing is CPU- and memory-heavy, so it runs on the blocking pool behind a
//! semaphore sized to the core count: a burst of sign-ins queues instead of starving
//! the async workers or exhausting memory.
//!
//! Verification (every sign-in) computes into a reused work area ([`WorkAreas`]): a
//! fresh 19 MiB area per hash cost a third of the sign-in CPU in the kernel, zeroing
//! and faulting its pages in (bench/results/2026-12-06-vm.md). There are at most as
//! many areas as permits, and they are given back to the system after a quiet minute.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::config::PasswordConfig;

#[derive(Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

struct Inner {
    argon: Argon2<'static>,
    permits: Semaphore,
    /// Verified against when the user does not exist or has no password, so that
    /// such attempts take as long as a wrong password.
    dummy_hash: String,
    policy: PasswordConfig,
    work: WorkAreas,
}

/// Argon2 work areas kept between verifications (one per concurrent hash at most:
/// the permits bound them), dropped when none was used for [`WorkAreas::IDLE`].
#[derive(Default)]
struct WorkAreas {
    free: std::sync::Mutex<Vec<Vec<Block>>>,
    /// Unix seconds of the last use.
    last_used: std::sync::atomic::AtomicI64,
}

impl WorkAreas {
    const IDLE: i64 = 60;

    fn take(&self, blocks: usize) -> Vec<Block> {
        self.last_used.store(
            chrono::Utc::now().timestamp(),
            std::sync::atomic::Ordering::Relaxed,
        );
        let reused = self.free.lock().unwrap_or_else(|e| e.into_inner()).pop();
        match reused {
            Some(v) if v.len() == blocks => v,
            _ => vec![Block::default(); blocks],
        }
    }

    fn give(&self, area: Vec<Block>) {
        self.free
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(area);
    }

    /// Drops the areas if none was used for a while (so idle memory goes back).
    fn release_if_idle(&self) {
        let last = self.last_used.load(std::sync::atomic::Ordering::Relaxed);
        if chrono::Utc::now().timestamp() - last >= Self::IDLE {
            self.free.lock().unwrap_or_else(|e| e.into_inner()).clear();
        }
    }
}

/// Verifies `pw` against a parsed argon2 hash, with its own parameters (old hashes
/// keep verifying after the configured cost changes), computing into a reused work
/// area; constant-time in the comparison.
fn verify_with_area(work: &WorkAreas, pw: &[u8], hash: &PasswordHash<'_>) -> bool {
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(hash.algorithm) else {
        return false;
    };
    let version = match hash.version.map(Version::try_from).transpose() {
        Ok(v) => v.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let mut area = work.take(params.block_count());
    let ok = argon
        .hash_password_into_with_memory(pw, salt, &mut out, &mut area)
        .is_ok();
    work.give(area);
    ok && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    TooShort(usize),
    TooLong(usize),
    Common,
    ContainsPersonalInfo,
    TooWeak,
}

impl PolicyViolation {
    pub fn message(&self) -> String {
        match self {
            PolicyViolation::TooShort(n) => format!("must be at least {n} characters"),
            PolicyViolation::TooLong(n) => format!("must be at most {n} characters"),
            PolicyViolation::Common => "is a commonly used password".into(),
            PolicyViolation::ContainsPersonalInfo => {
                "must not be based on your email or login id".into()
            }
            PolicyViolation::TooWeak => "is too easy to guess".into(),
        }
    }
}

impl Passwords {
    pub fn new(policy: &PasswordConfig) -> anyhow::Result<Passwords> {
        let params = Params::new(
            policy.argon2_memory_kib,
            policy.argon2_iterations,
            policy.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("password.argon2_*: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon
            .hash_password(b"monban-dummy-password", &salt)
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))?
            .to_string();
        let n = if policy.hash_concurrency == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
        } else {
            policy.hash_concurrency
        };
        let inner = Arc::new(Inner {
            argon,
            permits: Semaphore::new(n),
            dummy_hash,
            policy: policy.clone(),
            work: WorkAreas::default(),
        });
        // Gives the work areas back after a quiet minute (when there is a runtime:
        // the command line hashes once and exits).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak = Arc::downgrade(&inner);
            rt.spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
                loop {
                    tick.tick().await;
                    match weak.upgrade() {
                        Some(inner) => inner.work.release_if_idle(),
                        None => break,
                    }
                }
            });
        }
        Ok(Passwords { inner })
    }

    /// Hashes a password into a PHC string (`$argon2id$v=19$m=…`).
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.inner.permits.acquire().await?;
        let inner = self.inner.clone();
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            inner
                .argon
                .hash_password(pw.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("argon2: {e}"))
        })
        .await?
    }

    /// Verifies `password` against `stored` (or, when there is none, against a dummy
    /// hash so the time taken does not reveal it). Constant-time in the comparison.
    pub async fn verify(&self, stored: Option<&str>, password: &str) -> bool {
        let Ok(_permit) = self.inner.permits.acquire().await else {
            return false;
        };
        let inner = self.inner.clone();
        let real = stored.is_some();
        let stored = stored.unwrap_or(&self.inner.dummy_hash).to_string();
        let pw = password.to_string();
        tokio::task::spawn_blocking(move || {
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return false;
            };
            let ok = verify_with_area(&inner.work, pw.as_bytes(), &parsed);
            ok && real
        })
        .await
        .unwrap_or(false)
    }

    /// Checks a new password against the policy. `personal` are the user's own
    /// strings (email, login id, name) that the password must not be built on.
    pub fn check_policy(
        &self,
        password: &str,
        personal: &[&str],
    ) -> Result<(), Vec<PolicyViolation>> {
        let p = &self.inner.policy;
        let mut v = Vec::new();
        let chars = password.chars().count();
        if chars < p.min_length {
            v.push(PolicyViolation::TooShort(p.min_length));
        }
        if chars > p.max_length {
            v.push(PolicyViolation::TooLong(p.max_length));
            return Err(v);
        }
        if p.reject_common || p.min_score > 0 {
            let entropy = zxcvbn::zxcvbn(password, personal);
            let whole_password_match = |dict: &str| {
                entropy.sequence().iter().any(|m| {
                    m.i == 0
                        && m.j + 1 >= chars
                        && matches!(&m.pattern, zxcvbn::matching::patterns::MatchPattern::Dictionary(d)
                            if format!("{:?}", d.dictionary_name) == dict)
                })
            };
            if p.reject_common && whole_password_match("Passwords") {
                v.push(PolicyViolation::Common);
            } else if whole_password_match("UserInputs") {
                v.push(PolicyViolation::ContainsPersonalInfo);
            } else if u8::from(entropy.score()) < p.min_score {
                v.push(PolicyViolation::TooWeak);
            }
        }
        if v.is_empty() {
            Ok(())
        } else {
            Err(v)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> Passwords {
        Passwords::new(&PasswordConfig {
            argon2_memory_kib: 64,
            argon2_iterations: 1,
            ..Default::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let p = fast();
        let h = p.hash("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert!(p.verify(Some(&h), "correct horse battery staple").await);
        assert!(!p.verify(Some(&h), "correct horse battery stapl").await);
        assert!(
            !p.verify(None, "monban-dummy-password").await,
            "dummy hash never verifies"
        );
        assert!(!p.verify(Some("not a hash"), "x").await);
    }

    /// Verification with a reused work area agrees with the argon2 crate's own, for
    /// hashes of other costs, versions and variants than the configured one (the
    /// area is resized), and reuses the area.
    #[tokio::test]
    async fn reused_work_area_verifies_like_the_crate() {
        use argon2::password_hash::PasswordVerifier;
        let p = fast();
        for (alg, version, m, t) in [
            (Algorithm::Argon2id, Version::V0x13, 64, 1),
            (Algorithm::Argon2id, Version::V0x13, 256, 2),
            (Algorithm::Argon2i, Version::V0x13, 64, 3),
            (Algorithm::Argon2d, Version::V0x10, 128, 1),
        ] {
            let a = Argon2::new(alg, version, Params::new(m, t, 1, None).unwrap());
            let salt = SaltString::generate(&mut OsRng);
            let h = a
                .hash_password(b"blue-Kettle-42", &salt)
                .unwrap()
                .to_string();
            let parsed = PasswordHash::new(&h).unwrap();
            for pw in ["blue-Kettle-42", "blue-Kettle-43", ""] {
                assert_eq!(
                    p.verify(Some(&h), pw).await,
                    a.verify_password(pw.as_bytes(), &parsed).is_ok(),
                    "{h} {pw}"
                );
            }
        }
        assert!(
            !p.inner.work.free.lock().unwrap().is_empty(),
            "kept for reuse"
        );
        p.inner
            .work
            .last_used
            .store(0, std::sync::atomic::Ordering::Relaxed);
        p.inner.work.release_if_idle();
        assert!(
            p.inner.work.free.lock().unwrap().is_empty(),
            "given back when idle"
        );
    }

    #[test]
    fn policy() {
        let p = fast();
        assert!(
            matches!(p.check_policy("short", &[]), Err(v) if v.contains(&PolicyViolation::TooShort(10)))
        );
        assert!(
            matches!(p.check_policy("password123", &[]), Err(v) if v.contains(&PolicyViolation::Common))
        );
        assert!(p.check_policy("qwertyuiop", &[]).is_err());
        assert!(p.check_policy("blue-Kettle-42-orbit", &[]).is_ok());
        assert!(p
            .check_policy("alice.tanaka@example.com", &["alice.tanaka@example.com"])
            .is_err());
        assert!(
            matches!(p.check_policy(&"x".repeat(300), &[]), Err(v) if v == vec![PolicyViolation::TooLong(256)])
        );
    }
}
