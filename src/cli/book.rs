//! `billingd import` and `billingd forecast`: taking over a book, and what it will charge.

use std::path::Path;
use std::sync::Arc;

use crate::api::forecast::view;
use crate::api::import::{ImportFormat, run_import};
use crate::clock::Clock;
use crate::config::Settings;
use crate::store::to_db;

/// Checks (and unless `dry_run`, imports) a file; exits 1 naming how many rows were rejected.
pub async fn import(
    settings: &Settings,
    clock: Arc<dyn Clock>,
    file: &Path,
    dry_run: bool,
) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let store = super::store_for(settings).await?;
    let format = ImportFormat::of_path(file);
    let report = run_import(&store, clock.now(), &bytes, format, dry_run)
        .await
        .map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.detail()))?;
    super::print_json(&report)?;
    if report.rejected > 0 {
        anyhow::bail!(
            "{} of {} rows rejected; nothing imported",
            report.rejected,
            report.rows.len()
        );
    }
    Ok(())
}

/// The book's charges per UTC day and currency over the next `days`.
pub async fn forecast(settings: &Settings, clock: Arc<dyn Clock>, days: i64) -> anyhow::Result<()> {
    let store = super::store_for(settings).await?;
    let from = clock.now();
    let until = from.checked_add(jiff::SignedDuration::from_hours(24 * days))?;
    let found = store.forecast(from, until).await?;
    super::print_json(&view(found, to_db(from), to_db(until)))
}
