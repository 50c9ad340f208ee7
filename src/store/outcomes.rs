//! Recording what a gateway answered, and what that does to the charge, the subscription and
//! the account — in one transaction, fenced by the lease so a daemon that lost its claim
//! cannot overwrite the work of the one that took it over.

use jiff::Timestamp;
use uuid::Uuid;

use super::accounts::{hold_account, record_event, reinitialization_needed};
use super::attempts::{CARD_REATTEMPTS_SQL, finish_attempt};
use super::claims::{ClaimedCharge, lease_fence};
use super::events::{self, SuspendedBy};
use super::outbox::{EventKind, enqueue};
use super::{Store, StoreError, to_db};
use crate::domain::dunning::Decline;
use crate::domain::outcome::Outcome;
use crate::domain::states::AccountState;
use crate::domain::transition::{self, ChargeFacts, FailReason, Suspension, Transition};
use crate::gateway::GatewayAnswer;
use crate::gateway::fresh_intent;

pub use crate::domain::transition::RetryPolicy;

/// What recording an answer did, for the run summary and the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Approved,
    RetryScheduled,
    Failed,
    Suspended,
    StillOpen,
    /// The card account is terminated, and the account was already suspended (by the
    /// merchant, or by an earlier answer) while this request was out: the charge is held.
    Held,
    /// Another daemon holds the charge now; it will record its own answer.
    LeaseLost,
}

impl Store {
    /// Stores the final answer of this claim and moves the charge on.
    pub async fn record_outcome(
        &self,
        worker: Uuid,
        charge: &ClaimedCharge,
        attempt_id: i64,
        answer: &GatewayAnswer,
        policy: &RetryPolicy,
        now: Timestamp,
    ) -> Result<Recorded, StoreError> {
        let mut tx = self.pool().begin().await?;
        finish_attempt(&mut *tx, attempt_id, answer, now).await?;
        let hooks = self.webhook_endpoints();
        let recorded = record_claimed(&mut tx, hooks, worker, charge, answer, policy, now).await?;
        tx.commit().await?;
        Ok(recorded)
    }
}

/// The charge, locked, if this claim still holds it ($1 charge, $2 worker, $3 attempt number,
/// $4 lease token) and it is still due.
const STILL_HELD_SQL: &str = concat!(
    "SELECT id FROM charges WHERE ",
    lease_fence!(row: "", id: "$1", owner: "$2", attempt: "$3", token: "$4"),
    " FOR UPDATE"
);

/// What an answer does to a claimed charge, inside the caller's transaction (the attempt row
/// is the caller's). Fenced by the claim's lease token and attempt number: a daemon that lost
/// its claim (the charge was claimed again since — by another daemon or by itself — maybe for
/// a newer attempt with a new key) records nothing. An expired lease nobody took over still
/// counts: the answer is this attempt's.
pub(super) async fn record_claimed(
    tx: &mut Tx<'_>,
    hooks: &[String],
    worker: Uuid,
    charge: &ClaimedCharge,
    answer: &GatewayAnswer,
    policy: &RetryPolicy,
    now: Timestamp,
) -> Result<Recorded, sqlx::Error> {
    let owned: Option<(Uuid,)> = sqlx::query_as(STILL_HELD_SQL)
        .bind(charge.id)
        .bind(worker)
        .bind(charge.attempt_no)
        .bind(charge.lease_token)
        .fetch_optional(&mut **tx)
        .await?;
    if owned.is_none() {
        return Ok(Recorded::LeaseLost);
    }
    let transition = if answer.outcome == Outcome::DeclinedSoft {
        // The dunning rules read the card's reattempts in the networks' window.
        let since = now.checked_sub(policy.dunning.window).unwrap_or(now);
        let used: i64 = sqlx::query_scalar(CARD_REATTEMPTS_SQL)
            .bind(charge.account_id)
            .bind(to_db(since))
            .fetch_one(&mut **tx)
            .await?;
        let decline = Decline {
            code: answer.processor_response_code.as_deref(),
            // Neither gateway passes a Mastercard advice code on (docs/dunning.md).
            advice: None,
        };
        transition::after_soft_decline(facts(charge), decline, used as u32, policy, now)
    } else {
        transition::decide(
            facts(charge),
            answer.outcome,
            answer.payment_id.is_some(),
            policy,
            now,
        )
    };
    // Webhook events are written in this transaction: announced if and only if recorded.
    Ok(match transition {
        Transition::Approve {
            opens_series,
            completes_subscription,
        } => {
            approve(tx, hooks, charge, answer, opens_series, now).await?;
            if completes_subscription {
                complete_subscription(tx, hooks, charge, now).await?;
            }
            Recorded::Approved
        }
        Transition::RetryLater { attempt_no, at } => {
            retry_later(tx, hooks, charge, answer, attempt_no, at, now).await?
        }
        Transition::Fail { reason } => fail(tx, hooks, charge, answer, reason, now).await?,
        Transition::Suspend => suspend(tx, hooks, charge, answer, now).await?,
        Transition::KeepOpen { at } => keep_open(tx, charge, answer, at).await?,
    })
}

