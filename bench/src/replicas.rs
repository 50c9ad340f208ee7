//! Figure 6: several billingd replicas on one database, the simulator answering every sale late
//! (so each replica is bound by its `max_in_flight`, as against a real gateway): the aggregate
//! charges/s with 1, 2 and 4 replicas and each replica's share of the work; then one replica
//! killed mid-run (`failover`).
//!
//! Who charged what: each replica connects with its own `application_name`, and a trigger in
//! the scratch database (bench-only, not billingd's) notes every approval with that name, the
//! charge and the time in an unlogged table.

use sqlx::PgPool;

use crate::closing::Closing;
use crate::config::Config;
use crate::db::Scratch;
use crate::failover;
use crate::format::thousands;
use crate::procs::PgCpu;
use crate::run::{Child, Run, billingd, check_exactly_once, finish_db, measure, prepare};
use crate::sheet::{Row, yes};
use crate::sim::Sim;
use crate::{Results, log, now_epoch};

const APPROVAL_LOG: &str = "\
CREATE UNLOGGED TABLE bench_approvals (replica text NOT NULL, charge_id uuid NOT NULL, \
  at timestamptz NOT NULL); \
CREATE FUNCTION bench_note_approval() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
  INSERT INTO bench_approvals VALUES (current_setting('application_name'), NEW.id, clock_timestamp()); \
  RETURN NULL; END $$; \
CREATE TRIGGER bench_note_approval AFTER UPDATE OF status ON charges FOR EACH ROW \
  WHEN (NEW.status = 'approved' AND OLD.status IS DISTINCT FROM 'approved') \
  EXECUTE FUNCTION bench_note_approval();";

/// One measurement with `count` replicas.
pub struct ReplicaRun {
    pub count: u32,
    pub run: Run,
    /// Each replica's approvals while work remained (until 90 % of the charges were approved),
    /// and in all, replica 1 first.
    pub shares: Vec<(i64, i64)>,
}

impl ReplicaRun {
    /// Each replica's share of the approvals while work remained, as a fraction of its fair
    /// share (1 = exactly 1/count).
    pub fn fairness(&self) -> Vec<f64> {
        let total: i64 = self.shares.iter().map(|s| s.0).sum();
        self.shares
            .iter()
            .map(|s| s.0 as f64 * self.count as f64 / total.max(1) as f64)
            .collect()
    }
}

#[derive(Default)]
pub struct ReplicasResult {
    pub runs: Vec<ReplicaRun>,
    pub failover: Option<failover::Failover>,
}

impl ReplicasResult {
    /// Aggregate charges/s with `count` replicas.
    pub fn per_s(&self, count: u32) -> Option<f64> {
        self.runs
            .iter()
            .find(|r| r.count == count)
            .map(|r| r.run.per_s())
    }
}

/// Back to "nothing billed", the approval log emptied.
pub async fn reset(db: &Scratch) -> anyhow::Result<()> {
    sqlx::raw_sql("TRUNCATE bench_approvals")
        .execute(&db.pool)
        .await?;
    db.reset_billing().await
}

pub async fn replicas(
    cfg: &Config,
    admin: &PgPool,
    pg: Option<&PgCpu>,
    r: &mut Results,
) -> anyhow::Result<()> {
    let n = cfg.replicas_subs;
    log(format!(
        "replicas: {n} due subscriptions, the simulator answering in {} ms",
        cfg.replicas_latency_ms
    ));
    let (sim, db) = prepare(cfg, admin, "billingd_bench_replicas").await?;
    sqlx::raw_sql(APPROVAL_LOG).execute(&db.pool).await?;
    let step = 0.0005;
    db.seed_subscriptions(n, now_epoch() - 120.0 - n as f64 * step, step, 0)
        .await?;
    db.settle().await?;
    sim.answer_after(cfg.replicas_latency_ms).await?;
    let mut result = ReplicasResult::default();
    for (i, &count) in cfg.replicas.iter().enumerate() {
        if i > 0 {
            reset(&db).await?;
        }
        let run = scaling(cfg, &db, &sim, pg, count, r).await?;
        result.runs.push(run);
    }
    reset(&db).await?;
    result.failover = Some(failover::failover(cfg, &db, &sim, r).await?);
    sim.answer_after(0).await?;
    r.replicas = Some(result);
    drop(sim);
    finish_db(cfg, admin, db).await
}

