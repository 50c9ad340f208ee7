//! Every `POST /payments` the simulator answered, in the order the answers
//! were decided, so tests can assert on retries (how many, same key or not).

use std::sync::Mutex;

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

impl RequestEntry {
    /// Best-effort extraction from whatever the client sent, valid or not.
    pub fn from_request(idempotency_key: Option<&str>, body: &[u8]) -> Self {
        let root: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let text = |p: &str| path(&root, p).and_then(Value::as_str).map(str::to_owned);
        RequestEntry {
            idempotency_key: idempotency_key.map(str::to_owned),
            order_id: text("order.orderId"),
            amount: path(&root, "order.amount").and_then(Value::as_u64),
            token: text("paymentMethod.token"),
            sequence: text("order.standingInstructions.sequence"),
            // When the request reached the server, for ordering the log: the wall clock.
            #[allow(clippy::disallowed_methods)]
            received_at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            http_status: 0,
            result: "",
        }
    }
}

#[derive(Default)]
pub struct RequestLog {
    entries: Mutex<Vec<RequestEntry>>,
}

impl RequestLog {
    pub fn record(&self, mut entry: RequestEntry, http_status: u16, result: &'static str) {
        entry.http_status = http_status;
        entry.result = result;
        self.entries
            .lock()
            .expect("request log poisoned")
            .push(entry);
    }

    pub fn snapshot(&self) -> Vec<RequestEntry> {
        self.entries.lock().expect("request log poisoned").clone()
    }
}
