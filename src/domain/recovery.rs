//! Retrying a failed charge by hand (`POST /v1/charges/{id}/retry`): allowed only when nothing
//! about the charge is in doubt and the card's reattempt budget has room — a pure decision.
//!
//! A retry is a new attempt: a new Idempotency-Key and orderId, a new sale. Sending one while an
//! earlier request of the charge might still have been approved could charge the customer
//! twice, so any request without a definitive answer, or a reconciliation finding that the
//! gateway approved one, refuses it.

use serde::{Deserialize, Serialize};

use super::outcome::Outcome;
use super::states::{AccountState, ChargeStatus, SubscriptionStatus};

/// What the decision needs to know about a charge, read under its row lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryCase {
    pub charge: ChargeStatus,
    /// The answer that failed it.
    pub last_outcome: Option<Outcome>,
    pub subscription: SubscriptionStatus,
    pub account: AccountState,
    /// Requests of the charge whose answer was not definitive (unknown, pending, never finished).
    pub requests_in_doubt: u32,
    /// Reconciliation found an approval at the gateway for one of its requests.
    pub approval_found: bool,
    /// New attempts (not resends) on the card within the budget's window.
    pub reattempts_used: u32,
    pub reattempt_budget: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryRefusal {
    #[error("is {0}: only a failed charge is retried")]
    NotFailed(ChargeStatus),
    #[error(
        "has {0} request(s) whose answer the gateway never gave definitively: a new attempt could \
         charge twice; reconciliation settles them first"
    )]
    InDoubt(u32),
    #[error(
        "the gateway approved one of its requests (see GET /v1/reconciliation/findings): it is \
         paid, not to be retried"
    )]
    ApprovedAtGateway,
    #[error(
        "was declined for good (a hard decline: the card networks forbid reattempting it, e.g. \
         Visa category 1); the customer needs a new card, stored by re-initializing the account"
    )]
    DeclinedForGood,
    #[error("its subscription is {0}")]
    SubscriptionEnded(SubscriptionStatus),
    #[error("its payment account is {0}: it is re-initialized, not retried")]
    AccountNotActive(AccountState),
    #[error(
        "the card has used {used} of its {budget} reattempts in the card networks' window; \
         retry when older ones age out"
    )]
    BudgetUsed { used: u32, budget: u32 },
}

/// Why a failed charge would go out again as a new attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// `POST /v1/charges/{id}/retry`, or a resume with `failed_cycle: "retry"`: the same card.
    HandRetry,
    /// The account took a new card (a new token, or a CertiTrade re-initialization) while the
    /// subscription was active or past due.
    CardUpdate,
}

/// What a card update does with a subscription's failed cycle (`billing.failed_cycle_on_card_update`,
/// or the call's `failed_cycle`). Kept as text while a CertiTrade card update waits for its
/// customer (`payment_accounts.card_update_failed_cycle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum OnCardUpdate {
    /// Bill it once more, on the new card.
    #[default]
    Charge,
    /// It stays failed; billing goes on with the next cycle.
    Leave,
}

/// Whether a hand retry may go out now.
pub fn decide_retry(case: &RetryCase) -> Result<(), RetryRefusal> {
    decide(case, Recovery::HandRetry)
}

/// Whether a new attempt may go out now, for a hand retry or a card update.
///
/// A card update differs from a hand retry in two rules, both because the card is new:
/// - a hard decline ("expired card", "lost card", a Visa category 1 code) is re-billed: the
///   networks forbid reattempting *that* card, and the new card is exactly what the decline
///   asked for;
/// - the reattempt budget is not spent: the networks count reattempts per card, and this is
///   the new card's first attempt.
///
/// Everything that guards against charging twice still refuses: a request of the charge in
/// doubt, an approval found at the gateway, or a charge that is not failed (already re-billed,
/// or paid) — which is what makes a second card update bill nothing.
pub fn decide(case: &RetryCase, why: Recovery) -> Result<(), RetryRefusal> {
    if case.charge != ChargeStatus::Failed {
        return Err(RetryRefusal::NotFailed(case.charge));
    }
    if why == Recovery::HandRetry && case.last_outcome == Some(Outcome::DeclinedHard) {
        return Err(RetryRefusal::DeclinedForGood);
    }
    if case.approval_found {
        return Err(RetryRefusal::ApprovedAtGateway);
    }
    if case.requests_in_doubt > 0 {
        return Err(RetryRefusal::InDoubt(case.requests_in_doubt));
    }
    if !matches!(
        case.subscription,
        SubscriptionStatus::Active | SubscriptionStatus::PastDue
    ) {
        return Err(RetryRefusal::SubscriptionEnded(case.subscription));
    }
    if case.account != AccountState::Active {
        return Err(RetryRefusal::AccountNotActive(case.account));
    }
    if why == Recovery::HandRetry && case.reattempts_used >= case.reattempt_budget {
        return Err(RetryRefusal::BudgetUsed {
            used: case.reattempts_used,
            budget: case.reattempt_budget,
        });
    }
    Ok(())
}

