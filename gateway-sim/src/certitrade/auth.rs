//! Per-request authentication (docs/gateways.md, "CertiTrade: request signing"):
//! a fresh RFC 1123 `Date` header and `Authorization: CertiTrade
//! m<merchantId>:<hex HMAC-SHA256>` over `METHOD + full URL + Date + body`.
//!
//! The Date is checked first (401) because the signature covers it; only then
//! the credentials and signature (403, title "Not authorized"). The full URL is
//! `http://{Host}{path and query}` exactly as the client sent them, so a client
//! must sign the very URL it requests.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, Method, Uri, header};

use super::problem::Problem;
use super::signature;
use super::state::CertiTradeState;

/// CertiTrade's docs example, with its weekday fixed (23 Nov 2002 was a
/// Saturday; weekdays are checked).
const EXAMPLE_DATE: &str = "Fri, 22 Nov 2002 09:50:36 GMT";

/// Authenticates one API request and returns its `Date` value (half of a
/// resend's identity). `uri` must be the request URI as received (routes
/// are registered on full paths, never nested, so it is).
pub fn verify(
    state: &CertiTradeState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<String, Problem> {
    let date = check_date(headers, state.date_skew, state.clock.now_system_time())?;
    let (merchant_id, digest) = credentials(headers)?;
    if merchant_id != state.merchant_id.to_string() {
        return Err(Problem::not_authorized(format!(
            "Unknown merchant m{merchant_id}"
        )));
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Problem::not_authorized("The Host header is missing"))?;
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = format!("http://{host}{path}");
    let parts = [
        method.as_str().as_bytes(),
        url.as_bytes(),
        date.as_bytes(),
        body,
    ];
    if signature::verify(&state.api_key, &parts, digest) {
        Ok(date.to_owned())
    } else {
        // Spelling out what was signed saves a client author an afternoon;
        // the expected digest itself is never revealed.
        Err(Problem::not_authorized(format!(
            "Signature mismatch: expected lowercase hex HMAC-SHA256(api key, {:?} + {url:?} + {date:?} + the {} body bytes)",
            method.as_str(),
            body.len()
        )))
    }
}

/// The raw `Date` value (it is part of the signed string), if fresh enough.
fn check_date(headers: &HeaderMap, skew: Duration, now: SystemTime) -> Result<&str, Problem> {
    let raw = headers
        .get(header::DATE)
        .ok_or_else(|| Problem::unauthenticated("The Date header is missing"))?
        .to_str()
        .map_err(|_| Problem::unauthenticated("The Date header is not ASCII"))?;
    let unreadable = || {
        Problem::unauthenticated(format!(
            "The Date header {raw:?} is not an RFC 1123 GMT date like {EXAMPLE_DATE:?}"
        ))
    };
    let sent = httpdate::parse_http_date(raw).map_err(|_| unreadable())?;
    // httpdate also reads the obsolete RFC 850 and asctime forms; CertiTrade
    // documents only `D, d M Y H:i:s GMT`, so insist on the canonical form.
    if httpdate::fmt_http_date(sent) != raw {
        return Err(unreadable());
    }
    let distance = now
        .duration_since(sent)
        .or_else(|_| sent.duration_since(now))
        .unwrap_or_default();
    if distance > skew {
        return Err(Problem::unauthenticated(format!(
            "The Date header is {} s away from the server clock (at most {} s allowed)",
            distance.as_secs(),
            skew.as_secs()
        )));
    }
    Ok(raw)
}

/// `(merchant id, hex digest)` from `CertiTrade m<id>:<digest>`.
fn credentials(headers: &HeaderMap) -> Result<(&str, &str), Problem> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| Problem::not_authorized("The Authorization header is missing"))?
        .to_str()
        .map_err(|_| Problem::not_authorized("The Authorization header is not ASCII"))?;
    let malformed = || {
        Problem::not_authorized(
            "Authorization must look like \"CertiTrade m<merchantId>:<hashCode>\"",
        )
    };
    let (scheme, rest) = value.trim().split_once(' ').ok_or_else(malformed)?;
    // The docs spell it "Certitrade", both official clients "CertiTrade".
    if !scheme.eq_ignore_ascii_case("certitrade") {
        return Err(malformed());
    }
    let (user, digest) = rest.trim().split_once(':').ok_or_else(malformed)?;
    let (user_type, user_id) = user.split_at_checked(1).ok_or_else(malformed)?;
    match user_type {
        "m" if !user_id.is_empty() && user_id.bytes().all(|b| b.is_ascii_digit()) => {
            Ok((user_id, digest))
        }
        "a" => Err(Problem::not_authorized(
            "Agent credentials are not supported by the simulator; use m<merchantId>",
        )),
        _ => Err(malformed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn date_rules() {
        let sent = httpdate::parse_http_date(EXAMPLE_DATE).unwrap();
        let skew = Duration::from_secs(300);
        let h = with(header::DATE, EXAMPLE_DATE);
        assert_eq!(
            check_date(&h, skew, sent + Duration::from_secs(300)).unwrap(),
            EXAMPLE_DATE
        );
        assert_eq!(
            check_date(&h, skew, sent - Duration::from_secs(299)).unwrap(),
            EXAMPLE_DATE
        );
        let stale = check_date(&h, skew, sent + Duration::from_secs(301)).unwrap_err();
        assert_eq!(stale.http_status, 401);
        assert!(stale.detail.contains("301 s"));
        assert!(check_date(&HeaderMap::new(), skew, sent).is_err());
        let rfc850 = with(header::DATE, "Friday, 22-Nov-02 09:50:36 GMT");
        assert!(check_date(&rfc850, skew, sent).is_err());
        let offset = with(header::DATE, "Fri, 22 Nov 2002 09:50:36 +0000");
        assert!(check_date(&offset, skew, sent).is_err());
        let weekday = with(header::DATE, "Fri, 23 Nov 2002 09:50:36 GMT");
        assert!(check_date(&weekday, skew, sent).is_err());
        let one_digit_day = with(header::DATE, "Sun, 3 Nov 2002 09:50:36 GMT");
        assert!(check_date(&one_digit_day, skew, sent).is_err());
    }

    #[test]
    fn authorization_shapes() {
        let ok = with(header::AUTHORIZATION, "CertiTrade m1234:abc");
        assert_eq!(credentials(&ok).unwrap(), ("1234", "abc"));
        let docs = with(header::AUTHORIZATION, "Certitrade m1234:abc");
        assert!(credentials(&docs).is_ok());
        for bad in [
            "Bearer m1234:abc",
            "CertiTrade 1234:abc",
            "CertiTrade m:abc",
            "CertiTrade m1234",
        ] {
            let err = credentials(&with(header::AUTHORIZATION, bad)).unwrap_err();
            assert_eq!(err.http_status, 403, "{bad}");
        }
        let agent = with(header::AUTHORIZATION, "CertiTrade a77:abc");
        assert!(credentials(&agent).unwrap_err().detail.contains("Agent"));
        assert_eq!(credentials(&HeaderMap::new()).unwrap_err().http_status, 403);
    }
}
