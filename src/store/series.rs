//! Stored-credential series: one per subscription (`subscriptions.series_*`), opened by the
//! subscription's approved `first` payment (`outcomes`), closed for every subscription on an
//! account whose credential is re-initialized (here), read by the claim (`claims`).

use jiff::Timestamp;
use uuid::Uuid;

use super::claims::ClaimedCharge;
use super::to_db;
use crate::domain::position::{ParseEnumError, Sequence};
use crate::domain::series::{FirstPayment, SeriesState};

impl ClaimedCharge {
    /// The position its current request was written down with (None before it is, or if the
    /// stored text names no position).
    pub fn sent_as(&self) -> Option<Sequence> {
        self.sequence.as_deref().and_then(|s| s.parse().ok())
    }

    /// The subscription's series as it was when the charge was claimed. The claim sends no
    /// charge of a subscription while another of its charges is out as `first`, so a claimed
    /// charge never sees `FirstInFlight`.
    pub fn series(&self) -> Result<SeriesState, ParseEnumError> {
        let Some(payment_id) = self.series_payment_id.clone() else {
            return Ok(SeriesState::None);
        };
        let model = self.series_processing_model.as_deref().unwrap_or_default();
        Ok(SeriesState::Established {
            first: FirstPayment {
                payment_id,
                scheme_reference: self.series_scheme_reference.clone(),
            },
            model: model.parse()?,
        })
    }
}

/// Closes the series of every subscription on an account, inside the caller's transaction: the
/// account's credential was (re-)initialized, so each subscription's next charge opens a new
/// series as `first` on it. Returns how many open series were closed.
pub async fn close_series(
    tx: &mut sqlx::PgConnection,
    account_id: Uuid,
    now: Timestamp,
) -> Result<u64, sqlx::Error> {
    let open: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM subscriptions WHERE account_id = $1 AND series_payment_id IS NOT NULL",
    )
    .bind(account_id)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE subscriptions SET series_payment_id = NULL, series_scheme_reference = NULL, \
           series_processing_model = NULL, series_closed_at = $2, updated_at = $2 \
         WHERE account_id = $1",
    )
    .bind(account_id)
    .bind(to_db(now))
    .execute(&mut *tx)
    .await?;
    Ok(open as u64)
}
