//! The verdict: every count the report prints and every problem found.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use uuid::Uuid;

use super::charges::check_charges;
use super::cycles::{Category, check_cycles};
use super::{ChargeRow, Sale, Snapshot};
use crate::seed::{Book, Kind};
use crate::series::{self, SeriesSale};

#[derive(Default)]
pub struct Verdict {
    pub cycles: BTreeMap<Category, (usize, usize)>, // (cycles, approved sales)
    pub by_kind: BTreeMap<Kind, usize>,
    pub duplicates: usize,
    pub lost: usize,
    pub unexpected: usize,
    pub mismatches: usize,
    /// Charges recorded `failed` for which the gateway approved a sale (also mismatches).
    pub failed_but_approved: usize,
    /// Payroc series whose processingModel changes, or that span agreements.
    pub series_broken: usize,
    pub leases_left: usize,
    pub in_flight_forever: usize,
    pub unknown_subscriptions: usize,
    pub charges: usize,
    pub charges_by_status: BTreeMap<String, usize>,
    pub sales_by_gateway: BTreeMap<&'static str, usize>,
    pub longest_charge: Option<(f64, Uuid)>,
    pub gateway_hit: HashSet<Uuid>,
    pub problems: Vec<String>,
}

impl Verdict {
    pub fn failed(&self) -> bool {
        self.duplicates
            + self.lost
            + self.unexpected
            + self.mismatches
            + self.failed_but_approved
            + self.series_broken
            + self.leases_left
            + self.in_flight_forever
            + self.unknown_subscriptions
            > 0
    }

    pub(super) fn problem(&mut self, p: String) {
        if self.problems.len() < 200 {
            self.problems.push(p);
        }
    }
}

pub fn check(book: &Book, snap: &Snapshot) -> Verdict {
    let mut v = Verdict {
        charges: snap.charges.len(),
        ..Verdict::default()
    };
    let charges: HashMap<Uuid, &ChargeRow> = snap.charges.iter().map(|c| (c.id, c)).collect();
    // Every orderId billingd ever sent, to its charge.
    let mut charge_of_order: HashMap<&str, Uuid> = HashMap::new();
    for c in &snap.charges {
        charge_of_order.insert(&c.order_id, c.id);
        *v.charges_by_status.entry(c.status.clone()).or_default() += 1;
    }
    for a in &snap.attempts {
        charge_of_order.insert(&a.order_id, a.charge_id);
    }
    // Approved sales by charge, and by (subscription, cycle).
    let mut sales_of_charge: HashMap<Uuid, Vec<&Sale>> = HashMap::new();
    let mut sales_of_cycle: HashMap<(Uuid, i32), usize> = HashMap::new();
    for sale in &snap.sales {
        *v.sales_by_gateway.entry(sale.3).or_default() += 1;
        match charge_of_order
            .get(sale.0.as_str())
            .and_then(|id| charges.get(id))
        {
            Some(c) => {
                sales_of_charge.entry(c.id).or_default().push(sale);
                *sales_of_cycle
                    .entry((c.subscription_id, c.cycle))
                    .or_default() += 1;
            }
            None => {
                v.mismatches += 1;
                v.problem(format!(
                    "{} sale {} (orderId {}) matches no charge billingd knows",
                    sale.3, sale.1, sale.0
                ));
            }
        }
    }
    check_cycles(book, snap, &sales_of_cycle, &mut v);
    check_charges(snap, &sales_of_charge, &mut v);
    check_series(snap, &charge_of_order, &charges, &mut v);
    v
}

fn check_series(
    snap: &Snapshot,
    charge_of_order: &HashMap<&str, Uuid>,
    charges: &HashMap<Uuid, &ChargeRow>,
    v: &mut Verdict,
) {
    let sales: Vec<SeriesSale<'_>> = snap
        .payroc_ledger
        .iter()
        .map(|e| {
            let subscription = e["orderId"]
                .as_str()
                .and_then(|o| charge_of_order.get(o))
                .and_then(|id| charges.get(id))
                .map(|c| c.subscription_id);
            SeriesSale::from_ledger(e, subscription)
        })
        .collect();
    for problem in series::broken(&sales) {
        v.series_broken += 1;
        v.problem(problem);
    }
}

pub fn render(v: &Verdict) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "cycles due, by what the gateway must show:");
    for (cat, (cycles, sales)) in &v.cycles {
        let _ = writeln!(
            s,
            "  {:<52} {cycles:>6} cycles, {sales:>6} approved sales",
            cat.label()
        );
    }
    let _ = writeln!(s, "subscriptions by kind:");
    for (kind, n) in &v.by_kind {
        let _ = writeln!(s, "  {:<52} {n:>6}", kind.label());
    }
    s
}
