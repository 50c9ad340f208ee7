//! What a gateway's final answer does to a claimed charge: a pure decision on typed values
//! (the charge, the classified answer, the retry policy, now). `store::outcomes` loads the
//! charge under its lease fence and applies the transition; the outcome table this implements
//! is in docs/architecture.md ("Record").

use jiff::{SignedDuration, Timestamp};

use super::dunning::{self, Decline, DunningRules, GiveUpReason, NextStep, RetryHistory};
use super::outcome::Outcome;
use super::position::Sequence;
use super::states::AccountState;

/// When to try again after answers that allow it.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// The delay before each new attempt after a soft decline: the n-th entry follows the
    /// decline of attempt n. When the list is used up the charge fails.
    pub soft_decline_retries: Vec<SignedDuration>,
    pub unknown_retry_after: SignedDuration,
    pub pending_recheck_after: SignedDuration,
    /// Schedules per decline code and the card's reattempt budget (`domain::dunning`).
    pub dunning: DunningRules,
}

/// What the decision needs to know of the claimed charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChargeFacts {
    /// The attempt the answer belongs to (1 for the first).
    pub attempt_no: i32,
    /// The series position its request was written down with (None if none is on record).
    pub sent_as: Option<Sequence>,
    /// The last installment of its subscription.
    pub is_last: bool,
}

/// What the answer does to the charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Approve {
        /// A `first` payment approved with a payment id: the subscription's series starts here.
        /// Without a payment id there is nothing later payments could refer to.
        opens_series: bool,
        /// The last installment: the subscription is completed (if still active).
        completes_subscription: bool,
    },
    /// A soft decline with retries left: a new attempt (a new sale, so a new key and orderId)
    /// at `at`.
    RetryLater { attempt_no: i32, at: Timestamp },
    /// The charge fails for good and the subscription becomes past due.
    Fail { reason: FailReason },
    /// The card account is gone: the charge is held, and the account suspended
    /// (see `on_account_terminated`).
    Suspend,
    /// Unknown or pending: the charge stays open under the same key, asked about again at `at`.
    KeepOpen { at: Timestamp },
}

/// A soft decline's transition, by the dunning rules: the decline's code picks the schedule
/// (attempt n's decline is followed by its n-th delay), the card's reattempts in the window
/// (`card_reattempts`, loaded by the store) the budget.
pub fn after_soft_decline(
    charge: ChargeFacts,
    decline: Decline<'_>,
    card_reattempts: u32,
    policy: &RetryPolicy,
    now: Timestamp,
) -> Transition {
    let history = RetryHistory {
        retries_done: (charge.attempt_no - 1).max(0) as u32,
        card_reattempts,
    };
    let soft = &policy.soft_decline_retries;
    match dunning::after_soft_decline(soft, &policy.dunning, decline, history, now) {
        NextStep::RetryAt(at) => Transition::RetryLater {
            attempt_no: charge.attempt_no + 1,
            at,
        },
        NextStep::GiveUp(why) => Transition::Fail {
            reason: match why {
                GiveUpReason::ScheduleUsedUp(_) => FailReason::SoftDeclineRetriesExhausted,
                GiveUpReason::CardBudgetUsed { .. } => FailReason::CardReattemptBudgetUsed,
                GiveUpReason::AdvisedToStop(_) => FailReason::AdvisedToStop,
            },
        },
    }
}

/// Why a charge failed, in the words stored as (the start of) its failure reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailReason {
    SoftDeclineRetriesExhausted,
    /// The card's reattempts in the networks' window are used up (`dunning.max_reattempts`).
    CardReattemptBudgetUsed,
    /// The card network advised against trying again (Mastercard advice 03 or 21).
    AdvisedToStop,
    Declined,
    RequestRejected,
}

impl FailReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::SoftDeclineRetriesExhausted => "soft decline retries exhausted",
            FailReason::CardReattemptBudgetUsed => "the card's reattempt budget is used up",
            FailReason::AdvisedToStop => "the card network advised not to try again",
            FailReason::Declined => "declined",
            FailReason::RequestRejected => "request rejected",
        }
    }
}

/// The transition an answer with `outcome` (and a payment id, or none) makes on `charge`.
pub fn decide(
    charge: ChargeFacts,
    outcome: Outcome,
    has_payment_id: bool,
    policy: &RetryPolicy,
    now: Timestamp,
) -> Transition {
    let after = |delay: SignedDuration| now.checked_add(delay).unwrap_or(now);
    match outcome {
        Outcome::Approved => Transition::Approve {
            opens_series: charge.sent_as == Some(Sequence::First) && has_payment_id,
            completes_subscription: charge.is_last,
        },
        Outcome::DeclinedSoft => after_soft_decline(charge, Decline::default(), 0, policy, now),
        Outcome::DeclinedHard => Transition::Fail {
            reason: FailReason::Declined,
        },
        Outcome::RequestError => Transition::Fail {
            reason: FailReason::RequestRejected,
        },
        Outcome::AccountTerminated => Transition::Suspend,
        Outcome::Unknown => Transition::KeepOpen {
            at: after(policy.unknown_retry_after),
        },
        Outcome::Pending => Transition::KeepOpen {
            at: after(policy.pending_recheck_after),
        },
    }
}

/// What a terminated card account does to its payment account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suspension {
    /// Suspend the account, hold its subscriptions and open charges, announce it.
    SuspendAccount,
    /// The account stopped being active while this request was out (the merchant, or an
    /// earlier answer, suspended it): the charge is held with the others, and the suspension
    /// is not announced a second time.
    HoldChargeOnly,
}

/// `Transition::Suspend` applied to an account in `state`.
pub fn on_account_terminated(state: AccountState) -> Suspension {
    match state {
        AccountState::Active => Suspension::SuspendAccount,
        AccountState::Initializing | AccountState::Suspended | AccountState::Closed => {
            Suspension::HoldChargeOnly
        }
    }
}

/// An approval that touches nothing but the charge — not the first payment of a series (which
/// the subscription records) and not a last installment (which completes the subscription) —
/// so that many can be recorded in one set-based statement.
pub fn is_plain_approval(charge: ChargeFacts, outcome: Outcome) -> bool {
    outcome == Outcome::Approved && charge.sent_as == Some(Sequence::Subsequent) && !charge.is_last
}

/// A failure or suspension reason as stored and announced: the rule's words, then the
/// processor's code and message, then a transport error, each when there is one.
pub fn reason_text(
    why: &str,
    processor_code: Option<&str>,
    message: Option<&str>,
    error: Option<&str>,
) -> String {
    let mut s = why.to_owned();
    if let Some(code) = processor_code {
        s.push_str(&format!(" (code {code}"));
        if let Some(m) = message {
            s.push_str(&format!(": {m}"));
        }
        s.push(')');
    }
    if let Some(e) = error {
        s.push_str(": ");
        s.push_str(e);
    }
    s
}

#[cfg(test)]
#[path = "transition_tests.rs"]
mod tests;
