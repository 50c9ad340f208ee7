//! Payroc: "use your own software for repeat payments" — secure tokens and sales with
//! standing instructions.

mod auth;
mod client;
mod input;
mod ledger;
mod lookup;
#[cfg(test)]
mod request_tests;
mod secure_token;
mod token_request;
pub mod transformers;
#[cfg(test)]
mod transformers_tests;

pub use client::PayrocClient;
pub use secure_token::{CardDetails, CreatedToken, TokenError, TokenRequest};

/// Payroc's rules: see `gateway::rules`.
pub struct Rules;

impl crate::gateway::rules::GatewayRules for Rules {
    fn kind(&self) -> crate::domain::states::GatewayKind {
        crate::domain::states::GatewayKind::Payroc
    }

    /// The last 16 hex digits of the charge id plus the attempt number: within Payroc's 24
    /// characters. The last half, because it is the random one: a charge id is time-ordered
    /// (UUIDv7), and its first half is mostly the millisecond it was made in.
    fn order_id(&self, charge_id: uuid::Uuid, attempt_no: i32) -> String {
        format!("{}-{attempt_no}", &charge_id.simple().to_string()[16..])
    }

    /// Payroc has no payment window: the merchant collects new card details.
    fn reinitialization_needed(&self) -> &'static str {
        "new card details from the customer: a new secure token, then a new `first` payment"
    }

    fn reinitialization(&self) -> crate::gateway::rules::Reinitialization {
        crate::gateway::rules::Reinitialization::NewCardFromMerchant
    }

    fn account_input(
        &self,
        input: crate::gateway::rules::AccountInput,
        current: Option<&crate::domain::credential::Credential>,
    ) -> Result<crate::gateway::rules::AccountPlan, crate::gateway::rules::InputError> {
        input::account_input(input, current)
    }

    fn continued_series(
        &self,
        series: crate::gateway::rules::SeriesInput,
    ) -> Result<crate::domain::series::FirstPayment, crate::gateway::rules::InputError> {
        input::continued_series(series)
    }
}

#[cfg(test)]
mod rules_tests {
    use crate::gateway::rules::GatewayRules;

    #[test]
    fn an_order_id_fits_payrocs_24_characters_and_names_its_charge() {
        let charge = uuid::Uuid::new_v4();
        let (o1, o2) = (
            super::Rules.order_id(charge, 1),
            super::Rules.order_id(charge, 999),
        );
        assert!(o1.len() <= 24 && o2.len() <= 24);
        assert_eq!(&o1[..16], &charge.simple().to_string()[16..]);
        assert_eq!(&o1[..16], &o2[..16]);
        assert_ne!(o1, o2);
    }

    /// Charges made in the same millisecond get different orderIds.
    #[test]
    fn charges_of_one_millisecond_get_different_order_ids() {
        let now: jiff::Timestamp = "2026-12-07T03:30:00Z".parse().unwrap();
        let ids: std::collections::HashSet<String> = (0..10_000)
            .map(|_| super::Rules.order_id(crate::ids::time_ordered(now), 1))
            .collect();
        assert_eq!(ids.len(), 10_000);
    }
}
