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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use jiff::Timestamp;
use serde_json::Value;
use sqlx::PgPool;
use uuid::Uuid;

use crate::api::Api;
use crate::seed::{Book, Kind};
use crate::series::{self, SeriesSale};

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

pub struct Snapshot {
    pub taken_at: Timestamp,
    pub subs: Vec<SubRow>,
    pub charges: Vec<ChargeRow>,
    pub attempts: Vec<AttemptRow>,
    /// Accounts the merchant suspended, and when.
    pub merchant_suspended: HashMap<Uuid, Timestamp>,
    /// (orderId, payment id, amount, gateway) of every approved sale.
    pub sales: Vec<(String, String, i64, &'static str)>,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Chargeable,
    Refused,
    AfterRefusal,
    AfterSuspension,
    AfterCancellation,
    BeforeMerchantAction,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::Chargeable => "chargeable (1 sale each)",
            Category::Refused => "refused: declined or account terminated (0)",
            Category::AfterRefusal => "after a refusal, subscription past due (0)",
            Category::AfterSuspension => "after the account's suspension (0)",
            Category::AfterCancellation => "after the subscription's cancellation (0)",
            Category::BeforeMerchantAction => "due before a merchant cancel/suspend (0 or 1)",
        }
    }
}

/// What the gateway must show for cycle `n` of a subscription of this kind, before merchant
/// actions are taken into account.
fn by_kind(kind: Kind, n: u32) -> Category {
    match kind {
        Kind::PayrocOk | Kind::PayrocTrigger | Kind::PayrocSoftTwice | Kind::CertiOk => {
            Category::Chargeable
        }
        Kind::PayrocDeclined | Kind::PayrocHard | Kind::CertiDeclined => {
            if n == 1 {
                Category::Refused
            } else {
                Category::AfterRefusal
            }
        }
        Kind::PayrocCloses => match n {
            1 => Category::Chargeable,
            2 => Category::Refused,
            _ => Category::AfterSuspension,
        },
        Kind::PayrocPickup | Kind::CertiFraud => {
            if n == 1 {
                Category::Refused
            } else {
                Category::AfterSuspension
            }
        }
    }
}

#[derive(Default)]
pub struct Verdict {
    pub cycles: BTreeMap<Category, (usize, usize)>, // (cycles, approved sales)
    pub by_kind: BTreeMap<Kind, usize>,
    pub duplicates: usize,
    pub lost: usize,
    pub unexpected: usize,
    pub mismatches: usize,
    /// Charges recorded `failed` for which the gateway approved a sale (also mismatches).
    pub failed_but_approved: usize,
    /// Payroc series whose processingModel changes, or that span agreements.
    pub series_broken: usize,
    pub leases_left: usize,
    pub in_flight_forever: usize,
    pub unknown_subscriptions: usize,
    pub charges: usize,
    pub charges_by_status: BTreeMap<String, usize>,
    pub sales_by_gateway: BTreeMap<&'static str, usize>,
    pub longest_charge: Option<(f64, Uuid)>,
    pub gateway_hit: HashSet<Uuid>,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn failed(&self) -> bool {
        self.duplicates
            + self.lost
            + self.unexpected
            + self.mismatches
            + self.failed_but_approved
            + self.series_broken
            + self.leases_left
            + self.in_flight_forever
            + self.unknown_subscriptions
            > 0
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < 200 {
            self.problems.push(p);
        }
    }
}