/// What the transition rules need to know of a claimed charge.
pub(super) fn facts(c: &ClaimedCharge) -> ChargeFacts {
    ChargeFacts {
        attempt_no: c.attempt_no,
        sent_as: c.sent_as(),
        is_last: c.is_last,
    }
}

pub(super) type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

async fn approve(
    tx: &mut Tx<'_>,
    hooks: &[String],
    c: &ClaimedCharge,
    a: &GatewayAnswer,
    opens_series: bool,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE charges SET status = 'approved', last_outcome = 'approved', settled_at = $2, \
         gateway_payment_id = $3, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
    )
    .bind(c.id)
    .bind(to_db(now))
    .bind(&a.payment_id)
    .execute(&mut **tx)
    .await?;
    if opens_series {
        open_series(tx, c, a, now).await?;
    }
    let data = events::charge(c, a, None);
    enqueue(tx, hooks, EventKind::ChargeApproved, data, now).await?;
    Ok(())
}

/// The last installment was approved: the subscription is completed, unless the merchant
/// moved it out of `active` meanwhile.
async fn complete_subscription(
    tx: &mut Tx<'_>,
    hooks: &[String],
    c: &ClaimedCharge,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let completed = sqlx::query(
        "UPDATE subscriptions SET status = 'completed', updated_at = $2 \
         WHERE id = $1 AND status = 'active'",
    )
    .bind(c.subscription_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if completed > 0 {
        let data = events::subscription(c, None);
        enqueue(tx, hooks, EventKind::SubscriptionCompleted, data, now).await?;
        tracing::info!(event = "subscription.completed", subscription_id = %c.subscription_id,
            cycle = c.cycle, "last installment approved; subscription completed");
    }
    Ok(())
}

/// The first approved payment of a series is what every later payment of the subscription
/// refers to; the scheme reference cannot be recovered later, so it is stored with the
/// approval. Not when the series was closed after this payment went out (the credential was
/// re-initialized meanwhile): a payment on the old credential opens no series on the new one.
async fn open_series(
    tx: &mut Tx<'_>,
    c: &ClaimedCharge,
    a: &GatewayAnswer,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE subscriptions s SET series_payment_id = $2, series_scheme_reference = $3, \
           series_processing_model = $4, updated_at = $5 \
         WHERE s.id = $1 AND s.series_payment_id IS NULL AND (s.series_closed_at IS NULL \
           OR s.series_closed_at <= (SELECT min(t.sent_at) FROM charge_attempts t \
                                      WHERE t.charge_id = $6 AND t.attempt_no = $7))",
    )
    .bind(c.subscription_id)
    .bind(&a.payment_id)
    .bind(&a.scheme_reference)
    .bind(&c.processing_model)
    .bind(to_db(now))
    .bind(c.id)
    .bind(c.attempt_no)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A soft decline: a new attempt later, with a new key and a new orderId (a retry after a
/// decline is a new sale, not a resend).
async fn retry_later(
    tx: &mut Tx<'_>,
    hooks: &[String],
    c: &ClaimedCharge,
    a: &GatewayAnswer,
    next_no: i32,
    at: Timestamp,
    now: Timestamp,
) -> Result<Recorded, sqlx::Error> {
    let next_at = to_db(at);
    let (key, order_id) = fresh_intent(c.gateway, c.id, next_no);
    sqlx::query(
        "UPDATE charges SET attempt_no = $2, idempotency_key = $3, order_id = $4, \
         request_body = NULL, sequence = NULL, next_attempt_at = $5, last_outcome = 'declined_soft', \
         lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
    )
    .bind(c.id)
    .bind(next_no)
    .bind(key)
    .bind(order_id)
    .bind(next_at)
    .execute(&mut **tx)
    .await?;
    let mut data = events::charge(c, a, Some(&describe("soft decline", a)));
    data["next_attempt_at"] = serde_json::json!(next_at);
    enqueue(tx, hooks, EventKind::ChargeDeclined, data, now).await?;
    Ok(Recorded::RetryScheduled)
}

async fn fail(
    tx: &mut Tx<'_>,
    hooks: &[String],
    c: &ClaimedCharge,
    a: &GatewayAnswer,
    why: FailReason,
    now: Timestamp,
) -> Result<Recorded, sqlx::Error> {
    let reason = describe(why.as_str(), a);
    sqlx::query(
        "UPDATE charges SET status = 'failed', last_outcome = $2, failure_reason = $3, \
         settled_at = $4, gateway_payment_id = $5, lease_owner = NULL, lease_expires_at = NULL \
         WHERE id = $1",
    )
    .bind(c.id)
    .bind(a.outcome.as_str())
    .bind(&reason)
    .bind(to_db(now))
    .bind(&a.payment_id)
    .execute(&mut **tx)
    .await?;
    let moved = sqlx::query(
        "UPDATE subscriptions SET status = 'past_due', updated_at = $2 WHERE id = $1 AND status = 'active'",
    )
    .bind(c.subscription_id)
    .bind(to_db(now))
    .execute(&mut **tx)
    .await?
    .rows_affected();
    let data = events::charge(c, a, Some(&reason));
    enqueue(tx, hooks, EventKind::ChargeFailed, data, now).await?;
    if moved > 0 {
        let data = events::subscription(c, Some(&reason));
        enqueue(tx, hooks, EventKind::SubscriptionPastDue, data, now).await?;
        tracing::warn!(event = "subscription.past_due", subscription_id = %c.subscription_id,
            cycle = c.cycle, reason = %reason, "charge failed; subscription past due");
    }
    Ok(Recorded::Failed)
}

/// The card account is gone: suspend the account, hold every subscription on it and every
/// open charge (no more charges, no retries), and note what re-initialization needs.
async fn suspend(
    tx: &mut Tx<'_>,
    hooks: &[String],
    c: &ClaimedCharge,
    a: &GatewayAnswer,
    now: Timestamp,
) -> Result<Recorded, sqlx::Error> {
    let reason = describe("account terminated", a);
    sqlx::query(
        "UPDATE charges SET status = 'held', last_outcome = 'account_terminated', \
         gateway_payment_id = $2, lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
    )
    .bind(c.id)
    .bind(&a.payment_id)
    .execute(&mut **tx)
    .await?;
    // A request written down before the account was suspended is still completed; its answer
    // holds the charge with the others, without announcing the suspension a second time.
    let state: AccountState =
        sqlx::query_scalar("SELECT state FROM payment_accounts WHERE id = $1 FOR NO KEY UPDATE")
            .bind(c.account_id)
            .fetch_one(&mut **tx)
            .await?;
    if transition::on_account_terminated(state) == Suspension::HoldChargeOnly {
        return Ok(Recorded::Held);
    }
    let held = hold_account(tx, c.account_id, &reason, now).await?;
    let needed = reinitialization_needed(c.gateway);
    let detail = serde_json::json!({
        "reason": reason,
        "charge_id": c.id,
        "cycle": c.cycle,
        "processor_response_code": a.processor_response_code,
        "subscriptions_held": held,
        "reinitialization": needed,
    });
    record_event(tx, c.account_id, "account.suspended", &detail, now).await?;
    let data = events::account_suspended(
        c.account_id,
        c.gateway,
        SuspendedBy::Gateway,
        &reason,
        held,
        Some((c, a)),
    );
    enqueue(tx, hooks, EventKind::AccountSuspended, data, now).await?;
    tracing::warn!(event = "account.suspended", account_id = %c.account_id, charge_id = %c.id,
        reason = %reason, subscriptions_held = held, reinitialization = needed,
        "gateway reports the card account terminated; account suspended");
    Ok(Recorded::Suspended)
}

async fn keep_open(
    tx: &mut Tx<'_>,
    c: &ClaimedCharge,
    a: &GatewayAnswer,
    at: Timestamp,
) -> Result<Recorded, sqlx::Error> {
    sqlx::query(
        "UPDATE charges SET last_outcome = $2, next_attempt_at = $3, \
         gateway_payment_id = COALESCE($4, gateway_payment_id), \
         lease_owner = NULL, lease_expires_at = NULL WHERE id = $1",
    )
    .bind(c.id)
    .bind(a.outcome.as_str())
    .bind(to_db(at))
    .bind(&a.payment_id)
    .execute(&mut **tx)
    .await?;
    Ok(Recorded::StillOpen)
}

/// The stored reason: the rule's words and what the gateway said.
fn describe(why: &str, a: &GatewayAnswer) -> String {
    transition::reason_text(
        why,
        a.processor_response_code.as_deref(),
        a.response_message.as_deref(),
        a.error.as_deref(),
    )
}
