//! Which HTTP answers to a sale settle anything, one table per gateway.
//!
//! Only a definitive answer settles a charge: the gateway read our request and said what it did
//! (a payment in the body), or it rejected the request before processing for a reason that
//! cannot be the idempotency key's. Everything else — 409 (the key is in flight, or was used
//! with other bytes), 408, 429, 5xx, a status the documentation does not list for the call —
//! leaves the charge *unknown*: it is settled by looking the payment up, then by resending the
//! same bytes under the same key, never by `failed`. Where the gateways' documentation is silent
//! we take the least convenient reading, so an undocumented status is unknown.

/// What an HTTP status on a sale (or a payment lookup) means, before the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerClass {
    /// The body holds a payment: its result says approved, declined or pending.
    ReadPayment,
    /// Rejected before processing, for a reason in the request itself (not the key): sending
    /// the same bytes again cannot succeed, and nothing was charged.
    Rejected,
    /// The credentials were refused: refresh them and resend the same request once.
    RefreshCredentials,
    /// The request may or may not have been processed.
    Unknown,
}

/// Payroc `POST /payments`. The SDK declares 400, 401, 403, 406, 409, 415 and 500. A 409 is
/// the key in use — by a request still in flight, or with another body — so the first request
/// may yet be approved. 403 is listed but not described: it stays unknown until a lookup or an
/// operator says more.
pub fn payroc_sale(http_status: u16) -> AnswerClass {
    match http_status {
        200 | 201 => AnswerClass::ReadPayment,
        400 | 406 | 415 => AnswerClass::Rejected,
        401 => AnswerClass::RefreshCredentials,
        _ => AnswerClass::Unknown,
    }
}

/// Payroc `POST /processing-terminals/{id}/secure-tokens` (the body then holds the token, not a
/// payment). 400, 402, 404 and 422 refuse the card or the terminal before anything is made. A
/// 409 is the key in use (a request in flight) or our secureTokenId already taken — by our own
/// earlier request, whose answer was lost — so it is unknown, and a lookup by that id settles it.
pub fn payroc_secure_token(http_status: u16) -> AnswerClass {
    match http_status {
        200 | 201 => AnswerClass::ReadPayment,
        400 | 402 | 404 | 422 => AnswerClass::Rejected,
        401 => AnswerClass::RefreshCredentials,
        _ => AnswerClass::Unknown,
    }
}

/// CertiTrade `POST /payment`. Authentication is a signature per request, so 401/403 mean a
/// clock or key problem: nothing was processed, but the same request may pass once it is fixed
/// (the daemon re-stamps it), so they are not a decline. A 400 api-problem is a request the
/// gateway will never accept. Duplicates of one `message_id` replay the first answer, so no
/// status here can be the key's — except those the documentation does not describe (404, 409,
/// 422 …), which stay unknown.
pub fn certitrade_payment(http_status: u16) -> AnswerClass {
    match http_status {
        200 | 201 => AnswerClass::ReadPayment,
        400 => AnswerClass::Rejected,
        _ => AnswerClass::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::AnswerClass::*;
    use super::*;

    /// Every row of the Payroc table, and the statuses it must not settle.
    #[test]
    fn payroc_rows() {
        let rows = [
            (200, ReadPayment),
            (201, ReadPayment),
            (400, Rejected),
            (401, RefreshCredentials),
            (403, Unknown),
            (404, Unknown),
            (406, Rejected),
            (408, Unknown),
            (409, Unknown),
            (415, Rejected),
            (422, Unknown),
            (429, Unknown),
            (500, Unknown),
            (502, Unknown),
            (503, Unknown),
            (504, Unknown),
            (302, Unknown),
        ];
        for (status, class) in rows {
            assert_eq!(payroc_sale(status), class, "Payroc {status}");
        }
    }

    #[test]
    fn payroc_secure_token_rows() {
        let rows = [
            (200, ReadPayment),
            (201, ReadPayment),
            (400, Rejected),
            (401, RefreshCredentials),
            (402, Rejected),
            (403, Unknown),
            (404, Rejected),
            (408, Unknown),
            (409, Unknown),
            (422, Rejected),
            (429, Unknown),
            (500, Unknown),
            (503, Unknown),
        ];
        for (status, class) in rows {
            assert_eq!(payroc_secure_token(status), class, "Payroc token {status}");
        }
    }

    #[test]
    fn certitrade_rows() {
        let rows = [
            (200, ReadPayment),
            (201, ReadPayment),
            (400, Rejected),
            (401, Unknown),
            (403, Unknown),
            (404, Unknown),
            (408, Unknown),
            (409, Unknown),
            (422, Unknown),
            (429, Unknown),
            (500, Unknown),
            (503, Unknown),
        ];
        for (status, class) in rows {
            assert_eq!(certitrade_payment(status), class, "CertiTrade {status}");
        }
    }
}
