//! What makes a delivery verifiable and what spaces out redeliveries, kept pure so both can be
//! tested exactly.
//!
//! Signature: `Billingd-Signature: v1=<lowercase hex HMAC-SHA256(secret, "{timestamp}.{body}")>`
//! where `timestamp` is the `Billingd-Timestamp` header (unix seconds) and `body` the exact bytes
//! POSTed. Signing the timestamp with the body lets a receiver refuse old replays. While a secret
//! is being rotated, each secret in force signs, and the header lists them comma-separated
//! (`v1=<new>,v1=<old>`): a receiver that knows either secret verifies one of them.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::time::Duration;

/// The `Billingd-Signature` header value for one POST.
pub fn signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("v1={hex}")
}

/// The `Billingd-Signature` header value signed by each secret in force.
pub fn signatures(secrets: &[SecretString], timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|s| signature(s.expose_secret().as_bytes(), timestamp, body))
        .collect::<Vec<_>>()
        .join(",")
}

/// The wait before redelivery after `attempt` failed POSTs (1-based): `min` doubled per attempt,
/// capped at `max`, then "equal jitter" — a uniform pick in the upper half of that — so the
/// retries of many deliveries to one recovering receiver do not arrive together. `unit` is a
/// uniform random number in [0, 1). Always within [min, max].
pub fn backoff(attempt: u32, min: Duration, max: Duration, unit: f64) -> Duration {
    let doublings = attempt.saturating_sub(1).min(32);
    let exp = min.saturating_mul(1u32 << doublings.min(31)).min(max);
    let half = exp / 2;
    (half + half.mul_f64(unit.clamp(0.0, 1.0))).clamp(min, max)
}

/// A uniform number in [0, 1) from the operating system's randomness (a v4 UUID's random bits;
/// the crate has no other random source, and jitter needs no more than this).
pub fn random_unit() -> f64 {
    let (_, low) = uuid::Uuid::new_v4().as_u64_pair();
    // The low 53 bits of a v4 UUID are all random (the version and variant bits lie above).
    (low & ((1u64 << 53) - 1)) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_signed_with_two_secrets_verifies_under_either() {
        let secrets = [
            SecretString::from("new-secret-0123456789"),
            SecretString::from("old-secret-0123456789"),
        ];
        let header = signatures(&secrets, 1_800_000_000, b"{}");
        for secret in ["new-secret-0123456789", "old-secret-0123456789"] {
            let mine = signature(secret.as_bytes(), 1_800_000_000, b"{}");
            assert!(header.split(',').any(|s| s == mine), "{secret}: {header}");
        }
        let stranger = signature(b"someone-else-0123456789", 1_800_000_000, b"{}");
        assert!(!header.split(',').any(|s| s == stranger));
        assert_eq!(
            signatures(&secrets[..1], 1, b"x"),
            signature(secrets[0].expose_secret().as_bytes(), 1, b"x")
        );
    }

    #[test]
    fn the_signature_matches_an_independently_computed_vector() {
        // python3: hmac.new(b"whsec_test_0123456789", b'1798761600.{"id":"evt"}', sha256).hexdigest()
        assert_eq!(
            signature(b"whsec_test_0123456789", 1_798_761_600, br#"{"id":"evt"}"#),
            "v1=659e743f6495bb04dc77583cbae8d2ddb866f2b82e328ff4e7db1c014b5dc8bb"
        );
    }

    #[test]
    fn backoff_doubles_within_its_bounds() {
        let (min, max) = (Duration::from_secs(5), Duration::from_secs(3600));
        // unit 0 is the lower edge of the jitter (half the exponential delay), never below min.
        assert_eq!(backoff(1, min, max, 0.0), min);
        assert_eq!(backoff(2, min, max, 0.0), Duration::from_secs(5));
        assert_eq!(backoff(3, min, max, 0.0), Duration::from_secs(10));
        assert_eq!(backoff(4, min, max, 0.5), Duration::from_secs(30));
        for attempt in [1, 2, 5, 10, 11, 12, 40, u32::MAX] {
            for unit in [0.0, 0.25, 0.5, 0.999] {
                let d = backoff(attempt, min, max, unit);
                assert!(min <= d && d <= max, "{attempt} {unit}: {d:?}");
            }
        }
        assert!(backoff(30, min, max, 0.0) >= Duration::from_secs(1800));
    }

    #[test]
    fn random_units_are_spread_over_zero_to_one() {
        let draws: Vec<f64> = (0..200).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        assert!(draws.iter().any(|u| *u < 0.25) && draws.iter().any(|u| *u > 0.75));
    }
}
