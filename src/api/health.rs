//! Liveness, readiness and metrics, unauthenticated as probes and scrapers expect (the API
//! listens on loopback unless configured otherwise).

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

use super::ApiState;

/// Liveness and readiness probes.
pub fn routes() -> Router<ApiState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The Prometheus scrape.
pub fn metrics_routes() -> Router<ApiState> {
    Router::new().route("/metrics", get(metrics))
}

/// The process is up and serving.
async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Ready to bill: the database answers, its migrations are those this binary expects, and the
/// billing heartbeat is running.
async fn readyz(State(state): State<ApiState>) -> impl IntoResponse {
    let database = state.store.ping().await;
    let migrations = state.store.migrations_current().await;
    let scheduler = state.scheduler_running();
    let ready = database.is_ok() && matches!(migrations, Ok(true)) && scheduler;
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": {
            "database": database.map(|_| "ok".to_string()).unwrap_or_else(|e| e.to_string()),
            "migrations": match migrations {
                Ok(true) => "current".to_string(),
                Ok(false) => "pending migrations: run `billingd migrate`".to_string(),
                Err(e) => e.to_string(),
            },
            "scheduler": if scheduler { "running" } else { "stopped" },
        }
    });
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

/// Prometheus text exposition.
async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    match crate::metrics::render(&state.store, state.clock.now()).await {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            text,
        )
            .into_response(),
        Err(e) => super::problem::ApiError::unavailable(format!("metrics unavailable: {e}"))
            .into_response(),
    }
}
