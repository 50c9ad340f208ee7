//! Saved cards behind secure tokens. Only what later sales need is kept: the
//! masked number, brand, expiry and the test-card trigger — never the full
//! card number or CVV.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Value, json};

use super::super::card::CardTrigger;
use super::super::card::luhn_check_digit;
use super::super::problem::Problem;
use crate::support::random;

/// Payroc secure tokens start with this prefix (docs/gateways.md, Payroc: secure tokens).
const TOKEN_PREFIX: &str = "296753";

#[derive(Debug, Clone)]
pub struct SecureToken {
    pub secure_token_id: String,
    pub processing_terminal_id: String,
    pub mit_agreement: Option<String>,
    pub cardholder_name: Option<String>,
    pub masked_number: String,
    pub expiry_date: String,
    pub card_type: &'static str,
    pub status: &'static str,
    pub token: String,
    pub trigger: Option<CardTrigger>,
    terminated: bool,
    sales: u32,
}

/// A validated create request (see `request.rs`).
#[derive(Debug)]
pub struct NewSecureToken {
    pub secure_token_id: Option<String>,
    pub processing_terminal_id: String,
    pub mit_agreement: Option<String>,
    pub cardholder_name: Option<String>,
    pub masked_number: String,
    pub expiry_date: String,
    pub card_type: &'static str,
    pub cvv_given: bool,
    pub trigger: Option<CardTrigger>,
}

/// What the outcome rules need to know about a sale on a token, captured
/// atomically with the sale counter increment.
#[derive(Debug, Clone, Copy)]
pub struct TokenUse {
    pub terminated: bool,
    pub trigger: Option<CardTrigger>,
    /// 1 for the first sale ever attempted on this token.
    pub attempt: u32,
}

#[derive(Default)]
struct Inner {
    by_token: HashMap<String, SecureToken>,
    /// (processingTerminalId, secureTokenId) → token.
    ids: HashMap<(String, String), String>,
}

#[derive(Default)]
pub struct TokenStore {
    inner: Mutex<Inner>,
}

impl TokenStore {
    pub fn create(&self, new: NewSecureToken) -> Result<SecureToken, Problem> {
        let mut inner = self.inner.lock().expect("token store poisoned");
        let secure_token_id = new
            .secure_token_id
            .unwrap_or_else(|| format!("MREF_{}", uuid::Uuid::new_v4().simple()));
        let id_key = (new.processing_terminal_id.clone(), secure_token_id.clone());
        if inner.ids.contains_key(&id_key) {
            return Err(Problem::conflict(
                "conflict",
                "Secure token already exists",
                format!("A secure token with secureTokenId {secure_token_id} already exists"),
            ));
        }
        let token = loop {
            let payload = format!("{TOKEN_PREFIX}{}", random::digits(5));
            let candidate = format!("{payload}{}", luhn_check_digit(&payload));
            if !inner.by_token.contains_key(&candidate) {
                break candidate;
            }
        };
        let record = SecureToken {
            secure_token_id,
            processing_terminal_id: new.processing_terminal_id,
            mit_agreement: new.mit_agreement,
            cardholder_name: new.cardholder_name,
            masked_number: new.masked_number,
            expiry_date: new.expiry_date,
            card_type: new.card_type,
            status: if new.cvv_given {
                "cvvValidated"
            } else {
                "notValidated"
            },
            token: token.clone(),
            trigger: new.trigger,
            terminated: false,
            sales: 0,
        };
        inner.ids.insert(id_key, token.clone());
        inner.by_token.insert(token, record.clone());
        Ok(record)
    }

    /// The token a terminal saved under `secure_token_id`.
    pub fn by_id(&self, terminal: &str, secure_token_id: &str) -> Option<SecureToken> {
        let inner = self.inner.lock().expect("token store poisoned");
        let token = inner
            .ids
            .get(&(terminal.to_owned(), secure_token_id.to_owned()))?;
        inner.by_token.get(token).cloned()
    }

    pub fn get(&self, token: &str) -> Option<SecureToken> {
        let inner = self.inner.lock().expect("token store poisoned");
        inner.by_token.get(token).cloned()
    }

    /// Marks the card behind `token` as a closed account. False if unknown.
    pub fn terminate(&self, token: &str) -> bool {
        let mut inner = self.inner.lock().expect("token store poisoned");
        match inner.by_token.get_mut(token) {
            Some(record) => {
                record.terminated = true;
                true
            }
            None => false,
        }
    }

    /// Counts a sale attempt on `token` and returns its context together with
    /// the token itself (one lock, so the two are consistent).
    pub fn begin_sale(&self, token: &str) -> Option<(TokenUse, SecureToken)> {
        let mut inner = self.inner.lock().expect("token store poisoned");
        let record = inner.by_token.get_mut(token)?;
        record.sales += 1;
        let token_use = TokenUse {
            terminated: record.terminated,
            trigger: record.trigger,
            attempt: record.sales,
        };
        Some((token_use, record.clone()))
    }
}

impl SecureToken {
    /// The `SecureToken` resource as Payroc returns it.
    pub fn to_json(&self) -> Value {
        let mut source = json!({
            "type": "card",
            "cardNumber": self.masked_number,
            "expiryDate": self.expiry_date,
            "cardType": self.card_type,
        });
        if let Some(name) = &self.cardholder_name {
            source["cardholderName"] = json!(name);
        }
        let mut value = json!({
            "secureTokenId": self.secure_token_id,
            "processingTerminalId": self.processing_terminal_id,
            "source": source,
            "token": self.token,
            "status": self.status,
        });
        if let Some(mit) = &self.mit_agreement {
            value["mitAgreement"] = json!(mit);
        }
        value
    }
}
