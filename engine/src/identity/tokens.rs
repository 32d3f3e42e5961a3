//! Access tokens: JWTs signed with HMAC-SHA256 (RFC 7519, `alg` HS256), checked for signature,
//! issuer, audience and expiry. Keys come from configuration; a key id (`kid`) in the header picks
//! the verifying key, so a rotated-out key keeps verifying the tokens it signed until they expire.

use crate::error::{EngineError, Result};
use crate::ids::*;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The issuer of every token.
pub const ISSUER: &str = "orgata";
/// The audience of access tokens (REST, UI, MCP over HTTP).
pub const ACCESS_AUDIENCE: &str = "orgata-api";
/// The audience of the short-lived token that carries a login from its password step to its
/// second-factor step; it is no access token.
pub const MFA_AUDIENCE: &str = "orgata-mfa";
/// Shortest signing key accepted, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user.
    pub sub: UserId,
    /// The user's organisation.
    pub org: OrgId,
    /// The login session (refresh-token family) the token belongs to.
    pub sid: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

struct Key {
    id: String,
    secret: Vec<u8>,
}

impl Key {
    fn new(secret: Vec<u8>) -> Result<Key> {
        if secret.len() < MIN_KEY_BYTES {
            return Err(EngineError::Config(format!(
                "a signing key must be at least {MIN_KEY_BYTES} bytes, this one is {}",
                secret.len()
            )));
        }
        let id = hex::encode(&Sha256::digest(&secret)[..8]);
        Ok(Key { id, secret })
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length")
    }
}

/// The keys tokens are signed and verified with.
pub struct SigningKeys {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeys").field("current", &self.current.id).finish_non_exhaustive()
    }
}

impl SigningKeys {
    /// Signs with `current`; also verifies tokens signed with any of `previous`.
    pub fn new(current: Vec<u8>, previous: Vec<Vec<u8>>) -> Result<Self> {
        Ok(Self { current: Key::new(current)?, previous: previous.into_iter().map(Key::new).collect::<Result<_>>()? })
    }

    /// A fresh random key (tokens signed with it die with the process).
    pub fn generate() -> Self {
        let mut secret = vec![0u8; 32];
        rand::fill(secret.as_mut_slice());
        Self::new(secret, Vec::new()).expect("32 bytes is long enough")
    }

