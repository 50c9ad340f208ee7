//! The oracle: after the run has settled, the gateways' ledgers and billingd's database are
//! read and compared, cycle by cycle.
//!
//! For every (subscription, cycle) due by the end of the run it decides, from the seed's kind
//! and the merchant's actions (never from what billingd recorded), how many approved sales
//! the gateway must show:
//! - **chargeable** — exactly 1;
//! - **refused** (declined: soft retries used up, hard decline, or the card account
//!   terminated at this cycle) — 0;
//! - **after a refusal / a suspension / a cancellation** (the subscription is past due, the
//!   account suspended, or the subscription cancelled before the cycle fell due) — 0;
//! - **due before the merchant's cancel or suspend** — 0 or 1 (either is right: the charge
//!   was in flight, or never sent), never more.
//!
//! Then, charge by charge, the store must agree with the gateway: an `approved` charge has
//! exactly one approved sale with its orderId (and that sale's payment id and amount); every
//! approved sale belongs to an `approved` charge with that orderId. Leases left behind and
//! charges whose request was written down but never completed are reported too.

mod charges;
mod cycles;
mod gateway_faults;
mod verdict;

pub use gateway_faults::gateway_faults;
pub use verdict::{Verdict, check, render};

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::Api;

pub fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp::from_microsecond(t.timestamp_micros()).expect("in range")
}

#[derive(Debug, sqlx::FromRow)]
pub struct SubRow {
    pub id: Uuid,
    pub account_id: Uuid,
    pub merchant_reference: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct ChargeRow {
    pub id: Uuid,
    pub subscription_id: Uuid,
    pub cycle: i32,
    pub amount_minor: i64,
    pub status: String,
    pub attempt_no: i32,
    pub order_id: String,
    pub gateway_payment_id: Option<String>,
    pub last_outcome: Option<String>,
    pub written: bool,
    pub lease_owner: Option<Uuid>,
    pub settled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
pub struct AttemptRow {
    pub charge_id: Uuid,
    pub order_id: String,
    pub sent_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
}

/// An approved sale at a gateway: (orderId, payment id, amount, gateway).
pub type Sale = (String, String, i64, &'static str);

pub struct Snapshot {
    pub taken_at: Timestamp,
    pub subs: Vec<SubRow>,
    pub charges: Vec<ChargeRow>,
    pub attempts: Vec<AttemptRow>,
    /// Accounts the merchant suspended, and when.
    pub merchant_suspended: HashMap<Uuid, Timestamp>,
    /// (orderId, payment id, amount, gateway) of every approved sale.
    pub sales: Vec<Sale>,
    /// The Payroc simulator's ledger as it is: the series check reads its standing instructions.
    pub payroc_ledger: Vec<Value>,
    pub payroc_requests: Vec<Value>,
    pub certitrade_requests: Vec<Value>,
    pub payroc_faults: Value,
    pub certitrade_faults: Value,
}

pub async fn snapshot(db: &PgPool, api: &Api) -> anyhow::Result<Snapshot> {
    let taken_at = Timestamp::now();
    let subs = sqlx::query_as::<_, SubRow>(
        "SELECT id, account_id, merchant_reference, cancelled_at FROM subscriptions",
    )
    .fetch_all(db)
    .await?;
    let charges = sqlx::query_as::<_, ChargeRow>(
        "SELECT id, subscription_id, cycle, amount_minor, status, attempt_no, order_id, \
         gateway_payment_id, last_outcome, request_body IS NOT NULL AND status = 'due' AS written, \
         lease_owner, settled_at FROM charges",
    )
    .fetch_all(db)
    .await?;
    let attempts = sqlx::query_as::<_, AttemptRow>(
        "SELECT charge_id, order_id, sent_at, finished_at, outcome FROM charge_attempts",
    )
    .fetch_all(db)
    .await?;
    let suspended: Vec<(Uuid, DateTime<Utc>)> = sqlx::query_as(
        "SELECT account_id, min(occurred_at) FROM account_events WHERE kind = 'account.suspended' \
         AND detail->>'reason' LIKE 'suspended by the merchant%' GROUP BY account_id",
    )
    .fetch_all(db)
    .await?;
    let mut sales = Vec::new();
    let payroc_ledger = api
        .sim_get("/_sim/ledger")
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    for s in &payroc_ledger {
        sales.push((
            s["orderId"].as_str().unwrap_or_default().to_owned(),
            s["paymentId"].as_str().unwrap_or_default().to_owned(),
            s["amount"].as_i64().unwrap_or_default(),
            "payroc",
        ));
    }
    for s in api
        .sim_get("/_sim/certitrade/ledger")
        .await?
        .as_array()
        .into_iter()
        .flatten()
    {
        // Card registrations (the payment window) are not billing cycles.
        if s["initializing"].as_bool() == Some(true) {
            continue;
        }
        sales.push((
            s["reference"].as_str().unwrap_or_default().to_owned(),
            s["id"].as_str().unwrap_or_default().to_owned(),
            s["amount"].as_i64().unwrap_or_default(),
            "certitrade",
        ));
    }
    let list = |v: Value| v.as_array().cloned().unwrap_or_default();
    Ok(Snapshot {
        taken_at,
        subs,
        charges,
        attempts,
        merchant_suspended: suspended.into_iter().map(|(a, t)| (a, ts(t))).collect(),
        sales,
        payroc_ledger,
        payroc_requests: list(api.sim_get("/_sim/requests").await?),
        certitrade_requests: list(api.sim_get("/_sim/certitrade/requests").await?),
        payroc_faults: api.sim_get("/_sim/faults").await?,
        certitrade_faults: api.sim_get("/_sim/certitrade/faults").await?,
    })
}