/// `count` replicas of `billingd run-once` started together, measured as one run.
async fn scaling(
    cfg: &Config,
    db: &Scratch,
    sim: &Sim,
    pg: Option<&PgCpu>,
    count: u32,
    r: &mut Results,
) -> anyhow::Result<ReplicaRun> {
    log(format!("replicas: {count} × billingd run-once"));
    let mut children = Vec::new();
    for i in 1..=count {
        let mut cmd = billingd(cfg, db, sim, &["run-once"]);
        cmd.env("BILLINGD_DATABASE__URL", db.replica_url(i)?);
        children.push(Child {
            cmd,
            tag: format!("replicas-{count}-{i}"),
        });
    }
    let run = measure(cfg, db, pg, children, None).await?;
    if run.finished.exit_code != 0 {
        anyhow::bail!(
            "a replica exited {}; see {}/replicas-{count}-*.log",
            run.finished.exit_code,
            cfg.out.display()
        );
    }
    let what = format!("replicas ({count})");
    check_exactly_once(db, cfg.replicas_subs, &what, r).await?;
    let run = ReplicaRun {
        count,
        run,
        shares: shares(db, count).await?,
    };
    log(format!(
        "replicas: {count}: {:.0} charges/s, shares of the fair share {:?}",
        run.run.per_s(),
        run.fairness()
            .iter()
            .map(|f| format!("{f:.2}"))
            .collect::<Vec<_>>()
    ));
    Ok(run)
}

/// Each replica's approvals until 90 % of all were approved (while work remained for every
/// replica), and in all.
async fn shares(db: &Scratch, count: u32) -> anyhow::Result<Vec<(i64, i64)>> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "WITH w AS (SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY at) AS t90 \
           FROM bench_approvals) \
         SELECT replica, count(*) FILTER (WHERE at <= w.t90), count(*) \
         FROM bench_approvals, w GROUP BY replica",
    )
    .fetch_all(&db.pool)
    .await?;
    Ok((1..=count)
        .map(|i| {
            let name = format!("replica-{i}");
            rows.iter()
                .find(|r| r.0 == name)
                .map(|r| (r.1, r.2))
                .unwrap_or((0, 0))
        })
        .collect())
}

/// The report's rows of figure 6.
pub fn rows(cfg: &Config, r: &Results, c: &Closing) -> Vec<Row> {
    let Some(x) = &r.replicas else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    let one = x.per_s(1);
    for run in &x.runs {
        let fairness = run.fairness();
        let least = fairness.iter().copied().fold(f64::INFINITY, f64::min);
        let shares: Vec<String> = run.shares.iter().map(|s| thousands(s.0 as f64)).collect();
        rows.push([
            format!(
                "6 replicas: {} × run-once, {} due, every answer {} ms late",
                run.count,
                thousands(cfg.replicas_subs as f64),
                cfg.replicas_latency_ms
            ),
            format!(
                "{} charges/s{}; approvals while work remained (first 90 %) by replica: {} (least {:.2} × fair share)",
                thousands(run.run.per_s()),
                one.filter(|_| run.count > 1)
                    .map(|o| format!(" = {:.2} × 1 replica", run.run.per_s() / o))
                    .unwrap_or_default(),
                shares.join(" / "),
                least
            ),
            "none < ½ fair share".into(),
            yes(least >= 0.5).into(),
            run.run.load.show(),
        ]);
    }
    if x.runs.iter().any(|run| run.count == 4) && one.is_some() {
        rows.push([
            "6 replicas: aggregate with 4 ÷ 1".into(),
            format!("{:.2}", c.replicas_4_ratio),
            "—".into(),
            "".into(),
            "".into(),
        ]);
    }
    if let Some(f) = &x.failover {
        rows.push(failover::row(f));
    }
    rows
}
