//! Property tests for `schedule.rs`, checked against references that do not
//! use the code (or the jiff calls) under test: calendar steps against plain
//! integer date arithmetic, UTC instants against the zone's raw transition
//! list.

use super::*;
use jiff::civil::{DateTime, date};
use jiff::tz::{AmbiguousOffset, Offset};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::sample::{Index, select};

const ZONES: &[&str] = &[
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Pacific/Apia",
];

fn is_leap(y: i64) -> bool {
    y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Cycle `k`'s wall time by integer arithmetic alone; `None` past year 9999.
fn reference_local(anchor: DateTime, unit: IntervalUnit, count: u32, k: u32) -> Option<DateTime> {
    let steps = i64::from(k - 1) * i64::from(count);
    let (y, m, d) = (
        i64::from(anchor.year()),
        i64::from(anchor.month()),
        i64::from(anchor.day()),
    );
    let (ty, tm, td) = match unit {
        IntervalUnit::Day | IntervalUnit::Week => {
            let per = if unit == IntervalUnit::Day { 1 } else { 7 };
            civil_from_days(days_from_civil(y, m, d) + steps * per)
        }
        IntervalUnit::Month | IntervalUnit::Year => {
            let per = if unit == IntervalUnit::Month { 1 } else { 12 };
            let months = y * 12 + (m - 1) + steps * per;
            let (ty, tm) = (months.div_euclid(12), months.rem_euclid(12) + 1);
            (ty, tm, d.min(days_in_month(ty, tm)))
        }
    };
    (ty <= 9999).then(|| date(ty as i16, tm as i8, td as i8).to_datetime(anchor.time()))
}

enum Wall {
    /// Every instant (ascending) whose local time is the wall time: one
    /// normally, two in a fold.
    Shown(Vec<Timestamp>),
    /// The wall time is skipped; offsets in force before and after the gap.
    Skipped { before: Offset, after: Offset },
}

/// Classifies `dt` from the zone's transition list: for each offset in force
/// near `dt`, `dt` minus that offset is a real instant iff that offset is in
/// force at it.
fn instants_showing(tz: &TimeZone, dt: DateTime) -> Option<Wall> {
    let naive = Offset::UTC.to_timestamp(dt).ok()?;
    let start = naive.checked_sub(SignedDuration::from_hours(48)).ok()?;
    let end = naive.checked_add(SignedDuration::from_hours(48)).ok()?;
    let mut segments = vec![(None, tz.to_offset(start))];
    segments.extend(
        tz.following(start)
            .take_while(|t| t.timestamp() <= end)
            .map(|t| (Some(t.timestamp()), t.offset())),
    );
    let candidates: Vec<_> = segments
        .iter()
        .map(|(_, off)| off.to_timestamp(dt).ok())
        .collect();
    let mut shown: Vec<Timestamp> = (0..segments.len())
        .filter_map(|i| {
            let c = candidates[i]?;
            let from = segments[i].0.is_none_or(|s| c >= s);
            let until = segments.get(i + 1).is_none_or(|(s, _)| c < s.unwrap());
            (from && until).then_some(c)
        })
        .collect();
    shown.sort();
    shown.dedup();
    if !shown.is_empty() {
        return Some(Wall::Shown(shown));
    }
    (0..segments.len() - 1).find_map(|i| {
        let boundary = segments[i + 1].0.unwrap();
        (candidates[i]? >= boundary && candidates[i + 1]? < boundary).then_some(Wall::Skipped {
            before: segments[i].1,
            after: segments[i + 1].1,
        })
    })
}

/// The RFC 5545 rule, checked against the transition list.
fn check_instant(s: &Schedule, cycle: u32) -> Result<(), TestCaseError> {
    let (Some(dt), Some(at)) = (s.local_due(cycle), s.due_at(cycle)) else {
        return Ok(());
    };
    let tz = s.time_zone();
    let shown = tz.to_datetime(at);
    match instants_showing(tz, dt) {
        None => {}
        Some(Wall::Shown(instants)) => {
            prop_assert_eq!(
                at,
                instants[0],
                "{} in {}: not the earliest",
                dt,
                s.time_zone_name()
            );
            prop_assert_eq!(shown, dt);
        }
        Some(Wall::Skipped { before, after }) => {
            let gap = SignedDuration::from_secs(i64::from(after.seconds() - before.seconds()));
            prop_assert!(gap.is_positive());
            prop_assert_eq!(
                shown,
                dt.checked_add(gap).unwrap(),
                "{} in {}",
                dt,
                s.time_zone_name()
            );
        }
    }
    Ok(())
}

/// Due times strictly increase, except that two daily cycles share an
/// instant when the first one's wall time sits in a gap of a day or more
/// (Pacific/Apia, 2011-12-30).
fn check_step(s: &Schedule, k: u32) -> Result<(), TestCaseError> {
    let (Some(a), Some(b)) = (s.due_at(k), s.due_at(k + 1)) else {
        prop_assert!(
            s.due_at(k).is_some() || s.due_at(k + 1).is_none(),
            "schedule resumed after ending"
        );
        return Ok(());
    };
    let day_gap = || match s
        .time_zone()
        .to_ambiguous_timestamp(s.local_due(k).unwrap())
        .offset()
    {
        AmbiguousOffset::Gap { before, after } => after.seconds() - before.seconds() >= 86_400,
        _ => false,
    };
    let tie_ok = s.unit() == IntervalUnit::Day && s.count() == 1 && a == b && day_gap();
    prop_assert!(
        a < b || tie_ok,
        "cycle {} at {}, cycle {} at {}: {:?}",
        k,
        a,
        k + 1,
        b,
        s
    );
    Ok(())
}

fn zone() -> impl Strategy<Value = &'static str> {
    select(ZONES)
}

