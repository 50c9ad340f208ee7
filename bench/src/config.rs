//! The command line and the sizes of every phase (environment variables, full or --quick).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

pub const HELP: &str = "\
bench — billingd's benchmark (issue 6); normally run as ./scripts/bench [--quick]

  --quick            small sizes, a smoke run of every figure (about 2 minutes)
  --only LIST        comma-separated phases: throughput,peer,latency,scale,sched,replicas
                     (default: all; throughput includes the baseline)
  --perf             record `perf record -a -F 199` during the throughput run (needs perf)
  --keep             keep the scratch databases (billingd_bench_*) afterwards
  --out DIR          where logs, perf data and the report go (default target/bench)

Environment (defaults: full / --quick):
  BILLINGD_TEST_DATABASE_URL   admin URL (CREATE DATABASE); scripts/lib/postgres.sh sets it
  BENCH_PGBENCH                the pgbench to run (default: pgbench on PATH)
  BENCH_ACCOUNTS               Payroc tokens the subscriptions are spread over (300 / 50)
  BENCH_THROUGHPUT_SUBS        subscriptions due in the throughput run (100000 / 10000)
  BENCH_BASELINE_BATCH         charges per baseline transaction (100)
  BENCH_THROUGHPUT_ROUNDS      baseline and billingd pairs, run back to back in alternating
                               order; the ratio is their median (3 / 1)
  BENCH_BASELINE_CLIENTS       pgbench clients (2)
  BENCH_LATENCY_SUBS           subscriptions due in the latency run (20000 / 2000)
  BENCH_LATENCY_MS             simulated gateway latency (200)
  BENCH_SCALE_SMALL            small store (10000 / 10000)
  BENCH_SCALE_LARGE            large store (1000000 / 100000)
  BENCH_DUE_PERCENT            share of the store due in the scale runs (1)
  BENCH_HISTORY_CYCLES         billed cycles per subscription before the scale runs (10 / 2)
  BENCH_SCHED_WINDOW_S         seconds over which subscriptions fall due (60 / 20)
  BENCH_SCHED_LOAD             arrival rate as a fraction of measured throughput (0.5)
  BENCH_SCHED_RATE             arrival rate in charges/s when throughput was not measured (200)
  BENCH_TICK_TIMEOUT_S         a scale tick still running after this is stopped (600 / 120)
  BENCH_FIX_EXPERIMENT         1 adds experiment 4b: a copy of the large store whose statistics
                               are refreshed (ANALYZE) after materializing — the claim's plan
                               should not depend on them (0; costs a copy of the large store)
  BENCH_NODE                   the Node.js that runs the peer (default: node on PATH)
  BENCH_PEER_CONCURRENCY       graphile-worker's concurrentJobs; a comma-separated list tries
                               each on the same charges and keeps the best (32,64,128 / 64)
  BENCH_PEER_PROCESSES         peer worker processes, each with that concurrency (1)
  BENCH_REPLICAS               replica counts measured side by side (1,2,4)
  BENCH_REPLICAS_SUBS          subscriptions due in each replicas run (8000 / 3000)
  BENCH_REPLICAS_LATENCY_MS    simulated gateway latency in the replicas runs (50)
  BENCH_REPLICAS_LEASE_S       billing.lease in the run where a replica is killed (15)
  BENCH_BILLINGD               the billingd binary (default: target/release/billingd)
  PEER_*                       passed to the peer as they are (see bench/peer/peer.mjs)
  BENCH_EXTRA_SQL              SQL run in every scratch database after the migrations (an
                               experiment: e.g. an index under consideration)
";

pub struct Config {
    pub quick: bool,
    pub phases: Vec<String>,
    pub perf: bool,
    pub keep: bool,
    pub out: PathBuf,
    pub repo: PathBuf,
    pub billingd: PathBuf,
    pub admin_url: String,
    pub accounts: usize,
    pub throughput_subs: u64,
    pub throughput_rounds: u32,
    pub baseline_batch: u32,
    pub baseline_clients: u32,
    pub latency_subs: u64,
    pub latency_ms: u64,
    pub scale_small: u64,
    pub scale_large: u64,
    pub due_percent: f64,
    pub history: u32,
    pub sched_window_s: f64,
    pub sched_load: f64,
    pub sched_rate: f64,
    pub tick_timeout_s: u64,
    pub fix_experiment: bool,
    pub node: PathBuf,
    pub peer_concurrency: Vec<u32>,
    pub peer_processes: u32,
    pub replicas: Vec<u32>,
    pub replicas_subs: u64,
    pub replicas_latency_ms: u64,
    pub replicas_lease_s: u64,
    /// billingd's default heartbeat interval.
    pub tick: Duration,
}

