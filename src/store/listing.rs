//! Keyset-paginated listings for the admin API: stable under concurrent inserts, and as fast on
//! page 1,000 as on page 1. A cursor is the sort key of the last row returned.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::accounts::{Account, COLUMNS as ACCOUNT_COLUMNS};
use super::charges::{CHARGE_COLUMNS, Charge};
use super::subscriptions::{COLUMNS as SUBSCRIPTION_COLUMNS, Subscription};
use super::{Store, StoreError, storable};

/// A position in a listing: (timestamp, id) of the last row seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl Cursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.timestamp_micros(), self.id.simple())
    }

    /// `None` for anything `encode` cannot have written (including instants PostgreSQL cannot
    /// hold, which would fail the query).
    pub fn decode(text: &str) -> Option<Cursor> {
        let (micros, id) = text.split_once('_')?;
        Some(Cursor {
            at: DateTime::from_timestamp_micros(micros.parse().ok()?).filter(|at| storable(*at))?,
            id: Uuid::parse_str(id).ok()?,
        })
    }
}

#[derive(Debug, Default, Clone)]
pub struct SubscriptionFilter {
    pub status: Option<String>,
    pub account_id: Option<Uuid>,
    pub merchant_reference: Option<String>,
}

#[derive(Debug, Default, Clone)]
pub struct ChargeFilter {
    pub status: Option<String>,
    pub subscription_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub due_from: Option<DateTime<Utc>>,
    pub due_to: Option<DateTime<Utc>>,
}

/// One page and the cursor of the next one (None on the last page).
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

fn page<T>(mut rows: Vec<T>, limit: i64, key: impl Fn(&T) -> Cursor) -> Page<T> {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more { rows.last().map(key) } else { None };
    Page { items: rows, next }
}

impl Store {
    pub async fn list_accounts(
        &self,
        state: Option<&str>,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<Account>, StoreError> {
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM payment_accounts \
             WHERE ($1::text IS NULL OR state = $1) \
               AND ($2::timestamptz IS NULL OR (created_at, id) > ($2, $3)) \
             ORDER BY created_at, id LIMIT $4"
        );
        let rows = sqlx::query_as::<_, Account>(sqlx::AssertSqlSafe(sql))
            .bind(state)
            .bind(after.map(|c| c.at))
            .bind(after.map(|c| c.id))
            .bind(limit + 1)
            .fetch_all(self.pool())
            .await?;
        Ok(page(rows, limit, |a| Cursor {
            at: a.created_at,
            id: a.id,
        }))
    }

    pub async fn list_subscriptions(
        &self,
        filter: &SubscriptionFilter,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<Subscription>, StoreError> {
        let sql = format!(
            "SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions \
             WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR account_id = $2) \
               AND ($3::text IS NULL OR merchant_reference = $3) \
               AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5)) \
             ORDER BY created_at, id LIMIT $6"
        );
        let rows = sqlx::query_as::<_, Subscription>(sqlx::AssertSqlSafe(sql))
            .bind(&filter.status)
            .bind(filter.account_id)
            .bind(&filter.merchant_reference)
            .bind(after.map(|c| c.at))
            .bind(after.map(|c| c.id))
            .bind(limit + 1)
            .fetch_all(self.pool())
            .await?;
        Ok(page(rows, limit, |s| Cursor {
            at: s.created_at,
            id: s.id,
        }))
    }

    /// Charges by due time.
    pub async fn list_charges(
        &self,
        filter: &ChargeFilter,
        after: Option<Cursor>,
        limit: i64,
    ) -> Result<Page<Charge>, StoreError> {
        let sql = format!(
            "SELECT {CHARGE_COLUMNS} FROM charges \
             WHERE ($1::text IS NULL OR status = $1) AND ($2::uuid IS NULL OR subscription_id = $2) \
               AND ($3::uuid IS NULL OR account_id = $3) \
               AND ($4::timestamptz IS NULL OR due_at >= $4) AND ($5::timestamptz IS NULL OR due_at < $5) \
               AND ($6::timestamptz IS NULL OR (due_at, id) > ($6, $7)) \
             ORDER BY due_at, id LIMIT $8"
        );
        let rows = sqlx::query_as::<_, Charge>(sqlx::AssertSqlSafe(sql))
            .bind(&filter.status)
            .bind(filter.subscription_id)
            .bind(filter.account_id)
            .bind(filter.due_from)
            .bind(filter.due_to)
            .bind(after.map(|c| c.at))
            .bind(after.map(|c| c.id))
            .bind(limit + 1)
            .fetch_all(self.pool())
            .await?;
        Ok(page(rows, limit, |c| Cursor {
            at: c.due_at,
            id: c.id,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let c = Cursor {
            at: DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap(),
            id: Uuid::new_v4(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in [
            "",
            "x",
            "12_notauuid",
            "abc_0b8e4a1c2f8e4c1e9d556a8f0c0e7d11",
            // Before 4714 BC: chrono has it, PostgreSQL does not.
            "-8000000000000000000_0b8e4a1c2f8e4c1e9d556a8f0c0e7d11",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
