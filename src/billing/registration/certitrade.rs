//! The CertiTrade steps: the payment_account, then the initializing payment whose link goes to
//! the customer. Each request is stored before it is sent; a resend repeats it, and the
//! adapter decides when a lookup or a re-stamped request must replace a resend.

use jiff::Timestamp;
use uuid::Uuid;

use super::{stored_or_new, to_send};
use crate::domain::credential::{CertiTradeAccount, Credential};
use crate::domain::registration::RegistrationStep;
use crate::gateway::certitrade::CertiTradeClient;
use crate::gateway::{Gateways, StepResult};
use crate::store::Store;
use crate::store::accounts::Account;

pub(super) fn client(gateways: &Gateways) -> anyhow::Result<&CertiTradeClient> {
    gateways
        .certitrade
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the CertiTrade gateway is not enabled in this daemon"))
}

pub(super) async fn gateway_account(
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
            let credential = Credential::CertiTrade(CertiTradeAccount {
                payment_account: Some(payment_account),
            });
            store.gateway_account_made(id, &credential, now).await?;
            StepResult::Done(())
        }
        StepResult::Refused(e) => StepResult::Refused(e),
        StepResult::Unknown(e) => StepResult::Unknown(e),
    })
}

pub(super) async fn initializing_payment(
    store: &Store,
    client: &CertiTradeClient,
    account: &Account,
    request: Option<String>,
    now: Timestamp,
) -> anyhow::Result<StepResult<()>> {
    let step = RegistrationStep::InitializingPayment;
    let made = match &account.credential {
        Credential::CertiTrade(a) => a.payment_account.as_deref(),
        Credential::Payroc(_) => None,
    };
    let Some(payment_account) = made else {
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
