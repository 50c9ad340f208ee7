//! Figure 6b: replicas of `billingd serve` on one database, and one of them killed (SIGKILL)
//! mid-run: the others finish the charges it held once its lease expires, and the gateway
//! approves every charge exactly once.
//!
//! The lease is shortened for this run (`BENCH_REPLICAS_LEASE_S`), with the Payroc request
//! timeout and the resend backoff shortened to match (billingd refuses a lease shorter than its
//! longest send): against a gateway answering in 50 ms a 1 s timeout is generous.

use std::time::{Duration, Instant};

use crate::config::Config;
use crate::db::Scratch;
use crate::format::thousands;
use crate::procs::{self, Running};
use crate::run::{Load, billingd};
use crate::sheet::{Row, yes};
use crate::sim::Sim;
use crate::{Results, log, now_epoch};

/// Replicas in the failover run; the first is killed.
const REPLICAS: u32 = 4;
/// The kill comes once this share of the charges is approved.
const KILL_AT: f64 = 0.3;

pub struct Failover {
    pub replicas: u32,
    pub lease_s: u64,
    pub tick_s: f64,
    pub n: u64,
    /// Charges approved when the replica was killed.
    pub approved_at_kill: i64,
    /// Charges the killed replica held (leased, not settled) when it died, and how many of
    /// them the others then approved.
    pub orphans: i64,
    pub orphans_done: i64,
    /// When the last of them was approved, seconds after the kill.
    pub done_after_s: Option<f64>,
    /// Charges approved in the end, and approved sales at the gateway (orders approved more
    /// than once among them).
    pub approved: i64,
    pub gateway_approved: i64,
    pub gateway_doubles: i64,
    pub load: Load,
}

impl Failover {
    /// The others' bound: the lease, then the next heartbeat, then a few seconds of sending.
    pub fn bound_s(&self) -> f64 {
        self.lease_s as f64 + self.tick_s + 5.0
    }

    pub fn met(&self) -> bool {
        self.orphans > 0
            && self.orphans_done == self.orphans
            && self.done_after_s.is_some_and(|s| s <= self.bound_s())
            && self.approved == self.n as i64
            && self.gateway_approved == self.n as i64
            && self.gateway_doubles == 0
    }
}

pub async fn failover(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    r: &mut Results,
) -> anyhow::Result<Failover> {
    let tick_s = cfg.tick.as_secs_f64();
    // Every replica must be up before the heartbeat that starts the run, so that they start
    // together: not started within 3 s of it.
    let phase = now_epoch() % tick_s;
    if phase > tick_s - 3.0 {
        tokio::time::sleep(Duration::from_secs_f64(tick_s - phase + 0.2)).await;
    }
    log(format!(
        "failover: {REPLICAS} × billingd serve (lease {} s); replica 1 killed at {:.0} % approved",
        cfg.replicas_lease_s,
        KILL_AT * 100.0
    ));
    let start = procs::load();
    let mut running = Vec::new();
    for i in 1..=REPLICAS {
        let mut cmd = billingd(cfg, db, sim, &["serve"]);
        cmd.env("BILLINGD_DATABASE__URL", db.replica_url(i)?)
            .env(
                "BILLINGD_BILLING__LEASE",
                format!("{}s", cfg.replicas_lease_s),
            )
            .env("BILLINGD_PAYROC__REQUEST_TIMEOUT", "1s")
            .env("BILLINGD_BILLING__UNKNOWN_BACKOFF_MAX", "1s");
        let tag = format!("failover-{i}");
        running.push(procs::start(
            &mut cmd,
            &cfg.out.join(format!("{tag}.stdout")),
            &cfg.out.join(format!("{tag}.log")),
        )?);
    }
    let result = kill_and_watch(cfg, db, sim, &running, start).await;
    for child in &running[1..] {
        child.signal(libc::SIGTERM);
    }
    for child in running {
        child.finish().await?;
    }
    let f = result?;
    if !f.met() {
        r.notes.push(format!(
            "failover: {} of {} charges approved ({} at the gateway, {} orders approved twice); \
             {} of the killed replica's {} charges finished, the last {:?} s after the kill",
            f.approved,
            f.n,
            f.gateway_approved,
            f.gateway_doubles,
            f.orphans_done,
            f.orphans,
            f.done_after_s
        ));
    }
    Ok(f)
}

