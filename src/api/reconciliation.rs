//! /v1/reconciliation/findings: what reconciliation with the gateways' ledgers found that a
//! person must look at (money that moved in a way billingd did not decide, or that billingd
//! believes moved and the gateway does not show).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

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

/// One finding, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct FindingView {
    pub id: i64,
    /// `payroc` | `certitrade`
    pub gateway: String,
    /// `approved_not_recorded`: the gateway approved a request billingd records as failed,
    /// closed, or superseded by a later attempt. `missing_at_gateway` /
    /// `not_approved_at_gateway`: billingd records an approval the gateway does not list, or
    /// lists as not approved. `duplicate_approval`: two approved sales for one charge.
    /// `unknown_sale`: an approved or pending sale under a reference billingd never sent.
    pub kind: String,
    pub charge_id: Option<Uuid>,
    /// The merchant reference of the sale (Payroc orderId, CertiTrade reference).
    pub order_ref: String,
    /// The gateway's payment ids concerned, comma-separated (empty when none).
    pub payment_ids: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    pub detail: String,
    pub found_at: DateTime<Utc>,
}

#[utoipa::path(get, path = "/v1/reconciliation/findings", tag = "reconciliation",
    params(FindingQuery),
    responses((status = 200, body = List<FindingView>), (status = 422, body = Problem)))]
async fn list_findings(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<FindingQuery>,
) -> ApiResult<Json<List<FindingView>>> {
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
        data: rows.into_iter().map(view).collect(),
        next_cursor,
    }))
}

fn view(f: StoredFinding) -> FindingView {
    FindingView {
        id: f.id,
        gateway: f.gateway,
        kind: f.kind,
        charge_id: f.charge_id,
        order_ref: f.order_ref,
        payment_ids: f.payment_ids,
        amount_minor: f.amount_minor,
        currency: f.currency,
        detail: f.detail,
        found_at: f.found_at,
    }
}
