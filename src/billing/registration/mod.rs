//! Carrying a claimed registration forward, step by step, until it waits on the customer, is
//! done, is refused, or meets an unknown outcome — which stays owed, its request stored, for the
//! next claim (the merchant's retry of the API call, or the next billing run) to settle.

use jiff::Timestamp;
use std::sync::Arc;
use uuid::Uuid;

use super::Billing;
mod certitrade;
mod payroc;
mod start;

pub use start::{Registering, Registrar, RegistrationError};

use crate::domain::registration::{NextAction, RegistrationStep, StepAnswer, after};
use crate::gateway::payroc::CardDetails;
use crate::gateway::{Gateways, StepResend, StepResult};
use crate::store::Store;
use crate::store::accounts::Account;
use crate::store::registration::ClaimedStep;
use crate::store::registration_answers::Refusal;

/// Where a registration stands after `advance`.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The account as it now is: registered, with the customer, or owing a step (unknown).
    Account(Box<Account>),
    /// Refused by the gateway; the text says why.
    Refused { refusal: Refusal, reason: String },
}

impl Progress {
    /// For logs: the step reached, never the account's credentials.
    pub fn describe(&self) -> String {
        match self {
            Progress::Account(a) => format!("on step {}", a.registration_step),
            Progress::Refused { refusal, reason } => format!("refused ({refusal:?}): {reason}"),
        }
    }
}

/// Works on a claimed step, and on the steps after it, until the registration has to wait.
/// `card`: the card details of the API call being retried (a Payroc secure token is then
/// resent under its key); without them (the daemon) the token is looked up.
pub async fn advance(
    store: &Store,
    gateways: &Gateways,
    claimed: ClaimedStep,
    card: Option<&CardDetails>,
    now: Timestamp,
) -> anyhow::Result<Progress> {
    let id = claimed.account.id;
    let mut account = claimed.account;
    let mut request = claimed.request;
    let refused_cycles = claimed.refused_cycles;
    loop {
        let step = account.registration_step;
        let result = match step {
            RegistrationStep::GatewayAccount => {
                let client = certitrade::client(gateways)?;
                certitrade::gateway_account(store, client, id, request, now).await?
            }
            RegistrationStep::InitializingPayment => {
                let client = certitrade::client(gateways)?;
                certitrade::initializing_payment(store, client, &account, request, now).await?
            }
            RegistrationStep::SecureToken => {
                let token = payroc::TokenStep {
                    request,
                    card,
                    refused_cycles,
                };
                payroc::secure_token(store, payroc::client(gateways)?, &account, token, now).await?
            }
            _ => {
                store.release_registration(id).await?;
                return Ok(Progress::Account(Box::new(account)));
            }
        };
        let answer = match result {
            StepResult::Done(()) => StepAnswer::Done,
            StepResult::Unknown(e) => {
                store.step_unknown(id, step, &e, now).await?;
                StepAnswer::Unknown
            }
            StepResult::Refused(reason) => {
                let refusal = store.step_refused(id, step, &reason, now).await?;
                return Ok(Progress::Refused { refusal, reason });
            }
        };
        account = store.account(id).await?;
        request = None;
        if !matches!(after(step, answer), NextAction::Perform(_)) {
            return Ok(Progress::Account(Box::new(account)));
        }
    }
}

/// A request that could not be stored is not sent: the account moved on meanwhile (someone
/// else settled the step after this claim's lease ran out).
fn written(done: bool) -> anyhow::Result<()> {
    if done {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "the account left this registration step meanwhile; nothing sent"
        ))
    }
}

/// The request to send for a step: the stored one, or a new one stored first.
pub(super) async fn stored_or_new(
    store: &Store,
    id: Uuid,
    step: RegistrationStep,
    request: Option<String>,
    new: impl FnOnce() -> String,
) -> anyhow::Result<String> {
    if let Some(r) = request {
        return Ok(r);
    }
    let r = new();
    written(store.store_step_request(id, step, &r).await?)?;
    Ok(r)
}

/// Stores a re-stamped request before it is sent, so that its resend repeats it.
pub(super) async fn to_send<T>(
    store: &Store,
    id: Uuid,
    step: RegistrationStep,
    stored: String,
    resend: StepResend<T>,
) -> anyhow::Result<Result<String, StepResult<T>>> {
    Ok(match resend {
        StepResend::AsStored => Ok(stored),
        StepResend::Restamped(new) => {
            written(store.store_step_request(id, step, &new).await?)?;
            Ok(new)
        }
        StepResend::Answered(result) => Err(result),
    })
}

impl Billing {
    /// Settles every registration step owed to a gateway that nobody is working on: the
    /// stored request is resent, or what it made is looked up, and the account moves on.
    pub(super) async fn complete_registrations(self: &Arc<Self>, now: Timestamp) {
        let owed = match self.store.owed_registrations(now, 100).await {
            Ok(owed) => owed,
            Err(e) => {
                tracing::error!(error = %e, "could not list owed registration steps");
                return;
            }
        };
        let lease_until = now + self.settings.lease.signed();
        for id in owed {
            let claimed = match self
                .store
                .claim_registration_step(id, now, lease_until)
                .await
            {
                Ok(Some(claimed)) => claimed,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(account_id = %id, error = %e, "could not claim a registration step");
                    continue;
                }
            };
            let step = claimed.account.registration_step;
            match advance(&self.store, &self.gateways, claimed, None, now).await {
                Ok(progress) => {
                    tracing::info!(account_id = %id, step = step.as_str(), progress = %progress.describe(),
                        "owed registration step worked on")
                }
                Err(e) => {
                    let _ = self.store.release_registration(id).await;
                    tracing::warn!(account_id = %id, step = step.as_str(), error = %e, "owed registration step could not be worked on")
                }
            }
        }
    }
}
