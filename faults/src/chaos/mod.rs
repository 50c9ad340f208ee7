//! The faults, each a task with its own schedule over the load phase: `kill -9` of a random
//! replica (restarted after a moment), Postgres restarts, SIGTERM while many charges are in
//! flight, a replica stalled past its leases (SIGSTOP … SIGCONT), bearer tokens expired,
//! random gateway faults with short outages, and the merchant cancelling subscriptions and
//! suspending accounts. Before each process or database fault the charges it interrupts are
//! noted (the leases they hold), for the report's "in flight when a fault hit".

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use sqlx::PgPool;
use tokio::sync::OwnedMutexGuard;
use uuid::Uuid;

mod gateway;
mod merchant;

pub use gateway::{expire_tokens, gateway, no_faults, set_gateway_faults};
pub use merchant::merchant_action;

use crate::api::Api;
use crate::cluster::{self, Cluster, Replica, State};

/// How long a stalled replica stays stopped: past its 10 s leases.
pub const STALL: Duration = Duration::from_secs(14);
/// The daemons' shutdown_grace is 4 s.
const SIGTERM_WAIT: Duration = Duration::from_secs(15);

pub struct Ctx {
    pub cluster: Arc<Cluster>,
    pub api: Arc<Api>,
    pub db: PgPool,
    pub out: PathBuf,
    pub pg_restart: String,
    pub start: Instant,
    pub load_end: Instant,
    pub stats: std::sync::Mutex<Stats>,
}

#[derive(Debug, Default)]
pub struct Sigterm {
    pub exit_code: Option<i32>,
    pub leased: usize,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub kills: u32,
    pub sigterms: Vec<Sigterm>,
    pub stalls: u32,
    pub pg_restarts: Vec<(&'static str, Duration)>,
    pub token_expiries: u32,
    pub outages: u32,
    pub garbage_armed: u32,
    pub cancels: u32,
    pub merchant_suspended: HashSet<Uuid>,
    /// Charges leased (in flight) when a fault of each kind hit.
    pub hit: HashMap<&'static str, HashSet<Uuid>>,
    /// Instants of process and database faults (seconds since the start).
    pub timeline: Vec<(f64, String)>,
}

impl Ctx {
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }

    fn note(&self, what: String) {
        cluster::tracing_line(&self.out, &what);
        let t = self.elapsed();
        self.stats.lock().unwrap().timeline.push((t, what));
    }

    fn hit(&self, kind: &'static str, ids: Vec<Uuid>) {
        self.stats
            .lock()
            .unwrap()
            .hit
            .entry(kind)
            .or_default()
            .extend(ids);
    }

    fn over(&self) -> bool {
        Instant::now() >= self.load_end
    }

    async fn sleep_until(&self, offset: Duration) -> bool {
        let at = self.start + offset;
        if at >= self.load_end {
            return false;
        }
        tokio::time::sleep_until(at.into()).await;
        true
    }

    /// Charges leased right now, by one worker or by anyone.
    async fn leased(&self, worker: Option<Uuid>) -> Vec<Uuid> {
        let q = async {
            match worker {
                Some(w) => sqlx::query_scalar::<_, Uuid>(
                    "SELECT id FROM charges WHERE lease_owner = $1 AND lease_expires_at > now()",
                )
                .bind(w)
                .fetch_all(&self.db)
                .await,
                None => {
                    sqlx::query_scalar::<_, Uuid>(
                        "SELECT id FROM charges WHERE lease_expires_at > now()",
                    )
                    .fetch_all(&self.db)
                    .await
                }
            }
        };
        match tokio::time::timeout(Duration::from_secs(2), q).await {
            Ok(Ok(ids)) => ids,
            _ => Vec::new(),
        }
    }

    /// A running replica, chosen at random, locked for the caller.
    async fn pick_running(&self, rng: &mut StdRng) -> Option<OwnedMutexGuard<Replica>> {
        let mut order: Vec<usize> = (0..self.cluster.replicas.len()).collect();
        order.shuffle(rng);
        for i in order {
            if let Ok(guard) = self.cluster.replicas[i].clone().try_lock_owned()
                && guard.state == State::Running
            {
                return Some(guard);
            }
        }
        None
    }

    fn restart_later(self: &Arc<Self>, mut replica: OwnedMutexGuard<Replica>, after: Duration) {
        let ctx = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Err(e) = ctx.cluster.start(&mut replica).await {
                ctx.note(format!(
                    "replica {} could not be restarted: {e:#}",
                    replica.index
                ));
            }
        });
    }
}

/// Instants spread over `span` with jitter, `n` of them, sorted.
pub fn spread(rng: &mut StdRng, n: usize, from: Duration, span: Duration) -> Vec<Duration> {
    let step = span.as_secs_f64() / n.max(1) as f64;
    let mut out: Vec<Duration> = (0..n)
        .map(|i| {
            let jitter = rng.random_range(0.1..0.9);
            from + Duration::from_secs_f64(step * (i as f64 + jitter))
        })
        .collect();
    out.sort();
    out
}

