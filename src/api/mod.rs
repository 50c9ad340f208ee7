//! The admin HTTP API (axum): how a merchant's systems drive billingd, plus the health and
//! metrics endpoints operators scrape. Routes and the OpenAPI document come from the same
//! `routes!` registrations, so the document cannot drift from what is served.

mod accounts;
mod auth;
mod callbacks;
mod charges;
pub mod extract;
mod health;
mod idempotency;
mod openapi;
mod pagination;
mod preview;
pub mod problem;
mod registration;
mod schedule_input;
mod subscriptions;
mod views;
mod webhooks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use secrecy::SecretString;
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
    pub admin_token: Arc<SecretString>,
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
        .merge(webhooks::routes());
    let (v1, doc) = v1.split_for_parts();
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
    let router = Router::new()
        .merge(v1)
        .merge(health::routes())
        .merge(callbacks::routes())
        .fallback(|| async { problem::ApiError::not_found("no such route") })
        .layer(DefaultBodyLimit::max(state.settings.api.max_body_bytes))
        .with_state(state);
    (router, doc)
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
