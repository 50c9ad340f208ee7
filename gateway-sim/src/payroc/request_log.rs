//! Every `POST /payments` the simulator answered, in the order the answers
//! were decided, so tests can assert on retries (how many, same key or not).
//!
//! A sale's body is read for the log only when the log is: recording keeps the body's bytes
//! (a private copy, so the connection's read buffer is not kept alive with it), and
//! `snapshot` extracts the fields, outside the lock. A body is parsed once on the request
//! path (by validation), not a second time for the log.

use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use super::validate::path;

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestEntry {
    pub idempotency_key: Option<String>,
    pub order_id: Option<String>,
    pub amount: Option<u64>,
    pub token: Option<String>,
    pub sequence: Option<String>,
    /// When the request arrived, in milliseconds since the Unix epoch (the benchmark measures
    /// scheduling latency up to here: due → at the gateway).
    pub received_at_ms: u64,
    pub http_status: u16,
    /// approved | declined | referral | pickup | pending | replayed | conflict |
    /// bad_request | unauthorized | server_error | dropped
    pub result: &'static str,
}

/// A request as it arrived: what `RequestEntry` is made of, unread.
#[derive(Debug, Clone)]
pub struct Arrival {
    idempotency_key: Option<String>,
    body: Bytes,
    received_at_ms: u64,
}

impl Arrival {
    pub fn new(idempotency_key: Option<&str>, body: &[u8]) -> Self {
        Arrival {
            idempotency_key: idempotency_key.map(str::to_owned),
            body: Bytes::copy_from_slice(body),
            // When the request reached the server, for ordering the log: the wall clock.
            #[allow(clippy::disallowed_methods)]
            received_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }
    }
}

impl RequestEntry {
    /// Best-effort extraction from whatever the client sent, valid or not.
    fn from_arrival(arrival: Arrival, http_status: u16, result: &'static str) -> Self {
        let root: Value = serde_json::from_slice(&arrival.body).unwrap_or(Value::Null);
        let text = |p: &str| path(&root, p).and_then(Value::as_str).map(str::to_owned);
        RequestEntry {
            idempotency_key: arrival.idempotency_key,
            order_id: text("order.orderId"),
            amount: path(&root, "order.amount").and_then(Value::as_u64),
            token: text("paymentMethod.token"),
            sequence: text("order.standingInstructions.sequence"),
            received_at_ms: arrival.received_at_ms,
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

    #[test]
    fn reads_what_it_can_of_any_body() {
        let log = RequestLog::default();
        let body = br#"{"order": {"orderId": "o1", "amount": 1200,
            "standingInstructions": {"sequence": "first"}},
            "paymentMethod": {"type": "secureToken", "token": "296753123456"}}"#;
        log.record(Arrival::new(Some("k"), body), 201, "approved");
        log.record(Arrival::new(None, b"{not json"), 400, "bad_request");
        let entries = log.snapshot();
        let first = &entries[0];
        assert_eq!(first.idempotency_key.as_deref(), Some("k"));
        assert_eq!(first.order_id.as_deref(), Some("o1"));
        assert_eq!(first.amount, Some(1200));
        assert_eq!(first.token.as_deref(), Some("296753123456"));
        assert_eq!(first.sequence.as_deref(), Some("first"));
        assert_eq!((first.http_status, first.result), (201, "approved"));
        let second = &entries[1];
        assert_eq!(
            (
                second.order_id.as_deref(),
                second.amount,
                second.http_status
            ),
            (None, None, 400)
        );
        assert!(second.received_at_ms >= first.received_at_ms);
    }
}
