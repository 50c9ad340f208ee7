//! The pieces every phase fills in for the report: a row of the table of figures, and the
//! environment the run measured in.

use std::time::Duration;

/// figure, measured, target, met, load.
pub type Row = [String; 5];

pub fn yes(ok: bool) -> &'static str {
    if ok { "yes" } else { "NO" }
}

/// The settings and the machine the run measured with.
pub struct Env {
    pub max_in_flight: usize,
    pub tick: Duration,
    pub cron: String,
    pub claim_batch: u32,
    pub materialize_batch: u32,
    pub pool: u32,
    pub pg_version: String,
    pub pg_conf: Vec<(String, String)>,
    pub elapsed: Duration,
}
