//! Figure 5: `billingd serve` with subscriptions falling due throughout a window.

use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::config::Config;
use crate::db::Scratch;
use crate::procs::{self, CpuMeter, CpuSplit, Finished, PgCpu};
use crate::run::{Load, Run, billingd, counters_since, finish_db, prepare};
use crate::sim::Sim;
use crate::{Results, log, now_epoch};

pub async fn sched(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    tick: Duration,
    r: &mut Results,
) -> anyhow::Result<()> {
    let rate = match &r.throughput {
        Some(t) => t.per_s() * cfg.sched_load,
        None => cfg.sched_rate,
    };
    let window = cfg.sched_window_s;
    let n = (rate * window).round().max(1.0) as u64;
    log(format!(
        "sched: {n} subscriptions falling due over {window:.0} s ({rate:.0}/s), billingd serve"
    ));
    let (sim, db) = prepare(cfg, admin, "billingd_bench_sched").await?;
    // Due from 15 s from now (billingd is up by then) until the window closes.
    let first_due = now_epoch() + 15.0;
    db.seed_subscriptions(n, first_due, window / n as f64, 0)
        .await?;
    db.settle().await?;
    let c0 = db.counters().await?;
    let (finished, cpu, load) = serve_window(
        cfg,
        &db,
        &sim,
        pg,
        first_due + window + tick.as_secs_f64() + 1.0,
        n,
    )
    .await?;
    if finished.exit_code != 0 {
        r.notes.push(format!(
            "sched: billingd serve exited {} on SIGTERM",
            finished.exit_code
        ));
    }
    let lat = db
        .sched_latency(tick.as_secs_f64(), &sim.arrivals().await?)
        .await?;
    if lat.unsent > 0 || lat.charges != n as i64 || db.subscriptions_due_later().await? > 0 {
        r.notes.push(format!(
            "sched: {} charges for {n} subscriptions, {} not sent when the run was stopped",
            lat.charges, lat.unsent
        ));
    }
    let (approved, _) = db.charge_counts().await?;
    log(format!(
        "sched: p50 {:.0} ms, p99 {:.0} ms",
        lat.p50_ms, lat.p99_ms
    ));
    r.sched = Some((
        Run {
            finished,
            cpu,
            load,
            charges: approved,
            db: counters_since(&db, c0).await?,
            timed_out: false,
        },
        lat,
        rate,
    ));
    drop(sim);
    finish_db(cfg, admin, db).await
}

/// `billingd serve` until the window has closed (`closes`, epoch seconds) and all `n` charges
/// were sent (at most two minutes more), then SIGTERM.
async fn serve_window(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    closes: f64,
    n: u64,
) -> anyhow::Result<(Finished, CpuSplit, Load)> {
    let start = procs::load();
    let meter = CpuMeter::start(pg);
    let child = procs::start(
        &mut billingd(cfg, db, sim, &["serve"]),
        &cfg.out.join("sched.stdout"),
        &cfg.out.join("sched.log"),
    )?;
    while now_epoch() < closes {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while db.attempts().await? < n as i64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    child.signal(libc::SIGTERM);
    let finished = child.finish().await?;
    let cpu = meter.end(finished.cpu_s);
    let load = Load {
        start,
        end: procs::load(),
    };
    Ok((finished, cpu, load))
}
