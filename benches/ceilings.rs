//! This machine's ceilings for Monban's hot paths: raw JWS signatures per second per
//! algorithm (RS256 RSA-2048, ES256 P-256, EdDSA Ed25519; aws-lc-rs, the library
//! Monban signs with) and argon2id password hashes per second with Monban's configured
//! parameters (`[password]`, environment overrides honoured), each on one core and on
//! all cores.
//!
//! `cargo bench --bench ceilings` prints a table. `bench/run.sh` reads the
//! machine-readable lines (`ceiling <name> <per-second>`) from the same output.
//! `CEILING_SECS` sets the seconds per measurement (default 3).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
    RSA_PKCS1_SHA256,
};

/// A signing input the size of a typical access token's header.payload.
fn signing_input() -> Vec<u8> {
    let mut v = b"eyJhbGciOiJSUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.".to_vec();
    v.extend(std::iter::repeat_n(b'A', 300));
    v
}

/// Runs `op` on `threads` threads for `secs`; returns operations per second.
fn rate<F>(threads: usize, secs: f64, make: impl Fn() -> F) -> f64
where
    F: FnMut() + Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let mut op = make();
            let stop = stop.clone();
            let count = count.clone();
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    op();
                    n += 1;
                }
                count.fetch_add(n, Ordering::Relaxed);
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().expect("worker thread");
    }
    count.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let secs: f64 = std::env::var("CEILING_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let cfg = monban::Config::load(None).expect("monban configuration");
    let p = &cfg.password;
    let input = Arc::new(signing_input());
    let rng = SystemRandom::new();

    let rsa = Arc::new(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 key"));
    let ec_pkcs8 =
        EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("P-256 key");
    let ec = Arc::new(
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, ec_pkcs8.as_ref())
            .expect("P-256 key"),
    );
    let ed = Arc::new(Ed25519KeyPair::generate().expect("Ed25519 key"));
    let _ = ed.public_key();

    let argon = Arc::new(Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(
            p.argon2_memory_kib,
            p.argon2_iterations,
            p.argon2_parallelism,
            None,
        )
        .expect("argon2 parameters"),
    ));

    println!(
        "ceilings on {cores} core(s), {secs} s each; argon2id m={} KiB t={} p={}",
        p.argon2_memory_kib, p.argon2_iterations, p.argon2_parallelism
    );
    println!(
        "{:<10} {:>14} {:>14}",
        "operation", "1 core /s", "all cores /s"
    );
    let mut lines = Vec::new();
    for name in ["rs256", "es256", "eddsa", "argon2"] {
        let mut measured = [0.0f64; 2];
        for (i, threads) in [1, cores].into_iter().enumerate() {
            let input = input.clone();
            measured[i] = match name {
                "rs256" => {
                    let key = rsa.clone();
                    rate(threads, secs, move || {
                        let key = key.clone();
                        let input = input.clone();
                        let rng = SystemRandom::new();
                        let mut sig = vec![0u8; key.public_modulus_len()];
                        move || {
                            key.sign(&RSA_PKCS1_SHA256, &rng, &input, &mut sig)
                                .expect("RSA sign");
                        }
                    })
                }
                "es256" => {
                    let key = ec.clone();
                    rate(threads, secs, move || {
                        let key = key.clone();
                        let input = input.clone();
                        let rng = SystemRandom::new();
                        move || {
                            key.sign(&rng, &input).expect("ECDSA sign");
                        }
                    })
                }
                "eddsa" => {
                    let key = ed.clone();
                    rate(threads, secs, move || {
                        let key = key.clone();
                        let input = input.clone();
                        move || {
                            std::hint::black_box(key.sign(&input));
                        }
                    })
                }
                _ => {
                    let argon = argon.clone();
                    rate(threads, secs.max(2.0), move || {
                        let argon = argon.clone();
                        let salt = SaltString::encode_b64(b"monban-bench-salt").expect("salt");
                        move || {
                            let h = argon
                                .hash_password(b"correct horse battery staple", &salt)
                                .expect("argon2");
                            std::hint::black_box(h);
                        }
                    })
                }
            };
        }
        println!("{name:<10} {:>14.1} {:>14.1}", measured[0], measured[1]);
        lines.push(format!("ceiling {name}_1core {:.1}", measured[0]));
        lines.push(format!("ceiling {name}_allcores {:.1}", measured[1]));
    }
    for l in lines {
        println!("{l}");
    }
}
