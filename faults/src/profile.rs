//! How big a campaign is: the short run of `./scripts/test` and the long run of `--long`.

use std::time::Duration;

/// How big a campaign is.
pub struct Profile {
    pub name: &'static str,
    pub load: Duration,
    pub waves: usize,
    pub per_wave: usize,
    pub kills: usize,
    pub pg_restarts: usize,
    pub sigterms: usize,
    pub stalls: usize,
    pub token_every: Duration,
    pub outage_every: Duration,
    pub settle_timeout: Duration,
    pub min_kills: usize,
    pub min_pg_restarts: usize,
    pub min_charges: usize,
    pub min_hit: usize,
}

impl Profile {
    pub fn short() -> Profile {
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

    pub fn long() -> Profile {
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
