//! Carrying a claimed registration forward, step by step, until it waits on the customer, is
//! done, is refused, or meets an unknown outcome — which stays owed, its request stored, for the
//! next claim (the merchant's retry of the API call, or the next billing run) to settle.

use jiff::Timestamp;
use std::sync::Arc;
use uuid::Uuid;

use super::Billing;
use crate::config::RefusedCycles;
use crate::domain::registration::{NextAction, RegistrationStep, StepAnswer, after, found_nothing};
use crate::gateway::certitrade::CertiTradeClient;
use crate::gateway::payroc::{CardDetails, PayrocClient, TokenRequest};
use crate::gateway::{Gateways, StepResend, StepResult};
use crate::store::Store;
use crate::store::accounts::{Account, PayrocCredential};
use crate::store::from_db;
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
                gateway_account(store, certitrade(gateways)?, id, request, now).await?
            }
            RegistrationStep::InitializingPayment => {
                initializing_payment(store, certitrade(gateways)?, &account, request, now).await?
            }
            RegistrationStep::SecureToken => {
                let token = TokenStep {
                    request,
                    card,
                    refused_cycles,
                };
                secure_token(store, payroc(gateways)?, &account, token, now).await?
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

fn certitrade(gateways: &Gateways) -> anyhow::Result<&CertiTradeClient> {
    gateways
        .certitrade
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the CertiTrade gateway is not enabled in this daemon"))
}

fn payroc(gateways: &Gateways) -> anyhow::Result<&PayrocClient> {
    gateways
        .payroc
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the Payroc gateway is not enabled in this daemon"))
}

/// The request to send for a step: the stored one, or a new one stored first.
async fn stored_or_new(
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
    store.store_step_request(id, step, &r).await?;
    Ok(r)
}

/// Stores a re-stamped request before it is sent, so that its resend repeats it.
async fn to_send<T>(
    store: &Store,
    id: Uuid,
    step: RegistrationStep,
    stored: String,
    resend: StepResend<T>,
) -> anyhow::Result<Result<String, StepResult<T>>> {
    Ok(match resend {
        StepResend::AsStored => Ok(stored),
        StepResend::Restamped(new) => {
            store.store_step_request(id, step, &new).await?;
            Ok(new)
        }
        StepResend::Answered(result) => Err(result),
    })
}

async fn gateway_account(
    store: &Store,
    client: &CertiTradeClient,
    id: Uuid,
    request: Option<String>,
    now: Timestamp,
) -> anyhow::Result<StepResult<()>> {
    let step = RegistrationStep::GatewayAccount;
    let stored = stored_or_new(store, id, step, request, || {
        client.payment_account_request()
    })
    .await?;
    let resend = client.before_payment_account(&stored);
    let result = match to_send(store, id, step, stored, resend).await? {
        Ok(request) => client.send_payment_account(&request).await,
        Err(answered) => answered,
    };
    Ok(match result {
        StepResult::Done(payment_account) => {
            store
                .gateway_account_made(id, &payment_account, now)
                .await?;
            StepResult::Done(())
        }
        StepResult::Refused(e) => StepResult::Refused(e),
        StepResult::Unknown(e) => StepResult::Unknown(e),
    })
}

async fn initializing_payment(
    store: &Store,
    client: &CertiTradeClient,
    account: &Account,
    request: Option<String>,
    now: Timestamp,
) -> anyhow::Result<StepResult<()>> {
    let step = RegistrationStep::InitializingPayment;
    let Some(payment_account) = account.certitrade_account_id.as_deref() else {
        return Ok(StepResult::Refused(format!(
            "payment account {} has no CertiTrade payment_account",
            account.id
        )));
    };
    // Unique per initializing payment (≤ 64 characters) and traceable to the account; kept
    // in the stored request, so a lookup finds the payment it made.
    let reference = format!(
        "init-{}-{}",
        &account.id.simple().to_string()[..16],
        &Uuid::new_v4().simple().to_string()[..12]
    );
    let stored = stored_or_new(store, account.id, step, request, || {
        client.initializing_request(payment_account, &reference)
    })
    .await?;
    let resend = client.before_initializing(&stored).await;
    let result = match to_send(store, account.id, step, stored, resend).await? {
        Ok(request) => client.send_initializing(&request).await,
        Err(answered) => answered,
    };
    Ok(match result {
        StepResult::Done(started) => {
            store
                .request_initialization(account.id, &started.payment_id, &started.link, now)
                .await?;
            StepResult::Done(())
        }
        StepResult::Refused(e) => StepResult::Refused(e),
        StepResult::Unknown(e) => StepResult::Unknown(e),
    })
}

/// The secure-token step as claimed: its stored request, the card details of the API call (if
/// this is one), and, for a re-initialization, what to do with the refused cycles.
struct TokenStep<'a> {
    request: Option<String>,
    card: Option<&'a CardDetails>,
    refused_cycles: Option<RefusedCycles>,
}

/// With the card details (the merchant's retry): the stored request is resent under its key,
/// which Payroc replays if it made the token. Without them (the daemon): the token is looked up
/// by the secureTokenId we chose; none found is final once Payroc may have forgotten the key.
async fn secure_token(
    store: &Store,
    client: &PayrocClient,
    account: &Account,
    step: TokenStep<'_>,
    now: Timestamp,
) -> anyhow::Result<StepResult<()>> {
    let TokenStep {
        request,
        card,
        refused_cycles,
    } = step;
    let Some(request) = request.as_deref().and_then(TokenRequest::from_stored) else {
        return Ok(StepResult::Refused(
            "no secure-token request was stored, so none was sent".into(),
        ));
    };
    let result = match card {
        Some(card) => client.send_secure_token(&request, card).await,
        None => match client.find_secure_token(&request).await {
            Ok(Some(token)) => StepResult::Done(token),
            Ok(None) => {
                let unknown_for = account
                    .registration_unknown_since
                    .map(|since| now.duration_since(from_db(since)))
                    .and_then(|d| std::time::Duration::try_from(d).ok())
                    .unwrap_or_default();
                let missing = format!(
                    "Payroc has no secure token {} on terminal {}",
                    request.secure_token_id, request.terminal_id
                );
                match found_nothing(unknown_for, client.key_lifetime()) {
                    StepAnswer::Unknown => StepResult::Unknown(format!(
                        "{missing} (yet): a retry of the registration with the same Idempotency-Key \
                         resends the card under the same key"
                    )),
                    _ => StepResult::Refused(format!(
                        "{missing}: the card was never tokenized; register it again"
                    )),
                }
            }
            Err(e) => StepResult::Unknown(e),
        },
    };
    Ok(match result {
        StepResult::Done(token) => {
            let cred = PayrocCredential::created(&request.terminal_id, token);
            match refused_cycles {
                // A re-initialization: the account comes back, its held subscriptions resume.
                Some(refused) => {
                    store
                        .reinitialize_payroc(account.id, &cred, refused, now)
                        .await?;
                }
                None => store.secure_token_made(account.id, &cred, now).await?,
            }
            StepResult::Done(())
        }
        StepResult::Refused(e) => StepResult::Refused(e),
        StepResult::Unknown(e) => StepResult::Unknown(e),
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
