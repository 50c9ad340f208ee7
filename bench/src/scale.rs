//! Figure 4: a tick over a small and a large store with billed history.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::config::Config;
use crate::db::Scratch;
use crate::format::thousands;
use crate::procs::PgCpu;
use crate::run::{finish_db, prepare, run_once};
use crate::sim::Sim;
use crate::{Results, log, now_epoch};

pub async fn scale(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    for (large, total) in [(false, cfg.scale_small), (true, cfg.scale_large)] {
        scale_one(cfg, admin, pg, r, large, total).await?;
    }
    Ok(())
}

/// One store of `total` subscriptions with billed history; one tick over it.
async fn scale_one(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
    large: bool,
    total: u64,
) -> anyhow::Result<()> {
    let limit = Some(Duration::from_secs(cfg.tick_timeout_s));
    let due = ((total as f64) * cfg.due_percent / 100.0).round() as u64;
    let name = if large {
        "billingd_bench_scale_large"
    } else {
        "billingd_bench_scale_small"
    };
    log(format!(
        "scale: store of {total} subscriptions, {due} due, {} billed cycles each",
        cfg.history
    ));
    let (sim, mut db) = prepare(cfg, admin, name).await?;
    seed_store(cfg, &mut db, total, due, large).await?;
    let mut fixed = None;
    if large {
        r.forecast = Some(forecast(&db, total).await?);
        explain(&db, r, total, due).await?;
        r.sizes = db.table_sizes().await?;
        if cfg.fix_experiment {
            log("scale: copying the large store for the 4b experiment");
            fixed = Some(
                db.copy(admin, &cfg.admin_url, "billingd_bench_scale_fix")
                    .await?,
            );
        }
    }
    let tag = if large { "scale-large" } else { "scale-small" };
    let (run, summary) = run_once(cfg, &db, &sim, pg, tag, limit).await?;
    let (approved, all) = db.charge_counts().await?;
    let expected = total * cfg.history as u64 + due;
    if !run.timed_out && (run.charges != due as i64 || all != expected as i64) {
        r.notes.push(format!(
            "{tag}: {} charges approved by the run (expected {due}), {approved} approved of {all} in all (expected {expected})",
            run.charges
        ));
    }
    log(format!(
        "scale: tick {:.2} s{} (run {} ms), {} charged, peak RSS {:.1} MiB",
        run.finished.wall.as_secs_f64(),
        if run.timed_out {
            ", stopped at the limit"
        } else {
            ""
        },
        summary["duration_ms"],
        run.charges,
        run.finished.max_rss_mib()
    ));
    if large {
        r.scale_large = Some((run, total, due));
    } else {
        r.scale_small = Some((run, total, due));
    }
    finish_db(cfg, admin, db).await?;
    if let Some(fixed) = fixed {
        experiment_4b(cfg, admin, pg, r, fixed, &sim, (total, due)).await?;
    }
    Ok(())
}

/// `due` subscriptions due now, the rest over the next 30 days, each with `cfg.history` billed
/// cycles; vacuumed, analyzed and checkpointed.
async fn seed_store(
    cfg: &Config,
    db: &mut Scratch,
    total: u64,
    due: u64,
    large: bool,
) -> anyhow::Result<()> {
    let seeded = Instant::now();
    let step = 0.0005;
    db.seed_subscriptions(
        due,
        now_epoch() - 120.0 - due as f64 * step,
        step,
        cfg.history,
    )
    .await?;
    // The rest fall due over the next 30 days, starting in an hour.
    let later = total - due;
    db.seed_subscriptions(
        later,
        now_epoch() + 3600.0,
        30.0 * 86400.0 / later.max(1) as f64,
        cfg.history,
    )
    .await?;
    log(format!(
        "scale: {total} subscriptions in {:.0} s; seeding {} history charges + attempts",
        seeded.elapsed().as_secs_f64(),
        total * cfg.history as u64
    ));
    db.seed_history(cfg.history, large).await?;
    log(format!(
        "scale: seeded in {:.0} s; VACUUM ANALYZE + CHECKPOINT",
        seeded.elapsed().as_secs_f64()
    ));
    db.settle().await
}

/// `GET /v1/forecast?days=30` over the large book, timed through the store call the API makes.
async fn forecast(db: &Scratch, total: u64) -> anyhow::Result<Forecast> {
    let settings = billingd::config::DatabaseSettings {
        url: db.url.clone(),
        ..Default::default()
    };
    let store = billingd::store::Store::connect(&settings).await?;
    let from = jiff::Timestamp::now();
    let until = from.checked_add(jiff::SignedDuration::from_hours(24 * 30))?;
    let started = Instant::now();
    let days = store.forecast(from, until).await?;
    let elapsed = started.elapsed();
    let charges = days.iter().map(|d| d.charges).sum();
    log(format!(
        "scale: forecast of 30 days over {total} subscriptions in {:.0} ms ({charges} charges)",
        elapsed.as_secs_f64() * 1000.0
    ));
    Ok(Forecast {
        elapsed,
        subscriptions: total,
        charges,
    })
}

/// The forecast over the large store: how long, over how many subscriptions, how many charges.
#[derive(Debug, Clone, Copy)]
pub struct Forecast {
    pub elapsed: Duration,
    pub subscriptions: u64,
    pub charges: u64,
}

/// The plans of the due scan and the claim on the large store, for the report.
async fn explain(db: &Scratch, r: &mut Results, total: u64, due: u64) -> anyhow::Result<()> {
    let defaults = billingd::config::Settings::default();
    r.explains.push((
        format!(
            "due scan (materialize_due, LIMIT {}) at {} subscriptions",
            defaults.billing.materialize_batch,
            thousands(total as f64)
        ),
        db.explain_due_scan(defaults.billing.materialize_batch)
            .await?,
    ));
    r.explains.push((
        format!(
            "claim (claim_charges, LIMIT {}) at {} subscriptions, right after {} charges were materialized: billingd as it is",
            defaults.billing.claim_batch,
            thousands(total as f64),
            thousands(due as f64)
        ),
        db.explain_claim(defaults.billing.claim_batch, true)
            .await?,
    ));
    Ok(())
}

/// Experiment 4b: the same store with `charges` analyzed after materializing.
async fn experiment_4b(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
    fixed: Scratch,
    sim: &Sim,
    (total, due): (u64, u64),
) -> anyhow::Result<()> {
    let defaults = billingd::config::Settings::default();
    let limit = Some(Duration::from_secs(cfg.tick_timeout_s));
    log("scale: 4b experiment: due cycles materialized, ANALYZE charges");
    fixed.materialize_and_analyze().await?;
    r.explains.push((
        format!(
            "claim (claim_charges, LIMIT {}) at {} subscriptions — experiment 4b: ANALYZE charges after materializing",
            defaults.billing.claim_batch,
            thousands(total as f64)
        ),
        fixed
            .explain_claim(defaults.billing.claim_batch, false)
            .await?,
    ));
    let (run, _) = run_once(cfg, &fixed, sim, pg, "scale-fix", limit).await?;
    log(format!(
        "scale: 4b tick {:.2} s, {} charged, peak RSS {:.1} MiB",
        run.finished.wall.as_secs_f64(),
        run.charges,
        run.finished.max_rss_mib()
    ));
    r.scale_fix = Some((run, total, due));
    finish_db(cfg, admin, fixed).await
}
