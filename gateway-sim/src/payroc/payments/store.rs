//! Every payment the simulator created, for retrieve/list and for checking
//! `referenceDataOfFirstTxn.paymentId`.

use std::collections::HashMap;
use std::sync::Mutex;

use super::outcome::Outcome;
use super::record::{Payment, TransactionResult};
use crate::support::clock::parse_rfc3339_millis;
use crate::support::random;

struct Entry {
    payment: Payment,
    /// When it was processed (`order.dateTime`), parsed once: listings filter on it.
    at_ms: i64,
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
            at_ms: parse_rfc3339_millis(&payment.order.date_time).unwrap_or_default(),
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

    /// One page of the payments matching `filter`, oldest first; `None` when its cursor names
    /// no payment the filters match. Reads from the cursor on, not the whole store: a
    /// reconciliation pages through every payment of its window, and the store's lock is held
    /// meanwhile, so a listing that re-read every payment per page would stall every sale.
    pub fn list(&self, filter: &ListFilter, limit: usize) -> Option<Page> {
        let mut inner = self.inner.lock().expect("payment store poisoned");
        let cursor = |id: &str| {
            let i = *inner.by_id.get(id)?;
            filter.matches(&inner.entries[i]).then_some(i)
        };
        let matches = |i: &usize| filter.matches(&inner.entries[*i]);
        // Up to `limit` matches from `start` on, and whether one more follows.
        let forward = |start: usize| {
            let mut next = (start..inner.entries.len()).filter(matches);
            let page: Vec<usize> = next.by_ref().take(limit).collect();
            (page, next.next().is_some())
        };
        let (page, has_more): (Vec<usize>, bool) = match (&filter.after, &filter.before) {
            (Some(after), _) => forward(cursor(after)? + 1),
            (None, Some(before)) => {
                let mut page: Vec<usize> = (0..cursor(before)?)
                    .rev()
                    .filter(matches)
                    .take(limit)
                    .collect();
                page.reverse();
                // The `before` payment itself comes after this page.
                (page, true)
            }
            (None, None) => forward(0),
        };
        let payments = page
            .into_iter()
            .map(|i| settle(&mut inner.entries[i]).clone())
            .collect();
        Some(Page {
            payments,
            has_more,
            from_cursor: filter.after.is_some() || filter.before.is_some(),
        })
    }

    pub fn is_approved_with_token(&self, payment_id: &str, token: &str) -> bool {
        let inner = self.inner.lock().expect("payment store poisoned");
        inner.by_id.get(payment_id).is_some_and(|&i| {
            let entry = &inner.entries[i];
            entry.charged && entry.payment.card.secure_token.token == token
        })
    }
}

/// What `GET /payments` filters by. Dates bound when the payment was processed, exclusive.
#[derive(Debug, Default)]
pub struct ListFilter {
    pub order_id: Option<String>,
    pub terminal: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl ListFilter {
    fn matches(&self, entry: &Entry) -> bool {
        let (p, at) = (&entry.payment, entry.at_ms);
        self.order_id
            .as_deref()
            .is_none_or(|o| p.order.order_id == o)
            && self
                .terminal
                .as_deref()
                .is_none_or(|t| p.processing_terminal_id == t)
            && self.from_ms.is_none_or(|from| at > from)
            && self.to_ms.is_none_or(|to| at < to)
    }
}

pub struct Page {
    pub payments: Vec<Payment>,
    pub has_more: bool,
    /// Reached through `after` / `before`: there is a page before it.
    pub from_cursor: bool,
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
