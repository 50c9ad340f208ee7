//! `faults`: billingd's crash-and-fault campaign. Run it with `./scripts/faults` (`--long` for
//! the long run), which builds the binaries, starts a private Postgres and passes the hook
//! that restarts it.
//!
//! Three `billingd serve` replicas share one database and the gateway simulator. Waves of
//! subscriptions (both gateways; weekly, monthly, daily installments; cards that approve,
//! soft-decline, hard-decline or get terminated) are seeded with cycles already due and more
//! falling due during the run, while replicas are killed, terminated and stalled, Postgres is
//! restarted and both gateways fail, drop connections, answer slowly or time out. Then the
//! faults stop, the system settles, and the oracle (`oracle.rs`) compares the gateways'
//! ledgers with the database, cycle by cycle.

mod api;
mod calendar;
mod chaos;
mod cluster;
mod oracle;
mod seed;
mod series;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use jiff::SignedDuration;
use rand::SeedableRng;
use rand::rngs::StdRng;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use chaos::Ctx;
use cluster::{Cluster, Sim, State};
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

/// How big a campaign is.
struct Profile {
    name: &'static str,
    load: Duration,
    waves: usize,
    per_wave: usize,
    kills: usize,
    pg_restarts: usize,
    sigterms: usize,
    stalls: usize,
    token_every: Duration,
    outage_every: Duration,
    settle_timeout: Duration,
    min_kills: usize,
    min_pg_restarts: usize,
    min_charges: usize,
    min_hit: usize,
}

impl Profile {
    fn short() -> Profile {
        Profile {
            name: "short",
            load: Duration::from_secs(80),
            waves: 8,
            per_wave: 80,
            kills: 26,
            pg_restarts: 1,
            sigterms: 1,
            stalls: 1,
            token_every: Duration::from_secs(10),
            outage_every: Duration::from_secs(20),
            settle_timeout: Duration::from_secs(60),
            min_kills: 20,
            min_pg_restarts: 1,
            min_charges: 500,
            min_hit: 100,
        }
    }

    fn long() -> Profile {
        Profile {
            name: "long",
            load: Duration::from_secs(720),
            waves: 40,
            per_wave: 100,
            kills: 330,
            pg_restarts: 11,
            sigterms: 8,
            stalls: 8,
            token_every: Duration::from_secs(15),
            outage_every: Duration::from_secs(40),
            settle_timeout: Duration::from_secs(180),
            min_kills: 300,
            min_pg_restarts: 10,
            min_charges: 10_000,
            min_hit: 3_000,
        }
    }
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

fn log(msg: &str) {
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
    let repo = std::env::current_dir()?;
    let out = args.out.clone();
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out)?;
    log(&format!(
        "{} campaign, seed {seed}; logs in {}",
        profile.name,
        out.display()
    ));

