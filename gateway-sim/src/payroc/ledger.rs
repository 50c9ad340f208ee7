//! The simulator's books: one entry per sale that moved money. Tests assert
//! "charged exactly once" against this, not against what the client saw.

use std::sync::Mutex;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntry {
    pub payment_id: String,
    pub order_id: String,
    pub idempotency_key: String,
    pub amount: u64,
    pub currency: String,
    pub token: String,
    pub processing_terminal_id: String,
    pub sequence: String,
    pub processing_model: String,
    pub first_payment_id: Option<String>,
    pub card_scheme_reference_id: Option<String>,
    pub at: String,
}

#[derive(Default)]
pub struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl Ledger {
    pub fn record(&self, entry: LedgerEntry) {
        self.entries.lock().expect("ledger poisoned").push(entry);
    }

    pub fn snapshot(&self, order_id: Option<&str>) -> Vec<LedgerEntry> {
        let entries = self.entries.lock().expect("ledger poisoned");
        entries
            .iter()
            .filter(|e| order_id.is_none_or(|o| e.order_id == o))
            .cloned()
            .collect()
    }
}
