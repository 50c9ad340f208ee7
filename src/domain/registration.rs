//! Registering a payment account, step by step, so that a registration interrupted between two
//! gateway calls can be continued instead of leaving a half-made account.
//!
//! A CertiTrade registration is two gateway calls and the customer: the payment_account, then
//! the initializing payment whose link the customer opens. A re-initialization is the last two.
//! A Payroc registration with card details is one call: the secure token. The step an account is
//! on is stored with it (text in SQL) before the step's request goes out; the request itself is
//! stored too, so that a step whose answer was lost is settled — by resending the same request
//! or by looking up what it made — and never by sending a different one that could make a
//! second account or a second payment.

use std::fmt;
use std::time::Duration;

/// Where an account's (re-)registration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationStep {
    /// CertiTrade: create the payment_account.
    GatewayAccount,
    /// CertiTrade: create the initializing payment on the payment_account.
    InitializingPayment,
    /// Payroc: tokenize the card details as a secure token.
    SecureToken,
    /// The customer must complete the initializing payment at its link.
    Customer,
    /// Nothing is pending.
    Done,
    /// The gateway refused a step, or the customer's initializing payment failed: nothing
    /// happens until the merchant asks again (`POST /v1/accounts/{id}/reinitialize`).
    Failed,
}

impl RegistrationStep {
    pub const ALL: [RegistrationStep; 6] = [
        RegistrationStep::GatewayAccount,
        RegistrationStep::InitializingPayment,
        RegistrationStep::SecureToken,
        RegistrationStep::Customer,
        RegistrationStep::Done,
        RegistrationStep::Failed,
    ];

    /// The steps that wait on a gateway call: a retry of the API call or the daemon completes
    /// them.
    pub const PENDING: [RegistrationStep; 3] = [
        RegistrationStep::GatewayAccount,
        RegistrationStep::InitializingPayment,
        RegistrationStep::SecureToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStep::GatewayAccount => "gateway_account",
            RegistrationStep::InitializingPayment => "initializing_payment",
            RegistrationStep::SecureToken => "secure_token",
            RegistrationStep::Customer => "customer",
            RegistrationStep::Done => "done",
            RegistrationStep::Failed => "failed",
        }
    }

    /// A gateway call is owed: the step's request is stored and its answer is not yet known.
    pub fn is_pending(self) -> bool {
        Self::PENDING.contains(&self)
    }

    /// Whether the gateway has anything of this registration before the step is done: a
    /// refusal at a first step leaves nothing behind at the gateway (the account can go), a
    /// refusal later leaves a gateway account that a new attempt reuses.
    pub fn is_first(self) -> bool {
        matches!(
            self,
            RegistrationStep::GatewayAccount | RegistrationStep::SecureToken
        )
    }
}

impl fmt::Display for RegistrationStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TryFrom<String> for RegistrationStep {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        RegistrationStep::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("unknown registration step {text:?}"))
    }
}

/// What the last request of a step came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepAnswer {
    /// The gateway did it and said so (or a lookup found what it made).
    Done,
    /// The gateway refused the request for a reason in the request: the same request can
    /// never succeed, and nothing was made.
    Refused,
    /// No usable answer (5xx, 409, timeout, dropped connection, unreadable body): it may or
    /// may not have been done.
    Unknown,
}

/// What to do after a step's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAction {
    /// Go on with this step now.
    Perform(RegistrationStep),
    /// The same step again, later: resend its stored request or look up what it made — never
    /// a new request that could make a second one.
    Settle(RegistrationStep),
    /// The link is with the customer.
    AwaitCustomer,
    /// Registered.
    Finished,
    /// Stop: the merchant must ask again.
    Stop,
}

/// The step after `step` succeeded.
pub fn next_step(step: RegistrationStep) -> RegistrationStep {
    match step {
        RegistrationStep::GatewayAccount => RegistrationStep::InitializingPayment,
        RegistrationStep::InitializingPayment => RegistrationStep::Customer,
        RegistrationStep::SecureToken | RegistrationStep::Customer => RegistrationStep::Done,
        RegistrationStep::Done => RegistrationStep::Done,
        RegistrationStep::Failed => RegistrationStep::Failed,
    }
}

