//! A new credential for an account: a suspended account re-initialized (its held subscriptions
//! resume), or an active one given a new card by the registration's tokenization (a card
//! update, `card_update`).

use jiff::Timestamp;
use uuid::Uuid;

use super::accounts::{Account, lock_account, record_event, same_gateway, store_card};
use super::events;
use super::outbox::{EventKind, enqueue};
use super::resume::resume_held;
use super::series::close_series;
use super::{Store, StoreError};
use crate::config::RefusedCycles;
use crate::domain::credential::CardOnFile;
use crate::domain::states::AccountState;

impl Store {
    /// Brings a suspended account back with a new credential (Payroc: a new secure token); on an
    /// active account, whose card details the registration tokenized, it is a card update.
    /// Every subscription's next charge opens a new series (`first`) on it, held subscriptions
    /// resume, and the refused cycles are charged again or skipped — all in one transaction,
    /// with the event kept in the account's history.
    pub async fn reinitialize_with(
        &self,
        id: Uuid,
        card: &CardOnFile,
        refused: RefusedCycles,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (gateway, state) = lock_account(&mut tx, id).await?;
        same_gateway(id, gateway, card)?;
        if state == AccountState::Active {
            // Card details given for an active account, tokenized by the registration's step:
            // a card update (`card_update`).
            super::card_update::by_registration(&mut tx, id, card, now).await?;
            tx.commit().await?;
            return self.account(id).await;
        }
        if state != AccountState::Suspended {
            return Err(StoreError::Conflict(format!(
                "payment account {id} is {state}; only a suspended account can be re-initialized"
            )));
        }
        store_card(&mut tx, id, card, now).await?;
        sqlx::query(
            "UPDATE payment_accounts SET state = 'active', suspended_at = NULL, \
             suspension_reason = NULL, registration_step = 'done', registration_request = NULL, \
             registration_lease_until = NULL, registration_unknown_since = NULL, \
             registration_error = NULL, registration_refused_cycles = NULL WHERE id = $1",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let series_closed = close_series(&mut tx, id, now).await?;
        let (resumed, refused_count) = resume_held(&mut tx, id, gateway, refused, now).await?;
        let mut detail = card.credential.history_detail();
        detail["series_closed"] = serde_json::json!(series_closed);
        detail["subscriptions_resumed"] = serde_json::json!(resumed);
        detail["refused_cycles"] = serde_json::json!(refused_count);
        detail["refused_cycles_policy"] = serde_json::json!(refused);
        record_event(&mut tx, id, "account.reactivated", &detail, now).await?;
        let data = events::reactivated(id, gateway, None, resumed, refused_count, refused);
        let hooks = self.webhook_endpoints();
        enqueue(&mut tx, hooks, EventKind::AccountReactivated, data, now).await?;
        tx.commit().await?;
        tracing::info!(event = "account.reactivated", account_id = %id, subscriptions_resumed = resumed,
            refused_cycles = refused_count, "payment account re-initialized");
        self.account(id).await
    }
}
