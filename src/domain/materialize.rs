//! Which cycles of a due subscription become charges: a pure decision on the subscription's
//! schedule, where it stands, now and the catch-up policy. `store::materialize` locks the due
//! subscriptions, asks this, and writes the charges and the subscription's next cycle.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::position::Position;
use super::schedule::Schedule;

/// What to do with the cycles missed while nothing was billing (downtime).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CatchUp {
    /// Charge every missed cycle, oldest first.
    All,
    /// Charge only the latest missed cycle; record the older ones as skipped.
    Latest,
}

/// A due subscription, as far as the decision goes.
#[derive(Debug, Clone, Copy)]
pub struct DueSubscription<'a> {
    /// None when the stored schedule can no longer be computed (the time-zone database lost
    /// its zone).
    pub schedule: Option<&'a Schedule>,
    /// The first cycle not yet materialized.
    pub next_cycle: u32,
    /// The merchant asked to cancel at the end of the current period.
    pub cancel_at_period_end: bool,
}

/// One cycle to write down as a charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueCycle {
    pub cycle: u32,
    pub due_at: Timestamp,
    pub position: Position,
    /// Recorded as skipped (catch-up `latest`), not charged.
    pub skipped: bool,
}

/// What materializing does to one due subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CyclePlan {
    /// The schedule cannot be computed: the subscription is parked (nothing more falls due)
    /// rather than found due again on every tick. Its next cycle stays as it is.
    Park,
    /// The period ended: the subscription is cancelled instead of billing its next cycle.
    CancelAtPeriodEnd,
    /// These cycles become charges (oldest first), and the subscription moves on to
    /// `next_cycle`, due at `next_due_at` (None when the schedule has ended).
    Bill {
        cycles: Vec<DueCycle>,
        next_cycle: u32,
        next_due_at: Option<Timestamp>,
    },
}

