//! The report: a table of figures, the cost per charge, profiles, and one closing line per figure.

use std::fmt::Write as _;

use crate::Results;
use crate::closing::Closing;
use crate::config::Config;
use crate::figures::rows;
use crate::format::{machine, source_state, table, thousands};
use crate::run::Run;
use crate::sheet::Env;

pub fn report(cfg: &Config, r: &Results, env: &Env) -> String {
    let mut o = String::new();
    header(&mut o, cfg, env);
    table(
        &mut o,
        &["figure", "measured", "target", "met", "load"],
        &rows(cfg, r, env),
    );
    cost(&mut o, r);
    details(&mut o, r);
    closing(&mut o, cfg, r, env);
    o
}

fn header(o: &mut String, cfg: &Config, env: &Env) {
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
}

/// Where the CPU and the WAL went, per charge, in every measured run.
fn cost(o: &mut String, r: &Results) {
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "Per charge: CPU (µs) of the client (billingd, pgbench or the peer's node), of Postgres (all its processes) and of the in-process simulator; commits; WAL"
    );
    let mut rows: Vec<[String; 7]> = Vec::new();
    let mut row = |name: &str, run: &Run| {
        let per = |s: f64| s * 1e6 / run.charges.max(1) as f64;
        let wall = run.finished.wall.as_secs_f64();
        rows.push([
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
    let runs = [
        ("baseline (pgbench)", r.baseline),
        ("throughput (billingd)", r.throughput),
        ("peer (graphile-worker)", r.peer.as_ref().map(|p| p.run)),
        ("latency (billingd)", r.latency),
        ("scale 10k (billingd)", r.scale_small.map(|s| s.0)),
        ("scale 1M (billingd)", r.scale_large.map(|s| s.0)),
        ("scale 1M, 4b (billingd)", r.scale_fix.map(|s| s.0)),
        ("sched (billingd serve)", r.sched.as_ref().map(|s| s.0)),
    ];
    for (name, run) in runs {
        if let Some(run) = run {
            row(name, &run);
        }
    }
    for x in r.replicas.iter().flat_map(|x| &x.runs) {
        row(&format!("replicas: {} (billingd)", x.count), &x.run);
    }
    table(
        o,
        &[
            "run",
            "client",
            "postgres",
            "simulator",
            "total",
            "commits/charge",
            "WAL bytes/charge",
        ],
        &rows,
    );
}

fn details(o: &mut String, r: &Results) {
    if r.throughput_rounds.len() > 1 {
        let rounds: Vec<String> = r
            .throughput_rounds
            .iter()
            .map(|(b, t)| format!("{:.3} ({t:.0} ÷ {b:.0})", t / b))
            .collect();
        let _ = writeln!(
            o,
            "throughput rounds (billingd ÷ baseline charges/s, back to back, alternating order; \
             the median is reported): {}",
            rounds.join(", ")
        );
    }
    if let Some(s) = &r.throughput_summary {
        let _ = writeln!(o, "throughput run summary: {s}");
    }
    if let Some((samples, counts)) = &r.db_profile {
        profile(o, "throughput run", "billingd's", *samples, counts);
    }
    if let Some(p) = &r.peer {
        profile(o, "peer run", "the peer's", p.profile.0, &p.profile.1);
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
}

/// Database time by statement: what `db::sample_activity` saw, the 16 most frequent.
fn profile(o: &mut String, run: &str, whose: &str, samples: u64, counts: &[(String, u64)]) {
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "database time by statement, {run}: pg_stat_activity sampled every 10 ms ({samples} samples);"
    );
    let _ = writeln!(
        o,
        "  average number of {whose} backends in each statement [wait event] (sum = average busy backends)"
    );
    let total: u64 = counts.iter().map(|(_, n)| n).sum();
    for (what, n) in counts.iter().take(16) {
        let _ = writeln!(
            o,
            "  {:>6.3}  {:>5.1}%  {what}",
            *n as f64 / samples.max(1) as f64,
            *n as f64 * 100.0 / total.max(1) as f64
        );
    }
}

/// One line per figure, for scripts and for the README.
fn closing(o: &mut String, cfg: &Config, r: &Results, env: &Env) {
    let c = Closing::of(cfg, r, env);
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
    let _ = writeln!(o, "throughput_ratio: {}", f(c.throughput_ratio, 3));
    let _ = writeln!(o, "peer_ratio: {}", f(c.peer_ratio, 3));
    let _ = writeln!(o, "latency_bound_ratio: {}", f(c.latency_ratio, 3));
    let _ = writeln!(o, "rss_10k_mib: {}", f(c.rss_small, 1));
    let _ = writeln!(o, "rss_1m_mib: {}", f(c.rss_large, 1));
    let _ = writeln!(o, "sched_latency_p99_ms: {}", f(c.p99, 0));
    let _ = writeln!(o, "tick_interval_ms: {}", env.tick.as_millis());
    let _ = writeln!(o, "replicas_4_ratio: {}", f(c.replicas_4_ratio, 2));
    let _ = writeln!(o, "cpu_us_per_charge: {}", f(c.cpu_us_per_charge, 0));
}
