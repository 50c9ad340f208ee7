//! Every payment the simulator created, for retrieve/list and for checking
//! `referenceDataOfFirstTxn.paymentId`.

use std::collections::HashMap;
use std::sync::Mutex;

use super::outcome::Outcome;
use super::record::{Payment, TransactionResult};
use crate::support::random;

struct Entry {
    payment: Payment,
    /// Counted as charged (approved, or pending that will settle approved).
    charged: bool,
    /// Pending sale that flips to approved the first time it is read back.
    settles_on_read: bool,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    by_id: HashMap<String, usize>,
}

#[derive(Default)]
pub struct PaymentStore {
    inner: Mutex<Inner>,
}

impl PaymentStore {
    /// Allocates a unique 10-character payment id and stores what `build`
    /// makes of it.
    pub fn create(&self, outcome: Outcome, build: impl FnOnce(String) -> Payment) -> Payment {
        let mut inner = self.inner.lock().expect("payment store poisoned");
        let id = loop {
            let candidate = random::upper_alnum(10);
            if !inner.by_id.contains_key(&candidate) {
                break candidate;
            }
        };
        let payment = build(id.clone());
        let index = inner.entries.len();
        inner.entries.push(Entry {
            payment: payment.clone(),
            charged: outcome.charges(),
            settles_on_read: outcome == Outcome::Pending,
        });
        inner.by_id.insert(id, index);
        payment
    }

    pub fn retrieve(&self, payment_id: &str) -> Option<Payment> {
        let mut inner = self.inner.lock().expect("payment store poisoned");
        let index = *inner.by_id.get(payment_id)?;
        Some(settle(&mut inner.entries[index]).clone())
    }

    /// Payments matching the filters, oldest first, plus whether more exist.
    pub fn list(
        &self,
        order_id: Option<&str>,
        terminal: Option<&str>,
        limit: usize,
    ) -> (Vec<Payment>, bool) {
        let mut inner = self.inner.lock().expect("payment store poisoned");
        let mut found = Vec::new();
        let mut has_more = false;
        for entry in inner.entries.iter_mut().filter(|e| {
            order_id.is_none_or(|o| e.payment.order.order_id == o)
                && terminal.is_none_or(|t| e.payment.processing_terminal_id == t)
        }) {
            if found.len() == limit {
                has_more = true;
                break;
            }
            found.push(settle(entry).clone());
        }
        (found, has_more)
    }

    pub fn is_approved_with_token(&self, payment_id: &str, token: &str) -> bool {
        let inner = self.inner.lock().expect("payment store poisoned");
        inner.by_id.get(payment_id).is_some_and(|&i| {
            let entry = &inner.entries[i];
            entry.charged && entry.payment.card.secure_token.token == token
        })
    }
}

fn settle(entry: &mut Entry) -> &Payment {
    if entry.settles_on_read {
        entry.settles_on_read = false;
        let p = &mut entry.payment;
        p.transaction_result =
            TransactionResult::new(Outcome::Approved, p.order.amount, &p.order.currency);
    }
    &entry.payment
}