    let db_url = fresh_database(&args.admin_url, "billingd_faults").await?;
    let sim = Sim::start(&args.bin_dir, &out).await?;
    let cluster = Arc::new(Cluster::new(
        &args.bin_dir,
        &repo,
        &out,
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
        cluster: cluster.clone(),
        api: api.clone(),
        db: db.clone(),
        out: out.clone(),
        pg_restart: args.pg_restart.clone(),
        start,
        load_end: start + profile.load,
        stats: Default::default(),
    });
    let mut rng = StdRng::seed_from_u64(seed);
    let load = profile.load;
    let kill_times = chaos::spread(
        &mut rng,
        profile.kills,
        Duration::from_secs(2),
        load - Duration::from_secs(5),
    );
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
    let tasks = vec![
        tokio::spawn(chaos::killer(ctx.clone(), kill_times, seed ^ 1)),
        tokio::spawn(chaos::postgres(ctx.clone(), pg_times)),
        tokio::spawn(chaos::sigterm(ctx.clone(), term_times, seed ^ 2)),
        tokio::spawn(chaos::stall(ctx.clone(), stall_times, seed ^ 3)),
        tokio::spawn(chaos::expire_tokens(ctx.clone(), profile.token_every)),
        tokio::spawn(chaos::gateway(ctx.clone(), profile.outage_every)),
    ];
    let book: SharedBook = Default::default();
    let actions: Arc<tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = Default::default();
    let seeded = seeder(
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
    seeded?;
    chaos::set_gateway_faults(&api, &chaos::no_faults()).await?;
    for r in &cluster.replicas {
        let mut g = r.lock().await;
        match g.state {
            State::Down => cluster.start(&mut g).await?,
            State::Stalled => cluster.resume(&mut g).await,
            State::Running => {}
        }
    }
    let faults_over = Instant::now();
    log(&format!(
        "faults stopped after {:.0}s; every replica up; settling",
        ctx.elapsed()
    ));
    let settled = settle(&db, profile.settle_timeout).await;
    let settle_time = faults_over.elapsed();
    log(&format!(
        "{} after {:.1}s: {}",
        if settled.0 { "settled" } else { "NOT settled" },
        settle_time.as_secs_f64(),
        settled.1
    ));

    // Stop the replicas the way an operator would; each must exit 0.
    let mut exits = Vec::new();
    for r in &cluster.replicas {
        let mut g = r.lock().await;
        exits.push(cluster.terminate(&mut g, Duration::from_secs(15)).await);
    }
    let snap = oracle::snapshot(&db, &api).await?;
    // The gateways' side, kept for a look at any problem the oracle reports.
    std::fs::write(
        out.join("payroc-requests.json"),
        serde_json::to_vec(&snap.payroc_requests)?,
    )?;
    std::fs::write(
        out.join("certitrade-requests.json"),
        serde_json::to_vec(&snap.certitrade_requests)?,
    )?;
    sim.stop().await;
    let book = book.lock().await;
    let verdict = oracle::check(&book, &snap);
    let stats = ctx.stats.lock().unwrap();
    let ok = report(
        &profile,
        seed,
        &book,
        &snap,
        &verdict,
        &stats,
        settled.0,
        settle_time,
        &exits,
    );
    let mut problems = verdict.problems.join("\n");
    problems.push('\n');
    std::fs::write(out.join("problems.txt"), problems)?;
    let timeline: Vec<String> = stats
        .timeline
        .iter()
        .map(|(t, w)| format!("{t:8.1}s {w}"))
        .collect();
    std::fs::write(out.join("timeline.txt"), timeline.join("\n") + "\n")?;
    Ok(ok)
}

/// Waves of subscriptions over the first 70% of the run; each wave's merchant actions are
/// scheduled as tasks.
async fn seeder(
    ctx: Arc<Ctx>,
    book: SharedBook,
    actions: Arc<tokio::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    waves: usize,
    per_wave: usize,
    seed: u64,
) -> anyhow::Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let spacing = (ctx.load_end - ctx.start).mul_f64(0.7) / waves as u32;
    for w in 0..waves {
        if !ctx_sleep(&ctx, spacing * w as u32).await {
            break;
        }
        let planned = Instant::now();
        let until_end = SignedDuration::try_from(ctx.load_end - planned)?;
        let first = book.lock().await.specs.len();
        let specs = seed::plan_wave(&mut rng, first, per_wave, jiff::Timestamp::now(), until_end);
        let n = seed::seed_wave(&ctx.api, &book, specs).await?;
        let b = book.lock().await;
        for spec in &b.specs[first..first + n] {
            if let (Some((action, at)), Some(sub), Some(account)) =
                (spec.action, spec.subscription, spec.account)
            {
                let after = Duration::try_from(at)
                    .unwrap_or_default()
                    .saturating_sub(planned.elapsed());
                let task = tokio::spawn(chaos::merchant_action(
                    ctx.clone(),
                    action,
                    sub,
                    account,
                    after,
                ));
                actions.lock().await.push(task);
            }
        }
        log(&format!(
            "wave {}/{waves}: {} subscriptions seeded at {:.0}s (took {:.1}s)",
            w + 1,
            n,
            ctx.elapsed(),
            planned.elapsed().as_secs_f64()
        ));
    }
    Ok(())
}

