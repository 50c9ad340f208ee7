//! HMAC-SHA256 as CertiTrade uses it in both directions: request signatures
//! (client → API) and callback `sha256code`s (simulator → merchant). Digests
//! travel as lowercase hex with no separators, as CertiTrade's own clients
//! print them.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &str, parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any size");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// Lowercase hex HMAC-SHA256 of the concatenated parts.
pub fn sign(key: &str, parts: &[&[u8]]) -> String {
    hex::encode(mac(key, parts).finalize().into_bytes())
}

/// Whether `hex_digest` (64 lowercase hex digits) is the HMAC of the parts.
/// Upper-case hex is refused: the real server's leniency is unknown and
/// both official clients send lowercase, so a client should too.
pub fn verify(key: &str, parts: &[&[u8]], hex_digest: &str) -> bool {
    let well_formed = hex_digest.len() == 64
        && hex_digest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    let Ok(digest) = hex::decode(hex_digest) else {
        return false;
    };
    // verify_slice compares in constant time.
    well_formed && mac(key, parts).verify_slice(&digest).is_ok()
}

/// The `sha256code` of a callback: HMAC over
/// `paymentid + merchantid + function + description + timestamp`.
pub fn callback_code(
    key: &str,
    payment_id: &str,
    merchant_id: &str,
    function: &str,
    description: &str,
    timestamp: &str,
) -> String {
    sign(
        key,
        &[
            payment_id.as_bytes(),
            merchant_id.as_bytes(),
            function.as_bytes(),
            description.as_bytes(),
            timestamp.as_bytes(),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        assert_eq!(
            sign("Jefe", &[b"what do ya want ", b"for nothing?"]),
            expected
        );
        assert!(verify("Jefe", &[b"what do ya want for nothing?"], expected));
        assert!(!verify(
            "Jefe",
            &[b"what do ya want for nothing!"],
            expected
        ));
        assert!(!verify(
            "Jefe",
            &[b"what do ya want for nothing?"],
            &expected.to_uppercase()
        ));
        assert!(!verify("Jefe", &[b"what do ya want for nothing?"], "zz"));
    }
}
