//! Accounts the customer must (re-)initialize: a new CertiTrade account before its first charge,
//! a suspended one after the gateway terminated it. The gateway's initializing payment and the
//! link to give the customer are kept on the account until the customer completes it — known
//! from the gateway's callback, or from polling when no callback comes.

use crate::domain::states::AccountState;
use crate::domain::states::GatewayKind;
use jiff::Timestamp;
use uuid::Uuid;

use super::accounts::{Account, record_event};
use super::card_update::card_updated_by_initialization;
use super::events;
use super::outbox::{EventKind, enqueue};
use super::resume::resume_held;
use super::series::close_series;
use super::{Store, StoreError, to_db};
use crate::config::RefusedCycles;

/// An initialization waiting for the customer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PendingInitialization {
    pub account_id: Uuid,
    pub gateway: GatewayKind,
    pub init_payment_id: String,
}

impl Store {
    /// Records the initializing payment the customer must complete, and announces it.
    pub async fn request_initialization(
        &self,
        id: Uuid,
        payment_id: &str,
        link: &str,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let mut tx = self.pool().begin().await?;
        let state: Option<(AccountState, GatewayKind)> = sqlx::query_as(
            "SELECT state, gateway FROM payment_accounts WHERE id = $1 FOR NO KEY UPDATE",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (state, gateway) = state.ok_or_else(|| StoreError::NotFound {
            what: "payment account",
            id: id.to_string(),
        })?;
        // An active account's re-initialization is a card update (`card_update`).
        if state == AccountState::Closed {
            return Err(StoreError::Conflict(format!(
                "payment account {id} is {state}; only a new, active or suspended account is \
                 (re-)initialized"
            )));
        }
        sqlx::query(
            "UPDATE payment_accounts SET init_payment_id = $2, init_link = $3, init_requested_at = $4, \
             registration_step = 'customer', registration_request = NULL, \
             registration_lease_until = NULL, registration_unknown_since = NULL, \
             registration_error = NULL, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(payment_id)
        .bind(link)
        .bind(to_db(now))
        .execute(&mut *tx)
        .await?;
        let kind = match state {
            AccountState::Suspended => "account.reinitialization_requested",
            AccountState::Active => "account.card_update_requested",
            _ => "account.initialization_requested",
        };
        record_event(
            &mut tx,
            id,
            kind,
            &serde_json::json!({"link": link, "payment_id": payment_id}),
            now,
        )
        .await?;
        if state == AccountState::Suspended {
            let kind = EventKind::AccountReinitializationRequested;
            let data =
                events::reinitialization_requested(id, gateway, Some(link), Some(payment_id));
            enqueue(&mut tx, self.webhook_endpoints(), kind, data, now).await?;
        }
        tx.commit().await?;
        tracing::info!(event = kind, account_id = %id, payment_id, "customer asked to (re-)initialize the account");
        self.account(id).await
    }

    /// Initializations requested before `cutoff` with no answer yet: poll their payments.
    pub async fn pending_initializations(
        &self,
        cutoff: Timestamp,
    ) -> Result<Vec<PendingInitialization>, StoreError> {
        Ok(sqlx::query_as::<_, PendingInitialization>(
            "SELECT id AS account_id, gateway, init_payment_id FROM payment_accounts \
             WHERE init_payment_id IS NOT NULL AND init_requested_at <= $1 ORDER BY init_requested_at LIMIT 100",
        )
        .bind(to_db(cutoff))
        .fetch_all(self.pool())
        .await?)
    }

    /// The customer completed the initializing payment: the account is active; a suspended one
    /// resumes its held subscriptions and its refused cycles are charged once more or skipped.
    /// Returns None when no account waits for this payment (a repeated callback, say).
    pub async fn complete_initialization(
        &self,
        payment_id: &str,
        card_masked: Option<&str>,
        refused: RefusedCycles,
        now: Timestamp,
    ) -> Result<Option<Account>, StoreError> {
        let mut tx = self.pool().begin().await?;
        let row: Option<(Uuid, AccountState, GatewayKind)> = sqlx::query_as(
            "SELECT id, state, gateway FROM payment_accounts WHERE init_payment_id = $1 \
             FOR NO KEY UPDATE",
        )
        .bind(payment_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, state, gateway)) = row else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE payment_accounts SET state = 'active', init_payment_id = NULL, init_link = NULL, \
             init_requested_at = NULL, registration_step = 'done', card_masked = COALESCE($2, card_masked), \
             suspended_at = NULL, suspension_reason = NULL, updated_at = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(card_masked)
        .bind(to_db(now))
        .execute(&mut *tx)
        .await?;
        // A new initialization is a new credential: every subscription opens a new series.
        let series_closed = close_series(&mut tx, id, now).await?;
        let (kind, detail) = if state == AccountState::Suspended {
            let (resumed, refused_count) = resume_held(&mut tx, id, gateway, refused, now).await?;
            let data = events::reactivated(
                id,
                gateway,
                Some(payment_id),
                resumed,
                refused_count,
                refused,
            );
            let hooks = self.webhook_endpoints();
            enqueue(&mut tx, hooks, EventKind::AccountReactivated, data, now).await?;
            (
                "account.reactivated",
                serde_json::json!({"payment_id": payment_id, "series_closed": series_closed,
                "subscriptions_resumed": resumed, "refused_cycles": refused_count, "refused_cycles_policy": refused}),
            )
        } else if state == AccountState::Active {
            // A card update: the failed cycles are billed once more on the new card, or left.
            card_updated_by_initialization(&mut tx, id, (payment_id, series_closed), now).await?
        } else {
            (
                "account.initialized",
                serde_json::json!({"payment_id": payment_id}),
            )
        };
        record_event(&mut tx, id, kind, &detail, now).await?;
        tx.commit().await?;
        tracing::info!(event = kind, account_id = %id, payment_id, "customer completed the initializing payment");
        self.account(id).await.map(Some)
    }

    /// The customer's initializing payment failed: the account stays as it was, the link is
    /// dropped (a new one can be requested), and the history says why.
    pub async fn fail_initialization(
        &self,
        payment_id: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let row: Option<(Uuid,)> = sqlx::query_as(
            "UPDATE payment_accounts SET init_payment_id = NULL, init_link = NULL, init_requested_at = NULL, \
             registration_step = 'failed', updated_at = $2 WHERE init_payment_id = $1 RETURNING id",
        )
        .bind(payment_id)
        .bind(to_db(now))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((id,)) = row {
            record_event(
                &mut tx,
                id,
                "account.initialization_failed",
                &serde_json::json!({"payment_id": payment_id, "reason": reason}),
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Appends an event to an account's history; a re-initialization request (Payroc, after a
    /// suspension: no link, the merchant collects new card details) is also a webhook event.
    pub async fn note_account_event(
        &self,
        id: Uuid,
        kind: &str,
        detail: &serde_json::Value,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        record_event(&mut tx, id, kind, detail, now).await?;
        if kind == EventKind::AccountReinitializationRequested.as_str() {
            let gateway: (GatewayKind,) =
                sqlx::query_as("SELECT gateway FROM payment_accounts WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
            let gateway = gateway.0;
            let link = detail.get("link").and_then(|l| l.as_str());
            let payment_id = detail.get("payment_id").and_then(|p| p.as_str());
            let kind = EventKind::AccountReinitializationRequested;
            let data = events::reinitialization_requested(id, gateway, link, payment_id);
            enqueue(&mut tx, self.webhook_endpoints(), kind, data, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Moves an unanswered initialization's next poll later (it is still in the customer's hands).
    pub async fn postpone_initialization_poll(
        &self,
        payment_id: &str,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE payment_accounts SET init_requested_at = $2 WHERE init_payment_id = $1",
        )
        .bind(payment_id)
        .bind(to_db(until))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
