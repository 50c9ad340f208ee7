//! A card update: an active account takes a new credential, and each of its subscriptions'
//! failed cycle is billed once more on it (or left, by policy) — decided per charge by
//! `domain::recovery::rebill_on_card_update`, applied as a hand retry is (`recovery::rebill`:
//! a new Idempotency-Key and orderId), in one transaction with the credential.

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::accounts::{Account, COLUMNS, lock_account, record_event, same_gateway, store_card};
use super::recovery::{load_case, rebill};
use super::series::close_series;
use super::{Store, StoreError, to_db};
use crate::domain::credential::CardOnFile;
use crate::domain::recovery::{OnCardUpdate, rebill_on_card_update};
use crate::domain::states::AccountState;

/// The latest charge of each live subscription on account $1, where it failed — locked with
/// its subscription before the account, in the order billing locks them.
const FAILED_CYCLES: &str = "SELECT c.id FROM subscriptions s CROSS JOIN LATERAL ( \
       SELECT id, status FROM charges WHERE subscription_id = s.id ORDER BY cycle DESC LIMIT 1) l \
     JOIN charges c ON c.id = l.id \
     WHERE s.account_id = $1 AND s.status IN ('active', 'past_due') AND l.status = 'failed' \
     ORDER BY c.id FOR UPDATE OF c, s";

/// What a card update did with the account's failed cycles.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CardUpdated {
    /// Failed charges sent again as a new attempt on the new card.
    pub rebilled: Vec<Uuid>,
    /// Failed charges left failed (`failed_cycle: "leave"`).
    pub left: Vec<Uuid>,
    /// Failed charges not re-billed, with the reason (e.g. a request in doubt).
    pub refused: Vec<Refused>,
    /// Past-due subscriptions made active again.
    pub subscriptions_resumed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    pub charge_id: Uuid,
    pub reason: String,
}

impl Store {
    /// Gives active account `id` a new card. Its failed cycles are re-billed once (or left, by
    /// `policy`), its past-due subscriptions resume, and each subscription's next charge opens
    /// a new series on the new credential. The card already stored is refused: a card update
    /// changes the card, and a repeat must bill nothing.
    pub async fn update_card(
        &self,
        id: Uuid,
        card: &CardOnFile,
        policy: OnCardUpdate,
        now: Timestamp,
    ) -> Result<(Account, CardUpdated), StoreError> {
        let mut tx = self.pool.begin().await?;
        let failed = lock_failed_cycles(&mut tx, id).await?;
        let (gateway, state) = lock_account(&mut tx, id).await?;
        same_gateway(id, gateway, card)?;
        if state != AccountState::Active {
            return Err(StoreError::Conflict(format!(
                "payment account {id} is {state}; a card update takes an active account \
                 (a suspended one is re-initialized)"
            )));
        }
        let done = card_updated(&mut tx, id, card, (failed, policy), now).await?;
        tx.commit().await?;
        tracing::info!(event = "account.card_updated", account_id = %id,
            rebilled = done.rebilled.len(), refused = done.refused.len(),
            subscriptions_resumed = done.subscriptions_resumed, "payment account card updated");
        Ok((self.account(id).await?, done))
    }

