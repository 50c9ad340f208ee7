//! Cycle math: when each billing cycle of a schedule falls due.
//!
//! Every cycle is computed directly from the anchor (`anchor + (n-1)*count`
//! units) rather than from the previous due time, so a month-end clamp in
//! February never drags later cycles to the 28th, and a cycle's due time can
//! be recomputed from stored data alone, idempotently, in any process.
//!
//! The calendar step happens on the civil (wall-clock) date-time; only the
//! result is mapped to an instant in the schedule's time zone. That keeps a
//! customer's "every day at 09:00" at 09:00 across DST changes.

use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use jiff::civil::DateTime;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Span, Timestamp};
use serde::{Deserialize, Serialize};

use super::position::Position;

/// The unit of a schedule's interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntervalUnit {
    Day,
    Week,
    Month,
    Year,
}

impl IntervalUnit {
    pub const ALL: [IntervalUnit; 4] = [
        IntervalUnit::Day,
        IntervalUnit::Week,
        IntervalUnit::Month,
        IntervalUnit::Year,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            IntervalUnit::Day => "day",
            IntervalUnit::Week => "week",
            IntervalUnit::Month => "month",
            IntervalUnit::Year => "year",
        }
    }

    /// The largest `interval_count` accepted for this unit: about 1000
    /// years. A single step that long is certainly a data-entry error, and
    /// the cap keeps `(cycle - 1) * count` far inside `i64` for every `u32`
    /// cycle number, so cycle arithmetic cannot overflow.
    pub fn max_count(&self) -> u32 {
        match self {
            IntervalUnit::Day => 365_242,
            IntervalUnit::Week => 52_177,
            IntervalUnit::Month => 12_000,
            IntervalUnit::Year => 1_000,
        }
    }

    fn span(&self, amount: i64) -> Option<Span> {
        let span = Span::new();
        match self {
            IntervalUnit::Day => span.try_days(amount),
            IntervalUnit::Week => span.try_weeks(amount),
            IntervalUnit::Month => span.try_months(amount),
            IntervalUnit::Year => span.try_years(amount),
        }
        .ok()
    }
}

impl fmt::Display for IntervalUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for IntervalUnit {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IntervalUnit::ALL
            .into_iter()
            .find(|u| u.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| ScheduleError::UnknownIntervalUnit(s.to_owned()))
    }
}

/// Why a schedule cannot be built. Each message starts with the offending
/// field's name so it can be shown to API clients as is.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ScheduleError {
    #[error(
        "time_zone: unknown time zone {0:?}; expected an IANA time zone name \
         such as \"Europe/Paris\", \"America/New_York\" or \"UTC\""
    )]
    UnknownTimeZone(String),
    #[error("interval_unit: unknown unit {0:?}; expected one of: day, week, month, year")]
    UnknownIntervalUnit(String),
    #[error("interval_count: must be at least 1")]
    ZeroInterval,
    #[error(
        "interval_count: too large; an interval may span at most about 1000 years \
         (365242 days, 52177 weeks, 12000 months or 1000 years)"
    )]
    IntervalTooLarge,
    #[error(
        "total_cycles: must be at least 1 when set (leave it unset for an open-ended schedule)"
    )]
    ZeroTotalCycles,
    #[error(
        "anchor: cannot be represented as an instant in this time zone; \
         it must lie between -9999-01-02 and 9999-12-30"
    )]
    AnchorOutOfRange,
    #[error(
        "total_cycles: the last cycle would fall after the year 9999; \
         use fewer cycles or a shorter interval"
    )]
    TotalCyclesOutOfRange,
}

/// Only the bundled database, never the host's /usr/share/zoneinfo:
/// `jiff::tz::db()` prefers the system copy even with `tzdb-bundle-always`,
/// and due times must not change when the daemon moves to another host.
static TZDB: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Looks `name` up in the bundled tzdb, ignoring ASCII case as jiff does.
pub fn lookup_time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TZDB.get(name)
        .ok()
        // `Etc/Unknown` resolves to jiff's "unknown" zone, which has no
        // IANA name; it is a placeholder, not a place.
        .filter(|tz| tz.iana_name().is_some())
        .ok_or_else(|| ScheduleError::UnknownTimeZone(name.to_owned()))
}

/// A recurring or installment schedule: cycle 1 falls due at `anchor`
/// (local wall time in `time_zone`), cycle n at `anchor + (n-1)*count*unit`.
#[derive(Debug, Clone)]
pub struct Schedule {
    anchor: DateTime,
    time_zone: TimeZone,
    /// The tzdb's own spelling, so a name stored back reloads the same zone.
    time_zone_name: String,
    unit: IntervalUnit,
    count: u32,
    total_cycles: Option<u32>,
}

