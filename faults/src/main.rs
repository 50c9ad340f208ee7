//! `faults`: billingd's crash-and-fault campaign. Run it with `./scripts/faults` (`--long` for
//! the long run), which builds the binaries, starts a private Postgres and passes the hook
//! that restarts it.
//!
//! Three `billingd serve` replicas share one database and the gateway simulator. Waves of
//! subscriptions (both gateways; weekly, monthly, daily installments; cards that approve,
//! soft-decline, hard-decline or get terminated) are seeded with cycles already due and more
//! falling due during the run, while replicas are killed, terminated and stalled, Postgres is
//! restarted and both gateways fail, drop connections, answer slowly or time out. Then the
//! faults stop, the system settles, and the oracle (`oracle/`) compares the gateways'
//! ledgers with the database, cycle by cycle.
//!
//! One module a phase: `profile` (how big), `cluster` (processes), `plan`, `seed` and `waves`
//! (what is billed), `chaos` (the faults), `settle`, `oracle` (the verdict), `report`.

// The campaign runs real processes against real time (deadlines, log stamps, due dates of
// seeded waves): the wall clock is its clock, not a `Clock` to inject (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod api;
mod calendar;
mod chaos;
mod cluster;
mod oracle;
mod plan;
mod profile;
mod report;
mod seed;
mod series;
mod settle;
mod waves;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use chaos::Ctx;
use cluster::{Cluster, Sim, State};
use profile::Profile;
use report::Report;
use seed::SharedBook;

#[derive(Parser)]
#[command(about = "billingd's crash-and-fault campaign (run it with ./scripts/faults)")]
struct Args {
    /// The long campaign (≥ 300 kills, 10 Postgres restarts, ≥ 10,000 charges).
    #[arg(long)]
    long: bool,
    /// Seed of every random choice (seeds, fault instants); printed, so a run can be repeated.
    #[arg(long)]
    seed: Option<u64>,
    /// Admin URL of the campaign's own Postgres server (CREATE DATABASE works on it).
    #[arg(long, env = "BILLINGD_TEST_DATABASE_URL")]
    admin_url: String,
    /// Shell command that restarts that server; gets "fast" or "immediate" as $1.
    #[arg(long)]
    pg_restart: String,
    /// Where billingd and gateway-sim are.
    #[arg(long, default_value = "target/debug")]
    bin_dir: PathBuf,
    /// Logs, replica configs and the problems found.
    #[arg(long, default_value = "target/faults/run")]
    out: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("faults: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn with_database(admin: &str, db: &str) -> anyhow::Result<String> {
    let mut url = reqwest::Url::parse(admin).context("--admin-url")?;
    url.set_path(db);
    Ok(url.to_string())
}

async fn fresh_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let pool = PgPool::connect(admin)
        .await
        .context("connecting to Postgres")?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&pool)
    .await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await?;
    pool.close().await;
    with_database(admin, name)
}

pub fn log(msg: &str) {
    eprintln!("[faults] {msg}");
}

async fn run() -> anyhow::Result<bool> {
    let args = Args::parse();
    let profile = if args.long {
        Profile::long()
    } else {
        Profile::short()
    };
    let seed = args.seed.unwrap_or_else(rand::random);
    let out = args.out.clone();
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    log(&format!(
        "{} campaign, seed {seed}; logs in {}",
        profile.name,
        out.display()
    ));
    let (ctx, sim) = start(&args, &profile).await?;
    let book: SharedBook = Default::default();
    load_phase(&ctx, &profile, seed, &book).await?;
    let (settled, settle_time) = stop_faults_and_settle(&ctx, &profile).await?;
    // Stop the replicas the way an operator would; each must exit 0.
    let mut exits = Vec::new();
    for r in &ctx.cluster.replicas {
        let mut g = r.lock().await;
        exits.push(ctx.cluster.terminate(&mut g, Duration::from_secs(15)).await);
    }
    let snap = oracle::snapshot(&ctx.db, &ctx.api).await?;
    sim.stop().await;
    let book = book.lock().await;
    let verdict = oracle::check(&book, &snap);
    let stats = ctx.stats.lock().unwrap();
    let ok = Report {
        profile: &profile,
        seed,
        book: &book,
        snap: &snap,
        verdict: &verdict,
        stats: &stats,
        settled,
        settle_time,
        exits: &exits,
    }
    .print();
    write_artifacts(&out, &snap, &verdict, &stats)?;
    Ok(ok)
}

