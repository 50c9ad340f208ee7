//! Settings of the workflows a merchant runs its book with: dunning (retries after a decline)
//! and notices ahead of a charge.

use serde::{Deserialize, Serialize};

use super::Delay;

/// The card networks' limits on charging a card again after a decline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DunningSettings {
    /// New attempts after a decline allowed per card (payment account) within
    /// `reattempt_window`, all its subscriptions together: Visa's excessive-retry rule.
    pub max_reattempts: u32,
    pub reattempt_window: Delay,
    /// Retry schedules of particular soft-decline codes, overriding
    /// `billing.soft_decline_retries` for them: `"51" = ["2d", "5d"]`.
    pub codes: std::collections::BTreeMap<String, Vec<Delay>>,
}

impl DunningSettings {
    /// The rules the outcome transitions apply.
    pub fn rules(&self) -> crate::domain::dunning::DunningRules {
        crate::domain::dunning::DunningRules {
            by_code: self
                .codes
                .iter()
                .map(|(code, delays)| (code.clone(), delays.iter().map(|d| d.signed()).collect()))
                .collect(),
            max_reattempts: self.max_reattempts,
            window: self.reattempt_window.signed(),
        }
    }
}

impl Default for DunningSettings {
    fn default() -> Self {
        DunningSettings {
            max_reattempts: 15,
            reattempt_window: Delay::secs(30 * 86_400),
            // A merchant's policy, not the networks': none unless configured.
            codes: Default::default(),
        }
    }
}

/// Webhook events that warn ahead of a charge, so the merchant can tell the customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoticeSettings {
    pub enabled: bool,
    /// `charge.upcoming` this long before each cycle falls due.
    pub upcoming_before: Delay,
    /// `account.card_expiring` when a charge due within this time falls after the stored
    /// card's expiry.
    pub card_expiring_before: Delay,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        NoticeSettings {
            enabled: true,
            upcoming_before: Delay::secs(3 * 86_400),
            card_expiring_before: Delay::secs(14 * 86_400),
        }
    }
}
