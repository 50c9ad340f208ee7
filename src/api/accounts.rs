//! /v1/accounts: payment accounts (stored gateway credentials).

use crate::domain::states::AccountState;
use crate::domain::states::GatewayKind;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::ApiState;
use super::checks::{non_empty, one_of};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::pagination::{List, window};
use super::problem::{ApiError, ApiResult, Problem};
use super::registration;
use super::views::AccountView;

mod card_input;
use crate::config::{OnCardUpdate, RefusedCycles};
use crate::gateway::rules::{AccountPlan, MerchantCard};
use crate::store::accounts::Account;
use card_input::{CardInput, ExistingToken, account_input};

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(create_account, list_accounts))
        .routes(routes!(get_account))
        .routes(routes!(suspend_account))
        .routes(routes!(reinitialize_account))
}

/// Register a payment account: an existing gateway token, or card details that are tokenized
/// at the gateway and never stored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAccount {
    /// `payroc` | `certitrade`
    #[schema(pattern = "^(payroc|certitrade)$", example = "payroc")]
    gateway: String,
    #[schema(
        min_length = 1,
        max_length = 50,
        pattern = "^[A-Za-z0-9_-]+$",
        example = "3204001"
    )]
    processing_terminal_id: Option<String>,
    /// An existing Payroc secure token. Exactly one of `secure_token` and `card`.
    secure_token: Option<ExistingToken>,
    /// Card details to tokenize at Payroc (`POST /processing-terminals/{id}/secure-tokens`).
    card: Option<CardInput>,
    /// No longer accepted here: a stored-credential series belongs to one agreement, so it is
    /// given with the subscription it continues (`series` in `POST /v1/subscriptions`).
    #[schema(deprecated, value_type = Option<Object>)]
    series: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuspendAccount {
    /// Why, for the account's history.
    #[schema(max_length = 500, pattern = "\\S")]
    pub(crate) reason: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ReinitializeAccount {
    /// Default: the account's current terminal.
    #[schema(min_length = 1, max_length = 50, pattern = "^[A-Za-z0-9_-]+$")]
    processing_terminal_id: Option<String>,
    secure_token: Option<ExistingToken>,
    card: Option<CardInput>,
    /// A suspended account: `charge` (default from config) the cycles the terminated account
    /// refused, or `skip` them.
    #[schema(value_type = Option<String>, pattern = "^(charge|skip)$")]
    refused_cycles: Option<RefusedCycles>,
    /// An active account (a card update): `charge` (default from config) each subscription's
    /// failed cycle once more on the new card, or `leave` it failed.
    #[schema(value_type = Option<String>, pattern = "^(charge|leave)$")]
    failed_cycle: Option<OnCardUpdate>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AccountQuery {
    /// `initializing` | `active` | `suspended` | `closed`
    #[param(pattern = "^(initializing|active|suspended|closed)$")]
    state: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = CreateAccount,
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255, pattern = "^[!-~]+$",
        description = "Replays the stored answer for a repeat; 1 to 255 visible ASCII characters")),
    responses((status = 201, body = AccountView, description = "registered (CertiTrade: the customer's link is in `initialization`)"),
        (status = 202, body = AccountView, description = "stored, but a gateway call's answer was lost: `registration.pending_step` \
names it. The daemon completes it; a retry with the same Idempotency-Key continues this account"),
        (status = 409, body = Problem), (status = 422, body = Problem),
        (status = 502, body = Problem, description = "the gateway refused the registration")))]
async fn create_account(
    State(state): State<ApiState>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateAccount>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let gateway = GatewayKind::parse(&body.gateway).ok_or_else(|| {
        let supported = GatewayKind::ALL.map(GatewayKind::as_str).join(", ");
        let given = &body.gateway;
        ApiError::invalid(
            "gateway",
            format!("{given:?} is not supported (supported: {supported})"),
        )
    })?;
    let mut input = account_input(body.processing_terminal_id, body.secure_token, body.card);
    input.series = body.series.is_some();
    let key = registration::idempotency_key(&headers);
    let cred = match crate::gateway::rules(gateway).account_input(input, None)? {
        AccountPlan::PaymentWindow => {
            return registration::create_certitrade(&state, key.as_deref()).await;
        }
        AccountPlan::FromMerchant(MerchantCard::Tokenize { scope, card }) => {
            return registration::create_payroc(&state, key.as_deref(), &scope, card).await;
        }
        AccountPlan::FromMerchant(MerchantCard::OnFile(cred)) => cred,
    };
    let account = state.store.insert_account(&cred, state.clock.now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(AccountView::of(account, Some(Vec::new()))),
    ))
}

#[utoipa::path(get, path = "/v1/accounts", tag = "accounts", params(AccountQuery),
    responses((status = 200, body = List<AccountView>), (status = 422, body = Problem)))]
async fn list_accounts(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<AccountQuery>,
) -> ApiResult<Json<List<AccountView>>> {
    let (limit, cursor) = window(q.limit, q.cursor.as_deref())?;
    if let Some(s) = q.state.as_deref() {
        one_of(
            "state",
            s,
            &["initializing", "active", "suspended", "closed"],
        )?;
    }
    let page = state
        .store
        .list_accounts(q.state.as_deref(), cursor, limit)
        .await?;
    Ok(Json(List::from_page(page, |a| AccountView::of(a, None))))
}

#[utoipa::path(get, path = "/v1/accounts/{id}", tag = "accounts", params(("id" = Uuid, Path)),
    responses((status = 200, body = AccountView), (status = 404, body = Problem)))]
