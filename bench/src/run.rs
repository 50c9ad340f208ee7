//! One measured run of a child process (billingd, pgbench, the peer), and the scratch database and
//! simulator it runs against.

use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use sqlx::PgPool;

use crate::Results;
use crate::config::Config;
use crate::db::{self, Scratch};
use crate::procs::{self, CpuMeter, CpuSplit, Finished, PgCpu};
use crate::sim::{self, Sim};

/// The load average before and after a measurement.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub start: [f64; 3],
    pub end: [f64; 3],
}

impl Load {
    pub fn show(&self) -> String {
        format!("{:.2}→{:.2}", self.start[0], self.end[0])
    }
}

/// One `billingd` (or pgbench) run.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    pub finished: Finished,
    pub cpu: CpuSplit,
    pub load: Load,
    /// Charges approved by the run.
    pub charges: i64,
    /// Commits in the database and WAL bytes (cluster-wide) during the run.
    pub db: db::Counters,
    /// Stopped (SIGTERM) at the time limit before it finished.
    pub timed_out: bool,
}

impl Run {
    pub fn per_s(&self) -> f64 {
        self.charges as f64 / self.finished.wall.as_secs_f64()
    }
}

/// A fresh simulator with its tokens, and a fresh scratch database holding one account per
/// token.
pub async fn prepare(cfg: &Config, admin: &PgPool, name: &str) -> anyhow::Result<(Sim, Scratch)> {
    let sim = Sim::start().await?;
    let tokens = sim.tokens(cfg.accounts).await?;
    let db = Scratch::create(admin, &cfg.admin_url, name, &cfg.billingd).await?;
    db.insert_accounts(&tokens).await?;
    Ok((sim, db))
}

pub async fn finish_db(cfg: &Config, admin: &PgPool, db: Scratch) -> anyhow::Result<()> {
    if cfg.keep {
        eprintln!("bench: kept database {}", db.name);
        Ok(())
    } else {
        db.drop_database(admin).await
    }
}

/// `billingd` with the scratch database and the simulator, configured the way an operator
/// would (environment variables), everything else at its defaults.
pub fn billingd(cfg: &Config, db: &Scratch, sim: &Sim, args: &[&str]) -> Command {
    let mut cmd = Command::new(&cfg.billingd);
    cmd.args(args)
        .current_dir(&cfg.repo)
        .env_remove("BILLINGD_CONFIG")
        .env_remove("RUST_LOG")
        .env("BILLINGD_DATABASE__URL", &db.url)
        .env("BILLINGD_PAYROC__API_URL", sim.running.payroc_api_url())
        .env(
            "BILLINGD_PAYROC__IDENTITY_URL",
            sim.running.payroc_identity_url(),
        )
        .env("BILLINGD_PAYROC__API_KEY", sim::API_KEY)
        .env("BILLINGD_API__ENABLED", "false")
        .env("BILLINGD_LOG__FORMAT", "json");
    cmd
}

/// A child process to start as part of a measured run: its command and its tag (logs go to
/// `<out>/<tag>.stdout` and `<out>/<tag>.log`).
pub struct Child {
    pub cmd: Command,
    pub tag: String,
}

/// Starts `children` together and measures them as one run: wall time from the first start to
/// the last exit, CPU and the client's share of it summed, peak RSS the largest of them;
/// charges are those approved meanwhile. Each child still running after `timeout` gets SIGTERM.
pub async fn measure(
    cfg: &Config,
    db: &Scratch,
    pg: Option<&PgCpu>,
    children: Vec<Child>,
    timeout: Option<Duration>,
) -> anyhow::Result<Run> {
    let (approved0, _) = db.charge_counts().await?;
    let c0 = db.counters().await?;
    let start = procs::load();
    let meter = CpuMeter::start(pg);
    let mut running = Vec::new();
    for mut c in children {
        let out = cfg.out.join(format!("{}.stdout", c.tag));
        let err = cfg.out.join(format!("{}.log", c.tag));
        running.push(procs::start(&mut c.cmd, &out, &err)?);
    }
    let first = running.iter().map(|r| r.started).min();
    let done = futures::future::join_all(running.into_iter().map(|r| {
        let started = r.started;
        async move { r.finish_within(timeout).await.map(|f| (started, f)) }
    }))
    .await;
    let mut each = Vec::new();
    let mut timed_out = false;
    let mut last_end = first;
    for d in done {
        let (started, (f, stopped)) = d?;
        timed_out |= stopped;
        last_end = last_end.max(Some(started + f.wall));
        each.push(f);
    }
    let cpu_s: f64 = each.iter().map(|f| f.cpu_s).sum();
    let cpu = meter.end(cpu_s);
    let load = Load {
        start,
        end: procs::load(),
    };
    let finished = Finished {
        exit_code: each
            .iter()
            .map(|f| f.exit_code)
            .find(|&c| c != 0)
            .unwrap_or(0),
        wall: last_end.zip(first).map(|(e, s)| e - s).unwrap_or_default(),
        max_rss_kib: each.iter().map(|f| f.max_rss_kib).max().unwrap_or(0),
        cpu_s,
    };
    let (approved, _) = db.charge_counts().await?;
    Ok(Run {
        finished,
        cpu,
        load,
        charges: approved - approved0,
        db: counters_since(db, c0).await?,
        timed_out,
    })
}

/// Reads the JSON summary a child printed on stdout.
pub fn summary(cfg: &Config, tag: &str) -> anyhow::Result<serde_json::Value> {
    let out = cfg.out.join(format!("{tag}.stdout"));
    let text = std::fs::read_to_string(&out)?;
    // The whole output, or else its last line (a child may print more before it).
    serde_json::from_str(&text)
        .or_else(|_| {
            serde_json::from_str(
                text.lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or(""),
            )
        })
        .with_context(|| format!("reading the run summary in {}", out.display()))
}

/// Runs `billingd run-once` and measures it; returns the run and its printed summary.
pub async fn run_once(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    tag: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<(Run, serde_json::Value)> {
    let child = Child {
        cmd: billingd(cfg, db, sim, &["run-once"]),
        tag: tag.to_owned(),
    };
    let run = measure(cfg, db, pg, vec![child], timeout).await?;
    let summary = if run.timed_out {
        serde_json::json!({"stopped_after_s": timeout.map(|t| t.as_secs())})
    } else {
        if run.finished.exit_code != 0 {
            bail!(
                "billingd run-once ({tag}) exited {}; see {}",
                run.finished.exit_code,
                cfg.out.join(format!("{tag}.log")).display()
            );
        }
        summary(cfg, tag)?
    };
    Ok((run, summary))
}

/// Commits and WAL since `c0`, once the statistics of the ended connections are in.
pub async fn counters_since(db: &Scratch, c0: db::Counters) -> anyhow::Result<db::Counters> {
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let c1 = db.counters().await?;
    // The counting query itself commits once.
    Ok(db::Counters {
        commits: c1.commits - c0.commits - 1,
        wal_bytes: c1.wal_bytes - c0.wal_bytes,
    })
}

/// Checks that every due subscription was charged once, and nothing was sent twice.
pub async fn check_exactly_once(
    db: &Scratch,
    expected: u64,
    what: &str,
    r: &mut Results,
) -> anyhow::Result<()> {
    let (approved, all) = db.charge_counts().await?;
    let (attempts, resent) = db.attempt_counts().await?;
    if approved != expected as i64 || all != expected as i64 || resent != 0 {
        r.notes.push(format!(
            "{what}: expected {expected} approved charges, found {approved} approved of {all}, \
             {attempts} requests logged, {resent} charges sent more than once"
        ));
    }
    Ok(())
}
