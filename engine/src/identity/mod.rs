//! Identity: signed access tokens, rotating refresh tokens, API keys, TOTP second factors and
//! login throttling — the records and the primitives. The operations (register, login, refresh,
//! API keys, enrolment) are the engine's, in `service/identity.rs`.

use crate::access::Permissions;
use crate::ids::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub mod tokens;
pub mod totp;

pub use tokens::{AccessClaims, SigningKeys};

/// A refresh token as stored: only its hash, its family (one per login) and its state.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefreshToken {
    pub token_hash: String,
    pub family_id: String,
    pub user_id: UserId,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An API key for agents and automation: it acts as the user who created it, within one team and
/// with at most the listed permissions. Its secret is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKey {
    pub id: String,
    pub org_id: OrgId,
    pub team_id: TeamId,
    pub user_id: UserId,
    pub name: String,
    #[sqlx(json)]
    pub permissions: Permissions,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user's TOTP enrolment.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TotpRow {
    pub user_id: UserId,
    /// The shared secret, base32.
    pub secret: String,
    /// Set once a first code was verified; until then the second factor is not required.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last time step a code was accepted for.
    pub last_step: i64,
}

/// Failed sign-ins of one subject (`account:<user id>` or `address:<client address>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Throttle {
    pub subject: String,
    pub org_id: Option<OrgId>,
    pub failures: i64,
    pub first_failure: DateTime<Utc>,
    pub last_failure: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

/// SHA-256 in hex. Tokens, API key secrets and recovery codes are high-entropy random strings,
/// so a fast hash is the right one for them (passwords use argon2id).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// `bytes` random bytes from the operating system, base64url without padding.
pub fn random_token(bytes: usize) -> String {
    use base64::Engine as _;
    let mut buf = vec![0u8; bytes];
    rand::fill(buf.as_mut_slice());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use crate::service::{Login, NewUser, Registration};

    #[test]
    fn debug_output_never_shows_a_password() {
        let login = Login { password: "hunter2hunter2".into(), code: Some("123456".into()), ..Default::default() };
        let registration = Registration {
            organisation_name: "A".into(),
            organisation_slug: "a".into(),
            team_name: "T".into(),
            email: "a@a.test".into(),
            display_name: "A".into(),
            password: "hunter2hunter2".into(),
        };
        let user = NewUser { password: Some("hunter2hunter2".into()), ..Default::default() };
        for text in [format!("{login:?}"), format!("{registration:?}"), format!("{user:?}")] {
            assert!(!text.contains("hunter2") && !text.contains("123456"), "{text}");
        }
    }
}
