//! The closing values: the figures the report's last lines print, one per line, for scripts.

use crate::Results;
use crate::config::Config;
use crate::run::Run;
use crate::sheet::Env;

/// The throughput target (issue 14): billingd at this fraction of the baseline at least.
pub const THROUGHPUT_TARGET: f64 = 0.6;

/// The closing values, NaN where not measured.
pub struct Closing {
    pub throughput_ratio: f64,
    pub peer_ratio: f64,
    pub latency_ratio: f64,
    pub rss_small: f64,
    pub rss_large: f64,
    pub p99: f64,
    pub replicas_4_ratio: f64,
    pub cpu_us_per_charge: f64,
}

impl Closing {
    pub fn of(cfg: &Config, r: &Results, env: &Env) -> Closing {
        let per_s = |run: &Option<Run>| run.map(|x| x.per_s()).unwrap_or(f64::NAN);
        let replicas = |n| {
            r.replicas
                .as_ref()
                .and_then(|x| x.per_s(n))
                .unwrap_or(f64::NAN)
        };
        let bound = env.max_in_flight as f64 * 1000.0 / cfg.latency_ms as f64;
        Closing {
            throughput_ratio: per_s(&r.throughput) / per_s(&r.baseline),
            peer_ratio: per_s(&r.throughput)
                / r.peer.as_ref().map(|p| p.run.per_s()).unwrap_or(f64::NAN),
            latency_ratio: per_s(&r.latency) / bound,
            rss_small: r
                .scale_small
                .map(|s| s.0.finished.max_rss_mib())
                .unwrap_or(f64::NAN),
            rss_large: r
                .scale_large
                .map(|s| s.0.finished.max_rss_mib())
                .unwrap_or(f64::NAN),
            p99: r.sched.as_ref().map(|s| s.1.p99_ms).unwrap_or(f64::NAN),
            replicas_4_ratio: replicas(4) / replicas(1),
            cpu_us_per_charge: r
                .throughput
                .map(|t| t.cpu.client * 1e6 / t.charges.max(1) as f64)
                .unwrap_or(f64::NAN),
        }
    }
}
