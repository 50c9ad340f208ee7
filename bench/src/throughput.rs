//! Figures 1 and 2: the baseline (pgbench), billingd and the peer (graphile-worker) on the same
//! due subscriptions, one after the other, the database reset to "nothing billed" in between.

use std::path::Path;
use std::process::Command;

use anyhow::bail;
use sqlx::PgPool;

use crate::config::Config;
use crate::db::{self, Scratch};
use crate::procs::{self, PgCpu};
use crate::run::{Child, Run, check_exactly_once, finish_db, measure, prepare, run_once};
use crate::sim::Sim;
use crate::{Results, log, now_epoch, peer};

pub async fn throughput(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    let n = cfg.throughput_subs;
    log(format!("throughput: seeding {n} due subscriptions"));
    let (sim, db) = prepare(cfg, admin, "billingd_bench_throughput").await?;
    if cfg.runs("peer") {
        // Its schema is installed before anything is measured, as billingd's migrations are.
        peer::install(cfg, &db).await?;
    }
    // All due within the last minutes, 0.5 ms apart.
    let step = 0.0005;
    db.seed_subscriptions(n, now_epoch() - 120.0 - n as f64 * step, step, 0)
        .await?;
    db.settle().await?;
    let mut fresh = true;
    if cfg.runs("throughput") {
        rounds(cfg, &db, &sim, pg, r).await?;
        fresh = false;
    }
    if cfg.runs("peer") {
        if !fresh {
            db.reset_billing().await?;
        }
        peer::peer(cfg, &db, &sim, pg, r).await?;
    }
    drop(sim);
    finish_db(cfg, admin, db).await
}

/// One round of figures 1 and 2: the baseline and billingd on the same due subscriptions.
struct Round {
    baseline: Run,
    billingd: Run,
    summary: serde_json::Value,
    profile: db::Profile,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.billingd.per_s() / self.baseline.per_s()
    }
}

/// Figures 1 and 2, `throughput_rounds` times. The machine's speed drifts from minute to minute
/// (a shared VM: the same work has cost 1.5 × the CPU time of a run a minute before), so
/// each round runs the baseline and billingd back to back, in alternating order so that a
/// trend favours neither, and the round with the median ratio is the one reported; every
/// round's figures are printed.
async fn rounds(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    let mut rounds = Vec::new();
    for i in 0..cfg.throughput_rounds {
        if i > 0 {
            db.reset_billing().await?;
        }
        // Only the first round is recorded by perf: its samples are a profile, not a figure.
        let perf = cfg.perf && i == 0;
        let round = if i % 2 == 0 {
            let baseline = baseline(cfg, db, pg, r).await?;
            db.reset_billing().await?;
            let (billingd, summary, profile) = billingd(cfg, db, sim, pg, perf, r).await?;
            Round {
                baseline,
                billingd,
                summary,
                profile,
            }
        } else {
            let (billingd, summary, profile) = billingd(cfg, db, sim, pg, perf, r).await?;
            db.reset_billing().await?;
            let baseline = baseline(cfg, db, pg, r).await?;
            Round {
                baseline,
                billingd,
                summary,
                profile,
            }
        };
        log(format!(
            "throughput: round {} of {}: {:.3} × baseline",
            i + 1,
            cfg.throughput_rounds,
            round.ratio()
        ));
        rounds.push(round);
    }
    r.throughput_rounds = rounds
        .iter()
        .map(|x| (x.baseline.per_s(), x.billingd.per_s()))
        .collect();
    rounds.sort_by(|a, b| a.ratio().total_cmp(&b.ratio()));
    let median = rounds.swap_remove((rounds.len() - 1) / 2);
    r.baseline = Some(median.baseline);
    r.throughput = Some(median.billingd);
    r.throughput_summary = Some(median.summary);
    r.db_profile = Some(median.profile);
    Ok(())
}

/// Figure 1: pgbench runs bench/baseline.sql until every subscription is charged.
async fn baseline(
    cfg: &Config,
    db: &Scratch,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<Run> {
    let n = cfg.throughput_subs;
    let batch = cfg.baseline_batch;
    let clients = cfg.baseline_clients;
    let per_client = n.div_ceil(batch as u64 * clients as u64);
    log(format!(
        "baseline: pgbench, {clients} clients × {per_client} × {batch} charges"
    ));
    let mut cmd = Command::new(std::env::var("BENCH_PGBENCH").unwrap_or_else(|_| "pgbench".into()));
    cmd.args(["-n", "-f"])
        .arg(cfg.repo.join("bench/baseline.sql"))
        .args(["-D", &format!("batch={batch}")])
        .args(["-c", &clients.to_string(), "-j", &clients.to_string()])
        .args(["-t", &per_client.to_string()])
        .arg(&db.url);
    let child = Child {
        cmd,
        tag: "baseline".into(),
    };
    let run = measure(cfg, db, pg, vec![child], None).await?;
    if run.finished.exit_code != 0 {
        bail!(
            "pgbench exited {}; see {}",
            run.finished.exit_code,
            cfg.out.join("baseline.log").display()
        );
    }
    if run.charges != n as i64 {
        r.notes.push(format!(
            "baseline: {} charges approved, expected {n}",
            run.charges
        ));
    }
    log(format!("baseline: {:.0} charges/s", run.per_s()));
    Ok(run)
}

/// Figure 2: one `billingd run-once`, with the database's activity sampled (and `perf record`
/// when `perf`): the run, billingd's summary of it, and the database's profile.
async fn billingd(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    perf: bool,
    r: &mut Results,
) -> anyhow::Result<(Run, serde_json::Value, db::Profile)> {
    log("throughput: billingd run-once");
    let perf = if perf {
        let data = cfg.out.join("throughput.perf.data");
        let mut cmd = Command::new("perf");
        cmd.args(["record", "-a", "-F", "199", "-o"]).arg(&data);
        Some((
            procs::start(
                &mut cmd,
                &cfg.out.join("perf.stdout"),
                &cfg.out.join("perf.log"),
            )?,
            data,
        ))
    } else {
        None
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(db::sample_activity(
        db.url.clone(),
        db.name.clone(),
        stopped,
    ));
    let (run, summary) = run_once(cfg, db, sim, pg, "throughput", None).await?;
    let _ = stop.send(true);
    let profile = sampler.await??;
    if let Some((perf, data)) = perf {
        perf.signal(libc::SIGINT);
        perf.finish().await?;
        r.perf_report = Some(perf_report(&data));
    }
    check_exactly_once(db, cfg.throughput_subs, "throughput", r).await?;
    log(format!("throughput: {:.0} charges/s", run.per_s()));
    Ok((run, summary, profile))
}

fn perf_report(data: &Path) -> String {
    let run = |args: &[&str]| {
        Command::new("perf")
            .args(["report", "-i"])
            .arg(data)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("perf report failed: {e}"))
    };
    let keep = |text: String, n: usize| {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .take(n)
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "CPU samples by process:\n{}\n\nhottest symbols (self):\n{}",
        keep(
            run(&["--no-children", "--sort", "comm", "--stdio", "-g", "none"]),
            12
        ),
        keep(
            run(&[
                "--no-children",
                "--sort",
                "comm,dso,sym",
                "--stdio",
                "-g",
                "none"
            ]),
            40
        )
    )
}
