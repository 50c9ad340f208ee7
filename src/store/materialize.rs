//! Turning due cycles into charge rows. Postgres knows what is due (`next_due_at <= now`), so a
//! daemon that was down simply finds every missed cycle on its next tick.

use std::collections::HashMap;

use jiff::Timestamp;
use uuid::Uuid;

use super::claim_writes::{ClaimedWrite, Request, Written};
use super::preclaim::{ClaimWhileMaterializing, Claimable, FIRST_LEASE_TOKEN};
use super::subscriptions::{COLUMNS, Subscription};
use super::{Store, StoreError, to_db};
use crate::domain::charge::ClaimedCharge;
use crate::domain::materialize::{self, CatchUpPolicy, CyclePlan, DueCycle, DueSubscription};
use crate::domain::states::ChargeStatus;
use crate::domain::states::GatewayKind;
use crate::gateway::fresh_intent;

/// A runaway backlog (a daily plan left for decades) is materialized in slices of this many
/// cycles per subscription per pass, so one transaction stays small.
const MAX_CYCLES_PER_PASS: usize = 1000;

#[derive(Debug, Default, Clone, Copy)]
pub struct Materialized {
    pub subscriptions: u64,
    pub charges: u64,
    pub skipped: u64,
}

impl Materialized {
    /// Adds the counts of another pass.
    pub fn add(&mut self, other: Materialized) {
        self.subscriptions += other.subscriptions;
        self.charges += other.charges;
        self.skipped += other.skipped;
    }
}

#[derive(Default)]
struct Batch {
    ids: Vec<Uuid>,
    subscription_ids: Vec<Uuid>,
    account_ids: Vec<Uuid>,
    cycles: Vec<i32>,
    due_ats: Vec<chrono::DateTime<chrono::Utc>>,
    amounts: Vec<i64>,
    currencies: Vec<String>,
    models: Vec<String>,
    is_lasts: Vec<bool>,
    statuses: Vec<String>,
    keys: Vec<Uuid>,
    order_ids: Vec<String>,
    /// Per row: the index in `claimed` of the claim it is inserted with, if any.
    claims: Vec<Option<usize>>,
    /// Charges claimed as they are inserted, with their requests (sequence, body).
    claimed: Vec<(ClaimedCharge, String, String)>,
    /// Who the claimed charges are leased to.
    worker: Option<Uuid>,
    // subscription advances
    advanced: Vec<Uuid>,
    next_cycles: Vec<i32>,
    next_dues: Vec<Option<chrono::DateTime<chrono::Utc>>>,
    // subscriptions cancelled at the end of their period
    cancelled: Vec<Uuid>,
}

/// The due scan: up to $2 active subscriptions due at $1, oldest first, locked with SKIP
/// LOCKED so replicas split the work (`subscriptions_due` serves it in order).
pub fn due_scan_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM subscriptions WHERE status = 'active' AND next_due_at <= $1 \
         ORDER BY next_due_at LIMIT $2 FOR UPDATE SKIP LOCKED"
    )
}

/// A daemon claiming as it materializes, as far as one batch goes.
struct Claiming<'c, P> {
    claimable: Claimable,
    spec: &'c mut ClaimWhileMaterializing<P>,
    until: chrono::DateTime<chrono::Utc>,
}

impl Store {
    /// One pass: up to `batch` due subscriptions, locked with SKIP LOCKED so replicas split the
    /// work; their due cycles become charge rows and each subscription moves to its next cycle,
    /// all in one transaction. Returns how many subscriptions were advanced. `catch_up` is the
    /// daemon's policy; a subscription's own parts override it.
    pub async fn materialize_due(
        &self,
        now: Timestamp,
        catch_up: impl Into<CatchUpPolicy>,
        batch: u32,
    ) -> Result<Materialized, StoreError> {
        let none = None::<&mut ClaimWhileMaterializing<fn(&mut ClaimedCharge) -> Request>>;
        Ok(self
            .materialize_due_claiming(now, catch_up, batch, none)
            .await?
            .0)
    }

