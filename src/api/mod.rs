//! The admin HTTP API (axum): how a merchant's systems drive billingd, plus the health and
//! metrics endpoints operators scrape. Routes and the OpenAPI document come from the same
//! `routes!` registrations, so the document cannot drift from what is served.

pub(crate) mod accounts;
pub(crate) mod auth;
mod callbacks;
pub(crate) mod charges;
mod checks;
pub mod extract;
pub mod forecast;
mod health;
pub(crate) mod idempotency;
pub mod import;
mod import_file;
mod new_subscription;
mod openapi;
mod pagination;
pub(crate) mod preview;
pub mod problem;
mod reconciliation;
mod registration;
mod schedule_input;
pub(crate) mod subscriptions;
pub mod views;
mod webhooks;

use crate::config::rotating::RotatingSecret;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use utoipa_axum::router::OpenApiRouter;

use crate::clock::Clock;
use crate::config::Settings;
use crate::gateway::Gateways;
use crate::store::Store;

#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub gateways: Gateways,
    pub clock: Arc<dyn Clock>,
    pub settings: Arc<Settings>,
    /// The admin token(s) in force (two during a rotation), re-read from their file on change.
    pub admin_tokens: RotatingSecret,
    pub scheduler_running: Arc<AtomicBool>,
}

impl ApiState {
    pub fn scheduler_running(&self) -> bool {
        self.scheduler_running.load(Ordering::Relaxed)
    }
}

/// The whole HTTP surface and its OpenAPI document.
pub fn router(state: ApiState) -> (Router, utoipa::openapi::OpenApi) {
    let v1 = OpenApiRouter::with_openapi(openapi::base())
        .merge(accounts::routes())
        .merge(subscriptions::routes())
        .merge(charges::routes())
        .merge(preview::routes())
        .merge(webhooks::routes())
        .merge(reconciliation::routes())
        .merge(forecast::routes())
        .merge(import::routes());
    let (v1, mut doc) = v1.split_for_parts();
    openapi::document_body_limit(&mut doc, state.settings.api.max_body_bytes);
    let doc_json = Arc::new(serde_json::to_vec(&doc).expect("OpenAPI document serializes"));
    let v1 = v1
        .route("/v1/openapi.json", openapi::serve(doc_json))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            idempotency::replay_or_record,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_admin,
        ));
    let mut router = Router::new().merge(v1).merge(health::routes());
    if state.settings.api.metrics_listen.is_none() {
        router = router.merge(health::metrics_routes());
    }
    if state.settings.api.callback_listen.is_none() {
        router = router.merge(callbacks::routes());
    }
    (finish(router, state), doc)
}

/// What a listener of its own serves (`api.callback_listen`, `api.metrics_listen`): only its
/// audience's routes, so exposing the callback to CertiTrade exposes nothing else.
pub fn audience_router(audience: Audience, state: ApiState) -> Router {
    let routes = match audience {
        Audience::Callback => callbacks::routes(),
        Audience::Metrics => health::metrics_routes(),
    };
    finish(routes, state)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// CertiTrade, from the internet.
    Callback,
    /// The metrics scraper, inside.
    Metrics,
}

fn finish(router: Router<ApiState>, state: ApiState) -> Router {
    let limit = state.settings.api.max_body_bytes;
    router
        .fallback(|| async { problem::ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// Serves until `shutdown` completes; requests in progress are allowed to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
