//! A failed charge retried by hand: the case loaded under the charge's row lock, decided by
//! `domain::recovery`, applied as a new attempt (a new Idempotency-Key and orderId).

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use super::charges::Charge;
use super::{Store, StoreError, to_db};
use crate::domain::outcome::Outcome;
use crate::domain::recovery::{RetryCase, decide_retry};
use crate::domain::states::{AccountState, ChargeStatus, GatewayKind, SubscriptionStatus};
use crate::gateway::fresh_intent;

/// The reattempt budget: so many new attempts per card within the window.
#[derive(Debug, Clone, Copy)]
pub struct ReattemptBudget {
    pub max: u32,
    pub window: SignedDuration,
}

/// The charge, its subscription and account, locked in that order (as billing locks them).
const CASE: &str = "SELECT c.status, c.last_outcome, s.status, a.state, a.gateway, c.account_id, c.attempt_no, \
       (SELECT count(*) FROM charge_attempts t WHERE t.charge_id = c.id \
          AND (t.finished_at IS NULL OR t.outcome IS NULL OR t.outcome IN ('unknown', 'pending'))), \
       EXISTS (SELECT 1 FROM reconciliation_findings f WHERE f.charge_id = c.id \
          AND f.kind IN ('approved_not_recorded', 'duplicate_approval')) \
     FROM charges c JOIN subscriptions s ON s.id = c.subscription_id \
       JOIN payment_accounts a ON a.id = c.account_id \
     WHERE c.id = $1 FOR UPDATE OF c, s, a";

type CaseRow = (
    ChargeStatus,
    Option<Outcome>,
    SubscriptionStatus,
    AccountState,
    GatewayKind,
    Uuid,
    i32,
    i64,
    bool,
);

/// A failed charge's case, read under its row locks, with what a new attempt needs.
pub(super) struct Loaded {
    pub case: RetryCase,
    gateway: GatewayKind,
    attempt_no: i32,
}

/// Loads the case of charge `id` inside the caller's transaction (None: no such charge). With
/// no `budget` (a card update, which spends none) the card's reattempts are not counted.
pub(super) async fn load_case(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    budget: Option<ReattemptBudget>,
    now: Timestamp,
) -> Result<Option<Loaded>, sqlx::Error> {
    let row: Option<CaseRow> = sqlx::query_as(CASE)
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    let Some((
        charge,
        last_outcome,
        subscription,
        account,
        gateway,
        account_id,
        attempt_no,
        in_doubt,
        approved,
    )) = row
    else {
        return Ok(None);
    };
    let (used, max) = match budget {
        Some(budget) => {
            let since = now.checked_sub(budget.window).unwrap_or(now);
            let used: i64 = sqlx::query_scalar(super::attempts::CARD_REATTEMPTS_SQL)
                .bind(account_id)
                .bind(to_db(since))
                .fetch_one(&mut *tx)
                .await?;
            (used as u32, budget.max)
        }
        None => (0, u32::MAX),
    };
    let case = RetryCase {
        charge,
        last_outcome,
        subscription,
        account,
        requests_in_doubt: in_doubt as u32,
        approval_found: approved,
        reattempts_used: used,
        reattempt_budget: max,
    };
    Ok(Some(Loaded {
        case,
        gateway,
        attempt_no,
    }))
}

/// Sends charge `id` again as a new attempt (a new Idempotency-Key and orderId, due now),
/// fenced on its being failed; a past-due subscription becomes active again, as `resume`
/// would make it: its failed cycle is being paid. False when it was not failed any more.
pub(super) async fn rebill(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    loaded: &Loaded,
    now: Timestamp,
) -> Result<bool, sqlx::Error> {
    let next = loaded.attempt_no + 1;
    let (key, order_id) = fresh_intent(loaded.gateway, id, next);
    let done = sqlx::query(
        "UPDATE charges SET status = 'due', attempt_no = $2, idempotency_key = $3, \
           order_id = $4, request_body = NULL, sequence = NULL, next_attempt_at = $5, \
           failure_reason = NULL, settled_at = NULL, lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = $1 AND status = 'failed'",
    )
    .bind(id)
    .bind(next)
    .bind(key)
    .bind(&order_id)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if done == 0 {
        return Ok(false);
    }
    sqlx::query(
        "UPDATE subscriptions SET status = 'active', updated_at = $2 \
         WHERE id = (SELECT subscription_id FROM charges WHERE id = $1) AND status = 'past_due'",
    )
    .bind(id)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?;
    Ok(true)
}

impl Store {
    /// The subscription's failed charge of its latest cycle, if any.
    pub async fn last_failed_charge(&self, subscription: Uuid) -> Result<Option<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM charges WHERE subscription_id = $1 AND status = 'failed' \
             ORDER BY cycle DESC LIMIT 1",
        )
        .bind(subscription)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Retries a failed charge now as a new attempt, or says why not (a `Conflict` naming the
    /// reason). A past-due subscription becomes active again.
    pub async fn retry_failed_charge(
        &self,
        id: Uuid,
        budget: ReattemptBudget,
        now: Timestamp,
    ) -> Result<Charge, StoreError> {
        let mut tx = self.pool.begin().await?;
        let loaded = load_case(&mut tx, id, Some(budget), now)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "charge",
                id: id.to_string(),
            })?;
        decide_retry(&loaded.case).map_err(|r| StoreError::Conflict(format!("charge {id} {r}")))?;
        rebill(&mut tx, id, &loaded, now).await?;
        tx.commit().await?;
        self.charge(id).await
    }
}