async fn ctx_sleep(ctx: &Ctx, offset: Duration) -> bool {
    let at = ctx.start + offset;
    if at >= ctx.load_end {
        return false;
    }
    tokio::time::sleep_until(at.into()).await;
    true
}

/// Waits until nothing is left to do: no subscription with a cycle due and not yet a charge,
/// no open charge on an active account and subscription, no charge whose request is written
/// down but not completed, no live lease. Checked twice, a second apart.
async fn settle(db: &PgPool, timeout: Duration) -> (bool, String) {
    let started = Instant::now();
    let mut last = String::new();
    let mut quiet_since: Option<Instant> = None;
    let mut next_note = Instant::now() + Duration::from_secs(10);
    while started.elapsed() < timeout {
        let row: Result<(i64, i64, i64, i64), _> = sqlx::query_as(
            "SELECT \
               (SELECT count(*) FROM subscriptions WHERE status = 'active' AND next_due_at <= now()), \
               (SELECT count(*) FROM charges c JOIN payment_accounts a ON a.id = c.account_id \
                  JOIN subscriptions s ON s.id = c.subscription_id \
                  WHERE c.status = 'due' AND a.state = 'active' AND s.status = 'active' \
                    AND c.request_body IS NULL), \
               (SELECT count(*) FROM charges WHERE status = 'due' AND request_body IS NOT NULL), \
               (SELECT count(*) FROM charges WHERE lease_expires_at > now())",
        )
        .fetch_one(db)
        .await;
        match row {
            Ok((unmaterialized, open, written, leased)) => {
                last = format!(
                    "{unmaterialized} cycles not materialized, {open} charges open, \
                     {written} written down and not completed, {leased} leased"
                );
                if unmaterialized + open + written + leased == 0 {
                    match quiet_since {
                        Some(t) if t.elapsed() >= Duration::from_secs(1) => return (true, last),
                        Some(_) => {}
                        None => quiet_since = Some(Instant::now()),
                    }
                } else {
                    quiet_since = None;
                }
            }
            Err(e) => last = format!("database: {e}"),
        }
        if Instant::now() > next_note {
            log(&format!("settling: {last}"));
            next_note += Duration::from_secs(10);
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (false, last)
}

#[allow(clippy::too_many_arguments)]
fn report(
    profile: &Profile,
    seed: u64,
    book: &seed::Book,
    snap: &oracle::Snapshot,
    v: &oracle::Verdict,
    stats: &chaos::Stats,
    settled: bool,
    settle_time: Duration,
    exits: &[Option<i32>],
) -> bool {
    let mut requirements: Vec<(String, bool)> = Vec::new();
    let kills = stats.kills as usize;
    let pg = stats.pg_restarts.len();
    println!();
    println!(
        "billingd crash-and-fault campaign — {} run, seed {seed}, {:.0}s of faults",
        profile.name,
        profile.load.as_secs_f64()
    );
    println!(
        "seeded: {} subscriptions ({} payroc, {} certitrade)",
        book.specs.len(),
        book.specs
            .iter()
            .filter(|s| s.kind.gateway() == "payroc")
            .count(),
        book.specs
            .iter()
            .filter(|s| s.kind.gateway() == "certitrade")
            .count()
    );
    print!("{}", oracle::render(v));
    let statuses: Vec<String> = v
        .charges_by_status
        .iter()
        .map(|(s, n)| format!("{s} {n}"))
        .collect();
    println!("charges: {} ({})", v.charges, statuses.join(", "));
    println!(
        "approved sales at the gateways: {} (payroc {}, certitrade {})",
        snap.sales.len(),
        v.sales_by_gateway.get("payroc").copied().unwrap_or(0),
        v.sales_by_gateway.get("certitrade").copied().unwrap_or(0)
    );
    println!("faults by kind:");
    println!("  kill -9 of a replica (restarted after 0.2-2.5 s)     {kills:>6}");
    let graceful = stats
        .sigterms
        .iter()
        .filter(|s| s.exit_code == Some(0))
        .count();
    println!(
        "  SIGTERM under load                                   {:>6}  (exit 0: {graceful}; charges leased by it: {})",
        stats.sigterms.len(),
        stats
            .sigterms
            .iter()
            .map(|s| s.leased.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  replica stalled {}s, past its leases (SIGSTOP)      {:>6}",
        chaos::STALL.as_secs(),
        stats.stalls
    );
    let longest_pg = stats
        .pg_restarts
        .iter()
        .map(|(_, d)| d.as_secs_f64())
        .fold(0.0, f64::max);
    println!(
        "  Postgres restarts (fast and immediate)               {pg:>6}  (longest {longest_pg:.1}s)"
    );
    println!(
        "  bearer tokens expired at the gateway                 {:>6}",
        stats.token_expiries
    );
    println!(
        "  gateway incidents (4 s of 60% 5xx, 4 s of 50% held)  {:>6}",
        stats.outages
    );
    println!("  gateway faults                                          payroc  certitrade");
    let mut kinds_missing = Vec::new();
    for (label, p, c) in oracle::gateway_faults(snap) {
        println!("    {label:<50} {p:>6}  {c:>10}");
        if p + c == 0 {
            kinds_missing.push(label);
        }
    }
    let cancels = snap
        .subs
        .iter()
        .filter(|s| s.cancelled_at.is_some())
        .count();
    println!(
        "  merchant: subscriptions cancelled {cancels}, accounts suspended {}",
        snap.merchant_suspended.len()
    );
    let mut hit: HashSet<Uuid> = v.gateway_hit.clone();
    let mut parts = Vec::new();
    for (kind, ids) in &stats.hit {
        hit.extend(ids);
        parts.push(format!("{kind} {}", ids.len()));
    }
    parts.push(format!(
        "gateway timeout/5xx/drop or cut off {}",
        v.gateway_hit.len()
    ));
    println!(
        "charges in flight when a fault hit: {} ({})",
        hit.len(),
        parts.join(", ")
    );
    println!(
        "settled {:.1}s after the faults stopped{}",
        settle_time.as_secs_f64(),
        if settled { "" } else { " — NOT SETTLED" }
    );
    if let Some((secs, id)) = v.longest_charge {
        println!(
            "longest time to settle a charge: {secs:.1}s (first request to recorded outcome; charge {id})"
        );
    }
    println!(
        "replicas stopped with SIGTERM at the end: exit codes {:?}",
        exits
    );
    println!(
        "leases left: {}, charges in flight forever: {}, unexpected charges: {}",
        v.leases_left, v.in_flight_forever, v.unexpected
    );
    println!("duplicates: {}", v.duplicates);
    println!("lost: {}", v.lost);
    println!("mismatches: {}", v.mismatches);
    println!("failed but approved: {}", v.failed_but_approved);
    println!("series broken: {}", v.series_broken);

    requirements.push((
        format!("kills ≥ {}", profile.min_kills),
        kills >= profile.min_kills,
    ));
    requirements.push((
        format!("Postgres restarts ≥ {}", profile.min_pg_restarts),
        pg >= profile.min_pg_restarts,
    ));
    requirements.push((
        format!("charges ≥ {}", profile.min_charges),
        v.charges >= profile.min_charges,
    ));
    requirements.push((
        format!("charges hit by a fault ≥ {}", profile.min_hit),
        hit.len() >= profile.min_hit,
    ));
    requirements.push((
        "every gateway fault kind injected".into(),
        kinds_missing.is_empty(),
    ));
    requirements.push((
        "SIGTERM exits 0".into(),
        graceful == stats.sigterms.len() && exits.iter().all(|e| *e == Some(0)),
    ));
    requirements.push(("settled".into(), settled));
    let unmet: Vec<&str> = requirements
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(r, _)| r.as_str())
        .collect();
    if !kinds_missing.is_empty() {
        println!("fault kinds never injected: {}", kinds_missing.join("; "));
    }
    if unmet.is_empty() {
        println!("campaign size: every requirement met");
    } else {
        println!("campaign size: NOT MET: {}", unmet.join(", "));
    }
    if v.failed() {
        println!("FAILED: see problems.txt for each duplicate, loss and mismatch");
    }
    !v.failed() && unmet.is_empty()
}
