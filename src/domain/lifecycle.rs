//! Which lifecycle commands a subscription accepts in which state: a pure decision, applied by
//! `store::lifecycle` under the subscription's row lock.

use super::states::SubscriptionStatus;

/// What a merchant asks of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Pause,
    Resume,
    Cancel,
    ChangeAmount,
}

/// What the store is to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Stop billing now; unsent charges are skipped.
    Pause,
    /// Billing again from the next cycle due after now.
    ResumeFromPause,
    /// The merchant settled the failure: billing goes on from where it stopped.
    ResumeFromPastDue,
    /// Now, or at the end of the current period.
    Cancel,
    /// Every cycle not yet materialized takes the new amount.
    ChangeAmount,
}

/// Why a command is refused, in words for the merchant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Held subscriptions resume when their account is re-initialized, not by command.
    HeldUntilReinitialized,
    NotFrom {
        status: SubscriptionStatus,
        /// The past participle of the command ("paused"), and the states it is allowed from.
        done: &'static str,
        allowed_from: &'static str,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::HeldUntilReinitialized => f.write_str(
                "is held because its payment account is suspended; it resumes when the account \
                 is re-initialized",
            ),
            Refusal::NotFrom {
                status,
                done,
                allowed_from,
            } => write!(
                f,
                "is {status} and cannot be {done} (only a subscription that is {allowed_from} can)"
            ),
        }
    }
}

/// The transition `command` makes from `status`, or why it is refused.
pub fn decide(status: SubscriptionStatus, command: Command) -> Result<Transition, Refusal> {
    use SubscriptionStatus as S;
    let live = matches!(status, S::Active | S::PastDue | S::Paused | S::Held);
    let refuse = |done, allowed_from| {
        Err(Refusal::NotFrom {
            status,
            done,
            allowed_from,
        })
    };
    match command {
        Command::Pause => match status {
            S::Active | S::PastDue => Ok(Transition::Pause),
            _ => refuse("paused", "active or past_due"),
        },
        Command::Resume => match status {
            S::Paused => Ok(Transition::ResumeFromPause),
            S::PastDue => Ok(Transition::ResumeFromPastDue),
            S::Held => Err(Refusal::HeldUntilReinitialized),
            _ => refuse("resumed", "paused or past_due"),
        },
        Command::Cancel if live => Ok(Transition::Cancel),
        Command::Cancel => refuse("cancelled", "active, past_due, paused or held"),
        Command::ChangeAmount if live => Ok(Transition::ChangeAmount),
        Command::ChangeAmount => refuse("changed", "active, past_due, paused or held"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SubscriptionStatus as S;

    /// Every (state, command) pair: what it does, or that it is refused.
    #[test]
    fn every_state_and_command() {
        use Transition as T;
        let rows: [(S, [Option<T>; 4]); 6] = [
            // pause, resume, cancel, change amount
            (
                S::Active,
                [Some(T::Pause), None, Some(T::Cancel), Some(T::ChangeAmount)],
            ),
            (
                S::PastDue,
                [
                    Some(T::Pause),
                    Some(T::ResumeFromPastDue),
                    Some(T::Cancel),
                    Some(T::ChangeAmount),
                ],
            ),
            (
                S::Paused,
                [
                    None,
                    Some(T::ResumeFromPause),
                    Some(T::Cancel),
                    Some(T::ChangeAmount),
                ],
            ),
            (
                S::Held,
                [None, None, Some(T::Cancel), Some(T::ChangeAmount)],
            ),
            (S::Completed, [None, None, None, None]),
            (S::Cancelled, [None, None, None, None]),
        ];
        let commands = [
            Command::Pause,
            Command::Resume,
            Command::Cancel,
            Command::ChangeAmount,
        ];
        for (status, expected) in rows {
            for (command, want) in commands.iter().zip(expected) {
                assert_eq!(decide(status, *command).ok(), want, "{status} {command:?}");
            }
        }
    }

    #[test]
    fn a_held_subscription_is_told_how_it_resumes() {
        let refusal = decide(S::Held, Command::Resume).unwrap_err();
        assert_eq!(refusal, Refusal::HeldUntilReinitialized);
        assert!(refusal.to_string().contains("re-initialized"));
        let done = decide(S::Completed, Command::Pause)
            .unwrap_err()
            .to_string();
        assert_eq!(
            done,
            "is completed and cannot be paused (only a subscription that is active or past_due can)"
        );
    }
}
