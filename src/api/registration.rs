//! Registration through the API, resumable: the account is stored at its first step before any
//! gateway call, keyed by the merchant's `Idempotency-Key`. A step whose outcome is unknown is
//! answered `202 Accepted` with `registration.pending_step`; a retry of the call with the same
//! key continues that account (the `202` is not replayed, see `idempotency`), and the daemon
//! completes it meanwhile. A registration never makes a second account for one key. The work
//! is `billing::registration::Registrar`'s, shared with the CLI; this module answers in HTTP.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};

use super::ApiState;
use super::idempotency::HEADER;
use super::problem::{ApiError, ApiResult};
use super::views::AccountView;
use crate::billing::registration::{Progress, Registrar, RegistrationError};
use crate::config::RefusedCycles;
use crate::gateway::payroc::CardDetails;
use crate::store::accounts::Account;

/// The merchant's Idempotency-Key, as the idempotency layer accepted it.
pub fn idempotency_key(headers: &HeaderMap) -> Option<String> {
    headers
        .get(HEADER)?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_owned)
}

/// `done` when the registration waits on nobody but the customer (or nobody), `202 Accepted`
/// while a step is owed to the gateway; a refusal is answered by `refused`.
pub async fn respond(
    state: &ApiState,
    progress: Progress,
    done: StatusCode,
    refused: impl FnOnce(String) -> ApiError,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let account = match progress {
        Progress::Account(account) => account,
        Progress::Refused { reason, .. } => return Err(refused(reason)),
    };
    let status = if account.registration_step.is_pending() {
        StatusCode::ACCEPTED
    } else {
        done
    };
    let history = state.store.account_events(account.id).await?;
    Ok((status, Json(AccountView::of(*account, Some(history)))))
}

fn registrar(state: &ApiState) -> Registrar<'_> {
    Registrar {
        store: &state.store,
        gateways: &state.gateways,
        now: state.clock.now(),
        lease: state.settings.billing.lease.signed(),
    }
}

impl From<RegistrationError> for ApiError {
    fn from(e: RegistrationError) -> Self {
        match e {
            RegistrationError::Disabled(_) => ApiError::unavailable(e.to_string()),
            RegistrationError::Store(e) => e.into(),
            RegistrationError::Failed(e) => ApiError::internal(e),
        }
    }
}

/// A CertiTrade account: a RECURRING payment_account at the gateway, then its initializing
/// payment, whose link the customer opens to register their card.
pub async fn create_certitrade(
    state: &ApiState,
    key: Option<&str>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let progress = registrar(state).certitrade(key).await?;
    respond(state, progress, StatusCode::CREATED, ApiError::bad_gateway).await
}

/// A Payroc account from card details (see `Registrar::payroc`); a card Payroc refuses is the
/// request's fault (422, naming `card`).
pub async fn create_payroc(
    state: &ApiState,
    key: Option<&str>,
    terminal: &str,
    card: CardDetails,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let progress = registrar(state).payroc(key, terminal, &card).await?;
    respond(state, progress, StatusCode::CREATED, |reason| {
        ApiError::invalid("card", reason)
    })
    .await
}

/// A new initializing payment on the same CertiTrade payment_account (see
/// `Registrar::reinitialize_certitrade`).
pub async fn reinitialize_certitrade(
    state: &ApiState,
    current: Account,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let progress = registrar(state).reinitialize_certitrade(current.id).await?;
    respond(state, progress, StatusCode::OK, ApiError::bad_gateway).await
}

/// A suspended Payroc account re-initialized with card details (see
/// `Registrar::reinitialize_payroc`).
pub async fn reinitialize_payroc(
    state: &ApiState,
    current: &Account,
    terminal: &str,
    key: Option<&str>,
    refused: RefusedCycles,
    card: CardDetails,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let progress = registrar(state)
        .reinitialize_payroc(current, terminal, key, refused, &card)
        .await?;
    respond(state, progress, StatusCode::OK, |reason| {
        ApiError::invalid("card", reason)
    })
    .await
}
