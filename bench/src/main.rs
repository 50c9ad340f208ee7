//! `bench`: billingd's benchmark (issue 6). Run it through `./scripts/bench`, which builds the
//! release binaries and makes sure Postgres runs.
//!
//! Every run happens in a scratch database created from `BILLINGD_TEST_DATABASE_URL` and
//! migrated by `billingd migrate`, seeded with SQL (generate_series), against the gateway
//! simulator running in this process with Payroc secure tokens issued through its API. The
//! daemon under test is the release binary as a child process (`run-once` or `serve`), so its
//! wall time, peak RSS and CPU come from wait4.
//!
//! 1. baseline: pgbench runs bench/baseline.sql (the minimum database work per charge, in
//!    batches) on the throughput database, just before billingd: charges/s.
//! 2. throughput: the same subscriptions due now, the simulator answering at once, one
//!    `billingd run-once`: charges/s end to end and the ratio to the baseline.
//! 3. latency: the simulator answering every sale 200 ms late: charges/s against the bound
//!    max_in_flight ÷ latency, and peak RSS.
//! 4. scale: stores of 10,000 and 1,000,000 subscriptions (1% due, with charge/attempt
//!    history): tick time, peak RSS, table sizes, and EXPLAIN (ANALYZE, BUFFERS) of the due
//!    scan and the claim on the large one.
//! 5. sched: `billingd serve` with the default heartbeat, subscriptions falling due
//!    throughout a window at a fraction of the measured throughput: due → request at the
//!    simulator.

mod db;
mod procs;
mod sim;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use sqlx::PgPool;

use db::Scratch;
use procs::{CpuMeter, CpuSplit, Finished, PgCpu};
use sim::Sim;

const HELP: &str = "\
bench — billingd's benchmark (issue 6); normally run as ./scripts/bench [--quick]

  --quick            small sizes, a smoke run of every figure (about 2 minutes)
  --only LIST        comma-separated phases: throughput,latency,scale,sched (default: all;
                     throughput includes the baseline)
  --perf             record `perf record -a -F 199` during the throughput run (needs perf)
  --keep             keep the scratch databases (billingd_bench_*) afterwards
  --out DIR          where logs, perf data and the report go (default target/bench)

Environment (defaults: full / --quick):
  BILLINGD_TEST_DATABASE_URL   admin URL (CREATE DATABASE); scripts/lib/postgres.sh sets it
  BENCH_PGBENCH                the pgbench to run (default: pgbench on PATH)
  BENCH_ACCOUNTS               Payroc tokens the subscriptions are spread over (300 / 50)
  BENCH_THROUGHPUT_SUBS        subscriptions due in the throughput run (100000 / 10000)
  BENCH_BASELINE_BATCH         charges per baseline transaction (100)
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
  BENCH_EXTRA_SQL              SQL run in every scratch database after the migrations (an
                               experiment: e.g. an index under consideration)
";

struct Config {
    quick: bool,
    phases: Vec<String>,
    perf: bool,
    keep: bool,
    out: PathBuf,
    repo: PathBuf,
    billingd: PathBuf,
    admin_url: String,
    accounts: usize,
    throughput_subs: u64,
    baseline_batch: u32,
    baseline_clients: u32,
    latency_subs: u64,
    latency_ms: u64,
    scale_small: u64,
    scale_large: u64,
    due_percent: f64,
    history: u32,
    sched_window_s: f64,
    sched_load: f64,
    sched_rate: f64,
    tick_timeout_s: u64,
    fix_experiment: bool,
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> anyhow::Result<T> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid value")),
        Err(_) => Ok(default),
    }
}

