//! A subscription to create, checked field by field as the create route and the import take it.

use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::checks::non_empty;
use super::problem::{ApiError, ApiResult};
use super::schedule_input::ScheduleInput;
use crate::domain::import::{BilledThrough, ImportedCycles, imported_cycles};
use crate::domain::materialize::{CatchUp, CatchUpOverride};
use crate::domain::money::Money;
use crate::domain::series::FirstPayment;
use crate::domain::states::GatewayKind;
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

const MAX_AMOUNT: i64 = 1_000_000_000_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSubscription {
    pub(super) account_id: Uuid,
    /// Minor units (cents), > 0.
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub(super) amount: i64,
    /// ISO 4217, e.g. `USD`.
    #[schema(pattern = "^[A-Z]{3}$", example = "USD")]
    pub(super) currency: String,
    pub(super) schedule: ScheduleInput,
    /// Your own reference, searchable.
    #[schema(max_length = 200, pattern = "\\S")]
    pub(super) merchant_reference: Option<String>,
    /// Your own key/value data, returned as given.
    #[schema(value_type = Option<Object>)]
    pub(super) metadata: Option<serde_json::Map<String, serde_json::Value>>,
    /// Payroc only: continue this agreement's existing stored-credential series (its first
    /// payment was made before the agreement came to billingd) instead of opening one. Every
    /// charge of the subscription then goes out as `subsequent` referring to it, with the plan's
    /// processing model (`installment` with `total_cycles`, else `recurring`), which must be the
    /// one the series was opened with.
    pub(super) series: Option<SeriesInput>,
    /// Taking over a subscription another system has billed: cycles 1 to this one were billed
    /// there. They are recorded as `imported` (never charged) and billing starts at the next
    /// cycle, which may be overdue by at most one cycle (it is then charged at once). The anchor
    /// may then lie further back than a year.
    #[schema(minimum = 1, maximum = 10000)]
    pub(super) billed_through_cycle: Option<u32>,
    /// The other way to say the same: the customer has paid for the time before this instant.
    /// Every cycle due before it was billed; the first due at or after it is billingd's.
    pub(super) paid_through: Option<chrono::DateTime<chrono::Utc>>,
    /// After downtime or a suspension: `all` missed cycles are charged (up to
    /// `catch_up_max_cycles`), or only the `latest`; the others are recorded as `skipped`.
    /// Default: the daemon's `billing.catch_up`.
    #[schema(value_type = Option<String>, pattern = "^(all|latest)$")]
    pub(super) catch_up: Option<CatchUp>,
    /// Under `all`: at most this many missed cycles (the newest) are charged. Default: the
    /// daemon's `billing.catch_up_max_cycles`.
    #[schema(minimum = 1, maximum = 1000)]
    pub(super) catch_up_max_cycles: Option<u32>,
}

/// The first payment of an existing series.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesInput {
    /// The gateway's id of the agreement's first payment (Payroc `paymentId`).
    #[schema(max_length = 100, pattern = "\\S")]
    payment_id: String,
    /// The card network's reference for it (Payroc `cardSchemeReferenceId`).
    #[schema(max_length = 100, pattern = "\\S")]
    scheme_reference: Option<String>,
}

/// Catch-up is for a daemon that was down, not for subscriptions dated years back: a new
/// subscription whose first cycle is over a year old would be charged for every cycle since.
pub(super) fn not_backdated(
    schedule: &crate::domain::schedule::Schedule,
    now: jiff::Timestamp,
) -> ApiResult<()> {
    let limit = now
        .checked_sub(jiff::SignedDuration::from_hours(366 * 24))
        .unwrap_or(now);
    match schedule.due_at(1) {
        Some(first) if first < limit => Err(ApiError::invalid(
            "schedule.anchor",
            "is more than a year in the past: every cycle since would be charged at once; use a recent anchor",
        )),
        _ => Ok(()),
    }
}

pub(super) fn price(amount: i64, currency: &str) -> ApiResult<Money> {
    if amount <= 0 {
        return Err(ApiError::invalid(
            "amount",
            "must be a positive number of minor units (cents)",
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(ApiError::invalid(
            "amount",
            format!("must be at most {MAX_AMOUNT} minor units"),
        ));
    }
    Money::charge(amount, currency).map_err(|e| ApiError::invalid("currency", e.to_string()))
}

/// A series continued from elsewhere, as the account's gateway takes it (Payroc names its
/// first payment; CertiTrade keeps its own and refuses one).
pub(super) fn series(
    input: Option<SeriesInput>,
    gateway: GatewayKind,
) -> ApiResult<Option<FirstPayment>> {
    let Some(s) = input else { return Ok(None) };
    let given = crate::gateway::rules::SeriesInput {
        payment_id: s.payment_id,
        scheme_reference: s.scheme_reference,
    };
    Ok(Some(
        crate::gateway::rules(gateway).continued_series(given)?,
    ))
}

pub(super) fn reference(value: Option<&str>) -> ApiResult<Option<String>> {
    value
        .map(|r| non_empty("merchant_reference", r, 200).map(str::to_owned))
        .transpose()
}

pub(super) fn metadata(
    value: Option<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Option<serde_json::Value>> {
    let Some(map) = value else { return Ok(None) };
    if map.len() > 50 {
        return Err(ApiError::invalid("metadata", "at most 50 keys"));
    }
    let value = serde_json::Value::Object(map);
    if value.to_string().len() > 8 * 1024 {
        return Err(ApiError::invalid("metadata", "at most 8 KiB of JSON"));
    }
    Ok(Some(value))
}
