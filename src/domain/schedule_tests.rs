//! Unit tests of the cycle arithmetic: anchors, month ends, DST, installments, previews.

use super::super::position::{ProcessingModel, Sequence};
use super::*;
use jiff::civil::{DateTime, date};
use jiff::{SignedDuration, Timestamp};

fn sched(anchor: &str, tz: &str, unit: IntervalUnit, count: u32, total: Option<u32>) -> Schedule {
    Schedule::new(anchor.parse().unwrap(), tz, unit, count, total).unwrap()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// The wall time a due instant shows on the clocks of the schedule's zone.
fn reads(s: &Schedule, cycle: u32) -> String {
    let at = s.due_at(cycle).unwrap();
    at.to_zoned(s.time_zone().clone())
        .strftime("%FT%T%:z")
        .to_string()
}

#[test]
fn jan_31_monthly_clamps_to_month_end_without_drifting() {
    let s = sched("2023-01-31T10:00", "UTC", IntervalUnit::Month, 1, None);
    let dates: Vec<_> = (1..=16)
        .map(|n| s.local_due(n).unwrap().date().to_string())
        .collect();
    assert_eq!(
        dates,
        [
            "2023-01-31",
            "2023-02-28",
            "2023-03-31",
            "2023-04-30",
            "2023-05-31",
            "2023-06-30",
            "2023-07-31",
            "2023-08-31",
            "2023-09-30",
            "2023-10-31",
            "2023-11-30",
            "2023-12-31",
            "2024-01-31",
            "2024-02-29",
            "2024-03-31",
            "2024-04-30",
        ]
    );
    assert!((1..=16).all(|n| s.local_due(n).unwrap().time() == s.anchor().time()));
    let s = sched("2024-01-31T10:00", "UTC", IntervalUnit::Month, 13, None);
    assert_eq!(s.local_due(2).unwrap().date(), date(2025, 2, 28));
    assert_eq!(s.local_due(3).unwrap().date(), date(2026, 3, 31));
}

#[test]
fn feb_29_yearly_is_feb_28_except_in_leap_years() {
    let s = sched(
        "2024-02-29T08:00",
        "Europe/Paris",
        IntervalUnit::Year,
        1,
        None,
    );
    let dates: Vec<_> = (1..=5)
        .map(|n| s.local_due(n).unwrap().date().to_string())
        .collect();
    assert_eq!(
        dates,
        [
            "2024-02-29",
            "2025-02-28",
            "2026-02-28",
            "2027-02-28",
            "2028-02-29"
        ]
    );
    // 2100 is not a leap year; 2000 and 2400 are.
    let s = sched("2096-02-29T08:00", "UTC", IntervalUnit::Year, 4, None);
    assert_eq!(s.local_due(2).unwrap().date(), date(2100, 2, 28));
    assert_eq!(s.local_due(3).unwrap().date(), date(2104, 2, 29));
    let s = sched("1996-02-29T08:00", "UTC", IntervalUnit::Month, 48, None);
    assert_eq!(s.local_due(2).unwrap().date(), date(2000, 2, 29));
}

#[test]
fn paris_spring_gap_moves_forward_by_the_gap() {
    // 2025-03-30: clocks jump 02:00 -> 03:00.
    let s = sched(
        "2025-03-02T02:30",
        "Europe/Paris",
        IntervalUnit::Week,
        1,
        None,
    );
    assert_eq!(
        s.local_due(5).unwrap(),
        "2025-03-30T02:30".parse::<DateTime>().unwrap()
    );
    assert_eq!(s.due_at(5).unwrap(), ts("2025-03-30T01:30:00Z"));
    assert_eq!(reads(&s, 5), "2025-03-30T03:30:00+02:00");
    // jiff's own zoned conversion agrees.
    let z = s
        .time_zone()
        .to_ambiguous_zoned(s.local_due(5).unwrap())
        .compatible()
        .unwrap();
    assert_eq!(z.timestamp(), s.due_at(5).unwrap());
}

#[test]
fn paris_autumn_fold_takes_the_earlier_instant() {
    // 2025-10-26: 02:00-03:00 happens twice, first at +02:00, then at +01:00.
    let s = sched(
        "2025-09-28T02:30",
        "Europe/Paris",
        IntervalUnit::Week,
        1,
        None,
    );
    assert_eq!(s.local_due(5).unwrap().to_string(), "2025-10-26T02:30:00");
    assert_eq!(s.due_at(5).unwrap(), ts("2025-10-26T00:30:00Z"));
    assert_eq!(reads(&s, 5), "2025-10-26T02:30:00+02:00");
}

#[test]
fn new_york_gap_and_fold() {
    let s = sched(
        "2025-01-09T02:30",
        "America/New_York",
        IntervalUnit::Month,
        1,
        None,
    );
    assert_eq!(reads(&s, 3), "2025-03-09T03:30:00-04:00");
    assert_eq!(s.due_at(3).unwrap(), ts("2025-03-09T07:30:00Z"));
    let s = sched(
        "2025-09-02T01:30",
        "America/New_York",
        IntervalUnit::Month,
        1,
        None,
    );
    assert_eq!(s.due_at(3).unwrap(), ts("2025-11-02T05:30:00Z"));
    assert_eq!(reads(&s, 3), "2025-11-02T01:30:00-04:00");
}

#[test]
fn lord_howe_half_hour_dst() {
    // Spring: 02:00 +10:30 -> 02:30 +11:00 on 2024-10-06; 02:15 is skipped.
    let s = sched(
        "2024-09-06T02:15",
        "Australia/Lord_Howe",
        IntervalUnit::Month,
        1,
        None,
    );
    assert_eq!(s.due_at(2).unwrap(), ts("2024-10-05T15:45:00Z"));
    assert_eq!(reads(&s, 2), "2024-10-06T02:45:00+11:00");
    // Autumn: 02:00 +11:00 -> 01:30 +10:30 on 2025-04-06; 01:45 happens twice.
    let s = sched(
        "2025-03-06T01:45",
        "Australia/Lord_Howe",
        IntervalUnit::Month,
        1,
        None,
    );
    assert_eq!(s.due_at(2).unwrap(), ts("2025-04-05T14:45:00Z"));
    assert_eq!(reads(&s, 2), "2025-04-06T01:45:00+11:00");
}

#[test]
fn apia_skipped_day_shares_an_instant_with_the_next_day() {
    // Samoa went from -10:00 to +14:00 at the end of 2011-12-29:
    // 2011-12-30 never happened there. Its cycle, pushed forward by the
    // 24 h gap, lands on the same instant as the 2011-12-31 cycle. Both
    // cycles exist (installment counts must not shift), so both are due
    // together.
    let s = sched(
        "2011-12-28T10:00",
        "Pacific/Apia",
        IntervalUnit::Day,
        1,
        None,
    );
    let at: Vec<_> = (1..=5).map(|n| s.due_at(n).unwrap().to_string()).collect();
    assert_eq!(
        at,
        [
            "2011-12-28T20:00:00Z",
            "2011-12-29T20:00:00Z",
            "2011-12-30T20:00:00Z",
            "2011-12-30T20:00:00Z",
            "2011-12-31T20:00:00Z",
        ]
    );
    assert_eq!(reads(&s, 3), "2011-12-31T10:00:00+14:00");
    assert_eq!(
        s.due_cycles(1, ts("2011-12-30T20:00:00Z"), 10),
        [1, 2, 3, 4]
    );
    // Any step longer than the gap stays strictly increasing.
    let s = sched(
        "2011-12-28T10:00",
        "Pacific/Apia",
        IntervalUnit::Day,
        2,
        None,
    );
    assert!(s.due_at(2).unwrap() < s.due_at(3).unwrap());
}

#[test]
fn day_step_across_dst_keeps_wall_time() {
    let s = sched(
        "2025-03-29T09:00",
        "Europe/Paris",
        IntervalUnit::Day,
        1,
        None,
    );
    assert_eq!(reads(&s, 1), "2025-03-29T09:00:00+01:00");
    assert_eq!(reads(&s, 2), "2025-03-30T09:00:00+02:00");
    let gap = s.due_at(1).unwrap().duration_until(s.due_at(2).unwrap());
    assert_eq!(gap, SignedDuration::from_hours(23));
    let s = sched(
        "2025-10-25T09:00",
        "America/New_York",
        IntervalUnit::Week,
        1,
        None,
    );
    assert_eq!(reads(&s, 2), "2025-11-01T09:00:00-04:00");
    assert_eq!(reads(&s, 3), "2025-11-08T09:00:00-05:00");
}

#[test]
fn installment_positions_and_end() {
    let s = sched(
        "2025-01-15T12:00",
        "Asia/Kolkata",
        IntervalUnit::Month,
        1,
        Some(3),
    );
    let p = |n| {
        s.position(n)
            .map(|p| (p.cycle, p.sequence, p.model, p.is_last, p.total_cycles))
    };
    use ProcessingModel::Installment as I;
    assert_eq!(p(0), None);
    assert_eq!(p(1), Some((1, Sequence::First, I, false, Some(3))));
    assert_eq!(p(2), Some((2, Sequence::Subsequent, I, false, Some(3))));
    assert_eq!(p(3), Some((3, Sequence::Subsequent, I, true, Some(3))));
    assert_eq!(p(4), None);
    assert_eq!(
        (s.local_due(0), s.local_due(4), s.due_at(4)),
        (None, None, None)
    );
    assert_eq!(reads(&s, 3), "2025-03-15T12:00:00+05:30");
    let far = ts("2100-01-01T00:00:00Z");
    assert_eq!(s.due_cycles(0, far, 100), [1, 2, 3]);
    assert_eq!(s.due_cycles(2, far, 1), [2]);
    assert_eq!(s.due_cycles(4, far, 100), [] as [u32; 0]);
    let up = s.upcoming(2, 10);
    assert_eq!(up.iter().map(|u| u.0).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(up[1].1, s.due_at(3).unwrap());
    assert!(up[1].2.is_last);
}

#[test]
fn recurring_positions_and_previews() {
    let s = sched("2025-01-15T12:00", "UTC", IntervalUnit::Week, 2, None);
    let p = s.position(1000).unwrap();
    assert_eq!(
        (p.sequence, p.model, p.is_last),
        (Sequence::Subsequent, ProcessingModel::Recurring, false)
    );
    let up = s.upcoming(0, 3);
    assert_eq!(up.iter().map(|u| u.0).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(up[0].2.sequence, Sequence::First);
    assert_eq!(up[2].1, ts("2025-02-12T12:00:00Z"));
    assert!(s.upcoming(5, 0).is_empty());
    // Exactly at the due instant counts as due.
    assert_eq!(s.due_cycles(1, ts("2025-01-29T12:00:00Z"), 10), [1, 2]);
    assert_eq!(s.due_cycles(1, ts("2025-01-29T11:59:59Z"), 10), [1]);
    assert_eq!(
        s.due_cycles(1, ts("2025-01-15T11:59:59Z"), 10),
        [] as [u32; 0]
    );
    assert_eq!(
        s.due_cycles(1, ts("2026-01-01T00:00:00Z"), 0),
        [] as [u32; 0]
    );
}

#[test]
fn validation_errors_name_the_field() {
    let anchor: DateTime = "2025-01-01T00:00".parse().unwrap();
    let new = |tz, unit, count, total| Schedule::new(anchor, tz, unit, count, total).map(|_| ());
    let err = new("Mars/Olympus_Mons", IntervalUnit::Day, 1, None).unwrap_err();
    assert_eq!(
        err,
        ScheduleError::UnknownTimeZone("Mars/Olympus_Mons".into())
    );
    assert!(err.to_string().starts_with("time_zone: "), "{err}");
    for bad in ["", "Etc/Unknown", "+01:00", "CET-1CEST,M3.5.0,M10.5.0/3"] {
        assert!(
            matches!(
                new(bad, IntervalUnit::Day, 1, None),
                Err(ScheduleError::UnknownTimeZone(_))
            ),
            "{bad:?}"
        );
    }
    let err = new("UTC", IntervalUnit::Month, 0, None).unwrap_err();
    assert_eq!(err, ScheduleError::ZeroInterval);
    assert!(err.to_string().starts_with("interval_count: "));
    let err = new("UTC", IntervalUnit::Month, 1, Some(0)).unwrap_err();
    assert_eq!(err, ScheduleError::ZeroTotalCycles);
    assert!(err.to_string().starts_with("total_cycles: "));
    for unit in IntervalUnit::ALL {
        assert_eq!(new("UTC", unit, unit.max_count(), None), Ok(()));
        let err = new("UTC", unit, unit.max_count() + 1, None).unwrap_err();
        assert_eq!(err, ScheduleError::IntervalTooLarge);
        assert!(err.to_string().starts_with("interval_count: "));
        assert_eq!(
            new("UTC", unit, u32::MAX, None),
            Err(ScheduleError::IntervalTooLarge)
        );
    }
}

#[test]
fn time_zone_names_are_canonicalised() {
    let s = sched(
        "2025-01-01T00:00",
        "america/new_YORK",
        IntervalUnit::Day,
        1,
        None,
    );
    assert_eq!(s.time_zone_name(), "America/New_York");
    assert_eq!(
        sched("2025-01-01T00:00", "utc", IntervalUnit::Day, 1, None).time_zone_name(),
        "UTC"
    );
}

#[test]
fn the_end_of_jiffs_range_ends_the_schedule_instead_of_overflowing() {
    let s = sched("9990-06-01T00:00", "UTC", IntervalUnit::Year, 1, None);
    assert_eq!(s.local_due(10).unwrap().year(), 9999);
    assert_eq!((s.local_due(11), s.due_at(11)), (None, None));
    assert_eq!(
        s.due_cycles(1, Timestamp::MAX, usize::MAX),
        (1..=10).collect::<Vec<_>>()
    );
    assert_eq!(s.upcoming(9, 5).len(), 2);
    let s = sched(
        "2025-01-01T00:00",
        "UTC",
        IntervalUnit::Day,
        IntervalUnit::Day.max_count(),
        None,
    );
    assert_eq!((s.local_due(u32::MAX), s.due_at(u32::MAX)), (None, None));
    assert!(s.position(u32::MAX).is_some());
    let anchor = |s: &str| s.parse::<DateTime>().unwrap();
    let err = Schedule::new(
        anchor("9999-12-31T12:00"),
        "America/New_York",
        IntervalUnit::Day,
        1,
        None,
    );
    assert_eq!(err.unwrap_err(), ScheduleError::AnchorOutOfRange);
    let err = Schedule::new(
        anchor("9990-01-01T00:00"),
        "UTC",
        IntervalUnit::Year,
        1,
        Some(11),
    );
    assert_eq!(err.unwrap_err(), ScheduleError::TotalCyclesOutOfRange);
    assert!(
        Schedule::new(
            anchor("9990-01-01T00:00"),
            "UTC",
            IntervalUnit::Year,
            1,
            Some(10)
        )
        .is_ok()
    );
}

#[test]
fn interval_unit_strings() {
    use serde::de::IntoDeserializer;
    use serde::de::value::{Error as DeError, StrDeserializer};
    for unit in IntervalUnit::ALL {
        assert_eq!(unit.as_str().parse::<IntervalUnit>(), Ok(unit));
        let d: StrDeserializer<'_, DeError> = unit.as_str().into_deserializer();
        assert_eq!(IntervalUnit::deserialize(d).unwrap(), unit);
    }
    assert_eq!("Month".parse::<IntervalUnit>(), Ok(IntervalUnit::Month));
    let err = "fortnight".parse::<IntervalUnit>().unwrap_err();
    assert_eq!(err, ScheduleError::UnknownIntervalUnit("fortnight".into()));
    assert!(err.to_string().contains("day, week, month, year"), "{err}");
}