    /// Keeps the failed-cycle policy of a CertiTrade card update until the customer completes
    /// the initializing payment (`card_updated_by_initialization`).
    pub async fn note_card_update_policy(
        &self,
        id: Uuid,
        policy: OnCardUpdate,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE payment_accounts SET card_update_failed_cycle = $2 WHERE id = $1")
            .bind(id)
            .bind(policy)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// The failed cycles of account `id`'s live subscriptions, locked.
async fn lock_failed_cycles(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<Vec<Uuid>, sqlx::Error> {
    sqlx::query_scalar(FAILED_CYCLES)
        .bind(id)
        .fetch_all(tx)
        .await
}

/// Each failed cycle decided and re-billed (or left, or refused), and the account's past-due
/// subscriptions made active, inside the caller's transaction.
async fn rebill_failed_cycles(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    failed: Vec<Uuid>,
    policy: OnCardUpdate,
    now: Timestamp,
) -> Result<CardUpdated, sqlx::Error> {
    let mut done = CardUpdated::default();
    for charge in failed {
        let Some(loaded) = load_case(&mut *tx, charge, None, now).await? else {
            continue;
        };
        match rebill_on_card_update(&loaded.case, policy) {
            Ok(true) => {
                // Locked above as failed: the fenced update takes it.
                rebill(&mut *tx, charge, &loaded, now).await?;
                done.rebilled.push(charge);
            }
            Ok(false) => done.left.push(charge),
            Err(reason) => done.refused.push(Refused {
                charge_id: charge,
                reason: format!("charge {charge} {reason}"),
            }),
        }
    }
    done.subscriptions_resumed = sqlx::query(
        "UPDATE subscriptions SET status = 'active', updated_at = $2 \
         WHERE account_id = $1 AND status = 'past_due'",
    )
    .bind(id)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    Ok(done)
}

/// A CertiTrade card update completed by the customer (an active account's initializing
/// payment `payment_id` approved): its failed cycles by the policy noted with the request
/// (`charge` when none was), inside the caller's transaction, which holds the account. Returns
/// the history entry to record.
pub(super) async fn card_updated_by_initialization(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    (payment_id, series_closed): (&str, u64),
    now: Timestamp,
) -> Result<(&'static str, serde_json::Value), sqlx::Error> {
    let policy = take_noted_policy(&mut *tx, id).await?;
    let failed = lock_failed_cycles(&mut *tx, id).await?;
    let done = rebill_failed_cycles(tx, id, failed, policy, now).await?;
    let detail = serde_json::json!({"payment_id": payment_id, "series_closed": series_closed,
        "failed_cycle_policy": policy, "failed_cycles": done});
    Ok(("account.card_updated", detail))
}

/// Card details an active Payroc account was given, tokenized by the registration's
/// secure-token step (`Store::reinitialize_with` on an active account): the card update by the
/// policy noted with the request, and the registration done — in the caller's transaction.
pub(super) async fn by_registration(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    card: &CardOnFile,
    now: Timestamp,
) -> Result<CardUpdated, StoreError> {
    let policy = take_noted_policy(&mut *tx, id).await?;
    let failed = lock_failed_cycles(&mut *tx, id).await?;
    let done = card_updated(&mut *tx, id, card, (failed, policy), now).await?;
    sqlx::query(
        "UPDATE payment_accounts SET registration_step = 'done', registration_request = NULL, \
         registration_lease_until = NULL, registration_unknown_since = NULL, \
         registration_error = NULL, registration_refused_cycles = NULL WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(done)
}

/// The card update itself, inside the caller's transaction, which holds the active account and
/// its `failed` cycles: the new card stored (the one already there refused), the series closed,
/// the failed cycles decided, and the account's history.
async fn card_updated(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    card: &CardOnFile,
    (failed, policy): (Vec<Uuid>, OnCardUpdate),
    now: Timestamp,
) -> Result<CardUpdated, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM payment_accounts WHERE id = $1");
    let current: Account = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if current.credential.secret().is_some()
        && current.credential.secret() == card.credential.secret()
    {
        return Err(StoreError::Conflict(format!(
            "payment account {id} already holds this card: a card update gives a new one"
        )));
    }
    store_card(&mut *tx, id, card, now).await?;
    let series_closed = close_series(&mut *tx, id, now).await?;
    let done = rebill_failed_cycles(&mut *tx, id, failed, policy, now).await?;
    let mut detail = card.credential.history_detail();
    detail["series_closed"] = serde_json::json!(series_closed);
    detail["failed_cycle_policy"] = serde_json::json!(policy);
    detail["failed_cycles"] = serde_json::json!(done);
    record_event(&mut *tx, id, "account.card_updated", &detail, now).await?;
    Ok(done)
}

/// The failed-cycle policy noted with a card update's request (`charge` when none was),
/// cleared.
async fn take_noted_policy(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<OnCardUpdate, sqlx::Error> {
    let noted: Option<OnCardUpdate> = sqlx::query_scalar(
        "UPDATE payment_accounts p SET card_update_failed_cycle = NULL \
         FROM (SELECT card_update_failed_cycle AS noted FROM payment_accounts WHERE id = $1) o \
         WHERE p.id = $1 RETURNING o.noted",
    )
    .bind(id)
    .fetch_one(&mut *tx)
    .await?;
    Ok(noted.unwrap_or_default())
}
