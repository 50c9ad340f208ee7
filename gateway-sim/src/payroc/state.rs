//! Everything the Payroc handlers share. Each store guards itself with a short
//! std mutex (never held across an await), so unrelated requests run in
//! parallel; only requests with the same idempotency key queue up.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{ResultField, SimConfig};
use crate::support::clock::SimClock;

use super::auth::AuthStore;
use super::faults::Faults;
use super::idempotency::IdempotencyStore;
use super::ledger::Ledger;
use super::payments::PaymentStore;
use super::request_log::RequestLog;
use super::secure_tokens::TokenStore;

pub struct PayrocState {
    pub auth: AuthStore,
    pub idempotency: IdempotencyStore,
    pub tokens: TokenStore,
    pub payments: PaymentStore,
    pub ledger: Ledger,
    pub requests: RequestLog,
    pub faults: Faults,
    pub slow_delay: Duration,
    pub result_field: ResultField,
    /// What payments are stamped with (`order.dateTime`), and what `dateFrom`/`dateTo` filter.
    pub clock: Arc<SimClock>,
}

impl PayrocState {
    pub fn new(config: &SimConfig, clock: Arc<SimClock>) -> Self {
        PayrocState {
            auth: AuthStore::new(config.payroc_api_keys.clone(), config.token_ttl),
            idempotency: IdempotencyStore::default(),
            tokens: TokenStore::default(),
            payments: PaymentStore::default(),
            ledger: Ledger::default(),
            requests: RequestLog::default(),
            faults: Faults::default(),
            slow_delay: config.slow_delay,
            result_field: config.result_field,
            clock,
        }
    }
}
