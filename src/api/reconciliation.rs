//! /v1/reconciliation/findings: what reconciliation with the gateways' ledgers found that a
//! person must look at (money that moved in a way billingd did not decide, or that billingd
//! believes moved and the gateway does not show).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ApiState;
use super::checks::one_of;
use super::extract::ApiQuery;
use super::pagination::{List, window_of};
use super::problem::{ApiResult, Problem};
use crate::domain::reconcile::FindingKind;
use crate::store::reconcile::StoredFinding;

pub fn routes() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(list_findings))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingQuery {
    /// `approved_not_recorded` | `missing_at_gateway` | `not_approved_at_gateway` |
    /// `duplicate_approval` | `unknown_sale`
    #[param(
        pattern = r"^(approved_not_recorded|missing_at_gateway|not_approved_at_gateway|duplicate_approval|unknown_sale)$"
    )]
    kind: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    limit: Option<i64>,
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/v1/reconciliation/findings", tag = "reconciliation",
    params(FindingQuery),
    responses((status = 200, body = List<StoredFinding>), (status = 422, body = Problem)))]
async fn list_findings(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<List<StoredFinding>>> {
    // The cursor is the id of the last finding shown: they are listed newest (highest) first.
    let (limit, before) = window_of(q.limit, q.cursor.as_deref(), |text| {
        text.parse::<i64>().ok().filter(|id| *id > 0)
    })?;
    let kind = match q.kind.as_deref() {
        Some(text) => {
            let kinds: Vec<&str> = FindingKind::ALL.iter().map(|k| k.as_str()).collect();
            one_of("kind", text, &kinds)?;
            FindingKind::parse(text)
        }
        None => None,
    };
    let mut rows = state.store.list_findings(kind, before, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = more
        .then(|| rows.last().map(|r| r.id.to_string()))
        .flatten();
    Ok(Json(List {
        data: rows,
        next_cursor,
    }))
}
