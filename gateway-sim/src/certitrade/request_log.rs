//! Every `POST /payment` the simulator answered, in the order the answers
//! were decided, so tests can assert on resends (how many, same Date and
//! message_id or not).
//!
//! As in the Payroc log, a body is read for the log only when the log is: recording keeps
//! the body's bytes (a private copy) and `snapshot` extracts the fields, outside the lock.

use std::sync::Mutex;

use axum::http::{HeaderMap, header};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::lenient::{self, get};

#[derive(Debug, Clone, Default, Serialize)]
pub struct RequestEntry {
    pub reference: Option<String>,
    pub message_id: Option<String>,
    pub date: Option<String>,
    pub amount: Option<u64>,
    pub payment_account: Option<String>,
    pub http_status: u16,
    /// approved | declined | terminated | created | replayed | bad_request |
    /// unauthorized | server_error | dropped
    pub result: &'static str,
}

/// A request as it arrived: what `RequestEntry` is made of, unread.
#[derive(Debug, Clone)]
pub struct Arrival {
    date: Option<String>,
    body: Bytes,
}

impl Arrival {
    pub fn new(headers: &HeaderMap, body: &[u8]) -> Self {
        Arrival {
            date: headers
                .get(header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: Bytes::copy_from_slice(body),
        }
    }
}

impl RequestEntry {
    /// Best-effort extraction from whatever the client sent, valid or not.
    fn from_arrival(arrival: Arrival, http_status: u16, result: &'static str) -> Self {
        let root: Value = serde_json::from_slice(&arrival.body).unwrap_or(Value::Null);
        let nested = get(&root, "data").and_then(|d| get(d, "RECURRING"));
        let account = nested
            .and_then(|r| get(r, "payment_account"))
            .or_else(|| get(&root, "payment_account"));
        RequestEntry {
            reference: get(&root, "reference").and_then(lenient::id),
            message_id: lenient::message_id(&root).ok().flatten(),
            date: arrival.date,
            amount: get(&root, "amount").and_then(lenient::integer),
            payment_account: account.and_then(lenient::id),
            http_status,
            result,
        }
    }
}

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<(Arrival, u16, &'static str)>>,
}

impl RequestLog {
    pub fn record(&self, arrival: Arrival, http_status: u16, result: &'static str) {
        self.entries
            .lock()
            .expect("request log poisoned")
            .push((arrival, http_status, result));
    }

    pub fn snapshot(&self) -> Vec<RequestEntry> {
        let entries = self.entries.lock().expect("request log poisoned").clone();
        entries
            .into_iter()
            .map(|(arrival, status, result)| RequestEntry::from_arrival(arrival, status, result))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn reads_what_it_can_of_any_body() {
        let log = RequestLog::default();
        let mut headers = HeaderMap::new();
        let date = "Fri, 22 Nov 2002 09:50:36 GMT";
        headers.insert(header::DATE, HeaderValue::from_static(date));
        let body = br#"{"amount": "1000", "reference": 7, "message_id": "007",
            "data": {"RECURRING": {"payment_account": 40260868824}}}"#;
        log.record(Arrival::new(&headers, body), 201, "approved");
        log.record(Arrival::new(&HeaderMap::new(), b"["), 400, "bad_request");
        let entries = log.snapshot();
        let first = &entries[0];
        assert_eq!(first.reference.as_deref(), Some("7"));
        assert_eq!(first.message_id.as_deref(), Some("7"));
        assert_eq!(first.date.as_deref(), Some(date));
        assert_eq!(first.amount, Some(1000));
        assert_eq!(first.payment_account.as_deref(), Some("40260868824"));
        assert_eq!((first.http_status, first.result), (201, "approved"));
        let second = &entries[1];
        assert_eq!(
            (
                second.reference.as_deref(),
                second.date.as_deref(),
                second.http_status
            ),
            (None, None, 400)
        );
    }
}
