//! Every row of the outcome table (docs/architecture.md, "Record"), without a database.

use super::*;

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn policy() -> RetryPolicy {
    RetryPolicy {
        soft_decline_retries: vec![
            SignedDuration::from_hours(24),
            SignedDuration::from_hours(72),
        ],
        unknown_retry_after: SignedDuration::from_mins(5),
        pending_recheck_after: SignedDuration::from_mins(30),
        dunning: Default::default(),
    }
}

fn charge(attempt_no: i32, sent_as: Option<Sequence>, is_last: bool) -> ChargeFacts {
    ChargeFacts {
        attempt_no,
        sent_as,
        is_last,
    }
}

fn subsequent(attempt_no: i32) -> ChargeFacts {
    charge(attempt_no, Some(Sequence::Subsequent), false)
}

fn decide_now(c: ChargeFacts, outcome: Outcome, has_payment_id: bool) -> Transition {
    decide(c, outcome, has_payment_id, &policy(), now())
}

#[test]
fn an_approved_first_payment_with_an_id_opens_the_series() {
    let first = charge(1, Some(Sequence::First), false);
    let approve = |opens_series| Transition::Approve {
        opens_series,
        completes_subscription: false,
    };
    assert_eq!(decide_now(first, Outcome::Approved, true), approve(true));
    // Nothing to refer to without a payment id.
    assert_eq!(decide_now(first, Outcome::Approved, false), approve(false));
    // A subsequent payment, or one with no position on record, opens nothing.
    assert_eq!(
        decide_now(subsequent(1), Outcome::Approved, true),
        approve(false)
    );
    let unplaced = charge(1, None, false);
    assert_eq!(
        decide_now(unplaced, Outcome::Approved, true),
        approve(false)
    );
}

#[test]
fn an_approved_last_installment_completes_the_subscription() {
    let last = charge(2, Some(Sequence::Subsequent), true);
    assert_eq!(
        decide_now(last, Outcome::Approved, true),
        Transition::Approve {
            opens_series: false,
            completes_subscription: true
        }
    );
    let only = charge(1, Some(Sequence::First), true);
    assert_eq!(
        decide_now(only, Outcome::Approved, true),
        Transition::Approve {
            opens_series: true,
            completes_subscription: true
        }
    );
}

#[test]
fn a_soft_decline_is_retried_on_the_schedule_as_a_new_attempt() {
    assert_eq!(
        decide_now(subsequent(1), Outcome::DeclinedSoft, true),
        Transition::RetryLater {
            attempt_no: 2,
            at: now() + SignedDuration::from_hours(24)
        }
    );
    assert_eq!(
        decide_now(subsequent(2), Outcome::DeclinedSoft, false),
        Transition::RetryLater {
            attempt_no: 3,
            at: now() + SignedDuration::from_hours(72)
        }
    );
    // An attempt number below 1 takes the first delay rather than indexing before the list.
    assert_eq!(
        decide_now(subsequent(0), Outcome::DeclinedSoft, false),
        Transition::RetryLater {
            attempt_no: 1,
            at: now() + SignedDuration::from_hours(24)
        }
    );
}

#[test]
fn a_soft_decline_past_the_schedule_fails_the_charge() {
    let fail = Transition::Fail {
        reason: FailReason::SoftDeclineRetriesExhausted,
    };
    assert_eq!(decide_now(subsequent(3), Outcome::DeclinedSoft, true), fail);
    let no_retries = RetryPolicy {
        soft_decline_retries: vec![],
        ..policy()
    };
    let t = decide(
        subsequent(1),
        Outcome::DeclinedSoft,
        true,
        &no_retries,
        now(),
    );
    assert_eq!(t, fail);
    assert_eq!(
        FailReason::SoftDeclineRetriesExhausted.as_str(),
        "soft decline retries exhausted"
    );
}

#[test]
fn a_hard_decline_or_a_rejected_request_fails_the_charge() {
    for has_id in [true, false] {
        assert_eq!(
            decide_now(subsequent(1), Outcome::DeclinedHard, has_id),
            Transition::Fail {
                reason: FailReason::Declined
            }
        );
        assert_eq!(
            decide_now(subsequent(1), Outcome::RequestError, has_id),
            Transition::Fail {
                reason: FailReason::RequestRejected
            }
        );
    }
    assert_eq!(FailReason::Declined.as_str(), "declined");
    assert_eq!(FailReason::RequestRejected.as_str(), "request rejected");
}

#[test]
fn a_terminated_account_suspends_whatever_the_attempt() {
    for c in [
        subsequent(1),
        subsequent(5),
        charge(1, Some(Sequence::First), true),
    ] {
        assert_eq!(
            decide_now(c, Outcome::AccountTerminated, true),
            Transition::Suspend
        );
    }
}

#[test]
fn unknown_and_pending_keep_the_charge_open_under_its_key() {
    assert_eq!(
        decide_now(subsequent(1), Outcome::Unknown, false),
        Transition::KeepOpen {
            at: now() + SignedDuration::from_mins(5)
        }
    );
    assert_eq!(
        decide_now(subsequent(2), Outcome::Pending, true),
        Transition::KeepOpen {
            at: now() + SignedDuration::from_mins(30)
        }
    );
}

#[test]
fn a_time_past_the_calendar_stays_at_now() {
    let end = Timestamp::MAX;
    let t = decide(subsequent(1), Outcome::Unknown, false, &policy(), end);
    assert_eq!(t, Transition::KeepOpen { at: end });
    let t = decide(subsequent(1), Outcome::DeclinedSoft, false, &policy(), end);
    assert_eq!(
        t,
        Transition::RetryLater {
            attempt_no: 2,
            at: end
        }
    );
}

#[test]
fn only_an_active_account_is_suspended_by_a_terminated_card() {
    assert_eq!(
        on_account_terminated(AccountState::Active),
        Suspension::SuspendAccount
    );
    for state in [
        AccountState::Initializing,
        AccountState::Suspended,
        AccountState::Closed,
    ] {
        assert_eq!(on_account_terminated(state), Suspension::HoldChargeOnly);
    }
}

#[test]
fn a_plain_approval_is_a_subsequent_payment_that_is_not_the_last() {
    assert!(is_plain_approval(subsequent(1), Outcome::Approved));
    assert!(!is_plain_approval(
        charge(1, Some(Sequence::First), false),
        Outcome::Approved
    ));
    assert!(!is_plain_approval(
        charge(1, None, false),
        Outcome::Approved
    ));
    assert!(!is_plain_approval(
        charge(3, Some(Sequence::Subsequent), true),
        Outcome::Approved
    ));
    for outcome in [
        Outcome::DeclinedSoft,
        Outcome::DeclinedHard,
        Outcome::AccountTerminated,
        Outcome::Pending,
        Outcome::Unknown,
        Outcome::RequestError,
    ] {
        assert!(!is_plain_approval(subsequent(1), outcome), "{outcome:?}");
    }
}

#[test]
fn a_reason_names_the_code_and_message_when_there_are_some() {
    assert_eq!(reason_text("declined", None, Some("x"), None), "declined");
    assert_eq!(
        reason_text("declined", Some("05"), Some("Do not honor"), None),
        "declined (code 05: Do not honor)"
    );
    assert_eq!(
        reason_text("account terminated", Some("43"), None, Some("closed")),
        "account terminated (code 43): closed"
    );
}
