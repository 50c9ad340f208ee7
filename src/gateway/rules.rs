//! What each gateway decides without being asked over the network: the merchant reference of an
//! attempt, how a suspended account comes back, and what a request must give to register an
//! account or continue a series with it. One implementation per adapter (`payroc::Rules`,
//! `certitrade::Rules`); `gateway::rules(kind)` is the one place that picks it, so a new
//! gateway is one arm there and its input rules stay in its own folder.

use uuid::Uuid;

use crate::domain::credential::{CardOnFile, Credential};
use crate::domain::series::FirstPayment;
use crate::domain::states::GatewayKind;
use crate::gateway::card::CardDetails;

/// How a suspended account of a gateway is brought back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reinitialization {
    /// The customer completes a new initializing payment in the gateway's payment window:
    /// billingd asks the gateway for one as soon as the account is suspended.
    PaymentWindow,
    /// The merchant collects new card details and re-initializes the account through the API
    /// or the CLI; billingd can only record that it is waiting for them.
    NewCardFromMerchant,
}

pub trait GatewayRules: Sync {
    fn kind(&self) -> GatewayKind;

    /// The merchant reference (orderId) of attempt `attempt_no` of a charge, in the form the
    /// gateway accepts: unique per attempt and traceable back to the charge.
    fn order_id(&self, charge_id: Uuid, attempt_no: i32) -> String;

    /// What the customer must do to bring a suspended account back, in words for people.
    fn reinitialization_needed(&self) -> &'static str;

    fn reinitialization(&self) -> Reinitialization;

    /// What a new account (`current` is `None`) or a re-initialization of an account holding
    /// `current` is made from, checked against what this gateway takes.
    fn account_input(
        &self,
        input: AccountInput,
        current: Option<&Credential>,
    ) -> Result<AccountPlan, InputError>;

    /// An agreement's stored-credential series, opened before it came to billingd, continued
    /// by a new subscription on this gateway: checked, or refused where the gateway keeps the
    /// series itself.
    fn continued_series(&self, series: SeriesInput) -> Result<FirstPayment, InputError>;
}

/// A request field the rules refuse, and why: the API answers it as a 422 naming `field`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InputError {
    pub field: String,
    pub reason: String,
}

impl InputError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        InputError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// A required text, trimmed: not empty and at most `max` characters.
pub fn non_empty<'a>(field: &str, value: &'a str, max: usize) -> Result<&'a str, InputError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(InputError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(InputError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(v)
}

/// What a request gave to register or re-initialize an account, not yet checked. The names
/// are the API's: `processing_terminal_id`, `secure_token`, `card`, `series`.
#[derive(Default)]
pub struct AccountInput {
    /// Where the gateway keeps the credential (`processing_terminal_id`).
    pub scope: Option<String>,
    /// A credential the merchant already has (`secure_token`).
    pub token: Option<TokenInput>,
    /// Card details to make a credential from at the gateway (`card`).
    pub card: Option<CardInput>,
    /// A `series` was given: no gateway takes one with an account any longer.
    pub series: bool,
}

/// An existing credential as given.
pub struct TokenInput {
    pub token: String,
    /// The id by which the gateway can look the credential up.
    pub id: Option<String>,
    pub card_masked: Option<String>,
    pub card_expiry: Option<String>,
}

/// Card details as given: unchecked, never stored or logged.
pub struct CardInput {
    pub number: String,
    pub expiry: String,
    pub cvv: Option<String>,
    pub holder: Option<String>,
}

/// What the first payment of a continued series was called at the gateway, as given.
pub struct SeriesInput {
    pub payment_id: String,
    pub scheme_reference: Option<String>,
}

/// How an account's credential is made, once its input passed the gateway's rules.
#[derive(Debug)]
pub enum AccountPlan {
    /// The customer registers the card at the gateway's payment window: nothing is given.
    PaymentWindow,
    /// The merchant gives the card.
    FromMerchant(MerchantCard),
}

#[derive(Debug)]
pub enum MerchantCard {
    /// Card details, made into a credential at the gateway, kept under `scope`.
    Tokenize { scope: String, card: CardDetails },
    /// A credential the merchant already has.
    OnFile(CardOnFile),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::{fresh_intent, reinitialization_needed, rules};

    #[test]
    fn each_gateway_answers_for_itself() {
        for kind in GatewayKind::ALL {
            assert_eq!(rules(kind).kind(), kind);
            assert!(!reinitialization_needed(kind).is_empty());
        }
    }

    #[test]
    fn each_attempt_gets_a_new_v4_key_and_order_id() {
        let charge = Uuid::new_v4();
        for kind in GatewayKind::ALL {
            let (k1, o1) = fresh_intent(kind, charge, 1);
            let (k2, o2) = fresh_intent(kind, charge, 2);
            assert_ne!(k1, k2);
            assert_eq!(k1.get_version_num(), 4);
            assert_ne!(o1, o2);
            assert!(o2.ends_with("-2"));
        }
    }
}
