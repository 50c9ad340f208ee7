//! Everything the CertiTrade handlers share. As in the Payroc simulator, each
//! store guards itself with a short std mutex (never held across an await);
//! only requests resending the same `(Date, message_id)` queue up.

use std::time::Duration;

use std::sync::Arc;

use crate::support::clock::SimClock;

use super::accounts::AccountStore;
use super::callbacks::Callbacks;
use super::faults::Faults;
use super::idempotency::MessageStore;
use super::ledger::Ledger;
use super::payments::PaymentStore;
use super::request_log::RequestLog;
use crate::config::SimConfig;

pub struct CertiTradeState {
    pub merchant_id: u32,
    pub api_key: String,
    pub date_skew: Duration,
    pub accounts: AccountStore,
    pub payments: PaymentStore,
    pub messages: MessageStore,
    pub ledger: Ledger,
    pub requests: RequestLog,
    pub callbacks: Callbacks,
    /// One-shot and random faults, armed through `/_sim/certitrade/faults`.
    pub faults: Faults,
    /// What payments are stamped with (`created`).
    pub clock: Arc<SimClock>,
}

impl CertiTradeState {
    pub fn new(config: &SimConfig, clock: Arc<SimClock>) -> Self {
        CertiTradeState {
            merchant_id: config.certitrade_merchant_id,
            api_key: config.certitrade_api_key.clone(),
            date_skew: config.certitrade_date_skew,
            accounts: AccountStore::default(),
            payments: PaymentStore::default(),
            messages: MessageStore::default(),
            ledger: Ledger::default(),
            requests: RequestLog::default(),
            callbacks: Callbacks::new(),
            faults: Faults::default(),
            clock,
        }
    }

    /// `merchant` as CertiTrade prints it: a numeric string.
    pub fn merchant(&self) -> String {
        self.merchant_id.to_string()
    }
}
