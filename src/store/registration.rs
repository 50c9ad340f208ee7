//! The registration step an account is on, and the request a step owes a gateway: written
//! before the request goes out, claimed under a lease by whoever sends it (an API call or a
//! billing run), and moved on by the answer. Every change is fenced on the step it expects, so
//! a late writer cannot undo a step someone else completed.

use jiff::Timestamp;
use uuid::Uuid;

use super::accounts::{Account, COLUMNS};
use super::credential::{CREDENTIAL_COLUMNS, columns};
use super::{Store, StoreError, to_db};
use crate::config::RefusedCycles;
use crate::domain::credential::Credential;
use crate::domain::registration::{RegistrationStep, reinitialization_start};

/// The pending steps as SQL text, for `= ANY($n)`.
fn pending_steps() -> Vec<&'static str> {
    RegistrationStep::PENDING
        .iter()
        .map(|s| s.as_str())
        .collect()
}

/// An account whose owed step the caller now works on, with the step's stored request (none
/// yet: the caller makes one and stores it before sending it).
#[derive(Debug, Clone)]
pub struct ClaimedStep {
    pub account: Account,
    pub request: Option<String>,
    /// A Payroc re-initialization: what to do with the refused cycles once the token is made.
    pub refused_cycles: Option<RefusedCycles>,
}

/// A new account whose registration starts with a gateway call.
pub struct NewRegistration<'a> {
    pub id: Uuid,
    /// The credential as far as it is known before the first step (its gateway; for Payroc,
    /// the terminal).
    pub credential: Credential,
    pub step: RegistrationStep,
    /// The merchant's Idempotency-Key, if the API call carried one.
    pub key: Option<&'a str>,
    pub request: Option<&'a str>,
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    #[sqlx(flatten)]
    account: Account,
    registration_request: Option<String>,
    registration_refused_cycles: Option<String>,
}

impl From<ClaimRow> for ClaimedStep {
    fn from(r: ClaimRow) -> Self {
        ClaimedStep {
            account: r.account,
            request: r.registration_request,
            refused_cycles: r.registration_refused_cycles.map(|t| match t.as_str() {
                "skip" => RefusedCycles::Skip,
                _ => RefusedCycles::Charge,
            }),
        }
    }
}

fn refused_text(r: RefusedCycles) -> &'static str {
    match r {
        RefusedCycles::Charge => "charge",
        RefusedCycles::Skip => "skip",
    }
}

