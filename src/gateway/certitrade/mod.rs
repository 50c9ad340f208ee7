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

    /// The customer registers the card at the payment window: a request gives nothing of it.
    fn account_input(
        &self,
        input: crate::gateway::rules::AccountInput,
        current: Option<&crate::domain::credential::Credential>,
    ) -> Result<crate::gateway::rules::AccountPlan, crate::gateway::rules::InputError> {
        use crate::gateway::rules::{AccountPlan, InputError};
        let given = input.token.is_some() || input.card.is_some() || input.scope.is_some();
        match current {
            None if given || input.series => Err(InputError::new(
                "gateway",
                "a CertiTrade account takes no card, token, series or terminal: the customer registers the card at the link returned",
            )),
            Some(_) if given => Err(InputError::new(
                "card",
                "a CertiTrade account is re-initialized by the customer at the link returned, not with card details",
            )),
            _ => Ok(AccountPlan::PaymentWindow),
        }
    }

    /// CertiTrade keeps the series itself: it is opened by the payment_account's initialization.
    fn continued_series(
        &self,
        _series: crate::gateway::rules::SeriesInput,
    ) -> Result<crate::domain::series::FirstPayment, crate::gateway::rules::InputError> {
        Err(crate::gateway::rules::InputError::new(
            "series",
            "only a Payroc subscription continues a series: CertiTrade keeps its own, opened by the payment_account's initialization",
        ))
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

    #[test]
    fn a_request_gives_nothing_of_the_card_the_customer_registers_at_the_window() {
        use crate::domain::credential::Credential;
        use crate::domain::states::GatewayKind;
        use crate::gateway::rules::{AccountInput, AccountPlan, InputError, SeriesInput};
        let current = Credential::empty(GatewayKind::CertiTrade);
        let terminal = || AccountInput {
            scope: Some("3204001".into()),
            ..AccountInput::default()
        };
        let series = AccountInput {
            series: true,
            ..AccountInput::default()
        };
        let field = |r: Result<AccountPlan, InputError>| r.map(|_| ()).unwrap_err().field;
        assert_eq!(
            field(super::Rules.account_input(terminal(), None)),
            "gateway"
        );
        assert_eq!(field(super::Rules.account_input(series, None)), "gateway");
        let again = super::Rules.account_input(terminal(), Some(&current));
        assert_eq!(field(again), "card");
        for current in [None, Some(&current)] {
            let plan = super::Rules.account_input(AccountInput::default(), current);
            assert!(matches!(plan, Ok(AccountPlan::PaymentWindow)));
        }
        let given = SeriesInput {
            payment_id: "pay-1".into(),
            scheme_reference: None,
        };
        assert_eq!(
            super::Rules.continued_series(given).unwrap_err().field,
            "series"
        );
    }
}
