//! Figure 2b, the peer: what a merchant would build instead of adopting billingd — a job per
//! charge on graphile-worker (Node.js), the gateway call inside it (bench/peer/peer.mjs) — on the
//! same due subscriptions, database, tables and simulator as billingd's throughput run.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::db::{self, Scratch};
use crate::procs::PgCpu;
use crate::run::{Child, Run, check_exactly_once, measure};
use crate::sim::{self, Sim};
use crate::{Results, log};

/// The peer's best run, and every concurrency tried.
pub struct PeerResult {
    pub run: Run,
    pub concurrency: u32,
    pub processes: u32,
    /// (concurrency, charges/s) of every run.
    pub tried: Vec<(u32, f64)>,
    /// pg_stat_activity sampled during the best run (as `Results::db_profile`).
    pub profile: db::Profile,
}

fn script(cfg: &Config) -> std::path::PathBuf {
    cfg.repo.join("bench/peer/peer.mjs")
}

fn node(cfg: &Config, db: &Scratch, args: &[&str]) -> Command {
    let mut cmd = Command::new(&cfg.node);
    cmd.arg(script(cfg))
        .args(args)
        .current_dir(cfg.repo.join("bench/peer"))
        .env("PEER_DATABASE_URL", &db.url);
    cmd
}

/// graphile-worker's schema in the scratch database (its migrations), before anything is
/// measured. Needs bench/peer/node_modules (./scripts/bench installs it).
pub async fn install(cfg: &Config, db: &Scratch) -> anyhow::Result<()> {
    if !cfg
        .repo
        .join("bench/peer/node_modules/graphile-worker")
        .exists()
    {
        bail!(
            "bench/peer/node_modules is missing: ./scripts/bench installs it (npm ci in bench/peer)"
        );
    }
    let out = node(cfg, db, &["migrate"])
        .output()
        .with_context(|| format!("running {} (BENCH_NODE)", cfg.node.display()))?;
    if !out.status.success() {
        bail!(
            "the peer's migrations failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// One peer worker process charging against `sim`.
fn worker(cfg: &Config, db: &Scratch, sim: &Sim, concurrency: u32) -> Command {
    let mut cmd = node(cfg, db, &["run"]);
    cmd.env("PEER_PAYROC_API_URL", sim.running.payroc_api_url())
        .env(
            "PEER_PAYROC_IDENTITY_URL",
            sim.running.payroc_identity_url(),
        )
        .env("PEER_PAYROC_API_KEY", sim::API_KEY)
        .env("PEER_CONCURRENCY", concurrency.to_string());
    cmd
}

/// Runs the peer once per concurrency in `BENCH_PEER_CONCURRENCY` (the database reset to
/// "nothing billed" between them) and keeps the fastest run.
pub async fn peer(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    let n = cfg.throughput_subs;
    let processes = cfg.peer_processes.max(1);
    let mut best: Option<PeerResult> = None;
    let mut tried = Vec::new();
    for (i, &concurrency) in cfg.peer_concurrency.iter().enumerate() {
        if i > 0 {
            db.reset_billing().await?;
        }
        log(format!(
            "peer: graphile-worker, {processes} process(es) × concurrency {concurrency}"
        ));
        let children = (0..processes)
            .map(|p| Child {
                cmd: worker(cfg, db, sim, concurrency),
                tag: format!("peer-c{concurrency}-p{p}"),
            })
            .collect();
        // A peer that stalls (a job failing for good) is stopped rather than waited for.
        let limit = Some(Duration::from_secs(120 + n / 100));
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let sampler = tokio::spawn(db::sample_activity(
            db.url.clone(),
            db.name.clone(),
            stopped,
        ));
        let run = measure(cfg, db, pg, children, limit).await?;
        let _ = stop.send(true);
        let profile = sampler.await??;
        if run.timed_out || run.finished.exit_code != 0 {
            bail!(
                "the peer (concurrency {concurrency}) {}; see {}/peer-c{concurrency}-p*.log",
                if run.timed_out {
                    "did not finish in time".to_owned()
                } else {
                    format!("exited {}", run.finished.exit_code)
                },
                cfg.out.display()
            );
        }
        check_exactly_once(db, n, &format!("peer (concurrency {concurrency})"), r).await?;
        log(format!("peer: {:.0} charges/s", run.per_s()));
        tried.push((concurrency, run.per_s()));
        if best.as_ref().is_none_or(|b| run.per_s() > b.run.per_s()) {
            best = Some(PeerResult {
                run,
                concurrency,
                processes,
                tried: Vec::new(),
                profile,
            });
        }
    }
    r.peer = best.map(|b| PeerResult { tried, ..b });
    Ok(())
}