pub async fn killer(ctx: Arc<Ctx>, times: Vec<Duration>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for t in times {
        if !ctx.sleep_until(t).await {
            break;
        }
        let Some(mut replica) = ctx.pick_running(&mut rng).await else {
            continue;
        };
        let leased = ctx.leased(replica.worker()).await;
        ctx.cluster.kill(&mut replica).await;
        ctx.note(format!(
            "kill -9 replica {} ({} charges leased)",
            replica.index,
            leased.len()
        ));
        ctx.stats.lock().unwrap().kills += 1;
        ctx.hit("kill -9", leased);
        let after = Duration::from_millis(rng.random_range(200..2500));
        ctx.restart_later(replica, after);
    }
}

pub async fn postgres(ctx: Arc<Ctx>, times: Vec<Duration>) {
    for (i, t) in times.into_iter().enumerate() {
        if !ctx.sleep_until(t).await {
            break;
        }
        let leased = ctx.leased(None).await;
        // Alternate a clean stop (sessions told to go) and a crash-like one (no checkpoint).
        let mode = if i % 2 == 0 { "fast" } else { "immediate" };
        match cluster::restart_postgres(&ctx.pg_restart, &ctx.out, mode).await {
            Ok(took) => {
                ctx.note(format!(
                    "Postgres restarted ({mode}) in {:.1}s, {} charges leased",
                    took.as_secs_f64(),
                    leased.len()
                ));
                ctx.stats.lock().unwrap().pg_restarts.push((mode, took));
                ctx.hit("Postgres restart", leased);
            }
            Err(e) => ctx.note(format!("Postgres restart failed: {e:#}")),
        }
    }
}

/// The running replica holding the most leases, once one holds at least `min` (waiting up to
/// `wait` for a burst of work); after that, whichever holds the most.
async fn busiest(
    ctx: &Ctx,
    rng: &mut StdRng,
    min: usize,
    wait: Duration,
) -> Option<(OwnedMutexGuard<Replica>, Vec<Uuid>)> {
    let until = Instant::now() + wait;
    loop {
        let mut best: Option<(OwnedMutexGuard<Replica>, Vec<Uuid>)> = None;
        for r in &ctx.cluster.replicas {
            let Ok(guard) = r.clone().try_lock_owned() else {
                continue;
            };
            if guard.state != State::Running {
                continue;
            }
            let leased = ctx.leased(guard.worker()).await;
            if best.as_ref().is_none_or(|(_, b)| leased.len() > b.len()) {
                best = Some((guard, leased));
            }
        }
        if best.as_ref().is_some_and(|(_, l)| l.len() >= min) {
            return best;
        }
        if Instant::now() >= until || ctx.over() {
            return match best {
                Some(b) => Some(b),
                None => {
                    let g = ctx.pick_running(rng).await?;
                    let leased = ctx.leased(g.worker()).await;
                    Some((g, leased))
                }
            };
        }
        drop(best);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGTERM under load: at each planned instant, waits (up to 20 s) until a replica holds
/// many leases, then terminates it.
pub async fn sigterm(ctx: Arc<Ctx>, times: Vec<Duration>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for t in times {
        if !ctx.sleep_until(t).await {
            break;
        }
        let Some((mut replica, leased)) =
            busiest(&ctx, &mut rng, 10, Duration::from_secs(20)).await
        else {
            continue;
        };
        let started = Instant::now();
        let code = ctx.cluster.terminate(&mut replica, SIGTERM_WAIT).await;
        let took = started.elapsed();
        ctx.note(format!(
            "SIGTERM replica {} with {} charges leased: exit {:?} after {:.1}s",
            replica.index,
            leased.len(),
            code,
            took.as_secs_f64()
        ));
        ctx.stats.lock().unwrap().sigterms.push(Sigterm {
            exit_code: code,
            leased: leased.len(),
        });
        ctx.hit("SIGTERM", leased);
        ctx.restart_later(replica, Duration::from_millis(500));
    }
}

/// A replica frozen past its leases: others take its charges over; when it wakes, whatever
/// it was doing must not be recorded over their work.
pub async fn stall(ctx: Arc<Ctx>, times: Vec<Duration>, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for t in times {
        if !ctx.sleep_until(t).await {
            break;
        }
        let Some((mut replica, leased)) = busiest(&ctx, &mut rng, 5, Duration::from_secs(10)).await
        else {
            continue;
        };
        ctx.cluster.stall(&mut replica).await;
        ctx.note(format!(
            "SIGSTOP replica {} for {}s ({} charges leased)",
            replica.index,
            STALL.as_secs(),
            leased.len()
        ));
        ctx.stats.lock().unwrap().stalls += 1;
        ctx.hit("stall", leased);
        tokio::time::sleep(STALL).await;
        ctx.cluster.resume(&mut replica).await;
        ctx.note(format!("SIGCONT replica {}", replica.index));
    }
}