async fn get_account(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<AccountView>> {
    shown(&state, state.store.account(id).await?).await
}

/// Stop charging an account now: its subscriptions are held until it is re-initialized.
#[utoipa::path(post, path = "/v1/accounts/{id}/suspend", tag = "accounts", params(("id" = Uuid, Path)),
    request_body = SuspendAccount,
    responses((status = 200, body = AccountView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub(crate) async fn suspend_account(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SuspendAccount>,
) -> ApiResult<Json<AccountView>> {
    let reason = non_empty("reason", &body.reason, 500)?;
    let account = state
        .store
        .suspend_account(id, reason, state.clock.now())
        .await?;
    shown(&state, account).await
}

/// An account as a route that acted on it alone answers it: with its history.
async fn shown(state: &ApiState, account: Account) -> ApiResult<Json<AccountView>> {
    let history = state.store.account_events(account.id).await?;
    Ok(Json(AccountView::of(account, Some(history))))
}

/// Bring a suspended account back with a new secure token (or card): each subscription's next
/// charge opens a new series as `first`, held subscriptions resume, refused cycles are charged
/// once or skipped. An active account given a new secure token is a card update: each
/// subscription's failed cycle is charged once more on it (or left: `failed_cycle`) and
/// past-due subscriptions resume.
#[utoipa::path(post, path = "/v1/accounts/{id}/reinitialize", tag = "accounts", params(("id" = Uuid, Path)),
    request_body = ReinitializeAccount,
    responses((status = 200, body = AccountView, description = "re-initialized (CertiTrade: the customer's new link is in `initialization`)"),
        (status = 202, body = AccountView, description = "a gateway call's answer was lost: `registration.pending_step` names it. \
The daemon completes it; a retry (with the same Idempotency-Key) continues it"),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub(crate) async fn reinitialize_account(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReinitializeAccount>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let current = state.store.account(id).await?;
    let input = account_input(body.processing_terminal_id, body.secure_token, body.card);
    let policies = (body.refused_cycles, body.failed_cycle);
    let card = match crate::gateway::rules(current.gateway)
        .account_input(input, Some(&current.credential))?
    {
        AccountPlan::PaymentWindow => {
            return reinitialize_at_window(&state, current, policies.1).await;
        }
        AccountPlan::FromMerchant(card) => card,
    };
    if current.state == AccountState::Active {
        return update_card(&state, &current, &headers, card, policies).await;
    }
    if current.state != AccountState::Suspended {
        return Err(ApiError::conflict(format!(
            "payment account {id} is {}; only a suspended account is re-initialized, or an \
             active one given a new card",
            current.state
        )));
    }
    if policies.1.is_some() {
        return Err(ApiError::invalid(
            "failed_cycle",
            "is for a card update of an active account; a suspended account takes refused_cycles",
        ));
    }
    let refused = policies.0.unwrap_or(state.settings.billing.refused_cycles);
    let cred = match card {
        MerchantCard::Tokenize { scope, card } => {
            return tokenize_again(&state, &current, &headers, (&scope, card), refused).await;
        }
        MerchantCard::OnFile(cred) => cred,
    };
    let account = state
        .store
        .reinitialize_with(id, &cred, refused, state.clock.now())
        .await?;
    Ok((StatusCode::OK, shown(&state, account).await?))
}

/// An account the customer re-initializes at a new payment window (CertiTrade): a suspended
/// (or never initialized) one comes back, an active one takes a new card — a card update, its
/// failed-cycle policy noted until the customer completes the payment.
async fn reinitialize_at_window(
    state: &ApiState,
    current: Account,
    failed_cycle: Option<OnCardUpdate>,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if current.state == AccountState::Closed {
        return Err(ApiError::conflict(format!(
            "payment account {} is closed; it cannot be re-initialized",
            current.id
        )));
    }
    if current.state == AccountState::Active {
        // A card update: the customer registers the new card at the link; the failed
        // cycles are handled, by this policy, when they complete it.
        let policy = failed_cycle.unwrap_or(state.settings.billing.failed_cycle_on_card_update);
        state
            .store
            .note_card_update_policy(current.id, policy)
            .await?;
    }
    registration::reinitialize_certitrade(state, current).await
}

/// A card update: an active account given by the merchant a new token, or card details, which
/// are tokenized as at a re-initialization (resumably, under the call's Idempotency-Key); the
/// failed cycles are handled when the token is made, by the policy noted now.
async fn update_card(
    state: &ApiState,
    current: &Account,
    headers: &HeaderMap,
    card: MerchantCard,
    (refused_cycles, failed_cycle): (Option<RefusedCycles>, Option<OnCardUpdate>),
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if refused_cycles.is_some() {
        return Err(ApiError::invalid(
            "refused_cycles",
            "is for a suspended account; a card update of an active account takes failed_cycle",
        ));
    }
    let id = current.id;
    let policy = failed_cycle.unwrap_or(state.settings.billing.failed_cycle_on_card_update);
    let cred = match card {
        MerchantCard::Tokenize { scope, card } => {
            state.store.note_card_update_policy(id, policy).await?;
            // The refused-cycles choice is a suspended account's: unused on an active one.
            let refused = state.settings.billing.refused_cycles;
            return tokenize_again(state, current, headers, (&scope, card), refused).await;
        }
        MerchantCard::OnFile(cred) => cred,
    };
    let (account, _) = state
        .store
        .update_card(id, &cred, policy, state.clock.now())
        .await?;
    Ok((StatusCode::OK, shown(state, account).await?))
}

/// Card details for an account the merchant re-initializes or updates, tokenized as at a
/// registration: resumably, under the call's Idempotency-Key.
async fn tokenize_again(
    state: &ApiState,
    current: &Account,
    headers: &HeaderMap,
    (scope, card): (&str, crate::gateway::payroc::CardDetails),
    refused: RefusedCycles,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    let key = registration::idempotency_key(headers);
    registration::reinitialize_payroc(state, current, scope, key.as_deref(), refused, card).await
}
