//! A subscription to create, checked field by field as the create route and the import take it.

use super::problem::{ApiError, ApiResult};
use super::subscriptions::{CreateSubscription, metadata, not_backdated, price, reference, series};
use crate::domain::import::{BilledThrough, ImportedCycles, imported_cycles};
use crate::store::subscriptions::NewSubscription;
use crate::store::{Store, StoreError};

/// Validates a subscription to create, as the API and the import take it: every field checked,
/// the account looked up. Nothing is written.
pub async fn new_subscription(
    store: &Store,
    now: jiff::Timestamp,
    body: CreateSubscription,
) -> ApiResult<NewSubscription> {
    let price = price(body.amount, &body.currency)?;
    let schedule = body.schedule.validate("schedule")?;
    let imported = imported(&schedule, body.billed_through_cycle, body.paid_through, now)?;
    if imported.is_none() {
        not_backdated(&schedule, now)?;
    }
    let reference = reference(body.merchant_reference.as_deref())?;
    let metadata = metadata(body.metadata)?;
    // The account must exist: a 422 that names it, not a foreign-key 409. Only a missing
    // account is the client's error: a database that failed to answer is a 5xx (retry).
    let account = store.account(body.account_id).await.map_err(|e| match e {
        StoreError::NotFound { .. } => ApiError::invalid(
            "account_id",
            format!("payment account {} does not exist", body.account_id),
        ),
        other => ApiError::from(other),
    })?;
    Ok(NewSubscription {
        account_id: body.account_id,
        price,
        schedule,
        merchant_reference: reference,
        metadata: metadata.unwrap_or_else(|| serde_json::json!({})),
        series: series(body.series, account.gateway)?,
        imported,
    })
}

/// The cycles another system billed, from `billed_through_cycle` or `paid_through`.
pub fn imported(
    schedule: &crate::domain::schedule::Schedule,
    cycle: Option<u32>,
    paid_through: Option<chrono::DateTime<chrono::Utc>>,
    now: jiff::Timestamp,
) -> ApiResult<Option<ImportedCycles>> {
    let (field, billed) = match (cycle, paid_through) {
        (None, None) => return Ok(None),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid(
                "paid_through",
                "give billed_through_cycle or paid_through, not both",
            ));
        }
        (Some(n), None) => ("billed_through_cycle", BilledThrough::Cycle(n)),
        (None, Some(at)) => (
            "paid_through",
            BilledThrough::PaidThrough(crate::store::from_db(at)),
        ),
    };
    imported_cycles(schedule, billed, now)
        .map(Some)
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}