    /// The id of the signing key.
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// A signed token carrying `claims`.
    pub fn sign<C: Serialize>(&self, claims: &C) -> String {
        let header = Header { alg: "HS256".into(), typ: "JWT".into(), kid: self.current.id.clone() };
        let header = B64.encode(serde_json::to_vec(&header).expect("header serialises"));
        let body = B64.encode(serde_json::to_vec(claims).expect("claims serialise"));
        let signing_input = format!("{header}.{body}");
        let mut mac = self.current.mac();
        mac.update(signing_input.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token whose signature, issuer, audience and expiry all hold at `now`;
    /// anything else is `Unauthenticated` with the reason.
    pub fn verify<C: for<'de> Deserialize<'de>>(&self, token: &str, audience: &str, now: DateTime<Utc>) -> Result<C> {
        let bad = |why: &str| EngineError::Unauthenticated(why.to_string());
        let mut parts = token.split('.');
        let (Some(header), Some(body), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("malformed token"));
        };
        let decoded: Header = B64
            .decode(header)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
            .ok_or_else(|| bad("malformed token header"))?;
        if decoded.alg != "HS256" {
            return Err(bad("unsupported token algorithm"));
        }
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == decoded.kid)
            .ok_or_else(|| bad("token signed with an unknown key"))?;
        let signature = B64.decode(signature).map_err(|_| bad("malformed token signature"))?;
        let mut mac = key.mac();
        mac.update(header.as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        mac.verify_slice(&signature).map_err(|_| bad("invalid token signature"))?;
        let claims: serde_json::Value = B64
            .decode(body)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| bad("malformed token claims"))?;
        if claims.get("iss").and_then(|v| v.as_str()) != Some(ISSUER) {
            return Err(bad("token from another issuer"));
        }
        if claims.get("aud").and_then(|v| v.as_str()) != Some(audience) {
            return Err(bad("token for another audience"));
        }
        let exp = claims.get("exp").and_then(|v| v.as_i64()).ok_or_else(|| bad("token without expiry"))?;
        if now.timestamp() >= exp {
            return Err(bad("token expired"));
        }
        serde_json::from_value(claims).map_err(|_| bad("malformed token claims"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn claims(exp: i64) -> AccessClaims {
        AccessClaims {
            iss: ISSUER.into(),
            aud: ACCESS_AUDIENCE.into(),
            sub: "u1".into(),
            org: "o1".into(),
            sid: "s1".into(),
            iat: 1_000,
            exp,
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).unwrap()
    }

    fn reason(r: Result<AccessClaims>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let keys = SigningKeys::new(vec![7; 32], vec![]).unwrap();
        let token = keys.sign(&claims(2_000));
        assert_eq!(keys.verify::<AccessClaims>(&token, ACCESS_AUDIENCE, at(1_999)).unwrap(), claims(2_000));
        assert_eq!(reason(keys.verify(&token, ACCESS_AUDIENCE, at(2_000))), "not authenticated: token expired");
    }

    #[test]
    fn tampering_wrong_audience_and_unknown_keys_are_refused() {
        let keys = SigningKeys::new(vec![7; 32], vec![]).unwrap();
        let token = keys.sign(&claims(2_000));
        // A changed claim (another user) with the original signature.
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        let mut forged = claims(2_000);
        forged.sub = "u2".into();
        parts[1] = B64.encode(serde_json::to_vec(&forged).unwrap());
        assert_eq!(
            reason(keys.verify(&parts.join("."), ACCESS_AUDIENCE, at(1_500))),
            "not authenticated: invalid token signature"
        );
        // A flipped signature byte.
        let mut sig = B64.decode(token.rsplit('.').next().unwrap()).unwrap();
        sig[0] ^= 1;
        let flipped = format!("{}.{}", token.rsplit_once('.').unwrap().0, B64.encode(sig));
        assert_eq!(
            reason(keys.verify(&flipped, ACCESS_AUDIENCE, at(1_500))),
            "not authenticated: invalid token signature"
        );
        assert_eq!(
            reason(keys.verify(&token, MFA_AUDIENCE, at(1_500))),
            "not authenticated: token for another audience"
        );
        let other = SigningKeys::new(vec![8; 32], vec![]).unwrap();
        assert_eq!(
            reason(other.verify(&token, ACCESS_AUDIENCE, at(1_500))),
            "not authenticated: token signed with an unknown key"
        );
        assert_eq!(reason(keys.verify("a.b", ACCESS_AUDIENCE, at(1_500))), "not authenticated: malformed token");
        // `alg: none` is never accepted.
        let none = format!("{}.{}.", B64.encode(br#"{"alg":"none","typ":"JWT","kid":"x"}"#), parts[1]);
        assert_eq!(
            reason(keys.verify(&none, ACCESS_AUDIENCE, at(1_500))),
            "not authenticated: unsupported token algorithm"
        );
    }

    #[test]
    fn a_rotated_out_key_still_verifies_its_tokens() {
        let old = SigningKeys::new(vec![1; 32], vec![]).unwrap();
        let token = old.sign(&claims(2_000));
        let rotated = SigningKeys::new(vec![2; 32], vec![vec![1; 32]]).unwrap();
        assert!(rotated.verify::<AccessClaims>(&token, ACCESS_AUDIENCE, at(1_500)).is_ok());
        assert_ne!(rotated.key_id(), old.key_id());
        assert!(SigningKeys::new(vec![1; 31], vec![]).is_err());
    }
}
