//! `bench`: billingd's benchmark (issues 6 and 14). Run it through `./scripts/bench`, which
//! builds the release binaries, installs the peer (bench/peer) and makes sure Postgres runs.
//!
//! Every run happens in a scratch database created from `BILLINGD_TEST_DATABASE_URL` and
//! migrated by `billingd migrate`, seeded with SQL (generate_series), against the gateway
//! simulator running in this process with Payroc secure tokens issued through its API. The
//! daemon under test is the release binary as a child process (`run-once` or `serve`), so its
//! wall time, peak RSS and CPU come from wait4.
//!
//! 1. baseline (`throughput`): pgbench runs bench/baseline.sql (the minimum database work per
//!    charge, in batches) on the throughput database, back to back with billingd: charges/s.
//! 2. throughput: the same subscriptions due now, the simulator answering at once, one
//!    `billingd run-once`: charges/s end to end and the ratio to the baseline. Figures 1 and 2
//!    are measured in rounds (3; 1 with --quick), alternating which goes first; the round with
//!    the median ratio is reported.
//!    2b. peer: the same subscriptions charged by graphile-worker, a job per charge
//!    (bench/peer/peer.mjs), as a merchant would build it instead: billingd ÷ peer.
//! 3. latency: the simulator answering every sale 200 ms late: charges/s against the bound
//!    max_in_flight ÷ latency, and peak RSS.
//! 4. scale: stores of 10,000 and 1,000,000 subscriptions (1% due, with charge/attempt
//!    history): tick time, peak RSS, table sizes, and EXPLAIN (ANALYZE, BUFFERS) of the due
//!    scan and the claim on the large one.
//! 5. sched: `billingd serve` with the default heartbeat, subscriptions falling due
//!    throughout a window at a fraction of the measured throughput: due → request at the
//!    simulator.
//! 6. replicas: 1, 2 and 4 replicas on one database, the simulator answering in 50 ms:
//!    aggregate charges/s and each replica's share; then one of 4 killed mid-run (failover).
//!
//! Each phase has its module; `report` prints the results: `figures` (the table, one row per
//! measurement, phases adding their own rows through `sheet`) and `closing` (the last lines).

// A benchmark measures real time and stamps its report with it: the wall clock is its clock,
// not a `Clock` to inject (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod closing;
mod config;
mod db;
mod failover;
mod figures;
mod format;
mod latency;
mod peer;
mod procs;
mod replicas;
mod report;
mod run;
mod scale;
mod sched;
mod sheet;
mod sim;
mod throughput;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};

use config::Config;
use procs::PgCpu;
use report::report;
use run::Run;
use sheet::Env;

#[derive(Default)]
pub struct Results {
    pub baseline: Option<Run>,
    pub throughput: Option<Run>,
    pub throughput_summary: Option<serde_json::Value>,
    /// Every throughput round's (baseline, billingd) charges/s, in the order run.
    pub throughput_rounds: Vec<(f64, f64)>,
    pub latency: Option<Run>,
    /// (run, stored, due)
    pub scale_small: Option<(Run, u64, u64)>,
    pub scale_large: Option<(Run, u64, u64)>,
    pub scale_fix: Option<(Run, u64, u64)>,
    pub forecast: Option<scale::Forecast>,
    pub sched: Option<(Run, db::SchedLatency, f64)>,
    pub peer: Option<peer::PeerResult>,
    pub replicas: Option<replicas::ReplicasResult>,
    pub explains: Vec<(String, String)>,
    pub sizes: Vec<(String, i64, i64)>,
    pub notes: Vec<String>,
    pub perf_report: Option<String>,
    /// Samples of pg_stat_activity during the throughput run.
    pub db_profile: Option<db::Profile>,
}

// The simulator runs in this process and shares the machine with billingd: the same allocator
// as billingd's keeps the harness's share of the CPU small.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let cfg = Config::from_args()?;
    std::fs::create_dir_all(&cfg.out)?;
    if !cfg.billingd.exists() {
        bail!(
            "{} is missing: build it with cargo build --release -p billingd (./scripts/bench does)",
            cfg.billingd.display()
        );
    }
    let defaults = billingd::config::Settings::default();
    let max_in_flight = defaults.billing.max_in_flight;
    let tick = cfg.tick;
    let admin = db::connect(&cfg.admin_url, 2).await?;
    let (data_dir, pg_version) = db::server_info(&admin).await?;
    let pg_cpu = PgCpu::new(&data_dir);
    if pg_cpu.is_none() {
        eprintln!("bench: cannot read {data_dir}/postmaster.pid: Postgres CPU is not measured");
    }
    let pg_conf = db::pg_conf(&admin).await?;
    let mut r = Results::default();
    let started = Instant::now();

    if cfg.runs("throughput") || cfg.runs("peer") {
        throughput::throughput(&cfg, &admin, pg_cpu.as_ref(), &mut r).await?;
    }
    if cfg.runs("latency") {
        latency::latency(&cfg, &admin, pg_cpu.as_ref(), max_in_flight, &mut r).await?;
    }
    if cfg.runs("scale") {
        scale::scale(&cfg, &admin, pg_cpu.as_ref(), &mut r).await?;
    }
    if cfg.runs("sched") {
        sched::sched(&cfg, &admin, pg_cpu.as_ref(), tick, &mut r).await?;
    }
    if cfg.runs("replicas") {
        replicas::replicas(&cfg, &admin, pg_cpu.as_ref(), &mut r).await?;
    }

    let report = report(
        &cfg,
        &r,
        &Env {
            max_in_flight,
            tick,
            cron: defaults.scheduler.billing_cron.clone(),
            claim_batch: defaults.billing.claim_batch,
            materialize_batch: defaults.billing.materialize_batch,
            pool: defaults.database.max_connections,
            pg_version,
            pg_conf,
            elapsed: started.elapsed(),
        },
    );
    print!("{report}");
    std::fs::write(cfg.out.join("report.txt"), &report)?;
    Ok(())
}

/// The interval between two heartbeats of a cron expression (seconds field first).
pub fn tick_interval(cron: &str) -> anyhow::Result<Duration> {
    let parsed = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(cron)
        .map_err(|e| anyhow::anyhow!("billing_cron {cron:?}: {e}"))?;
    let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).context("timestamp")?;
    let a = parsed.find_next_occurrence(&t0, false)?;
    let b = parsed.find_next_occurrence(&a, false)?;
    Ok((b - a).to_std()?)
}

pub fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

pub fn log(msg: impl AsRef<str>) {
    eprintln!("bench: {} (load {:.2})", msg.as_ref(), procs::load()[0]);
}
