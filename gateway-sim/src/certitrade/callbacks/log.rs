//! Every callback attempt, in the order they finished, so tests can see what
//! the merchant was told and how often.

use std::sync::Mutex;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CallbackEntry {
    pub payment_id: String,
    pub url: String,
    pub function: &'static str,
    pub description: &'static str,
    /// 1 for the first try, up to 3.
    pub attempt: u32,
    /// The merchant's HTTP status, when it answered at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Why no status: connection refused, timeout, …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub at: String,
}

#[derive(Default)]
pub struct CallbackLog {
    entries: Mutex<Vec<CallbackEntry>>,
}

impl CallbackLog {
    pub fn record(&self, entry: CallbackEntry) {
        self.entries
            .lock()
            .expect("callback log poisoned")
            .push(entry);
    }

    pub fn snapshot(&self) -> Vec<CallbackEntry> {
        self.entries.lock().expect("callback log poisoned").clone()
    }
}
