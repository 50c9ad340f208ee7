//! Due times, computed by the oracle on its own (not with billingd's code): cycle n of a
//! schedule is the anchor plus (n-1) intervals on the wall clock, a month step clamped to the
//! month's last day, turned into an instant by the "compatible" rule (RFC 5545).

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ToSpan};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Day,
    Week,
    Month,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
        }
    }

    pub fn times(self, n: i64) -> Span {
        match self {
            Unit::Day => n.days(),
            Unit::Week => (7 * n).days(),
            Unit::Month => n.months(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub anchor: DateTime,
    pub zone: String,
    pub unit: Unit,
    pub total_cycles: Option<u32>,
}

impl Schedule {
    pub fn due_at(&self, cycle: u32) -> Option<Timestamp> {
        if cycle == 0 || self.total_cycles.is_some_and(|t| cycle > t) {
            return None;
        }
        let tz = TimeZone::get(&self.zone).ok()?;
        let local = self
            .anchor
            .checked_add(self.unit.times(i64::from(cycle) - 1))
            .ok()?;
        tz.to_ambiguous_timestamp(local).compatible().ok()
    }

    /// Every cycle due at or before `until`, oldest first.
    pub fn due_until(&self, until: Timestamp) -> Vec<(u32, Timestamp)> {
        let mut out = Vec::new();
        let mut n = 1;
        while let Some(at) = self.due_at(n) {
            if at > until {
                break;
            }
            out.push((n, at));
            n += 1;
        }
        out
    }

    /// An anchor such that cycles 1..=`behind` are already due at `now` and cycle
    /// `behind + 1` falls due at `now + ahead` (on the wall clock of `zone`).
    pub fn anchored(
        zone: &str,
        unit: Unit,
        total_cycles: Option<u32>,
        now: Timestamp,
        behind: u32,
        ahead: jiff::SignedDuration,
    ) -> Schedule {
        let tz = TimeZone::get(zone).expect("a bundled time zone");
        let target = now
            .checked_add(ahead)
            .expect("in range")
            .to_zoned(tz)
            .datetime();
        let anchor = target
            .checked_sub(unit.times(i64::from(behind)))
            .expect("in range")
            // Whole seconds, as a merchant writes them.
            .with()
            .subsec_nanosecond(0)
            .build()
            .expect("valid");
        Schedule {
            anchor,
            zone: zone.to_owned(),
            unit,
            total_cycles,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn months_clamp_from_the_anchor_and_zones_apply() {
        let s = Schedule {
            anchor: "2027-01-31T09:00:00".parse().unwrap(),
            zone: "Europe/Paris".into(),
            unit: Unit::Month,
            total_cycles: None,
        };
        assert_eq!(s.due_at(1), Some(ts("2027-01-31T08:00:00Z")));
        assert_eq!(s.due_at(2), Some(ts("2027-02-28T08:00:00Z")));
        assert_eq!(s.due_at(3), Some(ts("2027-03-31T07:00:00Z")));
    }

    #[test]
    fn anchored_schedules_have_the_asked_backlog() {
        let now = ts("2027-03-10T12:00:00Z");
        let ahead = jiff::SignedDuration::from_secs(90);
        for unit in [Unit::Day, Unit::Week, Unit::Month] {
            let s = Schedule::anchored("America/New_York", unit, None, now, 3, ahead);
            let due = s.due_until(now);
            assert_eq!(due.len(), 3, "{unit:?}");
            assert_eq!(s.due_at(4), Some(ts("2027-03-10T12:01:30Z")), "{unit:?}");
        }
        let installments = Schedule::anchored("UTC", Unit::Day, Some(2), now, 5, ahead);
        assert_eq!(
            installments
                .due_until(now + jiff::SignedDuration::from_hours(240))
                .len(),
            2
        );
    }
}
