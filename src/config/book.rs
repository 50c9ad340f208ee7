//! Settings of the workflows a merchant runs its book with: dunning (retries after a decline)
//! and notices ahead of a charge.

use serde::{Deserialize, Serialize};

use super::{BillingSettings, ConfigError, Delay};
pub use crate::domain::dunning_end::{DunningEnd, EndPolicy};

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
    /// What becomes of a subscription past due once `grace` has passed: `past_due` (it stays
    /// so until the merchant acts), `cancel` or `pause`.
    pub end: DunningEnd,
    /// How long a subscription stays past due before `end` applies.
    pub grace: Delay,
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
            end: EndPolicy {
                end: self.end,
                grace: self.grace.signed(),
            },
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
            end: DunningEnd::PastDue,
            grace: Delay::secs(0),
        }
    }
}

/// The dunning end's own checks (`validate::dunning` calls it): a grace period is a
/// duration a merchant can wait out, and one given with no end to wait for is a mistake.
pub fn check_end(d: &DunningSettings) -> Result<(), ConfigError> {
    let year = std::time::Duration::from_secs(366 * 86_400);
    if d.grace.get() > year {
        return Err(ConfigError::invalid(
            "dunning.grace",
            "must be at most 366d (a subscription past due longer is better cancelled by hand)",
        ));
    }
    if d.end == DunningEnd::PastDue && !d.grace.get().is_zero() {
        return Err(ConfigError::invalid(
            "dunning.grace",
            "is set but dunning.end is \"past_due\", which ends nothing: set dunning.end to \"cancel\" or \"pause\", or leave the grace at 0s",
        ));
    }
    Ok(())
}

/// The catch-up after downtime or a suspension is how a merchant's book is billed too.
impl BillingSettings {
    /// The daemon's catch-up, as the materialize plan takes it.
    pub fn catch_up_policy(&self) -> crate::domain::materialize::CatchUpPolicy {
        crate::domain::materialize::CatchUpPolicy {
            mode: self.catch_up,
            max_cycles: self.catch_up_max_cycles,
        }
    }

    /// The catch-up's checks (`validate::billing` calls it).
    pub(super) fn check_catch_up(&self) -> Result<(), ConfigError> {
        let key = "billing.catch_up_max_cycles";
        match self.catch_up_max_cycles {
            Some(n) if !(1..=1000).contains(&n) => Err(ConfigError::invalid(
                key,
                "must be 1 to 1000 (leave it unset to charge every missed cycle)",
            )),
            Some(_) if self.catch_up == crate::domain::materialize::CatchUp::Latest => {
                Err(ConfigError::invalid(
                    key,
                    "is a cap for catch_up = \"all\"; \"latest\" charges only the newest missed cycle",
                ))
            }
            _ => Ok(()),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dunning_end_is_checked_naming_the_key() {
        let ok = DunningSettings::default();
        assert!(check_end(&ok).is_ok());
        let cancel = DunningSettings {
            end: DunningEnd::Cancel,
            grace: Delay::secs(7 * 86_400),
            ..DunningSettings::default()
        };
        assert!(check_end(&cancel).is_ok());
        let too_long = DunningSettings {
            grace: Delay::secs(400 * 86_400),
            ..cancel.clone()
        };
        let e = check_end(&too_long).unwrap_err().to_string();
        assert!(e.contains("dunning.grace") && e.contains("366d"), "{e}");
        let pointless = DunningSettings {
            grace: Delay::secs(86_400),
            ..DunningSettings::default()
        };
        let e = check_end(&pointless).unwrap_err().to_string();
        assert!(e.contains("dunning.end"), "{e}");
    }

    #[test]
    fn the_end_is_written_as_in_the_docs() {
        let parsed: DunningSettings = toml::from_str("end = \"cancel\"\ngrace = \"7d\"").unwrap();
        assert_eq!(parsed.end, DunningEnd::Cancel);
        assert_eq!(
            parsed.rules().end.grace,
            jiff::SignedDuration::from_hours(168)
        );
        assert!(toml::from_str::<DunningSettings>("end = \"delete\"").is_err());
    }
}