/// A fresh database, the simulator and three replicas up; the context the faults share.
async fn start(args: &Args, profile: &Profile) -> anyhow::Result<(Arc<Ctx>, Sim)> {
    let repo = std::env::current_dir()?;
    let out = &args.out;
    let db_url = fresh_database(&args.admin_url, "billingd_faults").await?;
    let sim = Sim::start(&args.bin_dir, out).await?;
    let cluster = Arc::new(Cluster::new(
        &args.bin_dir,
        &repo,
        out,
        &db_url,
        &sim.base,
        3,
    )?);
    for r in &cluster.replicas {
        let mut g = r.lock().await;
        cluster.start(&mut g).await?;
    }
    log(&format!("3 replicas up on API ports {:?}", cluster.ports));
    let db = PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(3))
        .connect(&db_url)
        .await?;
    let api = Arc::new(api::Api::new(cluster.ports.clone(), sim.base.clone()));
    let start = Instant::now();
    let ctx = Arc::new(Ctx {
        cluster,
        api,
        db,
        out: out.clone(),
        pg_restart: args.pg_restart.clone(),
        start,
        load_end: start + profile.load,
        stats: Default::default(),
    });
    Ok((ctx, sim))
}

/// The faults, each on its own schedule over the load phase, while the seeder adds waves of
/// subscriptions; returns when the load phase is over and every task has ended.
async fn load_phase(
    ctx: &Arc<Ctx>,
    profile: &Profile,
    seed: u64,
    book: &SharedBook,
) -> anyhow::Result<()> {
    let tasks = schedule_faults(ctx, profile, seed);
    let actions: waves::Actions = Default::default();
    let seeded = waves::seeder(
        ctx.clone(),
        book.clone(),
        actions.clone(),
        profile.waves,
        profile.per_wave,
        seed ^ 4,
    )
    .await;
    if let Err(e) = &seeded {
        log(&format!("seeding failed: {e:#}"));
    }
    tokio::time::sleep_until(ctx.load_end.into()).await;
    for t in tasks {
        let _ = t.await;
    }
    for a in std::mem::take(&mut *actions.lock().await) {
        let _ = a.await;
    }
    seeded
}

fn schedule_faults(
    ctx: &Arc<Ctx>,
    profile: &Profile,
    seed: u64,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let load = profile.load;
    let two = Duration::from_secs(2);
    let kill_times = chaos::spread(&mut rng, profile.kills, two, load - Duration::from_secs(5));
    let pg_times = chaos::spread(
        &mut rng,
        profile.pg_restarts,
        load.mul_f64(0.15),
        load.mul_f64(0.7),
    );
    let term_times = chaos::spread(
        &mut rng,
        profile.sigterms,
        Duration::from_secs(3),
        load.mul_f64(0.75),
    );
    let stall_times = chaos::spread(
        &mut rng,
        profile.stalls,
        load.mul_f64(0.2),
        load.mul_f64(0.6),
    );
    vec![
        tokio::spawn(chaos::killer(ctx.clone(), kill_times, seed ^ 1)),
        tokio::spawn(chaos::postgres(ctx.clone(), pg_times)),
        tokio::spawn(chaos::sigterm(ctx.clone(), term_times, seed ^ 2)),
        tokio::spawn(chaos::stall(ctx.clone(), stall_times, seed ^ 3)),
        tokio::spawn(chaos::expire_tokens(ctx.clone(), profile.token_every)),
        tokio::spawn(chaos::gateway(ctx.clone(), profile.outage_every)),
    ]
}

/// The gateways back to normal and every replica up, then wait for the work to settle.
async fn stop_faults_and_settle(ctx: &Ctx, profile: &Profile) -> anyhow::Result<(bool, Duration)> {
    chaos::set_gateway_faults(&ctx.api, &chaos::no_faults()).await?;
    for r in &ctx.cluster.replicas {
        let mut g = r.lock().await;
        match g.state {
            State::Down => ctx.cluster.start(&mut g).await?,
            State::Stalled => ctx.cluster.resume(&mut g).await,
            State::Running => {}
        }
    }
    let faults_over = Instant::now();
    log(&format!(
        "faults stopped after {:.0}s; every replica up; settling",
        ctx.elapsed()
    ));
    let (settled, last) = settle::settle(&ctx.db, profile.settle_timeout).await;
    let settle_time = faults_over.elapsed();
    log(&format!(
        "{} after {:.1}s: {last}",
        if settled { "settled" } else { "NOT settled" },
        settle_time.as_secs_f64(),
    ));
    Ok((settled, settle_time))
}

/// The gateways' side (for a look at any problem the oracle reports), the problems, and the
/// timeline of process and database faults.
fn write_artifacts(
    out: &std::path::Path,
    snap: &oracle::Snapshot,
    verdict: &oracle::Verdict,
    stats: &chaos::Stats,
) -> anyhow::Result<()> {
    std::fs::write(
        out.join("payroc-requests.json"),
        serde_json::to_vec(&snap.payroc_requests)?,
    )?;
    std::fs::write(
        out.join("certitrade-requests.json"),
        serde_json::to_vec(&snap.certitrade_requests)?,
    )?;
    let mut problems = verdict.problems.join("\n");
    problems.push('\n');
    std::fs::write(out.join("problems.txt"), problems)?;
    let timeline: Vec<String> = stats
        .timeline
        .iter()
        .map(|(t, w)| format!("{t:8.1}s {w}"))
        .collect();
    std::fs::write(out.join("timeline.txt"), timeline.join("\n") + "\n")?;
    Ok(())
}