impl Store {
    /// Inserts an account at its first step, claimed by the caller until `lease_until`. With a
    /// key already used by another registration, that account is returned instead, unclaimed
    /// (`None`): the caller continues it through `claim_registration_step`.
    pub async fn insert_registering(
        &self,
        new: &NewRegistration<'_>,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        let sql = format!(
            "INSERT INTO payment_accounts (id, gateway, state, {CREDENTIAL_COLUMNS}, \
             registration_step, registration_key, registration_request, registration_lease_until, \
             created_at, updated_at) \
             VALUES ($1, $2, 'initializing', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (registration_key) WHERE registration_key IS NOT NULL DO NOTHING \
             RETURNING {COLUMNS}"
        );
        let cols = columns(&new.credential);
        let inserted = sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql))
            .bind(new.id)
            .bind(new.credential.gateway())
            .bind(cols.terminal_id)
            .bind(cols.secure_token_id)
            .bind(cols.token)
            .bind(cols.payment_account)
            .bind(new.step.as_str())
            .bind(new.key)
            .bind(new.request)
            .bind(to_db(lease_until))
            .bind(to_db(now))
            .fetch_optional(self.pool())
            .await?;
        Ok(inserted.map(|account| ClaimedStep {
            account,
            request: new.request.map(str::to_owned),
            refused_cycles: None,
        }))
    }

    /// The account a registration with this Idempotency-Key created, if any.
    pub async fn account_by_registration_key(
        &self,
        key: &str,
    ) -> Result<Option<Account>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM payment_accounts WHERE registration_key = $1");
        Ok(sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Claims an account's owed step until `lease_until`; `None` when no step is owed or
    /// someone else holds it.
    pub async fn claim_registration_step(
        &self,
        id: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        let sql = format!(
            "UPDATE payment_accounts SET registration_lease_until = $3 WHERE id = $1 \
             AND registration_step = ANY($4) \
             AND (registration_lease_until IS NULL OR registration_lease_until <= $2) \
             RETURNING {COLUMNS}, registration_request, registration_refused_cycles"
        );
        let row = sqlx::query_as::<_, ClaimRow>(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(to_db(now))
            .bind(to_db(lease_until))
            .bind(pending_steps())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(ClaimedStep::from))
    }

    /// A merchant (or a suspension) asks for a new initializing payment: an owed step is
    /// continued as it is, anything else starts a new initializing payment. Claimed until
    /// `lease_until`; `None` when someone else is working on the owed step.
    pub async fn begin_reinitialization(
        &self,
        id: Uuid,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        let current = self.account(id).await?.registration_step;
        let start = reinitialization_start(current);
        if start != current {
            // Fenced on the step read above: a concurrent change makes this a no-op, and the
            // claim below then sees what that change left.
            sqlx::query(
                "UPDATE payment_accounts SET registration_step = $3, registration_request = NULL, \
                 registration_unknown_since = NULL, registration_error = NULL, updated_at = $4 \
                 WHERE id = $1 AND registration_step = $2",
            )
            .bind(id)
            .bind(current.as_str())
            .bind(start.as_str())
            .bind(to_db(now))
            .execute(self.pool())
            .await?;
        }
        self.claim_registration_step(id, now, lease_until).await
    }

    /// A re-initialization whose first step carries what the merchant gave (Payroc: card
    /// details for a secure token): `step` and its request are stored (with `key`, the call's
    /// Idempotency-Key, and the refused-cycles choice) and claimed until `lease_until`. That
    /// step already owed is continued only by a repeat of the call that started it (the same
    /// key, so the same card): any other call is a conflict, since a different card could not
    /// be sent under that step's key. `None`: someone else is working on it.
    #[allow(clippy::too_many_arguments)]
    pub async fn begin_reinitialization_at(
        &self,
        id: Uuid,
        step: RegistrationStep,
        key: Option<&str>,
        request: &str,
        refused: RefusedCycles,
        now: Timestamp,
        lease_until: Timestamp,
    ) -> Result<Option<ClaimedStep>, StoreError> {
        let current = self.account(id).await?;
        if current.registration_step == step {
            let owner: Option<(Option<String>,)> =
                sqlx::query_as("SELECT registration_key FROM payment_accounts WHERE id = $1")
                    .bind(id)
                    .fetch_optional(self.pool())
                    .await?;
            let owner = owner.and_then(|(k,)| k);
            if key.is_none() || owner.as_deref() != key {
                return Err(StoreError::Conflict(format!(
                    "payment account {id} has a re-initialization whose {} answer was lost; \
                     repeat that call with its Idempotency-Key, or wait for billingd to settle it",
                    step.as_str().replace('_', "-")
                )));
            }
        } else {
            sqlx::query(
                "UPDATE payment_accounts SET registration_step = $7, \
                 registration_request = $3, registration_key = $4, registration_refused_cycles = $5, \
                 registration_unknown_since = NULL, registration_error = NULL, updated_at = $6 \
                 WHERE id = $1 AND registration_step = $2",
            )
            .bind(id)
            .bind(current.registration_step.as_str())
            .bind(request)
            .bind(key)
            .bind(refused_text(refused))
            .bind(to_db(now))
            .bind(step.as_str())
            .execute(self.pool())
            .await?;
        }
        self.claim_registration_step(id, now, lease_until).await
    }

    /// Stores the request of `step` before it is sent (a first one, or a re-stamped one).
    /// False when the account is no longer on that step.
    pub async fn store_step_request(
        &self,
        id: Uuid,
        step: RegistrationStep,
        request: &str,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE payment_accounts SET registration_request = $3 \
             WHERE id = $1 AND registration_step = $2",
        )
        .bind(id)
        .bind(step.as_str())
        .bind(request)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }

    /// Gives up the claim on an owed step without changing it.
    pub async fn release_registration(&self, id: Uuid) -> Result<(), StoreError> {
        sqlx::query("UPDATE payment_accounts SET registration_lease_until = NULL WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Accounts owing a gateway step that nobody is working on: the daemon settles them.
    pub async fn owed_registrations(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM payment_accounts WHERE registration_step = ANY($1) \
             AND (registration_lease_until IS NULL OR registration_lease_until <= $2) \
             ORDER BY updated_at LIMIT $3",
        )
        .bind(pending_steps())
        .bind(to_db(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
