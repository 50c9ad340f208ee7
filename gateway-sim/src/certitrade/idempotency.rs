//! Resending (docs/gateways.md, "CertiTrade: resending"): a POST carrying
//! `message_id` is identified by `(Date header value, message_id)`. A repeat of
//! that pair gets the stored answer, byte for byte, and creates nothing — even
//! if its body differs, since CertiTrade says repeats "will be regarded as
//! resendings of the same message". The same `message_id` under a different
//! `Date` is a new request (CertiTrade pairs the id with the timestamp), so a
//! client that wants a safe resend must reuse the original Date — which the
//! skew check bounds in time.
//!
//! Concurrent repeats wait for the first one and then replay, as in the Payroc
//! simulator. Requests without `message_id` are never deduplicated.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::support::reply::Reply;

/// Ids are remembered per collection: a payment_account message cannot
/// replay as a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    PaymentAccount,
    Payment,
}

type Key = (Scope, String, String);

/// Holding a slot's guard means "I own this (Date, message_id)".
#[derive(Default)]
pub struct Slot {
    stored: Option<Reply>,
}

impl Slot {
    pub fn previous(&self) -> Option<Reply> {
        self.stored.clone()
    }

    pub fn remember(&mut self, reply: Reply) {
        self.stored = Some(reply);
    }
}

#[derive(Default)]
pub struct MessageStore {
    // The std mutex only guards the map; requests wait on the per-key async
    // mutex, so unrelated messages never contend for long.
    slots: Mutex<HashMap<Key, Arc<AsyncMutex<Slot>>>>,
    /// `(Date, message_id)` pairs whose one-shot amount trigger (…96, …99)
    /// already fired, with or without a message_id.
    tripped: Mutex<HashSet<(String, Option<String>)>>,
}

impl MessageStore {
    /// Waits until no other request with this `(Date, message_id)` is in flight.
    pub async fn lock(&self, scope: Scope, date: &str, message_id: &str) -> OwnedMutexGuard<Slot> {
        let slot = {
            let mut slots = self.slots.lock().expect("message store poisoned");
            let key = (scope, date.to_owned(), message_id.to_owned());
            Arc::clone(slots.entry(key).or_default())
        };
        slot.lock_owned().await
    }

    /// True the first time a one-shot trigger meets this `(Date, message_id)`.
    /// Without a message_id the pair is `(Date, None)`: a resend under the
    /// same Date is then processed again — as a new payment.
    pub fn first_trip(&self, date: &str, message_id: Option<&str>) -> bool {
        self.tripped
            .lock()
            .expect("trigger memory poisoned")
            .insert((date.to_owned(), message_id.map(str::to_owned)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    #[tokio::test]
    async fn slots_are_per_date_and_id() {
        let store = MessageStore::default();
        let date = "Fri, 23 Nov 2002 09:50:36 GMT";
        {
            let mut slot = store.lock(Scope::Payment, date, "1").await;
            assert!(slot.previous().is_none());
            slot.remember(Reply::new(
                StatusCode::CREATED,
                "application/hal+json",
                "{}".into(),
            ));
        }
        assert!(
            store
                .lock(Scope::Payment, date, "1")
                .await
                .previous()
                .is_some()
        );
        assert!(
            store
                .lock(Scope::Payment, date, "2")
                .await
                .previous()
                .is_none()
        );
        assert!(
            store
                .lock(Scope::PaymentAccount, date, "1")
                .await
                .previous()
                .is_none()
        );
        let later = "Fri, 23 Nov 2002 09:50:37 GMT";
        assert!(
            store
                .lock(Scope::Payment, later, "1")
                .await
                .previous()
                .is_none()
        );
    }

    #[test]
    fn triggers_fire_once() {
        let store = MessageStore::default();
        assert!(store.first_trip("d", Some("1")));
        assert!(!store.first_trip("d", Some("1")));
        assert!(store.first_trip("d", None));
        assert!(!store.first_trip("d", None));
        assert!(store.first_trip("e", Some("1")));
    }
}
