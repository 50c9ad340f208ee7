//! Every `POST /payment` the simulator answered, in the order the answers
//! were decided, so tests can assert on resends (how many, same Date and
//! message_id or not).

use std::sync::Mutex;

use axum::http::{HeaderMap, header};
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

impl RequestEntry {
    /// Best-effort extraction from whatever the client sent, valid or not.
    pub fn from_request(headers: &HeaderMap, body: &[u8]) -> Self {
        let root: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let nested = get(&root, "data").and_then(|d| get(d, "RECURRING"));
        let account = nested
            .and_then(|r| get(r, "payment_account"))
            .or_else(|| get(&root, "payment_account"));
        RequestEntry {
            reference: get(&root, "reference").and_then(lenient::id),
            message_id: lenient::message_id(&root).ok().flatten(),
            date: headers
                .get(header::DATE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            amount: get(&root, "amount").and_then(lenient::integer),
            payment_account: account.and_then(lenient::id),
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