pub const PHASES: [&str; 6] = [
    "throughput",
    "peer",
    "latency",
    "scale",
    "sched",
    "replicas",
];

pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid value")),
        Err(_) => Ok(default),
    }
}

/// A comma-separated list of numbers.
fn list<T: std::str::FromStr>(name: &str, default: &str) -> anyhow::Result<Vec<T>> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    let items = text
        .split(',')
        .map(|v| v.trim().parse().ok())
        .collect::<Option<Vec<T>>>();
    match items {
        Some(v) if !v.is_empty() => Ok(v),
        _ => bail!("{name}={text:?} is not a comma-separated list of numbers"),
    }
}

/// The command line's switches.
struct Args {
    quick: bool,
    perf: bool,
    keep: bool,
    phases: Vec<String>,
    out: Option<PathBuf>,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        quick: false,
        perf: false,
        keep: false,
        phases: PHASES.map(String::from).to_vec(),
        out: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => a.quick = true,
            "--perf" => a.perf = true,
            "--keep" => a.keep = true,
            "--only" => {
                a.phases = args
                    .next()
                    .context("--only needs a list")?
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .collect();
                if let Some(p) = a.phases.iter().find(|p| !PHASES.contains(&p.as_str())) {
                    bail!("unknown phase {p:?} ({})", PHASES.join(", "));
                }
            }
            "--out" => {
                a.out = Some(PathBuf::from(
                    args.next().context("--out needs a directory")?,
                ))
            }
            "-h" | "--help" => {
                print!("{HELP}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n\n{HELP}"),
        }
    }
    Ok(a)
}

impl Config {
    pub fn from_args() -> anyhow::Result<Config> {
        let a = args()?;
        let q = |full: u64, small: u64| if a.quick { small } else { full };
        let repo = std::env::current_dir()?;
        Ok(Config {
            quick: a.quick,
            phases: a.phases,
            perf: a.perf,
            keep: a.keep,
            billingd: env_or("BENCH_BILLINGD", repo.join("target/release/billingd"))?,
            out: a.out.unwrap_or_else(|| repo.join("target/bench")),
            admin_url: std::env::var("BILLINGD_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            accounts: env_or("BENCH_ACCOUNTS", q(300, 50) as usize)?,
            throughput_subs: env_or("BENCH_THROUGHPUT_SUBS", q(100_000, 10_000))?,
            throughput_rounds: env_or("BENCH_THROUGHPUT_ROUNDS", q(3, 1) as u32)?.max(1),
            baseline_batch: env_or("BENCH_BASELINE_BATCH", 100)?,
            baseline_clients: env_or("BENCH_BASELINE_CLIENTS", 2)?,
            latency_subs: env_or("BENCH_LATENCY_SUBS", q(20_000, 2_000))?,
            latency_ms: env_or("BENCH_LATENCY_MS", 200)?,
            scale_small: env_or("BENCH_SCALE_SMALL", 10_000)?,
            scale_large: env_or("BENCH_SCALE_LARGE", q(1_000_000, 100_000))?,
            due_percent: env_or("BENCH_DUE_PERCENT", 1.0)?,
            history: env_or("BENCH_HISTORY_CYCLES", q(10, 2) as u32)?,
            sched_window_s: env_or("BENCH_SCHED_WINDOW_S", q(60, 20) as f64)?,
            sched_load: env_or("BENCH_SCHED_LOAD", 0.5)?,
            sched_rate: env_or("BENCH_SCHED_RATE", 200.0)?,
            tick_timeout_s: env_or("BENCH_TICK_TIMEOUT_S", q(600, 120))?,
            fix_experiment: env_or("BENCH_FIX_EXPERIMENT", 0u8)? != 0,
            node: env_or("BENCH_NODE", PathBuf::from("node"))?,
            peer_concurrency: list(
                "BENCH_PEER_CONCURRENCY",
                if a.quick { "64" } else { "32,64,128" },
            )?,
            peer_processes: env_or("BENCH_PEER_PROCESSES", 1)?,
            replicas: list("BENCH_REPLICAS", "1,2,4")?,
            replicas_subs: env_or("BENCH_REPLICAS_SUBS", q(8_000, 3_000))?,
            replicas_latency_ms: env_or("BENCH_REPLICAS_LATENCY_MS", 50)?,
            replicas_lease_s: env_or("BENCH_REPLICAS_LEASE_S", 15)?,
            tick: crate::tick_interval(
                &billingd::config::Settings::default().scheduler.billing_cron,
            )?,
            repo,
        })
    }

    pub fn runs(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}
