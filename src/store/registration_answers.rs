//! What a registration step's answer does to the account: done moves it to the next step (or
//! makes it active), unknown keeps the step owed with its request, refused ends the attempt.
//! Each change is fenced on the step it expects.

use jiff::Timestamp;
use uuid::Uuid;

use super::accounts::record_event;
use super::credential::columns;
use super::{Store, StoreError, to_db};
use crate::domain::credential::{CardOnFile, Credential};
use crate::domain::registration::RegistrationStep;

/// What a refused step did to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Refused at its first step, the account had nothing at the gateway and nothing on it
    /// here: it is gone.
    Removed,
    /// Refused at its first step after the merchant learnt of it (a 202, subscriptions on
    /// it): closed, its history saying why.
    Closed,
    /// The account keeps its gateway account and waits for the merchant to ask again.
    Failed,
}

impl Store {
    /// The step's outcome is unknown: it stays owed, its request stored, for the next claim to
    /// settle. The first time, the account's history says so.
    pub async fn step_unknown(
        &self,
        id: Uuid,
        step: RegistrationStep,
        error: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let first: Option<(bool,)> = sqlx::query_as(
            "SELECT registration_unknown_since IS NULL FROM payment_accounts \
             WHERE id = $1 AND registration_step = $2 FOR NO KEY UPDATE",
        )
        .bind(id)
        .bind(step.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE payment_accounts SET registration_error = $3, registration_lease_until = NULL, \
             registration_unknown_since = COALESCE(registration_unknown_since, $4), updated_at = $4 \
             WHERE id = $1 AND registration_step = $2",
        )
        .bind(id)
        .bind(step.as_str())
        .bind(error)
        .bind(to_db(now))
        .execute(&mut *tx)
        .await?;
        if let Some((true,)) = first {
            let detail = serde_json::json!({"step": step.as_str(), "error": error});
            record_event(
                &mut tx,
                id,
                "account.registration_step_unknown",
                &detail,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        tracing::warn!(account_id = %id, step = step.as_str(), error, "registration step outcome unknown; it is settled later");
        Ok(())
    }

    /// The gateway made the account's credential at its first step (CertiTrade: the
    /// payment_account): the initializing payment is next.
    pub async fn gateway_account_made(
        &self,
        id: Uuid,
        credential: &Credential,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let cols = columns(credential);
        sqlx::query(
            "UPDATE payment_accounts SET certitrade_account_id = $2, \
             registration_step = 'initializing_payment', registration_request = NULL, \
             registration_unknown_since = NULL, registration_error = NULL, updated_at = $3 \
             WHERE id = $1 AND registration_step = 'gateway_account'",
        )
        .bind(id)
        .bind(cols.payment_account)
        .bind(to_db(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The gateway made the credential of a new account (Payroc: the secure token): it is
    /// active. The history says so when it was settled after an unknown answer.
    pub async fn secure_token_made(
        &self,
        id: Uuid,
        card: &CardOnFile,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let cols = columns(&card.credential);
        let settled_late: Option<(bool,)> = sqlx::query_as(
            "UPDATE payment_accounts p SET state = 'active', payroc_terminal_id = $2, \
             payroc_secure_token_id = $3, payroc_token = $4, card_masked = $5, card_expiry = $6, \
             registration_step = 'done', registration_request = NULL, registration_lease_until = NULL, \
             registration_unknown_since = NULL, registration_error = NULL, updated_at = $7 \
             FROM (SELECT registration_unknown_since IS NOT NULL AS late FROM payment_accounts \
                   WHERE id = $1) old \
             WHERE p.id = $1 AND p.registration_step = 'secure_token' AND p.state = 'initializing' \
             RETURNING old.late",
        )
        .bind(id)
        .bind(cols.terminal_id)
        .bind(cols.secure_token_id)
        .bind(cols.token)
        .bind(&card.card_masked)
        .bind(&card.card_expiry)
        .bind(to_db(now))
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((true,)) = settled_late {
            let mut detail = card.credential.history_detail();
            detail["settled"] =
                "the secure token's answer was lost; it was found or replayed".into();
            record_event(&mut tx, id, "account.registered", &detail, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The gateway refused `step`. At a first step of a new account nothing exists at the
    /// gateway: the account goes (or is closed, if the merchant already knows of it).
    /// Later, the account keeps what the gateway made and waits for the merchant.
    pub async fn step_refused(
        &self,
        id: Uuid,
        step: RegistrationStep,
        reason: &str,
        now: Timestamp,
    ) -> Result<Refusal, StoreError> {
        let mut tx = self.pool().begin().await?;
        // An account whose id was given out (a step answered 202) is closed, not removed.
        let row: Option<(bool, bool)> = sqlx::query_as(
            "SELECT state = 'initializing', \
             registration_unknown_since IS NOT NULL \
             OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = p.id) \
             FROM payment_accounts p WHERE id = $1 AND registration_step = $2 FOR NO KEY UPDATE",
        )
        .bind(id)
        .bind(step.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some((initializing, known_to_the_merchant)) = row else {
            return Ok(Refusal::Failed);
        };
        let new_account = initializing && step.is_first();
        let refusal = match (new_account, known_to_the_merchant) {
            (true, false) => Refusal::Removed,
            (true, true) => Refusal::Closed,
            (false, _) => Refusal::Failed,
        };
        if refusal == Refusal::Removed {
            sqlx::query("DELETE FROM account_events WHERE account_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM payment_accounts WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        } else {
            let closed = refusal == Refusal::Closed;
            sqlx::query(
                "UPDATE payment_accounts SET registration_step = 'failed', registration_request = NULL, \
                 registration_lease_until = NULL, registration_unknown_since = NULL, \
                 registration_error = $2, updated_at = $3, \
                 state = CASE WHEN $4 THEN 'closed' ELSE state END, \
                 registration_key = CASE WHEN $4 THEN NULL ELSE registration_key END \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(reason)
            .bind(to_db(now))
            .bind(closed)
            .execute(&mut *tx)
            .await?;
            let kind = if closed {
                "account.registration_failed"
            } else {
                "account.initialization_failed"
            };
            let detail = serde_json::json!({"step": step.as_str(), "reason": reason});
            record_event(&mut tx, id, kind, &detail, now).await?;
        }
        tx.commit().await?;
        tracing::warn!(account_id = %id, step = step.as_str(), reason, ?refusal, "registration step refused by the gateway");
        Ok(refusal)
    }
}
