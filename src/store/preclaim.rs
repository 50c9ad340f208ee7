//! Materializing a charge already claimed and written down. A newly due charge that the claim
//! would take at once anyway — its account and subscription active, no other charge of its
//! subscription open — is inserted leased to the materializing daemon, with its request and the
//! attempt row of its first send, in the insert's one statement: one row version of the charge
//! instead of two (inserted, then claimed), and no queue window read or claim statement for it.
//! The crash guarantees are the claim's: nothing is sent before the row, its request and its
//! attempt row are committed under the lease, and a daemon that dies leaves the charge to its
//! lease, after which any daemon resends the stored request under the same key.
//!
//! Any other charge is inserted as before and goes through the claim, which applies the full
//! rules (`claim_rules!`).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::claim_writes::Request;
use super::subscriptions::Subscription;
use super::to_db;
use crate::domain::charge::{ChargeTerms, ClaimedCharge};
use crate::domain::credential::Credential;
use crate::domain::materialize::DueCycle;

/// What a daemon that claims while it materializes brings: who takes the leases, from when,
/// for how long, and how a charge's request is built (`None`: the charge is left to the claim).
pub struct ClaimWhileMaterializing<P> {
    pub worker: Uuid,
    /// The clock's time at the claim (the lease runs from it; the send is logged at it).
    pub now: Timestamp,
    pub lease: SignedDuration,
    pub plan: P,
}

impl<P: FnMut(&mut ClaimedCharge) -> Request> ClaimWhileMaterializing<P> {
    pub(super) fn until(&self) -> DateTime<Utc> {
        to_db(self.now.checked_add(self.lease).unwrap_or(self.now))
    }
}

/// What the materializing transaction knows that makes a charge claimable at insert.
#[derive(Default)]
pub(super) struct Claimable {
    /// Active accounts, locked FOR SHARE until the batch commits, with their credentials: an
    /// account being suspended (its row locked) is skipped, and one suspended later waits for
    /// the batch, whose written-down charges it then leaves to complete — as it does a claim's.
    accounts: HashMap<Uuid, Credential>,
    /// Subscriptions with a charge still open (due or held): their new charge waits for it.
    busy: HashSet<Uuid>,
    /// Subscriptions whose first new charge of this batch is already taken.
    taken: HashSet<Uuid>,
}

/// An account's credential as the claim reads it.
#[derive(sqlx::FromRow)]
struct AccountCredential {
    id: Uuid,
    #[sqlx(flatten)]
    credential: Credential,
}

impl Claimable {
    /// Reads (and locks) what decides the batch's claims; `due` are the batch's subscriptions.
    pub(super) async fn load(
        tx: &mut sqlx::PgConnection,
        due: &[Subscription],
    ) -> Result<Claimable, sqlx::Error> {
        let accounts: Vec<Uuid> = due.iter().map(|s| s.account_id).collect();
        let subscriptions: Vec<Uuid> = due.iter().map(|s| s.id).collect();
        // SKIP LOCKED never waits: a suspension holding an account while it waits for this
        // batch's subscriptions cannot deadlock with it.
        let rows: Vec<AccountCredential> = sqlx::query_as(
            "SELECT id, gateway, certitrade_account_id, payroc_terminal_id, payroc_token \
             FROM payment_accounts WHERE id = ANY($1) AND state = 'active' \
             ORDER BY id FOR SHARE SKIP LOCKED",
        )
        .bind(&accounts)
        .fetch_all(&mut *tx)
        .await?;
        let busy: Vec<Uuid> = sqlx::query_scalar(concat!(
            "SELECT DISTINCT subscription_id FROM charges WHERE subscription_id = ANY($1) \
             AND ",
            crate::store::charge_is_open!()
        ))
        .bind(&subscriptions)
        .fetch_all(&mut *tx)
        .await?;
        Ok(Claimable {
            accounts: rows.into_iter().map(|r| (r.id, r.credential)).collect(),
            busy: busy.into_iter().collect(),
            taken: HashSet::new(),
        })
    }

    /// The charge to claim for `cycle` of `sub` as it is inserted, if the claim would take it:
    /// its subscription's first new charge, nothing of the subscription open, its account
    /// active. `charge` is the new row's id, key and orderId.
    pub(super) fn claim(
        &mut self,
        sub: &Subscription,
        cycle: &DueCycle,
        (id, key, order_id): (Uuid, Uuid, &str),
        until: DateTime<Utc>,
    ) -> Option<ClaimedCharge> {
        if cycle.skipped || self.busy.contains(&sub.id) || !self.taken.insert(sub.id) {
            return None;
        }
        let credential = self.accounts.get(&sub.account_id)?.clone();
        Some(ClaimedCharge {
            terms: ChargeTerms {
                id,
                subscription_id: sub.id,
                account_id: sub.account_id,
                cycle: cycle.cycle as i32,
                due_at: to_db(cycle.due_at),
                amount_minor: sub.amount_minor,
                currency: sub.currency.clone(),
                processing_model: cycle.position.model.as_str().to_owned(),
                is_last: cycle.position.is_last,
            },
            attempt_no: 1,
            idempotency_key: key,
            order_id: order_id.to_owned(),
            sequence: None,
            request_body: None,
            last_outcome: None,
            gateway_payment_id: None,
            sends_so_far: 0,
            first_sent_at: None,
            lease_token: FIRST_LEASE_TOKEN,
            lease_expires_at: Some(until),
            gateway: credential.gateway(),
            credential,
            series_payment_id: sub.series_payment_id.clone(),
            series_scheme_reference: sub.series_scheme_reference.clone(),
            series_processing_model: sub.series_processing_model.clone(),
        })
    }
}

/// A claim increments the charge's token from the column's default (0): a charge claimed as it
/// is inserted holds the first claim's.
pub(super) const FIRST_LEASE_TOKEN: i64 = 1;