/// The decision after `step` got `answer`.
pub fn after(step: RegistrationStep, answer: StepAnswer) -> NextAction {
    match answer {
        StepAnswer::Unknown => NextAction::Settle(step),
        StepAnswer::Refused => NextAction::Stop,
        StepAnswer::Done => match next_step(step) {
            RegistrationStep::Customer => NextAction::AwaitCustomer,
            RegistrationStep::Done => NextAction::Finished,
            RegistrationStep::Failed => NextAction::Stop,
            next => NextAction::Perform(next),
        },
    }
}

/// Where a merchant's request to (re-)initialize an account starts, given the step the account
/// is on: a step that is still owed is continued (its stored request settles it); otherwise a
/// new initializing payment is asked for.
pub fn reinitialization_start(current: RegistrationStep) -> RegistrationStep {
    if current.is_pending() {
        current
    } else {
        RegistrationStep::InitializingPayment
    }
}

/// A lookup for what a step's request made found nothing. Until the gateway can no longer act
/// on the request under its key, that is not an answer — the request may be in flight, and the
/// merchant's retry (with the card details we never store) would be replayed as the same
/// request. After that, nothing was made and nothing will be: the step is refused.
pub fn found_nothing(unknown_for: Duration, key_lifetime: Duration) -> StepAnswer {
    if unknown_for >= key_lifetime {
        StepAnswer::Refused
    } else {
        StepAnswer::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::NextAction::*;
    use super::RegistrationStep::*;
    use super::StepAnswer;
    use super::*;

    #[test]
    fn every_step_round_trips_through_its_text() {
        for step in RegistrationStep::ALL {
            assert_eq!(
                RegistrationStep::try_from(step.as_str().to_owned()),
                Ok(step)
            );
        }
        assert!(RegistrationStep::try_from("initializing".to_owned()).is_err());
    }

    /// Every (step, answer) pair that can occur, row by row.
    #[test]
    fn decisions() {
        let rows = [
            (
                GatewayAccount,
                StepAnswer::Done,
                Perform(InitializingPayment),
            ),
            (GatewayAccount, StepAnswer::Unknown, Settle(GatewayAccount)),
            (GatewayAccount, StepAnswer::Refused, Stop),
            (InitializingPayment, StepAnswer::Done, AwaitCustomer),
            (
                InitializingPayment,
                StepAnswer::Unknown,
                Settle(InitializingPayment),
            ),
            (InitializingPayment, StepAnswer::Refused, Stop),
            (SecureToken, StepAnswer::Done, Finished),
            (SecureToken, StepAnswer::Unknown, Settle(SecureToken)),
            (SecureToken, StepAnswer::Refused, Stop),
            (Customer, StepAnswer::Done, Finished),
            (Customer, StepAnswer::Refused, Stop),
        ];
        for (step, answer, next) in rows {
            assert_eq!(after(step, answer), next, "{step} {answer:?}");
        }
    }

    #[test]
    fn only_gateway_calls_are_pending() {
        let pending: Vec<_> = RegistrationStep::ALL
            .into_iter()
            .filter(|s| s.is_pending())
            .collect();
        assert_eq!(pending, [GatewayAccount, InitializingPayment, SecureToken]);
        assert!(GatewayAccount.is_first() && SecureToken.is_first());
        assert!(!InitializingPayment.is_first());
    }

    #[test]
    fn nothing_found_is_an_answer_only_once_the_key_is_forgotten() {
        let hour = Duration::from_secs(3600);
        assert_eq!(found_nothing(Duration::ZERO, hour), StepAnswer::Unknown);
        assert_eq!(
            found_nothing(hour - Duration::from_secs(1), hour),
            StepAnswer::Unknown
        );
        assert_eq!(found_nothing(hour, hour), StepAnswer::Refused);
        assert_eq!(
            found_nothing(Duration::ZERO, Duration::ZERO),
            StepAnswer::Refused
        );
    }

    #[test]
    fn a_reinitialization_continues_an_owed_step_and_otherwise_starts_a_payment() {
        assert_eq!(reinitialization_start(GatewayAccount), GatewayAccount);
        assert_eq!(
            reinitialization_start(InitializingPayment),
            InitializingPayment
        );
        for step in [Customer, Done, Failed] {
            assert_eq!(reinitialization_start(step), InitializingPayment);
        }
    }
}
