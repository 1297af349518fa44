//! Secrets: argon2id password hashes, generated passwords, and session tokens. All random
//! bytes come from the operating system (`SysRng`). There is no default password anywhere:
//! a user exists only once `firefly users add` made one, with a password generated here or
//! read from stdin.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::TryRng;
use rand::rngs::SysRng;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// Shortest password accepted from stdin.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (bytes): argon2 reads all of it.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Characters of a generated password: no look-alikes (0/O, 1/l/I).
const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// Length of a generated password: 20 of 57 characters, about 116 bits.
const GENERATED_CHARS: usize = 20;

/// What can go wrong with a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// Refuses a password that is common or easy to guess: zxcvbn's estimate (its frequency
/// lists of common passwords, names and words, keyboard patterns, dates, repeats, with the
/// user's name as a hint) must be at least 3 of 4, i.e. more than 10^8 guesses. Returns why.
pub fn check_strength(password: &str, user_inputs: &[&str]) -> Result<(), String> {
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    if u8::from(estimate.score()) >= 3 {
        return Ok(());
    }
    let hint = estimate
        .feedback()
        .and_then(|f| f.warning().map(|w| format!(" ({w})")))
        .unwrap_or_default();
    Err(format!(
        "the password is too common or too easy to guess{hint}; \
         use a longer passphrase of unrelated words"
    ))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    SysRng
        .try_fill_bytes(&mut bytes)
        .map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The argon2id PHC string for `password` (argon2's defaults: 19 MiB, 2 passes, a random
/// 16-byte salt).
pub fn hash(password: &str) -> Result<String, SecretError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Verifies `password` against a hash of a random password nobody knows, to spend the same
/// time as a real check when the user name is unknown (so timing does not tell which
/// names exist). The answer is always no.
pub fn verify_nobody(password: &str) -> bool {
    static NOBODY: OnceLock<Option<String>> = OnceLock::new();
    let phc = NOBODY.get_or_init(|| {
        let secret = random_bytes::<32>().ok()?;
        hash(&hex(&secret)).ok()
    });
    if let Some(phc) = phc {
        std::hint::black_box(verify(password, phc));
    }
    false
}

/// A new random password for `firefly users add`.
pub fn generate() -> Result<String, SecretError> {
    let mut out = String::with_capacity(GENERATED_CHARS);
    while out.len() < GENERATED_CHARS {
        for b in random_bytes::<32>()? {
            // Rejection sampling: 228 = 4 x 57, so every character is equally likely.
            if usize::from(b) < 4 * ALPHABET.len() && out.len() < GENERATED_CHARS {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

/// A new session token: 32 random bytes as 64 hex digits.
pub fn new_token() -> Result<String, SecretError> {
    Ok(hex(&random_bytes::<32>()?))
}

/// Whether `token` has the shape of a session token (64 lowercase hex digits).
pub fn is_token(token: &str) -> bool {
    token.len() == 64
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The SHA-256 of a token, as stored (hex). A token has 256 random bits, so a fast hash is
/// enough: nobody can search that space, and lookups stay one indexed query.
pub fn token_sha256(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A short random reference for an internal error, shown to the client and logged.
pub fn reference() -> String {
    random_bytes::<6>()
        .map(|b| hex(&b))
        .unwrap_or_else(|_| "unavailable".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_passwords_are_refused() {
        for weak in [
            "password1234",
            "qwertyuiop123",
            "123456789012",
            "iloveyou2024",
            "ana.lopez2024",
            "Password123!",
        ] {
            assert!(check_strength(weak, &["ana.lopez"]).is_err(), "{weak}");
        }
        for strong in [
            "correct horse battery staple",
            "a long enough passphrase",
            "vK7dq-Lm2x-Rt9w",
        ] {
            assert_eq!(check_strength(strong, &["ana"]), Ok(()), "{strong}");
        }
        let generated = generate().unwrap();
        assert_eq!(check_strength(&generated, &[]), Ok(()));
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$"), "{a}");
        assert_ne!(a, b, "a fresh salt each time");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("anything", "not a hash"));
        assert!(!verify_nobody("anything"));
    }

    #[test]
    fn generated_secrets_have_their_shape() {
        let p = generate().unwrap();
        assert_eq!(p.len(), GENERATED_CHARS);
        assert!(p.bytes().all(|b| ALPHABET.contains(&b)), "{p}");
        assert_ne!(p, generate().unwrap());
        let t = new_token().unwrap();
        assert!(is_token(&t), "{t}");
        assert!(!is_token(&t.to_uppercase()));
        assert!(!is_token("abc"));
        // SHA-256("abc"), from FIPS 180-2.
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
