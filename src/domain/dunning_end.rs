//! The end of dunning: what becomes of a past-due subscription — one whose failed charge will
//! not be tried again automatically (its retry schedule or the card's reattempt budget is used
//! up, the network advised to stop, or the decline was hard) — once a grace period has passed.
//!
//! Past due is entered at once, as ever; the merchant's configured end (`dunning.end`) follows
//! `dunning.grace` later, unless the failure was settled meanwhile (a retry, a resume, a card
//! update). A pure decision: `store::dunning_end` finds the candidates and applies it.

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::states::SubscriptionStatus;

/// Where a subscription whose failed charge is given up on ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DunningEnd {
    /// It stays past due until the merchant acts (resume, retry, cancel).
    #[default]
    PastDue,
    /// It is cancelled: nothing more is ever charged.
    Cancel,
    /// It is paused: resuming it bills again from the next cycle due.
    Pause,
}

impl DunningEnd {
    /// The status it ends in, or None when it stays past due.
    pub fn target(self) -> Option<SubscriptionStatus> {
        match self {
            DunningEnd::PastDue => None,
            DunningEnd::Cancel => Some(SubscriptionStatus::Cancelled),
            DunningEnd::Pause => Some(SubscriptionStatus::Paused),
        }
    }
}

/// The merchant's end and how long after entering past due it comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndPolicy {
    pub end: DunningEnd,
    pub grace: SignedDuration,
}

impl Default for EndPolicy {
    /// Today's behaviour: past due, for good.
    fn default() -> Self {
        EndPolicy {
            end: DunningEnd::PastDue,
            grace: SignedDuration::ZERO,
        }
    }
}

/// What the end does to one subscription now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndStep {
    /// Nothing: it is not past due, or the policy keeps it past due.
    Stay,
    /// Its grace runs until then.
    Wait(Timestamp),
    /// Its grace ran out: it moves to this status.
    End(SubscriptionStatus),
}

/// The end for a subscription in `status`, past due since `since` (when its charge failed).
pub fn decide_end(
    policy: EndPolicy,
    status: SubscriptionStatus,
    since: Timestamp,
    now: Timestamp,
) -> EndStep {
    if status != SubscriptionStatus::PastDue {
        return EndStep::Stay;
    }
    let Some(target) = policy.end.target() else {
        return EndStep::Stay;
    };
    let ends_at = since.checked_add(policy.grace).unwrap_or(Timestamp::MAX);
    if now < ends_at {
        EndStep::Wait(ends_at)
    } else {
        EndStep::End(target)
    }
}

/// The latest moment of entering past due whose grace has run out by `now` (the store's
/// candidate scan), or None when the policy ends nothing.
pub fn ended_since(policy: EndPolicy, now: Timestamp) -> Option<Timestamp> {
    policy.end.target()?;
    Some(now.checked_sub(policy.grace).unwrap_or(Timestamp::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn policy(end: DunningEnd, days: i64) -> EndPolicy {
        EndPolicy {
            end,
            grace: SignedDuration::from_hours(24 * days),
        }
    }

    const SINCE: &str = "2027-01-10T00:00:00Z";

    #[test]
    fn past_due_stays_past_due_by_default_whatever_the_time() {
        let p = EndPolicy::default();
        for now in [SINCE, "2027-01-11T00:00:00Z", "2030-01-01T00:00:00Z"] {
            let step = decide_end(p, SubscriptionStatus::PastDue, at(SINCE), at(now));
            assert_eq!(step, EndStep::Stay);
        }
        assert_eq!(ended_since(p, at(SINCE)), None);
    }

    #[test]
    fn cancel_and_pause_wait_for_the_grace_then_end() {
        for (end, target) in [
            (DunningEnd::Cancel, SubscriptionStatus::Cancelled),
            (DunningEnd::Pause, SubscriptionStatus::Paused),
        ] {
            let p = policy(end, 7);
            let decide = |now| decide_end(p, SubscriptionStatus::PastDue, at(SINCE), at(now));
            assert_eq!(
                decide("2027-01-16T23:59:59Z"),
                EndStep::Wait(at("2027-01-17T00:00:00Z"))
            );
            assert_eq!(decide("2027-01-17T00:00:00Z"), EndStep::End(target));
            assert_eq!(decide("2027-03-01T00:00:00Z"), EndStep::End(target));
        }
    }

    #[test]
    fn no_grace_ends_at_once() {
        let p = policy(DunningEnd::Cancel, 0);
        assert_eq!(
            decide_end(p, SubscriptionStatus::PastDue, at(SINCE), at(SINCE)),
            EndStep::End(SubscriptionStatus::Cancelled)
        );
    }

    #[test]
    fn only_a_past_due_subscription_is_ended() {
        let p = policy(DunningEnd::Cancel, 0);
        for status in SubscriptionStatus::ALL {
            if *status == SubscriptionStatus::PastDue {
                continue;
            }
            let step = decide_end(p, *status, at(SINCE), at("2028-01-01T00:00:00Z"));
            assert_eq!(step, EndStep::Stay, "{status:?}");
        }
    }

    #[test]
    fn the_scan_takes_what_entered_past_due_a_grace_ago() {
        let p = policy(DunningEnd::Pause, 3);
        assert_eq!(
            ended_since(p, at("2027-01-13T00:00:00Z")),
            Some(at("2027-01-10T00:00:00Z"))
        );
    }
}
