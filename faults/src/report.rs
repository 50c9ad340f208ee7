//! The campaign's printed report: what was seeded and injected, what the oracle found, and
//! whether the campaign was as big as its profile requires.

use std::collections::HashSet;
use std::time::Duration;

use uuid::Uuid;

use crate::chaos;
use crate::oracle;
use crate::profile::Profile;
use crate::seed;

/// Everything the report reads.
pub struct Report<'a> {
    pub profile: &'a Profile,
    pub seed: u64,
    pub book: &'a seed::Book,
    pub snap: &'a oracle::Snapshot,
    pub verdict: &'a oracle::Verdict,
    pub stats: &'a chaos::Stats,
    pub settled: bool,
    pub settle_time: Duration,
    /// Exit codes of the replicas stopped with SIGTERM at the end.
    pub exits: &'a [Option<i32>],
}

impl Report<'_> {
    /// Prints the report; true when the oracle found nothing and every size requirement is met.
    pub fn print(&self) -> bool {
        self.print_header();
        let kinds_missing = self.print_faults();
        let hit = self.print_hits();
        self.print_outcome();
        let unmet = self.unmet(hit, &kinds_missing);
        if !kinds_missing.is_empty() {
            println!("fault kinds never injected: {}", kinds_missing.join("; "));
        }
        if unmet.is_empty() {
            println!("campaign size: every requirement met");
        } else {
            println!("campaign size: NOT MET: {}", unmet.join(", "));
        }
        if self.verdict.failed() {
            println!("FAILED: see problems.txt for each duplicate, loss and mismatch");
        }
        !self.verdict.failed() && unmet.is_empty()
    }

    fn print_header(&self) {
        let (book, v) = (self.book, self.verdict);
        println!();
        println!(
            "billingd crash-and-fault campaign — {} run, seed {}, {:.0}s of faults",
            self.profile.name,
            self.seed,
            self.profile.load.as_secs_f64()
        );
        let on = |g: &str| book.specs.iter().filter(|s| s.kind.gateway() == g).count();
        println!(
            "seeded: {} subscriptions ({} payroc, {} certitrade)",
            book.specs.len(),
            on("payroc"),
            on("certitrade")
        );
        print!("{}", oracle::render(v));
        let statuses: Vec<String> = v
            .charges_by_status
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        println!("charges: {} ({})", v.charges, statuses.join(", "));
        let sales = |g: &str| v.sales_by_gateway.get(g).copied().unwrap_or(0);
        println!(
            "approved sales at the gateways: {} (payroc {}, certitrade {})",
            self.snap.sales.len(),
            sales("payroc"),
            sales("certitrade")
        );
    }

    /// The faults injected, by kind; returns the gateway fault kinds never injected.
    fn print_faults(&self) -> Vec<&'static str> {
        let stats = self.stats;
        println!("faults by kind:");
        println!(
            "  kill -9 of a replica (restarted after 0.2-2.5 s)     {:>6}",
            stats.kills
        );
        let leased: Vec<String> = stats
            .sigterms
            .iter()
            .map(|s| s.leased.to_string())
            .collect();
        println!(
            "  SIGTERM under load                                   {:>6}  (exit 0: {}; charges leased by it: {})",
            stats.sigterms.len(),
            self.graceful(),
            leased.join(", ")
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
            "  Postgres restarts (fast and immediate)               {:>6}  (longest {longest_pg:.1}s)",
            stats.pg_restarts.len()
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
        for (label, p, c) in oracle::gateway_faults(self.snap) {
            println!("    {label:<50} {p:>6}  {c:>10}");
            if p + c == 0 {
                kinds_missing.push(label);
            }
        }
        let cancels = self.snap.subs.iter().filter(|s| s.cancelled_at.is_some());
        println!(
            "  merchant: subscriptions cancelled {}, accounts suspended {}",
            cancels.count(),
            self.snap.merchant_suspended.len()
        );
        kinds_missing
    }

    /// The charges in flight when a fault hit; returns how many.
    fn print_hits(&self) -> usize {
        let v = self.verdict;
        let mut hit: HashSet<Uuid> = v.gateway_hit.clone();
        let mut parts = Vec::new();
        for (kind, ids) in &self.stats.hit {
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
        hit.len()
    }

    fn print_outcome(&self) {
        let v = self.verdict;
        println!(
            "settled {:.1}s after the faults stopped{}",
            self.settle_time.as_secs_f64(),
            if self.settled { "" } else { " — NOT SETTLED" }
        );
        if let Some((secs, id)) = v.longest_charge {
            println!(
                "longest time to settle a charge: {secs:.1}s (first request to recorded outcome; charge {id})"
            );
        }
        println!(
            "replicas stopped with SIGTERM at the end: exit codes {:?}",
            self.exits
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
    }

    fn graceful(&self) -> usize {
        let sigterms = &self.stats.sigterms;
        sigterms.iter().filter(|s| s.exit_code == Some(0)).count()
    }

    /// The profile's size requirements this run did not meet.
    fn unmet(&self, hit: usize, kinds_missing: &[&str]) -> Vec<String> {
        let (p, stats) = (self.profile, self.stats);
        let kills = stats.kills as usize;
        let requirements = [
            (format!("kills ≥ {}", p.min_kills), kills >= p.min_kills),
            (
                format!("Postgres restarts ≥ {}", p.min_pg_restarts),
                stats.pg_restarts.len() >= p.min_pg_restarts,
            ),
            (
                format!("charges ≥ {}", p.min_charges),
                self.verdict.charges >= p.min_charges,
            ),
            (
                format!("charges hit by a fault ≥ {}", p.min_hit),
                hit >= p.min_hit,
            ),
            (
                "every gateway fault kind injected".into(),
                kinds_missing.is_empty(),
            ),
            (
                "SIGTERM exits 0".into(),
                self.graceful() == stats.sigterms.len() && self.exits.iter().all(|e| *e == Some(0)),
            ),
            ("settled".into(), self.settled),
        ];
        requirements
            .into_iter()
            .filter(|(_, ok)| !ok)
            .map(|(r, _)| r)
            .collect()
    }
}