impl Config {
    fn from_args() -> anyhow::Result<Config> {
        let mut quick = false;
        let mut perf = false;
        let mut keep = false;
        let mut phases: Vec<String> = ["throughput", "latency", "scale", "sched"]
            .map(String::from)
            .to_vec();
        let repo = std::env::current_dir()?;
        let mut out = repo.join("target/bench");
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => quick = true,
                "--perf" => perf = true,
                "--keep" => keep = true,
                "--only" => {
                    phases = args
                        .next()
                        .context("--only needs a list")?
                        .split(',')
                        .map(|s| s.trim().to_owned())
                        .collect();
                    for p in &phases {
                        if !["throughput", "latency", "scale", "sched"].contains(&p.as_str()) {
                            bail!("unknown phase {p:?} (throughput, latency, scale, sched)");
                        }
                    }
                }
                "--out" => out = PathBuf::from(args.next().context("--out needs a directory")?),
                "-h" | "--help" => {
                    print!("{HELP}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument {other:?}\n\n{HELP}"),
            }
        }
        let q = |full: u64, small: u64| if quick { small } else { full };
        Ok(Config {
            quick,
            phases,
            perf,
            keep,
            billingd: repo.join("target/release/billingd"),
            out,
            admin_url: std::env::var("BILLINGD_TEST_DATABASE_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into()),
            accounts: env_or("BENCH_ACCOUNTS", q(300, 50) as usize)?,
            throughput_subs: env_or("BENCH_THROUGHPUT_SUBS", q(100_000, 10_000))?,
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
            repo,
        })
    }

    fn runs(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

/// The load average before and after a measurement.
#[derive(Debug, Clone, Copy)]
struct Load {
    start: [f64; 3],
    end: [f64; 3],
}

impl Load {
    fn show(&self) -> String {
        format!("{:.2}→{:.2}", self.start[0], self.end[0])
    }
}

/// One `billingd` (or pgbench) run.
#[derive(Debug, Clone, Copy)]
struct Run {
    finished: Finished,
    cpu: CpuSplit,
    load: Load,
    /// Charges approved by the run.
    charges: i64,
    /// Commits in the database and WAL bytes (cluster-wide) during the run.
    db: db::Counters,
    /// Stopped (SIGTERM) at the time limit before it finished.
    timed_out: bool,
}

impl Run {
    fn per_s(&self) -> f64 {
        self.charges as f64 / self.finished.wall.as_secs_f64()
    }
}

#[derive(Default)]
struct Results {
    baseline: Option<Run>,
    throughput: Option<Run>,
    throughput_summary: Option<serde_json::Value>,
    latency: Option<Run>,
    /// (run, stored, due)
    scale_small: Option<(Run, u64, u64)>,
    scale_large: Option<(Run, u64, u64)>,
    scale_fix: Option<(Run, u64, u64)>,
    sched: Option<(Run, db::SchedLatency, f64)>,
    explains: Vec<(String, String)>,
    sizes: Vec<(String, i64, i64)>,
    notes: Vec<String>,
    perf_report: Option<String>,
    /// Samples of pg_stat_activity during the throughput run.
    db_profile: Option<(u64, Vec<(String, u64)>)>,
}

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
    let tick = tick_interval(&defaults.scheduler.billing_cron)?;
    let admin = db::connect(&cfg.admin_url, 2).await?;
    let (data_dir, pg_version) = db::server_info(&admin).await?;
    let pg_cpu = PgCpu::new(&data_dir);
    if pg_cpu.is_none() {
        eprintln!("bench: cannot read {data_dir}/postmaster.pid: Postgres CPU is not measured");
    }
    let pg_conf: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, setting || coalesce(unit, '') FROM pg_settings WHERE name IN \
         ('shared_buffers', 'synchronous_commit', 'max_wal_size', 'work_mem') ORDER BY name",
    )
    .fetch_all(&admin)
    .await?;
    let mut r = Results::default();
    let started = Instant::now();