impl Schedule {
    pub fn new(
        anchor: DateTime,
        time_zone: &str,
        unit: IntervalUnit,
        count: u32,
        total_cycles: Option<u32>,
    ) -> Result<Self, ScheduleError> {
        let tz = lookup_time_zone(time_zone)?;
        if count == 0 {
            return Err(ScheduleError::ZeroInterval);
        }
        if count > unit.max_count() {
            return Err(ScheduleError::IntervalTooLarge);
        }
        if total_cycles == Some(0) {
            return Err(ScheduleError::ZeroTotalCycles);
        }
        let schedule = Schedule {
            anchor,
            time_zone_name: tz.iana_name().unwrap_or(time_zone).to_owned(),
            time_zone: tz,
            unit,
            count,
            total_cycles,
        };
        // Refuse at creation what could never be charged, rather than have
        // the schedule silently end early.
        if schedule.due_at(1).is_none() {
            return Err(ScheduleError::AnchorOutOfRange);
        }
        if let Some(total) = total_cycles
            && schedule.due_at(total).is_none()
        {
            return Err(ScheduleError::TotalCyclesOutOfRange);
        }
        Ok(schedule)
    }

    pub fn anchor(&self) -> DateTime {
        self.anchor
    }

    pub fn time_zone_name(&self) -> &str {
        &self.time_zone_name
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.time_zone
    }

    pub fn unit(&self) -> IntervalUnit {
        self.unit
    }

    pub fn count(&self) -> u32 {
        self.count
    }

    pub fn total_cycles(&self) -> Option<u32> {
        self.total_cycles
    }

    /// Local wall time at which cycle `cycle` (1-based; cycle 1 = the anchor)
    /// falls due; `None` when `cycle == 0`, beyond `total_cycles`, or past
    /// jiff's range (year 9999).
    ///
    /// Month and year steps keep the anchor's day, clamped to the target
    /// month's length (jiff's `Date + months` clamps); because every cycle
    /// starts from the anchor, a clamp never carries over to later cycles.
    pub fn local_due(&self, cycle: u32) -> Option<DateTime> {
        if cycle == 0 || self.total_cycles.is_some_and(|total| cycle > total) {
            return None;
        }
        // Cannot overflow: count <= max_count() keeps this below 2^51.
        let steps = i64::from(cycle - 1) * i64::from(self.count);
        let span = self.unit.span(steps)?;
        // Stepping the date alone makes day and week steps calendar days:
        // the time of day is re-attached unchanged, whatever DST did.
        let date = self.anchor.date().checked_add(span).ok()?;
        Some(date.to_datetime(self.anchor.time()))
    }

    /// The UTC instant of cycle `cycle`, by the RFC 5545 / "compatible" rule.
    ///
    /// Equivalent to `to_ambiguous_zoned(dt).compatible()` (which just wraps
    /// this). Checked against jiff 0.2.43's source and pinned by the tests:
    /// `AmbiguousTimestamp::compatible` uses the offset in force *before* the
    /// transition for both gaps and folds. In a gap that offset is the
    /// smaller one, so the wall time is pushed forward by the gap's length
    /// (02:30 on a Paris spring-forward night reads 03:30 CEST); in a fold
    /// it is the larger one, giving the earlier of the two instants.
    pub fn due_at(&self, cycle: u32) -> Option<Timestamp> {
        let local = self.local_due(cycle)?;
        self.time_zone
            .to_ambiguous_timestamp(local)
            .compatible()
            .ok()
    }

    /// Position of cycle `cycle`: `First` iff it is 1, `Installment` iff
    /// `total_cycles` is set, last iff it equals `total_cycles`. `None` for
    /// cycle 0 and past `total_cycles`; it does not look at dates, so a
    /// recurring schedule has a position even for cycles past year 9999.
    pub fn position(&self, cycle: u32) -> Option<Position> {
        Position::for_cycle(cycle, self.total_cycles)
    }

    /// The cycles from `from_cycle` on whose due time is `<= now`, oldest
    /// first, at most `limit` of them. A `from_cycle` of 0 counts as 1.
    ///
    /// Due times never decrease with the cycle number (see the tests), so
    /// the scan stops at the first cycle not yet due.
    pub fn due_cycles(&self, from_cycle: u32, now: Timestamp, limit: usize) -> Vec<u32> {
        let mut due = Vec::new();
        let mut cycle = from_cycle.max(1);
        while due.len() < limit && self.due_at(cycle).is_some_and(|at| at <= now) {
            due.push(cycle);
            match cycle.checked_add(1) {
                Some(next) => cycle = next,
                None => break,
            }
        }
        due
    }

    /// The next `n` cycles from `from_cycle` (0 counts as 1) with their due
    /// instants and positions, for previews. Shorter than `n` when the
    /// schedule ends (installments, or year 9999) first.
    pub fn upcoming(&self, from_cycle: u32, n: usize) -> Vec<(u32, Timestamp, Position)> {
        (from_cycle.max(1)..=u32::MAX)
            .map_while(|cycle| Some((cycle, self.due_at(cycle)?, self.position(cycle)?)))
            .take(n)
            .collect()
    }
}

#[cfg(test)]
#[path = "schedule_props.rs"]
mod props;

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
