//! A subscription to create, checked field by field as the create route and the import take it.

use super::problem::{ApiError, ApiResult};
use super::subscriptions::{CreateSubscription, metadata, not_backdated, price, reference, series};
use crate::domain::import::{BilledThrough, ImportedCycles, imported_cycles};
use crate::domain::materialize::{CatchUp, CatchUpOverride};
use crate::store::subscriptions::{NewSubscription, Subscription};
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
    let catch_up = catch_up(CatchUpOverride {
        mode: body.catch_up,
        max_cycles: body.catch_up_max_cycles,
    })?;
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
        catch_up,
    })
}

/// A subscription's own catch-up, checked: a cap of 1 to 1000 cycles, and only under `all`
/// (`latest` charges one).
pub fn catch_up(own: CatchUpOverride) -> ApiResult<CatchUpOverride> {
    if let Some(n) = own.max_cycles
        && !(1..=1000).contains(&n)
    {
        return Err(ApiError::invalid(
            "catch_up_max_cycles",
            "must be 1 to 1000 (leave it out to charge every missed cycle)",
        ));
    }
    if own.mode == Some(CatchUp::Latest) && own.max_cycles.is_some() {
        return Err(ApiError::invalid(
            "catch_up_max_cycles",
            "is a cap for catch_up \"all\"; \"latest\" charges only the newest missed cycle",
        ));
    }
    Ok(own)
}

/// PATCH of a subscription's catch-up: each part given replaces the stored one (null: the
/// daemon's again), the result checked as at creation.
pub async fn change_catch_up(
    store: &Store,
    current: &Subscription,
    (mode, max): (Option<Option<CatchUp>>, Option<Option<u32>>),
    now: jiff::Timestamp,
) -> ApiResult<()> {
    let stored = current.catch_up_override();
    let own = catch_up(CatchUpOverride {
        mode: mode.unwrap_or(stored.mode),
        max_cycles: max.unwrap_or(stored.max_cycles),
    })?;
    store.set_catch_up(current.id, own, now).await?;
    Ok(())
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
