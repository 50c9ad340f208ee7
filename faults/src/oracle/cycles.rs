//! Cycle by cycle: what the gateway must show for each (subscription, cycle) due by the end of
//! the run, decided from the seed's kind and the merchant's actions, never from the store.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Snapshot, SubRow, Verdict, ts};
use crate::seed::{Book, Kind, Spec};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Category {
    Chargeable,
    Refused,
    AfterRefusal,
    AfterSuspension,
    AfterCancellation,
    BeforeMerchantAction,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::Chargeable => "chargeable (1 sale each)",
            Category::Refused => "refused: declined or account terminated (0)",
            Category::AfterRefusal => "after a refusal, subscription past due (0)",
            Category::AfterSuspension => "after the account's suspension (0)",
            Category::AfterCancellation => "after the subscription's cancellation (0)",
            Category::BeforeMerchantAction => "due before a merchant cancel/suspend (0 or 1)",
        }
    }
}

/// What the gateway must show for cycle `n` of a subscription of this kind, before merchant
/// actions are taken into account.
fn by_kind(kind: Kind, n: u32) -> Category {
    match kind {
        Kind::PayrocOk | Kind::PayrocTrigger | Kind::PayrocSoftTwice | Kind::CertiOk => {
            Category::Chargeable
        }
        Kind::PayrocDeclined | Kind::PayrocHard | Kind::CertiDeclined => {
            if n == 1 {
                Category::Refused
            } else {
                Category::AfterRefusal
            }
        }
        Kind::PayrocCloses => match n {
            1 => Category::Chargeable,
            2 => Category::Refused,
            _ => Category::AfterSuspension,
        },
        Kind::PayrocPickup | Kind::CertiFraud => {
            if n == 1 {
                Category::Refused
            } else {
                Category::AfterSuspension
            }
        }
    }
}

/// Checks every cycle due by the snapshot against the approved sales of its (subscription, cycle).
pub fn check_cycles(
    book: &Book,
    snap: &Snapshot,
    sales_of_cycle: &HashMap<(Uuid, i32), usize>,
    v: &mut Verdict,
) {
    for sub in &snap.subs {
        let Some(spec) = sub
            .merchant_reference
            .as_deref()
            .and_then(|r| book.by_reference.get(r))
            .map(|&i| &book.specs[i])
        else {
            v.unknown_subscriptions += 1;
            v.problem(format!(
                "subscription {} was not seeded by the campaign",
                sub.id
            ));
            continue;
        };
        *v.by_kind.entry(spec.kind).or_default() += 1;
        let last_due = check_subscription(snap, sub, spec, sales_of_cycle, v);
        // Charges for cycles that were not due yet.
        for c in snap
            .charges
            .iter()
            .filter(|c| c.subscription_id == sub.id && c.cycle as u32 > last_due)
        {
            v.unexpected += 1;
            v.problem(format!(
                "charge {} is cycle {} of {}, which was not due",
                c.id, c.cycle, spec.reference
            ));
        }
    }
}

/// The cycles of one subscription; returns the last cycle due.
fn check_subscription(
    snap: &Snapshot,
    sub: &SubRow,
    spec: &Spec,
    sales_of_cycle: &HashMap<(Uuid, i32), usize>,
    v: &mut Verdict,
) -> u32 {
    let merchant_stop = [
        sub.cancelled_at
            .map(|t| (ts(t), Category::AfterCancellation)),
        snap.merchant_suspended
            .get(&sub.account_id)
            .map(|t| (*t, Category::AfterSuspension)),
    ]
    .into_iter()
    .flatten()
    .min_by_key(|(t, _)| *t);
    let due = spec.schedule.due_until(snap.taken_at);
    let last_due = due.last().map(|(n, _)| *n).unwrap_or(0);
    for (n, at) in due {
        let mut category = by_kind(spec.kind, n);
        if category == Category::Chargeable
            && let Some((stop, after)) = merchant_stop
        {
            category = if at > stop {
                after
            } else {
                Category::BeforeMerchantAction
            };
        }
        let sales = sales_of_cycle
            .get(&(sub.id, n as i32))
            .copied()
            .unwrap_or(0);
        let entry = v.cycles.entry(category).or_default();
        entry.0 += 1;
        entry.1 += sales;
        let what = format!(
            "{} cycle {n} of {} ({})",
            spec.reference,
            sub.id,
            spec.kind.label()
        );
        if sales > 1 {
            v.duplicates += sales - 1;
            v.problem(format!("{what}: {sales} approved sales"));
        }
        match category {
            Category::Chargeable if sales == 0 => {
                v.lost += 1;
                v.problem(format!("{what}, due {at}: no approved sale"));
            }
            Category::Chargeable | Category::BeforeMerchantAction => {}
            _ if sales > 0 => {
                v.unexpected += 1;
                v.problem(format!("{what}: charged although {}", category.label()));
            }
            _ => {}
        }
    }
    last_due
}