fn unit() -> impl Strategy<Value = IntervalUnit> {
    select(IntervalUnit::ALL.to_vec())
}

fn small_count() -> impl Strategy<Value = u32> {
    prop_oneof![4 => 1u32..=3, 1 => 1u32..=30]
}

/// 1900-2400, every valid day of every month, times biased to the small
/// hours where DST transitions happen.
fn anchor() -> impl Strategy<Value = DateTime> {
    (1900i64..=2400, 1i64..=12)
        .prop_flat_map(|(y, m)| {
            let hour = prop_oneof![0i8..24, 0i8..4];
            let minute = prop_oneof![select(vec![0i8, 30]), 0i8..60];
            (
                Just(y),
                Just(m),
                1..=days_in_month(y, m),
                hour,
                minute,
                0i8..60,
            )
        })
        .prop_map(|(y, m, d, h, mi, s)| date(y as i16, m as i8, d as i8).at(h, mi, s, 0))
}

fn schedule(
    zone: &str,
    anchor: DateTime,
    unit: IntervalUnit,
    count: u32,
    total: Option<u32>,
) -> Schedule {
    Schedule::new(anchor, zone, unit, count, total).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn reference_helpers_agree_with_known_dates(days in -4_000_000i64..4_000_000) {
        let (y, m, d) = civil_from_days(days);
        prop_assert_eq!(days_from_civil(y, m, d), days);
        prop_assert!((1..=days_in_month(y, m)).contains(&d));
        prop_assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn calendar_steps_match_integer_arithmetic(
        zone in zone(),
        anchor in anchor(),
        (unit, count) in unit().prop_flat_map(|u| (Just(u), prop_oneof![6 => 1u32..=12, 3 => 1u32..=400, 1 => 1..=u.max_count()])),
        k in prop_oneof![1u32..=60, 1u32..=100_000, any::<u32>()],
    ) {
        let s = schedule(zone, anchor, unit, count, None);
        let got = s.local_due(k);
        prop_assert_eq!(got, reference_local(anchor, unit, count, k));
        if let (Some(got), IntervalUnit::Month | IntervalUnit::Year) = (got, unit) {
            let per = if unit == IntervalUnit::Month { 1 } else { 12 };
            let month_index = |dt: DateTime| i64::from(dt.year()) * 12 + i64::from(dt.month());
            prop_assert_eq!(month_index(got) - month_index(anchor), i64::from(k - 1) * i64::from(count) * per);
            prop_assert_eq!(got.day(), anchor.day().min(got.date().days_in_month()));
        }
    }

    #[test]
    fn due_times_increase_with_the_cycle(
        zone in zone(), anchor in anchor(), unit in unit(), count in small_count(),
        start in prop_oneof![1u32..=24, 1u32..=3000],
    ) {
        let s = schedule(zone, anchor, unit, count, None);
        for k in start..start + 40 {
            check_step(&s, k)?;
        }
    }

    #[test]
    fn instants_show_the_wall_time_or_skip_the_gap(
        zone in zone(), anchor in anchor(), unit in unit(), count in small_count(),
        start in prop_oneof![1u32..=24, 1u32..=600],
    ) {
        let s = schedule(zone, anchor, unit, count, None);
        for k in start..start + 8 {
            check_instant(&s, k)?;
        }
    }

    /// Random anchors rarely land in a gap or fold, so aim at them: pick a
    /// real transition, a wall time inside its gap or fold, and a schedule
    /// whose cycle `j + 1` falls on that wall time.
    #[test]
    fn gap_and_fold_wall_times_follow_the_compatible_rule(
        zone in select(&ZONES[1..]),
        which in any::<Index>(),
        frac in 0i64..10_000,
        j in 0u32..=30,
        unit in select(vec![IntervalUnit::Day, IntervalUnit::Week]),
        count in 1u32..=3,
    ) {
        let tz = lookup_time_zone(zone).unwrap();
        let from = date(1900, 1, 1).to_zoned(TimeZone::UTC).unwrap().timestamp();
        let until = date(2400, 12, 31).to_zoned(TimeZone::UTC).unwrap().timestamp();
        let mut before = tz.to_offset(from);
        let mut transitions = vec![];
        for t in tz.following(from).take_while(|t| t.timestamp() <= until) {
            if t.offset() != before {
                transitions.push((t.timestamp(), before, t.offset()));
            }
            before = t.offset();
        }
        let (at, before, after) = *which.get(&transitions);
        let len = i64::from((after.seconds() - before.seconds()).abs());
        let first_wall = before.min(after).to_datetime(at);
        let wall = first_wall.checked_add(SignedDuration::from_secs(len * frac / 10_000)).unwrap();
        let per = if unit == IntervalUnit::Day { 1 } else { 7 };
        let back = Span::new().days(i64::from(j * count) * per);
        let anchor = wall.date().checked_sub(back).unwrap().to_datetime(wall.time());
        let s = schedule(zone, anchor, unit, count, None);
        prop_assert_eq!(s.local_due(j + 1), Some(wall));
        match instants_showing(&tz, wall) {
            Some(Wall::Skipped { .. }) => prop_assert!(after > before),
            Some(Wall::Shown(instants)) => prop_assert!(after < before && instants.len() == 2),
            None => prop_assert!(false, "unclassified"),
        }
        check_instant(&s, j + 1)?;
        for k in j.max(1)..=j + 1 {
            check_step(&s, k)?;
        }
    }

    #[test]
    fn due_cycles_is_exactly_the_prefix_due_by_now(
        zone in zone(), anchor in anchor(), unit in unit(), count in small_count(),
        total in proptest::option::of(1u32..=80),
        from in 0u32..=60,
        j in 1u32..=80,
        delta in -259_200i64..=259_200,
        limit in prop_oneof![0usize..=100, Just(usize::MAX)],
    ) {
        let s = schedule(zone, anchor, unit, count, total);
        let base = s.due_at(j).or(s.due_at(1)).unwrap();
        let now = base.checked_add(SignedDuration::from_secs(delta)).unwrap();
        let first = from.max(1);
        let expected: Vec<u32> = (first..first + 400)
            .filter(|&c| s.due_at(c).is_some_and(|at| at <= now))
            .take(limit)
            .collect();
        prop_assert_eq!(s.due_cycles(from, now, limit), expected);
    }

    #[test]
    fn positions_follow_the_cycle_number(
        total in proptest::option::of(1u32..=500),
        cycle in prop_oneof![0u32..=3, 0u32..=600, any::<u32>()],
    ) {
        let s = schedule("UTC", date(2000, 1, 1).at(0, 0, 0, 0), IntervalUnit::Day, 1, total);
        let p = s.position(cycle);
        prop_assert_eq!(p.is_some(), cycle >= 1 && total.is_none_or(|t| cycle <= t));
        if let Some(p) = p {
            use super::super::position::{ProcessingModel, Sequence};
            prop_assert_eq!(p.cycle, cycle);
            prop_assert_eq!(p.sequence == Sequence::First, cycle == 1);
            prop_assert_eq!(p.model == ProcessingModel::Installment, total.is_some());
            prop_assert_eq!(p.is_last, Some(cycle) == total);
            prop_assert_eq!(p.total_cycles, total);
        }
    }
}
