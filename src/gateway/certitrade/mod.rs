//! CertiTrade Merchant API 2.0: RECURRING payment accounts, initializing payments through the
//! payment window, and merchant-initiated RECURRING charges.

mod client;
mod ledger;
mod registration;
mod requests;
#[cfg(test)]
mod requests_tests;
pub mod sign;
pub mod transformers;

pub use client::{CertiTradeClient, Initialization};

/// CertiTrade's rules: see `gateway::rules`.
pub struct Rules;

impl crate::gateway::rules::GatewayRules for Rules {
    fn kind(&self) -> crate::domain::states::GatewayKind {
        crate::domain::states::GatewayKind::CertiTrade
    }

    /// The `reference` of a RECURRING payment: unique per payment and at most 64 characters,
    /// so the whole charge id fits, with the attempt number.
    fn order_id(&self, charge_id: uuid::Uuid, attempt_no: i32) -> String {
        format!("{}-{attempt_no}", charge_id.simple())
    }

    /// The customer completes a new initializing payment in CertiTrade's payment window.
    fn reinitialization_needed(&self) -> &'static str {
        "a new initializing payment by the customer"
    }

    fn reinitialization(&self) -> crate::gateway::rules::Reinitialization {
        crate::gateway::rules::Reinitialization::PaymentWindow
    }
}

#[cfg(test)]
mod rules_tests {
    use crate::gateway::rules::GatewayRules;

    #[test]
    fn a_reference_fits_certitrades_64_characters_and_names_its_charge() {
        let charge = uuid::Uuid::new_v4();
        let reference = super::Rules.order_id(charge, i32::MAX);
        assert!(reference.len() <= 64);
        assert!(reference.starts_with(&charge.simple().to_string()));
    }
}
