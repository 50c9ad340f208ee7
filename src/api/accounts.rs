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
use card_input::{
    CardInput, ExistingToken, card_details, existing_token, terminal_id, terminal_of,
};

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
    let gateway = GatewayKind::parse(&body.gateway);
    if gateway == Some(GatewayKind::CertiTrade) {
        if body.secure_token.is_some()
            || body.card.is_some()
            || body.series.is_some()
            || body.processing_terminal_id.is_some()
        {
            return Err(ApiError::invalid(
                "gateway",
                "a CertiTrade account takes no card, token, series or terminal: the customer registers the card at the link returned",
            ));
        }
        let key = registration::idempotency_key(&headers);
        return registration::create_certitrade(&state, key.as_deref()).await;
    }
    if gateway != Some(GatewayKind::Payroc) {
        return Err(ApiError::invalid(
            "gateway",
            format!(
                "{:?} is not supported (supported: payroc, certitrade)",
                body.gateway
            ),
        ));
    }
    if body.series.is_some() {
        return Err(ApiError::invalid(
            "series",
            "a stored-credential series belongs to one subscription, not to the account: give it \
             as `series` when creating the subscription that continues it (POST /v1/subscriptions)",
        ));
    }
    let terminal = terminal_id(body.processing_terminal_id.as_deref().unwrap_or(""))?;
    let cred = match (body.secure_token, body.card) {
        (None, Some(card)) => {
            let key = registration::idempotency_key(&headers);
            let details = card_details(card)?;
            return registration::create_payroc(&state, key.as_deref(), terminal, details).await;
        }
        (token, card) => existing_token(terminal, token, card.is_some())?,
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
    let account = state.store.account(id).await?;
    let history = state.store.account_events(id).await?;
    Ok(Json(AccountView::of(account, Some(history))))
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
    let history = state.store.account_events(id).await?;
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
    if current.gateway == GatewayKind::CertiTrade {
        return reinitialize_certitrade(&state, current, body).await;
    }
    let terminal = match body.processing_terminal_id.as_deref() {
        Some(t) => terminal_id(t)?.to_owned(),
        None => terminal_of(&current.credential).unwrap_or_default(),
    };
    if current.state == AccountState::Active {
        return update_card(&state, &current, &headers, body, &terminal).await;
    }
    if current.state != AccountState::Suspended {
        return Err(ApiError::conflict(format!(
            "payment account {id} is {}; only a suspended account is re-initialized, or an \
             active one given a new card",
            current.state
        )));
    }
    if body.failed_cycle.is_some() {
        return Err(ApiError::invalid(
            "failed_cycle",
            "is for a card update of an active account; a suspended account takes refused_cycles",
        ));
    }
    let refused = body
        .refused_cycles
        .unwrap_or(state.settings.billing.refused_cycles);
    let cred = match (body.secure_token, body.card) {
        (None, Some(card)) => {
            let key = registration::idempotency_key(&headers);
            let details = card_details(card)?;
            return registration::reinitialize_payroc(
                &state,
                &current,
                &terminal,
                key.as_deref(),
                refused,
                details,
            )
            .await;
        }
        (token, card) => existing_token(&terminal, token, card.is_some())?,
    };
    let account = state
        .store
        .reinitialize_with(id, &cred, refused, state.clock.now())
        .await?;
    let history = state.store.account_events(id).await?;
    Ok((
        StatusCode::OK,
        Json(AccountView::of(account, Some(history))),
    ))
}

/// A CertiTrade account is re-initialized by the customer at a new payment window: a suspended
/// (or never initialized) one comes back, an active one takes a new card — a card update, its
/// failed-cycle policy noted until the customer completes the payment.
async fn reinitialize_certitrade(
    state: &ApiState,
    current: crate::store::accounts::Account,
    body: ReinitializeAccount,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if body.secure_token.is_some() || body.card.is_some() || body.processing_terminal_id.is_some() {
        return Err(ApiError::invalid(
            "card",
            "a CertiTrade account is re-initialized by the customer at the link returned, not with card details",
        ));
    }
    if current.state == AccountState::Closed {
        return Err(ApiError::conflict(format!(
            "payment account {} is closed; it cannot be re-initialized",
            current.id
        )));
    }
    if current.state == AccountState::Active {
        // A card update: the customer registers the new card at the link; the failed
        // cycles are handled, by this policy, when they complete it.
        let policy = body
            .failed_cycle
            .unwrap_or(state.settings.billing.failed_cycle_on_card_update);
        state
            .store
            .note_card_update_policy(current.id, policy)
            .await?;
    }
    registration::reinitialize_certitrade(state, current).await
}

/// A card update: an active Payroc account takes a new secure token, or card details, which
/// are tokenized as at a re-initialization (resumably, under the call's Idempotency-Key); the
/// failed cycles are handled when the token is made, by the policy noted now.
async fn update_card(
    state: &ApiState,
    current: &crate::store::accounts::Account,
    headers: &HeaderMap,
    body: ReinitializeAccount,
    terminal: &str,
) -> ApiResult<(StatusCode, Json<AccountView>)> {
    if body.refused_cycles.is_some() {
        return Err(ApiError::invalid(
            "refused_cycles",
            "is for a suspended account; a card update of an active account takes failed_cycle",
        ));
    }
    let id = current.id;
    let policy = body
        .failed_cycle
        .unwrap_or(state.settings.billing.failed_cycle_on_card_update);
    let cred = match (body.secure_token, body.card) {
        (None, Some(card)) => {
            let key = registration::idempotency_key(headers);
            let details = card_details(card)?;
            state.store.note_card_update_policy(id, policy).await?;
            // The refused-cycles choice is a suspended account's: unused on an active one.
            let refused = state.settings.billing.refused_cycles;
            return registration::reinitialize_payroc(
                state,
                current,
                terminal,
                key.as_deref(),
                refused,
                details,
            )
            .await;
        }
        (token, card) => existing_token(terminal, token, card.is_some())?,
    };
    let (account, _) = state
        .store
        .update_card(id, &cred, policy, state.clock.now())
        .await?;
    let history = state.store.account_events(id).await?;
    Ok((
        StatusCode::OK,
        Json(AccountView::of(account, Some(history))),
    ))
}
