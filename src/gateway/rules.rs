//! What each gateway decides without being asked over the network: the merchant reference of an
//! attempt, and how a suspended account comes back. One implementation per adapter
//! (`payroc::Rules`, `certitrade::Rules`); `gateway::rules(kind)` is the one place that picks
//! it, so a new gateway is one arm there.

use uuid::Uuid;

use crate::domain::states::GatewayKind;

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
