//! Accounts (用户): who may read, record events and upload layers, and the bearer tokens
//! that say so.
//!
//! A token is shown once, when its account is made; the store keeps only a salted Argon2id
//! hash of its secret, so a copied store gives no token away. A token names its account by
//! a random key (`lw_KEY_SECRET`), so checking one costs one hash, not one per account.
//!
//! # Examples
//!
//! ```
//! use landwatch::accounts::{AccessRole, IssuedToken};
//!
//! let issued = IssuedToken::generate().unwrap();
//! let token = issued.token.clone();
//! assert!(token.starts_with("lw_"));
//! assert!(issued.verify(&token));
//! assert!(!issued.verify("lw_0000000000000000_wrong"));
//! assert!(AccessRole::Admin.allows(AccessRole::Editor));
//! assert!(!AccessRole::Viewer.allows(AccessRole::Editor));
//! ```

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// 用户角色 — what an account may do; each role may do what the ones below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessRole {
    /// 查看 — reads a private server.
    Viewer,
    /// 编辑 — records disposal events (处置记录) as well.
    Editor,
    /// 管理员 — uploads layers and manages accounts as well.
    Admin,
}

impl AccessRole {
    /// Every role, lowest first.
    pub const ALL: [AccessRole; 3] = [AccessRole::Viewer, AccessRole::Editor, AccessRole::Admin];

    /// The name on the command line and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessRole::Viewer => "viewer",
            AccessRole::Editor => "editor",
            AccessRole::Admin => "admin",
        }
    }

    /// The Chinese label shown to bureau staff.
    pub fn label_zh(self) -> &'static str {
        match self {
            AccessRole::Viewer => "查看",
            AccessRole::Editor => "编辑",
            AccessRole::Admin => "管理员",
        }
    }

    /// Whether this role may do what `needed` may.
    pub fn allows(self, needed: AccessRole) -> bool {
        self >= needed
    }
}

impl fmt::Display for AccessRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AccessRole {
    type Err = String;

    fn from_str(s: &str) -> Result<AccessRole, String> {
        AccessRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role '{s}': give viewer, editor or admin"))
    }
}

/// What went wrong making or reading a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The text is not shaped like a landwatch token.
    #[error(
        "the token is not a landwatch token (lw_KEY_SECRET, as `landwatch user add` printed it)"
    )]
    Malformed,
    /// Hashing failed (never for the parameters used here).
    #[error("hashing the token failed: {0}")]
    Hash(String),
}

/// The parts of a token as a client sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedToken<'a> {
    /// The account's key (public, stored in clear).
    pub key: &'a str,
    /// The secret (only its hash is stored).
    pub secret: &'a str,
}

/// Length of the key, in hexadecimal digits.
const KEY_DIGITS: usize = 16;
/// Length of the secret, in hexadecimal digits (256 bits).
const SECRET_DIGITS: usize = 64;

impl<'a> PresentedToken<'a> {
    /// Split `lw_KEY_SECRET`; anything else is [`TokenError::Malformed`].
    pub fn parse(token: &'a str) -> Result<PresentedToken<'a>, TokenError> {
        let rest = token.strip_prefix("lw_").ok_or(TokenError::Malformed)?;
        let (key, secret) = rest.split_once('_').ok_or(TokenError::Malformed)?;
        let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex(key, KEY_DIGITS) || !hex(secret, SECRET_DIGITS) {
            return Err(TokenError::Malformed);
        }
        Ok(PresentedToken { key, secret })
    }
}

/// A new token: the text to hand over once, and what the store keeps of it.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    /// The whole token (`lw_KEY_SECRET`), printed once and never stored.
    pub token: String,
    /// The key, stored in clear to find the account.
    pub key: String,
    /// The secret's salted Argon2id hash in PHC form (`$argon2id$v=19$…`).
    pub hash: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl IssuedToken {
    /// A fresh random key and secret, and the secret's hash.
    pub fn generate() -> Result<IssuedToken, TokenError> {
        let key = hex(&rand::random::<[u8; KEY_DIGITS / 2]>());
        let secret = hex(&rand::random::<[u8; SECRET_DIGITS / 2]>());
        let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
            .map_err(|e| TokenError::Hash(e.to_string()))?;
        let hash = Argon2::default()
            .hash_password(secret.as_bytes(), &salt)
            .map_err(|e| TokenError::Hash(e.to_string()))?
            .to_string();
        Ok(IssuedToken {
            token: format!("lw_{key}_{secret}"),
            key,
            hash,
        })
    }

    /// Whether `token` is this one (see [`verify_secret`]).
    pub fn verify(&self, token: &str) -> bool {
        PresentedToken::parse(token)
            .is_ok_and(|t| t.key == self.key && verify_secret(&self.hash, t.secret))
    }
}

/// Whether `secret` hashes to the stored `hash` (Argon2id; the comparison of the hashes
/// takes the same time wherever they differ). A damaged hash matches nothing.
pub fn verify_secret(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(secret.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash no secret matches, checked against when a token names no account, so that an
/// unknown key takes as long to refuse as a wrong secret.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        IssuedToken::generate()
            .map(|t| t.hash)
            .unwrap_or_else(|_| "$argon2id$invalid".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_verifies_against_its_hash_only() {
        let a = IssuedToken::generate().unwrap();
        let b = IssuedToken::generate().unwrap();
        assert_ne!(a.token, b.token);
        assert_ne!(a.hash, b.hash);
        assert!(a.hash.starts_with("$argon2id$"), "{}", a.hash);
        assert!(
            !a.hash.contains(&a.token[20..]),
            "the secret is not in the hash"
        );
        assert!(a.verify(&a.token));
        assert!(!a.verify(&b.token));
        let t = PresentedToken::parse(&a.token).unwrap();
        assert!(verify_secret(&a.hash, t.secret));
        assert!(!verify_secret(&b.hash, t.secret));
        assert!(!verify_secret("not a hash", t.secret));
        assert!(!verify_secret(decoy_hash(), t.secret));
    }

    #[test]
    fn malformed_tokens_are_told_apart_before_any_hashing() {
        for bad in [
            "",
            "lw_",
            "lw_abc_def",
            "Bearer lw_x",
            "lw_0123456789abcdef_short",
            &format!("lw_0123456789abcdeg_{}", "a".repeat(64)),
            &format!("xx_0123456789abcdef_{}", "a".repeat(64)),
        ] {
            assert!(PresentedToken::parse(bad).is_err(), "{bad}");
        }
        let ok = format!("lw_0123456789abcdef_{}", "a".repeat(64));
        assert_eq!(PresentedToken::parse(&ok).unwrap().key, "0123456789abcdef");
    }

    #[test]
    fn roles_are_ordered_and_parsed() {
        assert!(AccessRole::Editor.allows(AccessRole::Viewer));
        assert!(AccessRole::Editor.allows(AccessRole::Editor));
        assert!(!AccessRole::Editor.allows(AccessRole::Admin));
        for r in AccessRole::ALL {
            assert_eq!(r.as_str().parse::<AccessRole>().unwrap(), r);
        }
        assert!("root".parse::<AccessRole>().is_err());
    }
}
