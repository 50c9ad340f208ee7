//! The answer to one registration step's request (a payment_account, an initializing payment,
//! a secure token), in the domain's terms: done (with what was made), refused, or unknown.

use crate::domain::registration::StepAnswer;

#[derive(Debug, Clone)]
pub enum StepResult<T> {
    Done(T),
    /// The gateway refused the request; nothing was made. The text says why.
    Refused(String),
    /// It may or may not have been done. The text says what was seen.
    Unknown(String),
}

impl<T> StepResult<T> {
    pub fn answer(&self) -> StepAnswer {
        match self {
            StepResult::Done(_) => StepAnswer::Done,
            StepResult::Refused(_) => StepAnswer::Refused,
            StepResult::Unknown(_) => StepAnswer::Unknown,
        }
    }
}

/// What to do with a step's stored request before sending it (again).
#[derive(Debug)]
pub enum StepResend<T> {
    /// Send it as stored: the gateway recognizes a resend.
    AsStored,
    /// Send this re-stamped request instead, after storing it.
    Restamped(String),
    /// Settled without sending: a lookup found what the request made, or it is too early to
    /// tell (unknown).
    Answered(StepResult<T>),
}