/// A card update's decision for one subscription's failed cycle: re-billed (Ok), left by the
/// merchant's policy (`Ok(false)`), or refused with the reason.
pub fn rebill_on_card_update(case: &RetryCase, policy: OnCardUpdate) -> Result<bool, RetryRefusal> {
    match policy {
        OnCardUpdate::Leave => Ok(false),
        OnCardUpdate::Charge => decide(case, Recovery::CardUpdate).map(|()| true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed() -> RetryCase {
        RetryCase {
            charge: ChargeStatus::Failed,
            last_outcome: Some(Outcome::DeclinedSoft),
            subscription: SubscriptionStatus::PastDue,
            account: AccountState::Active,
            requests_in_doubt: 0,
            approval_found: false,
            reattempts_used: 3,
            reattempt_budget: 15,
        }
    }

    #[test]
    fn a_settled_failure_with_budget_left_is_retried() {
        assert_eq!(decide_retry(&failed()), Ok(()));
        let active = RetryCase {
            subscription: SubscriptionStatus::Active,
            ..failed()
        };
        assert_eq!(decide_retry(&active), Ok(()));
    }

    #[test]
    fn every_doubt_or_dead_end_refuses_with_its_reason() {
        let cases = [
            (
                RetryCase {
                    charge: ChargeStatus::Approved,
                    ..failed()
                },
                RetryRefusal::NotFailed(ChargeStatus::Approved),
            ),
            (
                RetryCase {
                    last_outcome: Some(Outcome::DeclinedHard),
                    ..failed()
                },
                RetryRefusal::DeclinedForGood,
            ),
            (
                RetryCase {
                    requests_in_doubt: 1,
                    ..failed()
                },
                RetryRefusal::InDoubt(1),
            ),
            (
                RetryCase {
                    approval_found: true,
                    ..failed()
                },
                RetryRefusal::ApprovedAtGateway,
            ),
            (
                RetryCase {
                    subscription: SubscriptionStatus::Cancelled,
                    ..failed()
                },
                RetryRefusal::SubscriptionEnded(SubscriptionStatus::Cancelled),
            ),
            (
                RetryCase {
                    account: AccountState::Suspended,
                    ..failed()
                },
                RetryRefusal::AccountNotActive(AccountState::Suspended),
            ),
            (
                RetryCase {
                    reattempts_used: 15,
                    ..failed()
                },
                RetryRefusal::BudgetUsed {
                    used: 15,
                    budget: 15,
                },
            ),
        ];
        for (case, refusal) in cases {
            assert_eq!(decide_retry(&case), Err(refusal), "{case:?}");
        }
    }

    #[test]
    fn a_card_update_rebills_a_hard_decline_and_spends_no_budget() {
        let hard = RetryCase {
            last_outcome: Some(Outcome::DeclinedHard),
            reattempts_used: 15,
            ..failed()
        };
        assert_eq!(decide_retry(&hard), Err(RetryRefusal::DeclinedForGood));
        assert_eq!(rebill_on_card_update(&hard, OnCardUpdate::Charge), Ok(true));
        assert_eq!(
            rebill_on_card_update(&failed(), OnCardUpdate::Charge),
            Ok(true)
        );
    }

    #[test]
    fn a_card_update_leaves_the_cycle_by_policy_and_never_charges_twice() {
        assert_eq!(
            rebill_on_card_update(&failed(), OnCardUpdate::Leave),
            Ok(false)
        );
        let cases = [
            (
                RetryCase {
                    charge: ChargeStatus::Due,
                    ..failed()
                },
                RetryRefusal::NotFailed(ChargeStatus::Due),
            ),
            (
                RetryCase {
                    charge: ChargeStatus::Approved,
                    ..failed()
                },
                RetryRefusal::NotFailed(ChargeStatus::Approved),
            ),
            (
                RetryCase {
                    requests_in_doubt: 2,
                    ..failed()
                },
                RetryRefusal::InDoubt(2),
            ),
            (
                RetryCase {
                    approval_found: true,
                    ..failed()
                },
                RetryRefusal::ApprovedAtGateway,
            ),
            (
                RetryCase {
                    subscription: SubscriptionStatus::Paused,
                    ..failed()
                },
                RetryRefusal::SubscriptionEnded(SubscriptionStatus::Paused),
            ),
        ];
        for (case, refusal) in cases {
            assert_eq!(
                rebill_on_card_update(&case, OnCardUpdate::Charge),
                Err(refusal),
                "{case:?}"
            );
        }
    }
}
