//! Every payment the simulator created, for retrieve, search and the
//! payment window.

use std::collections::HashMap;
use std::sync::Mutex;

use super::record::Payment;
use crate::support::random;

#[derive(Default)]
struct Inner {
    /// Creation order, which is also the order searches list them in.
    payments: Vec<Payment>,
    by_id: HashMap<String, usize>,
}

#[derive(Default)]
pub struct PaymentStore {
    inner: Mutex<Inner>,
}

impl PaymentStore {
    /// Allocates a unique 8-digit id and stores what `build` makes of it.
    pub fn create(&self, build: impl FnOnce(String) -> Payment) -> Payment {
        let mut inner = self.inner.lock().expect("payment store poisoned");
        let id = loop {
            let candidate = random::numeric_id(8);
            if !inner.by_id.contains_key(&candidate) {
                break candidate;
            }
        };
        let payment = build(id.clone());
        let index = inner.payments.len();
        inner.payments.push(payment.clone());
        inner.by_id.insert(id, index);
        payment
    }

    pub fn get(&self, id: &str) -> Option<Payment> {
        let inner = self.inner.lock().expect("payment store poisoned");
        inner.by_id.get(id).map(|&i| inner.payments[i].clone())
    }

    /// Reads and changes one payment atomically.
    pub fn update<R>(&self, id: &str, change: impl FnOnce(&mut Payment) -> R) -> Option<R> {
        let mut inner = self.inner.lock().expect("payment store poisoned");
        let index = *inner.by_id.get(id)?;
        Some(change(&mut inner.payments[index]))
    }

    pub fn filter(&self, keep: impl Fn(&Payment) -> bool) -> Vec<Payment> {
        let inner = self.inner.lock().expect("payment store poisoned");
        inner.payments.iter().filter(|p| keep(p)).cloned().collect()
    }
}