    if cfg.runs("throughput") {
        throughput(&cfg, &admin, pg_cpu.as_ref(), &mut r).await?;
    }
    if cfg.runs("latency") {
        latency(&cfg, &admin, pg_cpu.as_ref(), max_in_flight, &mut r).await?;
    }
    if cfg.runs("scale") {
        scale(&cfg, &admin, pg_cpu.as_ref(), &mut r).await?;
    }
    if cfg.runs("sched") {
        sched(&cfg, &admin, pg_cpu.as_ref(), tick, &mut r).await?;
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
fn tick_interval(cron: &str) -> anyhow::Result<Duration> {
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

fn now_epoch() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

fn log(msg: impl AsRef<str>) {
    eprintln!("bench: {} (load {:.2})", msg.as_ref(), procs::load()[0]);
}

/// A fresh simulator with its tokens, and a fresh scratch database holding one account per
/// token.
async fn prepare(cfg: &Config, admin: &PgPool, name: &str) -> anyhow::Result<(Sim, Scratch)> {
    let sim = Sim::start().await?;
    let tokens = sim.tokens(cfg.accounts).await?;
    let db = Scratch::create(admin, &cfg.admin_url, name, &cfg.billingd).await?;
    db.insert_accounts(&tokens).await?;
    Ok((sim, db))
}

async fn finish_db(cfg: &Config, admin: &PgPool, db: Scratch) -> anyhow::Result<()> {
    if cfg.keep {
        eprintln!("bench: kept database {}", db.name);
        Ok(())
    } else {
        db.drop_database(admin).await
    }
}

/// `billingd` with the scratch database and the simulator, configured the way an operator
/// would (environment variables), everything else at its defaults.
fn billingd(cfg: &Config, db: &Scratch, sim: &Sim, args: &[&str]) -> Command {
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

/// Runs `billingd run-once` and measures it; returns the run and its printed summary.
async fn run_once(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    tag: &str,
    timeout: Option<Duration>,
) -> anyhow::Result<(Run, serde_json::Value)> {
    let out = cfg.out.join(format!("{tag}.stdout"));
    let err = cfg.out.join(format!("{tag}.log"));
    let (approved0, _) = db.charge_counts().await?;
    let c0 = db.counters().await?;
    let start = procs::load();
    let meter = CpuMeter::start(pg);
    let child = procs::start(&mut billingd(cfg, db, sim, &["run-once"]), &out, &err)?;
    let (finished, timed_out) = child.finish_within(timeout).await?;
    let cpu = meter.end(finished.cpu_s);
    let load = Load {
        start,
        end: procs::load(),
    };
    let summary: serde_json::Value = if timed_out {
        serde_json::json!({"stopped_after_s": timeout.map(|t| t.as_secs())})
    } else {
        if finished.exit_code != 0 {
            bail!(
                "billingd run-once ({tag}) exited {}; see {}",
                finished.exit_code,
                err.display()
            );
        }
        serde_json::from_str(&std::fs::read_to_string(&out)?)
            .with_context(|| format!("reading the run summary in {}", out.display()))?
    };
    let (approved, _) = db.charge_counts().await?;
    let db_delta = counters_since(db, c0).await?;
    Ok((
        Run {
            finished,
            cpu,
            load,
            charges: approved - approved0,
            db: db_delta,
            timed_out,
        },
        summary,
    ))
}

/// Commits and WAL since `c0`, once the statistics of the ended connections are in.
async fn counters_since(db: &Scratch, c0: db::Counters) -> anyhow::Result<db::Counters> {
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let c1 = db.counters().await?;
    // The counting query itself commits once.
    Ok(db::Counters {
        commits: c1.commits - c0.commits - 1,
        wal_bytes: c1.wal_bytes - c0.wal_bytes,
    })
}

/// Checks that every due subscription was charged once, and nothing was sent twice.
async fn check_exactly_once(
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

async fn throughput(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    let n = cfg.throughput_subs;
    log(format!("throughput: seeding {n} due subscriptions"));
    let (sim, db) = prepare(cfg, admin, "billingd_bench_throughput").await?;
    // All due within the last minutes, 0.5 ms apart.
    let step = 0.0005;
    db.seed_subscriptions(n, now_epoch() - 120.0 - n as f64 * step, step, 0)
        .await?;
    db.settle().await?;

    // 1. The baseline, on the same database just before billingd.
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
    let c0 = db.counters().await?;
    let start = procs::load();
    let meter = CpuMeter::start(pg);
    let child = procs::start(
        &mut cmd,
        &cfg.out.join("baseline.stdout"),
        &cfg.out.join("baseline.log"),
    )?;
    let finished = child.finish().await?;
    let cpu = meter.end(finished.cpu_s);
    let load = Load {
        start,
        end: procs::load(),
    };
    if finished.exit_code != 0 {
        bail!(
            "pgbench exited {}; see {}",
            finished.exit_code,
            cfg.out.join("baseline.log").display()
        );
    }
    let (approved, _) = db.charge_counts().await?;
    if approved != n as i64 {
        r.notes.push(format!(
            "baseline: {approved} charges approved, expected {n}"
        ));
    }
    r.baseline = Some(Run {
        finished,
        cpu,
        load,
        charges: approved,
        db: counters_since(&db, c0).await?,
        timed_out: false,
    });
    log(format!(
        "baseline: {:.0} charges/s",
        r.baseline.as_ref().unwrap().per_s()
    ));

    // 2. billingd on the same subscriptions, reset to unbilled.
    db.reset_billing().await?;
    log("throughput: billingd run-once");
    let perf = if cfg.perf {
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
    let (run, summary) = run_once(cfg, &db, &sim, pg, "throughput", None).await?;
    let _ = stop.send(true);
    r.db_profile = Some(sampler.await??);
    if let Some((perf, data)) = perf {
        perf.signal(libc::SIGINT);
        perf.finish().await?;
        r.perf_report = Some(perf_report(&data));
    }
    check_exactly_once(&db, n, "throughput", r).await?;
    log(format!("throughput: {:.0} charges/s", run.per_s()));
    r.throughput = Some(run);
    r.throughput_summary = Some(summary);
    drop(sim);
    finish_db(cfg, admin, db).await
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

async fn latency(
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

async fn scale(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    let defaults = billingd::config::Settings::default();
    let limit = Some(Duration::from_secs(cfg.tick_timeout_s));
    for (large, total) in [(false, cfg.scale_small), (true, cfg.scale_large)] {
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
        db.settle().await?;
        let mut fixed = None;
        if large {
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
            let (run, _) = run_once(cfg, &fixed, &sim, pg, "scale-fix", limit).await?;
            log(format!(
                "scale: 4b tick {:.2} s, {} charged, peak RSS {:.1} MiB",
                run.finished.wall.as_secs_f64(),
                run.charges,
                run.finished.max_rss_mib()
            ));
            r.scale_fix = Some((run, total, due));
            finish_db(cfg, admin, fixed).await?;
        }
        drop(sim);
    }
    Ok(())
}

async fn sched(
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
    let start = procs::load();
    let meter = CpuMeter::start(pg);
    let child = procs::start(
        &mut billingd(cfg, &db, &sim, &["serve"]),
        &cfg.out.join("sched.stdout"),
        &cfg.out.join("sched.log"),
    )?;
    // Wait for the window to close and the heartbeat after it, then for every charge to be
    // sent (at most two minutes more).
    let closes = first_due + window + tick.as_secs_f64() + 1.0;
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

struct Env {
    max_in_flight: usize,
    tick: Duration,
    cron: String,
    claim_batch: u32,
    materialize_batch: u32,
    pool: u32,
    pg_version: String,
    pg_conf: Vec<(String, String)>,
    elapsed: Duration,
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(str::trim)
        .unwrap_or("unknown CPU");
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem_kib: f64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    format!(
        "{cpus} CPUs ({model}), {:.1} GiB RAM",
        mem_kib / 1024.0 / 1024.0
    )
}

/// The commit measured, and whether billingd's sources differed from it.
fn source_state(repo: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "not a git checkout".into();
    };
    let changed = git(&[
        "status",
        "--porcelain",
        "--",
        "src",
        "migrations",
        "Cargo.lock",
    ])
    .map(|s| s.lines().count())
    .unwrap_or(0);
    if changed == 0 {
        format!("git {head}, billingd's sources as committed")
    } else {
        format!("git {head} + {changed} uncommitted changes in src/, migrations/ or Cargo.lock")
    }
}

fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

fn report(cfg: &Config, r: &Results, env: &Env) -> String {
    let mut o = String::new();
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "billingd benchmark ({}), {}",
        if cfg.quick {
            "--quick sizes"
        } else {
            "full sizes"
        },
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(o, "machine:  {}", machine());
    let _ = writeln!(o, "source:   {}", source_state(&cfg.repo));
    let conf: Vec<String> = env
        .pg_conf
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(o, "postgres: {} ({})", env.pg_version, conf.join(", "));
    let _ = writeln!(
        o,
        "billingd: release build, defaults: max_in_flight {}, claim_batch {}, materialize_batch {}, pool {}, heartbeat \"{}\"",
        env.max_in_flight, env.claim_batch, env.materialize_batch, env.pool, env.cron
    );
    let _ = writeln!(
        o,
        "load:     1-minute load average at the start→end of each measurement (2 cores shared with other work)"
    );
    let _ = writeln!(o);
    let rows: &mut Vec<[String; 5]> = &mut Vec::new();
    let baseline = r.baseline.map(|b| b.per_s());
    if let Some(b) = &r.baseline {
        rows.push([
            format!(
                "1 baseline: pgbench bench/baseline.sql, {} × {} charges/txn",
                cfg.baseline_clients, cfg.baseline_batch
            ),
            format!(
                "{} charges/s ({} in {:.1} s)",
                thousands(b.per_s()),
                thousands(b.charges as f64),
                b.finished.wall.as_secs_f64()
            ),
            "—".into(),
            "".into(),
            b.load.show(),
        ]);
    }
    let mut throughput_ratio = f64::NAN;
    if let Some(t) = &r.throughput {
        throughput_ratio = baseline.map(|b| t.per_s() / b).unwrap_or(f64::NAN);
        rows.push([
            format!(
                "2 throughput: {} due, simulator instant, 1 daemon",
                thousands(cfg.throughput_subs as f64)
            ),
            format!(
                "{} charges/s ({:.1} s), {:.2} × baseline",
                thousands(t.per_s()),
                t.finished.wall.as_secs_f64(),
                throughput_ratio
            ),
            "≥ 0.5 × baseline".into(),
            yes(throughput_ratio >= 0.5).into(),
            t.load.show(),
        ]);
    }
    let mut latency_ratio = f64::NAN;
    if let Some(l) = &r.latency {
        let bound = env.max_in_flight as f64 * 1000.0 / cfg.latency_ms as f64;
        latency_ratio = l.per_s() / bound;
        rows.push([
            format!(
                "3 gateway latency: {} due, every answer {} ms late",
                thousands(cfg.latency_subs as f64),
                cfg.latency_ms
            ),
            format!(
                "{:.1} charges/s = {:.3} × ({} in flight ÷ {} ms = {:.0}/s); peak RSS {:.1} MiB",
                l.per_s(),
                latency_ratio,
                env.max_in_flight,
                cfg.latency_ms,
                bound,
                l.finished.max_rss_mib()
            ),
            "≥ 0.9 × bound, RSS bounded".into(),
            yes(latency_ratio >= 0.9).into(),
            l.load.show(),
        ]);
    }
    let mut rss_small = f64::NAN;
    let mut rss_large = f64::NAN;
    let thr_ms = r
        .throughput
        .map(|t| t.finished.wall.as_secs_f64() * 1000.0 / t.charges.max(1) as f64);
    let tick = |run: &Run, due: u64| {
        if run.timed_out {
            format!(
                "tick > {:.0} s (stopped: {} of {} charged)",
                run.finished.wall.as_secs_f64(),
                thousands(run.charges as f64),
                thousands(due as f64)
            )
        } else {
            format!(
                "tick {:.2} s = {:.3} ms/charge",
                run.finished.wall.as_secs_f64(),
                run.finished.wall.as_secs_f64() * 1000.0 / run.charges.max(1) as f64
            )
        }
    };
    if let Some((s, total, due)) = &r.scale_small {
        rss_small = s.finished.max_rss_mib();
        rows.push([
            format!(
                "4 scale: {} stored, {} due, {} billed cycles each",
                thousands(*total as f64),
                thousands(*due as f64),
                cfg.history
            ),
            format!("{}; peak RSS {:.1} MiB", tick(s, *due), rss_small),
            "—".into(),
            "".into(),
            s.load.show(),
        ]);
    }
    if let Some((l, total, due)) = &r.scale_large {
        rss_large = l.finished.max_rss_mib();
        rows.push([
            format!(
                "4 scale: {} stored, {} due, {} billed cycles each",
                thousands(*total as f64),
                thousands(*due as f64),
                cfg.history
            ),
            format!(
                "peak RSS {:.1} MiB = 10k store + {:.1} MiB",
                rss_large,
                rss_large - rss_small
            ),
            "RSS ≤ 10k store + 32 MiB".into(),
            yes(rss_large - rss_small <= 32.0).into(),
            l.load.show(),
        ]);
        let per = l.finished.wall.as_secs_f64() * 1000.0 / l.charges.max(1) as f64;
        rows.push([
            "4 scale: the same tick, time per charge".into(),
            format!(
                "{}{}",
                tick(l, *due),
                thr_ms
                    .map(|t| format!(" (run 2: {t:.3} ms/charge)"))
                    .unwrap_or_default()
            ),
            "stays fast: ≤ 2 × run 2 per charge".into(),
            yes(!l.timed_out && thr_ms.is_some_and(|t| per <= 2.0 * t)).into(),
            l.load.show(),
        ]);
    }
    if let Some((f, _, due)) = &r.scale_fix {
        rows.push([
            "4b experiment, same store: ANALYZE after materializing".into(),
            format!(
                "{}; peak RSS {:.1} MiB",
                tick(f, *due),
                f.finished.max_rss_mib()
            ),
            "(not billingd as shipped)".into(),
            "".into(),
            f.load.show(),
        ]);
    }
    let mut p99 = f64::NAN;
    if let Some((s, lat, rate)) = &r.sched {
        p99 = lat.p99_ms;
        let target = env.tick.as_secs_f64() * 1000.0 + 1000.0;
        rows.push([
            format!(
                "5 scheduling latency: serve, {} falling due over {:.0} s ({:.0}/s)",
                thousands(lat.charges as f64),
                cfg.sched_window_s,
                rate
            ),
            format!(
                "due→at the gateway p50 {} ms, p99 {} ms, max {} ms (after the tick: p50 {} ms, p99 {} ms); peak RSS {:.1} MiB",
                thousands(lat.p50_ms),
                thousands(lat.p99_ms),
                thousands(lat.max_ms),
                thousands(lat.after_tick_p50_ms),
                thousands(lat.after_tick_p99_ms),
                s.finished.max_rss_mib()
            ),
            format!("p99 ≤ {} ms", thousands(target)),
            yes(lat.p99_ms <= target).into(),
            s.load.show(),
        ]);
    }
    table(
        &mut o,
        &["figure", "measured", "target", "met", "load"],
        rows,
    );

    // Where the CPU went.
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Per charge: CPU (µs) of the client (billingd or pgbench), of Postgres (all its processes) and of the in-process simulator; commits; WAL"
    );
    let mut cpu_rows: Vec<[String; 7]> = Vec::new();
    let mut cpu_row = |name: &str, run: &Run| {
        let per = |s: f64| s * 1e6 / run.charges.max(1) as f64;
        let wall = run.finished.wall.as_secs_f64();
        cpu_rows.push([
            name.to_owned(),
            format!("{:.0}", per(run.cpu.client)),
            format!("{:.0}", per(run.cpu.postgres)),
            format!("{:.0}", per(run.cpu.simulator)),
            format!(
                "{:.0} µs; {:.2} of 2 cores busy",
                per(run.cpu.total()),
                run.cpu.total() / wall
            ),
            format!("{:.3}", run.db.commits as f64 / run.charges.max(1) as f64),
            format!("{:.0}", run.db.wal_bytes / run.charges.max(1) as f64),
        ]);
    };
    if let Some(b) = &r.baseline {
        cpu_row("baseline (pgbench)", b);
    }
    if let Some(t) = &r.throughput {
        cpu_row("throughput (billingd)", t);
    }
    if let Some(l) = &r.latency {
        cpu_row("latency (billingd)", l);
    }
    if let Some((s, _, _)) = &r.scale_small {
        cpu_row("scale 10k (billingd)", s);
    }
    if let Some((l, _, _)) = &r.scale_large {
        cpu_row("scale 1M (billingd)", l);
    }
    if let Some((f, _, _)) = &r.scale_fix {
        cpu_row("scale 1M, 4b (billingd)", f);
    }
    if let Some((s, _, _)) = &r.sched {
        cpu_row("sched (billingd serve)", s);
    }
    table(
        &mut o,
        &[
            "run",
            "client",
            "postgres",
            "simulator",
            "total",
            "commits/charge",
            "WAL bytes/charge",
        ],
        &cpu_rows,
    );
    if let Some(s) = &r.throughput_summary {
        let _ = writeln!(o, "throughput run summary: {s}");
    }
    if let Some((samples, counts)) = &r.db_profile {
        let _ = writeln!(o);
        let _ = writeln!(
            o,
            "database time by statement, throughput run: pg_stat_activity sampled every 10 ms ({samples} samples);"
        );
        let _ = writeln!(
            o,
            "  average number of billingd's backends in each statement [wait event] (sum = average busy backends)"
        );
        let total: u64 = counts.iter().map(|(_, n)| n).sum();
        for (what, n) in counts.iter().take(16) {
            let _ = writeln!(
                o,
                "  {:>6.3}  {:>5.1}%  {what}",
                *n as f64 / (*samples).max(1) as f64,
                *n as f64 * 100.0 / total.max(1) as f64
            );
        }
    }
    if !r.sizes.is_empty() {
        let _ = writeln!(o);
        let _ = writeln!(o, "large store, before its tick:");
        for (t, rows, bytes) in &r.sizes {
            let _ = writeln!(
                o,
                "  {t:<16} {:>12} rows {:>10.1} MiB",
                thousands(*rows as f64),
                *bytes as f64 / 1048576.0
            );
        }
    }
    for (title, plan) in &r.explains {
        let _ = writeln!(o);
        let _ = writeln!(o, "EXPLAIN (ANALYZE, BUFFERS) — {title}:");
        for l in plan.lines() {
            let _ = writeln!(o, "  {l}");
        }
    }
    if let Some(p) = &r.perf_report {
        let _ = writeln!(o);
        let _ = writeln!(o, "perf (throughput run, system-wide):");
        for l in p.lines() {
            let _ = writeln!(o, "  {l}");
        }
    }
    if !r.notes.is_empty() {
        let _ = writeln!(o);
        for n in &r.notes {
            let _ = writeln!(o, "WARNING: {n}");
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "bench took {:.0} s; logs in {}",
        env.elapsed.as_secs_f64(),
        cfg.out.display()
    );
    let f = |v: f64, digits: usize| {
        if v.is_nan() {
            "n/a".to_owned()
        } else {
            format!("{v:.digits$}")
        }
    };
    let _ = writeln!(o, "throughput_ratio: {}", f(throughput_ratio, 3));
    let _ = writeln!(o, "latency_bound_ratio: {}", f(latency_ratio, 3));
    let _ = writeln!(o, "rss_10k_mib: {}", f(rss_small, 1));
    let _ = writeln!(o, "rss_1m_mib: {}", f(rss_large, 1));
    let _ = writeln!(o, "sched_latency_p99_ms: {}", f(p99, 0));
    let _ = writeln!(o, "tick_interval_ms: {}", env.tick.as_millis());
    o
}

/// A plain-text table, columns padded to their widest cell.
fn table<const N: usize>(o: &mut String, head: &[&str; N], rows: &[[String; N]]) {
    let mut widths = head.map(|h| h.chars().count());
    for row in rows.iter() {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |o: &mut String, cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
            .collect();
        let _ = writeln!(o, "{}", padded.join(" | ").trim_end());
    };
    line(o, head.to_vec());
    let _ = writeln!(
        o,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-+-")
    );
    for row in rows.iter() {
        line(o, row.iter().map(String::as_str).collect());
    }
}
