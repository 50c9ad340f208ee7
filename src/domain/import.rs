//! Taking over a subscription that another system has been billing: which of its cycles are
//! already billed (recorded as `imported`, never charged) and which cycle billingd charges
//! next. A merchant states either the last cycle billed or the date paid through.

use jiff::Timestamp;

use super::schedule::Schedule;

/// How far the previous system billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BilledThrough {
    /// Cycles 1 to N were billed.
    Cycle(u32),
    /// The customer has paid for the time before this instant: every cycle due before it was
    /// billed, the first cycle due at or after it is billingd's.
    PaidThrough(Timestamp),
}

/// The most cycles one subscription may bring with it (a daily plan of 27 years).
pub const MAX_IMPORTED_CYCLES: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("must be at least 1 (a subscription with nothing billed yet is created without it)")]
    NothingBilled,
    #[error("cycle {billed} is past the plan's last cycle, {total}")]
    PastLastCycle { billed: u32, total: u32 },
    #[error(
        "every cycle of the plan is billed already: there is nothing left for billingd to charge"
    )]
    NothingLeft,
    #[error("more than {MAX_IMPORTED_CYCLES} cycles billed before; import a later anchor")]
    TooMany,
    #[error(
        "cycles {next} to {last} have fallen due since: only the next cycle may be overdue \
         (it is charged at once); state how far the previous system really billed"
    )]
    Stale { next: u32, last: u32 },
}

/// What an import records and where billing picks up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedCycles {
    /// Each billed cycle and when it fell due: recorded as `imported`.
    pub billed: Vec<(u32, Timestamp)>,
    /// The first cycle billingd charges, and when it falls due.
    pub next_cycle: u32,
    pub next_due: Timestamp,
}

/// Works out the billed cycles and the next one. At most the next cycle may already be due
/// (it is charged on the next run, once); two or more cycles fallen due since the stated point
/// mean the statement is stale, and billing them all at once would surprise the customer.
pub fn imported_cycles(
    schedule: &Schedule,
    billed: BilledThrough,
    now: Timestamp,
) -> Result<ImportedCycles, ImportError> {
    let through = match billed {
        BilledThrough::Cycle(0) => return Err(ImportError::NothingBilled),
        BilledThrough::Cycle(n) => n,
        BilledThrough::PaidThrough(paid) => cycles_due_before(schedule, paid)?,
    };
    if through > MAX_IMPORTED_CYCLES {
        return Err(ImportError::TooMany);
    }
    if let Some(total) = schedule.total_cycles() {
        if through > total {
            return Err(ImportError::PastLastCycle {
                billed: through,
                total,
            });
        }
        if through == total {
            return Err(ImportError::NothingLeft);
        }
    }
    let billed: Vec<(u32, Timestamp)> = (1..=through)
        .map(|c| schedule.due_at(c).map(|at| (c, at)))
        .collect::<Option<_>>()
        .ok_or(ImportError::NothingLeft)?;
    let next_cycle = through + 1;
    let next_due = schedule
        .due_at(next_cycle)
        .ok_or(ImportError::NothingLeft)?;
    let overdue = schedule.due_cycles(next_cycle, now, 2 + MAX_IMPORTED_CYCLES as usize);
    if overdue.len() > 1 {
        return Err(ImportError::Stale {
            next: next_cycle,
            last: *overdue.last().expect("two or more"),
        });
    }
    Ok(ImportedCycles {
        billed,
        next_cycle,
        next_due,
    })
}

/// How many cycles fall due before `paid` (cycles fall due in order).
fn cycles_due_before(schedule: &Schedule, paid: Timestamp) -> Result<u32, ImportError> {
    let mut n = 0;
    while schedule.due_at(n + 1).is_some_and(|at| at < paid) {
        n += 1;
        if n > MAX_IMPORTED_CYCLES {
            return Err(ImportError::TooMany);
        }
    }
    if n == 0 {
        return Err(ImportError::NothingBilled);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::schedule::IntervalUnit;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn monthly(total: Option<u32>) -> Schedule {
        let anchor = "2026-01-10T09:00".parse().unwrap();
        Schedule::new(anchor, "UTC", IntervalUnit::Month, 1, total).unwrap()
    }

    #[test]
    fn billed_cycles_are_recorded_and_the_next_is_billingds() {
        let got = imported_cycles(
            &monthly(None),
            BilledThrough::Cycle(3),
            at("2026-03-20T00:00Z"),
        )
        .unwrap();
        assert_eq!(got.billed.len(), 3);
        assert_eq!(got.billed[2], (3, at("2026-03-10T09:00Z")));
        assert_eq!(got.next_cycle, 4);
        assert_eq!(got.next_due, at("2026-04-10T09:00Z"));
    }

    #[test]
    fn paid_through_counts_the_cycles_due_before_it() {
        let s = monthly(None);
        let now = at("2026-03-20T00:00Z");
        // Paid through April 10 09:00: the cycle due at that instant is the next one.
        let got = imported_cycles(&s, BilledThrough::PaidThrough(at("2026-04-10T09:00Z")), now);
        assert_eq!(got.unwrap().next_cycle, 4);
        let got = imported_cycles(&s, BilledThrough::PaidThrough(at("2026-04-10T09:01Z")), now);
        assert_eq!(got.unwrap().next_cycle, 5);
        let got = imported_cycles(&s, BilledThrough::PaidThrough(at("2026-01-01T00:00Z")), now);
        assert_eq!(got, Err(ImportError::NothingBilled));
    }

    #[test]
    fn only_the_next_cycle_may_be_overdue() {
        let s = monthly(None);
        // Billed through 2 (Feb); March 10 is overdue on March 20: charged at once.
        let got = imported_cycles(&s, BilledThrough::Cycle(2), at("2026-03-20T00:00Z"));
        assert_eq!(got.unwrap().next_due, at("2026-03-10T09:00Z"));
        // Billed through 1: February and March have both fallen due since.
        let got = imported_cycles(&s, BilledThrough::Cycle(1), at("2026-03-20T00:00Z"));
        assert_eq!(got, Err(ImportError::Stale { next: 2, last: 3 }));
    }

    #[test]
    fn installment_plans_keep_a_cycle_to_charge() {
        let s = monthly(Some(3));
        let now = at("2026-02-01T00:00Z");
        assert_eq!(
            imported_cycles(&s, BilledThrough::Cycle(4), now),
            Err(ImportError::PastLastCycle {
                billed: 4,
                total: 3
            })
        );
        assert_eq!(
            imported_cycles(&s, BilledThrough::Cycle(3), now),
            Err(ImportError::NothingLeft)
        );
        assert_eq!(
            imported_cycles(&s, BilledThrough::Cycle(0), now),
            Err(ImportError::NothingBilled)
        );
        assert_eq!(
            imported_cycles(&s, BilledThrough::Cycle(1), now)
                .unwrap()
                .next_cycle,
            2
        );
    }
}