/// Waits for the run to be under way, kills replica 1, and watches the others finish.
async fn kill_and_watch(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    running: &[Running],
    start: [f64; 3],
) -> anyhow::Result<Failover> {
    let n = cfg.replicas_subs;
    let tick_s = cfg.tick.as_secs_f64();
    let threshold = (n as f64 * KILL_AT) as i64;
    let approved_at_kill = wait_for(db, threshold, Duration::from_secs_f64(tick_s + 60.0)).await?;
    let victim = &running[0];
    victim.signal(libc::SIGKILL);
    let killed_at = now_epoch();
    let worker = worker_id(&cfg.out.join("failover-1.stdout"))?;
    let (orphans,): (Vec<uuid::Uuid>,) = sqlx::query_as(
        "SELECT coalesce(array_agg(id), '{}') FROM charges \
         WHERE status = 'due' AND lease_owner = $1",
    )
    .bind(worker)
    .fetch_one(&db.pool)
    .await?;
    log(format!(
        "failover: replica 1 killed at {approved_at_kill} approved, holding {} charges",
        orphans.len()
    ));
    let limit = Duration::from_secs_f64(cfg.replicas_lease_s as f64 + tick_s + 30.0);
    let approved = wait_for(db, n as i64, limit).await?;
    let (orphans_done, last): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), max(extract(epoch FROM at))::float8 FROM bench_approvals \
         WHERE charge_id = ANY($1)",
    )
    .bind(&orphans)
    .fetch_one(&db.pool)
    .await?;
    let (orders,): (Vec<String>,) =
        sqlx::query_as("SELECT coalesce(array_agg(order_id), '{}') FROM charges")
            .fetch_one(&db.pool)
            .await?;
    let (gateway_approved, gateway_doubles) = sim.approvals(&orders).await?;
    Ok(Failover {
        replicas: REPLICAS,
        lease_s: cfg.replicas_lease_s,
        tick_s,
        n,
        approved_at_kill,
        orphans: orphans.len() as i64,
        orphans_done,
        done_after_s: last.map(|t| t - killed_at),
        approved,
        gateway_approved,
        gateway_doubles,
        load: Load {
            start,
            end: procs::load(),
        },
    })
}

/// Polls until `target` charges are approved or `limit` has passed; the count reached.
async fn wait_for(db: &Scratch, target: i64, limit: Duration) -> anyhow::Result<i64> {
    let deadline = Instant::now() + limit;
    loop {
        let (approved, _) = db.charge_counts().await?;
        if approved >= target || Instant::now() > deadline {
            return Ok(approved);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The worker id a `billingd serve` logged (on stdout) when it started: its name on the leases
/// it takes.
fn worker_id(log: &std::path::Path) -> anyhow::Result<uuid::Uuid> {
    let text = std::fs::read_to_string(log)?;
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find_map(|v| {
            let id = v
                .get("worker_id")
                .or_else(|| v.pointer("/fields/worker_id"))?;
            id.as_str()?.parse().ok()
        })
        .ok_or_else(|| anyhow::anyhow!("no worker_id in {}", log.display()))
}

/// The report's row of figure 6b.
pub fn row(f: &Failover) -> Row {
    [
        format!(
            "6b failover: {} × serve, lease {} s, replica 1 killed (SIGKILL) at {} approved",
            f.replicas,
            f.lease_s,
            thousands(f.approved_at_kill as f64)
        ),
        format!(
            "the others finished its {} charges {}; {} of {} approved, {} approved sales at the gateway, {} twice",
            f.orphans_done,
            f.done_after_s
                .map(|s| format!("{s:.1} s after the kill"))
                .unwrap_or_else(|| "(not all)".into()),
            thousands(f.approved as f64),
            thousands(f.n as f64),
            thousands(f.gateway_approved as f64),
            f.gateway_doubles
        ),
        format!(
            "≤ lease + heartbeat + 5 s = {:.0} s; each once",
            f.bound_s()
        ),
        yes(f.met()).into(),
        f.load.show(),
    ]
}