/// The plan for `sub` at `now`: at most `limit` of its due cycles (a runaway backlog is
/// materialized in slices, so one transaction stays small; the rest is due on the next pass).
pub fn plan(
    sub: DueSubscription<'_>,
    now: Timestamp,
    catch_up: CatchUp,
    limit: usize,
) -> CyclePlan {
    let Some(schedule) = sub.schedule else {
        return CyclePlan::Park;
    };
    if sub.cancel_at_period_end {
        return CyclePlan::CancelAtPeriodEnd;
    }
    let from = sub.next_cycle;
    let due = schedule.due_cycles(from, now, limit);
    let last = due.last().copied().unwrap_or(from.saturating_sub(1));
    let cycles = due
        .iter()
        .filter_map(|&cycle| {
            Some(DueCycle {
                cycle,
                due_at: schedule.due_at(cycle)?,
                position: schedule.position(cycle)?,
                // Under `latest` every missed cycle but the newest is skipped.
                skipped: catch_up == CatchUp::Latest && cycle != last,
            })
        })
        .collect();
    let next_cycle = last + 1;
    CyclePlan::Bill {
        cycles,
        next_cycle,
        next_due_at: schedule.due_at(next_cycle),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::position::Sequence;
    use crate::domain::schedule::IntervalUnit;
    use jiff::civil::date;

    fn monthly(total: Option<u32>) -> Schedule {
        let anchor = date(2026, 1, 31).at(9, 0, 0, 0);
        Schedule::new(anchor, "UTC", IntervalUnit::Month, 1, total).unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn due(schedule: &Schedule, next_cycle: u32) -> DueSubscription<'_> {
        DueSubscription {
            schedule: Some(schedule),
            next_cycle,
            cancel_at_period_end: false,
        }
    }

    fn billed(plan: CyclePlan) -> (Vec<(u32, bool)>, u32, Option<Timestamp>) {
        let CyclePlan::Bill {
            cycles,
            next_cycle,
            next_due_at,
        } = plan
        else {
            panic!("not billed: {plan:?}");
        };
        let cycles = cycles.iter().map(|c| (c.cycle, c.skipped)).collect();
        (cycles, next_cycle, next_due_at)
    }

    #[test]
    fn every_missed_cycle_is_charged_oldest_first() {
        let s = monthly(None);
        let plan = plan(due(&s, 1), at("2026-04-01T00:00:00Z"), CatchUp::All, 1000);
        let (cycles, next, next_due) = billed(plan);
        assert_eq!(cycles, [(1, false), (2, false), (3, false)]);
        assert_eq!(next, 4);
        assert_eq!(next_due, Some(at("2026-04-30T09:00:00Z")));
    }

    #[test]
    fn catch_up_latest_skips_all_but_the_newest() {
        let s = monthly(None);
        let now = at("2026-04-01T00:00:00Z");
        let (cycles, next, _) = billed(plan(due(&s, 1), now, CatchUp::Latest, 1000));
        assert_eq!(cycles, [(1, true), (2, true), (3, false)]);
        assert_eq!(next, 4);
        // A single due cycle is the newest: charged.
        let (cycles, _, _) = billed(plan(due(&s, 3), now, CatchUp::Latest, 1000));
        assert_eq!(cycles, [(3, false)]);
    }

    #[test]
    fn a_due_cycle_carries_its_time_and_position() {
        let s = monthly(Some(2));
        let plan = plan(due(&s, 1), at("2026-03-01T00:00:00Z"), CatchUp::All, 1000);
        let CyclePlan::Bill { cycles, .. } = plan else {
            panic!("not billed");
        };
        assert_eq!(cycles[0].due_at, at("2026-01-31T09:00:00Z"));
        assert_eq!(cycles[1].due_at, at("2026-02-28T09:00:00Z"));
        assert_eq!(cycles[0].position.sequence, Sequence::First);
        assert!(cycles[1].position.is_last && !cycles[0].position.is_last);
    }

    #[test]
    fn the_end_of_an_installment_plan_leaves_nothing_due() {
        let s = monthly(Some(2));
        let (cycles, next, next_due) = billed(plan(
            due(&s, 1),
            at("2027-01-01T00:00:00Z"),
            CatchUp::All,
            1000,
        ));
        assert_eq!(cycles, [(1, false), (2, false)]);
        assert_eq!((next, next_due), (3, None));
    }

    #[test]
    fn nothing_due_yet_keeps_the_next_cycle() {
        let s = monthly(None);
        let (cycles, next, next_due) = billed(plan(
            due(&s, 2),
            at("2026-02-01T00:00:00Z"),
            CatchUp::All,
            1000,
        ));
        assert!(cycles.is_empty());
        assert_eq!((next, next_due), (2, Some(at("2026-02-28T09:00:00Z"))));
    }

    #[test]
    fn a_backlog_is_taken_a_slice_at_a_time() {
        let s = monthly(None);
        let now = at("2027-01-01T00:00:00Z");
        let (cycles, next, _) = billed(plan(due(&s, 1), now, CatchUp::All, 5));
        assert_eq!(cycles.len(), 5);
        assert_eq!(next, 6);
        // Under `latest` the slice's newest cycle is charged; the next slice goes on.
        let (cycles, _, _) = billed(plan(due(&s, 1), now, CatchUp::Latest, 5));
        assert_eq!(cycles.iter().filter(|c| !c.1).count(), 1);
    }

    #[test]
    fn cancel_at_period_end_cancels_instead_of_billing() {
        let s = monthly(None);
        let sub = DueSubscription {
            cancel_at_period_end: true,
            ..due(&s, 2)
        };
        let now = at("2026-03-01T00:00:00Z");
        assert_eq!(
            plan(sub, now, CatchUp::All, 1000),
            CyclePlan::CancelAtPeriodEnd
        );
    }

    #[test]
    fn an_unusable_schedule_parks_the_subscription() {
        let sub = DueSubscription {
            schedule: None,
            next_cycle: 4,
            cancel_at_period_end: true,
        };
        let now = at("2026-03-01T00:00:00Z");
        assert_eq!(plan(sub, now, CatchUp::Latest, 1000), CyclePlan::Park);
    }
}
