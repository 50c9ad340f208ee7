//! Dunning as data: after a soft decline, when (and whether) a charge is tried again — a pure
//! decision from the merchant's retry schedules and the card networks' rules.
//!
//! The networks' rules (sources in docs/dunning.md):
//! - Visa category 1 codes ("the issuer will never approve") are never reattempted. They are
//!   hard declines or terminations in the outcome table, so they never reach this decision.
//! - Visa allows a limited number of reattempts per card in 30 days (15 in the rules billingd
//!   ships with; configurable, since the number changed in the networks' 2026 rules). The
//!   budget is counted per card across all of its subscriptions.
//! - Mastercard's Merchant Advice Codes: 03 (do not try again) and 21 (payment cancelled: stop
//!   recurring) stop all retries; 24–30 set the earliest retry (1 hour to 10 days).

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

/// The merchant's retry schedules per code and the networks' budget (the schedule of every
/// other soft decline is `billing.soft_decline_retries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DunningRules {
    /// Schedules for particular processor response codes (e.g. "51", insufficient funds:
    /// later and fewer), overriding `soft`.
    pub by_code: BTreeMap<String, Vec<SignedDuration>>,
    /// Reattempts allowed per card within `window`, all its subscriptions together.
    pub max_reattempts: u32,
    pub window: SignedDuration,
    /// What becomes of a subscription past due, and when (`dunning_end`).
    pub end: super::dunning_end::EndPolicy,
}

/// What the gateway said, as far as dunning reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decline<'a> {
    /// The processor's (ISO 8583) response code.
    pub code: Option<&'a str>,
    /// Mastercard's Merchant Advice Code, where the gateway passes one on.
    pub advice: Option<&'a str>,
}

/// Where the charge and its card stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryHistory {
    /// Retries of this charge so far (0 after its first decline).
    pub retries_done: u32,
    /// Reattempts on the card within the policy's window, this charge's included.
    pub card_reattempts: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    RetryAt(Timestamp),
    GiveUp(GiveUpReason),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GiveUpReason {
    #[error("its retry schedule is used up ({0} retries)")]
    ScheduleUsedUp(usize),
    #[error("the card has used {used} of its {max} reattempts in the card networks' window")]
    CardBudgetUsed { used: u32, max: u32 },
    #[error("the card network advised not to try again (Mastercard merchant advice code {0})")]
    AdvisedToStop(String),
}

/// The earliest retry a Mastercard Merchant Advice Code allows, or whether it stops retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Advice {
    Stop,
    NotBefore(SignedDuration),
}

pub fn advice(code: &str) -> Option<Advice> {
    let hours = |h: i64| Some(Advice::NotBefore(SignedDuration::from_hours(h)));
    match code {
        "03" | "21" => Some(Advice::Stop),
        "24" => hours(1),
        "25" => hours(24),
        "26" => hours(48),
        "27" => hours(4 * 24),
        "28" => hours(6 * 24),
        "29" => hours(8 * 24),
        "30" => hours(10 * 24),
        _ => None,
    }
}

impl Default for DunningRules {
    /// No schedule per code and no budget: every soft decline follows the soft schedule.
    fn default() -> Self {
        DunningRules {
            by_code: BTreeMap::new(),
            max_reattempts: u32::MAX,
            window: SignedDuration::from_hours(30 * 24),
            end: Default::default(),
        }
    }
}

impl DunningRules {
    /// The schedule a decline with `code` follows: its own, or `soft`.
    pub fn schedule<'a>(
        &'a self,
        soft: &'a [SignedDuration],
        code: Option<&str>,
    ) -> &'a [SignedDuration] {
        code.and_then(|c| self.by_code.get(c))
            .map(Vec::as_slice)
            .unwrap_or(soft)
    }
}

