//! Merchant webhooks, delivered from the transactional outbox the store writes
//! (`store::outbox`: an event in the same transaction as the change it announces, with one
//! delivery row per configured endpoint). A worker of its own (see `worker`) POSTs due
//! deliveries, signed, and redelivers with backoff until a 2xx: at least
//! once, in no guaranteed order; receivers de-duplicate on the event id. Billing never waits
//! for a receiver: it only inserts rows.

pub mod sign;
pub mod store;
pub mod worker;

pub use crate::store::outbox::EventKind;
