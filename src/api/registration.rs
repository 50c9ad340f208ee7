//! Registration through the API, resumable: the account is stored at its first step before any
//! gateway call, keyed by the merchant's `Idempotency-Key`. A step whose outcome is unknown is
//! answered `202 Accepted` with `registration.pending_step`; a retry of the call with the same
//! key continues that account (the `202` is not replayed, see `idempotency`), and the daemon
//! completes it meanwhile. A registration never makes a second account for one key.

use axum::Json;
use axum::http::{HeaderMap, StatusCode};
use uuid::Uuid;

use super::ApiState;
use super::idempotency::HEADER;
use super::problem::{ApiError, ApiResult};
use super::views::AccountView;
use crate::billing::registration::{Progress, advance};
use crate::config::RefusedCycles;
use crate::domain::credential::{Credential, PayrocToken};
use crate::domain::registration::RegistrationStep;
use crate::domain::states::GatewayKind;
use crate::gateway::payroc::{CardDetails, TokenRequest};
use crate::store::accounts::Account;
use crate::store::registration::{ClaimedStep, NewRegistration};

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

/// Either the claimed owed step of the registration, or the account as it is (registered, with
/// the customer, or being worked on by someone else).
pub enum Registering {
    Claimed(Box<ClaimedStep>),
    AsItIs(Box<Account>),
}

/// The account this call registers: the one an earlier call with the same key created, or a
/// new one at its first step.
pub async fn claim_or_insert(
    state: &ApiState,
    new: &NewRegistration<'_>,
) -> ApiResult<Registering> {
    let now = state.clock.now();
    let lease_until = now + state.settings.billing.lease.signed();
    // Twice: an insert that lost a race for the key finds the winner's account.
    for _ in 0..2 {
        if let Some(key) = new.key
            && let Some(existing) = state.store.account_by_registration_key(key).await?
        {
            return Ok(
                match state
                    .store
                    .claim_registration_step(existing.id, now, lease_until)
                    .await?
                {
                    Some(claimed) => Registering::Claimed(Box::new(claimed)),
                    None => Registering::AsItIs(Box::new(existing)),
                },
            );
        }
        if let Some(claimed) = state
            .store
            .insert_registering(new, now, lease_until)
            .await?
        {
            return Ok(Registering::Claimed(Box::new(claimed)));
        }
    }
    Err(ApiError::conflict(
        "a registration with this Idempotency-Key is being changed concurrently; retry shortly",
    ))
}

/// Works on the claimed step (and those after it) and releases the claim if that fails.
pub async fn carry_on(
    state: &ApiState,
    registering: Registering,
    card: Option<&CardDetails>,
) -> ApiResult<Progress> {
    let claimed = match registering {
        Registering::Claimed(claimed) => claimed,
        Registering::AsItIs(account) => return Ok(Progress::Account(account)),
    };
    let id = claimed.account.id;
    match advance(
        &state.store,
        &state.gateways,
        *claimed,
        card,
        state.clock.now(),
    )
    .await
    {
        Ok(progress) => Ok(progress),
        Err(e) => {
            let _ = state.store.release_registration(id).await;
            Err(ApiError::internal(e))
        }
    }
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

/// A CertiTrade account: a RECURRING payment_account at the gateway, then its initializing
/// payment, whose link the customer opens to register their card.
pub async fn create_certitrade(
    state: &ApiState,
    key: Option<&str>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if state.gateways.certitrade.is_none() {
        return Err(ApiError::unavailable(
            "the CertiTrade gateway is not enabled in this daemon",
        ));
    }
    let new = NewRegistration {
        id: Uuid::new_v4(),
        credential: Credential::empty(GatewayKind::CertiTrade),
        step: RegistrationStep::GatewayAccount,
        key,
        request: None,
    };
    let registering = claim_or_insert(state, &new).await?;
    let progress = carry_on(state, registering, None).await?;
    respond(state, progress, StatusCode::CREATED, ApiError::bad_gateway).await
}

/// A Payroc account from card details: the secure token is asked for under an Idempotency-Key
/// and a secureTokenId stored with the account first, so a lost answer is replayed by a retry
/// (with the same card) or found by the daemon.
pub async fn create_payroc(
    state: &ApiState,
    key: Option<&str>,
    terminal: &str,
    card: CardDetails,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if state.gateways.payroc.is_none() {
        return Err(ApiError::unavailable(
            "the Payroc gateway is not enabled in this daemon",
        ));
    }
    let id = Uuid::new_v4();
    let request = TokenRequest::new(terminal, id).to_stored();
    let new = NewRegistration {
        id,
        credential: Credential::Payroc(PayrocToken {
            terminal_id: Some(terminal.to_owned()),
            ..PayrocToken::default()
        }),
        step: RegistrationStep::SecureToken,
        key,
        request: Some(&request),
    };
    let registering = claim_or_insert(state, &new).await?;
    let progress = carry_on(state, registering, Some(&card)).await?;
    respond(state, progress, StatusCode::CREATED, |reason| {
        ApiError::invalid("card", reason)
    })
    .await
}

/// A new initializing payment on the same CertiTrade payment_account — or, while a step is
/// still owed to the gateway, that step continued; the account comes back when the customer
/// completes the payment.
pub async fn reinitialize_certitrade(
    state: &ApiState,
    current: Account,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if state.gateways.certitrade.is_none() {
        return Err(ApiError::unavailable(
            "the CertiTrade gateway is not enabled in this daemon",
        ));
    }
    let now = state.clock.now();
    let lease_until = now + state.settings.billing.lease.signed();
    let registering = match state
        .store
        .begin_reinitialization(current.id, now, lease_until)
        .await?
    {
        Some(claimed) => Registering::Claimed(Box::new(claimed)),
        None => Registering::AsItIs(Box::new(state.store.account(current.id).await?)),
    };
    let progress = carry_on(state, registering, None).await?;
    respond(state, progress, StatusCode::OK, ApiError::bad_gateway).await
}

/// A suspended Payroc account re-initialized with card details: the secure token is asked for
/// under a key and secureTokenId stored first, as at registration; the account comes back when
/// Payroc's answer (or a lookup) gives the token.
pub async fn reinitialize_payroc(
    state: &ApiState,
    current: &Account,
    terminal: &str,
    key: Option<&str>,
    refused: RefusedCycles,
    card: CardDetails,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if state.gateways.payroc.is_none() {
        return Err(ApiError::unavailable(
            "the Payroc gateway is not enabled in this daemon",
        ));
    }
    let now = state.clock.now();
    let lease_until = now + state.settings.billing.lease.signed();
    let request = TokenRequest::new(terminal, current.id).to_stored();
    let registering = match state
        .store
        .begin_reinitialization_at(
            current.id,
            RegistrationStep::SecureToken,
            key,
            &request,
            refused,
            now,
            lease_until,
        )
        .await?
    {
        Some(claimed) => Registering::Claimed(Box::new(claimed)),
        None => Registering::AsItIs(Box::new(state.store.account(current.id).await?)),
    };
    let progress = carry_on(state, registering, Some(&card)).await?;
    respond(state, progress, StatusCode::OK, |reason| {
        ApiError::invalid("card", reason)
    })
    .await
}
