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

/// How many of the due cycles are charged: the mode, and a cap on `all`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatchUpPolicy {
    pub mode: CatchUp,
    /// Under `all`: charge at most this many (the newest), skip the older ones. None: no cap.
    pub max_cycles: Option<u32>,
}

impl From<CatchUp> for CatchUpPolicy {
    fn from(mode: CatchUp) -> Self {
        CatchUpPolicy {
            mode,
            max_cycles: None,
        }
    }
}

/// A subscription's own catch-up, each part overriding the daemon's (`billing.catch_up`,
/// `billing.catch_up_max_cycles`) where it is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CatchUpOverride {
    pub mode: Option<CatchUp>,
    pub max_cycles: Option<u32>,
}

impl CatchUpPolicy {
    /// The policy of a subscription with `own` under this daemon policy.
    pub fn for_subscription(self, own: CatchUpOverride) -> CatchUpPolicy {
        CatchUpPolicy {
            mode: own.mode.unwrap_or(self.mode),
            max_cycles: own.max_cycles.or(self.max_cycles),
        }
    }

    /// How many due cycles are charged at most: one under `latest`, the cap under `all`.
    pub fn charged_at_most(self) -> Option<u32> {
        match self.mode {
            CatchUp::Latest => Some(1),
            CatchUp::All => self.max_cycles,
        }
    }
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

/// The plan for `sub` at `now` under its catch-up policy: at most `limit` of its due cycles (a
/// runaway backlog is materialized in slices, so one transaction stays small; the rest is due
/// on the next pass). Under a cap only the newest cycles of the whole backlog are charged,
/// whichever slice they fall in; the older ones are recorded as skipped.
pub fn plan(
    sub: DueSubscription<'_>,
    now: Timestamp,
    catch_up: CatchUpPolicy,
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
    // The first index of this slice that is charged: under a cap of n, the newest n cycles of
    // the backlog, counting those still due after this slice.
    let first_charged = match catch_up.charged_at_most() {
        None => 0,
        Some(n) => {
            let after = schedule.due_cycles(last + 1, now, n as usize).len();
            due.len().saturating_sub((n as usize).saturating_sub(after))
        }
    };
    let cycles = due
        .iter()
        .enumerate()
        .filter_map(|(i, &cycle)| {
            Some(DueCycle {
                cycle,
                due_at: schedule.due_at(cycle)?,
                position: schedule.position(cycle)?,
                skipped: i < first_charged,
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
        let plan = plan(
            due(&s, 1),
            at("2026-04-01T00:00:00Z"),
            CatchUp::All.into(),
            1000,
        );
        let (cycles, next, next_due) = billed(plan);
        assert_eq!(cycles, [(1, false), (2, false), (3, false)]);
        assert_eq!(next, 4);
        assert_eq!(next_due, Some(at("2026-04-30T09:00:00Z")));
    }

    #[test]
    fn catch_up_latest_skips_all_but_the_newest() {
        let s = monthly(None);
        let now = at("2026-04-01T00:00:00Z");
        let (cycles, next, _) = billed(plan(due(&s, 1), now, CatchUp::Latest.into(), 1000));
        assert_eq!(cycles, [(1, true), (2, true), (3, false)]);
        assert_eq!(next, 4);
        // A single due cycle is the newest: charged.
        let (cycles, _, _) = billed(plan(due(&s, 3), now, CatchUp::Latest.into(), 1000));
        assert_eq!(cycles, [(3, false)]);
    }

    #[test]
    fn a_due_cycle_carries_its_time_and_position() {
        let s = monthly(Some(2));
        let plan = plan(
            due(&s, 1),
            at("2026-03-01T00:00:00Z"),
            CatchUp::All.into(),
            1000,
        );
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
            CatchUp::All.into(),
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
            CatchUp::All.into(),
            1000,
        ));
        assert!(cycles.is_empty());
        assert_eq!((next, next_due), (2, Some(at("2026-02-28T09:00:00Z"))));
    }

    #[test]
    fn a_backlog_is_taken_a_slice_at_a_time() {
        let s = monthly(None);
        let now = at("2027-01-01T00:00:00Z");
        let (cycles, next, _) = billed(plan(due(&s, 1), now, CatchUp::All.into(), 5));
        assert_eq!(cycles.len(), 5);
        assert_eq!(next, 6);
        // Under `latest` only the backlog's newest cycle is charged: not in this first slice,
        // whose cycles are all older than the cycles still due after it.
        let (cycles, _, _) = billed(plan(due(&s, 1), now, CatchUp::Latest.into(), 5));
        assert!(cycles.iter().all(|c| c.1), "{cycles:?}");
        // The last slice charges it.
        let (cycles, _, _) = billed(plan(due(&s, 11), now, CatchUp::Latest.into(), 5));
        assert_eq!(cycles, [(11, true), (12, false)]);
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
            plan(sub, now, CatchUp::All.into(), 1000),
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
        assert_eq!(
            plan(sub, now, CatchUp::Latest.into(), 1000),
            CyclePlan::Park
        );
    }

    fn capped(n: u32) -> CatchUpPolicy {
        CatchUpPolicy {
            mode: CatchUp::All,
            max_cycles: Some(n),
        }
    }

    #[test]
    fn a_cap_charges_the_newest_cycles_and_skips_the_older() {
        let s = monthly(None);
        // Six cycles due (Jan 31 … Jun 30).
        let now = at("2026-07-01T00:00:00Z");
        let (cycles, next, _) = billed(plan(due(&s, 1), now, capped(2), 1000));
        assert_eq!(
            cycles,
            [
                (1, true),
                (2, true),
                (3, true),
                (4, true),
                (5, false),
                (6, false)
            ]
        );
        assert_eq!(next, 7);
        // A cap above the backlog charges every cycle.
        let (cycles, _, _) = billed(plan(due(&s, 1), now, capped(10), 1000));
        assert!(cycles.iter().all(|c| !c.1));
        // The cap holds across slices: the first slice is all older than the newest two.
        let (cycles, _, _) = billed(plan(due(&s, 1), now, capped(2), 3));
        assert!(cycles.iter().all(|c| c.1), "{cycles:?}");
        let (cycles, _, _) = billed(plan(due(&s, 4), now, capped(2), 3));
        assert_eq!(cycles, [(4, true), (5, false), (6, false)]);
        let (cycles, _, _) = billed(plan(due(&s, 1), now, capped(4), 3));
        assert_eq!(cycles, [(1, true), (2, true), (3, false)]);
    }

    #[test]
    fn a_subscription_overrides_each_part_of_the_daemons_policy() {
        let daemon = CatchUpPolicy {
            mode: CatchUp::All,
            max_cycles: Some(5),
        };
        assert_eq!(daemon.for_subscription(CatchUpOverride::default()), daemon);
        let own = CatchUpOverride {
            mode: None,
            max_cycles: Some(2),
        };
        assert_eq!(daemon.for_subscription(own), capped(2));
        let latest = CatchUpOverride {
            mode: Some(CatchUp::Latest),
            max_cycles: None,
        };
        let policy = daemon.for_subscription(latest);
        assert_eq!(policy.charged_at_most(), Some(1));
        assert_eq!(CatchUpPolicy::from(CatchUp::All).charged_at_most(), None);
    }
}