    /// `materialize_due`, and with `claim`, the new charges the claim would take at once are
    /// inserted already claimed by `claim.worker`, written down with their requests and the
    /// attempt rows of their first sends (`preclaim`); they are returned, ready to send.
    pub async fn materialize_due_claiming<P>(
        &self,
        now: Timestamp,
        catch_up: impl Into<CatchUpPolicy>,
        batch: u32,
        claim: Option<&mut ClaimWhileMaterializing<P>>,
    ) -> Result<(Materialized, Vec<ClaimedWrite>), StoreError>
    where
        P: FnMut(&mut ClaimedCharge) -> Request,
    {
        let catch_up = catch_up.into();
        let mut tx = self.pool.begin().await?;
        let due: Vec<Subscription> = sqlx::query_as(sqlx::AssertSqlSafe(due_scan_sql()))
            .bind(to_db(now))
            .bind(batch as i64)
            .fetch_all(&mut *tx)
            .await?;
        // Each gateway words its orderIds its own way (`GatewayRules::order_id`).
        let accounts: Vec<Uuid> = due.iter().map(|s| s.account_id).collect();
        let gateways: HashMap<Uuid, GatewayKind> =
            sqlx::query_as("SELECT id, gateway FROM payment_accounts WHERE id = ANY($1)")
                .bind(&accounts)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
        let mut claiming = match claim {
            Some(spec) if !due.is_empty() => Some(Claiming {
                claimable: Claimable::load(&mut tx, &due).await?,
                until: spec.until(),
                spec,
            }),
            _ => None,
        };
        let mut rows = Batch {
            worker: claiming.as_ref().map(|c| c.spec.worker),
            ..Batch::default()
        };
        let mut report = Materialized::default();
        for sub in &due {
            let gateway = gateways.get(&sub.account_id).copied();
            let gateway = gateway.ok_or_else(|| {
                StoreError::Invalid(format!("subscription {}: no payment account", sub.id))
            })?;
            let claiming = claiming.as_mut();
            plan_subscription(
                (sub, gateway),
                now,
                catch_up,
                (&mut rows, claiming),
                &mut report,
            );
        }
        let sent_at = claiming.as_ref().map_or(now, |c| c.spec.now);
        let attempts = insert_charges(&mut tx, &rows, now, sent_at).await?;
        advance_subscriptions(&mut tx, &rows, now).await?;
        end_periods(&mut tx, &rows.cancelled, now).await?;
        tx.commit().await?;
        report.subscriptions = due.len() as u64;
        Ok((report, rows.into_claimed(attempts)))
    }
}

