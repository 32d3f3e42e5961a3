//! Time-based one-time passwords (RFC 6238 over RFC 4226): HMAC-SHA1, 30-second steps, six
//! digits — what every authenticator app speaks.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Seconds per time step.
pub const STEP_SECONDS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps before and after the current one whose codes are still accepted (clock drift).
pub const WINDOW: i64 = 1;

/// A fresh 160-bit secret, base32 (the form authenticator apps take).
pub fn generate_secret() -> String {
    let mut secret = [0u8; 20];
    rand::fill(&mut secret);
    data_encoding::BASE32_NOPAD.encode(&secret)
}

/// The time step of a Unix time.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code of `step` for a raw secret, with `digits` digits.
pub fn code(secret: &[u8], step: i64, digits: u32) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&(step as u64).to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let bin = u32::from_be_bytes([hash[offset] & 0x7f, hash[offset + 1], hash[offset + 2], hash[offset + 3]]);
    bin % 10u32.pow(digits)
}

/// The step whose code `given` is, among the steps within [`WINDOW`] of `unix_seconds`; `None`
/// when it matches none (or the secret is not valid base32).
pub fn matching_step(secret_base32: &str, given: &str, unix_seconds: i64) -> Option<i64> {
    let secret = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    let given = given.trim();
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_seconds);
    (now - WINDOW..=now + WINDOW).find(|&step| format!("{:06}", code(&secret, step, DIGITS)) == given)
}

/// The six-digit code of a base32 secret at a Unix time (what an authenticator app shows).
pub fn code_at(secret_base32: &str, unix_seconds: i64) -> Option<String> {
    let secret = data_encoding::BASE32_NOPAD.decode(secret_base32.as_bytes()).ok()?;
    Some(format!("{:06}", code(&secret, step_at(unix_seconds), DIGITS)))
}

/// The `otpauth://` URI an authenticator app scans (as a QR code) to enrol.
pub fn provisioning_uri(issuer: &str, account: &str, secret_base32: &str) -> String {
    format!(
        "otpauth://totp/{}:{}?secret={secret_base32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}",
        encode(issuer),
        encode(account),
        encode(issuer)
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B (SHA-1 rows), eight digits.
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (t, expected) in [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(code(secret, step_at(t), 8), expected, "T = {t}");
        }
    }

    #[test]
    fn codes_match_within_one_step_either_side() {
        let b32 = data_encoding::BASE32_NOPAD.encode(b"12345678901234567890");
        // 287082 is the code of step 1 (T = 30..59).
        assert_eq!(matching_step(&b32, "287082", 59), Some(1));
        assert_eq!(matching_step(&b32, "287082", 89), Some(1), "one step late");
        assert_eq!(matching_step(&b32, "287082", 0), Some(1), "one step early");
        assert_eq!(matching_step(&b32, "287082", 90), None, "two steps late");
        assert_eq!(matching_step(&b32, "28708", 59), None);
        assert_eq!(matching_step(&b32, "28708a", 59), None);
    }

    #[test]
    fn provisioning_uri_is_percent_encoded() {
        assert_eq!(
            provisioning_uri("Orgata", "ana+ops@acme.example", "ABC"),
            "otpauth://totp/Orgata:ana%2Bops%40acme.example?secret=ABC&issuer=Orgata&algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(generate_secret().len(), 32);
    }
}
