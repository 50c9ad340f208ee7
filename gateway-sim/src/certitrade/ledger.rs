//! The simulator's books: one entry per approved payment (an initializing
//! payment once its window approves it, a subsequent charge when it is
//! authorised). Tests assert "charged exactly once" against this.

use std::sync::Mutex;

use serde::Serialize;

use super::payments::Payment;
use crate::support::clock;

#[derive(Debug, Clone, Serialize)]
pub struct LedgerEntry {
    pub id: String,
    pub reference: String,
    pub amount: u64,
    pub currency: String,
    pub payment_account: String,
    pub initializing: bool,
    pub message_id: Option<String>,
    pub at: String,
}

#[derive(Default)]
pub struct Ledger {
    entries: Mutex<Vec<LedgerEntry>>,
}

impl Ledger {
    pub fn record(&self, payment: &Payment) {
        let entry = LedgerEntry {
            id: payment.id.clone(),
            reference: payment.reference.clone(),
            amount: payment.amount,
            currency: payment.currency.clone(),
            payment_account: payment.payment_account.clone(),
            initializing: payment.initialize,
            message_id: payment.message_id.clone(),
            at: clock::now_rfc3339(),
        };
        self.entries.lock().expect("ledger poisoned").push(entry);
    }

    pub fn snapshot(&self) -> Vec<LedgerEntry> {
        self.entries.lock().expect("ledger poisoned").clone()
    }
}
