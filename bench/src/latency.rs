//! Figure 3: the simulator answering every sale late; charges/s against the in-flight bound.

use sqlx::PgPool;

use crate::config::Config;
use crate::procs::PgCpu;
use crate::run::{check_exactly_once, finish_db, prepare, run_once};
use crate::{Results, log, now_epoch};

pub async fn latency(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    max_in_flight: usize,
    r: &mut Results,
) -> anyhow::Result<()> {
    let n = cfg.latency_subs;
    log(format!(
        "latency: {n} due subscriptions, the simulator answering in {} ms",
        cfg.latency_ms
    ));
    let (sim, db) = prepare(cfg, admin, "billingd_bench_latency").await?;
    let step = 0.0005;
    db.seed_subscriptions(n, now_epoch() - 120.0 - n as f64 * step, step, 0)
        .await?;
    db.settle().await?;
    sim.answer_after(cfg.latency_ms).await?;
    let (run, _) = run_once(cfg, &db, &sim, pg, "latency", None).await?;
    sim.answer_after(0).await?;
    check_exactly_once(&db, n, "latency", r).await?;
    let bound = max_in_flight as f64 * 1000.0 / cfg.latency_ms as f64;
    log(format!(
        "latency: {:.1} charges/s of a {bound:.0}/s bound",
        run.per_s()
    ));
    r.latency = Some(run);
    drop(sim);
    finish_db(cfg, admin, db).await
}
