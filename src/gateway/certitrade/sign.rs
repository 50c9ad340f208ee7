//! CertiTrade request signing (docs/gateways.md, "CertiTrade: request signing"): every request
//! carries a `Date` header and `Authorization: CertiTrade m<merchant>:<hex HMAC-SHA256(api key,
//! METHOD + full URL + Date + body)>`, over the exact bytes sent. Callbacks carry `sha256code` =
//! HMAC-SHA256(api key, paymentid + merchantid + function + description + timestamp).

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hex_hmac(key: &[u8], parts: &[&[u8]]) -> String {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Authorization` header value for one request.
pub fn authorization(
    merchant_id: u32,
    api_key: &str,
    method: &str,
    full_url: &str,
    date: &str,
    body: &[u8],
) -> String {
    let code = hex_hmac(
        api_key.as_bytes(),
        &[
            method.as_bytes(),
            full_url.as_bytes(),
            date.as_bytes(),
            body,
        ],
    );
    format!("CertiTrade m{merchant_id}:{code}")
}

/// The `Date` header: RFC 1123 / IMF-fixdate in GMT, as CertiTrade's clients send it.
pub fn http_date(at: Timestamp) -> String {
    jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .expect("timestamps within jiff's range print")
}

/// Parses a `Date` header back (for resends within the gateway's clock-skew window).
pub fn parse_http_date(text: &str) -> Option<Timestamp> {
    jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()
}

/// The `sha256code` a genuine callback carries.
pub fn callback_code(
    api_key: &str,
    payment_id: &str,
    merchant_id: &str,
    function: &str,
    description: &str,
    timestamp: &str,
) -> String {
    hex_hmac(
        api_key.as_bytes(),
        &[
            payment_id.as_bytes(),
            merchant_id.as_bytes(),
            function.as_bytes(),
            description.as_bytes(),
            timestamp.as_bytes(),
        ],
    )
}

/// Compares a presented code with the expected one in constant time.
pub fn codes_match(presented: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed outside this code, with Python's hmac module and with
    // `openssl dgst -sha256 -hmac` (both agree):
    //   python3 -c 'import hmac,hashlib; print(hmac.new(KEY, MSG, hashlib.sha256).hexdigest())'
    #[test]
    fn signs_a_post_like_independent_implementations() {
        let auth = authorization(
            1234,
            "sim-certitrade-key",
            "POST",
            "https://apitest.certitrade.net/ctpsp/ws/2.0/payment",
            "Fri, 23 Nov 2002 09:50:36 GMT",
            br#"{"amount":"1000","currency":"SEK"}"#,
        );
        assert_eq!(
            auth,
            "CertiTrade m1234:d3e0faee514e1f975fa41e303e9a56921b0915935f8855b67d120a9cd356159f"
        );
    }

    #[test]
    fn signs_a_get_with_a_query_and_no_body() {
        let auth = authorization(
            7,
            "0123456789abcdef",
            "GET",
            "https://apitest.certitrade.net/ctpsp/ws/2.0/payment?reference=ab-1",
            "Sat, 21 Nov 2026 12:00:00 GMT",
            b"",
        );
        assert_eq!(
            auth,
            "CertiTrade m7:a2dd8a40264c34e91840a1df132cef6d13256b17bc48a89d05b63aaa1d836dab"
        );
    }

    #[test]
    fn verifies_a_callback_code() {
        let expected = callback_code(
            "sim-certitrade-key",
            "1234",
            "5678",
            "APPROVE",
            "0000",
            "20261121120000",
        );
        assert_eq!(
            expected,
            "e20469299d0fa021090cab6b8730739b28c9749530336a92fccf171c9fc180a2"
        );
        assert!(codes_match(&expected, &expected));
        assert!(!codes_match(
            "e20469299d0fa021090cab6b8730739b28c9749530336a92fccf171c9fc180a3",
            &expected
        ));
        assert!(!codes_match("short", &expected));
    }

    #[test]
    fn dates_are_imf_fixdate_in_gmt_and_round_trip() {
        let at: Timestamp = "2002-11-23T09:50:36Z".parse().unwrap();
        let text = http_date(at);
        assert_eq!(text, "Sat, 23 Nov 2002 09:50:36 GMT");
        assert_eq!(parse_http_date(&text), Some(at));
    }
}