fn plan_subscription<P: FnMut(&mut ClaimedCharge) -> Request>(
    (sub, gateway): (&Subscription, GatewayKind),
    now: Timestamp,
    catch_up: CatchUpPolicy,
    (rows, mut claiming): (&mut Batch, Option<&mut Claiming<'_, P>>),
    report: &mut Materialized,
) {
    let schedule = sub.schedule();
    if let Err(e) = &schedule {
        // Stored schedules were validated on insert; if the time-zone database lost a zone,
        // the subscription is parked rather than spun on every tick.
        tracing::error!(subscription_id = %sub.id, error = %e, "unusable schedule; subscription parked");
    }
    let due = DueSubscription {
        schedule: schedule.as_ref().ok(),
        next_cycle: sub.next_cycle as u32,
        cancel_at_period_end: sub.cancel_at_period_end,
    };
    let policy = catch_up.for_subscription(sub.catch_up_override());
    match materialize::plan(due, now, policy, MAX_CYCLES_PER_PASS) {
        CyclePlan::Park => rows.advance(sub.id, sub.next_cycle as u32, None),
        CyclePlan::CancelAtPeriodEnd => rows.cancelled.push(sub.id),
        CyclePlan::Bill {
            cycles,
            next_cycle,
            next_due_at,
        } => {
            for cycle in &cycles {
                rows.charge(sub, (gateway, now), cycle, claiming.as_deref_mut());
                if cycle.skipped {
                    report.skipped += 1;
                } else {
                    report.charges += 1;
                }
            }
            rows.advance(sub.id, next_cycle, next_due_at);
        }
    }
}

impl Batch {
    /// A charge row for `cycle`, with the Idempotency-Key and orderId of its first attempt;
    /// claimed as it is inserted when `claiming` may and its request can be built.
    fn charge<P: FnMut(&mut ClaimedCharge) -> Request>(
        &mut self,
        sub: &Subscription,
        (gateway, now): (GatewayKind, Timestamp),
        cycle: &DueCycle,
        claiming: Option<&mut Claiming<'_, P>>,
    ) {
        let id = crate::ids::time_ordered(now);
        let (key, order_id) = fresh_intent(gateway, id, 1);
        let claim = claiming.and_then(|c| {
            let mut charge = c
                .claimable
                .claim(sub, cycle, (id, key, &order_id), c.until)?;
            let (sequence, body) = (c.spec.plan)(&mut charge)?;
            Some((charge, sequence, body))
        });
        self.claims.push(claim.map(|claim| {
            self.claimed.push(claim);
            self.claimed.len() - 1
        }));
        let status = if cycle.skipped {
            ChargeStatus::Skipped
        } else {
            ChargeStatus::Due
        };
        self.ids.push(id);
        self.subscription_ids.push(sub.id);
        self.account_ids.push(sub.account_id);
        self.cycles.push(cycle.cycle as i32);
        self.due_ats.push(to_db(cycle.due_at));
        self.amounts.push(sub.amount_minor);
        self.currencies.push(sub.currency.clone());
        self.models.push(cycle.position.model.as_str().to_owned());
        self.is_lasts.push(cycle.position.is_last);
        self.statuses.push(status.as_str().to_owned());
        self.keys.push(key);
        self.order_ids.push(order_id);
    }

    /// The charges claimed as they were inserted, each with its request and its attempt row
    /// (`attempts`: charge → attempt id; a row the insert did not make is left out).
    fn into_claimed(self, mut attempts: HashMap<Uuid, i64>) -> Vec<ClaimedWrite> {
        self.claimed
            .into_iter()
            .filter_map(|(mut charge, sequence, body)| {
                let attempt_id = attempts.remove(&charge.id)?;
                charge.sequence = Some(sequence.clone());
                Some(ClaimedWrite {
                    charge,
                    written: Some(Written {
                        sequence,
                        body,
                        attempt_id,
                    }),
                })
            })
            .collect()
    }

    fn advance(&mut self, id: Uuid, next_cycle: u32, next_due_at: Option<Timestamp>) {
        self.advanced.push(id);
        self.next_cycles.push(next_cycle as i32);
        self.next_dues.push(next_due_at.map(to_db));
    }
}

/// The batch's charges, those claimed as they are inserted with their leases ($14 worker, $15
/// until; the first claim's token), requests and the attempt rows of their first sends ($16
/// sent at). ON CONFLICT DO NOTHING: the unique (subscription, cycle) key is the last word on
/// "billed at most once", whatever a buggy or concurrent caller does — and a charge not
/// inserted logs no send. Returns each claimed charge's attempt id.
const INSERT_CHARGES_SQL: &str = "WITH inserted AS ( \
       INSERT INTO charges (id, subscription_id, account_id, cycle, due_at, amount_minor, \
         currency, processing_model, is_last, status, idempotency_key, order_id, \
         next_attempt_at, created_at, settled_at, lease_owner, lease_expires_at, lease_token, \
         sequence, request_body) \
       SELECT u.id, u.sub, u.acct, u.cycle, u.due, u.amount, u.cur, u.model, u.last, u.status, \
         u.key, u.oid, u.due, $13, CASE WHEN u.status = 'skipped' THEN $13 END, \
         CASE WHEN u.seq IS NOT NULL THEN $14::uuid END, \
         CASE WHEN u.seq IS NOT NULL THEN $15::timestamptz END, \
         CASE WHEN u.seq IS NOT NULL THEN $17::bigint ELSE 0 END, u.seq, u.body \
       FROM UNNEST($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::timestamptz[], \
         $6::bigint[], $7::text[], $8::text[], $9::bool[], $10::text[], $11::uuid[], \
         $12::text[], $18::text[], $19::text[]) \
         AS u(id, sub, acct, cycle, due, amount, cur, model, last, status, key, oid, seq, body) \
       ON CONFLICT (subscription_id, cycle) DO NOTHING \
       RETURNING id, attempt_no, idempotency_key, order_id, sequence) \
     INSERT INTO charge_attempts (charge_id, attempt_no, send_no, idempotency_key, order_id, \
       sequence, sent_at) \
     SELECT id, attempt_no, 1, idempotency_key, order_id, sequence, $16 FROM inserted \
     WHERE sequence IS NOT NULL \
     RETURNING charge_id, id";

async fn insert_charges(
    tx: &mut sqlx::PgConnection,
    rows: &Batch,
    now: Timestamp,
    sent_at: Timestamp,
) -> Result<HashMap<Uuid, i64>, sqlx::Error> {
    if rows.ids.is_empty() {
        return Ok(HashMap::new());
    }
    let request = |part: fn(&(ClaimedCharge, String, String)) -> &str| -> Vec<Option<&str>> {
        let claimed = &rows.claimed;
        rows.claims
            .iter()
            .map(|c| c.map(|i| part(&claimed[i])))
            .collect()
    };
    let lease = rows.claimed.first().map(|c| &c.0);
    let attempts: Vec<(Uuid, i64)> = sqlx::query_as(INSERT_CHARGES_SQL)
        .bind(&rows.ids)
        .bind(&rows.subscription_ids)
        .bind(&rows.account_ids)
        .bind(&rows.cycles)
        .bind(&rows.due_ats)
        .bind(&rows.amounts)
        .bind(&rows.currencies)
        .bind(&rows.models)
        .bind(&rows.is_lasts)
        .bind(&rows.statuses)
        .bind(&rows.keys)
        .bind(&rows.order_ids)
        .bind(to_db(now))
        .bind(rows.worker)
        .bind(lease.and_then(|c| c.lease_expires_at))
        .bind(to_db(sent_at))
        .bind(FIRST_LEASE_TOKEN)
        .bind(request(|c| c.1.as_str()))
        .bind(request(|c| c.2.as_str()))
        .fetch_all(tx)
        .await?;
    Ok(attempts.into_iter().collect())
}

async fn advance_subscriptions(
    tx: &mut sqlx::PgConnection,
    rows: &Batch,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    if rows.advanced.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE subscriptions s SET next_cycle = u.next, next_due_at = u.due, updated_at = $4 \
         FROM UNNEST($1::uuid[], $2::int[], $3::timestamptz[]) AS u(id, next, due) \
         WHERE s.id = u.id",
    )
    .bind(&rows.advanced)
    .bind(&rows.next_cycles)
    .bind(&rows.next_dues)
    .bind(to_db(now))
    .execute(tx)
    .await?;
    Ok(())
}

async fn end_periods(
    tx: &mut sqlx::PgConnection,
    ids: &[Uuid],
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE subscriptions SET status = 'cancelled', cancelled_at = $2, next_due_at = NULL, \
         updated_at = $2 WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(to_db(now))
    .execute(tx)
    .await?;
    Ok(())
}