/// After a soft decline: retry when the schedule, the advice code and the card's budget allow,
/// or give up (the charge fails).
pub fn after_soft_decline(
    soft: &[SignedDuration],
    policy: &DunningRules,
    decline: Decline<'_>,
    history: RetryHistory,
    now: Timestamp,
) -> NextStep {
    let advised = decline.advice.and_then(advice);
    if let (Some(Advice::Stop), Some(code)) = (advised, decline.advice) {
        return NextStep::GiveUp(GiveUpReason::AdvisedToStop(code.to_owned()));
    }
    let schedule = policy.schedule(soft, decline.code);
    let Some(delay) = schedule.get(history.retries_done as usize) else {
        return NextStep::GiveUp(GiveUpReason::ScheduleUsedUp(schedule.len()));
    };
    if history.card_reattempts >= policy.max_reattempts {
        return NextStep::GiveUp(GiveUpReason::CardBudgetUsed {
            used: history.card_reattempts,
            max: policy.max_reattempts,
        });
    }
    let delay = match advised {
        Some(Advice::NotBefore(earliest)) => (*delay).max(earliest),
        _ => *delay,
    };
    NextStep::RetryAt(now.checked_add(delay).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn days(n: i64) -> SignedDuration {
        SignedDuration::from_hours(24 * n)
    }

    fn soft() -> Vec<SignedDuration> {
        vec![days(1), days(3)]
    }

    fn policy() -> DunningRules {
        DunningRules {
            by_code: BTreeMap::from([("51".to_owned(), vec![days(2), days(4), days(6)])]),
            max_reattempts: 15,
            window: days(30),
            end: Default::default(),
        }
    }

    fn now() -> Timestamp {
        "2027-01-01T00:00:00Z".parse().unwrap()
    }

    fn history(retries_done: u32, card_reattempts: u32) -> RetryHistory {
        RetryHistory {
            retries_done,
            card_reattempts,
        }
    }

    fn code(c: &str) -> Decline<'_> {
        Decline {
            code: Some(c),
            advice: None,
        }
    }

    #[test]
    fn a_code_with_its_own_schedule_follows_it_others_the_soft_one() {
        let p = policy();
        let at = |d: SignedDuration| NextStep::RetryAt(now().checked_add(d).unwrap());
        assert_eq!(
            after_soft_decline(&soft(), &p, code("51"), history(0, 0), now()),
            at(days(2))
        );
        assert_eq!(
            after_soft_decline(&soft(), &p, code("51"), history(2, 2), now()),
            at(days(6))
        );
        assert_eq!(
            after_soft_decline(&soft(), &p, code("05"), history(1, 1), now()),
            at(days(3))
        );
        assert_eq!(
            after_soft_decline(&soft(), &p, code("05"), history(2, 2), now()),
            NextStep::GiveUp(GiveUpReason::ScheduleUsedUp(2))
        );
        assert_eq!(
            after_soft_decline(&soft(), &p, Decline::default(), history(0, 0), now()),
            at(days(1))
        );
    }

    #[test]
    fn the_cards_budget_stops_retries_across_its_subscriptions() {
        assert_eq!(
            after_soft_decline(&soft(), &policy(), code("05"), history(0, 15), now()),
            NextStep::GiveUp(GiveUpReason::CardBudgetUsed { used: 15, max: 15 })
        );
        assert!(matches!(
            after_soft_decline(&soft(), &policy(), code("05"), history(0, 14), now()),
            NextStep::RetryAt(_)
        ));
    }

    #[test]
    fn merchant_advice_03_and_21_stop_and_24_to_30_set_the_earliest_retry() {
        for stop in ["03", "21"] {
            let d = Decline {
                code: Some("05"),
                advice: Some(stop),
            };
            assert_eq!(
                after_soft_decline(&soft(), &policy(), d, history(0, 0), now()),
                NextStep::GiveUp(GiveUpReason::AdvisedToStop(stop.to_owned()))
            );
        }
        let later = |mac| {
            let d = Decline {
                code: Some("05"),
                advice: Some(mac),
            };
            after_soft_decline(&soft(), &policy(), d, history(0, 0), now())
        };
        // 24: not before an hour — the schedule's day is later, so the day stands.
        assert_eq!(
            later("24"),
            NextStep::RetryAt(now().checked_add(days(1)).unwrap())
        );
        // 30: not before ten days.
        assert_eq!(
            later("30"),
            NextStep::RetryAt(now().checked_add(days(10)).unwrap())
        );
        // An advice code outside the table changes nothing.
        assert_eq!(
            later("99"),
            NextStep::RetryAt(now().checked_add(days(1)).unwrap())
        );
    }
}
