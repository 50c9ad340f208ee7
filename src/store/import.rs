//! Bulk import: many subscriptions in one transaction, each at most once per merchant reference
//! (a file imported twice, or two imports at once, create nothing twice).

use jiff::Timestamp;
use uuid::Uuid;

use super::subscriptions::{NewSubscription, Subscription};
use super::{Store, StoreError};

/// What importing one subscription did.
#[derive(Debug)]
pub enum ImportedRow {
    Created(Box<Subscription>),
    /// A subscription with this merchant reference exists already: nothing was written.
    Existing(Uuid),
}

impl Store {
    /// The subscription with this merchant reference, if any (the oldest, should there be two
    /// created through the API).
    pub async fn subscription_by_reference(
        &self,
        reference: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM subscriptions WHERE merchant_reference = $1 \
             ORDER BY created_at, id LIMIT 1",
        )
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Creates every subscription whose merchant reference is new, all or none: one
    /// transaction, each reference locked (a transaction-scoped advisory lock) before it is
    /// looked up, so two imports of one file create each subscription once.
    pub async fn import_subscriptions(
        &self,
        rows: &[NewSubscription],
        now: Timestamp,
    ) -> Result<Vec<ImportedRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut done = Vec::with_capacity(rows.len());
        for new in rows {
            let reference = new.merchant_reference.as_deref().ok_or_else(|| {
                StoreError::Invalid("an imported subscription needs a merchant_reference".into())
            })?;
            sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('import:' || $1, 0))")
                .bind(reference)
                .execute(&mut *tx)
                .await?;
            let existing: Option<Uuid> = sqlx::query_scalar(
                "SELECT id FROM subscriptions WHERE merchant_reference = $1 LIMIT 1",
            )
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await?;
            done.push(match existing {
                Some(id) => ImportedRow::Existing(id),
                None => ImportedRow::Created(Box::new(self.insert_in(&mut tx, new, now).await?)),
            });
        }
        tx.commit().await?;
        Ok(done)
    }
}
