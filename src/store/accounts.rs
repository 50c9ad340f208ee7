//! Payment accounts: stored gateway credentials and their state. (A stored-credential series
//! belongs to a subscription, not to the account: see `series`.)

use crate::domain::states::{AccountState, GatewayKind};
use chrono::{DateTime, Utc};
use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use super::credential::{CREDENTIAL_COLUMNS, columns};
use super::{Store, StoreError, to_db};
pub use crate::config::RefusedCycles;
use crate::domain::credential::{CardOnFile, Credential};
use crate::domain::registration::RegistrationStep;
// Re-exported for callers that still name it here; the words are the gateway adapters'.
use super::events::{self, SuspendedBy};
use super::outbox::{EventKind, enqueue};
pub use crate::gateway::reinitialization_needed;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Account {
    pub id: Uuid,
    pub gateway: GatewayKind,
    pub state: AccountState,
    /// What the gateway holds for the card (its secret is shown only masked, never logged).
    #[sqlx(flatten)]
    pub credential: Credential,
    pub card_masked: Option<String>,
    pub card_expiry: Option<String>,
    pub suspended_at: Option<DateTime<Utc>>,
    pub suspension_reason: Option<String>,
    /// A (re-)initialization waiting for the customer: the gateway's payment and its link.
    pub init_payment_id: Option<String>,
    pub init_link: Option<String>,
    pub init_requested_at: Option<DateTime<Utc>>,
    /// Where the account's (re-)registration stands.
    #[sqlx(try_from = "String")]
    pub registration_step: RegistrationStep,
    /// Since when an owed step's outcome has been unknown, and what was seen.
    pub registration_unknown_since: Option<DateTime<Utc>>,
    pub registration_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Account {
    pub fn masked_secret(&self) -> Option<String> {
        self.credential.secret().map(mask_token)
    }
}

/// Keeps the last four characters, which is what support staff need to match a token.
pub fn mask_token(token: &str) -> String {
    let tail: String = token
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****{tail}")
}

pub(crate) const COLUMNS: &str = "id, gateway, state, payroc_terminal_id, payroc_secure_token_id, \
     payroc_token, card_masked, card_expiry, suspended_at, suspension_reason, certitrade_account_id, \
     init_payment_id, init_link, init_requested_at, registration_step, registration_unknown_since, \
     registration_error, created_at, updated_at";

/// Binds a card's credential columns (in `CREDENTIAL_COLUMNS` order), then its masked number
/// and expiry: the one place a card meets its columns' parameters.
macro_rules! bind_card {
    ($query:expr, $card:expr) => {{
        let cols = columns(&$card.credential);
        $query
            .bind(cols.terminal_id)
            .bind(cols.secure_token_id)
            .bind(cols.token)
            .bind(cols.payment_account)
            .bind(&$card.card_masked)
            .bind(&$card.card_expiry)
    }};
}

/// Stores a new credential on an account inside the caller's transaction (a re-initialization
/// or a card update); the masked number and expiry are kept when the new card gives none.
pub(super) async fn store_card(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    card: &CardOnFile,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    let query = sqlx::query(
        "UPDATE payment_accounts SET payroc_terminal_id = $2, payroc_secure_token_id = $3, \
         payroc_token = $4, certitrade_account_id = $5, card_masked = COALESCE($6, card_masked), \
         card_expiry = COALESCE($7, card_expiry), updated_at = $8 WHERE id = $1",
    );
    bind_card!(query.bind(id), card)
        .bind(to_db(now))
        .execute(tx)
        .await?;
    Ok(())
}

impl Store {
    /// An account registered with a credential its gateway already made: active at once.
    pub async fn insert_account(
        &self,
        card: &CardOnFile,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let sql = format!(
            "INSERT INTO payment_accounts (id, gateway, {CREDENTIAL_COLUMNS}, card_masked, \
             card_expiry, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING {COLUMNS}"
        );
        let query = sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql))
            .bind(Uuid::new_v4())
            .bind(card.credential.gateway());
        let account = bind_card!(query, card)
            .bind(to_db(now))
            .fetch_one(&self.pool)
            .await?;
        Ok(account)
    }

    pub async fn account(&self, id: Uuid) -> Result<Account, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payment_accounts WHERE id = $1");
        sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "payment account",
                id: id.to_string(),
            })
    }

    pub async fn accounts(&self, limit: i64) -> Result<Vec<Account>, StoreError> {
        let sql =
            format!("SELECT {COLUMNS} FROM payment_accounts ORDER BY created_at, id LIMIT $1");
        Ok(sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn account_events(&self, id: Uuid) -> Result<Vec<AccountEvent>, StoreError> {
        Ok(sqlx::query_as::<_, AccountEvent>(
            "SELECT kind, detail, occurred_at FROM account_events WHERE account_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?)
    }
}

#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct AccountEvent {
    pub kind: String,
    pub detail: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// Appends to an account's history inside the caller's transaction.
pub async fn record_event(
    tx: &mut sqlx::PgConnection,
    account_id: Uuid,
    kind: &str,
    detail: &serde_json::Value,
    now: Timestamp,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO account_events (account_id, kind, detail, occurred_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(account_id)
    .bind(kind)
    .bind(detail)
    .bind(to_db(now))
    .execute(tx)
    .await?;
    Ok(())
}

/// Suspends an account and holds everything on it, inside the caller's transaction: the
/// account, its subscriptions, and its charges with nothing outstanding at the gateway (no
/// request written under their current key). A charge whose request may have been processed
/// keeps its key and stays due: billing completes it under that key (a resend or a lookup
/// settles what the gateway did) — never re-sent under a new key. Returns how many
/// subscriptions were held.
pub async fn hold_account(
    tx: &mut sqlx::PgConnection,
    account_id: Uuid,
    reason: &str,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let db_now = to_db(now);
    sqlx::query(
        "UPDATE payment_accounts SET state = 'suspended', suspended_at = $2, suspension_reason = $3, \
         updated_at = $2 WHERE id = $1 AND state = 'active'",
    )
    .bind(account_id)
    .bind(db_now)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    // A lease on an unsent charge goes with it: its holder's write-down (`start_sends`, fenced
    // on the status) then leaves it out, and nothing is sent.
    sqlx::query(
        "UPDATE charges SET status = 'held', lease_owner = NULL, lease_expires_at = NULL \
         WHERE account_id = $1 AND status = 'due' AND request_body IS NULL",
    )
    .bind(account_id)
    .execute(&mut *tx)
    .await?;
    Ok(sqlx::query(
        "UPDATE subscriptions SET status = 'held', updated_at = $2 \
         WHERE account_id = $1 AND status IN ('active', 'past_due')",
    )
    .bind(account_id)
    .bind(db_now)
    .execute(&mut *tx)
    .await?
    .rows_affected())
}

impl Store {
    /// Suspends an active account on the merchant's request (fraud review, customer request …).
    pub async fn suspend_account(
        &self,
        id: Uuid,
        reason: &str,
        now: Timestamp,
    ) -> Result<Account, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (gateway, state) = lock_account(&mut tx, id).await?;
        if state != AccountState::Active {
            return Err(StoreError::Conflict(format!(
                "payment account {id} is {state}; only an active account can be suspended"
            )));
        }
        let reason = format!("suspended by the merchant: {reason}");
        let held = hold_account(&mut tx, id, &reason, now).await?;
        let detail = serde_json::json!({
            "reason": reason,
            "subscriptions_held": held,
            "reinitialization": reinitialization_needed(gateway),
        });
        record_event(&mut tx, id, "account.suspended", &detail, now).await?;
        let data =
            events::account_suspended(id, gateway, SuspendedBy::Merchant, &reason, held, None);
        let hooks = self.webhook_endpoints();
        enqueue(&mut tx, hooks, EventKind::AccountSuspended, data, now).await?;
        tx.commit().await?;
        tracing::warn!(event = "account.suspended", account_id = %id, reason = %reason,
            "payment account suspended by the merchant");
        self.account(id).await
    }
}

/// A credential of another gateway cannot be stored on an account.
pub(super) fn same_gateway(
    id: Uuid,
    gateway: GatewayKind,
    card: &CardOnFile,
) -> Result<(), StoreError> {
    let given = card.credential.gateway();
    if gateway == given {
        return Ok(());
    }
    Err(StoreError::Invalid(format!(
        "payment account {id} is a {gateway} account; a {given} credential cannot be stored on it"
    )))
}

/// Locks an account row for a state change; returns its gateway and state.
///
/// `FOR NO KEY UPDATE`, not `FOR UPDATE`: a billing run inserting charges takes `FOR KEY SHARE`
/// on the account (the foreign key) while it holds its subscriptions, and the state change then
/// updates those subscriptions. With `FOR UPDATE` the two wait for each other (a deadlock,
/// which failed the request with a 500); the key is never changed here.
pub(super) async fn lock_account(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
) -> Result<(GatewayKind, AccountState), StoreError> {
    let row: Option<(GatewayKind, AccountState)> = sqlx::query_as(
        "SELECT gateway, state FROM payment_accounts WHERE id = $1 FOR NO KEY UPDATE",
    )
    .bind(id)
    .fetch_optional(tx)
    .await?;
    row.ok_or_else(|| StoreError::NotFound {
        what: "payment account",
        id: id.to_string(),
    })
}
