//! The report's table of figures: one row per measurement, with its target and whether it was
//! met, and the closing values the last lines print.

use crate::Results;
use crate::closing::{Closing, THROUGHPUT_TARGET};
use crate::config::Config;
use crate::format::thousands;
use crate::run::Run;
use crate::sheet::{Env, Row, yes};

pub fn rows(cfg: &Config, r: &Results, env: &Env) -> Vec<Row> {
    let c = Closing::of(cfg, r, env);
    let mut rows = throughput_rows(cfg, r, &c);
    rows.extend(latency_row(cfg, r, env, &c));
    rows.extend(scale_rows(cfg, r));
    rows.extend(sched_row(cfg, r, env));
    rows.extend(crate::replicas::rows(cfg, r, &c));
    rows
}

fn throughput_rows(cfg: &Config, r: &Results, c: &Closing) -> Vec<Row> {
    let mut rows = Vec::new();
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
    if let Some(t) = &r.throughput {
        rows.push([
            format!(
                "2 throughput: {} due, simulator instant, 1 daemon",
                thousands(cfg.throughput_subs as f64)
            ),
            format!(
                "{} charges/s ({:.1} s), {:.2} × baseline",
                thousands(t.per_s()),
                t.finished.wall.as_secs_f64(),
                c.throughput_ratio
            ),
            format!("≥ {THROUGHPUT_TARGET} × baseline"),
            yes(c.throughput_ratio >= THROUGHPUT_TARGET).into(),
            t.load.show(),
        ]);
    }
    if let Some(p) = &r.peer {
        let tried: Vec<String> = p
            .tried
            .iter()
            .map(|(conc, per_s)| format!("{conc}: {}/s", thousands(*per_s)))
            .collect();
        rows.push([
            format!(
                "2b peer: graphile-worker, the same {} due, {} process × concurrency {}",
                thousands(cfg.throughput_subs as f64),
                p.processes,
                p.concurrency
            ),
            format!(
                "{} charges/s ({:.1} s; tried {}){}",
                thousands(p.run.per_s()),
                p.run.finished.wall.as_secs_f64(),
                tried.join(", "),
                if c.peer_ratio.is_nan() {
                    String::new()
                } else {
                    format!("; billingd ÷ peer = {:.2}", c.peer_ratio)
                }
            ),
            "billingd ÷ peer > 1".into(),
            yes(c.peer_ratio > 1.0).into(),
            p.run.load.show(),
        ]);
    }
    rows
}

fn latency_row(cfg: &Config, r: &Results, env: &Env, c: &Closing) -> Option<Row> {
    let l = r.latency.as_ref()?;
    let bound = env.max_in_flight as f64 * 1000.0 / cfg.latency_ms as f64;
    Some([
        format!(
            "3 gateway latency: {} due, every answer {} ms late",
            thousands(cfg.latency_subs as f64),
            cfg.latency_ms
        ),
        format!(
            "{:.1} charges/s = {:.3} × ({} in flight ÷ {} ms = {:.0}/s); peak RSS {:.1} MiB",
            l.per_s(),
            c.latency_ratio,
            env.max_in_flight,
            cfg.latency_ms,
            bound,
            l.finished.max_rss_mib()
        ),
        "≥ 0.9 × bound, RSS bounded".into(),
        yes(c.latency_ratio >= 0.9).into(),
        l.load.show(),
    ])
}

/// "tick 1.23 s = 0.123 ms/charge", or how far a stopped tick got.
fn tick(run: &Run, due: u64) -> String {
    let wall = run.finished.wall.as_secs_f64();
    if run.timed_out {
        format!(
            "tick > {wall:.0} s (stopped: {} of {} charged)",
            thousands(run.charges as f64),
            thousands(due as f64)
        )
    } else {
        format!(
            "tick {wall:.2} s = {:.3} ms/charge",
            wall * 1000.0 / run.charges.max(1) as f64
        )
    }
}

/// A forecast over a million subscriptions answers in the time an operator waits for a page.
const FORECAST_TARGET_MS: u64 = 3000;

fn scale_rows(cfg: &Config, r: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    let store = |total: u64, due: u64| {
        format!(
            "4 scale: {} stored, {} due, {} billed cycles each",
            thousands(total as f64),
            thousands(due as f64),
            cfg.history
        )
    };
    let rss_small = r.scale_small.map(|s| s.0.finished.max_rss_mib());
    if let Some((s, total, due)) = &r.scale_small {
        rows.push([
            store(*total, *due),
            format!(
                "{}; peak RSS {:.1} MiB",
                tick(s, *due),
                s.finished.max_rss_mib()
            ),
            "—".into(),
            "".into(),
            s.load.show(),
        ]);
    }
    if let Some((l, total, due)) = &r.scale_large {
        let grown = l.finished.max_rss_mib() - rss_small.unwrap_or(f64::NAN);
        rows.push([
            store(*total, *due),
            format!(
                "peak RSS {:.1} MiB = 10k store + {grown:.1} MiB",
                l.finished.max_rss_mib()
            ),
            "RSS ≤ 10k store + 32 MiB".into(),
            yes(grown <= 32.0).into(),
            l.load.show(),
        ]);
        let thr_ms = r
            .throughput
            .map(|t| t.finished.wall.as_secs_f64() * 1000.0 / t.charges.max(1) as f64);
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
    if let Some(f) = &r.forecast {
        let ms = f.elapsed.as_secs_f64() * 1000.0;
        rows.push([
            format!(
                "4 scale: forecast of 30 days over {} subscriptions",
                thousands(f.subscriptions as f64)
            ),
            format!("{ms:.0} ms ({} charges)", thousands(f.charges as f64)),
            format!("≤ {FORECAST_TARGET_MS} ms"),
            yes(ms <= FORECAST_TARGET_MS as f64).into(),
            "".into(),
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
    rows
}

fn sched_row(cfg: &Config, r: &Results, env: &Env) -> Option<Row> {
    let (s, lat, rate) = r.sched.as_ref()?;
    let target = env.tick.as_secs_f64() * 1000.0 + 1000.0;
    Some([
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
    ])
}
