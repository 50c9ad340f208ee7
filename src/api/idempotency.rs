//! (stub)
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::ApiState;

pub async fn replay_or_record(
    State(_state): State<ApiState>,
    req: Request,
    next: Next,
) -> Response {
    next.run(req).await
}