pub fn check(book: &Book, snap: &Snapshot) -> Verdict {
    let mut v = Verdict {
        charges: snap.charges.len(),
        ..Verdict::default()
    };
    let charges: HashMap<Uuid, &ChargeRow> = snap.charges.iter().map(|c| (c.id, c)).collect();
    // Every orderId billingd ever sent, to its charge.
    let mut charge_of_order: HashMap<&str, Uuid> = HashMap::new();
    for c in &snap.charges {
        charge_of_order.insert(&c.order_id, c.id);
        *v.charges_by_status.entry(c.status.clone()).or_default() += 1;
    }
    for a in &snap.attempts {
        charge_of_order.insert(&a.order_id, a.charge_id);
    }
    // Approved sales by charge, and by (subscription, cycle).
    let mut sales_of_charge: HashMap<Uuid, Vec<&(String, String, i64, &'static str)>> =
        HashMap::new();
    let mut sales_of_cycle: HashMap<(Uuid, i32), usize> = HashMap::new();
    for sale in &snap.sales {
        *v.sales_by_gateway.entry(sale.3).or_default() += 1;
        match charge_of_order
            .get(sale.0.as_str())
            .and_then(|id| charges.get(id))
        {
            Some(c) => {
                sales_of_charge.entry(c.id).or_default().push(sale);
                *sales_of_cycle
                    .entry((c.subscription_id, c.cycle))
                    .or_default() += 1;
            }
            None => {
                v.mismatches += 1;
                v.problem(format!(
                    "{} sale {} (orderId {}) matches no charge billingd knows",
                    sale.3, sale.1, sale.0
                ));
            }
        }
    }

    // Cycle by cycle.
    let cutoff = snap.taken_at;
    for sub in &snap.subs {
        let Some(spec) = sub
            .merchant_reference
            .as_deref()
            .and_then(|r| book.by_reference.get(r))
            .map(|&i| &book.specs[i])
        else {
            v.unknown_subscriptions += 1;
            v.problem(format!(
                "subscription {} was not seeded by the campaign",
                sub.id
            ));
            continue;
        };
        *v.by_kind.entry(spec.kind).or_default() += 1;
        let merchant_stop = [
            sub.cancelled_at
                .map(|t| (ts(t), Category::AfterCancellation)),
            snap.merchant_suspended
                .get(&sub.account_id)
                .map(|t| (*t, Category::AfterSuspension)),
        ]
        .into_iter()
        .flatten()
        .min_by_key(|(t, _)| *t);
        let due = spec.schedule.due_until(cutoff);
        let last_due = due.last().map(|(n, _)| *n).unwrap_or(0);
        for (n, at) in due {
            let mut category = by_kind(spec.kind, n);
            if category == Category::Chargeable
                && let Some((stop, after)) = merchant_stop
            {
                category = if at > stop {
                    after
                } else {
                    Category::BeforeMerchantAction
                };
            }
            let sales = sales_of_cycle
                .get(&(sub.id, n as i32))
                .copied()
                .unwrap_or(0);
            let entry = v.cycles.entry(category).or_default();
            entry.0 += 1;
            entry.1 += sales;
            if sales > 1 {
                v.duplicates += sales - 1;
                v.problem(format!(
                    "{} cycle {n} of {} ({}): {sales} approved sales",
                    spec.reference,
                    sub.id,
                    spec.kind.label()
                ));
            }
            match category {
                Category::Chargeable if sales == 0 => {
                    v.lost += 1;
                    v.problem(format!(
                        "{} cycle {n} of {} ({}), due {at}: no approved sale",
                        spec.reference,
                        sub.id,
                        spec.kind.label()
                    ));
                }
                Category::Chargeable | Category::BeforeMerchantAction => {}
                _ if sales > 0 => {
                    v.unexpected += 1;
                    v.problem(format!(
                        "{} cycle {n} of {} ({}): charged although {}",
                        spec.reference,
                        sub.id,
                        spec.kind.label(),
                        category.label()
                    ));
                }
                _ => {}
            }
        }
        // Charges for cycles that were not due yet.
        for c in snap
            .charges
            .iter()
            .filter(|c| c.subscription_id == sub.id && c.cycle as u32 > last_due)
        {
            v.unexpected += 1;
            v.problem(format!(
                "charge {} is cycle {} of {}, which was not due",
                c.id, c.cycle, spec.reference
            ));
        }
    }

    // Charge by charge: the store agrees with the gateway.
    let mut first_sent: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for a in &snap.attempts {
        let e = first_sent.entry(a.charge_id).or_insert(a.sent_at);
        if a.sent_at < *e {
            *e = a.sent_at;
        }
        if a.finished_at.is_none() || a.outcome.as_deref() == Some("unknown") {
            v.gateway_hit.insert(a.charge_id);
        }
    }
    for c in &snap.charges {
        let sales = sales_of_charge.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let mut wrong = Vec::new();
        if c.status == "approved" {
            let mine: Vec<_> = sales.iter().filter(|s| s.0 == c.order_id).collect();
            match mine.as_slice() {
                [] => wrong.push("approved in the store, no approved sale at the gateway".into()),
                [s] => {
                    if c.gateway_payment_id.as_deref() != Some(s.1.as_str()) {
                        wrong.push(format!(
                            "payment id {:?} in the store, {} at the gateway",
                            c.gateway_payment_id, s.1
                        ));
                    }
                    if s.2 != c.amount_minor {
                        wrong.push(format!("amount {} at the gateway", s.2));
                    }
                }
                _ => {} // counted as a duplicate above
            }
            if sales.len() > mine.len() {
                wrong.push("a sale of an earlier attempt was approved too".into());
            }
        } else if !sales.is_empty() {
            if c.status == "failed" {
                v.failed_but_approved += 1;
            }
            wrong.push(format!(
                "{} in the store ({}), but {} approved sale(s) at the gateway",
                c.status,
                c.last_outcome.as_deref().unwrap_or("no outcome"),
                sales.len()
            ));
        }
        if !wrong.is_empty() {
            v.mismatches += 1;
            v.problem(format!(
                "charge {} (cycle {}, attempt {}): {}",
                c.id,
                c.cycle,
                c.attempt_no,
                wrong.join("; ")
            ));
        }
        if c.lease_owner.is_some() {
            v.leases_left += 1;
            v.problem(format!(
                "charge {} still leased by {:?}",
                c.id, c.lease_owner
            ));
        }
        if c.written {
            v.in_flight_forever += 1;
            v.problem(format!(
                "charge {} ({}): request written down, never completed (last outcome {:?})",
                c.id, c.status, c.last_outcome
            ));
        }
        if let (Some(done), Some(first)) = (c.settled_at, first_sent.get(&c.id)) {
            let secs = (done - *first).num_milliseconds() as f64 / 1000.0;
            if v.longest_charge.is_none_or(|(l, _)| secs > l) {
                v.longest_charge = Some((secs, c.id));
            }
        }
    }
    check_series(snap, &charge_of_order, &charges, &mut v);
    v
}

fn check_series(
    snap: &Snapshot,
    charge_of_order: &HashMap<&str, Uuid>,
    charges: &HashMap<Uuid, &ChargeRow>,
    v: &mut Verdict,
) {
    let sales: Vec<SeriesSale<'_>> = snap
        .payroc_ledger
        .iter()
        .map(|e| {
            let subscription = e["orderId"]
                .as_str()
                .and_then(|o| charge_of_order.get(o))
                .and_then(|id| charges.get(id))
                .map(|c| c.subscription_id);
            SeriesSale::from_ledger(e, subscription)
        })
        .collect();
    for problem in series::broken(&sales) {
        v.series_broken += 1;
        v.problem(problem);
    }
}

/// Gateway faults by kind, (Payroc, CertiTrade): what the simulators injected at random and
/// what the amount triggers did, from their request logs.
pub fn gateway_faults(snap: &Snapshot) -> Vec<(&'static str, u64, u64)> {
    let injected = |f: &Value, k: &str| f["injected"][k].as_u64().unwrap_or(0);
    let count = |reqs: &[Value], trigger: u64, result: &str| {
        reqs.iter()
            .filter(|r| {
                r["amount"].as_u64().is_some_and(|a| a % 100 == trigger)
                    && r["result"].as_str() == Some(result)
            })
            .count() as u64
    };
    let count_result = |reqs: &[Value], result: &str| {
        reqs.iter()
            .filter(|r| r["result"].as_str() == Some(result))
            .count() as u64
    };
    let p = &snap.payroc_requests;
    let c = &snap.certitrade_requests;
    let (pf, cf) = (&snap.payroc_faults, &snap.certitrade_faults);
    let unauthorized = p
        .iter()
        .filter(|r| r["result"].as_str() == Some("unauthorized"))
        .count() as u64;
    vec![
        (
            "5xx, nothing processed (random and outages)",
            injected(pf, "fail"),
            injected(cf, "fail"),
        ),
        (
            "5xx on a key's first request (amount …96)",
            count(p, 96, "server_error"),
            count(c, 96, "server_error"),
        ),
        (
            "connection dropped after processing (random)",
            injected(pf, "drop"),
            injected(cf, "drop"),
        ),
        (
            "connection dropped after approval (amount …99)",
            count(p, 99, "dropped"),
            count(c, 99, "dropped"),
        ),
        (
            "slow answer, 0.9 s (random)",
            injected(pf, "slow"),
            injected(cf, "slow"),
        ),
        (
            "timeout: processing 2.5 s, key in use (random)",
            injected(pf, "timeout"),
            injected(cf, "timeout"),
        ),
        (
            "timeout: answered after 3 s (amount …97)",
            count(p, 97, "approved"),
            0,
        ),
        (
            "processing past the client's timeout (amount …95)",
            count(p, 95, "approved"),
            0,
        ),
        (
            "409: a resend met its key still processing",
            count_result(p, "in_flight"),
            0,
        ),
        ("unreadable answer", injected(pf, "garbage"), 0),
        ("401 after the bearer tokens expired", unauthorized, 0),
    ]
}

pub fn render(v: &Verdict) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cycles due, by what the gateway must show:");
    for (cat, (cycles, sales)) in &v.cycles {
        let _ = writeln!(
            s,
            "  {:<52} {cycles:>6} cycles, {sales:>6} approved sales",
            cat.label()
        );
    }
    let _ = writeln!(s, "subscriptions by kind:");
    for (kind, n) in &v.by_kind {
        let _ = writeln!(s, "  {:<52} {n:>6}", kind.label());
    }
    s
}
