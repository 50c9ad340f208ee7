//! Every payment_account, its state machine and the card it charges.
//!
//! States: `UNINITIALIZED` (created, no card yet) → `ACTIVE` (an initializing
//! payment was authorised in the payment window) → `SUSPENDED` (suspected
//! fraud; a new initializing payment on the same id re-activates it, §2.5) or
//! `CLOSED` (never usable again). `SUSPENDED` is what CertiTrade's recurring
//! example shows; `CLOSED` is the documented state, reachable here only
//! through `/_sim`.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::super::cards::Card;
use super::super::hal::{Origin, link};
use crate::support::{clock, random};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Uninitialized,
    Active,
    Suspended,
    Closed,
}

impl AccountState {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountState::Uninitialized => "UNINITIALIZED",
            AccountState::Active => "ACTIVE",
            AccountState::Suspended => "SUSPENDED",
            AccountState::Closed => "CLOSED",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Account {
    pub id: String,
    pub created: String,
    pub state: AccountState,
    /// The card of the last successful initializing payment.
    pub card: Option<Card>,
}

impl Account {
    pub fn to_json(&self, merchant: &str, origin: &Origin) -> Value {
        let card = self.card.as_ref();
        json!({
            "id": self.id,
            "created": self.created,
            "state": self.state.as_str(),
            "merchant": merchant,
            "type": "RECURRING",
            "expiry_date": card.map(|c| c.expiry_date.clone()),
            "masked_cardno": card.map(|c| c.masked_cardno.clone()),
            "bin": card.map(|c| c.bin.clone()),
            "_links": {
                "self": link(origin.api(&format!("/payment_account/{}", self.id))),
                "merchant": link(origin.api(&format!("/merchant/{merchant}"))),
            },
            "_embedded": [],
        })
    }
}

#[derive(Default)]
pub struct AccountStore {
    accounts: Mutex<HashMap<String, Account>>,
}

impl AccountStore {
    /// A new `UNINITIALIZED` account with an 11-digit id (the docs' shape).
    pub fn create(&self) -> Account {
        let mut accounts = self.accounts.lock().expect("account store poisoned");
        let id = loop {
            let candidate = random::numeric_id(11);
            if !accounts.contains_key(&candidate) {
                break candidate;
            }
        };
        let account = Account {
            id: id.clone(),
            created: clock::now_spaced(),
            state: AccountState::Uninitialized,
            card: None,
        };
        accounts.insert(id, account.clone());
        account
    }

    pub fn get(&self, id: &str) -> Option<Account> {
        self.accounts
            .lock()
            .expect("account store poisoned")
            .get(id)
            .cloned()
    }

    /// Every account, by creation time (to the second), then id.
    pub fn snapshot(&self) -> Vec<Account> {
        let mut all: Vec<Account> = self
            .accounts
            .lock()
            .expect("account store poisoned")
            .values()
            .cloned()
            .collect();
        all.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        all
    }

    /// Reads and changes one account atomically.
    pub fn update<R>(&self, id: &str, change: impl FnOnce(&mut Account) -> R) -> Option<R> {
        let mut accounts = self.accounts.lock().expect("account store poisoned");
        accounts.get_mut(id).map(change)
    }
}
