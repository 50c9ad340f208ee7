//! Charge by charge: the store agrees with the gateway — an `approved` charge has exactly one
//! approved sale with its orderId (that sale's payment id and amount); no other charge has any.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{ChargeRow, Sale, Snapshot, Verdict};

pub fn check_charges(
    snap: &Snapshot,
    sales_of_charge: &HashMap<Uuid, Vec<&Sale>>,
    v: &mut Verdict,
) {
    let mut first_sent: HashMap<Uuid, DateTime<Utc>> = HashMap::new();
    for a in &snap.attempts {
        let e = first_sent.entry(a.charge_id).or_insert(a.sent_at);
        if a.sent_at < *e {
            *e = a.sent_at;
        }
        if a.finished_at.is_none() || a.outcome.as_deref() == Some("unknown") {
            v.gateway_hit.insert(a.charge_id);
        }
    }
    for c in &snap.charges {
        let sales = sales_of_charge.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let wrong = disagreements(c, sales, v);
        if !wrong.is_empty() {
            v.mismatches += 1;
            v.problem(format!(
                "charge {} (cycle {}, attempt {}): {}",
                c.id,
                c.cycle,
                c.attempt_no,
                wrong.join("; ")
            ));
        }
        if c.lease_owner.is_some() {
            v.leases_left += 1;
            v.problem(format!(
                "charge {} still leased by {:?}",
                c.id, c.lease_owner
            ));
        }
        if c.written {
            v.in_flight_forever += 1;
            v.problem(format!(
                "charge {} ({}): request written down, never completed (last outcome {:?})",
                c.id, c.status, c.last_outcome
            ));
        }
        if let (Some(done), Some(first)) = (c.settled_at, first_sent.get(&c.id)) {
            let secs = (done - *first).num_milliseconds() as f64 / 1000.0;
            if v.longest_charge.is_none_or(|(l, _)| secs > l) {
                v.longest_charge = Some((secs, c.id));
            }
        }
    }
}

/// Where the store and the gateway disagree about one charge.
fn disagreements(c: &ChargeRow, sales: &[&Sale], v: &mut Verdict) -> Vec<String> {
    let mut wrong = Vec::new();
    if c.status == "approved" {
        let mine: Vec<_> = sales.iter().filter(|s| s.0 == c.order_id).collect();
        match mine.as_slice() {
            [] => wrong.push("approved in the store, no approved sale at the gateway".into()),
            [s] => {
                if c.gateway_payment_id.as_deref() != Some(s.1.as_str()) {
                    wrong.push(format!(
                        "payment id {:?} in the store, {} at the gateway",
                        c.gateway_payment_id, s.1
                    ));
                }
                if s.2 != c.amount_minor {
                    wrong.push(format!("amount {} at the gateway", s.2));
                }
            }
            _ => {} // counted as a duplicate by the cycle check
        }
        if sales.len() > mine.len() {
            wrong.push("a sale of an earlier attempt was approved too".into());
        }
    } else if !sales.is_empty() {
        if c.status == "failed" {
            v.failed_but_approved += 1;
        }
        wrong.push(format!(
            "{} in the store ({}), but {} approved sale(s) at the gateway",
            c.status,
            c.last_outcome.as_deref().unwrap_or("no outcome"),
            sales.len()
        ));
    }
    wrong
}
